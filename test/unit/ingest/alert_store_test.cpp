// Tests of ingest/alert_store.hpp and ingest/policy_set.hpp on a real LMDB store: alerts listed by
// record id in pages and purged per session; the policy set built from stored policies and rebuilt
// only when a committed change says so.
#include "ingest/alert_store.hpp"
#include "ingest/policy_set.hpp"

#include "../store/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

namespace {

using namespace audex;
using namespace audex::ingest;
namespace json = boost::json;

struct store_fixture {
    store::test::temp_dir dir;
    store::environment env{dir.path};
    store::object_store objects{env};
    alert_store alerts{env};

    std::vector<std::int64_t> listed(std::uint64_t session, std::size_t offset, std::size_t limit,
                                     std::size_t* total = nullptr) {
        std::vector<std::int64_t> out;
        auto txn = env.read();
        auto n = alerts.page(txn, session, offset, limit,
                             [&](const alert& a) { out.push_back(a.record_id.value_or(-1)); });
        if (total) *total = n;
        return out;
    }

    std::uint64_t store_policy(std::string_view text) {
        return env.write([&](store::transaction& txn) {
            auto policy = json::parse(text).as_object();
            policy_set::check(txn, objects, policy);
            policy_set::changed(txn, objects);
            return *objects.create(txn, *find_model("content_policy"), policy);
        });
    }

    // A change of a stored policy, as object_api::patch checks it: with its id.
    void replace_policy(std::uint64_t id, std::string_view text) {
        env.write([&](store::transaction& txn) {
            auto& m = *find_model("content_policy");
            auto before = *objects.get(txn, m, id);
            auto after = before;
            auto changes = json::parse(text);
            for (auto& [key, value] : changes.as_object())
                after[key] = value;
            policy_set::check(txn, objects, after);
            policy_set::changed(txn, objects);
            BOOST_TEST_REQUIRE(objects.replace(txn, m, id, before, after).has_value());
        });
    }

