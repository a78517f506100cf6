// Reading request bodies: the media type check and JSON parsing into catalogue errors.
#pragma once

#include "http/server.hpp"

#include <boost/json/value.hpp>

namespace audex::api {

// 415 UnsupportedMediaType unless the body is application/json (or application/x-ndjson when
// `ndjson` is allowed); returns whether it is NDJSON.
bool check_content_type(const http::request& req, bool ndjson = false);

// The body as JSON; 400 MalformedBody with details.line and details.position when it is not.
// The value's memory comes from `storage`, by default the heap.
boost::json::value parse_json_body(const http::request& req, boost::json::storage_ptr storage = {});
boost::json::value parse_json(std::string_view text, boost::json::storage_ptr storage = {});

}  // namespace audex::api
