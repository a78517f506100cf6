// The appliance's roles and what each may do through the API (API.md section 2), as data that
// the HTTP layer consults before running a route.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace audex::auth {

// Stored by name (role_name), never by number, so the order here may change.
enum class role { user, service, operator_, admin, superadmin };

inline constexpr std::array all_roles{role::user, role::service, role::operator_, role::admin,
                                      role::superadmin};

// Who a request acts as: the user behind its credentials.
struct principal {
    std::uint64_t user_id = 0;
    std::string name;
    auth::role role = auth::role::user;
    // A query over the audit view of sessions: the user reads only the sessions it selects.
    // Empty: every session.
    std::string scope;
};

// What a route requires. Capabilities, not a minimum role, because the roles are not a chain:
// `service` (recorders) may ingest but not read, `operator` may read but not ingest.
enum class capability {
    ingest,         // create sessions, append content, patch session state
    read,           // read, search, stats, histogram, alerts
    manage,         // modify/delete sessions, objects, backups, content policies, users
    manage_admins,  // what only a superadmin may do
};

inline constexpr std::array all_capabilities{capability::ingest, capability::read,
                                             capability::manage, capability::manage_admins};

// "user", "service", "operator", "admin", "superadmin"; parsing ignores ASCII case.
std::optional<role> parse_role(std::string_view name);
std::string_view role_name(role r);
std::string_view capability_name(capability c);

// `user` can nothing (no API access); admin and superadmin can also ingest, operator cannot.
bool can(role who, capability what);

// Whether `actor` may create, modify or delete a user that has (or is to get) role `target`:
// a superadmin any, an admin any but superadmin, nobody else any. Changing a user's role from A
// to B needs both can_manage_role(actor, A) and can_manage_role(actor, B).
bool can_manage_role(role actor, role target);

}  // namespace audex::auth
