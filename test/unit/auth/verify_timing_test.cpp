// Tests that user_directory::verify takes as long for a name that does not exist as for a wrong
// password of one that does, so that timing does not tell which user names exist.
#include "../store/temp_dir.hpp"
#include "auth/user_directory.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

using namespace audex;

namespace {

// The median time of `n` calls of `fn`, in seconds.
template <class Fn>
double median_seconds(int n, Fn fn) {
    std::vector<double> times;
    for (int i = 0; i < n; ++i) {
        auto start = std::chrono::steady_clock::now();
        fn();
        times.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_verify_timing)

BOOST_AUTO_TEST_CASE(unknown_names_cost_the_same_argon2_work_as_wrong_passwords) {
    store::test::temp_dir dir;
    store::environment env{dir.path};
    store::object_store objects{env};
    // Costly enough (tens of milliseconds) that the work is what is measured, not the lookup.
    auth::user_directory users{objects, {2, 16 << 20}};
    env.write([&](store::transaction& txn) {
        BOOST_REQUIRE(users.add(txn, "alice", auth::role::operator_, "right-password"));
    });
    auto known = median_seconds(5, [&] { BOOST_TEST(!users.verify("alice", "wrong")); });
    auto unknown = median_seconds(5, [&] { BOOST_TEST(!users.verify("nobody", "wrong")); });
    BOOST_TEST_MESSAGE("wrong password " << known << " s, unknown name " << unknown << " s");
    BOOST_TEST(unknown > known * 0.5);
    BOOST_TEST(unknown < known * 2.0);
    BOOST_TEST(users.verify("alice", "right-password").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
