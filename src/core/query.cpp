// The Lucene classic query parser and the canonical printer (see query.hpp). The parser keeps its
// own stack of open groups instead of recursing, so no input can exhaust the call stack.
#include "core/query.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace audex::query {

bool boolean_query::operator==(const boolean_query& other) const {
    return clauses == other.clauses;
}

bool node::operator==(const node& other) const {
    return boost == other.boost && value == other.value;
}

namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr unsigned max_slop = 1'000'000;
constexpr std::string_view exists_field = "_exists_";

constexpr bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Characters that end a bare word wherever they appear in it (unless escaped).
constexpr bool is_break(char c) {
    return is_space(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '"' || c == '^' || c == '~';
}

constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Drops the backslash of every escape pair; the caller has checked that no backslash is last.
std::string unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
        out += raw[i];
    }
    return out;
}

// Offset in `raw` of the first unescaped `*` or `?`, or npos.
std::size_t find_wildcard(std::string_view raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\') {
            ++i;
        } else if (raw[i] == '*' || raw[i] == '?') {
            return i;
        }
    }
    return npos;
}

// The wildcard_query form of a raw word: escapes kept only where they mark a literal * ? or \.
std::string to_pattern(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\\' && i + 1 < raw.size()) {
            char next = raw[++i];
            if (next == '*' || next == '?' || next == '\\') out += '\\';
            out += next;
        } else {
            out += raw[i];
        }
    }
    return out;
}

std::string quote(std::string_view name) {
    std::string out = "'";
    out += name;
    out += '\'';
    return out;
}

struct failure {
    parse_error error;
};

[[noreturn]] void fail(std::size_t position, std::string message) {
    throw failure{{position, std::move(message)}};
}

// What an operand is, for the suffixes (`^`, `~`) it may take.
enum class operand_kind { term, phrase, wildcard, range, exists, match_all, group };

class parser {
  public:
    parser(std::string_view text, const parse_options& options) : text_(text), options_(options) {}

    node run() {
        stack_.emplace_back();
        for (;;) {
            skip_spaces();
            if (at_end()) break;
            step();
        }
        if (stack_.size() > 1) fail(stack_.back().open, "unclosed '('");
        return finish(stack_.back());
    }

  private:
    // One level of parentheses. OR (and adjacency) collects `clauses`; AND chains collect in
    // `chain` first, which becomes a single clause of the OR level when the chain ends.
    struct frame {
        std::size_t open = npos;  // position of the '(' (npos for the whole query)
        std::string field;        // the default field inside the group
        std::vector<clause> clauses;
        std::vector<clause> chain;
        bool chain_has_and = false;
        bool has_modifier = false;
        occur modifier = occur::should;
        std::size_t modifier_pos = 0;
        std::string_view modifier_name;
        bool has_conjunction = false;
        bool conjunction_is_and = false;
        std::size_t conjunction_pos = 0;
        std::string_view conjunction_name;
    };

    bool at_end() const { return pos_ >= text_.size(); }
    char peek(std::size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }
    bool has(std::size_t ahead) const { return pos_ + ahead < text_.size(); }
    void skip_spaces() {
        while (!at_end() && is_space(text_[pos_]))
            ++pos_;
    }
    // True where a word or number may end: nothing that would continue it follows.
    bool at_delimiter() const { return at_end() || is_break(text_[pos_]); }

    frame& top() { return stack_.back(); }

    // Parses one token at the current (non-blank) position.
    void step() {
        const std::size_t start = pos_;
        const char c = text_[pos_];
        switch (c) {
            case '(':
                open_group(start, top().field);
                ++pos_;
                return;
            case ')': {
                if (stack_.size() == 1) fail(start, "unmatched ')'");
                node group = finish(top());
                stack_.pop_back();
                ++pos_;
                suffixes(group, operand_kind::group);
                add_operand(std::move(group));
                return;
            }
            case '"':
                add_operand(phrase(top().field));
                return;
            case '[':
            case '{':
                add_operand(range(top().field));
                return;
            case ']':
            case '}':
            case '^':
            case '~':
                fail(start, "unexpected " + quote(std::string_view(&text_[start], 1)));
            case '+':
            case '-':
            case '!':
                if (!has(1)) fail(start, "missing operand after " + quote(text_.substr(start, 1)));
                if (is_space(peek(1))) {
                    // Lucene's "bare operator": followed by a blank, it is an ordinary term.
                    ++pos_;
                    count_leaf(start);
                    add_operand(make_term(top().field, std::string(1, c)));
                    return;
                }
                set_modifier(c == '+' ? occur::must : occur::must_not, start,
                             text_.substr(start, 1));
                ++pos_;
                return;
            case '&':
            case '|':
                if (peek(1) == c) {
                    set_conjunction(c == '&', start, text_.substr(start, 2));
                    pos_ += 2;
                    return;
                }
                break;
            default:
                break;
        }
        word();
    }

