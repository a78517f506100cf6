// Tests of login throttling (auth/throttle.hpp) under a hand-moved clock: lockouts per user and
// per client, Retry-After values, doubling, reset on success, window expiry, bounded memory.
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

BOOST_AUTO_TEST_CASE(locks_a_user_after_max_failures) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == -1);
    for (int i = 0; i < 4; ++i) {
        // One attacker address per attempt, so only the user key can lock.
        t.failed("alice", "10.0.0." + std::to_string(i));
        BOOST_TEST(retry(t, "alice", "10.0.0.99") == -1);
    }
    t.failed("alice", "10.0.0.4");
    BOOST_TEST(retry(t, "alice", "10.0.0.99") == 60);
    BOOST_TEST(retry(t, "ALICE", "192.168.1.1") == 60);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == -1);
}

BOOST_AUTO_TEST_CASE(locks_a_client_after_max_failures) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    for (int i = 0; i < 5; ++i)
        t.failed("user" + std::to_string(i), "10.0.0.1");
    BOOST_TEST(retry(t, "someone", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "user0", "10.0.0.2") == -1);
}

BOOST_AUTO_TEST_CASE(user_names_are_case_insensitive) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    t.failed("Alice", "a");
    t.failed("ALICE", "b");
    t.failed("alice", "c");
    t.failed("aLiCe", "d");
    t.failed("alicE", "e");
    BOOST_TEST(retry(t, "alice", "f") == 60);
}

BOOST_AUTO_TEST_CASE(retry_after_counts_down) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);
    BOOST_TEST(retry(t, "alice", "x") == 60);
    clock.advance(20s);
    BOOST_TEST(retry(t, "alice", "x") == 40);
    clock.advance(39s + 500ms);
    BOOST_TEST(retry(t, "alice", "x") == 1);  // rounded up, never 0
    clock.advance(500ms);
    BOOST_TEST(retry(t, "alice", "x") == -1);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == -1);
}

BOOST_AUTO_TEST_CASE(retry_after_is_the_longer_lockout) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 5);  // both alice and 10.0.0.1 locked for 60 s
    clock.advance(30s);
    fail(t, "bob", "10.0.0.2", 5);  // bob and 10.0.0.2 for 60 s from now
    BOOST_TEST(retry(t, "alice", "10.0.0.2") == 60);
    BOOST_TEST(retry(t, "bob", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "alice", "10.0.0.1") == 30);
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

BOOST_AUTO_TEST_CASE(success_clears_the_user_but_not_the_client) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "10.0.0.1", 4);
    t.succeeded("Alice", "10.0.0.1");
    fail(t, "alice", "10.0.0.2", 4);
    BOOST_TEST(retry(t, "alice", "10.0.0.3") == -1);
    // 10.0.0.1 still has its 4 failures: one more from it, for anyone, locks it.
    t.failed("bob", "10.0.0.1");
    BOOST_TEST(retry(t, "carol", "10.0.0.1") == 60);
    BOOST_TEST(retry(t, "bob", "10.0.0.9") == -1);
}

BOOST_AUTO_TEST_CASE(success_clears_the_lockout_streak) {
    fake_clock clock;
    login_throttle t({}, clock.fn());
    fail(t, "alice", "c1", 5);
    clock.advance(60s);
    t.succeeded("alice", "c1");
    fail(t, "alice", "c2", 5);
    BOOST_TEST(retry(t, "alice", "c3") == 60);
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
    BOOST_TEST(retry(t, "user9999", "x") == 60);
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
    s.window = 0s;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    s = {};
    s.max_lockout = 10s;
    BOOST_CHECK_THROW(login_throttle{s}, std::invalid_argument);
    login_throttle defaults;
    BOOST_TEST(retry(defaults, "a", "b") == -1);
}

BOOST_AUTO_TEST_SUITE_END()
