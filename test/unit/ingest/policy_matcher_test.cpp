// Tests of ingest/policy_matcher.hpp: match and ignore patterns, event types, the alert's fields,
// card numbers (Luhn, separators, boundaries), rule errors, and a randomised comparison of the
// Hyperscan matcher with std::regex on the same rules and records.
#include "ingest/policy_matcher.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <regex>

namespace {

using namespace audex;
using namespace audex::ingest;

policy_rule rule(std::string name, event_type type, std::vector<std::string> match,
                 std::vector<std::string> ignore = {}) {
    policy_rule r;
    r.name = std::move(name);
    r.type = type;
    r.match = std::move(match);
    r.ignore = std::move(ignore);
    return r;
}

index::content_record record(std::string type, std::string text, std::int64_t begin = 1) {
    index::content_record r;
    r.session = 7;
    r.channel = 3;
    r.type = std::move(type);
    r.text = std::move(text);
    r.start = 1'493'126'799'144'356;
    r.record_id = {{"begin", begin}, {"end", begin + 2}, {"for_screenshot", begin}};
    return r;
}

std::shared_ptr<const policy_matcher> compiled(std::vector<policy_rule> rules) {
    auto m = policy_matcher::compile(std::move(rules));
    BOOST_TEST_REQUIRE(m.has_value(), (m ? "" : m.error().message));
    return *m;
}

// "rule:pattern" of each alert, in order.
std::vector<std::string> fired(const policy_matcher& m,
                               const std::vector<index::content_record>& records) {
    std::vector<std::string> out;
    for (auto& a : m.match(records))
        out.push_back(a.rule_name + ":" + a.matched_regexp);
    return out;
}

using strings = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_matcher_tests)

BOOST_AUTO_TEST_CASE(an_alert_carries_the_record_and_the_rule) {
    auto m = compiled({rule("PatternMatcherRule", event_type::command, {"man sudo"})});
    auto alerts = m->match({record("command", "myuser@examplehost:~$ man sudo", 94)});
    BOOST_TEST_REQUIRE(alerts.size() == 1u);
    auto& a = alerts[0];
    BOOST_TEST(a.session == 7u);
    BOOST_TEST(a.channel == 3);
    BOOST_TEST((a.type == event_type::command));
    BOOST_TEST(alert_type_name(a.type) == "adp.event.command");
    BOOST_TEST(a.rule_name == "PatternMatcherRule");
    BOOST_TEST(a.matched_regexp == "man sudo");
    BOOST_TEST(a.matched_content == "myuser@examplehost:~$ man sudo");
    BOOST_TEST(a.record_id.value() == 94);
    BOOST_TEST(a.time == 1'493'126'799'144'356);
}

BOOST_AUTO_TEST_CASE(the_first_matching_pattern_of_a_rule_is_reported_once) {
    auto m = compiled({rule("danger", event_type::command, {"rm -rf", "shutdown", "reboot"})});
    BOOST_TEST(fired(*m, {record("command", "shutdown -r now; reboot; shutdown")}) ==
                   strings{"danger:shutdown"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("command", "reboot; rm -rf /")}) == strings{"danger:rm -rf"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("command", "ls -l")}).empty());
}

BOOST_AUTO_TEST_CASE(an_ignore_pattern_silences_its_rule_only) {
    auto m = compiled({rule("sudo", event_type::command, {"sudo "}, {"sudo -l", "^backup\\$"}),
                       rule("any sudo", event_type::command, {"sudo"})});
    BOOST_TEST(fired(*m, {record("command", "sudo -l")}) == strings{"any sudo:sudo"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("command", "backup$ sudo tar")}) == strings{"any sudo:sudo"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("command", "root$ sudo tar")}) ==
                   (strings{"sudo:sudo ", "any sudo:sudo"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(each_record_type_meets_the_rules_of_its_event_types) {
    auto m = compiled({rule("cmd", event_type::command, {"passwd"}),
                       rule("screen", event_type::screen_content, {"passwd"}),
                       rule("title", event_type::screen_windowtitle, {"passwd"})});
    BOOST_TEST(fired(*m, {record("command", "passwd")}) == strings{"cmd:passwd"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "passwd")}) == strings{"screen:passwd"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("window_title", "passwd")}) == strings{"title:passwd"},
               boost::test_tools::per_element());
    auto alerts = m->match({record("window_title", "passwd"), record("screen", "passwd")});
    BOOST_TEST_REQUIRE(alerts.size() == 2u);
    BOOST_TEST(alert_type_name(alerts[0].type) == "adp.event.screen.windowtitle");
    BOOST_TEST(alert_type_name(alerts[1].type) == "adp.event.screen.content");
}

