// Content policies compiled into one Hyperscan matcher: every ingested content record is scanned
// once against the rules of its event types, and the rules that fire become alerts.
#pragma once

#include "audex/error.hpp"
#include "core/time.hpp"
#include "index/content_index.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace audex::ingest {

enum class event_type { command, screen_content, screen_windowtitle, screen_creditcard };

// "command", "screen.content", ... as in a policy's rules; nullopt for anything else.
std::optional<event_type> parse_event_type(std::string_view name);
std::string_view event_type_name(event_type type);
// "adp.event.command", "adp.event.screen.content", ...: an alert's psm.alerts.alert_type.
std::string alert_type_name(event_type type);

struct policy_rule {
    std::string name;
    event_type type = event_type::command;
    std::vector<std::string> match, ignore;  // regular expressions
    bool store_alert = true;
    std::string where;  // the rule's place in its policy, "rules.2", for errors
};

struct alert {
    std::uint64_t session = 0;
    std::int64_t channel = 0;
    event_type type = event_type::command;
    std::string rule_name;
    std::string matched_regexp;             // the match pattern that fired, or card_number_pattern
    std::string matched_content;            // the whole record text
    std::optional<std::int64_t> record_id;  // the record's record_id.begin
    micros time = 0;                        // the record's start time
};

// What matched_regexp says when a screen.creditcard rule without match patterns finds a card.
inline constexpr std::string_view card_number_pattern = R"(\d(?:[ -]?\d){12,18})";

// Whether `text` shows a payment card number: 13 to 19 digits, in groups joined by single spaces
// or dashes, that pass the Luhn check. The number starts and ends at whole digit groups and is
// not glued to letters.
bool has_card_number(std::string_view text);
bool luhn_valid(std::string_view digits);

// The rules of one stored content_policy object. InvalidArgument when a rule has no match pattern
// though its event type needs one.
result<std::vector<policy_rule>> rules_of(const boost::json::object& policy);

// Limits of what a policy write may ask Hyperscan to compile: its compile time grows with the
// number and the size of the patterns (a 150-pattern policy took 26 s), and every start without a
// stored database pays it again. Patterns count `match` and `ignore` alike.
inline constexpr std::size_t max_pattern_bytes = 1024;       // one pattern
inline constexpr std::size_t max_rules_per_policy = 256;     // rules of one policy
inline constexpr std::size_t max_patterns_per_policy = 256;  // patterns of one policy
inline constexpr std::size_t max_patterns = 4096;            // patterns of all live policies

std::size_t pattern_count(const std::vector<policy_rule>& rules);

// Whether a policy's rules keep to the limits of one policy, and each of their patterns parses on
// its own (hs_expression_info: Hyperscan's parser and pattern graph, without building a database,
// so that it may run while the writer is held). InvalidArgument with details.field as compile()
// gives it for a pattern, and details.limit for a limit passed.
result<void> check_rules(const std::vector<policy_rule>& rules);

class policy_matcher {
  public:
    // Compiles the rules; InvalidArgument naming the rule and the pattern when one does not
    // compile (details: field, rule, pattern).
    static result<std::shared_ptr<const policy_matcher>> compile(std::vector<policy_rule> rules,
                                                                 std::uint64_t generation = 0);
    // A matcher of `rules` from the bytes of serialize(), without compiling: nullopt when the bytes
    // were made from other rules, by another Hyperscan version or for another platform, or are
    // damaged; the caller compiles then.
    static std::shared_ptr<const policy_matcher> load(std::vector<policy_rule> rules,
                                                      std::string_view bytes,
                                                      std::uint64_t generation = 0);
    // The compiled databases (hs_serialize_database), tagged with a digest of the patterns they
    // hold, for load().
    std::string serialize() const;
    // How many times this process has compiled rules into databases: a start that loads a stored
    // matcher compiles nothing.
    static std::uint64_t compilations();

    ~policy_matcher();
    policy_matcher(const policy_matcher&) = delete;
    policy_matcher& operator=(const policy_matcher&) = delete;

    // The alerts of the records: one per record and firing rule that stores alerts, in record
    // order. A rule fires when one of its match patterns matches the record's text and none of its
    // ignore patterns does; a screen.creditcard rule needs a card number besides, and without
    // match patterns the card number alone suffices. Thread-safe.
    std::vector<alert> match(const std::vector<index::content_record>& records) const;

    // The store's policy generation that the matcher was built from.
    std::uint64_t generation() const { return generation_; }
    std::size_t rule_count() const { return rules_.size(); }

  private:
    struct database;
    policy_matcher() = default;
    // The matcher's rules laid out in one database per record kind, without Hyperscan databases.
    static std::shared_ptr<policy_matcher> laid_out(std::vector<policy_rule> rules,
                                                    std::uint64_t generation);
    // SHA-256 of what the databases are compiled from: the patterns, their record kinds and ids.
    std::string digest() const;

    std::vector<policy_rule> rules_;
    std::unique_ptr<database> command_, screen_, window_title_;
    std::uint64_t generation_ = 0;
    std::uint64_t id_ = 0;  // unique per compiled matcher
};

}  // namespace audex::ingest
