// libFuzzer target: the HTTP request path without sockets. The input is what a client sends: it
// goes through Beast's parser with the server's limits, then the router and the handlers. A
// request without credentials gets the admin's API key, so that the handlers behind
// authentication are reached too.
#include "app_harness.hpp"

#include <boost/beast/http/parser.hpp>

#include <cstdlib>

using namespace audex;
namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static fuzz::app_harness harness;
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
    auto limit = harness.body_limit(parser.get().base());
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
    if (req.find(bhttp::field::authorization) == req.end() &&
        req.find(bhttp::field::cookie) == req.end())
        req.set(bhttp::field::authorization, harness.api_key());
    auto status = harness.answer(std::move(req));
    if (status < 200 || status >= 600 || status == 500) std::abort();
    return 0;
}