    void open_group(std::size_t position, std::string field) {
        if (stack_.size() - 1 >= options_.max_depth) {
            fail(position,
                 "query nested more than " + std::to_string(options_.max_depth) + " levels deep");
        }
        frame f;
        f.open = position;
        f.field = std::move(field);
        stack_.push_back(std::move(f));
    }

    void set_modifier(occur how, std::size_t position, std::string_view name) {
        frame& f = top();
        if (f.has_modifier) fail(f.modifier_pos, "missing operand after " + quote(f.modifier_name));
        f.has_modifier = true;
        f.modifier = how;
        f.modifier_pos = position;
        f.modifier_name = name;
    }

    void set_conjunction(bool is_and, std::size_t position, std::string_view name) {
        frame& f = top();
        if (f.has_modifier) fail(f.modifier_pos, "missing operand after " + quote(f.modifier_name));
        if (f.has_conjunction) {
            fail(f.conjunction_pos, "missing operand after " + quote(f.conjunction_name));
        }
        if (f.clauses.empty() && f.chain.empty()) {
            fail(position, "missing operand before " + quote(name));
        }
        f.has_conjunction = true;
        f.conjunction_is_and = is_and;
        f.conjunction_pos = position;
        f.conjunction_name = name;
    }

    void add_operand(node n) {
        frame& f = top();
        clause c{f.has_modifier ? f.modifier : occur::should, std::move(n)};
        if (f.has_conjunction && f.conjunction_is_and) {
            f.chain_has_and = true;
        } else {
            flush_chain(f);
        }
        f.chain.push_back(std::move(c));
        f.has_modifier = false;
        f.has_conjunction = false;
    }

    static void flush_chain(frame& f) {
        if (f.chain.empty()) return;
        if (!f.chain_has_and) {
            for (clause& c : f.chain)
                f.clauses.push_back(std::move(c));
        } else {
            boolean_query conjunction;
            conjunction.clauses.reserve(f.chain.size());
            for (clause& c : f.chain) {
                if (c.how == occur::should) c.how = occur::must;
                conjunction.clauses.push_back(std::move(c));
            }
            f.clauses.push_back({occur::should, node{std::move(conjunction)}});
        }
        f.chain.clear();
        f.chain_has_and = false;
    }

    node finish(frame& f) {
        if (f.has_modifier) fail(f.modifier_pos, "missing operand after " + quote(f.modifier_name));
        if (f.has_conjunction) {
            fail(f.conjunction_pos, "missing operand after " + quote(f.conjunction_name));
        }
        flush_chain(f);
        if (f.clauses.empty()) {
            if (f.open == npos) fail(0, "empty query");
            fail(f.open, "empty group");
        }
        if (f.clauses.size() == 1 && f.clauses.front().how == occur::should) {
            return std::move(f.clauses.front().query);
        }
        return node{boolean_query{std::move(f.clauses)}};
    }

    void count_leaf(std::size_t position) {
        if (++leaves_ > options_.max_clauses) {
            fail(position,
                 "too many clauses (the limit is " + std::to_string(options_.max_clauses) + ")");
        }
    }

    // A bare word: an operator keyword, `field:`-something, or a term-like value.
    void word() {
        const std::size_t start = pos_;
        std::size_t colon = npos;
        scan_word(colon);
        const std::string_view raw = text_.substr(start, pos_ - start);
        if (colon == npos) {
            if (raw == "AND" || raw == "OR") {
                set_conjunction(raw == "AND", start, raw);
            } else if (raw == "NOT") {
                set_modifier(occur::must_not, start, raw);
            } else {
                add_operand(value(top().field, raw, start));
            }
            return;
        }
        const std::string_view field_raw = text_.substr(start, colon - start);
        const std::string_view value_raw = text_.substr(colon + 1, pos_ - colon - 1);
        if (field_raw.empty()) fail(colon, "empty field name");
        if (field_raw == "*") {
            if (value_raw != "*") fail(start, "'*' is a field name only in *:*");
            count_leaf(start);
            node all{match_all_query{}};
            suffixes(all, operand_kind::match_all);
            add_operand(std::move(all));
            return;
        }
        if (find_wildcard(field_raw) != npos)
            fail(start, "wildcards are not allowed in field names");
        std::string field = unescape(field_raw);
        if (!value_raw.empty()) {
            add_operand(value(field, value_raw, colon + 1));
            return;
        }
        // Lucene allows blanks between the colon and the value.
        skip_spaces();
        const std::string missing = "missing value after " + quote(std::string(field_raw) + ":");
        if (at_end()) fail(colon, missing);
        switch (peek()) {
            case '(':
                open_group(pos_, std::move(field));
                ++pos_;
                return;
            case '"':
                add_operand(phrase(field));
                return;
            case '[':
            case '{':
                add_operand(range(field));
                return;
            default:
                if (is_break(peek())) fail(colon, missing);
                break;
        }
        const std::size_t value_start = pos_;
        std::size_t ignored = npos;
        scan_word(ignored);
        add_operand(value(field, text_.substr(value_start, pos_ - value_start), value_start));
    }

