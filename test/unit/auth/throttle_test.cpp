// Tests of login throttling (auth/throttle.hpp) under a hand-moved clock: lockouts per (user,
// client) and per client, Retry-After values, doubling, reset on success, window expiry, bounded
// memory that never frees a lock.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "auth/throttle.hpp"

#include "fake_clock.hpp"

using namespace audex::auth;
using namespace std::chrono_literals;

namespace {

using audex::auth::test::fake_clock;

// Retry-After in seconds, or -1 when allowed: easy to compare in BOOST_TEST.
long long retry(login_throttle& t, std::string_view user, std::string_view client) {
    auto r = t.check(user, client);
    return r ? r->count() : -1;
}

void fail(login_throttle& t, std::string_view user, std::string_view client, int times) {
    for (int i = 0; i < times; ++i)
        t.failed(user, client);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_throttle)

BOOST_AUTO_TEST_CASE(locks_a_user_at_one_client_after_max_failures) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    fail(t, "alice", "10.0.0.1", 4);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    t.failed("alice", "10.0.0.1");
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "ALICE", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == -1);
}

BOOST_AUTO_TEST_CASE(failures_elsewhere_never_lock_a_user_out_of_a_clean_client) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    // Many addresses, each failing for alice up to its own lockout.
    for (int i = 0; i < 50; ++i)
        fail(t, "alice", "10.0.0." + std::to_string(i), 10);
    BOOST_TEST(retry(t, "alice", "10.0.0.7") == 60);
    BOOST_TEST(retry(t, "alice", "192.168.1.1") == -1);
}

BOOST_AUTO_TEST_CASE(locks_a_client_after_max_client_failures) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    for (int i = 0; i < 19; ++i)
        t.failed("user" + std::to_string(i), "10.0.0.1");
    BOOST_TEST(retry(t, "someone", "10.0.0.1") == -1);
    t.failed("user19", "10.0.0.1");
    BOOST_TEST(retry(t, "someone", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "user0", "10.0.0.2") == -1);
}

BOOST_AUTO_TEST_CASE(user_names_are_case_insensitive) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    t.failed("Alice", "a");
    t.failed("ALICE", "a");
    t.failed("alice", "a");
    t.failed("aLiCe", "a");
    t.failed("alicE", "a");
    BOOST_TEST(retry(t, "alice", "a") == 60);
}

BOOST_AUTO_TEST_CASE(retry_after_counts_down) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 60);
    clock.advance(20s);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 40);
    clock.advance(39s + 500ms);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 1);  // rounded up, never 0
    clock.advance(500ms);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
}

BOOST_AUTO_TEST_CASE(retry_after_is_the_longer_lockout) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);  // the pair, for 60 s
    clock.advance(30s);
    for (int i = 0; i < 15; ++i)  // the client's 20th failure: locked for 60 s from now
        t.failed("user" + std::to_string(i), "10.0.0.1");
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == 60);
    clock.advance(40s);
    fail(t, "alice", "10.0.0.1", 5);  // the pair again, for 120 s
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 120);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == 20);
    BOOST_TEST(retry(t, "alice", "10.0.0.2") == -1);
}

BOOST_AUTO_TEST_CASE(repeated_lockouts_double_up_to_the_cap) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    const long long expected[] = {60, 120, 240, 480, 900, 900};
    for (long long lockout : expected) {
        fail(t, "alice", "10.0.0.1", 5);
        BOOST_TEST(retry(t, "alice", "10.0.0.1") == lockout);
        clock.advance(std::chrono::seconds(lockout));
        BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    }
}

BOOST_AUTO_TEST_CASE(lockout_streak_ends_after_a_quiet_window) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);
    clock.advance(60s + 300s);
    fail(t, "alice", "10.0.0.1", 5);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 60);
}

BOOST_AUTO_TEST_CASE(failures_while_locked_do_not_count) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);
    fail(t, "alice", "10.0.0.1", 20);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 60);
    clock.advance(60s);
    fail(t, "alice", "10.0.0.1", 4);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    t.failed("alice", "10.0.0.1");
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 120);
}

BOOST_AUTO_TEST_CASE(success_clears_the_pair_but_not_the_client) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 4);
    t.succeeded("Alice", "10.0.0.1");
    fail(t, "alice", "10.0.0.1", 4);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    // 10.0.0.1 still has its 8 failures: 12 more from it, for anyone, lock it.
    for (int i = 0; i < 12; ++i)
        t.failed("bob" + std::to_string(i), "10.0.0.1");
    BOOST_TEST(retry(t, "carol", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "bob0", "10.0.0.9") == -1);
}

