// Reading request bodies: the media type check and JSON parsing into catalogue errors.
#pragma once

#include "http/server.hpp"

#include <boost/json/value.hpp>

namespace audex::api {

// 415 UnsupportedMediaType unless the body is application/json (or application/x-ndjson when
// `ndjson` is allowed); returns whether it is NDJSON.
bool check_content_type(const http::request& req, bool ndjson = false);

// The body as JSON; 400 MalformedBody with details.line and details.position when it is not, or
// when it is empty.
boost::json::value parse_json_body(std::string_view body);
// JSON text as a value; 400 MalformedBody with details.line and details.position when it is not.
boost::json::value parse_json(std::string_view text);

}  // namespace audex::api
