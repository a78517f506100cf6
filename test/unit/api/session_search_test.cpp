// Tests of api/audit/session_search.hpp and session_view.hpp on a real store: the time-window
// rule (inclusive ends, active sessions to now, open ends), q over the audit view's dotted fields
// (referenced names, IP wildcards, trail ranges), content selection and its cap, ordering, stats
// and histogram counting, and the view's mapping of a stored session.
#include "audit_domain.hpp"

#include "core/query.hpp"

#include <date/tz.h>
#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace audex;
using api::audit::session_search;
using api::audit::session_selection;
using ids = std::vector<std::uint64_t>;
namespace json = boost::json;

namespace {

micros at(const char* text) {
    auto t = parse_time(text);
    BOOST_TEST_REQUIRE(t.has_value(), "bad time in a test: " << text);
    return t->at;
}

struct fixture : api::test::audit_domain {
    micros now = at("2020-06-01T12:00Z");
    std::int64_t trail = 0;

    std::uint64_t create(const char* model, json::object o) {
        return env.write([&](store::transaction& txn) {
            auto id = put_object(txn, *find_model(model), std::move(o));
            BOOST_TEST_REQUIRE(id.has_value());
            return *id;
        });
    }

    // A session as a recorder stores it: started, perhaps finished, with its trail number.
    std::uint64_t session(const char* started, const char* finished = nullptr,
                          json::object more = {}) {
        more["protocol"] = more.contains("protocol") ? more["protocol"] : "ssh";
        more["started_at"] = at(started);
        if (finished) more["finished_at"] = at(finished);
        more["_trail"] = ++trail;
        return create("session", std::move(more));
    }

    void add_content(std::uint64_t session, const char* text) {
        index::content_record r;
        r.session = session;
        r.type = "command";
        r.text = text;
        audit_domain::add_content({r});
    }

    ids select(const session_selection& s) {
        auto txn = env.read();
        auto out = search.select(txn, s, now);
        BOOST_TEST_REQUIRE(out.has_value(), (out ? "" : out.error().message));
        return *out;
    }

    ids window(const char* start, const char* end) {
        session_selection s;
        if (start) s.start = at(start);
        if (end) s.end = at(end);
        return select(s);
    }

    result<api::audit::session_query> compile(const char* q) {
        auto parsed = query::parse(q);
        BOOST_TEST_REQUIRE(std::holds_alternative<query::node>(parsed));
        return api::audit::session_query::compile(std::get<query::node>(parsed));
    }

    ids where(const char* q) {
        auto f = compile(q);
        BOOST_TEST_REQUIRE(f.has_value(), (f ? "" : f.error().message));
        session_selection s;
        s.q = std::move(*f);
        return select(s);
    }

