// The Hyperscan matcher of the content policies, the card-number detector and the rules' parsing.
#include "ingest/policy_matcher.hpp"

#include <hs.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace audex::ingest {

namespace json = boost::json;

namespace {

// One database per record type, so that a record is scanned once against exactly the rules of
// its event types.
enum class record_kind { command, screen, window_title };

record_kind kind_of(event_type type) {
    switch (type) {
        case event_type::command:
            return record_kind::command;
        case event_type::screen_windowtitle:
            return record_kind::window_title;
        default:
            return record_kind::screen;
    }
}

// Tells matchers apart in the threads' scratch caches.
std::atomic<std::uint64_t> last_matcher_id{0};
std::atomic<std::uint64_t> compile_count{0};

// ^ and $ at every line of a screen; one report per pattern and record is all a rule needs; `.*`
// matches every record, as regex_search would.
constexpr unsigned pattern_flags =
    HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_MULTILINE | HS_FLAG_ALLOWEMPTY;

// The first bytes of serialize()'s output; a new layout or new flags get a new tag, so that a
// store's older bytes are compiled again rather than misread.
constexpr std::string_view serialized_tag = "audex-policy-db/1\n";

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        out += char((v >> (8 * i)) & 0xff);
}

std::optional<std::uint64_t> take_u64(std::string_view& in) {
    if (in.size() < 8) return std::nullopt;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
        v |= std::uint64_t(static_cast<unsigned char>(in[std::size_t(i)])) << (8 * i);
    in.remove_prefix(8);
    return v;
}

// The error of a pattern that Hyperscan refused, as the API answers it.
api_error pattern_error(const policy_rule& rule, bool ignore, std::size_t index,
                        const std::string& reason) {
    auto field = rule.where + (ignore ? ".ignore." : ".match.") + std::to_string(index);
    auto& pattern = (ignore ? rule.ignore : rule.match)[index];
    api_error e =
        api_error::invalid_argument(field, "rule '" + rule.name + "' (" + field + "): pattern '" +
                                               pattern + "' does not compile: " + reason);
    e.details["rule"] = rule.name;
    e.details["pattern"] = pattern;
    return e;
}

api_error past_limit(std::string field, std::string message, std::size_t limit) {
    auto e = api_error::invalid_argument(std::move(field), std::move(message));
    e.details["limit"] = limit;
    return e;
}

// Each thread keeps one scratch area, grown to fit the databases of the matchers it scans with.
// Checking a scratch area against a database costs about as much as scanning a short record, so
// it is done once per matcher and thread.
struct thread_scratch {
    hs_scratch_t* scratch = nullptr;
    std::uint64_t fits = 0;  // the id of the matcher it was last grown for
    ~thread_scratch() { hs_free_scratch(scratch); }
};

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* context) {
    static_cast<std::vector<unsigned>*>(context)->push_back(id);
    return 0;  // go on: the ignore patterns of a rule matter as much as its match patterns
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_letter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

}  // namespace

struct policy_matcher::database {
    struct pattern {
        std::uint32_t rule;   // index into rules_
        std::uint32_t index;  // into the rule's match or ignore list
        bool ignore;
    };
    hs_database_t* db = nullptr;  // null when no rule has a pattern
    std::vector<pattern> patterns;
    std::vector<std::uint32_t> rules;  // ascending; their patterns have ascending ids
    bool card_only = false;  // a card rule without match patterns fires on a card number alone

    ~database() { hs_free_database(db); }
};

std::optional<event_type> parse_event_type(std::string_view name) {
    if (name == "command") return event_type::command;
    if (name == "screen.content") return event_type::screen_content;
    if (name == "screen.windowtitle") return event_type::screen_windowtitle;
    if (name == "screen.creditcard") return event_type::screen_creditcard;
    return std::nullopt;
}

std::string_view event_type_name(event_type type) {
    switch (type) {
        case event_type::command:
            return "command";
        case event_type::screen_content:
            return "screen.content";
        case event_type::screen_windowtitle:
            return "screen.windowtitle";
        case event_type::screen_creditcard:
            return "screen.creditcard";
    }
    return "unknown";
}

std::string alert_type_name(event_type type) {
    return "adp.event." + std::string(event_type_name(type));
}

