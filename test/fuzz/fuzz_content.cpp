// libFuzzer target: content ingestion. The input is the body of
// POST /api/v2/session/<id>/content, as JSON or (first byte odd) NDJSON: body parsing, record
// validation, the analyzer and the index write.
#include "app_harness.hpp"

#include <cstdlib>

using namespace audex;

namespace {

std::string content_target;  // the session's content route in the current store

void create_session(fuzz::app_harness& harness) {
    content_target = "/api/v2/session/" + harness.create_session() + "/content";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::app_harness harness(create_session);
    harness.maybe_reset(20000);
    if (size == 0) return 0;
    const bool ndjson = data[0] & 1;
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto status = harness.answer(harness.post(
        content_target, ndjson ? "application/x-ndjson" : "application/json", std::move(body)));
    if (status != 200 && status != 400) std::abort();
    return 0;
}