BOOST_AUTO_TEST_CASE(success_clears_the_lockout_streak) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "c1", 5);
    clock.advance(60s);
    t.succeeded("alice", "c1");
    fail(t, "alice", "c1", 5);
    BOOST_TEST(retry(t, "alice", "c1") == 60);
}

BOOST_AUTO_TEST_CASE(failures_outside_the_window_expire) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 4);
    clock.advance(300s);
    fail(t, "alice", "10.0.0.1", 4);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
}

BOOST_AUTO_TEST_CASE(the_window_slides) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    for (int i = 0; i < 4; ++i) {  // at 0, 90, 180, 270 s
        t.failed("alice", "c");
        clock.advance(90s);
    }
    // Now 360 s: the failure at 0 has left the window, three remain.
    t.failed("alice", "c");
    BOOST_TEST(retry(t, "alice", "c") == -1);
    clock.advance(10s);
    t.failed("alice", "c");  // 90, 180, 270, 360, 370: five within 300 s
    BOOST_TEST(retry(t, "alice", "c") == 60);
}

BOOST_AUTO_TEST_CASE(custom_settings) {
    fake_clock clock;
    login_throttle::settings s;
    s.max_failures = 2;
    s.lockout = 10s;
    s.max_lockout = 25s;
    login_throttle t(s, clock.fn());
    const long long expected[] = {10, 20, 25};
    for (long long lockout : expected) {
        fail(t, "alice", "c", 2);
        BOOST_TEST(retry(t, "alice", "c") == lockout);
        clock.advance(std::chrono::seconds(lockout));
    }
}

BOOST_AUTO_TEST_CASE(memory_is_bounded) {
    fake_clock clock;
    login_throttle::settings s;
    s.max_keys = 100;
    login_throttle t(s, clock.fn());
    for (int i = 0; i < 10'000; ++i)
        t.failed("user" + std::to_string(i), "c" + std::to_string(i));
    BOOST_TEST(t.size() <= 100u);
    // The most recent keys are the ones kept.
    fail(t, "user9999", "c9999", 4);
    BOOST_TEST(retry(t, "user9999", "c9999") == 60);
}

BOOST_AUTO_TEST_CASE(a_flood_of_new_keys_never_evicts_a_locked_one) {
    fake_clock clock;
    login_throttle::settings s;
    s.max_keys = 10;
    login_throttle t(s, clock.fn());
    fail(t, "alice", "attacker", 5);  // the pair and... 5 client failures: only the pair locks
    BOOST_TEST(retry(t, "alice", "attacker") == 60);
    for (int i = 0; i < 1'000; ++i)
        t.failed("user" + std::to_string(i), "c" + std::to_string(i));
    BOOST_TEST(t.size() <= 10u);
    BOOST_TEST(retry(t, "alice", "attacker") == 60);
    // With every slot locked, new failures go uncounted and the locks stay.
    for (int i = 0; i < 9; ++i)
        fail(t, "u" + std::to_string(i), "attacker", 5);
    for (int i = 0; i < 1'000; ++i)
        fail(t, "x" + std::to_string(i), "y" + std::to_string(i), 5);
    BOOST_TEST(t.size() == 10u);
    BOOST_TEST(retry(t, "alice", "attacker") == 60);
    BOOST_TEST(retry(t, "x999", "y999") == -1);
    // Once the locks are over, their slots are free again.
    clock.advance(60s + 300s);
    fail(t, "x1", "y1", 5);
    BOOST_TEST(retry(t, "x1", "y1") == 60);
}

BOOST_AUTO_TEST_CASE(stale_keys_are_dropped) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    for (int i = 0; i < 50; ++i)
        t.failed("user" + std::to_string(i), "c");
    clock.advance(60s + 300s);
    t.failed("fresh", "c2");
    BOOST_TEST(t.size() == 2u);
}

BOOST_AUTO_TEST_CASE(bad_settings_are_refused) {
    login_throttle::settings s;
    s.max_failures = 0;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    s = {};
    s.max_client_failures = 0;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    s = {};
    s.window = 0s;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    s = {};
    s.max_lockout = 10s;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    login_throttle defaults;
    BOOST_TEST(retry(defaults, "a", "b") == -1);
}

BOOST_AUTO_TEST_SUITE_END()