bool luhn_valid(std::string_view digits) {
    int sum = 0;
    bool twice = false;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        int d = *it - '0';
        if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
        sum += d;
        twice = !twice;
    }
    return !digits.empty() && sum % 10 == 0;
}

bool has_card_number(std::string_view text) {
    const std::size_t n = text.size();
    auto separator_at = [&](std::size_t i) {
        return (text[i] == ' ' || text[i] == '-') && i + 1 < n && is_digit(text[i + 1]);
    };
    std::size_t i = 0;
    while (i < n) {
        if (!is_digit(text[i])) {
            ++i;
            continue;
        }
        // A run: digit groups joined by single spaces or dashes.
        const std::size_t run = i;
        while (i < n && (is_digit(text[i]) || separator_at(i)))
            ++i;
        const std::size_t run_end = i;
        const bool glued_left = run > 0 && is_letter(text[run - 1]);
        const bool glued_right = run_end < n && is_letter(text[run_end]);
        // Every window of whole groups is a candidate: "exp 12 4111 1111 1111 1111" holds a card.
        auto next_group = [&](std::size_t at) {
            while (at < run_end && is_digit(text[at]))
                ++at;
            return at + 1;  // past the separator
        };
        for (std::size_t first = glued_left ? next_group(run) : run; first < run_end;
             first = next_group(first)) {
            char digits[19];
            std::size_t count = 0;
            for (std::size_t j = first;; ++j) {
                if (j == run_end || !is_digit(text[j])) {
                    if (count >= 13 && !(j == run_end && glued_right) &&
                        luhn_valid({digits, count}))
                        return true;
                    if (j == run_end) break;
                    continue;
                }
                if (count == sizeof digits) break;
                digits[count++] = text[j];
            }
        }
    }
    return false;
}

result<std::vector<policy_rule>> rules_of(const json::object& policy) {
    std::vector<policy_rule> out;
    auto rules = policy.find("rules");
    if (rules == policy.end() || !rules->value().is_array()) return out;
    auto strings = [](const json::object& o, std::string_view key) {
        std::vector<std::string> list;
        if (auto it = o.find(key); it != o.end() && it->value().is_array())
            for (auto& v : it->value().get_array())
                if (v.is_string()) list.emplace_back(v.get_string());
        return list;
    };
    for (auto& v : rules->value().get_array()) {
        policy_rule r;
        r.where = "rules." + std::to_string(out.size());
        if (!v.is_object())
            return api_error::invalid_argument(r.where, r.where + ": a rule must be an object");
        auto& o = v.get_object();
        auto name = o.find("name");
        auto type = o.find("event_type");
        auto parsed = type != o.end() && type->value().is_string()
                          ? parse_event_type(type->value().get_string())
                          : std::nullopt;
        if (name == o.end() || !name->value().is_string() || !parsed)
            return api_error::invalid_argument(r.where,
                                               r.where + ": a rule needs a name and an event_type");
        r.name = name->value().get_string();
        r.type = *parsed;
        r.match = strings(o, "match");
        r.ignore = strings(o, "ignore");
        if (auto store = o.find("store_alert"); store != o.end() && store->value().is_bool())
            r.store_alert = store->value().get_bool();
        if (r.match.empty() && r.type != event_type::screen_creditcard)
            return api_error::invalid_argument(
                r.where + ".match",
                "rule '" + r.name + "' (" + r.where + ") needs at least one match pattern");
        out.push_back(std::move(r));
    }
    return out;
}

std::size_t pattern_count(const std::vector<policy_rule>& rules) {
    std::size_t n = 0;
    for (auto& r : rules)
        n += r.match.size() + r.ignore.size();
    return n;
}