BOOST_AUTO_TEST_CASE(patterns_are_regular_expressions_with_line_anchors) {
    auto m = compiled({rule("root prompt", event_type::screen_content, {"^root@\\w+:"}),
                       rule("caseless", event_type::screen_content, {"(?i)drop\\s+table"})});
    BOOST_TEST(fired(*m, {record("screen", "login ok\nroot@db1:~# id")}) ==
                   strings{"root prompt:^root@\\w+:"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "not root@db1: here")}).empty());
    BOOST_TEST(fired(*m, {record("screen", "mysql> DROP  TABLE users;")}) ==
                   strings{"caseless:(?i)drop\\s+table"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_rule_that_does_not_store_alerts_raises_none) {
    auto quiet = rule("quiet", event_type::command, {"ls"});
    quiet.store_alert = false;
    auto m = compiled({quiet, rule("loud", event_type::command, {"ls"})});
    BOOST_TEST(fired(*m, {record("command", "ls")}) == strings{"loud:ls"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(records_without_a_record_id_give_alerts_without_one) {
    auto m = compiled({rule("r", event_type::command, {"x"})});
    auto r = record("command", "x");
    r.record_id = {};
    auto alerts = m->match({r});
    BOOST_TEST_REQUIRE(alerts.size() == 1u);
    BOOST_TEST(!alerts[0].record_id.has_value());
}

BOOST_AUTO_TEST_CASE(luhn) {
    BOOST_TEST(luhn_valid("79927398713"));
    BOOST_TEST(!luhn_valid("79927398710"));
    BOOST_TEST(luhn_valid("4111111111111111"));
    BOOST_TEST(!luhn_valid("4111111111111112"));
    BOOST_TEST(!luhn_valid(""));
}

BOOST_AUTO_TEST_CASE(card_numbers_pass_luhn_in_13_to_19_digits) {
    BOOST_TEST(has_card_number("pay with 4111111111111111 now"));
    BOOST_TEST(has_card_number("4111 1111 1111 1111"));
    BOOST_TEST(has_card_number("4111-1111-1111-1111"));
    BOOST_TEST(has_card_number("amex 3782 822463 10005"));      // 15 digits
    BOOST_TEST(has_card_number("visa13 4222222222222."));       // 13 digits
    BOOST_TEST(has_card_number("6011 0009 9013 9424"));         // Discover
    BOOST_TEST(has_card_number("exp 12 25 4111111111111111"));  // a window of the run
    BOOST_TEST(!has_card_number("4111 1111 1111 1112"));        // fails Luhn
    BOOST_TEST(!has_card_number("4111-1111-1111-1112"));
    BOOST_TEST(!has_card_number("411111111111"));             // 12 digits
    BOOST_TEST(!has_card_number("41111111111111111111111"));  // 23 digits: not a card
    BOOST_TEST(!has_card_number("4111  1111  1111  1111"));   // double spaces split it
    BOOST_TEST(!has_card_number("4111--1111--1111--1111"));
    BOOST_TEST(!has_card_number("id4111111111111111"));  // glued to a word
    BOOST_TEST(!has_card_number("4111111111111111abc"));
    BOOST_TEST(!has_card_number("no digits at all"));
}

BOOST_AUTO_TEST_CASE(card_rules_fire_on_valid_card_numbers_only) {
    auto card = rule("card", event_type::screen_creditcard, {}, {"4242 ?4242 ?4242 ?4242"});
    auto m = compiled({card});
    auto alerts = m->match({record("screen", "Card: 4111 1111 1111 1111\nExp: 12/27", 10),
                            record("screen", "Card: 4111 1111 1111 1112", 11),
                            record("command", "echo 4111111111111111", 12),
                            record("screen", "test card 4242 4242 4242 4242", 13)});
    BOOST_TEST_REQUIRE(alerts.size() == 1u);
    BOOST_TEST(alerts[0].record_id.value() == 10);
    BOOST_TEST(alert_type_name(alerts[0].type) == "adp.event.screen.creditcard");
    BOOST_TEST(alerts[0].matched_regexp == card_number_pattern);
    BOOST_TEST(alerts[0].matched_content == "Card: 4111 1111 1111 1111\nExp: 12/27");
}

BOOST_AUTO_TEST_CASE(a_card_rule_with_match_patterns_needs_both) {
    auto m = compiled({rule("card form", event_type::screen_creditcard, {"(?i)card number"}),
                       rule("text", event_type::screen_content, {"(?i)card number"})});
    BOOST_TEST(fired(*m, {record("screen", "Card number: 5555 5555 5555 4444")}) ==
                   (strings{"card form:(?i)card number", "text:(?i)card number"}),
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "Card number: 5555 5555 5555 4445")}) ==
                   strings{"text:(?i)card number"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "5555 5555 5555 4444")}).empty());
}