    void set_meta(std::string_view key, std::string_view value) {
        env.write([&](store::transaction& txn) { objects.set_meta(txn, key, value); });
    }
    std::optional<std::string> meta(std::string_view key) {
        auto txn = env.read();
        return objects.meta(txn, key);
    }
};

alert make_alert(std::uint64_t session, std::optional<std::int64_t> record, std::string rule) {
    alert a;
    a.session = session;
    a.channel = 2;
    a.type = event_type::screen_creditcard;
    a.rule_name = std::move(rule);
    a.matched_regexp = "p";
    a.matched_content = "text of " + std::to_string(record.value_or(-1));
    a.record_id = record;
    a.time = 1'000'000;
    return a;
}

index::content_record command(std::string text) {
    index::content_record r;
    r.session = 1;
    r.type = "command";
    r.text = std::move(text);
    return r;
}

using numbers = std::vector<std::int64_t>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(alert_store_tests, store_fixture)

BOOST_AUTO_TEST_CASE(alerts_are_listed_by_record_id_then_arrival) {
    env.write([&](store::transaction& txn) {
        alerts.add(txn, {make_alert(1, 30, "a"), make_alert(1, 10, "b"), make_alert(2, 5, "c")});
    });
    env.write([&](store::transaction& txn) {
        alerts.add(txn, {make_alert(1, 10, "d"), make_alert(1, std::nullopt, "e")});
    });
    std::size_t total = 0;
    BOOST_TEST(listed(1, 0, 100, &total) == (numbers{-1, 10, 10, 30}),
               boost::test_tools::per_element());
    BOOST_TEST(total == 4u);
    std::vector<std::string> rules;
    auto txn = env.read();
    alerts.page(txn, 1, 0, 100, [&](const alert& a) { rules.push_back(a.rule_name); });
    BOOST_TEST(rules == (std::vector<std::string>{"e", "b", "d", "a"}),
               boost::test_tools::per_element());
    alerts.page(txn, 2, 0, 1, [&](const alert& a) {
        BOOST_TEST(a.session == 2u);
        BOOST_TEST(a.channel == 2);
        BOOST_TEST((a.type == event_type::screen_creditcard));
        BOOST_TEST(a.matched_content == "text of 5");
        BOOST_TEST(a.time == 1'000'000);
    });
}

BOOST_AUTO_TEST_CASE(pages_count_every_alert_of_the_session) {
    env.write([&](store::transaction& txn) {
        std::vector<alert> many;
        for (int i = 0; i < 7; ++i)
            many.push_back(make_alert(4, i, "r"));
        alerts.add(txn, many);
    });
    std::size_t total = 0;
    BOOST_TEST(listed(4, 2, 3, &total) == (numbers{2, 3, 4}), boost::test_tools::per_element());
    BOOST_TEST(total == 7u);
    BOOST_TEST(listed(4, 6, 3) == numbers{6}, boost::test_tools::per_element());
    BOOST_TEST(listed(4, 9, 3).empty());
    BOOST_TEST(listed(5, 0, 3, &total).empty());
    BOOST_TEST(total == 0u);
}

BOOST_AUTO_TEST_CASE(purging_a_session_leaves_the_others) {
    env.write([&](store::transaction& txn) {
        alerts.add(txn, {make_alert(1, 1, "a"), make_alert(2, 1, "b"), make_alert(3, 1, "c")});
    });
    env.write([&](store::transaction& txn) { alerts.purge_session(txn, 2); });
    BOOST_TEST(listed(1, 0, 10).size() == 1u);
    BOOST_TEST(listed(2, 0, 10).empty());
    BOOST_TEST(listed(3, 0, 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_large_purge_goes_in_bounded_steps) {
    env.write([&](store::transaction& txn) {
        alerts.add(txn, {make_alert(1, 1, "a"), make_alert(2, 1, "b"), make_alert(2, 2, "c"),
                         make_alert(2, 3, "d"), make_alert(3, 1, "e")});
    });
    auto step = [&] {
        return env.write([&](store::transaction& txn) { return alerts.purge_session(txn, 2, 2); });
    };
    BOOST_TEST(!step());
    BOOST_TEST(listed(2, 0, 10).size() == 1u);
    BOOST_TEST(step());
    BOOST_TEST(listed(2, 0, 10).empty());
    BOOST_TEST(listed(1, 0, 10).size() == 1u);
    BOOST_TEST(listed(3, 0, 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_policy_set_follows_committed_changes) {
    store_policy(R"({"name": "one", "rules": [
        {"name": "sudo", "event_type": "command", "match": ["sudo"]}]})");
    policy_set policies(objects);  // built at start from what is stored
    BOOST_TEST(policies.match({command("sudo id")}).size() == 1u);
    BOOST_TEST(policies.match({command("passwd")}).empty());

    auto before = policies.current();
    policies.refresh();  // nothing changed: the same matcher
    BOOST_TEST(policies.current() == before);

    store_policy(R"({"name": "two", "rules": [
        {"name": "passwd", "event_type": "command", "match": ["passwd"]}]})");
    BOOST_TEST(policies.match({command("passwd")}).empty());  // until the rebuild
    policies.refresh(true);
    BOOST_TEST(policies.current() != before);
    BOOST_TEST(policies.match({command("passwd")}).size() == 1u);
    BOOST_TEST(policies.current()->rule_count() == 2u);
}

BOOST_AUTO_TEST_CASE(a_bad_policy_is_refused_and_changes_nothing) {
    policy_set policies(objects);
    BOOST_CHECK_EXCEPTION(store_policy(R"({"name": "bad", "rules": [
        {"name": "broken rule", "event_type": "command", "match": ["(unclosed"]}]})"),
                          api_exception, [](const api_exception& e) {
                              return e.error.details.at("rule") == "broken rule" &&
                                     e.error.details.at("field") == "rules.0.match.0";
                          });
    policies.refresh();
    BOOST_TEST(policies.current()->rule_count() == 0u);
    auto txn = env.read();
    BOOST_TEST(!objects.meta(txn, "content_policy_generation").has_value());
}

