// The body of a content ingestion (POST /api/v2/session/<id>/content): a JSON array of content
// records, or NDJSON (one record a line, blank lines ignored), read into content records.
#pragma once

#include "index/content_index.hpp"

#include <string_view>
#include <vector>

namespace audex::api {

// The records of `body` (their sessions left 0). Errors: 400 MalformedBody, exactly as
// parse_json reports it (with details.line of the NDJSON line), when the body is not JSON or
// NDJSON; otherwise 400 InvalidArgument when the body is not an array (`body`), an element is
// not an object (`<index>`) or an attribute is unknown, missing or of the wrong type
// (`<index>.<attribute>`).
std::vector<index::content_record> parse_content(std::string_view body, bool ndjson);

}  // namespace audex::api
