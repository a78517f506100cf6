// The content searches across monthly partitions against one content index holding everything:
// random sessions over many months, random queries of every class, equal answers with equal
// ranks (bit for bit) in the same order.
#include "../api/random_queries.hpp"
#include "../index/all_sessions.hpp"
#include "../store/temp_dir.hpp"
#include "search/partitioned_store.hpp"
#include "store/partition_set.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <vector>

using namespace audex;
namespace json = boost::json;

namespace {

constexpr micros day = 86'400'000'000;

// Every partition searched.
const std::function<bool(const std::string&)> every = [](const std::string&) { return true; };

struct stores {
    store::test::temp_dir dir;
    store::environment catalog{dir.path / "catalog"};
    search::partitioned_store partitioned{catalog, dir.path / "partitions"};
    store::environment single_env{dir.path / "single"};
    index::content_index single{single_env};
    std::map<std::uint64_t, micros> started;  // of each session, by id
    std::vector<std::uint64_t> ids;           // in the order they were made

    // Stores a session that starts at `t` in its partition; its id.
    std::uint64_t add_session(micros t) {
        auto id = catalog.write([&](store::transaction& txn) {
            auto at = partitioned.for_new(txn, t);
            auto made = at.sessions().create(at.txn, *find_model("session"),
                                             {{"protocol", "ssh"}, {"started_at", t}});
            BOOST_TEST_REQUIRE(made.has_value());
            return *made;
        });
        started[id] = t;
        ids.push_back(id);
        return id;
    }

    // Adds the records in one write transaction of each store they go to.
    void add(const std::vector<index::content_record>& records) {
        std::map<std::string,
                 std::pair<search::partitioned_store::handle, std::vector<index::content_record>>>
            by_partition;
        {
            auto txn = catalog.read();
            for (auto& r : records) {
                auto at = partitioned.locate(txn, r.session);
                BOOST_TEST_REQUIRE(at.has_value());
                by_partition[at->partition->name].first = at->partition;
                by_partition[at->partition->name].second.push_back(r);
            }
        }
        for (auto& [name, part] : by_partition)
            part.first->env.write([&](store::transaction& txn) {
                part.first->contents.content.add(txn, part.second);
            });
        single_env.write([&](store::transaction& txn) { single.add(txn, records); });
    }