// A policy of `rules` command rules with `patterns` match patterns each.
std::string policy_text(std::string name, std::size_t rules, std::size_t patterns) {
    json::array list;
    for (std::size_t r = 0; r < rules; ++r) {
        json::array match;
        for (std::size_t p = 0; p < patterns; ++p)
            match.push_back(json::value("w" + std::to_string(r) + "x" + std::to_string(p) + "\\b"));
        list.push_back(json::object{
            {"name", "r" + std::to_string(r)}, {"event_type", "command"}, {"match", match}});
    }
    return json::serialize(json::object{{"name", name}, {"rules", list}});
}

BOOST_AUTO_TEST_CASE(a_restarted_store_loads_the_compiled_policies) {
    store_policy(R"({"name": "one", "rules": [
        {"name": "sudo", "event_type": "command", "match": ["\\bsudo\\b"]},
        {"name": "key", "event_type": "screen.content", "match": ["PRIVATE KEY"]}]})");
    auto compiled = policy_matcher::compilations();
    {
        policy_set first(objects);  // nothing stored yet: compiles, and stores what it compiled
        BOOST_TEST(policy_matcher::compilations() == compiled + 1);
        BOOST_TEST(first.match({command("sudo id")}).size() == 1u);
    }
    BOOST_TEST_REQUIRE(meta("content_policy_database").has_value());
    auto stored = *meta("content_policy_database");

    compiled = policy_matcher::compilations();
    policy_set restarted(objects);
    BOOST_TEST(policy_matcher::compilations() == compiled);  // loaded, not compiled
    BOOST_TEST(restarted.match({command("sudo id")}).size() == 1u);
    BOOST_TEST(restarted.match({command("sudoku")}).empty());
    BOOST_TEST(restarted.current()->rule_count() == 2u);

    // A change compiles once, after its commit, and stores the new matcher for the next start.
    store_policy(R"({"name": "two", "rules": [
        {"name": "passwd", "event_type": "command", "match": ["passwd"]}]})");
    BOOST_TEST(policy_matcher::compilations() == compiled);  // the write itself compiled nothing
    restarted.refresh(true);
    BOOST_TEST(policy_matcher::compilations() == compiled + 1);
    BOOST_TEST(restarted.match({command("passwd")}).size() == 1u);
    BOOST_TEST(*meta("content_policy_database") != stored);
    policy_set again(objects);
    BOOST_TEST(policy_matcher::compilations() == compiled + 1);
    BOOST_TEST(again.match({command("passwd")}).size() == 1u);
    BOOST_TEST(again.current()->rule_count() == 3u);
}

// Bytes that do not load (another Hyperscan version or platform, damage, other policies than
// they were compiled from) are compiled again and replaced.
BOOST_AUTO_TEST_CASE(a_stored_matcher_that_does_not_load_is_compiled_again) {
    store_policy(R"({"name": "one", "rules": [
        {"name": "sudo", "event_type": "command", "match": ["\\bsudo\\b"]}]})");
    { policy_set first(objects); }
    auto good = *meta("content_policy_database");
    for (std::string bad : {std::string("garbage"), good.substr(0, good.size() / 2), [&] {
                                auto b = good;
                                b[18 + 32 + 8] ^= 0x7f;  // Hyperscan's header
                                return b;
                            }()}) {
        set_meta("content_policy_database", bad);
        auto compiled = policy_matcher::compilations();
        policy_set restarted(objects);
        BOOST_TEST(policy_matcher::compilations() == compiled + 1);
        BOOST_TEST(restarted.match({command("sudo id")}).size() == 1u);
        BOOST_TEST((*meta("content_policy_database") == good));
    }
    // The bytes of other policies: the digest of the patterns tells.
    { policy_set empty_one(objects); }
    auto sudo_only = *meta("content_policy_database");
    store_policy(R"({"name": "two", "rules": [
        {"name": "passwd", "event_type": "command", "match": ["passwd"]}]})");
    set_meta("content_policy_database", sudo_only);
    auto compiled = policy_matcher::compilations();
    policy_set restarted(objects);
    BOOST_TEST(policy_matcher::compilations() == compiled + 1);
    BOOST_TEST(restarted.match({command("passwd")}).size() == 1u);
}

