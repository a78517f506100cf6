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

audex::auth::principal user(std::uint64_t id) {
    return {id, "user" + std::to_string(id), audex::auth::role::operator_, {}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth_login_sessions)

BOOST_AUTO_TEST_CASE(create_and_touch) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string token = sessions.create(user(1));
    BOOST_TEST(looks_like_token(token));
    auto hit = sessions.touch(token);
    BOOST_REQUIRE(hit);
    BOOST_TEST(hit->who.user_id == 1);
    BOOST_TEST(hit->remaining.count() == 600);
    BOOST_TEST(!sessions.touch(new_token()));
    BOOST_TEST(!sessions.touch(""));
    BOOST_TEST(!sessions.touch("garbage"));
}

BOOST_AUTO_TEST_CASE(expires_after_idle_timeout) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn());
    const std::string token = sessions.create(user(1));
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
    const std::string token = sessions.create(user(1));
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
    const std::string a = sessions.create(user(1)), b = sessions.create(user(1));
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
        mine.push_back(sessions.create(user(2)));
        theirs.push_back(sessions.create(user(3)));
    }
    BOOST_TEST(sessions.end_all_of(2) == 50u);
    for (const auto& t : mine)
        BOOST_TEST(!sessions.touch(t));
    for (const auto& t : theirs)
        BOOST_TEST(sessions.touch(t)->who.user_id == 3);
    BOOST_TEST(sessions.end_all_of(2) == 0u);
    BOOST_TEST(sessions.size() == 50u);
}

BOOST_AUTO_TEST_CASE(purge_drops_only_expired) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn(), 1000);
    std::vector<std::string> old_tokens;
    for (int i = 0; i < 100; ++i)
        old_tokens.push_back(sessions.create(user(4)));
    clock.advance(300s);
    std::vector<std::string> new_tokens;
    for (int i = 0; i < 100; ++i)
        new_tokens.push_back(sessions.create(user(5)));
    clock.advance(300s);
    BOOST_TEST(sessions.purge_expired() == 100u);
    BOOST_TEST(sessions.size() == 100u);
    for (const auto& t : new_tokens)
        BOOST_TEST(sessions.touch(t).has_value());
    for (const auto& t : old_tokens)
        BOOST_TEST(!sessions.touch(t));
    BOOST_TEST(sessions.purge_expired() == 0u);
}

BOOST_AUTO_TEST_CASE(a_user_holds_at_most_max_per_user_sessions) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn(), 3);
    std::vector<std::string> tokens;
    for (int i = 0; i < 3; ++i) {
        tokens.push_back(sessions.create(user(1)));
        clock.advance(1s);
    }
    BOOST_TEST(sessions.touch(tokens[0]).has_value());  // now the most recently used
    clock.advance(1s);
    auto other = sessions.create(user(2));
    tokens.push_back(sessions.create(user(1)));  // ends tokens[1], the least recently used
    BOOST_TEST(sessions.size() == 4u);
    BOOST_TEST(!sessions.touch(tokens[1]));
    for (int i : {0, 2, 3})
        BOOST_TEST(sessions.touch(tokens[i]).has_value());
    BOOST_TEST(sessions.touch(other).has_value());
    for (int i = 0; i < 100; ++i)
        sessions.create(user(1));
    BOOST_TEST(sessions.size() == 4u);
}

BOOST_AUTO_TEST_CASE(bad_settings_are_refused) {
    BOOST_CHECK_THROW(login_sessions(0s), std::invalid_argument);
    BOOST_CHECK_THROW(login_sessions(600s, clock_fn{}), std::invalid_argument);
    BOOST_CHECK_THROW(login_sessions(600s, steady_now, 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(real_clock) {
    login_sessions sessions(600s);
    const std::string token = sessions.create(user(1));
    BOOST_TEST(sessions.touch(token)->remaining.count() == 600);
}

BOOST_AUTO_TEST_CASE(concurrent_create_touch_end) {
    fake_clock clock;
    login_sessions sessions(600s, clock.fn(), 10000);
    constexpr int threads = 8, per_thread = 2000;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const std::uint64_t id = 100 + t;
            std::vector<std::string> tokens;
            for (int i = 0; i < per_thread; ++i) {
                tokens.push_back(sessions.create(user(id)));
                auto hit = sessions.touch(tokens[static_cast<std::size_t>(i) / 2]);
                if (!hit || hit->who.user_id != id) ++mismatches;
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
    BOOST_TEST(sessions.end_all_of(103) == static_cast<std::size_t>(per_thread / 2));
}

BOOST_AUTO_TEST_SUITE_END()