BOOST_AUTO_TEST_CASE(a_pattern_that_does_not_compile_names_its_rule) {
    auto m = policy_matcher::compile(
        {rule("fine", event_type::command, {"ls"}),
         rule("broken", event_type::screen_content, {"ok", "unclosed(group"})});
    BOOST_TEST_REQUIRE(!m.has_value());
    auto e = m.error();
    BOOST_TEST(e.type == error_type::invalid_argument);
    BOOST_TEST(e.details.at("rule") == "broken");
    BOOST_TEST(e.details.at("pattern") == "unclosed(group");
    BOOST_TEST(e.message.find("broken") != std::string::npos);
    BOOST_TEST(e.message.find("unclosed(group") != std::string::npos);

    auto ignore = policy_matcher::compile({rule("r", event_type::command, {"a"}, {"x{2,1}"})});
    BOOST_TEST_REQUIRE(!ignore.has_value());
    BOOST_TEST(ignore.error().details.at("rule") == "r");
    BOOST_TEST(ignore.error().details.at("pattern") == "x{2,1}");
}

BOOST_AUTO_TEST_CASE(a_pattern_that_matches_the_empty_string_matches_every_record) {
    auto m = compiled({rule("any", event_type::command, {"x*"}),
                       rule("any card", event_type::screen_creditcard, {".*"})});
    BOOST_TEST(fired(*m, {record("command", "ls")}) == strings{"any:x*"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("command", "")}) == strings{"any:x*"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "4111111111111111")}) == strings{"any card:.*"},
               boost::test_tools::per_element());
    BOOST_TEST(fired(*m, {record("screen", "4111111111111112")}).empty());
}

BOOST_AUTO_TEST_CASE(rules_are_read_from_a_stored_policy) {
    auto policy = boost::json::parse(R"({"name": "p", "rules": [
        {"name": "a", "event_type": "command", "match": ["x"], "ignore": ["y"]},
        {"name": "b", "event_type": "screen.creditcard", "match": [], "store_alert": false}]})")
                      .as_object();
    auto rules = rules_of(policy);
    BOOST_TEST_REQUIRE(rules.has_value());
    BOOST_TEST_REQUIRE(rules->size() == 2u);
    BOOST_TEST((*rules)[0].store_alert);  // the schema's default
    BOOST_TEST((*rules)[0].ignore == strings{"y"}, boost::test_tools::per_element());
    BOOST_TEST(((*rules)[1].type == event_type::screen_creditcard));
    BOOST_TEST(!(*rules)[1].store_alert);

    auto no_match = boost::json::parse(R"({"name": "p", "rules": [
        {"name": "a", "event_type": "command", "match": ["x"]},
        {"name": "empty", "event_type": "screen.content", "match": []}]})")
                        .as_object();
    auto bad = rules_of(no_match);
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST(bad.error().details.at("field") == "rules.1.match");
    BOOST_TEST(bad.error().message.find("empty") != std::string::npos);
}

