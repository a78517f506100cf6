// Tests of core/deadline.hpp: check_deadline() is a no-op without a deadline, throws within 256
// calls once one has passed, and a scope puts back the deadline it replaced.
#include "core/deadline.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <thread>

using namespace audex;
using namespace std::chrono_literals;

namespace {

// The call of check_deadline() that threw (1-based), or nullopt when `calls` went by.
std::optional<int> throws_at(int calls) {
    for (int i = 1; i <= calls; ++i) {
        try {
            check_deadline();
        } catch (const deadline_exceeded&) {
            return i;
        }
    }
    return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(core_deadline)

BOOST_AUTO_TEST_CASE(without_a_deadline_nothing_is_cut) {
    BOOST_TEST(!throws_at(10000));
}

BOOST_AUTO_TEST_CASE(a_passed_deadline_is_noticed_within_256_calls) {
    deadline_scope scope(deadline_clock::now() + 20ms);
    BOOST_TEST(!throws_at(1000));  // in time
    std::this_thread::sleep_for(30ms);
    auto at = throws_at(1000);
    BOOST_TEST_REQUIRE(at.has_value());
    BOOST_TEST(*at <= 256);
}

BOOST_AUTO_TEST_CASE(a_scope_begun_past_its_deadline_fails_at_once) {
    BOOST_CHECK_THROW(deadline_scope(deadline_clock::now() - 1ms), deadline_exceeded);
    BOOST_TEST(!throws_at(1000));  // and leaves no deadline behind
}

BOOST_AUTO_TEST_CASE(a_scope_puts_back_the_deadline_it_replaced) {
    {
        deadline_scope outer(deadline_clock::now() + 10ms);
        { deadline_scope inner(deadline_clock::now() + 1h); }
        std::this_thread::sleep_for(20ms);
        BOOST_TEST(throws_at(1000).has_value());
    }
    BOOST_TEST(!throws_at(1000));
}

BOOST_AUTO_TEST_SUITE_END()
