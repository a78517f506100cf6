// The analyzer: how shell content, paths, addresses and Unicode text split into tokens.
#include "index/analyzer.hpp"

#include <boost/test/unit_test.hpp>

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
        {"bad\xff\xfe" "bytes", {"bad", "bytes"}},
    };
    for (auto& r : rows) BOOST_TEST(analyze(r.text) == r.expected, "text: " << r.text);
}

BOOST_AUTO_TEST_CASE(cuts_long_tokens) {
    std::string long_word(1000, 'a');
    auto t = analyze(long_word);
    BOOST_TEST_REQUIRE(t.size() == 1u);
    BOOST_TEST(t[0].size() == audex::index::max_token_bytes);
    std::string long_unicode;
    for (int i = 0; i < 200; ++i) long_unicode += "ä";
    auto u = analyze(long_unicode);
    BOOST_TEST_REQUIRE(u.size() == 1u);
    BOOST_TEST(u[0].size() <= audex::index::max_token_bytes);
    BOOST_TEST(u[0].size() % 2 == 0u);  // cut between characters, not inside one
}

BOOST_AUTO_TEST_SUITE_END()