    // Advances over a bare word; `colon` gets the position of its first unescaped ':'.
    void scan_word(std::size_t& colon) {
        while (!at_end() && !is_break(text_[pos_])) {
            if (text_[pos_] == '\\') {
                if (!has(1)) fail(pos_, "trailing backslash");
                pos_ += 2;
                continue;
            }
            if (text_[pos_] == ':' && colon == npos) colon = pos_;
            ++pos_;
        }
    }

    static node make_term(const std::string& field, std::string text) {
        if (field == exists_field) return node{exists_query{std::move(text)}};
        return node{term_query{field, std::move(text)}};
    }

    // A term, wildcard, comparison (`>=5`) or `_exists_` target; `raw` is not empty.
    node value(const std::string& field, std::string_view raw, std::size_t start) {
        if (raw.front() == '<' || raw.front() == '>') return comparison(field, raw, start);
        const std::size_t wildcard = find_wildcard(raw);
        if (wildcard == 0) fail(start, "leading wildcard");
        count_leaf(start);
        if (wildcard != npos) {
            if (field == exists_field) fail(start, "_exists_ takes a field name");
            node n{wildcard_query{field, to_pattern(raw)}};
            suffixes(n, operand_kind::wildcard);
            return n;
        }
        node n = make_term(field, unescape(raw));
        suffixes(n, field == exists_field ? operand_kind::exists : operand_kind::term);
        return n;
    }

    // `field:>=x`, `field:<x`, ...: a range with one open end.
    node comparison(const std::string& field, std::string_view raw, std::size_t start) {
        const bool greater = raw.front() == '>';
        const std::size_t length = raw.size() > 1 && raw[1] == '=' ? 2 : 1;
        const bool inclusive = length == 2;
        const std::string_view bound_raw = raw.substr(length);
        if (field == exists_field) fail(start, "_exists_ takes a field name");
        std::optional<std::string> bound;
        if (bound_raw.empty()) {
            if (peek() != '"') fail(start, "missing value after " + quote(raw.substr(0, length)));
            bound = quoted();
        } else if (bound_raw != "*") {
            bound = unescape(bound_raw);
        }
        count_leaf(start);
        range_query r{field, std::nullopt, std::nullopt, true, true};
        if (greater) {
            r.lower = std::move(bound);
            r.include_lower = inclusive || !r.lower;
        } else {
            r.upper = std::move(bound);
            r.include_upper = inclusive || !r.upper;
        }
        node n{std::move(r)};
        suffixes(n, operand_kind::range);
        return n;
    }

    // The text of a quoted string at the current '"', unescaped; leaves pos_ after the closing '"'.
    std::string quoted() {
        const std::size_t open = pos_++;
        std::string out;
        for (;;) {
            if (at_end()) fail(open, "unclosed quote");
            char c = text_[pos_];
            if (c == '"') break;
            if (c == '\\') {
                if (!has(1)) fail(open, "unclosed quote");
                c = text_[++pos_];
            }
            out += c;
            ++pos_;
        }
        ++pos_;
        return out;
    }

    node phrase(const std::string& field) {
        const std::size_t open = pos_;
        if (field == exists_field) fail(open, "_exists_ takes a field name");
        std::string text = quoted();
        count_leaf(open);
        node n{phrase_query{field, std::move(text), 0}};
        suffixes(n, operand_kind::phrase);
        return n;
    }

