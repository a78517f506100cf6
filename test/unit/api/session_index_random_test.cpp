// A differential test of the indexed session selection (api/audit/session_search.hpp over
// store/field_index.hpp): random sessions, written, patched, removed and with their users renamed
// and removed, then random q queries, time windows, statistics and histograms, each answer checked
// against a brute-force pass of the one filter evaluator over every session's audit view.
#include "audit_domain.hpp"
#include "random_queries.hpp"

#include "core/query.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

using namespace audex;
using api::audit::session_query;
using api::audit::session_selection;
using api::audit::sort_key;
namespace json = boost::json;

namespace {

constexpr micros us_hour = 3600'000'000, us_day = 24 * us_hour;
// 2022-04-01T00:00:00Z.
constexpr micros apr1 = 1'648'771'200'000'000;
// Sessions start within ten days from five days before it: in two monthly partitions.
constexpr micros first = apr1 - 5 * us_day;

struct fixture : api::test::audit_domain, api::test::random_queries {
    fixture() : random_queries(20260423) {}

    micros now = first + 10 * us_day;
    std::vector<std::uint64_t> sessions, user_ids, server_ids;

    std::uint64_t create(store::transaction& txn, const char* m, json::object o) {
        auto id = put_object(txn, *find_model(m), std::move(o));
        BOOST_TEST_REQUIRE(id.has_value());
        return *id;
    }
    void replace(store::transaction& txn, const char* m, std::uint64_t id, json::object after) {
        BOOST_TEST_REQUIRE(change_object(txn, *find_model(m), id, std::move(after)).has_value());
    }

    // Every attribute is left out now and then, so that unset values are exercised too.
    json::object random_session() {
        json::object s;
        auto maybe = [&](const char* key, json::value v) {
            if (pick(8)) s[key] = std::move(v);
        };
        maybe("protocol", pick(std::vector<std::string>{"ssh", "rdp", "telnet", "vnc"}).c_str());
        maybe("status",
              pick(std::vector<std::string>{"approved", "rejected", "terminated"}).c_str());
        maybe("indexed", pick(3));
        maybe("source_ip",
              ("10.0." + std::to_string(pick(4)) + "." + std::to_string(pick(10))).c_str());
        maybe("destination_port", pick(std::vector<std::int64_t>{22, 23, 3389, 5900, 8022}));
        maybe("size", std::int64_t(pick(5000)));
        maybe("user_id", std::to_string(pick(user_ids)).c_str());
        maybe("server_id", std::to_string(pick(server_ids)).c_str());
        auto started = first + micros(pick(10 * 24)) * us_hour + pick(3600) * micros(1'000'000);
        s["started_at"] = started;
        if (pick(5)) s["finished_at"] = started + micros(pick(48 * 60)) * 60'000'000;
        s["_trail"] = std::int64_t(pick(100));
        return s;
    }

    void populate() {
        env.write([&](store::transaction& txn) {
            for (int i = 0; i < 6; ++i)
                user_ids.push_back(create(
                    txn, "user",
                    {{"name", "u" + std::to_string(i)}, {"organization", i % 2 ? "ops" : "dev"}}));
            for (int i = 0; i < 4; ++i)
                server_ids.push_back(create(txn, "server",
                                            {{"name", "srv" + std::to_string(i)},
                                             {"address", "10.9.0." + std::to_string(i)}}));
            for (int i = 0; i < 400; ++i)
                sessions.push_back(create(txn, "session", random_session()));
        });
        // Patches, removals, a renamed user and a removed one, each in its own transaction.
        for (int i = 0; i < 120; ++i)
            env.write([&](store::transaction& txn) {
                auto id = pick(sessions);
                auto s = *object(txn, *find_model("session"), id);
                if (s.contains("removed")) return;
                if (pick(6) == 0) {
                    s["removed"] = true;
                } else {
                    auto fresh = random_session();
                    for (const char* key : {"protocol", "status", "source_ip", "finished_at"})
                        if (auto it = fresh.find(key); it != fresh.end())
                            s[key] = it->value();
                        else
                            s.erase(key);
                }
                replace(txn, "session", id, std::move(s));
            });
        env.write([&](store::transaction& txn) {
            auto renamed = *object(txn, *find_model("user"), user_ids[1]);
            renamed["name"] = "renamed";
            replace(txn, "user", user_ids[1], std::move(renamed));
            auto removed = *object(txn, *find_model("user"), user_ids[2]);
            removed["removed"] = true;
            replace(txn, "user", user_ids[2], std::move(removed));
        });
        // In id order, which selections answer in (a session's id follows its start).
        std::sort(sessions.begin(), sessions.end());
    }