// The matcher against std::regex on random rules and records: the same alerts, in the same order.
BOOST_AUTO_TEST_CASE(agrees_with_std_regex) {
    std::mt19937 rng(20240611);
    const std::vector<std::string> words = {"sudo", "rm",  "passwd", "ssh", "cat", "shadow",
                                            "root", "etc", "tar",    "-rf", "/",   "id"};
    auto pick = [&](std::size_t n) { return words[rng() % n]; };
    const std::vector<std::string> shapes = {"{a}", "{a} {b}", "{a}.*{b}", "{a}|{b}", "\\b{a}\\b"};
    const std::vector<std::string> types = {"command", "screen", "window_title"};
    std::size_t compared = 0;
    for (int round = 0; round < 20; ++round) {
        std::vector<policy_rule> rules;
        for (int i = 0; i < 30; ++i) {
            auto pattern = [&] {
                auto p = shapes[rng() % shapes.size()];
                auto put = [&](std::string_view key) {
                    auto w = pick(words.size());
                    std::string escaped;
                    for (char c : w)
                        escaped += c == '/' || c == '-' ? std::string("\\") + c : std::string(1, c);
                    p.replace(p.find(key), key.size(), escaped);
                };
                put("{a}");
                if (p.find("{b}") != std::string::npos) put("{b}");
                return p;
            };
            auto type = event_type(rng() % 3);  // command, screen.content, screen.windowtitle
            std::vector<std::string> match{pattern()}, ignore;
            if (rng() % 2) match.push_back(pattern());
            if (rng() % 3 == 0) ignore.push_back(pattern());
            rules.push_back(rule("r" + std::to_string(i), type, match, ignore));
        }
        auto m = compiled(rules);
        std::vector<index::content_record> records;
        for (int i = 0; i < 50; ++i) {
            std::string text;
            for (int w = 0, n = 1 + int(rng() % 6); w < n; ++w)
                text += (w ? " " : "") + pick(words.size());
            records.push_back(record(types[rng() % 3], text, i));
        }
        std::vector<std::string> expected;
        for (auto& r : records) {
            for (auto& ru : rules) {
                auto kind = ru.type == event_type::command              ? "command"
                            : ru.type == event_type::screen_windowtitle ? "window_title"
                                                                        : "screen";
                if (r.type != kind) continue;
                auto hit = [&](const std::string& p) {
                    return std::regex_search(r.text, std::regex(p, std::regex::ECMAScript));
                };
                if (std::any_of(ru.ignore.begin(), ru.ignore.end(), hit)) continue;
                auto first = std::find_if(ru.match.begin(), ru.match.end(), hit);
                if (first != ru.match.end()) expected.push_back(ru.name + ":" + *first);
            }
        }
        BOOST_TEST(fired(*m, records) == expected, boost::test_tools::per_element());
        compared += expected.size();
    }
    BOOST_TEST(compared > 100u);  // the rules fired often enough for the comparison to tell
}

BOOST_AUTO_TEST_CASE(a_policy_past_a_limit_is_refused_with_the_limit) {
    auto refused = [](const std::vector<policy_rule>& rules) {
        auto ok = check_rules(rules);
        BOOST_TEST_REQUIRE(!ok.has_value());
        BOOST_TEST((ok.error().type == error_type::invalid_argument));
        return ok.error();
    };
    auto where = [](std::vector<policy_rule> rules) {
        for (std::size_t i = 0; i < rules.size(); ++i)
            rules[i].where = "rules." + std::to_string(i);
        return rules;
    };

    // A pattern of max_pattern_bytes passes; one byte more does not.
    std::string longest(max_pattern_bytes, 'a');
    BOOST_TEST(check_rules(where({rule("r", event_type::command, {longest})})).has_value());
    auto e = refused(where({rule("ok", event_type::command, {"ls"}),
                            rule("long", event_type::command, {"x"}, {longest + "a"})}));
    BOOST_TEST(e.details.at("field") == "rules.1.ignore.0");
    BOOST_TEST(e.details.at("limit") == max_pattern_bytes);
    BOOST_TEST(e.details.at("rule") == "long");

    // Patterns count match and ignore alike.
    std::vector<std::string> half(max_patterns_per_policy / 2, "p");
    BOOST_TEST(check_rules(where({rule("r", event_type::command, half, half)})).has_value());
    half.push_back("q");
    e = refused(where({rule("r", event_type::command, half, half)}));
    BOOST_TEST(e.details.at("field") == "rules");
    BOOST_TEST(e.details.at("limit") == max_patterns_per_policy);

    std::vector<policy_rule> many(max_rules_per_policy + 1,
                                  rule("card", event_type::screen_creditcard, {}));
    e = refused(where(many));
    BOOST_TEST(e.details.at("field") == "rules");
    BOOST_TEST(e.details.at("limit") == max_rules_per_policy);
    many.pop_back();
    BOOST_TEST(check_rules(where(many)).has_value());
}

