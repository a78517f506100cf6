// The analyzer: how shell content, paths, addresses and Unicode text split into tokens.
#include "index/analyzer.hpp"

#include <utf8proc.h>
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

// Text of ASCII, other letters and digits, separators, combining marks and invalid bytes: the
// tokens against a scan character by character, each word NFKC case-folded and cut at a
// character boundary.
BOOST_AUTO_TEST_CASE(splits_mixed_text_as_a_character_scan_does) {
    auto word_character = [](utf8proc_int32_t cp) {
        auto c = utf8proc_category(cp);
        return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
               (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
               (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
    };
    auto fold = [](const std::string& word) {
        utf8proc_uint8_t* out = nullptr;
        auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                              utf8proc_ssize_t(word.size()), &out,
                              utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
        std::string folded(reinterpret_cast<char*>(out), std::size_t(n));
        std::free(out);
        auto cut = std::min(folded.size(), audex::index::max_token_bytes);
        while (cut < folded.size() && (static_cast<unsigned char>(folded[cut]) & 0xc0) == 0x80)
            --cut;
        return folded.substr(0, cut);
    };
    const std::string_view pieces[] = {"a",
                                       "Z",
                                       "7",
                                       " ",
                                       "/",
                                       "\n",
                                       "\xc3\xa9",
                                       "\xc3\x89",
                                       "\xc3\x9f",
                                       "\xe2\x80\x94",
                                       "\xe4\xb8\xad",
                                       "\xcc\x81",
                                       "\xef\xbc\xa1",
                                       "\xd9\xa3",
                                       "\xff",
                                       "\xc3"};
    std::mt19937 rng(20261206);
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        for (auto n = rng() % 200; n--;)
            text += pieces[rng() % (rng() % 4 ? 6 : std::size(pieces))];
        tokens expected;
        std::string word;
        for (std::size_t i = 0; i <= text.size();) {
            utf8proc_int32_t cp = -1;
            auto n = i < text.size()
                         ? utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(&text[i]),
                                            utf8proc_ssize_t(text.size() - i), &cp)
                         : 1;
            if (n > 0 && cp >= 0 && word_character(cp)) {
                word.append(text, i, std::size_t(n));
            } else if (!word.empty()) {
                expected.push_back(fold(word));
                word.clear();
            }
            i += std::size_t(std::max<utf8proc_ssize_t>(n, 1));
        }
        BOOST_TEST_REQUIRE(analyze(text) == expected, "text: " << text);
    }
}

BOOST_AUTO_TEST_SUITE_END()