    // One bound of a bracketed range: quoted, `*` (open) or a run of characters up to a blank,
    // ']' or '}'. `quoted_bound` tells a quoted "TO" or "*" from the bare ones.
    std::optional<std::string> range_bound(std::size_t open, bool& quoted_bound) {
        skip_spaces();
        if (at_end()) fail(open, "unclosed range");
        quoted_bound = false;
        if (peek() == ']' || peek() == '}') fail(pos_, "missing range bound");
        if (peek() == '"') {
            quoted_bound = true;
            return quoted();
        }
        const std::size_t start = pos_;
        while (!at_end() && !is_space(peek()) && peek() != ']' && peek() != '}') {
            if (peek() == '\\') {
                if (!has(1)) fail(pos_, "trailing backslash");
                ++pos_;
            }
            ++pos_;
        }
        const std::string_view raw = text_.substr(start, pos_ - start);
        if (raw == "*") return std::nullopt;
        return unescape(raw);
    }

    node range(const std::string& field) {
        const std::size_t open = pos_;
        if (field == exists_field) fail(open, "_exists_ takes a field name");
        const bool include_lower = peek() == '[';
        ++pos_;
        bool quoted_bound = false;
        std::optional<std::string> lower = range_bound(open, quoted_bound);
        skip_spaces();
        if (at_end()) fail(open, "unclosed range");
        const std::size_t to = pos_;
        bool quoted_to = false;
        std::optional<std::string> to_word;
        if (peek() != ']' && peek() != '}') to_word = range_bound(open, quoted_to);
        if (quoted_to || to_word != "TO") fail(to, "expected 'TO' in range");
        std::optional<std::string> upper = range_bound(open, quoted_bound);
        skip_spaces();
        if (at_end()) fail(open, "unclosed range");
        if (peek() != ']' && peek() != '}') fail(pos_, "expected ']' or '}' to close the range");
        const bool include_upper = peek() == ']';
        ++pos_;
        count_leaf(open);
        range_query r{field, std::move(lower), std::move(upper), include_lower, include_upper};
        if (!r.lower) r.include_lower = true;
        if (!r.upper) r.include_upper = true;
        node n{std::move(r)};
        suffixes(n, operand_kind::range);
        return n;
    }

    // `^boost` and `~number` after an operand, in either order, each at most once.
    void suffixes(node& n, operand_kind kind) {
        bool boosted = false;
        bool tilde = false;
        for (;;) {
            const std::size_t save = pos_;
            skip_spaces();
            if (at_end() || (peek() != '^' && peek() != '~')) {
                pos_ = save;
                return;
            }
            const std::size_t at = pos_++;
            if (text_[at] == '^') {
                if (boosted) fail(at, "duplicate boost");
                boosted = true;
                apply_boost(n, at);
            } else {
                if (tilde) fail(at, "duplicate '~'");
                tilde = true;
                apply_tilde(n, kind, at);
            }
        }
    }

    void apply_boost(node& n, std::size_t at) {
        const std::size_t start = pos_;
        while (is_digit(peek()))
            ++pos_;
        if (pos_ > start && peek() == '.' && is_digit(peek(1))) {
            ++pos_;
            while (is_digit(peek()))
                ++pos_;
        }
        if (pos_ == start || !at_delimiter()) fail(at, "expected a number after '^'");
        float boost = 0;
        const auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, boost);
        (void)end;
        const float product = n.boost * boost;
        if (ec != std::errc() || !std::isfinite(product)) fail(at, "boost too large");
        n.boost = product;
    }

    void apply_tilde(node& n, operand_kind kind, std::size_t at) {
        if (kind != operand_kind::term && kind != operand_kind::phrase) {
            static constexpr std::string_view what[] = {
                "a term", "a phrase", "a wildcard term", "a range", "_exists_", "*:*", "a group"};
            fail(at, "'~' cannot follow " + std::string(what[static_cast<int>(kind)]));
        }
        const std::size_t start = pos_;
        while (is_digit(peek()) && pos_ - start < 9)
            ++pos_;  // 9 digits fit in unsigned
        const std::string_view digits = text_.substr(start, pos_ - start);
        unsigned number = 0;
        for (char d : digits)
            number = number * 10 + static_cast<unsigned>(d - '0');
        if (kind == operand_kind::term) {
            if (digits.empty()) {
                number = 2;
            } else if (number > 2 || peek() == '.' || is_digit(peek())) {
                fail(at, "fuzzy distance must be 0, 1 or 2");
            }
            if (!at_delimiter()) fail(at, "expected a number after '~'");
            auto& term = std::get<term_query>(n.value);
            n.value = fuzzy_query{std::move(term.field), std::move(term.text), number};
            return;
        }
        if (digits.empty()) fail(at, "expected a number after '~'");
        if (peek() == '.') fail(at, "proximity must be a whole number");
        if (number > max_slop || is_digit(peek())) {
            fail(at, "proximity too large (the limit is " + std::to_string(max_slop) + ")");
        }
        if (!at_delimiter()) fail(at, "expected a number after '~'");
        std::get<phrase_query>(n.value).slop = number;
    }

    std::string_view text_;
    parse_options options_;
    std::size_t pos_ = 0;
    std::size_t leaves_ = 0;
    std::vector<frame> stack_;
};