    json::object document(std::uint64_t id) {
        auto txn = env.read();
        auto v = search.view(txn, id, now);
        BOOST_TEST_REQUIRE(v.has_value());
        return v->document();
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(session_search_tests, fixture)

BOOST_AUTO_TEST_CASE(the_window_overlaps_both_ends_inclusive) {
    auto a = session("2017-01-01", "2017-01-02");
    auto b = session("2017-01-03", "2017-01-04");
    auto c = session("2017-01-04T00:00:00.000001Z", "2017-01-06");
    BOOST_TEST(window("2017-01-02", "2017-01-03") == (ids{a, b}), boost::test_tools::per_element());
    // A microsecond inside each end: neither session touches the window.
    BOOST_TEST(window("2017-01-02T00:00:00.000001Z", "2017-01-02T23:59:59.999999Z").empty());
    BOOST_TEST(window("2017-01-04", "2017-01-04") == (ids{b}), boost::test_tools::per_element());
    BOOST_TEST(window("2017-01-05", nullptr) == (ids{c}), boost::test_tools::per_element());
    BOOST_TEST(window(nullptr, "2017-01-01") == (ids{a}), boost::test_tools::per_element());
    BOOST_TEST(window(nullptr, nullptr) == (ids{a, b, c}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(active_sessions_span_to_now) {
    auto active = session("2020-05-01");
    auto done = session("2020-05-01", "2020-05-02");
    BOOST_TEST(window("2020-05-20", "2020-05-21") == (ids{active}),
               boost::test_tools::per_element());
    BOOST_TEST(window("2020-06-01T12:00Z", nullptr) == (ids{active}),
               boost::test_tools::per_element());
    // After now, not even an active session is there yet.
    BOOST_TEST(window("2020-06-01T12:00:01Z", nullptr).empty());
    BOOST_TEST(window(nullptr, "2020-05-01") == (ids{active, done}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(removed_sessions_are_never_selected) {
    auto kept = session("2020-05-01", "2020-05-02");
    session("2020-05-01", "2020-05-02", {{"removed", true}});
    BOOST_TEST(window(nullptr, nullptr) == (ids{kept}), boost::test_tools::per_element());
    BOOST_TEST(window(nullptr, "2020-05-03") == (ids{kept}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q_names_the_views_dotted_fields) {
    auto root = create("user", {{"name", "root"}, {"organization", "ops"}});
    auto alice = create("user", {{"name", "alice"}});
    auto server = create("server", {{"name", "db1"}, {"address", "db1.example.com"}});
    auto s1 = session("2020-01-01", "2020-01-02",
                      {{"user_id", std::to_string(root)},
                       {"source_ip", "10.0.0.7"},
                       {"server_id", std::to_string(server)}});
    auto s2 = session("2020-01-03", nullptr,
                      {{"user_id", std::to_string(alice)}, {"source_ip", "10.0.1.7"}});
    auto s3 = session("2020-01-05", "2020-01-06",
                      {{"user_id", std::to_string(root)},
                       {"source_ip", "192.168.0.1"},
                       {"protocol", "rdp"},
                       {"status", "rejected"}});
    BOOST_TEST(where("user.name:root") == (ids{s1, s3}), boost::test_tools::per_element());
    BOOST_TEST(where("user.name:root AND client.ip:10.0.0.*") == (ids{s1}),
               boost::test_tools::per_element());
    BOOST_TEST(where("client.ip:[10.0.0.0 TO 10.0.255.255]") == (ids{s1, s2}),
               boost::test_tools::per_element());
    BOOST_TEST(where("psm.content_reference_id:[2 TO 3]") == (ids{s2, s3}),
               boost::test_tools::per_element());
    BOOST_TEST(where("start_time:>=2020-01-03") == (ids{s2, s3}), boost::test_tools::per_element());
    BOOST_TEST(where("active:true") == (ids{s2}), boost::test_tools::per_element());
    BOOST_TEST(where("verdict:REJECT OR server.address:db1.example.com") == (ids{s1, s3}),
               boost::test_tools::per_element());
    BOOST_TEST(where("user.organization:ops AND NOT protocol:rdp") == (ids{s1}),
               boost::test_tools::per_element());
    BOOST_TEST(where("_exists_:server.name") == (ids{s1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(q_errors_name_the_field) {
    auto unknown = compile("user_name:root");
    BOOST_TEST_REQUIRE(!unknown.has_value());
    BOOST_TEST(unknown.error().type == error_type::invalid_argument);
    BOOST_TEST(unknown.error().details.at("field") == "user_name");
    auto bare = compile("root");
    BOOST_TEST_REQUIRE(!bare.has_value());
    BOOST_TEST(bare.error().details.at("field") == "q");
    auto group = compile("user:root");
    BOOST_TEST_REQUIRE(!group.has_value());
    BOOST_TEST(group.error().type == error_type::invalid_argument);
    auto bad = compile("start_time:yesterday");
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().type == error_type::invalid_query_value);
}

BOOST_AUTO_TEST_CASE(content_selects_sessions_with_matching_records) {
    auto a = session("2017-01-01", "2017-01-02");
    auto b = session("2017-01-01", "2017-01-02");
    auto c = session("2017-01-03", "2017-01-04");
    add_content(a, "login root");
    add_content(b, "logout");
    add_content(c, "ssh login as admin");
    add_content(c, "login again");
    session_selection s;
    s.content = std::get<query::node>(query::parse("login"));
    BOOST_TEST(select(s) == (ids{a, c}), boost::test_tools::per_element());
    s.end = at("2017-01-02");
    BOOST_TEST(select(s) == (ids{a}), boost::test_tools::per_element());

    auto matches = all_sessions(*s.content);
    BOOST_TEST_REQUIRE(matches.size() == 2u);
    for (auto& m : matches) {
        BOOST_TEST(m.rank > 0);
        BOOST_TEST(m.hits == (m.session == c ? 2u : 1u));
    }
}

BOOST_AUTO_TEST_CASE(a_narrow_window_searches_only_its_sessions_records) {
    auto a = session("2017-01-01", "2017-01-02");
    auto b = session("2017-01-01", "2017-01-02");
    add_content(a, "login root");
    add_content(b, "logout");
    std::vector<std::uint64_t> later;
    for (int i = 0; i < 20; ++i) {
        later.push_back(session("2018-01-01", "2018-01-02"));
        add_content(later.back(), i % 2 ? "login" : "login login root");
    }
    session_selection s;
    s.content = std::get<query::node>(query::parse("login root"));
    s.end = at("2017-01-02");  // 2 sessions of 22: only their records are searched
    BOOST_TEST(select(s) == (ids{a}), boost::test_tools::per_element());
    s.end.reset();
    s.start = at("2018-01-01");
    BOOST_TEST(select(s) == later, boost::test_tools::per_element());
    // Ranks do not depend on the sessions searched: the statistics are the store's.
    std::vector<std::uint64_t> among{a, later[0]};
    auto some = all_sessions(*s.content, &among);
    auto all = all_sessions(*s.content);
    BOOST_TEST_REQUIRE(some.size() == 2u);
    for (auto& m : some) {
        auto same =
            std::find_if(all.begin(), all.end(), [&](auto& x) { return x.session == m.session; });
        BOOST_TEST_REQUIRE((same != all.end()));
        BOOST_TEST(same->rank == m.rank);
        BOOST_TEST(same->hits == m.hits);
    }
}

BOOST_AUTO_TEST_CASE(content_selects_at_most_3000_sessions) {
    std::vector<index::content_record> records;
    env.write([&](store::transaction& txn) {
        for (int i = 0; i < 3005; ++i) {
            auto id = put_object(txn, *find_model("session"),
                                 {{"protocol", "ssh"}, {"started_at", at("2020-01-01")}});
            BOOST_TEST_REQUIRE(id.has_value());
            index::content_record r;
            r.session = *id;
            r.type = "command";
            r.text = "sudo su";
            records.push_back(r);
        }
    });
    audit_domain::add_content(records);
    session_selection s;
    s.content = std::get<query::node>(query::parse("sudo"));
    BOOST_TEST(select(s).size() == api::audit::max_content_sessions);
}

BOOST_AUTO_TEST_CASE(sorts_by_view_fields_with_unset_values_last) {
    auto a = session("2020-01-01", "2020-01-02", {{"source_port", 22}});
    auto b = session("2020-01-03", "2020-01-04");
    auto c = session("2020-01-02", "2020-01-05", {{"source_port", 2222}});
    auto txn = env.read();
    auto& start = api::audit::leaf_field("start_time", "sort");
    auto& port = api::audit::leaf_field("client.port", "sort");
    BOOST_TEST(search.sorted(txn, {a, b, c}, {{&start, true}}, now) == (ids{b, c, a}),
               boost::test_tools::per_element());
    BOOST_TEST(search.sorted(txn, {a, b, c}, {{&port, true}}, now) == (ids{c, a, b}),
               boost::test_tools::per_element());
    BOOST_TEST(search.sorted(txn, {a, b, c}, {{&port, false}}, now) == (ids{a, c, b}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stats_and_histogram_count_the_selection) {
    session("2017-01-01", "2017-01-02", {{"protocol", "ssh"}});
    session("2017-01-01T10:00Z", "2017-01-03", {{"protocol", "rdp"}});
    session("2017-01-05", "2017-01-06", {{"protocol", "rdp"}});
    auto txn = env.read();
    session_selection s;
    s.end = at("2017-01-02");
    auto top = search.stats(txn, s, api::audit::leaf_field("protocol", "field"), 10, now);
    BOOST_TEST_REQUIRE(top.has_value());
    BOOST_TEST_REQUIRE(top->items.size() == 2u);
    BOOST_TEST(top->items[0].value == json::value("rdp"));
    BOOST_TEST(top->items[1].value == json::value("ssh"));
    BOOST_TEST(top->others == 0u);

    auto h = index::histogram::make(at("2017-01-01"), at("2017-01-05T12:00Z"), index::bin_unit::day,
                                    *index::find_time_zone("Etc/UTC"), 10000);
    BOOST_TEST_REQUIRE(h.has_value());
    search.count(txn, {}, *h, now);
    std::vector<std::uint64_t> starts, active;
    for (auto& b : h->bins()) {
        starts.push_back(b.start_count);
        active.push_back(b.active_count);
    }
    BOOST_TEST(starts == (ids{2, 0, 0, 0, 1}), boost::test_tools::per_element());
    BOOST_TEST(active == (ids{2, 2, 1, 0, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_view_maps_the_stored_session) {
    auto user = create("user", {{"name", "root"}, {"organization", "ops"}});
    auto account = create("account", {{"name", "oracle"}});
    auto server = create("server", {{"name", "db1"}, {"address", "10.1.1.1"}});
    auto safe = create("safe", {{"name", "vault"}});
    auto listener = create("listener", {{"name", "ssh-in"}});
    auto s = session("2020-01-01T10:00Z", "2020-01-01T10:01:30Z",
                     {{"user_id", std::to_string(user)},
                      {"account_id", std::to_string(account)},
                      {"server_id", std::to_string(server)},
                      {"safe_id", std::to_string(safe)},
                      {"listener_id", std::to_string(listener)},
                      {"source_ip", "10.0.0.7"},
                      {"source_port", 50022},
                      {"destination_ip", "10.1.1.1"},
                      {"destination_port", 22},
                      {"status", "terminated"},
                      {"indexed", 2},
                      {"dump_mode", "all"},
                      {"size", 4096}});
    auto id = std::to_string(s);
    auto expected = json::parse(R"({
        "active": false, "protocol": "ssh", "start_time": "2020-01-01T10:00:00.000000Z",
        "end_time": "2020-01-01T10:01:30.000000Z", "duration": 90, "verdict": "TERMINATED",
        "client": {"ip": "10.0.0.7", "port": 50022}, "target": {"ip": "10.1.1.1", "port": 22},
        "user": {"id": ")" + std::to_string(user) +
                                R"(", "name": "root", "organization": "ops"},
        "account": {"id": ")" + std::to_string(account) +
                                R"(", "name": "oracle"},
        "server": {"id": ")" + std::to_string(server) +
                                R"(", "name": "db1", "address": "10.1.1.1"},
        "safe": {"id": ")" + std::to_string(safe) +
                                R"(", "name": "vault"},
        "listener": {"id": ")" + std::to_string(listener) +
                                R"(", "name": "ssh-in"},
        "recording": {"index_status": "INDEXED", "dump_mode": "all", "size": 4096},
        "psm": {"content_reference_id": 1},
        "alerts": {"href": "/api/audit/sessions/)" +
                                id + R"(/alerts"},
        "events": {"href": "/api/audit/sessions/)" +
                                id + R"(/events"},
        "content": {"href": "/api/audit/sessions/)" +
                                id + R"(/content"}})");
    BOOST_TEST(json::value(document(s)) == expected);
}

BOOST_AUTO_TEST_CASE(the_view_of_a_bare_active_session) {
    auto s = create("session", {{"protocol", "ssh"}, {"started_at", now_micros() - 3'600'000'000}});
    auto doc = document(s);
    BOOST_TEST(doc.at("active") == true);
    BOOST_TEST(doc.at("end_time").is_null());
    auto duration = doc.at("duration").as_int64();  // to now
    BOOST_TEST((duration >= 3600 && duration < 3660));
    BOOST_TEST(doc.at("verdict") == "ACCEPT");
    BOOST_TEST(doc.at("recording").at("index_status") == "WAITING");
    BOOST_TEST(doc.at("user").at("name").is_null());
    BOOST_TEST(doc.at("client").at("ip").is_null());
}

BOOST_AUTO_TEST_SUITE_END()