    void purge(std::uint64_t session) {
        while (!partitioned.purge_step(session)) {
        }
        while (!single_env.write(
            [&](store::transaction& txn) { return single.purge_session(txn, session, 3); })) {
        }
    }
};

// Equal sessions, ranks and, when `counted`, hits.
void check_equal(const std::vector<index::session_match>& got,
                 const std::vector<index::session_match>& want, const std::string& what,
                 bool counted = true) {
    BOOST_TEST_REQUIRE(got.size() == want.size(), what);
    for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST(got[i].session == want[i].session, what << " #" << i);
        BOOST_TEST(got[i].rank == want[i].rank, what << " #" << i);  // bit for bit
        if (counted) BOOST_TEST(got[i].hits == want[i].hits, what << " #" << i);
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(partitioned_content)

BOOST_AUTO_TEST_CASE(partition_names_are_utc_months) {
    BOOST_TEST(store::partition_name(0) == "1970-01");
    BOOST_TEST(store::partition_name(-1) == "1969-12");
    auto span = store::partition_span("2024-02");
    BOOST_TEST_REQUIRE(span.has_value());
    BOOST_TEST(store::partition_name(span->first) == "2024-02");
    BOOST_TEST(store::partition_name(span->second - 1) == "2024-02");
    BOOST_TEST(store::partition_name(span->second) == "2024-03");
    BOOST_TEST((span->second - span->first) == 29 * day);  // a leap year
    for (auto bad : {"2024-13", "2024-00", "2024-1", "24-01-01", "abcd-ef", ".dropped-2024-01"})
        BOOST_TEST(!store::partition_span(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(a_dropped_partition_goes_whole_and_a_search_holding_it_reads_on) {
    stores s;
    auto id = s.add_session(store::partition_span("2025-03")->first);
    BOOST_TEST(store::session_partition(id) == "2025-03");
    index::content_record ping;
    ping.session = id;
    ping.type = "command";
    ping.text = "ping host";
    s.add({ping});
    auto held = s.partitioned.locate(s.catalog.read(), id)->partition;
    BOOST_TEST(s.partitioned.all().drop("2025-03"));
    BOOST_TEST(!std::filesystem::exists(s.dir.path / "partitions" / "2025-03"));
    BOOST_TEST(!s.partitioned.locate(s.catalog.read(), id).has_value());
    auto q = std::get<query::node>(query::parse("ping"));
    auto found = s.partitioned.search_sessions(s.catalog.read(), q, nullptr, true, every, 10,
                                               [](auto&) { return true; });
    BOOST_TEST_REQUIRE(found.has_value());
    BOOST_TEST(found->empty());
    // The search that held it still reads it: the session and its content.
    auto txn = held->env.read();
    BOOST_TEST(held->contents.sessions.get(txn, *find_model("session"), id).has_value());
    auto old = index::test::all_sessions(held->contents.content, txn, q);
    BOOST_TEST_REQUIRE(old.has_value());
    BOOST_TEST(old->size() == 1u);
    BOOST_TEST(!s.partitioned.all().drop("2025-03"));
}

BOOST_AUTO_TEST_CASE(random_queries_answer_as_one_store) {
    api::test::random_queries r(20261207);
    const std::vector<std::string> words = {
        "sudo",      "ls",   "cat",   "passwd", "shadow", "nginx",  "restart",
        "systemctl", "ssh",  "root",  "tail",   "log",    "grep",   "error",
        "iptables",  "curl", "wget",  "rm",     "chmod",  "vim",    "top",
        "kill",      "ps",   "mount", "disk",   "usage",  "report", "backup"};
    const micros first = store::partition_span("2025-01")->first;
    stores s;
    // 240 sessions over 14 months, their records in batches that mix months and sessions.
    for (int i = 0; i < 240; ++i)
        s.add_session(first + micros(r.pick(14 * 30)) * day + micros(r.pick(86400)) * 1'000'000);
    for (int batch = 0; batch < 12; ++batch) {
        std::vector<index::content_record> records;
        for (int n = 0; n < 150; ++n) {
            index::content_record rec;
            rec.session = r.pick(s.ids);
            rec.type = r.pick(3) == 0 ? "screen" : "command";
            for (int w = 0, count = 1 + r.pick(9); w < count; ++w)
                rec.text += (w ? " " : "") + r.pick(words);
            records.push_back(rec);
        }
        s.add(records);
    }
    for (int i = 0; i < 6; ++i)
        s.purge(r.pick(s.ids));
    BOOST_TEST(s.partitioned.all().all().size() > 10u);

    auto leaf = [&]() -> std::string {
        auto& a = r.pick(words);
        auto& b = r.pick(words);
        switch (r.pick(8)) {
            case 0:
                return a;
            case 1:
                return "\"" + a + " " + b + "\"";
            case 2:
                return "\"" + a + " " + b + "\"~3";
            case 3:
                return a.substr(0, 2) + "*";
            case 4:
                return a + "~1";
            case 5:
                return a + "^3 " + b;
            case 6:
                return "[" + std::min(a, b) + " TO " + std::max(a, b) + "]";
            default:
                return "+" + a + " +" + b;
        }
    };
    auto single = s.single_env.read();
    for (int round = 0; round < 150; ++round) {
        auto text = r.random_query(2, leaf);
        auto parsed = query::parse(text);
        BOOST_TEST_REQUIRE(std::holds_alternative<query::node>(parsed), text);
        auto& q = std::get<query::node>(parsed);
        // Every matching session with its hits.
        auto want = index::test::all_sessions(s.single, single, q);
        BOOST_TEST_REQUIRE(want.has_value(), text);
        auto got = s.partitioned.search_sessions(s.catalog.read(), q, nullptr, true, every,
                                                 SIZE_MAX, [](auto&) { return true; });
        BOOST_TEST_REQUIRE(got.has_value(), text);
        check_equal(*got, *want, text);
        // The best few that a filter accepts, without counting hits (phrases verified lazily),
        // from the partitions that a window's end leaves.
        const micros until = first + micros(r.pick(14 * 30)) * day;
        auto accept = [&](const index::session_match& m) {
            return m.session % 3 != 0 && s.started.at(m.session) <= until;
        };
        // (Checked against the counted answer: a different path, which ranks every record.)
        std::vector<index::session_match> best;
        for (auto& m : *want)
            if (best.size() < 7 && accept(m)) best.push_back(m);
        // The partitions of months that begin after `until` hold no session it accepts.
        const std::function<bool(const std::string&)> before_until = [&](const std::string& p) {
            return store::partition_span(p)->first <= until;
        };
        got = s.partitioned.search_sessions(s.catalog.read(), q, nullptr, false, before_until, 7,
                                            accept);
        BOOST_TEST_REQUIRE(got.has_value(), text);
        check_equal(*got, best, text + " (best 7 accepted)", false);
        // The best records: the same ranks.
        auto records = s.partitioned.search_records(s.catalog.read(), q, 25);
        auto oracle = s.single.search_records(single, q, 25);
        BOOST_TEST_REQUIRE(records.has_value(), text);
        BOOST_TEST_REQUIRE(records->size() == oracle->size(), text);
        for (std::size_t i = 0; i < records->size(); ++i)
            BOOST_TEST((*records)[i].rank == (*oracle)[i].rank, text << " record #" << i);
        // One session's records: the same records with the same ranks.
        auto id = r.pick(s.ids);
        auto mine = s.partitioned.search(s.catalog.read(), id, q, 50);
        auto theirs = s.single.search(single, q, id, 50);
        BOOST_TEST_REQUIRE(mine.has_value(), text);
        BOOST_TEST_REQUIRE(mine->size() == theirs->size(), text);
        for (std::size_t i = 0; i < mine->size(); ++i) {
            BOOST_TEST((*mine)[i].rank == (*theirs)[i].rank, text << " hit #" << i);
            BOOST_TEST((*mine)[i].record.text == (*theirs)[i].record.text, text << " hit #" << i);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
