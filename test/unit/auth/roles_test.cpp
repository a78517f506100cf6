// Tests of role names and the access rule of auth/roles.hpp, as tables over every role.
#include <boost/test/unit_test.hpp>

#include <array>
#include <iterator>
#include <utility>

#include "auth/roles.hpp"

using namespace audex::auth;

BOOST_AUTO_TEST_SUITE(auth_roles)

BOOST_AUTO_TEST_CASE(names_round_trip) {
    for (role r : all_roles)
        BOOST_TEST((parse_role(role_name(r)) == r));
    BOOST_TEST(role_name(role::operator_) == "operator");
    BOOST_TEST(role_name(role::superadmin) == "superadmin");
    BOOST_TEST((parse_role("Admin") == role::admin));
    BOOST_TEST((parse_role("OPERATOR") == role::operator_));
    BOOST_TEST(!parse_role("operator_"));
    BOOST_TEST(!parse_role(""));
    BOOST_TEST(!parse_role("admin "));
    BOOST_TEST(!parse_role("root"));
    BOOST_TEST(capability_name(capability::manage_admins) == "manage_admins");
}

BOOST_AUTO_TEST_CASE(capability_matrix) {
    struct row {
        role who;
        bool ingest, read, manage, manage_admins;
    };
    const row table[] = {
        {role::user, false, false, false, false},     {role::service, true, false, false, false},
        {role::operator_, false, true, false, false}, {role::admin, true, true, true, false},
        {role::superadmin, true, true, true, true},
    };
    BOOST_TEST(std::size(table) == all_roles.size());
    for (const row& r : table) {
        BOOST_TEST_CONTEXT("role " << role_name(r.who)) {
            BOOST_TEST(can(r.who, capability::ingest) == r.ingest);
            BOOST_TEST(can(r.who, capability::read) == r.read);
            BOOST_TEST(can(r.who, capability::manage) == r.manage);
            BOOST_TEST(can(r.who, capability::manage_admins) == r.manage_admins);
        }
    }
}

BOOST_AUTO_TEST_CASE(role_management_matrix) {
    // Rows: actor; columns: target in all_roles order (user, service, operator, admin, superadmin).
    const std::pair<role, std::array<bool, 5>> table[] = {
        {role::user, {false, false, false, false, false}},
        {role::service, {false, false, false, false, false}},
        {role::operator_, {false, false, false, false, false}},
        {role::admin, {true, true, true, true, false}},
        {role::superadmin, {true, true, true, true, true}},
    };
    for (const auto& [actor, allowed] : table)
        for (std::size_t i = 0; i < all_roles.size(); ++i)
            BOOST_TEST_CONTEXT(role_name(actor) << " manages " << role_name(all_roles[i])) {
                BOOST_TEST(can_manage_role(actor, all_roles[i]) == allowed[i]);
            }
}

BOOST_AUTO_TEST_CASE(out_of_range_values_deny) {
    const auto bogus_role = static_cast<role>(42);
    const auto bogus_capability = static_cast<capability>(42);
    BOOST_TEST(!can(bogus_role, capability::read));
    BOOST_TEST(!can(role::superadmin, bogus_capability));
    BOOST_TEST(!can_manage_role(role::admin, bogus_role));
    BOOST_TEST(!can_manage_role(bogus_role, role::user));
    BOOST_TEST(role_name(bogus_role) == "unknown");
}

BOOST_AUTO_TEST_SUITE_END()
