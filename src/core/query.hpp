// The query language of `q`, `content` and `filter` (API.md section 5): a parser of the Apache
// Lucene classic query syntax into a syntax tree, and a canonical printer of that tree.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

// The tree is plain data with value semantics (copyable, movable, comparable with ==); it holds
// the text as written, unanalysed: the executor runs the analyzer over terms and phrases.
namespace audex::query {

enum class occur { must, should, must_not };

struct node;
struct clause;

// field "" means the default field(s); inside `field:( ... )` the group's field is filled in.
struct term_query {
    std::string field;
    std::string text;  // unescaped
    bool operator==(const term_query&) const = default;
};

struct phrase_query {
    std::string field;
    std::string text;  // between the quotes, unescaped; may be empty
    unsigned slop = 0;
    bool operator==(const phrase_query&) const = default;
};

// `*` and `?` are wildcards; a literal `*`, `?` or `\` is written with a backslash before it and
// every other character stands for itself. A prefix query `term*` is a wildcard query too. The
// parser never produces a pattern that starts with a wildcard.
struct wildcard_query {
    std::string field;
    std::string pattern;
    bool operator==(const wildcard_query&) const = default;
};

struct fuzzy_query {
    std::string field;
    std::string text;       // unescaped
    unsigned distance = 2;  // maximum edit distance, 0 to 2
    bool operator==(const fuzzy_query&) const = default;
};

// nullopt is an open end (`*`); the parser sets the include flag of an open end to true so that
// `{a TO *}` and `{a TO *]` give the same tree.
struct range_query {
    std::string field;
    std::optional<std::string> lower, upper;
    bool include_lower = true, include_upper = true;
    bool operator==(const range_query&) const = default;
};

struct exists_query {  // _exists_:field
    std::string field;
    bool operator==(const exists_query&) const = default;
};

struct match_all_query {  // *:*
    bool operator==(const match_all_query&) const = default;
};

// The parser never yields an empty boolean, nor one whose only clause is a SHOULD clause (that
// collapses to the clause). A boolean with only MUST_NOT clauses is possible (`NOT a`): what it
// matches is the executor's decision.
struct boolean_query {
    std::vector<clause> clauses;
    bool operator==(const boolean_query&) const;
};

struct node {
    std::variant<term_query, phrase_query, wildcard_query, fuzzy_query, range_query, exists_query,
                 match_all_query, boolean_query>
        value;
    float boost = 1.0f;
    bool operator==(const node&) const;
};

struct clause {
    occur how = occur::should;
    node query;
    bool operator==(const clause&) const = default;
};

struct parse_error {
    std::size_t position;  // 0-based byte offset in the input
    std::string message;   // short, without the position
    bool operator==(const parse_error&) const = default;
};

struct parse_options {
    // Parentheses (plain or `field:(`) nested deeper than this are an error. The parser itself
    // never recurses; the tree it returns is at most about 2 * max_depth + 2 levels deep, which
    // bounds the recursion of to_string() and of the destructor.
    std::size_t max_depth = 100;
    // The most leaf queries (terms, phrases, ranges, ...) in the whole query.
    std::size_t max_clauses = 1024;
};

// Parses `text` (UTF-8, passed through untouched). An empty or all-blank query is an error
// ("empty query" at 0): callers decide what an empty query means.
std::variant<node, parse_error> parse(std::string_view text, const parse_options& options = {});

// The canonical form, in the style of Lucene's Query.toString(): every field explicit, booleans
// as `+a b -c` (nested ones in parentheses), boosts other than 1 as `^2`. Backslashes escape
// exactly what this parser would otherwise read as syntax, so parse(to_string(tree)) gives the
// tree back for every tree that parse() returns.
std::string to_string(const node& n);

}  // namespace audex::query
