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

std::string node_serial(store::object_store& objects) {
    auto txn = objects.env().read();
    return objects.meta(txn, "node_serial").value_or("");
}

}  // namespace

local_api::local_api(const std::filesystem::path& data)
    : env_(existing(data)),
      objects_(env_),
      users_(objects_, auth::password_cost::interactive()),
      logins_(std::chrono::seconds(600)),
      content_(env_),
      policies_(objects_),
      alerts_(env_),
      api_(objects_, users_, logins_, content_, policies_, alerts_, {node_serial(objects_)}) {}

json::object local_api::execute(const call& c) {
    // Whoever may write the data directory is its administrator.
    const auth::principal who{0, "local", auth::role::admin};
    if (!object_api::writes(c)) {
        auto txn = env_.read();
        return json::parse(api_.execute(txn, who, c)).as_object();
    }
    return json::parse(
               env_.write([&](store::transaction& txn) { return api_.execute(txn, who, c); }))
        .as_object();
}

}  // namespace audex::api
