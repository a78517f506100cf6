// The domain of a data directory (see domain.hpp).
#include "api/domain.hpp"

#include "core/time.hpp"

#include <memory>

namespace audex::api {

namespace {

std::string stored_serial(const store::object_store& objects) {
    auto txn = objects.env().read();
    return objects.meta(txn, "node_serial").value_or("");
}

}  // namespace

domain::domain(store::environment& env, const domain_settings& settings)
    : objects(env),
      users(objects, settings.password_cost),
      logins(settings.session_timeout),
      partitions(env, env.directory() / "partitions", env.options()),
      policies(objects),
      api(objects, users, logins, partitions, policies,
          {.node_serial = settings.node_serial ? *settings.node_serial : stored_serial(objects),
           .content_grace = settings.content_grace}),
      search(api, partitions) {
    partitions.migrate();
    api.session_scope = [this](const auth::principal& who) -> object_api::session_check {
        auto scope = audit::scope_query(who);
        if (!scope) return nullptr;
        return [this, scope = std::make_shared<const audit::session_query>(std::move(*scope))](
                   const store::transaction& txn, std::uint64_t id) {
            auto v = search.view(txn, id, now_micros());
            return v && audit::in_scope(*scope, *v);
        };
    };
}

json::object domain::storage() const {
    json::array items;
    for (auto& p : partitions.describe())
        items.push_back({{"name", p.name},
                         {"sessions", p.sessions},
                         {"records", p.records},
                         {"bytes", p.bytes},
                         {"state", p.sealed ? "sealed" : "open"},
                         {"sealed_at", p.sealed ? json::value(format_iso_time(*p.sealed))
                                                : json::value(nullptr)}});
    auto count = items.size();
    return {
        {"items", std::move(items)},
        {"meta",
         {{"partitions", count},
          {"catalog_bytes", std::filesystem::file_size(objects.env().directory() / "data.mdb")}}}};
}

}  // namespace audex::api