result<void> check_rules(const std::vector<policy_rule>& rules) {
    if (rules.size() > max_rules_per_policy)
        return past_limit("rules",
                          "a content policy holds at most " + std::to_string(max_rules_per_policy) +
                              " rules; split it",
                          max_rules_per_policy);
    if (pattern_count(rules) > max_patterns_per_policy)
        return past_limit("rules",
                          "a content policy holds at most " +
                              std::to_string(max_patterns_per_policy) +
                              " patterns (match and ignore); split it",
                          max_patterns_per_policy);
    for (auto& rule : rules)
        for (bool ignore : {false, true}) {
            auto& list = ignore ? rule.ignore : rule.match;
            for (std::size_t i = 0; i < list.size(); ++i) {
                auto field = rule.where + (ignore ? ".ignore." : ".match.") + std::to_string(i);
                if (list[i].size() > max_pattern_bytes) {
                    auto e = past_limit(field,
                                        "rule '" + rule.name + "' (" + field +
                                            "): a pattern holds at most " +
                                            std::to_string(max_pattern_bytes) + " bytes",
                                        max_pattern_bytes);
                    e.details["rule"] = rule.name;
                    return e;
                }
                hs_expr_info_t* info = nullptr;
                hs_compile_error_t* error = nullptr;
                if (hs_expression_info(list[i].c_str(), pattern_flags, &info, &error) !=
                    HS_SUCCESS) {
                    std::string reason = error ? error->message : "unknown error";
                    hs_free_compile_error(error);
                    return pattern_error(rule, ignore, i, reason);
                }
                std::free(info);
            }
        }
    return {};
}

std::shared_ptr<policy_matcher> policy_matcher::laid_out(std::vector<policy_rule> rules,
                                                         std::uint64_t generation) {
    std::shared_ptr<policy_matcher> m(new policy_matcher());
    m->rules_ = std::move(rules);
    m->generation_ = generation;
    m->id_ = ++last_matcher_id;
    for (auto kind : {record_kind::command, record_kind::screen, record_kind::window_title}) {
        auto db = std::make_unique<database>();
        for (std::uint32_t r = 0; r < m->rules_.size(); ++r) {
            auto& rule = m->rules_[r];
            if (kind_of(rule.type) != kind) continue;
            db->rules.push_back(r);
            if (rule.type == event_type::screen_creditcard && rule.match.empty() &&
                rule.store_alert)
                db->card_only = true;
            for (bool ignore : {false, true}) {
                auto& list = ignore ? rule.ignore : rule.match;
                for (std::uint32_t i = 0; i < list.size(); ++i)
                    db->patterns.push_back({r, i, ignore});
            }
        }
        (kind == record_kind::command  ? m->command_
         : kind == record_kind::screen ? m->screen_
                                       : m->window_title_) = std::move(db);
    }
    return m;
}

result<std::shared_ptr<const policy_matcher>> policy_matcher::compile(
    std::vector<policy_rule> rules, std::uint64_t generation) {
    auto m = laid_out(std::move(rules), generation);
    ++compile_count;
    for (auto* db : {m->command_.get(), m->screen_.get(), m->window_title_.get()}) {
        if (db->patterns.empty()) continue;
        std::vector<const char*> expressions;
        std::vector<unsigned> flags, ids;
        for (auto& p : db->patterns) {
            auto& rule = m->rules_[p.rule];
            ids.push_back(unsigned(expressions.size()));
            expressions.push_back((p.ignore ? rule.ignore : rule.match)[p.index].c_str());
            flags.push_back(pattern_flags);
        }
        hs_compile_error_t* error = nullptr;
        if (hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                             unsigned(expressions.size()), HS_MODE_BLOCK, nullptr, &db->db,
                             &error) != HS_SUCCESS) {
            std::string reason = error ? error->message : "unknown error";
            int at = error ? error->expression : -1;
            hs_free_compile_error(error);
            if (at < 0 || std::size_t(at) >= db->patterns.size())
                return api_error::invalid_argument(
                    "rules", "the content policies do not compile: " + reason);
            auto& p = db->patterns[std::size_t(at)];
            return pattern_error(m->rules_[p.rule], p.ignore, p.index, reason);
        }
    }
    return std::shared_ptr<const policy_matcher>(std::move(m));
}

std::uint64_t policy_matcher::compilations() {
    return compile_count.load();
}

