// Tests of store::within_edit_distance (the fuzzy operator `~` of filter= and q=): random strings
// against a brute-force Levenshtein table written here, the cells it fills held to its band, and a
// long value that the fuzzy filter refuses without comparing it.
#include "store/object_filter.hpp"

#include "core/query.hpp"

#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace {

using audex::store::edit_distance_work;
using audex::store::within_edit_distance;

// The whole table, O(|a|·|b|): the oracle.
std::size_t levenshtein(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j)
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                                d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    return d[a.size()][b.size()];
}

// The most cells a band of 2·max+1 diagonals holds over the shorter string's rows.
std::size_t band(std::size_t n, std::size_t m, std::size_t max) {
    return std::min(n, m) * (2 * max + 1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(edit_distance_tests)

BOOST_AUTO_TEST_CASE(agrees_with_the_full_table_on_random_strings) {
    std::mt19937 rng(20261207);
    std::size_t within = 0, beyond = 0;
    for (int round = 0; round < 20000; ++round) {
        // A small alphabet, and often one string an edit or two away from the other, so that
        // both answers come up often.
        const std::string alphabet = round % 2 ? "ab" : "abcdx";
        auto random_string = [&](std::size_t length) {
            std::string s;
            for (std::size_t i = 0; i < length; ++i)
                s += alphabet[rng() % alphabet.size()];
            return s;
        };
        std::string a = random_string(rng() % 14), b;
        if (rng() % 2) {
            b = a;
            for (int edits = int(rng() % 4); edits > 0; --edits) {
                auto at = b.empty() ? 0 : rng() % (b.size() + 1);
                switch (rng() % 3) {
                    case 0:
                        b.insert(b.begin() + std::ptrdiff_t(at), alphabet[rng() % alphabet.size()]);
                        break;
                    case 1:
                        if (at < b.size()) b.erase(b.begin() + std::ptrdiff_t(at));
                        break;
                    default:
                        if (at < b.size()) b[at] = alphabet[rng() % alphabet.size()];
                }
            }
        } else {
            b = random_string(rng() % 14);
        }
        const std::size_t max = rng() % 5;
        const bool expected = levenshtein(a, b) <= max;
        edit_distance_work work;
        BOOST_TEST(within_edit_distance(a, b, max, &work) == expected,
                   "'" << a << "' and '" << b << "' within " << max);
        BOOST_TEST(within_edit_distance(b, a, max) == expected);
        BOOST_TEST(work.cells <= band(a.size(), b.size(), max) + 1);
        ++(expected ? within : beyond);
    }
    BOOST_TEST(within > 2000u);
    BOOST_TEST(beyond > 2000u);
}

BOOST_AUTO_TEST_CASE(distances_at_the_edges) {
    BOOST_TEST(within_edit_distance("", "", 0));
    BOOST_TEST(within_edit_distance("", "ab", 2));
    BOOST_TEST(!within_edit_distance("", "abc", 2));
    BOOST_TEST(within_edit_distance("kitten", "sitting", 3));
    BOOST_TEST(!within_edit_distance("kitten", "sitting", 2));
    BOOST_TEST(!within_edit_distance("rdp", "rpd", 1));  // a transposition is two edits
    BOOST_TEST(within_edit_distance("rdp", "rpd", 2));
}

// Two 600 kB values: the band holds the work to |value|·(2·max+1) cells where the full table
// would fill 3.6·10^11, and a value that differs from its first bytes is given up within a few
// rows.
BOOST_AUTO_TEST_CASE(long_values_cost_their_length_times_the_distance) {
    const std::size_t length = 600'000;
    std::mt19937 rng(7);
    std::string value;
    for (std::size_t i = 0; i < length; ++i)
        value += char('a' + rng() % 26);
    auto edited = value;
    edited[length / 2] = edited[length / 2] == 'x' ? 'y' : 'x';
    edited.erase(length / 3, 1);

    edit_distance_work close;
    BOOST_TEST(within_edit_distance(value, edited, 2, &close));
    BOOST_TEST(close.cells <= band(length, length, 2));
    edit_distance_work one;
    BOOST_TEST(!within_edit_distance(value, edited, 1, &one));
    BOOST_TEST(one.cells <= band(length, length, 1));

    std::string other(length, '#');
    edit_distance_work far;
    BOOST_TEST(!within_edit_distance(value, other, 2, &far));
    BOOST_TEST(far.cells <= 5u * 5u);  // every cell of the third row is past 2 already

    // Lengths that differ by more than the distance: nothing to compare.
    edit_distance_work term;
    BOOST_TEST(!within_edit_distance("foo", value, 2, &term));
    BOOST_TEST(term.cells == 0u);
}

// The fuzzy operator of filter= and q= goes through it, also with a 600 kB attribute value (which
// took 6.6 s when the whole table was filled).
BOOST_AUTO_TEST_CASE(a_fuzzy_filter_refuses_a_long_value_by_its_length) {
    const auto& m = *audex::find_model("session");
    auto parsed = audex::query::parse("user_name:alise~2");
    auto filter = audex::store::object_filter::compile(m, std::get<audex::query::node>(parsed));
    BOOST_TEST_REQUIRE(filter.has_value());
    auto test = [&](std::string name) {
        boost::json::value v(name);
        return filter->matches([&](const audex::attribute& a) -> const boost::json::value* {
            return a.name == "user_name" ? &v : nullptr;
        });
    };
    BOOST_TEST(test("Alice"));
    BOOST_TEST(test("alisen"));
    BOOST_TEST(!test("alexander"));
    BOOST_TEST(!test("alise" + std::string(600'000, 'x')));
    BOOST_TEST(!test(std::string(600'000, 'a')));
}

BOOST_AUTO_TEST_SUITE_END()