// check_rules parses each pattern without compiling a database: what it refuses, compile() refuses
// too, with the same field, rule and pattern.
BOOST_AUTO_TEST_CASE(a_pattern_that_does_not_parse_is_refused_without_compiling) {
    const std::vector<std::string> bad = {"unclosed(group", "x{2,1}", "(?<=a)b", "(a)\\1", "[z-a]"};
    for (auto& pattern : bad) {
        std::vector<policy_rule> rules = {
            rule("fine", event_type::command, {"ls"}),
            rule("broken", event_type::screen_content, {"ok"}, {pattern})};
        rules[0].where = "rules.0";
        rules[1].where = "rules.1";
        auto before = policy_matcher::compilations();
        auto checked = check_rules(rules);
        BOOST_TEST(policy_matcher::compilations() == before);
        BOOST_TEST_REQUIRE(!checked.has_value(), pattern);
        auto compiled = policy_matcher::compile(rules);
        BOOST_TEST_REQUIRE(!compiled.has_value(), pattern);
        for (const audex::api_error& e : {checked.error(), compiled.error()}) {
            BOOST_TEST(e.details.at("field") == "rules.1.ignore.0");
            BOOST_TEST(e.details.at("rule") == "broken");
            BOOST_TEST(e.details.at("pattern").as_string() == pattern);
        }
    }
}

// A matcher loaded from serialize()'s bytes raises the alerts of the compiled one, without
// compiling; bytes of other patterns, cut short or damaged are not loaded.
BOOST_AUTO_TEST_CASE(a_serialised_matcher_loads_without_compiling) {
    std::vector<policy_rule> rules = {
        rule("sudo", event_type::command, {"\\bsudo\\b"}, {"--help"}),
        rule("key", event_type::screen_content, {"BEGIN (RSA )?PRIVATE KEY"}),
        rule("card", event_type::screen_creditcard, {}),
        rule("admin", event_type::screen_windowtitle, {"(?i)^administrator:"})};
    auto original = compiled(rules);
    auto bytes = original->serialize();
    const std::vector<index::content_record> records = {
        record("command", "sudo id"), record("command", "sudo --help"),
        record("screen", "-----BEGIN RSA PRIVATE KEY-----\n4111 1111 1111 1111"),
        record("window_title", "Administrator: cmd"), record("window_title", "notepad")};

    auto before = policy_matcher::compilations();
    auto loaded = policy_matcher::load(rules, bytes, 7);
    BOOST_TEST(policy_matcher::compilations() == before);
    BOOST_TEST_REQUIRE(loaded != nullptr);
    BOOST_TEST(loaded->generation() == 7u);
    BOOST_TEST(fired(*loaded, records) == fired(*original, records),
               boost::test_tools::per_element());
    BOOST_TEST(fired(*loaded, records).size() == 4u);

    auto other = rules;
    other[1].match[0] = "BEGIN PRIVATE KEY";
    BOOST_TEST(policy_matcher::load(other, bytes) == nullptr);
    auto fewer = rules;
    fewer.pop_back();
    BOOST_TEST(policy_matcher::load(fewer, bytes) == nullptr);
    BOOST_TEST(policy_matcher::load(rules, bytes.substr(0, bytes.size() - 1)) == nullptr);
    BOOST_TEST(policy_matcher::load(rules, bytes + "x") == nullptr);
    BOOST_TEST(policy_matcher::load(rules, "") == nullptr);
    // Hyperscan's own header (magic, version, platform) damaged: deserialising fails as for a
    // database of another version or machine.
    auto header = bytes;
    header[18 + 32 + 8 + 2] ^= 0x01;  // past our tag, digest and length
    BOOST_TEST(policy_matcher::load(rules, header) == nullptr);
    // Rules that change nothing Hyperscan compiles (names, store_alert) load the same bytes.
    auto renamed = rules;
    renamed[0].name = "sudo, renamed";
    auto again = policy_matcher::load(renamed, bytes);
    BOOST_TEST_REQUIRE(again != nullptr);
    BOOST_TEST(fired(*again, {record("command", "sudo id")}) == strings{"sudo, renamed:\\bsudo\\b"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
