// Request body checks and JSON parsing with error positions.
#include "api/request.hpp"

#include "audex/error.hpp"
#include "core/text.hpp"

#include <boost/json/stream_parser.hpp>

#include <algorithm>

namespace audex::api {

namespace json = boost::json;

bool check_content_type(const http::request& req, bool ndjson) {
    std::string_view given = req[boost::beast::http::field::content_type];
    auto type = lower_ascii(given);
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ')
        type.pop_back();
    if (type == "application/json") return false;
    if (ndjson && type == "application/x-ndjson") return true;
    throw api_exception({error_type::unsupported_media_type,
                         "the body must be application/json" +
                             std::string(ndjson ? " or application/x-ndjson" : ""),
                         {{"content_type", valid_utf8(given) ? given : "(not UTF-8)"}}});
}

json::value parse_json(std::string_view text) {
    json::parse_options options;
    options.max_depth = 64;
    json::stream_parser parser({}, options);
    boost::system::error_code ec;
    std::size_t used = parser.write_some(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    auto rest = text.substr(std::min(used, text.size()));
    bool trailing = rest.find_first_not_of(" \t\r\n") != std::string_view::npos;
    if (ec || !parser.done() || trailing) {
        if (!ec) used = text.size();
        auto before = text.substr(0, std::min(used, text.size()));
        auto line = std::count(before.begin(), before.end(), '\n') + 1;
        throw api_exception({error_type::malformed_body,
                             "the body is not valid JSON: " + (ec ? ec.message() : "incomplete"),
                             {{"line", line}, {"position", used}}});
    }
    return parser.release();
}

json::value parse_json_body(std::string_view body) {
    if (body.empty())
        throw api_exception({error_type::malformed_body,
                             "a JSON body is required",
                             {{"line", 1}, {"position", 0}}});
    return parse_json(body);
}

}  // namespace audex::api
