// libFuzzer target: the HTTP request path without sockets. The input is what a client sends: it
// goes through Beast's parser with the server's limits, then the router and the handlers. A
// request without credentials gets the admin's API key, so that the handlers behind
// authentication are reached too. Object ids are drawn from the clock, which the fuzzer cannot
// guess: every store starts with a session holding content, and `$ID` in the target or the body
// stands for its id.
#include "app_harness.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdlib>

using namespace audex;
namespace bhttp = boost::beast::http;

namespace {

std::string session_id;  // the session of the current store

void create_session(fuzz::app_harness& harness) {
    session_id = harness.create_session();
    auto status = harness.answer(harness.post(
        "/api/v2/session/" + session_id + "/content", "application/x-ndjson",
        R"({"type": "command", "text": "sudo cat /etc/shadow", "start_time": "2022-04-05T16:06:07Z"})"
        "\n"
        R"({"type": "screen", "text": "top - 10:00:01 up 3 days", "start_time": "2022-04-05T16:06:10Z"})"));
    if (status != 200) std::abort();
}

void replace_id(std::string& text) {
    for (auto at = text.find("$ID"); at != std::string::npos;
         at = text.find("$ID", at + session_id.size()))
        text.replace(at, 3, session_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::app_harness harness(create_session);
    harness.maybe_reset(20000);
    boost::asio::const_buffer input(data, size);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.eager(false);
    parser.header_limit(16 * 1024);
    parser.body_limit(boost::none);
    boost::beast::error_code ec;
    while (input.size() > 0 && !parser.is_header_done()) {
        auto used = parser.put(input, ec);
        if (ec) return 0;
        input += used;
        if (used == 0) break;
    }
    if (!parser.is_header_done()) return 0;
    auto& head = parser.get();
    if (head.find(bhttp::field::authorization) == head.end() &&
        head.find(bhttp::field::cookie) == head.end())
        head.set(bhttp::field::authorization, harness.api_key());
    auto admitted = harness.admit(head.base());
    auto limit = admitted.body_limit;
    if (auto length = parser.content_length(); length && *length > limit) return 0;
    parser.body_limit(limit);
    parser.eager(true);
    while (input.size() > 0 && !parser.is_done()) {
        auto used = parser.put(input, ec);
        if (ec) return 0;
        input += used;
        if (used == 0) break;
    }
    if (!parser.is_done()) {
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return 0;
    }
    auto req = parser.release();
    std::string target(req.target());
    replace_id(target);
    req.target(target);
    replace_id(req.body());
    auto method = req.method();
    bool batch = req.target().starts_with("/api/v2/batch");
    auto status = harness.answer(std::move(req), nullptr, std::move(admitted));
    if (status < 200 || status >= 500) std::abort();
    // A delete may have removed the session that `$ID` names, which would leave the routes
    // behind it unreached until the next reset.
    if (status < 300 && (method == bhttp::verb::delete_ || batch)) harness.reset();
    return 0;
}