// The commit of a policy change is followed by the writer's own refresh, which compiles; an ingest
// meanwhile goes on with the matcher in force instead of compiling or waiting.
BOOST_AUTO_TEST_CASE(only_the_writers_refresh_compiles) {
    policy_set policies(objects);
    store_policy(R"({"name": "one", "rules": [
        {"name": "sudo", "event_type": "command", "match": ["sudo"]}]})");
    auto before = policies.current();
    auto compiled = policy_matcher::compilations();
    policies.refresh();  // an ingest's
    BOOST_TEST(policies.current() == before);
    BOOST_TEST(policy_matcher::compilations() == compiled);
    policies.refresh(true);  // the writer's
    BOOST_TEST(policies.current() != before);
    BOOST_TEST(policies.match({command("sudo id")}).size() == 1u);
    BOOST_TEST(policy_matcher::compilations() == compiled + 1);
}

BOOST_AUTO_TEST_CASE(policies_past_the_limits_are_refused_and_change_nothing) {
    policy_set policies(objects);
    auto refused = [&](const std::string& text, std::string field, std::size_t limit) {
        BOOST_CHECK_EXCEPTION(store_policy(text), api_exception, [&](const api_exception& e) {
            return e.error.type == error_type::invalid_argument &&
                   e.error.details.at("field") == json::value(field) &&
                   e.error.details.at("limit") == json::value(limit);
        });
    };
    refused(policy_text("wide", 1, max_patterns_per_policy + 1), "rules", max_patterns_per_policy);
    refused(policy_text("long", max_rules_per_policy + 1, 1), "rules", max_rules_per_policy);
    refused(R"({"name": "big", "rules": [{"name": "r", "event_type": "command", "match": [")" +
                std::string(max_pattern_bytes + 1, 'a') + R"("]}]})",
            "rules.0.match.0", max_pattern_bytes);
    BOOST_TEST(!meta("content_policy_generation").has_value());

    // max_patterns over all live policies: full policies up to it, then one pattern more.
    const std::size_t full = max_patterns / max_patterns_per_policy;
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < full; ++i)
        ids.push_back(
            store_policy(policy_text("p" + std::to_string(i), 1, max_patterns_per_policy)));
    refused(policy_text("one more", 1, 1), "rules", max_patterns);
    // A change of a stored policy counts it once, as it will be.
    replace_policy(ids[0], R"({"name": "p0 renamed"})");
    BOOST_CHECK_EXCEPTION(
        replace_policy(ids[1], policy_text("p1", 1, max_patterns_per_policy + 1)), api_exception,
        [](const api_exception& e) { return e.error.details.at("field") == "rules"; });
    replace_policy(ids[1], policy_text("p1", 2, max_patterns_per_policy / 2 - 1));
    store_policy(policy_text("fits now", 1, 2));
    refused(policy_text("no longer", 1, 1), "rules", max_patterns);
    // A removed policy frees its patterns.
    env.write([&](store::transaction& txn) {
        auto& m = *find_model("content_policy");
        auto before = *objects.get(txn, m, ids[2]);
        auto after = before;
        after["removed"] = true;
        policy_set::changed(txn, objects);
        BOOST_TEST_REQUIRE(objects.replace(txn, m, ids[2], before, after).has_value());
    });
    store_policy(policy_text("after removal", 1, max_patterns_per_policy));
    policies.refresh(true);
    BOOST_TEST(policies.current()->rule_count() == full + 2);
}

BOOST_AUTO_TEST_SUITE_END()
