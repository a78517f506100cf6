// Tests that the application drops expired login sessions on its own, without a request touching
// them.
#include "../store/temp_dir.hpp"
#include "api/app.hpp"
#include "store/lmdb.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace audex;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(api_login_purge)

BOOST_AUTO_TEST_CASE(expired_login_sessions_are_purged_on_a_timer) {
    store::test::temp_dir dir;
    store::environment env{dir.path};
    api::app_settings settings;
    settings.session_timeout = 1s;
    settings.login_purge_interval = 1s;
    settings.password_cost = auth::password_cost::minimum();
    api::app app{settings, env};
    for (std::uint64_t user = 1; user <= 10; ++user)
        app.logins().create({user, "user" + std::to_string(user), auth::role::operator_, {}});
    BOOST_TEST(app.logins().size() == 10u);
    // Expired after 1 s, purged at the next tick: within 3 s in all.
    for (int i = 0; i < 40 && app.logins().size() > 0; ++i)
        std::this_thread::sleep_for(100ms);
    BOOST_TEST(app.logins().size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
