// Tests of store/object_store.hpp: ids and timestamps on create, get, scans, unique values
// (conflicts, case folding, freed by removal, LMDB's key limit), reference and start-time indexes
// kept in step by create and replace, backup assignments, meta values, persistence across
// reopening, and whether the field indexes number every session in id order.
#include "store/object_store.hpp"
#include "store/partition_set.hpp"

#include "core/time.hpp"
#include "store/keys.hpp"
#include "temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace audex::store;
using audex::error_type;
using audex::find_model;
using audex::model;
using audex::store::test::temp_dir;
namespace json = boost::json;

namespace {

using ids = std::vector<std::uint64_t>;

// A catalog and a partition: sessions in the partition's store, every other model in the
// catalog's, as the server keeps them.
struct store_fixture {
    temp_dir dir;
    std::unique_ptr<environment> env = std::make_unique<environment>(dir.path / "catalog");
    std::unique_ptr<object_store> store = std::make_unique<object_store>(*env);
    std::unique_ptr<environment> session_env =
        std::make_unique<environment>(dir.path / "partition");
    std::unique_ptr<object_store> session_store =
        std::make_unique<object_store>(*session_env, object_role::sessions);
    const model& users = *find_model("user");
    const model& sessions = *find_model("session");
    const model& servers = *find_model("server");

    environment& env_of(const model& m) { return m.name == "session" ? *session_env : *env; }
    object_store& of(const model& m) { return m.name == "session" ? *session_store : *store; }

    const audex::attribute& attr(const model& m, std::string_view name) {
        auto a = m.find(name);
        BOOST_TEST_REQUIRE(a != nullptr);
        return *a;
    }

    std::uint64_t create(const model& m, json::object o) {
        auto r = try_create(m, std::move(o));
        BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
        return *r;
    }

    audex::result<std::uint64_t> try_create(const model& m, json::object o) {
        return env_of(m).write(
            [&](transaction& txn) { return of(m).create(txn, m, std::move(o)); });
    }

    // Applies `change` to the stored object and replaces it.
    template <class Change>
    audex::result<void> modify(const model& m, std::uint64_t id, Change change) {
        return env_of(m).write([&](transaction& txn) -> audex::result<void> {
            auto before = of(m).get(txn, m, id);
            BOOST_TEST_REQUIRE(before.has_value());
            auto after = *before;
            change(after);
            return of(m).replace(txn, m, id, *before, std::move(after));
        });
    }

    json::object get(const model& m, std::uint64_t id) {
        auto txn = env_of(m).read();
        auto o = of(m).get(txn, m, id);
        BOOST_TEST_REQUIRE(o.has_value());
        return *o;
    }

    // The holder of a unique value, or 0 (never an id) when there is none.
    std::uint64_t find_unique(const model& m, std::string_view attribute, std::string_view value) {
        auto txn = env_of(m).read();
        return of(m).find_unique(txn, m, attr(m, attribute), value).value_or(0);
    }

    ids scan(const model& m, std::uint64_t from = 0, std::size_t limit = SIZE_MAX) {
        ids out;
        auto txn = env_of(m).read();
        of(m).scan(txn, m, from, [&](std::uint64_t id, const stored_object& o) {
            BOOST_TEST(o.parse().at("id").as_string() == std::to_string(id));
            out.push_back(id);
            return out.size() < limit;
        });
        return out;
    }

    ids references(const model& m, std::string_view attribute, std::uint64_t target) {
        ids out;
        auto txn = env_of(m).read();
        of(m).scan_references(txn, m, attr(m, attribute), target, [&](std::uint64_t id) {
            out.push_back(id);
            return true;
        });
        return out;
    }

    std::vector<std::pair<std::int64_t, std::uint64_t>> started(std::int64_t from,
                                                                std::int64_t to) {
        std::vector<std::pair<std::int64_t, std::uint64_t>> out;
        auto txn = session_env->read();
        session_store->scan_started(txn, from, to, [&](std::uint64_t id, std::int64_t t) {
            out.emplace_back(t, id);
            return true;
        });
        return out;
    }