    std::string random_time() {
        auto day = 1 + pick(10);
        std::string d =
            day > 5 ? "2022-04-0" + std::to_string(day - 5) : "2022-03-" + std::to_string(26 + day);
        if (pick(2)) return d;
        auto hour = pick(24);
        return d + "T" + (hour < 10 ? "0" : "") + std::to_string(hour) + ":00Z";
    }

    std::string random_leaf() {
        switch (pick(16)) {
            case 0:
                return "protocol:" + pick(std::vector<std::string>{"ssh", "SSH", "rdp", "vnc"});
            case 1:
                return "protocol:" + pick(std::vector<std::string>{"s*", "rd?", "t?lnet", "rdq~1"});
            case 2:
                return "verdict:" +
                       pick(std::vector<std::string>{"ACCEPT", "REJECT", "terminated"});
            case 3:
                return "client.ip:10.0." + std::to_string(pick(4)) + ".*";
            case 4:
                return "client.ip:[10.0." + std::to_string(pick(4)) + ".3 TO 10.0." +
                       std::to_string(pick(4)) + ".7" + (pick(2) ? "]" : "}");
            case 5:
                return "target.port:" +
                       pick(std::vector<std::string>{"22", "[23 TO 5900]", ">=3389", "{22 TO *]"});
            case 6:
                return "user.name:" +
                       pick(std::vector<std::string>{"u0", "U3", "renamed", "u1", "u2", "u*"});
            case 7:
                return "user.organization:" + pick(std::vector<std::string>{"ops", "dev"});
            case 8:
                return "server.name:srv" + std::to_string(pick(4)) + " OR server.address:10.9.0." +
                       std::to_string(pick(4));
            case 9:
                return "recording.index_status:" +
                       pick(std::vector<std::string>{"WAITING", "ERROR", "INDEXED"});
            case 10:
                return "recording.size:[" + std::to_string(pick(5000)) + " TO " +
                       std::to_string(pick(5000)) + "]";
            case 11:
                return "start_time:[" + random_time() + " TO " + random_time() + "]";
            case 12:
                return "active:" + pick(std::vector<std::string>{"true", "false"});
            case 13:
                return "_exists_:" +
                       pick(std::vector<std::string>{"server.name", "user.id", "end_time"});
            case 14:
                return "psm.content_reference_id:<" + std::to_string(pick(100));
            default:
                return "duration:>=" + std::to_string(pick(3600 * 24));
        }
    }

    session_selection random_selection(std::string& text) {
        session_selection s;
        if (pick(6)) {
            text = random_query(3, [&] { return random_leaf(); });
            auto parsed = query::parse(text);
            BOOST_TEST_REQUIRE(std::holds_alternative<query::node>(parsed), text);
            auto q = session_query::compile(std::get<query::node>(parsed));
            BOOST_TEST_REQUIRE(q.has_value(), text << ": " << (q ? "" : q.error().message));
            s.q = std::move(*q);
        }
        // Windows from any minute, so that they split the hour bitmaps of the index.
        if (pick(3) == 0) s.start = first + micros(pick(10 * 24 * 60)) * 60'000'000;
        if (pick(3) == 0) s.end = first + micros(pick(10 * 24 * 60)) * 60'000'000;
        if (s.start && s.end && *s.start > *s.end) std::swap(s.start, s.end);
        return s;
    }