// ---- printing

// Escapes what the parser would read as syntax. `fielded`: the text follows `field:` in the same
// word, where colons, keywords and the clause operators are literal.
void append_text(std::string& out, std::string_view text, bool fielded, bool pattern = false) {
    if (!fielded && (text == "AND" || text == "OR" || text == "NOT")) out += '\\';
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (pattern && c == '\\' && i + 1 < text.size()) {
            out += c;
            out += text[++i];
            continue;
        }
        if (pattern && (c == '*' || c == '?')) {
            out += c;
            continue;
        }
        bool escape = is_break(c) || c == '\\' || c == '*' || c == '?' || (!fielded && c == ':');
        if (i == 0) {
            escape = escape || c == '<' || c == '>';
            if (!fielded) {
                escape = escape || c == '+' || c == '-' || c == '!' ||
                         ((c == '&' || c == '|') && text.size() > 1 && text[1] == c);
            }
        }
        if (escape) out += '\\';
        out += c;
    }
}

void append_field(std::string& out, const std::string& field) {
    if (field.empty()) return;
    append_text(out, field, false);
    out += ':';
}

void append_quoted(std::string& out, std::string_view text) {
    out += '"';
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void append_bound(std::string& out, const std::optional<std::string>& bound) {
    if (!bound) {
        out += '*';
        return;
    }
    bool plain = !bound->empty() && *bound != "*" && *bound != "TO";
    for (char c : *bound) {
        if (is_space(c) || c == ']' || c == '}' || c == '"' || c == '\\') plain = false;
    }
    if (plain) {
        out += *bound;
    } else {
        append_quoted(out, *bound);
    }
}

void append_boost(std::string& out, float boost) {
    if (boost == 1.0f) return;
    // Fixed notation: the parser reads no exponents. 64 characters hold any finite float.
    char buffer[64];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, boost, std::chars_format::fixed);
    out += '^';
    out.append(buffer, result.ptr);
}

void append_node(std::string& out, const node& n, bool nested);

struct printer {
    std::string& out;
    bool nested;
    float boost;

    void operator()(const term_query& q) const {
        append_field(out, q.field);
        append_text(out, q.text, !q.field.empty());
    }
    void operator()(const phrase_query& q) const {
        append_field(out, q.field);
        append_quoted(out, q.text);
        if (q.slop > 0) out += "~" + std::to_string(q.slop);
    }
    void operator()(const wildcard_query& q) const {
        append_field(out, q.field);
        append_text(out, q.pattern, !q.field.empty(), true);
    }
    void operator()(const fuzzy_query& q) const {
        append_field(out, q.field);
        append_text(out, q.text, !q.field.empty());
        out += "~" + std::to_string(q.distance);
    }
    void operator()(const range_query& q) const {
        append_field(out, q.field);
        out += q.include_lower ? '[' : '{';
        append_bound(out, q.lower);
        out += " TO ";
        append_bound(out, q.upper);
        out += q.include_upper ? ']' : '}';
    }
    void operator()(const exists_query& q) const {
        out += exists_field;
        out += ':';
        append_text(out, q.field, true);
    }
    void operator()(const match_all_query&) const { out += "*:*"; }
    void operator()(const boolean_query& q) const {
        const bool parenthesize = nested || boost != 1.0f;
        if (parenthesize) out += '(';
        bool first = true;
        for (const clause& c : q.clauses) {
            if (!first) out += ' ';
            first = false;
            if (c.how == occur::must) out += '+';
            if (c.how == occur::must_not) out += '-';
            append_node(out, c.query, true);
        }
        if (parenthesize) out += ')';
    }
};

void append_node(std::string& out, const node& n, bool nested) {
    std::visit(printer{out, nested, n.boost}, n.value);
    append_boost(out, n.boost);
}

}  // namespace

std::variant<node, parse_error> parse(std::string_view text, const parse_options& options) {
    try {
        return parser(text, options).run();
    } catch (failure& f) {
        return std::move(f.error);
    }
}

std::string to_string(const node& n) {
    std::string out;
    append_node(out, n, false);
    return out;
}

}  // namespace audex::query
