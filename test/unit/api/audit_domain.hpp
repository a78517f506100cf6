// Shared by the audit search tests: the domain objects the server wires together (store, users,
// content, policies, the object API and the session search) on a fresh temporary data directory.
#pragma once

#include "../store/temp_dir.hpp"
#include "api/audit/session_search.hpp"
#include "auth/login_sessions.hpp"
#include "auth/user_directory.hpp"

#include <chrono>

namespace audex::api::test {

struct audit_domain {
    store::test::temp_dir dir;
    store::environment env{dir.path};
    store::object_store objects{env};
    auth::user_directory users{objects, auth::password_cost::minimum()};
    auth::login_sessions logins{std::chrono::seconds(600)};
    index::content_index content{env};
    ingest::policy_set policies{objects};
    ingest::alert_store alerts{env};
    object_api api{objects, users, logins, content, policies, alerts, {"AUDEX-TEST"}};
    audit::session_search search{objects, api, content};
};

}  // namespace audex::api::test
