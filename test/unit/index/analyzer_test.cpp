// The analyzer: how shell content, paths, addresses and Unicode text split into tokens.
#include "index/analyzer.hpp"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <random>

using audex::index::analyze;
using tokens = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(analyzer)

BOOST_AUTO_TEST_CASE(splits_shell_content_as_auditors_type_it) {
    struct row {
        std::string_view text;
        tokens expected;
    } rows[] = {
        {"man iptables", {"man", "iptables"}},
        {"systemctl restart nginx.service", {"systemctl", "restart", "nginx", "service"}},
        {"/var/log/nginx/error.log", {"var", "log", "nginx", "error", "log"}},
        {"cat /etc/shadow", {"cat", "etc", "shadow"}},
        {"ssh admin@10.0.0.1 -p 2222", {"ssh", "admin", "10", "0", "0", "1", "p", "2222"}},
        {"MY_VAR=Hello", {"my", "var", "hello"}},
        {"", {}},
        {"  --- !!! ", {}},
        {"Grüße ÄÖÜ", {"grüsse", "äöü"}},
        {"Ａｄｍｉｎ", {"admin"}},  // full-width letters fold to ASCII (NFKC)
        {"пароль: Секрет", {"пароль", "секрет"}},
        {"日本語テキスト", {"日本語テキスト"}},
        {"e\xcc\x81t\xc3\xa9", {"été"}},  // combining accent composes
        {"bad\xff\xfe"
         "bytes",
         {"bad", "bytes"}},
    };
    for (auto& r : rows)
        BOOST_TEST(analyze(r.text) == r.expected, "text: " << r.text);
}

BOOST_AUTO_TEST_CASE(cuts_long_tokens) {
    std::string long_word(1000, 'a');
    auto t = analyze(long_word);
    BOOST_TEST_REQUIRE(t.size() == 1u);
    BOOST_TEST(t[0].size() == audex::index::max_token_bytes);
    std::string long_unicode;
    for (int i = 0; i < 200; ++i)
        long_unicode += "ä";
    auto u = analyze(long_unicode);
    BOOST_TEST_REQUIRE(u.size() == 1u);
    BOOST_TEST(u[0].size() <= audex::index::max_token_bytes);
    BOOST_TEST(u[0].size() % 2 == 0u);  // cut between characters, not inside one
}

// ASCII words are folded 8 bytes at a time: random ASCII text against a byte-by-byte reference,
// words of every length and at every distance from the text's end; each token's padding is zeros.
BOOST_AUTO_TEST_CASE(folds_ascii_as_a_byte_by_byte_scan_does) {
    std::mt19937 rng(20261206);
    const std::string_view alphabet = "aAzZmM09@[`{/.-_ \t\x7f";
    for (int round = 0; round < 2000; ++round) {
        std::string text(std::uniform_int_distribution<std::size_t>(0, 300)(rng), ' ');
        auto runs = std::uniform_int_distribution<std::size_t>(0, 40);
        for (std::size_t i = 0; i < text.size();)  // words and separators of random lengths
            for (auto n = runs(rng), c = rng() % alphabet.size(); n-- && i < text.size(); ++i)
                text[i] = rng() % 4 ? alphabet[c] : alphabet[rng() % alphabet.size()];
        tokens expected;
        std::string word;
        for (std::size_t i = 0; i <= text.size(); ++i) {
            unsigned char c = i < text.size() ? text[i] : ' ';
            if (std::isalnum(c)) {
                word += char(std::tolower(c));
            } else if (!word.empty()) {
                expected.push_back(word.substr(0, audex::index::max_token_bytes));
                word.clear();
            }
        }
        tokens got;
        audex::index::for_each_token(text, [&](std::string_view t) {
            got.emplace_back(t);
            auto padded = audex::index::padded_token_bytes(t.size());
            BOOST_TEST(std::string_view(t.data() + t.size(), padded - t.size()) ==
                       std::string(padded - t.size(), '\0'));
        });
        BOOST_TEST_REQUIRE(got == expected, "text: " << text);
    }
}

BOOST_AUTO_TEST_SUITE_END()