    // The brute force: every session through its audit view and the filter evaluator.
    std::vector<std::uint64_t> brute_select(const store::transaction& txn,
                                            const session_selection& s) {
        std::vector<std::uint64_t> out;
        for (auto id : sessions) {
            auto v = search.view(txn, id, now);
            if (!v) continue;
            if (s.start && v->ended() < *s.start) continue;
            if (s.end && v->started() > *s.end) continue;
            if (s.q && !s.q->filter.matches([&](const attribute& a) { return (*v)(a); })) continue;
            out.push_back(id);
        }
        return out;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(session_index_random_tests, fixture)

BOOST_AUTO_TEST_CASE(indexed_selection_agrees_with_the_evaluator) {
    populate();
    const std::vector<std::string> stats_fields{
        "protocol",    "verdict",     "user.name",
        "server.name", "client.ip",   "recording.index_status",
        "active",      "target.port", "user.organization"};
    int partial = 0;  // rounds that selected some sessions but not all
    for (int round = 0; round < 300; ++round) {
        std::string text;
        auto s = random_selection(text);
        auto txn = env.read();
        auto expected = brute_select(txn, s);
        auto got = search.select(txn, s, now);
        BOOST_TEST_REQUIRE(got.has_value());
        BOOST_TEST(*got == expected, "q=" << text << " round " << round);
        partial += !expected.empty() && expected.size() < brute_select(txn, {}).size();

        // Orders by start and end time (read from the column) agree with the views' values:
        // unset ends (active sessions) last either way, ties by id.
        std::vector<sort_key> keys;
        for (int k = 0, n = 1 + pick(2); k < n; ++k)
            keys.push_back({&api::audit::leaf_field(pick(2) ? "start_time" : "end_time", "sort"),
                            pick(2) == 0});
        auto by_view = expected;
        std::stable_sort(by_view.begin(), by_view.end(), [&](auto x, auto y) {
            auto vx = search.view(txn, x, now), vy = search.view(txn, y, now);
            for (auto& k : keys) {
                auto &a = vx->stored(*k.field), &b = vy->stored(*k.field);
                if (a.is_null() || b.is_null()) {
                    if (a.is_null() != b.is_null()) return b.is_null();
                    continue;
                }
                if (a != b)
                    return k.descending ? a.as_int64() > b.as_int64() : a.as_int64() < b.as_int64();
            }
            return false;
        });
        BOOST_TEST(search.sorted(txn, expected, keys, now) == by_view, "q=" << text);

        auto& field = api::audit::leaf_field(pick(stats_fields), "field");
        index::value_counter counter(field);
        for (auto id : expected)
            counter.add(search.view(txn, id, now)->stored(field));
        auto want = counter.top(50);
        auto top = search.stats(txn, s, field, 50, now);
        BOOST_TEST_REQUIRE(top.has_value());
        BOOST_TEST_REQUIRE(top->items.size() == want.items.size(),
                           "stats " << field.name << " q=" << text);
        for (std::size_t i = 0; i < want.items.size(); ++i) {
            BOOST_TEST(top->items[i].value == want.items[i].value, field.name << " q=" << text);
            BOOST_TEST(top->items[i].count == want.items[i].count, field.name << " q=" << text);
        }

        // Windows and bins that split the hour bitmaps too (a zone half an hour off UTC, minutes,
        // a window from any minute) and a zone whose clocks go back within the sessions' days.
        auto& zone = *index::find_time_zone(
            pick(std::vector<std::string>{"Etc/UTC", "Asia/Kolkata", "Australia/Sydney"}));
        auto unit =
            pick(std::vector<index::bin_unit>{index::bin_unit::day, index::bin_unit::hour,
                                              index::bin_unit::minute, index::bin_unit::week});
        auto from = first + micros(pick(5 * 24 * 60)) * 60'000'000 - us_day;
        auto to = from + (unit == index::bin_unit::minute ? micros(pick(600)) * 60'000'000
                                                          : micros(pick(8 * 24)) * us_hour);
        auto h = index::histogram::make(from, to, unit, zone, 10000);
        BOOST_TEST_REQUIRE(h.has_value());
        auto hw = *h;
        search.count(txn, s, *h, now);
        session_selection in_span = s;
        in_span.start = hw.begin();
        in_span.end = hw.end() - 1;
        for (auto id : brute_select(txn, in_span)) {
            auto v = search.view(txn, id, now);
            hw.add(v->started(), v->ended());
        }
        auto got_bins = h->bins(), want_bins = hw.bins();
        for (std::size_t i = 0; i < want_bins.size(); ++i) {
            BOOST_TEST(got_bins[i].start_count == want_bins[i].start_count, "q=" << text);
            BOOST_TEST(got_bins[i].active_count == want_bins[i].active_count, "q=" << text);
        }
    }
    // The queries discriminate: most select a part of the sessions.
    BOOST_TEST(partial >= 150);
}

BOOST_AUTO_TEST_SUITE_END()
