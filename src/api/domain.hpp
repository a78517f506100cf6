// The domain of one data directory, wired together: the catalog's object store, users and login
// sessions, the monthly partitions (sessions, their content and alerts), content policies, the
// object API v2 and the audit session search.
// The server holds one; `audex import --data`, the benchmarks and the tests make their own.
#pragma once

#include "api/audit/session_search.hpp"
#include "api/v2/object_api.hpp"
#include "auth/login_sessions.hpp"
#include "auth/user_directory.hpp"
#include "ingest/policy_set.hpp"
#include "search/partitioned_store.hpp"
#include "store/lmdb.hpp"
#include "store/object_store.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace audex::api {

struct domain_settings {
    auth::password_cost password_cost = auth::password_cost::interactive();
    std::chrono::seconds session_timeout{600};  // idle expiry of login sessions
    // The serial the object API reports; when unset, the one the store holds (`meta`).
    std::optional<std::string> node_serial;
    std::chrono::seconds content_grace{3600};  // object_api_settings::content_grace
};

struct domain {
    domain(store::environment& env, const domain_settings& settings);
    domain(const domain&) = delete;
    domain& operator=(const domain&) = delete;

    // The partitions and what each holds, by month (GET /api/system/storage, `audex storage`):
    // {"items": [{"name", "sessions", "records", "bytes", "state"}], "meta": {"partitions",
    // "catalog_bytes"}}.
    json::object storage() const;

    store::object_store objects;
    auth::user_directory users;
    auth::login_sessions logins;
    search::partitioned_store partitions;  // the sessions, their content and alerts, by month
    ingest::policy_set policies;           // matches ingested content against the content policies
    object_api api;
    audit::session_search search;
};

}  // namespace audex::api
