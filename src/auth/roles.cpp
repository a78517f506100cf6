// The role names and the access rule of API.md section 2: see roles.hpp.
#include "auth/roles.hpp"

#include <cstddef>

namespace audex::auth {

namespace {

constexpr std::string_view role_names[] = {"user", "service", "operator", "admin", "superadmin"};
constexpr std::string_view capability_names[] = {"ingest", "read", "manage", "manage_admins"};

// One row per role, one column per capability, in enum order.
constexpr bool access[5][4] = {
    //  ingest read   manage manage_admins
    {false, false, false, false},  // user
    {true, false, false, false},   // service
    {false, true, false, false},   // operator
    {true, true, true, false},     // admin
    {true, true, true, true},      // superadmin
};

static_assert(std::size(role_names) == all_roles.size());
static_assert(std::size(capability_names) == all_capabilities.size());

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

}  // namespace

std::optional<role> parse_role(std::string_view name) {
    for (role r : all_roles)
        if (iequals(name, role_name(r))) return r;
    return std::nullopt;
}

// The bounds checks guard against a value cast from bad data, which must deny, not read past.
std::string_view role_name(role r) {
    const auto i = static_cast<std::size_t>(r);
    return i < std::size(role_names) ? role_names[i] : std::string_view("unknown");
}

std::string_view capability_name(capability c) {
    const auto i = static_cast<std::size_t>(c);
    return i < std::size(capability_names) ? capability_names[i] : std::string_view("unknown");
}

bool can(role who, capability what) {
    const auto r = static_cast<std::size_t>(who), c = static_cast<std::size_t>(what);
    return r < all_roles.size() && c < all_capabilities.size() && access[r][c];
}

bool can_manage_role(role actor, role target) {
    if (static_cast<std::size_t>(target) >= all_roles.size()) return false;
    switch (actor) {
        case role::superadmin:
            return true;
        case role::admin:
            return target != role::superadmin;
        default:
            return false;
    }
}

}  // namespace audex::auth