std::string policy_matcher::digest() const {
    std::string text(serialized_tag);
    put_u64(text, pattern_flags);
    for (auto* db : {command_.get(), screen_.get(), window_title_.get()}) {
        put_u64(text, db->patterns.size());
        for (auto& p : db->patterns) {
            auto& pattern = (p.ignore ? rules_[p.rule].ignore : rules_[p.rule].match)[p.index];
            put_u64(text, pattern.size());
            text += pattern;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned length = 0;
    if (EVP_Digest(text.data(), text.size(), md, &length, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 of the content policies failed");
    return std::string(reinterpret_cast<const char*>(md), length);
}

std::string policy_matcher::serialize() const {
    std::string out(serialized_tag);
    out += digest();
    for (auto* db : {command_.get(), screen_.get(), window_title_.get()}) {
        if (!db->db) {
            put_u64(out, 0);
            continue;
        }
        char* bytes = nullptr;
        std::size_t length = 0;
        if (hs_serialize_database(db->db, &bytes, &length) != HS_SUCCESS)
            throw std::runtime_error("hyperscan could not serialise the content policies");
        put_u64(out, length);
        out.append(bytes, length);
        std::free(bytes);
    }
    return out;
}

std::shared_ptr<const policy_matcher> policy_matcher::load(std::vector<policy_rule> rules,
                                                           std::string_view bytes,
                                                           std::uint64_t generation) {
    auto m = laid_out(std::move(rules), generation);
    if (!bytes.starts_with(serialized_tag)) return nullptr;
    bytes.remove_prefix(serialized_tag.size());
    auto digest = m->digest();
    if (!bytes.starts_with(digest)) return nullptr;
    bytes.remove_prefix(digest.size());
    for (auto* db : {m->command_.get(), m->screen_.get(), m->window_title_.get()}) {
        auto length = take_u64(bytes);
        if (!length || *length > bytes.size() || (*length == 0) != db->patterns.empty())
            return nullptr;
        if (*length == 0) continue;
        // Fails on bytes of another Hyperscan version (HS_DB_VERSION_ERROR) or of a machine with
        // other instructions (HS_DB_PLATFORM_ERROR), as on damaged ones.
        if (hs_deserialize_database(bytes.data(), std::size_t(*length), &db->db) != HS_SUCCESS)
            return nullptr;
        bytes.remove_prefix(std::size_t(*length));
    }
    if (!bytes.empty()) return nullptr;
    return m;
}

policy_matcher::~policy_matcher() = default;

std::vector<alert> policy_matcher::match(const std::vector<index::content_record>& records) const {
    thread_local thread_scratch local;
    if (local.fits != id_) {
        for (auto* db : {command_.get(), screen_.get(), window_title_.get()})
            if (db->db && hs_alloc_scratch(db->db, &local.scratch) != HS_SUCCESS)
                throw std::bad_alloc();
        local.fits = id_;
    }
    std::vector<alert> out;
    std::vector<unsigned> hits;
    for (auto& record : records) {
        const database* db = record.type == "command"  ? command_.get()
                             : record.type == "screen" ? screen_.get()
                                                       : window_title_.get();
        if (!db || db->rules.empty()) continue;
        hits.clear();
        if (db->db && hs_scan(db->db, record.text.data(), unsigned(record.text.size()), 0,
                              local.scratch, on_match, &hits) != HS_SUCCESS)
            throw std::runtime_error("hyperscan could not scan a content record");
        if (hits.empty() && !db->card_only) continue;
        std::sort(hits.begin(), hits.end());
        std::optional<bool> card;  // looked for once, when a card rule needs it
        auto h = hits.begin();
        for (auto r : db->rules) {
            const std::string* matched = nullptr;  // the first match pattern of the rule that hit
            bool ignored = false;
            for (; h != hits.end() && db->patterns[*h].rule == r; ++h) {
                auto& p = db->patterns[*h];
                if (p.ignore)
                    ignored = true;
                else if (!matched)
                    matched = &rules_[r].match[p.index];
            }
            auto& rule = rules_[r];
            if (ignored || !rule.store_alert) continue;
            std::string_view pattern;
            if (rule.type == event_type::screen_creditcard) {
                if (!matched && !rule.match.empty()) continue;
                if (!card) card = has_card_number(record.text);
                if (!*card) continue;
                pattern = matched ? std::string_view(*matched) : card_number_pattern;
            } else if (matched) {
                pattern = *matched;
            } else {
                continue;
            }
            alert a;
            a.session = record.session;
            a.channel = record.channel;
            a.type = rule.type;
            a.rule_name = rule.name;
            a.matched_regexp = pattern;
            a.matched_content = record.text;
            if (auto begin = record.record_id.find("begin");
                begin != record.record_id.end() && begin->value().is_int64())
                a.record_id = begin->value().get_int64();
            a.time = record.start;
            out.push_back(std::move(a));
        }
    }
    return out;
}

}  // namespace audex::ingest
