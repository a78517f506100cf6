// Tests of core/text.hpp's split_list: the comma-separated lists of fields, order and sort.
#include "core/text.hpp"

#include <boost/test/unit_test.hpp>

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
