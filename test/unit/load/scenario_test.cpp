// Tests of load::parse_scenario and scenario::pick: a full scenario is read as written, defaults
// fill the rest, every mistake is refused with the member named, and draws follow the weights.
#include "load/scenario.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <ostream>
#include <string>
#include <vector>

using namespace audex::load;
namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_SUITE(load_scenario)

BOOST_AUTO_TEST_CASE(a_full_scenario) {
    auto s = parse_scenario(R"({
        "url": "http://127.0.0.1:9000", "username": "loadtest", "password": "secret",
        "connections": 32, "duration": 60, "rate": 500, "timeout": 5, "interval": 10,
        "prepare": {"sessions": 100, "records": 50},
        "requests": [
            {"kind": "search", "weight": 10, "params": {"q": "protocol:ssh", "limit": 50}},
            {"kind": "content_search", "weight": 5, "params": {"q": "sudo"}},
            {"kind": "stats", "params": {"field": "protocol", "size": 5}},
            {"kind": "histogram", "weight": 2.5, "params": {"bin_size": "day"}},
            {"kind": "get", "weight": 20},
            {"kind": "list", "name": "list 100", "params": {"limit": 100, "fields": "id,protocol"}},
            {"kind": "ingest", "weight": 8, "records": 25},
            {"kind": "login", "weight": 0.5}
        ]})");
    BOOST_TEST(s.url == "http://127.0.0.1:9000");
    BOOST_TEST(s.username == "loadtest");
    BOOST_TEST(s.password == "secret");
    BOOST_TEST(s.connections == 32u);
    BOOST_TEST(s.duration == 60);
    BOOST_TEST(s.rate == 500);
    BOOST_TEST(s.timeout == 5);
    BOOST_TEST(s.interval == 10);
    BOOST_TEST(s.prepare_sessions == 100u);
    BOOST_TEST(s.prepare_records == 50u);
    BOOST_TEST_REQUIRE(s.mix.size() == 8u);
    BOOST_TEST(s.mix[0].name == "search");
    BOOST_TEST((s.mix[0].kind == request_kind::search));
    BOOST_TEST(s.mix[0].weight == 10);
    using params = std::vector<std::pair<std::string, std::string>>;
    BOOST_TEST((s.mix[0].params == params{{"q", "protocol:ssh"}, {"limit", "50"}}));
    BOOST_TEST((s.mix[1].kind == request_kind::content_search));
    BOOST_TEST(s.mix[2].weight == 1);  // the default
    BOOST_TEST(s.mix[3].weight == 2.5);
    BOOST_TEST(s.mix[5].name == "list 100");
    BOOST_TEST((s.mix[5].params == params{{"limit", "100"}, {"fields", "id,protocol"}}));
    BOOST_TEST((s.mix[6].kind == request_kind::ingest));
    BOOST_TEST(s.mix[6].records == 25u);
    BOOST_TEST((s.mix[7].kind == request_kind::login));
    for (const auto& e : s.mix)
        if (e.name != "list 100") BOOST_TEST(e.name == std::string(kind_name(e.kind)));
}

BOOST_AUTO_TEST_CASE(defaults) {
    auto s = parse_scenario(R"({"session_ids": ["17", "42"], "requests": [{"kind": "get"}]})");
    BOOST_TEST(s.url == "https://127.0.0.1:8443");
    BOOST_TEST(s.connections == 8u);
    BOOST_TEST(s.duration == 10);
    BOOST_TEST(s.rate == 0);
    BOOST_TEST(s.timeout == 30);
    BOOST_TEST(s.interval == 0);
    BOOST_TEST(s.prepare_sessions == 0u);
    BOOST_TEST((s.session_ids == std::vector<std::string>{"17", "42"}));
    BOOST_TEST(s.mix[0].records == 10u);
    BOOST_TEST(s.mix[0].params.empty());
}

// Each bad scenario, and a fragment of the message it must give (the member at fault).
const std::vector<std::pair<std::string, std::string>> bad_scenarios = {
    {R"({"requests": [{"kind": "get"}})", "not valid JSON"},
    {R"([])", "scenario: must be a JSON object"},
    {R"({})", "requests: missing"},
    {R"({"requests": []})", "requests: must be a non-empty array"},
    {R"({"requests": [{"kind": "get"}], "conections": 3})", "scenario.conections: unknown member"},
    {R"({"requests": [{"kind": "fetch"}]})", "requests[0].kind: unknown kind \"fetch\""},
    {R"({"requests": [{"weight": 2}]})", "requests[0].kind: missing"},
    {R"({"requests": [{"kind": "get", "wieght": 2}]})", "requests[0].wieght: unknown member"},
    {R"({"requests": [{"kind": "get", "weight": -1}]})", "requests[0].weight: must be between"},
    {R"({"requests": [{"kind": "get", "weight": "2"}]})", "requests[0].weight: must be a number"},
    {R"({"requests": [{"kind": "get", "weight": 0}]})", "requests: the weights add up to 0"},
    {R"({"requests": [{"kind": "get"}, {"kind": "get"}]})", "requests[1].name: \"get\" is taken"},
    {R"({"requests": [{"kind": "get", "params": {"q": "x"}}]})", "takes no parameters"},
    {R"({"requests": [{"kind": "search", "params": {"q": ["x"]}}]})",
     "requests[0].params.q: must be a string"},
    {R"({"requests": [{"kind": "search", "records": 5}]})", "only for ingest requests"},
    {R"({"requests": [{"kind": "ingest", "records": 0}]})", "requests[0].records: must be between"},
    {R"({"requests": [{"kind": "ingest", "records": 2.5}]})", "must be a whole number"},
    {R"({"requests": [{"kind": "get"}], "connections": 0})", "connections: must be between"},
    {R"({"requests": [{"kind": "get"}], "duration": 0})", "duration: must be between"},
    {R"({"requests": [{"kind": "get"}], "rate": -5})", "rate: must be between"},
    {R"({"requests": [{"kind": "get"}], "url": 5})", "url: must be a string"},
    {R"({"requests": [{"kind": "get"}], "prepare": {"session": 5}})",
     "prepare.session: unknown member"},
    {R"({"requests": [{"kind": "get"}], "session_ids": [17]})", "session_ids[0]: must be a string"},
};

BOOST_DATA_TEST_CASE(mistakes_are_refused_naming_the_member, data::xrange(bad_scenarios.size()),
                     i) {
    const auto& [text, expected] = bad_scenarios[i];
    BOOST_TEST_INFO(text);
    try {
        parse_scenario(text);
        BOOST_FAIL("accepted");
    } catch (const scenario_error& e) {
        BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(pick_follows_the_weights) {
    auto s = parse_scenario(R"({"requests": [
        {"kind": "get", "weight": 1}, {"kind": "list", "weight": 0}, {"kind": "search", "weight": 3}]})");
    BOOST_TEST(s.pick(0.0) == 0u);
    BOOST_TEST(s.pick(0.2499) == 0u);
    BOOST_TEST(s.pick(0.25) == 2u);  // list, weight 0, is never drawn
    BOOST_TEST(s.pick(0.9999) == 2u);
    BOOST_TEST(s.pick(1.0) == 2u);  // past the end by rounding: the last entry that can be drawn
    std::vector<int> drawn(3);
    for (int i = 0; i < 4000; ++i)
        ++drawn[s.pick((i + 0.5) / 4000)];
    BOOST_TEST(drawn[0] == 1000);
    BOOST_TEST(drawn[1] == 0);
    BOOST_TEST(drawn[2] == 3000);
}

BOOST_AUTO_TEST_SUITE_END()
