// Tests of the query parser: tables of queries with their canonical trees and of malformed queries
// with the position of their error, plus nesting, clause limits, round trips and a small fuzzer.
#include "core/query.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <string_view>

namespace q = audex::query;

namespace {

struct valid_case {
    std::string_view input;
    std::string_view canonical;
};

// Lucene-style canonical trees (to_string), one line per syntax feature.
constexpr valid_case valid_cases[] = {
    // terms and fields
    {"a", "a"},
    {"field:term", "field:term"},
    {"user.name:bob", "user.name:bob"},
    {"psm.content_reference_id:42", "psm.content_reference_id:42"},
    {"f: value", "f:value"},
    {"a:b:c", "a:b:c"},
    {"started_at:2022-04-01T10:00:00", "started_at:2022-04-01T10:00:00"},
    {"10.0.0.1", "10.0.0.1"},
    {"client.ip:10.0.0.1", "client.ip:10.0.0.1"},
    {"nginx-1.2", "nginx-1.2"},
    {"2022-04-01", "2022-04-01"},
    {"a&&b AT&T x||y", "a&&b AT&T x||y"},
    {"caf\xc3\xa9 AND \xe6\x97\xa5\xe6\x9c\xac", "+caf\xc3\xa9 +\xe6\x97\xa5\xe6\x9c\xac"},
    {"and or not", "and or not"},
    {"f:AND", "f:AND"},
    {"f:-5", "f:-5"},
    // escapes
    {"\\/etc\\/shadow", "/etc/shadow"},
    {"\\(a\\)", "\\(a\\)"},
    {"a\\:b", "a\\:b"},
    {"f:a\\ b", "f:a\\ b"},
    {"a\\\\b", "a\\\\b"},
    {"\\AND", "\\AND"},
    {"\\-5", "\\-5"},
    {"\\+a \\!b \\&&c", "\\+a \\!b \\&&c"},
    {"f:\\>5", "f:\\>5"},
    {"te\\*m", "te\\*m"},
    {"a\\^2 b\\~ \\\"c\\\" \\[d\\] \\{e\\}", "a\\^2 b\\~ \\\"c\\\" \\[d\\] \\{e\\}"},
    // phrases
    {"\"a b\"", "\"a b\""},
    {"field:\"a b\"", "field:\"a b\""},
    {"f: \"a b\"", "f:\"a b\""},
    {"\"a b\"~3", "\"a b\"~3"},
    {"\"a b\"~0", "\"a b\""},
    {"\"/etc/shadow\"", "\"/etc/shadow\""},
    {"\"man iptables\"", "\"man iptables\""},
    {"\"a \\\"quoted\\\" b\"", "\"a \\\"quoted\\\" b\""},
    {"\"a\\\\b\"", "\"a\\\\b\""},
    {"\"*:* AND (x)\"", "\"*:* AND (x)\""},
    {"\"\"", "\"\""},
    {"\"a b\"c", "\"a b\" c"},
    // boolean operators and precedence
    {"a AND b", "+a +b"},
    {"a && b", "+a +b"},
    {"a OR b", "a b"},
    {"a || b", "a b"},
    {"a b", "a b"},
    {"a &&b", "+a +b"},
    {"NOT a", "-a"},
    {"!a", "-a"},
    {"+a", "+a"},
    {"-a", "-a"},
    {"+a b -c", "+a b -c"},
    {"a NOT b", "a -b"},
    {"a OR -b", "a -b"},
    {"a AND NOT b", "+a -b"},
    {"NOT a AND b", "-a +b"},
    {"a AND b OR c", "(+a +b) c"},
    {"a OR b AND c", "a (+b +c)"},
    {"a && b || c", "(+a +b) c"},
    {"a AND b AND c", "+a +b +c"},
    {"a AND b c AND d", "(+a +b) (+c +d)"},
    {"a AND NOT b AND c", "+a -b +c"},
    {"a AND +b", "+a +b"},
    {"a - b", "a \\- b"},
    {"a ! b", "a \\! b"},
    // grouping
    {"(a)", "a"},
    {"((a b))", "a b"},
    {"a AND (b OR c)", "+a +(b c)"},
    {"(a AND b) AND c", "+(+a +b) +c"},
    {"NOT (a OR b)", "-(a b)"},
    {"NOT(a)", "-a"},
    {"(a b)c", "(a b) c"},
    {"f:(a OR b)", "f:a f:b"},
    {"f:(a)", "f:a"},
    {"f:( a AND g:b )", "+f:a +g:b"},
    {"f:(a (b \"c d\"))", "f:a (f:b f:\"c d\")"},
    {"f:(g:(a) b)", "g:a f:b"},
    {"-f:(a b)", "-(f:a f:b)"},
    {"f:(a - b)", "f:a f:- f:b"},
    {"_exists_:(a b)", "_exists_:a _exists_:b"},
    {"ssh AND user.name:\"John Doe\" AND NOT verdict:REJECT",
     "+ssh +user.name:\"John Doe\" -verdict:REJECT"},
    // wildcards and fuzzy
    {"te?m", "te?m"},
    {"term*", "term*"},
    {"f:te*m", "f:te*m"},
    {"te\\*m*", "te\\*m*"},
    {"f:(a* b?)", "f:a* f:b?"},
    {"term~", "term~2"},
    {"term~1", "term~1"},
    {"f:term~0", "f:term~0"},
    {"term ~1", "term~1"},
    {"term~ next", "term~2 next"},
    // ranges
    {"[a TO b]", "[a TO b]"},
    {"f:{a TO b}", "f:{a TO b}"},
    {"f:[a TO b}", "f:[a TO b}"},
    {"f:[ a  TO  b ]", "f:[a TO b]"},
    {"f:[* TO 5]", "f:[* TO 5]"},
    {"f:{5 TO *}", "f:{5 TO *]"},
    {"f:[* TO *]", "f:[* TO *]"},
    {"f: [1 TO 2]", "f:[1 TO 2]"},
    {"[-5 TO 5]", "[-5 TO 5]"},
    {"[\"a\" TO \"b c\"]", "[a TO \"b c\"]"},
    {"f:[\\* TO \"TO\"]", "f:[\"*\" TO \"TO\"]"},
    {"f:[a\\]b TO c]", "f:[\"a]b\" TO c]"},
    {"client.ip:[10.0.0.0 TO 10.0.0.255]", "client.ip:[10.0.0.0 TO 10.0.0.255]"},
    {"start_time:[\"2022-04-01 10:00\" TO *]", "start_time:[\"2022-04-01 10:00\" TO *]"},
    {"start_time:[2022-04-01T10:00:00 TO 2022-04-02]",
     "start_time:[2022-04-01T10:00:00 TO 2022-04-02]"},
    {"start_time:>=2017-01-25T10:00", "start_time:[2017-01-25T10:00 TO *]"},
    {"f:>=5", "f:[5 TO *]"},
    {"f:>5", "f:{5 TO *]"},
    {"f:<=x", "f:[* TO x]"},
    {"f:<2017-01-01", "f:[* TO 2017-01-01}"},
    {"f:>=\"2022-04-01 10:00\"", "f:[\"2022-04-01 10:00\" TO *]"},
    {"f:(>=10 AND <20)", "+f:[10 TO *] +f:[* TO 20}"},
    {">5", "{5 TO *]"},
    // exists and match all
    {"_exists_:user.name", "_exists_:user.name"},
    {"*:*", "*:*"},
    {"*:* -f:x", "*:* -f:x"},
    {"-*:*", "-*:*"},
    // boosts
    {"term^2", "term^2"},
    {"\"phrase\"^1.5", "\"phrase\"^1.5"},
    {"(a b)^3", "(a b)^3"},
    {"+(a b)^2 c", "+(a b)^2 c"},
    {"f:(a b)^2", "(f:a f:b)^2"},
    {"(a)^2", "a^2"},
    {"(a^2)^3", "a^6"},
    {"a b^0.5", "a b^0.5"},
    {"a^1", "a"},
    {"a^0", "a^0"},
    {"a^2~1", "a~1^2"},
    {"\"a b\"^2~3", "\"a b\"~3^2"},
    {"f:[1 TO 10]^2", "f:[1 TO 10]^2"},
    {"f:>5^2", "f:{5 TO *]^2"},
    {"_exists_:f^2", "_exists_:f^2"},
    {"*:*^2", "*:*^2"},
    {"a ^2", "a^2"},
    {"a^0.001", "a^0.001"},
    // whitespace
    {"  a \t\n b  ", "a b"},
};

struct invalid_case {
    std::string_view input;
    std::size_t position;
    std::string_view message;  // a substring of the message
};

constexpr invalid_case invalid_cases[] = {
    {"", 0, "empty query"},
    {"  \t ", 0, "empty query"},
    // unbalanced
    {"(a", 0, "unclosed '('"},
    {"a (b (c)", 2, "unclosed '('"},
    {"(a (b)", 0, "unclosed '('"},
    {"a)", 1, "unmatched ')'"},
    {"(a))", 3, "unmatched ')'"},
    {"\"a b", 0, "unclosed quote"},
    {"a \"b", 2, "unclosed quote"},
    {"\"a\\\"", 0, "unclosed quote"},
    {"[a TO b", 0, "unclosed range"},
    {"f:[a TO b", 2, "unclosed range"},
    {"f:[a", 2, "unclosed range"},
    {"a]", 1, "unexpected ']'"},
    {"a}", 1, "unexpected '}'"},
    {"f:[a TO \"b]", 8, "unclosed quote"},
    // ranges
    {"[a b]", 3, "expected 'TO'"},
    {"[a]", 2, "expected 'TO'"},
    {"[a \"TO\" b]", 3, "expected 'TO'"},
    {"[a TO b c]", 8, "expected ']' or '}'"},
    {"[a TO ]", 6, "missing range bound"},
    {"[]", 1, "missing range bound"},
    // dangling operators
    {"a AND", 2, "missing operand after 'AND'"},
    {"OR b", 0, "missing operand before 'OR'"},
    {"AND", 0, "missing operand before 'AND'"},
    {"a OR OR b", 2, "missing operand after 'OR'"},
    {"a &&", 2, "missing operand after '&&'"},
    {"|| a", 0, "missing operand before '||'"},
    {"a && || b", 2, "missing operand after '&&'"},
    {"NOT", 0, "missing operand after 'NOT'"},
    {"a AND NOT", 6, "missing operand after 'NOT'"},
    {"NOT NOT a", 0, "missing operand after 'NOT'"},
    {"a -", 2, "missing operand after '-'"},
    {"-", 0, "missing operand after '-'"},
    {"--a", 0, "missing operand after '-'"},
    {"+NOT a", 0, "missing operand after '+'"},
    {"-AND a", 0, "missing operand after '-'"},
    {"(a OR)", 3, "missing operand after 'OR'"},
    {"(AND a)", 1, "missing operand before 'AND'"},
    {"a (-)", 3, "missing operand after '-'"},
    // empty groups
    {"()", 0, "empty group"},
    {"a ( )", 2, "empty group"},
    {"f:()", 2, "empty group"},
    {"(())", 1, "empty group"},
    // leading wildcards
    {"*foo", 0, "leading wildcard"},
    {"?oo", 0, "leading wildcard"},
    {"*", 0, "leading wildcard"},
    {"a *", 2, "leading wildcard"},
    {"f:*foo", 2, "leading wildcard"},
    {"f:*", 2, "leading wildcard"},
    {"f: ?", 3, "leading wildcard"},
    {"f:(a *b)", 5, "leading wildcard"},
    // escapes and fields
    {"a\\", 1, "trailing backslash"},
    {"f:[a\\", 4, "trailing backslash"},
    {":a", 0, "empty field name"},
    {"a :b", 2, "empty field name"},
    {"f:", 1, "missing value after 'f:'"},
    {"f:  ", 1, "missing value after 'f:'"},
    {"f:)", 1, "missing value after 'f:'"},
    {"f:^2", 1, "missing value after 'f:'"},
    {"*:foo", 0, "*:*"},
    {"*:(a)", 0, "*:*"},
    {"f*:a", 0, "field names"},
    {"_exists_:\"a\"", 9, "_exists_ takes a field name"},
    {"_exists_:a*", 9, "_exists_ takes a field name"},
    {"_exists_:[a TO b]", 9, "_exists_ takes a field name"},
    {"_exists_:>a", 9, "_exists_ takes a field name"},
    {"f:>", 2, "missing value after '>'"},
    {"f:>=", 2, "missing value after '>='"},
    {"f:<= 5", 2, "missing value after '<='"},
    // boosts
    {"a^", 1, "expected a number after '^'"},
    {"a^x", 1, "expected a number after '^'"},
    {"a^-1", 1, "expected a number after '^'"},
    {"a^.5", 1, "expected a number after '^'"},
    {"a^1.", 1, "expected a number after '^'"},
    {"a^2b", 1, "expected a number after '^'"},
    {"a^1.5.2", 1, "expected a number after '^'"},
    {"a^2^3", 3, "duplicate boost"},
    {"a^99999999999999999999999999999999999999999", 1, "boost too large"},
    {"^a", 0, "unexpected '^'"},
    {"a AND ^2", 6, "unexpected '^'"},
    // fuzzy and proximity
    {"a~x", 1, "expected a number after '~'"},
    {"a~1x", 1, "expected a number after '~'"},
    {"a~3", 1, "fuzzy distance must be 0, 1 or 2"},
    {"a~0.5", 1, "fuzzy distance must be 0, 1 or 2"},
    {"a~99999999999999", 1, "fuzzy distance must be 0, 1 or 2"},
    {"a~1~2", 3, "duplicate '~'"},
    {"~a", 0, "unexpected '~'"},
    {"\"a b\"~", 5, "expected a number after '~'"},
    {"\"a b\"~x", 5, "expected a number after '~'"},
    {"\"a b\"~1.5", 5, "whole number"},
    {"\"a b\"~99999999999", 5, "proximity too large"},
    {"\"a b\"~1000001", 5, "proximity too large"},
    {"(a b)~2", 5, "'~' cannot follow a group"},
    {"te*~1", 3, "'~' cannot follow a wildcard term"},
    {"[a TO b]~1", 8, "'~' cannot follow a range"},
    {"f:>5~1", 4, "'~' cannot follow a range"},
    {"_exists_:f~", 10, "'~' cannot follow _exists_"},
    {"*:*~", 3, "'~' cannot follow *:*"},
};

std::string canonical(std::string_view input) {
    auto result = q::parse(input);
    if (const auto* error = std::get_if<q::parse_error>(&result)) {
        return "error at " + std::to_string(error->position) + ": " + error->message;
    }
    return q::to_string(std::get<q::node>(result));
}

const q::node& parsed(const std::variant<q::node, q::parse_error>& result) {
    return std::get<q::node>(result);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(query_parser)

BOOST_AUTO_TEST_CASE(valid_queries_give_their_canonical_tree) {
    static_assert(std::size(valid_cases) >= 60);
    for (const auto& c : valid_cases) {
        BOOST_TEST_CONTEXT("input: " << c.input) {
            BOOST_TEST(canonical(c.input) == c.canonical);
        }
    }
}

BOOST_AUTO_TEST_CASE(canonical_form_parses_back_to_the_same_tree) {
    for (const auto& c : valid_cases) {
        BOOST_TEST_CONTEXT("input: " << c.input) {
            auto first = q::parse(c.input);
            BOOST_TEST_REQUIRE(std::holds_alternative<q::node>(first));
            const std::string printed = q::to_string(parsed(first));
            auto second = q::parse(printed);
            BOOST_TEST_REQUIRE(std::holds_alternative<q::node>(second));
            BOOST_TEST(q::to_string(parsed(second)) == printed);
            BOOST_TEST((parsed(second) == parsed(first)));
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_queries_give_the_error_position) {
    for (const auto& c : invalid_cases) {
        BOOST_TEST_CONTEXT("input: " << c.input) {
            auto result = q::parse(c.input);
            const auto* error = std::get_if<q::parse_error>(&result);
            if (error == nullptr) {
                BOOST_ERROR("parsed as " << q::to_string(parsed(result)));
                continue;
            }
            BOOST_TEST(error->position == c.position);
            BOOST_TEST(error->message.find(c.message) != std::string::npos,
                       "message: " << error->message);
        }
    }
}

BOOST_AUTO_TEST_CASE(tree_shapes) {
    auto fielded = q::parse("started_at:2022-04-01T10:00:00");
    const auto& term = std::get<q::term_query>(parsed(fielded).value);
    BOOST_TEST(term.field == "started_at");
    BOOST_TEST(term.text == "2022-04-01T10:00:00");

    auto escaped = q::parse("\\/etc\\/shadow");
    BOOST_TEST(std::get<q::term_query>(parsed(escaped).value).text == "/etc/shadow");

    auto wildcard = q::parse("f:a\\*b\\:c*");
    const auto& pattern = std::get<q::wildcard_query>(parsed(wildcard).value);
    BOOST_TEST(pattern.field == "f");
    BOOST_TEST(pattern.pattern == "a\\*b:c*");

    auto fuzzy = q::parse("term~");
    BOOST_TEST(std::get<q::fuzzy_query>(parsed(fuzzy).value).distance == 2u);

    auto phrase = q::parse("msg:\"a \\\"b\\\"\"~4^2");
    const auto& p = std::get<q::phrase_query>(parsed(phrase).value);
    BOOST_TEST(p.field == "msg");
    BOOST_TEST(p.text == "a \"b\"");
    BOOST_TEST(p.slop == 4u);
    BOOST_TEST(parsed(phrase).boost == 2.0f);

    auto open = q::parse("f:{* TO 5}");
    const auto& r = std::get<q::range_query>(parsed(open).value);
    BOOST_TEST(!r.lower.has_value());
    BOOST_TEST(r.include_lower);
    BOOST_TEST((r.upper == std::optional<std::string>("5")));
    BOOST_TEST(!r.include_upper);

    auto exists = q::parse("_exists_:user.name");
    BOOST_TEST(std::get<q::exists_query>(parsed(exists).value).field == "user.name");

    BOOST_TEST(std::holds_alternative<q::match_all_query>(parsed(q::parse("*:*")).value));

    auto negation = q::parse("NOT a");
    const auto& b = std::get<q::boolean_query>(parsed(negation).value);
    BOOST_TEST_REQUIRE(b.clauses.size() == 1u);
    BOOST_TEST((b.clauses[0].how == q::occur::must_not));

    auto copy = parsed(q::parse("a AND (b OR c)"));
    BOOST_TEST(q::to_string(copy) == "+a +(b c)");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_an_error_not_a_crash) {
    const std::string opens(100'000, '(');
    auto result = q::parse(opens);
    const auto* error = std::get_if<q::parse_error>(&result);
    BOOST_TEST_REQUIRE(error != nullptr);
    BOOST_TEST(error->position == 100u);
    BOOST_TEST(error->message.find("nested") != std::string::npos);

    auto balanced = q::parse(opens + "a" + std::string(100'000, ')'));
    BOOST_TEST(std::holds_alternative<q::parse_error>(balanced));

    // The limit is inclusive, and field groups count as well.
    const std::string hundred = std::string(100, '(') + "a" + std::string(100, ')');
    BOOST_TEST(canonical(hundred) == "a");
    BOOST_TEST(canonical("f:(" + hundred + ")") ==
               "error at 102: query nested more than 100 "
               "levels deep");

    q::parse_options shallow;
    shallow.max_depth = 1;
    BOOST_TEST(std::holds_alternative<q::node>(q::parse("(a) f:(b)", shallow)));
    auto deeper = q::parse("((a))", shallow);
    BOOST_TEST_REQUIRE(std::holds_alternative<q::parse_error>(deeper));
    BOOST_TEST(std::get<q::parse_error>(deeper).position == 1u);

    // Long flat chains of operators do not nest.
    std::string chain = "a";
    for (int i = 0; i < 1000; ++i)
        chain += " AND a";
    BOOST_TEST(std::holds_alternative<q::node>(q::parse(chain)));
    std::string nots;
    for (int i = 0; i < 100'000; ++i)
        nots += "NOT ";
    BOOST_TEST(std::holds_alternative<q::parse_error>(q::parse(nots + "a")));
}

BOOST_AUTO_TEST_CASE(clause_limit) {
    q::parse_options options;
    options.max_clauses = 3;
    BOOST_TEST(std::holds_alternative<q::node>(q::parse("a (b c)", options)));
    auto result = q::parse("a (b c) \"d\"", options);
    const auto* error = std::get_if<q::parse_error>(&result);
    BOOST_TEST_REQUIRE(error != nullptr);
    BOOST_TEST(error->position == 8u);
    BOOST_TEST(error->message.find("too many clauses") != std::string::npos);

    std::string many;
    for (int i = 0; i < 1025; ++i)
        many += "a ";
    auto limited = q::parse(many);
    BOOST_TEST_REQUIRE(std::holds_alternative<q::parse_error>(limited));
    BOOST_TEST(std::get<q::parse_error>(limited).position == 2048u);
    many.resize(many.size() - 2);
    BOOST_TEST(std::holds_alternative<q::node>(q::parse(many)));
}

// Random queries from the characters that matter to the grammar: parse() never crashes, an error
// lies inside the input, and whatever parses prints to a form that parses back to the same tree.
BOOST_AUTO_TEST_CASE(random_queries_never_crash_and_round_trip) {
    static constexpr std::string_view pieces[] = {
        "a",   "b",  "f",   "10",  ":",   "\\", "\"", "(",    ")",  "[",        "]",        "{",
        "}",   "^",  "~",   "*",   "?",   "+",  "-",  "!",    "&&", "||",       " ",        " ",
        "AND", "OR", "NOT", "TO",  "2",   ".",  "<",  ">",    "=",  "_exists_", "\xc3\xa9", "/",
        "&",   "|",  "\t",  "1.5", "*:*", "x",  "f:", " TO ", "\\ "};
    std::mt19937 random(20260501);
    std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
    std::uniform_int_distribution<int> length(1, 12);
    int parsed_count = 0;
    for (int i = 0; i < 50'000; ++i) {
        std::string input;
        for (int n = length(random); n > 0; --n)
            input += pieces[pick(random)];
        auto result = q::parse(input);
        if (const auto* error = std::get_if<q::parse_error>(&result)) {
            BOOST_TEST_REQUIRE(error->position <= input.size(), input);
            continue;
        }
        ++parsed_count;
        const std::string printed = q::to_string(parsed(result));
        auto again = q::parse(printed);
        BOOST_TEST_REQUIRE(std::holds_alternative<q::node>(again),
                           input << " printed as " << printed);
        BOOST_TEST_REQUIRE((parsed(again) == parsed(result)), input << " printed as " << printed);
    }
    BOOST_TEST(parsed_count > 1000);
}

BOOST_AUTO_TEST_SUITE_END()
