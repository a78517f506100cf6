// Tests of http/router.hpp: literal segments win over "{}" whatever the order routes were added
// in, parameters are returned in order, and a wrong method lists each allowed method once.
#include "http/router.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using audex::http::router;
using boost::beast::http::verb;
using outcome = router<std::string>::match::outcome;

BOOST_AUTO_TEST_CASE(literal_segments_win_over_parameters) {
    router<std::string> r;
    r.add(verb::get, "/api/audit/sessions/{}", "one");
    r.add(verb::get, "/api/audit/sessions/stats", "stats");
    r.add(verb::get, "/api/audit/sessions/{}/content", "content");
    auto stats = r.find(verb::get, "/api/audit/sessions/stats");
    BOOST_TEST_REQUIRE((stats.result == outcome::found));
    BOOST_TEST(*stats.route == "stats");
    BOOST_TEST(stats.params.empty());
    auto one = r.find(verb::get, "/api/audit/sessions/42/");
    BOOST_TEST_REQUIRE((one.result == outcome::found));
    BOOST_TEST(*one.route == "one");
    BOOST_TEST_REQUIRE(one.params.size() == 1u);
    BOOST_TEST(one.params[0] == "42");
    BOOST_TEST((r.find(verb::get, "/api/audit/sessions/42/alerts").result == outcome::not_found));
}

BOOST_AUTO_TEST_CASE(a_wrong_method_lists_each_allowed_method_once) {
    router<std::string> r;
    r.add(verb::get, "/api/audit/sessions/{}", "one");
    r.add(verb::delete_, "/api/audit/sessions/{}", "remove");
    r.add(verb::get, "/api/audit/sessions/stats", "stats");
    auto m = r.find(verb::post, "/api/audit/sessions/stats");
    BOOST_TEST((m.result == outcome::method_not_allowed));
    BOOST_TEST(m.allow == "GET, DELETE");
}
