// In-process object API calls on a data directory (see local_api.hpp).
#include "api/v2/local_api.hpp"

#include <boost/json/parse.hpp>

namespace audex::api {

namespace {

// An existing data directory: a server creates its superadmin only on an empty store, so a new
// one is left for `audex serve` to start.
const std::filesystem::path& existing(const std::filesystem::path& data) {
    if (!std::filesystem::exists(data / "data.mdb"))
        throw std::runtime_error("no Audex data in " + data.string() +
                                 " (start `audex serve --data " + data.string() + "` once first)");
    return data;
}

}  // namespace

local_api::local_api(const std::filesystem::path& data) : env_(existing(data)), domain_(env_, {}) {}

json::object local_api::execute(const call& c) {
    // Whoever may write the data directory is its administrator.
    const auth::principal who{0, "local", auth::role::admin, {}};
    if (!object_api::writes(c)) {
        auto txn = env_.read();
        return json::parse(domain_.api.execute(txn, who, c)).as_object();
    }
    return json::parse(env_.write([&](store::transaction& txn) {
               return domain_.api.execute(txn, who, c);
           }))
        .as_object();
}

}  // namespace audex::api
