// The object API v2 of a data directory, run in the calling process: each call in its own LMDB
// transaction, as the server runs it (LMDB lets this go on while a server uses the directory).
// `audex import --data` writes through it, `audex storage` reads.
#pragma once

#include "api/domain.hpp"

#include <filesystem>

namespace audex::api {

class local_api {
  public:
    // Opens an existing data directory.
    explicit local_api(const std::filesystem::path& data);

    // Runs a call as an admin; errors are thrown as api_exception.
    json::object execute(const call& c);
    // domain::storage().
    json::object storage() const { return domain_.storage(); }

  private:
    store::environment env_;
    domain domain_;
};

}  // namespace audex::api
