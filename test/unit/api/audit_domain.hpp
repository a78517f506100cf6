// Shared by the audit search tests: the domain objects the server wires together (store, users,
// content, policies, the object API and the session search) on a fresh temporary data directory.
#pragma once

#include "../store/temp_dir.hpp"
#include "api/domain.hpp"

namespace audex::api::test {

struct test_data_dir {
    store::test::temp_dir dir;
    store::environment env{dir.path};
};
struct audit_domain : test_data_dir, domain {
    audit_domain()
        : domain(env,
                 {.password_cost = auth::password_cost::minimum(), .node_serial = "AUDEX-TEST"}) {}
};

}  // namespace audex::api::test
