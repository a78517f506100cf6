// Tests of ingest/alert_store.hpp and ingest/policy_set.hpp on a real LMDB store: alerts listed by
// record id in pages and purged per session; the policy set built from stored policies and rebuilt
// only when a committed change says so.
#include "ingest/alert_store.hpp"
#include "ingest/policy_set.hpp"

#include "../store/temp_dir.hpp"

#include <boost/json/parse.hpp>
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
            policy_set::check(policy);
            policy_set::changed(txn, objects);
            return *objects.create(txn, *find_model("content_policy"), policy);
        });
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
    policies.refresh();
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

BOOST_AUTO_TEST_SUITE_END()
