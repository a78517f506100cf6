// libFuzzer target: content ingestion. The input is the body of
// POST /api/v2/session/<id>/content, as JSON or (first byte odd) NDJSON: body parsing, record
// validation, the analyzer and the index write.
#include "app_harness.hpp"

#include <boost/json/parse.hpp>

#include <cstdlib>

using namespace audex;
namespace bhttp = boost::beast::http;

namespace {

http::request post(std::string target, std::string content_type, std::string body,
                   const std::string& key) {
    http::request req{bhttp::verb::post, target, 11};
    req.set(bhttp::field::authorization, key);
    req.set(bhttp::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

std::string content_target;  // the session's content route in the current store

void create_session(fuzz::app_harness& harness) {
    std::string answer;
    auto status = harness.answer(
        post("/api/v2/session", "application/json",
             R"({"protocol": "ssh", "started_at": "2022-04-05 16:06:07+02"})", harness.api_key()),
        &answer);
    if (status != 200) std::abort();
    auto id = boost::json::parse(answer).at("session").at("id").as_string();
    content_target = "/api/v2/session/" + std::string(id) + "/content";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::app_harness harness(create_session);
    harness.maybe_reset(20000);
    if (size == 0) return 0;
    const bool ndjson = data[0] & 1;
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto status =
        harness.answer(post(content_target, ndjson ? "application/x-ndjson" : "application/json",
                            std::move(body), harness.api_key()));
    if (status != 200 && status != 400) std::abort();
    return 0;
}
