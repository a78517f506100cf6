// The object API v2 of a data directory, run in the calling process: each call in its own LMDB
// transaction, as the server runs it (LMDB lets this go on while a server uses the directory).
// `audex import --data` writes through it.
#pragma once

#include "api/v2/object_api.hpp"
#include "index/content_index.hpp"

#include <filesystem>

namespace audex::api {

class local_api {
  public:
    // Opens an existing data directory.
    explicit local_api(const std::filesystem::path& data);

    // Runs a call as an admin; errors are thrown as api_exception.
    json::object execute(const call& c);

  private:
    store::environment env_;
    store::object_store objects_;
    auth::user_directory users_;
    auth::login_sessions logins_;
    index::content_index content_;
    ingest::policy_set policies_;
    ingest::alert_store alerts_;
    object_api api_;
};

}  // namespace audex::api
