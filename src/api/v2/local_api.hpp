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
    // Seals or unseals a partition (search::partitioned_store::seal), now; `grace` is how long
    // after its end a session takes content (µs).
    result<void> seal(std::string_view name, micros grace) {
        return domain_.partitions.seal(name, now_micros(), grace);
    }
    result<void> unseal(std::string_view name) { return domain_.partitions.unseal(name); }

  private:
    store::environment env_;
    domain domain_;
};

}  // namespace audex::api
