// Tests of the login session table of auth/login_sessions.hpp: idle expiry under a hand-moved
// clock, revocation, and a concurrency smoke test.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "auth/crypto.hpp"
#include "auth/login_sessions.hpp"

#include "fake_clock.hpp"

using namespace audex::auth;
using namespace std::chrono_literals;

namespace {

using audex::auth::test::fake_clock;

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_login_sessions)

BOOST_AUTO_TEST_CASE(create_and_touch) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string token = sessions.create("u1");
    BOOST_TEST(looks_like_token(token));
    auto hit = sessions.touch(token);
    BOOST_REQUIRE(hit);
    BOOST_TEST(hit->user_id == "u1");
    BOOST_TEST(hit->remaining.count() == 600);
    BOOST_TEST(!sessions.touch(new_token()));
    BOOST_TEST(!sessions.touch(""));
    BOOST_TEST(!sessions.touch("garbage"));
}

BOOST_AUTO_TEST_CASE(expires_after_idle_timeout) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string token = sessions.create("u1");
    clock.advance(599s);
    BOOST_TEST(sessions.touch(token).has_value());
    clock.advance(600s);
    BOOST_TEST(!sessions.touch(token));
    // The expired entry was dropped, not just hidden.
    BOOST_TEST(sessions.size() == 0u);
    clock.advance(-900s);
    BOOST_TEST(!sessions.touch(token));
}

BOOST_AUTO_TEST_CASE(touch_resets_the_idle_timer) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string token = sessions.create("u1");
    for (int i = 0; i < 10; ++i) {
        clock.advance(500s);
        auto hit = sessions.touch(token);
        BOOST_REQUIRE(hit);
        BOOST_TEST(hit->remaining.count() == 600);
    }
    clock.advance(599s + 999ms);
    BOOST_TEST(sessions.touch(token).has_value());
    clock.advance(600s);
    BOOST_TEST(!sessions.touch(token));
}

BOOST_AUTO_TEST_CASE(end_revokes) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string a = sessions.create("u1"), b = sessions.create("u1");
    BOOST_TEST(sessions.end(a));
    BOOST_TEST(!sessions.touch(a));
    BOOST_TEST(!sessions.end(a));
    BOOST_TEST(sessions.touch(b).has_value());
    // Ending an expired session reports that there was no live one.
    clock.advance(600s);
    BOOST_TEST(!sessions.end(b));
    BOOST_TEST(sessions.size() == 0u);
}

BOOST_AUTO_TEST_CASE(end_all_of_a_user) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    std::vector<std::string> mine, theirs;
    for (int i = 0; i < 50; ++i) {
        mine.push_back(sessions.create("alice"));
        theirs.push_back(sessions.create("bob"));
    }
    BOOST_TEST(sessions.end_all_of("alice") == 50u);
    for (const auto& t : mine)
        BOOST_TEST(!sessions.touch(t));
    for (const auto& t : theirs)
        BOOST_TEST(sessions.touch(t)->user_id == "bob");
    BOOST_TEST(sessions.end_all_of("alice") == 0u);
    BOOST_TEST(sessions.size() == 50u);
}

BOOST_AUTO_TEST_CASE(purge_drops_only_expired) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    std::vector<std::string> old_tokens;
    for (int i = 0; i < 100; ++i)
        old_tokens.push_back(sessions.create("old"));
    clock.advance(300s);
    std::vector<std::string> new_tokens;
    for (int i = 0; i < 100; ++i)
        new_tokens.push_back(sessions.create("new"));
    clock.advance(300s);
    BOOST_TEST(sessions.purge_expired() == 100u);
    BOOST_TEST(sessions.size() == 100u);
    for (const auto& t : new_tokens)
        BOOST_TEST(sessions.touch(t).has_value());
    for (const auto& t : old_tokens)
        BOOST_TEST(!sessions.touch(t));
    BOOST_TEST(sessions.purge_expired() == 0u);
}

BOOST_AUTO_TEST_CASE(bad_settings_are_refused) {
    BOOST_CHECK_THROW(login_sessions(0s), std::invalid_argument);
    BOOST_CHECK_THROW(login_sessions(600s, clock_fn{}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(real_clock) {
    login_sessions sessions(600s);
    const std::string token = sessions.create("u1");
    BOOST_TEST(sessions.touch(token)->remaining.count() == 600);
}

BOOST_AUTO_TEST_CASE(concurrent_create_touch_end) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    constexpr int threads = 8, per_thread = 2000;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const std::string user = "user" + std::to_string(t);
            std::vector<std::string> tokens;
            for (int i = 0; i < per_thread; ++i) {
                tokens.push_back(sessions.create(user));
                auto hit = sessions.touch(tokens[static_cast<std::size_t>(i) / 2]);
                if (!hit || hit->user_id != user) ++mismatches;
                if (i % 3 == 0) clock.advance(1ms);
            }
            // Every other session ends; the rest stay live.
            for (std::size_t i = 0; i < tokens.size(); i += 2)
                if (!sessions.end(tokens[i])) ++mismatches;
            for (std::size_t i = 0; i < tokens.size(); ++i)
                if (sessions.touch(tokens[i]).has_value() != (i % 2 == 1)) ++mismatches;
        });
    }
    for (auto& th : pool)
        th.join();
    BOOST_TEST(mismatches.load() == 0);
    BOOST_TEST(sessions.size() == static_cast<std::size_t>(threads * per_thread / 2));
    BOOST_TEST(sessions.end_all_of("user3") == static_cast<std::size_t>(per_thread / 2));
}

BOOST_AUTO_TEST_SUITE_END()
