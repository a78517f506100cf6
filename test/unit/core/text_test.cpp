// Tests of core/text.hpp: split_list (the comma-separated lists of fields, order and sort) and
// valid_utf8 (every encoding length and its boundaries, and each kind of malformed sequence: stray
// continuation bytes, truncation, overlong forms, surrogates, > U+10FFFF).
#include "core/text.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <vector>

using views = std::vector<std::string_view>;

BOOST_AUTO_TEST_CASE(split_list_trims_blanks_and_drops_empty_items) {
    BOOST_TEST(audex::split_list("a,b") == (views{"a", "b"}), boost::test_tools::per_element());
    BOOST_TEST(
        audex::split_list(" user.name , -start_time ") == (views{"user.name", "-start_time"}),
        boost::test_tools::per_element());
    BOOST_TEST(audex::split_list(",,a,, ,b,") == (views{"a", "b"}),
               boost::test_tools::per_element());
    BOOST_TEST(audex::split_list("").empty());
    BOOST_TEST(audex::split_list(" , ").empty());
}

using audex::valid_utf8;

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(well_formed_utf8_is_valid) {
    for (std::string s : {"", "plain ascii", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
                          "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
                          "\xf4\x8f\xbf\xbf", "Ünïcödé テキスト 😀"})
        BOOST_TEST(valid_utf8(s), s);
    BOOST_TEST(valid_utf8(std::string("a\0b", 3)));
}

BOOST_AUTO_TEST_CASE(malformed_utf8_is_invalid) {
    for (std::string s :
         {"\x80", "\xbf", "a\xff", "\xfe", "\xc0\xaf", "\xc1\xbf", "\xc2", "\xc2\x41",
          "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xe2\x82",
          "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
          "\xf0\x90\x80", "ok\xe2\x82\xac\xe2\x82"})
        BOOST_TEST(!valid_utf8(s), s);
}

BOOST_AUTO_TEST_SUITE_END()
