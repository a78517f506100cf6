// `audex import asciicast`: a recording becomes a session with its commands and screen text,
// written through the object API v2 of a running server or, in-process, of a data directory.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace audex::ingest {

// One object API v2 request.
struct api_request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string path;  // after /api/v2/: "session/12/content"
    std::vector<std::pair<std::string, std::string>> params;  // query parameters
    boost::json::value body;                                  // null: none
};

// Runs a request and gives the body of its 200 answer; failures are thrown (the API's errors as
// api_exception).
using api_client = std::function<boost::json::object(const api_request&)>;

struct import_options {
    std::string user, server;  // names; created when missing
    std::string protocol = "ssh";
    std::size_t batch = 1000;  // content records per request
};

struct import_result {
    std::string session_id;
    bool already_imported = false;    // the session was whole before: nothing was written
    std::string replaced_session_id;  // a session of a stopped import of it, removed
};

// Imports the recording once: the session holds the file's SHA-256 (`recording_sha256`), so a
// second run finds it instead of creating another, and replaces it if its import stopped before
// all content was in (docs/import.md). Nothing is created when the file is not a recording. With
// `show_progress`, a progress bar is drawn on stdout and cleared at the end.
import_result import_asciicast(const std::filesystem::path& file, const import_options& options,
                               const api_client& api, bool show_progress);

}  // namespace audex::ingest