    // A meta value of the catalog, or "<unset>".
    std::string meta(std::string_view key) {
        auto txn = env->read();
        return store->meta(txn, key).value_or("<unset>");
    }

    void reopen() {
        store.reset();
        session_store.reset();
        env.reset();
        session_env.reset();
        env = std::make_unique<environment>(dir.path / "catalog");
        store = std::make_unique<object_store>(*env);
        session_env = std::make_unique<environment>(dir.path / "partition");
        session_store = std::make_unique<object_store>(*session_env, object_role::sessions);
    }
};

json::object session(std::string_view user_id, std::int64_t started_at) {
    json::object o{{"protocol", "ssh"}, {"started_at", started_at}};
    if (!user_id.empty()) o["user_id"] = user_id;
    return o;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(store_objects, store_fixture)

BOOST_AUTO_TEST_CASE(create_assigns_ids_and_times) {
    auto before = audex::now_micros();
    auto a = create(users, {{"name", "alice"}});
    auto b = create(users, {{"name", "bob"}});
    auto c = create(servers, {{"name", "alice"}});  // unique per model only
    auto after = audex::now_micros();
    BOOST_TEST(a < b);
    BOOST_TEST(b < c);  // one sequence across models
    // Ids are of the clock's magnitude: microseconds << 10.
    BOOST_TEST(a >= std::uint64_t(before) << 10);
    BOOST_TEST(c <= (std::uint64_t(after) << 10) + 10);

    auto o = get(users, a);
    BOOST_TEST(o.at("id").as_string() == std::to_string(a));
    BOOST_TEST(o.at("name").as_string() == "alice");
    BOOST_TEST_REQUIRE(o.at("created_at").is_int64());
    BOOST_TEST(o.at("created_at").as_int64() >= before);
    BOOST_TEST(o.at("created_at").as_int64() <= after);
    BOOST_TEST(o.at("modified_at") == o.at("created_at"));

    BOOST_TEST(read_u64(meta("last_id")) == c);
}

BOOST_AUTO_TEST_CASE(create_overrides_client_ids_and_times) {
    auto id = create(users, {{"name", "alice"}, {"id", "1"}, {"created_at", 5}});
    auto o = get(users, id);
    BOOST_TEST(o.at("id").as_string() == std::to_string(id));
    BOOST_TEST(o.at("created_at").as_int64() > 5);
}

BOOST_AUTO_TEST_CASE(ids_increase_when_the_clock_is_behind) {
    // A last id far ahead of the clock (as after the clock stepped back).
    std::uint64_t ahead = (std::uint64_t(audex::now_micros()) << 10) + (1ull << 40);
    env->write([&](transaction& txn) { store->set_meta(txn, "last_id", u64_key(ahead)); });
    auto a = create(users, {{"name", "a"}});
    auto b = create(users, {{"name", "b"}});
    BOOST_TEST(a == ahead + 1);
    BOOST_TEST(b == ahead + 2);
}

BOOST_AUTO_TEST_CASE(session_ids_grow_with_their_start_and_name_their_month) {
    constexpr std::int64_t feb = 1'643'673'600'000'000;    // 2022-02-01T00:00:00Z
    constexpr std::int64_t march = 1'646'092'800'000'000;  // 2022-03-01T00:00:00Z
    auto a = create(sessions, session("", feb + 5));
    auto b = create(sessions, session("", feb + 5));  // the same start: the next id
    auto c = create(sessions, session("", feb + 1));  // earlier, made later: above the last
    BOOST_TEST(a == std::uint64_t(feb + 5) << 10);
    BOOST_TEST(b == a + 1);
    BOOST_TEST(c == b + 1);
    for (auto id : {a, b, c})
        BOOST_TEST(session_partition(id) == "2022-02");
    BOOST_TEST(session_partition(std::uint64_t(march) << 10) == "2022-03");
    // A month whose ids are all handed out refuses a new session rather than give it an id that
    // names the next month.
    session_env->write([&](transaction& txn) {
        session_store->reserve_id(txn, (std::uint64_t(march) << 10) - 1);
    });
    auto full = try_create(sessions, session("", feb + 7));
    BOOST_TEST_REQUIRE(!full.has_value());
    BOOST_TEST(full.error().type == audex::error_type::search_unavailable);
    BOOST_TEST(full.error().message.find("2022-02") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(get_missing) {
    auto id = create(users, {{"name", "alice"}});
    auto txn = env->read();
    BOOST_TEST(!store->get(txn, users, id + 1).has_value());
    BOOST_TEST(!store->get(txn, servers, id).has_value());  // another model's table
    BOOST_TEST(store->get(txn, users, id).has_value());
}

BOOST_AUTO_TEST_CASE(unique_conflicts_write_nothing) {
    auto alice = create(users, {{"name", "Alice"}});
    auto last = meta("last_id");
    for (auto name : {"Alice", "alice", "ALICE", "aLiCe"}) {
        auto r = try_create(users, {{"name", name}, {"email", "x@example.com"}});
        BOOST_TEST_REQUIRE(!r.has_value(), name);
        BOOST_TEST((r.error().type == error_type::conflict));
        BOOST_TEST(r.error().details.at("field") == "name");
        BOOST_TEST(r.error().message.find(name) != std::string::npos, r.error().message);
    }
    BOOST_TEST(scan(users) == ids{alice}, boost::test_tools::per_element());
    BOOST_TEST(meta("last_id") == last);  // no id was used up
    BOOST_TEST(find_unique(users, "name", "ALICE") == alice);
    BOOST_TEST(get(users, alice).at("name").as_string() == "Alice");
    BOOST_TEST(!get(users, alice).contains("email"));
}

BOOST_AUTO_TEST_CASE(a_conflict_in_a_transaction_keeps_its_earlier_writes) {
    // Both creates run in one transaction: the second fails, the first stays.
    auto r = env->write([&](transaction& txn) {
        auto a = store->create(txn, users, {{"name", "alice"}});
        BOOST_TEST_REQUIRE(a.has_value());
        auto b = store->create(txn, users, {{"name", "ALICE"}});
        BOOST_TEST(!b.has_value());
        return *a;
    });
    BOOST_TEST(scan(users) == ids{r}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(find_unique_folds_case) {
    auto alice = create(users, {{"name", "Alice"}});
    BOOST_TEST(find_unique(users, "name", "alice") == alice);
    BOOST_TEST(find_unique(users, "name", "ALICE") == alice);
    BOOST_TEST(find_unique(users, "name", "alic") == 0u);
    BOOST_TEST(find_unique(servers, "name", "alice") == 0u);
    BOOST_TEST(object_store::unique_key(attr(users, "name"), "MiXeD") == "mixed");
}

// A unique value is the key of its index, and LMDB keys hold at most 511 bytes: a longer value
// used to fail the write with MDB_BAD_VALSIZE (a 500), and its lookup too.
BOOST_AUTO_TEST_CASE(unique_values_longer_than_an_lmdb_key_are_invalid_arguments) {
    BOOST_TEST(mdb_env_get_maxkeysize(env->handle()) == 511);
    const std::string longest(511, 'S'), too_long(512, 's');
    auto server = create(servers, {{"name", longest}});
    BOOST_TEST(find_unique(servers, "name", std::string(511, 's')) == server);
    BOOST_TEST(!try_create(servers, {{"name", std::string(511, 's')}}).has_value());  // taken
    auto last = meta("last_id");
    for (std::size_t size : {512u, 600u, 2000u, 100000u}) {
        auto r = try_create(servers, {{"name", std::string(size, 'x')}});
        BOOST_TEST_REQUIRE(!r.has_value(), size);
        BOOST_TEST((r.error().type == error_type::invalid_argument));
        BOOST_TEST(r.error().details.at("field") == "name");
        BOOST_TEST(r.error().details.at("limit") == 511);
        BOOST_TEST(find_unique(servers, "name", std::string(size, 'x')) == 0u);
    }
    BOOST_TEST(meta("last_id") == last);  // no id was used up
    auto r = modify(servers, server, [&](json::object& o) { o["name"] = too_long; });
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().type == error_type::invalid_argument));
    BOOST_TEST(get(servers, server).at("name").as_string() == longest);
    BOOST_TEST(find_unique(servers, "name", longest) == server);
    BOOST_TEST(scan(servers) == ids{server}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(removed_objects_free_their_unique_values) {
    auto alice = create(users, {{"name", "alice"}});
    BOOST_TEST_REQUIRE(
        modify(users, alice, [](json::object& o) { o["removed"] = true; }).has_value());
    BOOST_TEST(find_unique(users, "name", "alice") == 0u);
    auto o = get(users, alice);  // the object stays
    BOOST_TEST(o.at("removed") == true);
    BOOST_TEST(o.at("name").as_string() == "alice");

    auto again = create(users, {{"name", "ALICE"}});
    BOOST_TEST(again != alice);
    BOOST_TEST(find_unique(users, "name", "alice") == again);
    // Changing the removed object does not take the name back.
    BOOST_TEST_REQUIRE(
        modify(users, alice, [](json::object& o) { o["email"] = "a@b.c"; }).has_value());
    BOOST_TEST(find_unique(users, "name", "alice") == again);
    BOOST_TEST(scan(users) == (ids{alice, again}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(replace_updates_modified_at_and_indexes) {
    auto alice = create(users, {{"name", "alice"}});
    auto bob = create(users, {{"name", "bob"}});
    auto created = get(users, alice).at("created_at").as_int64();

    BOOST_TEST_REQUIRE(modify(users, alice, [](json::object& o) {
                           o["name"] = "Carol";
                           o["modified_at"] = 0;  // replace sets it, whatever the caller left
                       }).has_value());
    auto o = get(users, alice);
    BOOST_TEST(o.at("name").as_string() == "Carol");
    BOOST_TEST(o.at("created_at").as_int64() == created);
    BOOST_TEST(o.at("modified_at").as_int64() >= created);
    BOOST_TEST(find_unique(users, "name", "alice") == 0u);
    BOOST_TEST(find_unique(users, "name", "carol") == alice);

    // Renaming onto a taken name fails and changes nothing.
    auto r = modify(users, alice, [](json::object& o) { o["name"] = "BOB"; });
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().type == error_type::conflict));
    BOOST_TEST(r.error().details.at("field") == "name");
    BOOST_TEST(get(users, alice).at("name").as_string() == "Carol");
    BOOST_TEST(find_unique(users, "name", "carol") == alice);
    BOOST_TEST(find_unique(users, "name", "bob") == bob);

    // A change of case alone is no conflict with itself.
    BOOST_TEST_REQUIRE(
        modify(users, alice, [](json::object& o) { o["name"] = "CAROL"; }).has_value());
    BOOST_TEST(find_unique(users, "name", "carol") == alice);
    BOOST_TEST(get(users, alice).at("name").as_string() == "CAROL");

    // Dropping the unique attribute drops its index entry.
    BOOST_TEST_REQUIRE(modify(users, alice, [](json::object& o) { o.erase("name"); }).has_value());
    BOOST_TEST(find_unique(users, "name", "carol") == 0u);
}

BOOST_AUTO_TEST_CASE(scan_in_id_order_from_an_id) {
    ids all;
    for (int i = 0; i < 10; ++i)
        all.push_back(create(servers, {{"name", "s" + std::to_string(i)}}));
    create(users, {{"name", "u"}});  // another model's objects are not scanned
    BOOST_TEST(scan(servers) == all, boost::test_tools::per_element());
    BOOST_TEST(scan(servers, all[4]) == ids(all.begin() + 4, all.end()),
               boost::test_tools::per_element());
    BOOST_TEST(scan(servers, all[4] + 1) == ids(all.begin() + 5, all.end()),
               boost::test_tools::per_element());
    BOOST_TEST(scan(servers, all[2], 3) == ids(all.begin() + 2, all.begin() + 5),
               boost::test_tools::per_element());
    BOOST_TEST(scan(servers, all.back() + 1).empty());
}

BOOST_AUTO_TEST_CASE(references_follow_create_and_replace) {
    auto s1 = create(sessions, session("7", 100));
    auto s2 = create(sessions, session("7", 200));
    auto s3 = create(sessions, session("8", 300));
    auto s4 = create(sessions, session("", 400));  // no user
    auto s5 = create(sessions, session("256", 500));
    BOOST_TEST(references(sessions, "user_id", 7) == (ids{s1, s2}),
               boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 8) == ids{s3}, boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 256) == ids{s5}, boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 9).empty());
    BOOST_TEST(references(sessions, "user_id", 0).empty());
    BOOST_TEST(references(sessions, "server_id", 7).empty());  // per attribute

    // Moving s1 to user 8.
    BOOST_TEST_REQUIRE(
        modify(sessions, s1, [](json::object& o) { o["user_id"] = "8"; }).has_value());
    BOOST_TEST(references(sessions, "user_id", 7) == ids{s2}, boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 8) == (ids{s1, s3}),
               boost::test_tools::per_element());
    // Giving s4 a user and taking s3's away.
    BOOST_TEST_REQUIRE(
        modify(sessions, s4, [](json::object& o) { o["user_id"] = "7"; }).has_value());
    BOOST_TEST_REQUIRE(
        modify(sessions, s3, [](json::object& o) { o.erase("user_id"); }).has_value());
    BOOST_TEST(references(sessions, "user_id", 7) == (ids{s2, s4}),
               boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 8) == ids{s1}, boost::test_tools::per_element());
    // Several reference attributes at once.
    BOOST_TEST_REQUIRE(modify(sessions, s2, [](json::object& o) {
                           o["server_id"] = "7";
                           o["account_id"] = "3";
                       }).has_value());
    BOOST_TEST(references(sessions, "server_id", 7) == ids{s2}, boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "account_id", 3) == ids{s2}, boost::test_tools::per_element());
    BOOST_TEST(references(sessions, "user_id", 7) == (ids{s2, s4}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(start_times_follow_create_and_replace) {
    using started_list = std::vector<std::pair<std::int64_t, std::uint64_t>>;
    auto late = create(sessions, session("", 3000));
    auto early = create(sessions, session("", 5));
    auto middle = create(sessions, session("", 1000));
    auto same = create(sessions, session("", 1000));
    create(users, {{"name", "not a session"}, {"started_at", 1000}});

    BOOST_CHECK((started(INT64_MIN, INT64_MAX) ==
                 started_list{{5, early}, {1000, middle}, {1000, same}, {3000, late}}));
    // Both ends are inclusive.
    BOOST_CHECK((started(1000, 3000) == started_list{{1000, middle}, {1000, same}, {3000, late}}));
    BOOST_TEST(started(1001, 2999).empty());
    BOOST_CHECK((started(5, 5) == started_list{{5, early}}));
    BOOST_TEST(started(4000, INT64_MAX).empty());

    BOOST_TEST_REQUIRE(
        modify(sessions, middle, [](json::object& o) { o["started_at"] = 4000; }).has_value());
    BOOST_TEST_REQUIRE(
        modify(sessions, early, [](json::object& o) { o["started_at"] = 0; }).has_value());
    BOOST_CHECK((started(INT64_MIN, INT64_MAX) ==
                 started_list{{0, early}, {1000, same}, {3000, late}, {4000, middle}}));

    // Early stop.
    int visited = 0;
    auto txn = session_env->read();
    session_store->scan_started(txn, INT64_MIN, INT64_MAX,
                                [&](std::uint64_t, std::int64_t) { return ++visited < 2; });
    BOOST_TEST(visited == 2);
}

BOOST_AUTO_TEST_CASE(backup_assignments) {
    session_env->write([&](transaction& txn) {
        session_store->assign_backup(txn, 20, 2);
        session_store->assign_backup(txn, 10, 3);
        session_store->assign_backup(txn, 10, 1);
        session_store->assign_backup(txn, 10, 1);  // again: still one assignment
    });
    std::vector<std::pair<std::uint64_t, std::uint64_t>> got;
    {
        auto txn = session_env->read();
        session_store->scan_assignments(txn, [&](std::uint64_t s, std::uint64_t b) {
            got.emplace_back(s, b);
            return true;
        });
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> want = {{10, 1}, {10, 3}, {20, 2}};
    BOOST_CHECK(got == want);

    got.clear();
    auto txn = session_env->read();
    session_store->scan_assignments(txn, [&](std::uint64_t s, std::uint64_t b) {
        got.emplace_back(s, b);
        return false;
    });
    BOOST_TEST(got.size() == 1u);
}

BOOST_AUTO_TEST_CASE(meta_values) {
    BOOST_TEST(meta("node_serial") == "<unset>");
    env->write([&](transaction& txn) { store->set_meta(txn, "node_serial", "AUDEX-1234"); });
    BOOST_TEST(meta("node_serial") == "AUDEX-1234");
    env->write([&](transaction& txn) { store->set_meta(txn, "node_serial", "AUDEX-5678"); });
    BOOST_TEST(meta("node_serial") == "AUDEX-5678");
}

BOOST_AUTO_TEST_CASE(everything_survives_reopening) {
    auto alice = create(users, {{"name", "Alice"}});
    auto s = create(sessions, session(std::to_string(alice), 1234));
    env->write([&](transaction& txn) { store->set_meta(txn, "node_serial", "AUDEX-1"); });
    session_env->write([&](transaction& txn) { session_store->assign_backup(txn, s, 99); });
    reopen();
    BOOST_TEST(get(users, alice).at("name").as_string() == "Alice");
    BOOST_TEST(find_unique(users, "name", "alice") == alice);
    BOOST_TEST(references(sessions, "user_id", alice) == ids{s}, boost::test_tools::per_element());
    BOOST_TEST(started(0, 2000).size() == 1u);
    BOOST_TEST(meta("node_serial") == "AUDEX-1");
    BOOST_TEST(!try_create(users, {{"name", "ALICE"}}).has_value());
    auto next = create(users, {{"name", "bob"}});
    BOOST_TEST(next > s);
}

BOOST_AUTO_TEST_CASE(sessions_are_indexed_in_id_order_until_one_is_numbered_late) {
    auto indexed = [&] {
        auto txn = session_env->read();
        return session_store->sessions_indexed(txn);
    };
    auto first = create(sessions, session("", 1000));
    create(sessions, session("", 2000));
    BOOST_TEST(indexed());
    // A session of a store older than the field indexes has no number until it is written.
    auto numbers = session_env->open_table("session.numbers");
    session_env->write(
        [&](transaction& txn) { BOOST_TEST_REQUIRE(txn.erase(numbers, u64_key(first))); });
    BOOST_TEST(!indexed());
    BOOST_TEST_REQUIRE(modify(sessions, first, [](json::object& o) { o["size"] = 1; }).has_value());
    BOOST_TEST(!indexed());  // every session is numbered now, the first after the second
    create(sessions, session("", 3000));
    BOOST_TEST(!indexed());
}

BOOST_AUTO_TEST_CASE(a_store_older_than_the_field_indexes_is_indexed_on_open) {
    constexpr std::int64_t hour = 3'600'000'000;
    auto ssh = create(sessions,
                      {{"protocol", "ssh"}, {"started_at", 10 * hour}, {"finished_at", 11 * hour}});
    auto rdp = create(sessions, {{"protocol", "rdp"}, {"started_at", 20 * hour}});  // active
    auto gone = create(sessions, {{"protocol", "ssh"}, {"started_at", 30 * hour}});
    modify(sessions, gone, [](json::object& o) { o["removed"] = true; });
    // The store as a version without field indexes left it: sessions, and nothing else of them.
    store.reset();
    std::vector<table> tables;
    for (auto name : {"session.numbers", "session.postings", "session.live", "session.columns",
                      "session.times"})
        tables.push_back(session_env->open_table(name));
    auto meta = session_env->open_table("meta");
    session_env->write([&](transaction& txn) {
        for (auto t : tables)
            txn.clear(t);
        txn.erase(meta, "next_session_number");
        txn.erase(meta, "field_index_version");
    });
    reopen();
    auto later = create(
        sessions,
        {{"protocol", "ssh"}, {"started_at", 40 * hour}, {"finished_at", 40 * hour + 60'000'000}});
    auto txn = session_env->read();
    auto& fields = session_store->fields();
    auto numbers = [&](std::initializer_list<std::uint64_t> ids) {
        Roaring out;
        for (auto id : ids) {
            auto n = fields.number(txn, id);
            BOOST_TEST_REQUIRE(n.has_value());
            out.add(*n);
        }
        return out;
    };
    BOOST_TEST(fields.live(txn) == numbers({ssh, rdp, later}));
    BOOST_TEST(numbers({ssh, rdp, gone, later}).cardinality() == 4u);  // each its own number
    std::map<std::string, std::uint64_t> protocols;
    fields.count_values(
        txn, attr(sessions, "protocol"), nullptr,
        [&](const json::value& v, std::uint64_t n) { protocols[std::string(v.as_string())] = n; });
    BOOST_TEST((protocols == std::map<std::string, std::uint64_t>{{"rdp", 1}, {"ssh", 2}}));
    // The active session runs to now; the finished one ended at 11:00.
    BOOST_TEST(fields.overlapping(txn, nullptr, 10 * hour + 30 * 60'000'000, 25 * hour,
                                  50 * hour) == numbers({ssh, rdp}));
    BOOST_TEST(fields.overlapping(txn, nullptr, 12 * hour, 19 * hour, 50 * hour) == Roaring());
    BOOST_TEST(fields.overlapping(txn, nullptr, 12 * hour, 50 * hour, 15 * hour) ==
               numbers({rdp, later}));
}

BOOST_AUTO_TEST_CASE(records_keep_the_default_view_and_the_removed_flag) {
    auto s = create(sessions, {{"protocol", "ssh"}, {"started_at", 1649167567313862}});
    auto u = create(users, {{"name", "alice"}, {"password", "$argon2id$hash"}});
    auto view = [&](const model& m, std::uint64_t id) {
        auto txn = env_of(m).read();
        auto o = of(m).find(txn, m, id);
        BOOST_TEST_REQUIRE(o.has_value());
        BOOST_TEST(o->parse() == get(m, id));
        return std::pair{json::parse(o->view).as_object(), o->removed};
    };
    auto [session, session_removed] = view(sessions, s);
    BOOST_TEST(session.at("started_at").as_string() == "2022-04-05 14:06:07.313862+00");
    BOOST_TEST(session.at("protocol").as_string() == "ssh");
    BOOST_TEST(session.at("id").as_string() == std::to_string(s));
    BOOST_TEST(!session_removed);
    auto [user, user_removed] = view(users, u);
    BOOST_TEST(!user.contains("password"));  // protected
    BOOST_TEST(user.at("name").as_string() == "alice");

    BOOST_TEST(modify(sessions, s, [](json::object& o) { o["removed"] = true; }).has_value());
    auto [after, removed] = view(sessions, s);
    BOOST_TEST(removed);
    BOOST_TEST(after.at("removed").as_bool());
}

BOOST_AUTO_TEST_SUITE_END()
