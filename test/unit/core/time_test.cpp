// Tests of core/time.hpp: parse_time (forms, offsets, fractions, precision, invalid input),
// format_api_time, format_iso_time and format_iso_time_at_offset (fractions, pre-1970 times,
// offsets), add_months (month ends) and parse/format round trips.
#include "core/time.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <random>
#include <string_view>

using audex::micros;
using audex::parse_time;

namespace {

constexpr micros second = 1'000'000;
constexpr micros minute = 60 * second;
constexpr micros hour = 60 * minute;
constexpr micros day = 24 * hour;
// 2022-04-05T00:00:00Z, worked out independently (date -ud 2022-04-05 +%s).
constexpr micros apr5 = 1'649'116'800 * second;

struct parse_case {
    std::string_view text;
    micros at;
    micros precision;
};

std::ostream& operator<<(std::ostream& os, const parse_case& c) {
    return os << '"' << c.text << '"';
}

const parse_case valid_cases[] = {
    // the three precisions without a fraction
    {"2022-04-05", apr5, day},
    {"2022-04-05T16:06", apr5 + 16 * hour + 6 * minute, minute},
    {"2022-04-05 16:06", apr5 + 16 * hour + 6 * minute, minute},
    {"2022-04-05T16:06:07", apr5 + 16 * hour + 6 * minute + 7 * second, second},
    // the object API's own form and its offsets
    {"2022-04-05 16:06:07.313862+02", apr5 + 14 * hour + 6 * minute + 7 * second + 313862, 1},
    {"2022-04-05 16:06:07.313862Z", apr5 + 16 * hour + 6 * minute + 7 * second + 313862, 1},
    {"2022-04-05 16:06:07.313862z", apr5 + 16 * hour + 6 * minute + 7 * second + 313862, 1},
    {"2022-04-05 16:06:07.313862+0200", apr5 + 14 * hour + 6 * minute + 7 * second + 313862, 1},
    {"2022-04-05 16:06:07.313862+02:00", apr5 + 14 * hour + 6 * minute + 7 * second + 313862, 1},
    {"2022-04-05T16:06:07-05:30", apr5 + 21 * hour + 36 * minute + 7 * second, second},
    {"2022-04-05T16:06:07-0530", apr5 + 21 * hour + 36 * minute + 7 * second, second},
    {"2022-04-05T16:06+00", apr5 + 16 * hour + 6 * minute, minute},
    {"2022-04-05T01:00+02", apr5 - 1 * hour, minute},  // the offset crosses midnight
    // fractions of 1 to 9 digits; digits past the sixth are cut off
    {"2022-04-05T00:00:00.5", apr5 + 500000, 100000},
    {"2022-04-05T00:00:00.31", apr5 + 310000, 10000},
    {"2022-04-05T00:00:00.313", apr5 + 313000, 1000},
    {"2022-04-05T00:00:00.3138", apr5 + 313800, 100},
    {"2022-04-05T00:00:00.31386", apr5 + 313860, 10},
    {"2022-04-05T00:00:00.313862", apr5 + 313862, 1},
    {"2022-04-05T00:00:00.3138629", apr5 + 313862, 1},
    {"2022-04-05T00:00:00.31386299", apr5 + 313862, 1},
    {"2022-04-05T00:00:00.313862999Z", apr5 + 313862, 1},
    {"2022-04-05T00:00:00,5", apr5 + 500000, 100000},
    {"2022-04-05T00:00:00.000", apr5, 1000},
    // calendar edges
    {"2024-02-29", apr5 + (365 + 330) * day, day},
    {"2022-12-31T23:59:59", 1'672'531'199 * second, second},
    {"1970-01-01", 0, day},
    {"1969-12-31T23:59:59.5", -500000, 100000},
    {"1900-01-01", -2'208'988'800 * second, day},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(core_time)

BOOST_DATA_TEST_CASE(parse_time_accepts, boost::unit_test::data::make(valid_cases), c) {
    auto t = parse_time(c.text);
    BOOST_TEST_REQUIRE(t.has_value());
    BOOST_TEST(t->at == c.at);
    BOOST_TEST(t->precision == c.precision);
}

namespace {
const std::string_view invalid_cases[] = {
    "",
    "garbage",
    "2022",
    "2022-04",
    "22-04-05",
    "2022-4-5",
    "2022/04/05",
    "2022-00-05",
    "2022-13-05",
    "2022-04-00",
    "2022-04-31",
    "2022-02-30",
    "2023-02-29",  // not a leap year
    "2022-04-05T",
    "2022-04-05T16",
    "2022-04-05T16:",
    "2022-04-05T16:6",
    "2022-04-05T25:00",
    "2022-04-05T24:00",
    "2022-04-05T16:60",
    "2022-04-05T16:06:61",
    "2022-04-05T16:06:0",
    "2022-04-05T16:06:07.",
    "2022-04-05T16:06:07.x",
    "2022-04-05T16:06:07.5 ",
    "2022-04-05 ",
    " 2022-04-05",
    "2022-04-05x",
    "2022-04-05T16:06:07ZZ",
    "2022-04-05T16:06:07Z1",
    "2022-04-05T16:06:07+2",
    "2022-04-05T16:06:07+24",
    "2022-04-05T16:06:07+02:",
    "2022-04-05T16:06:07+02:0",
    "2022-04-05T16:06:07+020",
    "2022-04-05T16:06:07+02:00:00",
    "2022-04-05T16:06:07+02:60",
    "2022-04-05T16:06:07+",
    "2022-04-05T16:06:07 +02",
    "2022-04-05T16:06:07 UTC",
    "2022-04-05\t16:06",
    "2022-04-05T16:06:07.5.5",
};

}  // namespace

BOOST_DATA_TEST_CASE(parse_time_rejects, boost::unit_test::data::make(invalid_cases), text) {
    BOOST_TEST(!parse_time(text).has_value(), '"' << text << "\" was accepted");
}

namespace {
struct format_case {
    micros t;
    std::string_view api;
    std::string_view iso0, iso3, iso6;
};

std::ostream& operator<<(std::ostream& os, const format_case& c) {
    return os << c.t;
}

const format_case format_cases[] = {
    {apr5 + 14 * hour + 7 * minute + 58 * second + 657010, "2022-04-05 14:07:58.65701+00",
     "2022-04-05T14:07:58Z", "2022-04-05T14:07:58.657Z", "2022-04-05T14:07:58.657010Z"},
    {apr5 + 16 * hour + 6 * minute + 7 * second + 313862, "2022-04-05 16:06:07.313862+00",
     "2022-04-05T16:06:07Z", "2022-04-05T16:06:07.313Z", "2022-04-05T16:06:07.313862Z"},
    {apr5, "2022-04-05 00:00:00+00", "2022-04-05T00:00:00Z", "2022-04-05T00:00:00.000Z",
     "2022-04-05T00:00:00.000000Z"},
    {apr5 + 500000, "2022-04-05 00:00:00.5+00", "2022-04-05T00:00:00Z", "2022-04-05T00:00:00.500Z",
     "2022-04-05T00:00:00.500000Z"},
    {apr5 + 1, "2022-04-05 00:00:00.000001+00", "2022-04-05T00:00:00Z", "2022-04-05T00:00:00.000Z",
     "2022-04-05T00:00:00.000001Z"},
    {apr5 + 100, "2022-04-05 00:00:00.0001+00", "2022-04-05T00:00:00Z", "2022-04-05T00:00:00.000Z",
     "2022-04-05T00:00:00.000100Z"},
    {0, "1970-01-01 00:00:00+00", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z",
     "1970-01-01T00:00:00.000000Z"},
    // before 1970: the fraction still counts forward from the whole second before
    {-1, "1969-12-31 23:59:59.999999+00", "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z",
     "1969-12-31T23:59:59.999999Z"},
    {-500000, "1969-12-31 23:59:59.5+00", "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.500Z",
     "1969-12-31T23:59:59.500000Z"},
    {-day, "1969-12-31 00:00:00+00", "1969-12-31T00:00:00Z", "1969-12-31T00:00:00.000Z",
     "1969-12-31T00:00:00.000000Z"},
    {-2'208'988'800 * second + 250000, "1900-01-01 00:00:00.25+00", "1900-01-01T00:00:00Z",
     "1900-01-01T00:00:00.250Z", "1900-01-01T00:00:00.250000Z"},
    {1'709'164'799 * second, "2024-02-28 23:59:59+00", "2024-02-28T23:59:59Z",
     "2024-02-28T23:59:59.000Z", "2024-02-28T23:59:59.000000Z"},
};

}  // namespace

BOOST_DATA_TEST_CASE(formats, boost::unit_test::data::make(format_cases), c) {
    BOOST_TEST(audex::format_api_time(c.t) == c.api);
    BOOST_TEST(audex::format_iso_time(c.t, 0) == c.iso0);
    BOOST_TEST(audex::format_iso_time(c.t, 3) == c.iso3);
    BOOST_TEST(audex::format_iso_time(c.t, 6) == c.iso6);
    BOOST_TEST(audex::format_iso_time(c.t) == c.iso6);
    std::string no_zulu(c.iso6.substr(0, c.iso6.size() - 1));
    BOOST_TEST(audex::format_iso_time(c.t, 6, false) == no_zulu);
}

BOOST_AUTO_TEST_CASE(now_is_near_the_system_clock) {
    auto system = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    BOOST_TEST(std::abs(audex::now_micros() - system) < 10 * second);
}

BOOST_AUTO_TEST_CASE(round_trips_random_times) {
    std::mt19937_64 rng(20220405);
    // Years 0001 to 9999: what four year digits can carry.
    std::uniform_int_distribution<micros> any(-62'135'596'800 * second,
                                              253'402'300'799 * second + 999999);
    for (int i = 0; i < 20000; ++i) {
        micros t = any(rng);
        if (i % 4 == 1) t -= t % second;          // whole seconds
        if (i % 4 == 2) t -= t % (1000);          // milliseconds
        if (i % 4 == 3) t = (t / day) * day + 1;  // just after midnight
        auto api = audex::format_api_time(t);
        auto parsed = parse_time(api);
        BOOST_TEST_REQUIRE(parsed.has_value(), api);
        BOOST_TEST_REQUIRE(parsed->at == t, api);
        auto iso = audex::format_iso_time(t);
        parsed = parse_time(iso);
        BOOST_TEST_REQUIRE(parsed.has_value(), iso);
        BOOST_TEST_REQUIRE(parsed->at == t, iso);
        BOOST_TEST_REQUIRE(parsed->precision == 1);
        auto millis = parse_time(audex::format_iso_time(t, 3));
        BOOST_TEST_REQUIRE(millis.has_value());
        BOOST_TEST_REQUIRE(millis->at == t - ((t % second + second) % second) % 1000);
    }
}

BOOST_AUTO_TEST_CASE(formats_local_time_at_an_offset) {
    BOOST_TEST(audex::format_iso_time_at_offset(apr5, 2 * 3600) == "2022-04-05T02:00:00.000+02:00");
    BOOST_TEST(audex::format_iso_time_at_offset(apr5, 0, 0) == "2022-04-05T00:00:00+00:00");
    BOOST_TEST(audex::format_iso_time_at_offset(apr5, -(5 * 3600 + 30 * 60)) ==
               "2022-04-04T18:30:00.000-05:30");
    BOOST_TEST(audex::format_iso_time_at_offset(apr5 + 1, 3600, 6) ==
               "2022-04-05T01:00:00.000001+01:00");
}

BOOST_AUTO_TEST_CASE(adds_calendar_months) {
    auto t = [](const char* text) { return parse_time(text)->at; };
    BOOST_TEST(audex::add_months(t("2022-04-05T16:06:07.5Z"), -1) == t("2022-03-05T16:06:07.5Z"));
    BOOST_TEST(audex::add_months(t("2024-03-31T10:00Z"), -1) == t("2024-02-29T10:00Z"));
    BOOST_TEST(audex::add_months(t("2023-03-31T10:00Z"), -1) == t("2023-02-28T10:00Z"));
    BOOST_TEST(audex::add_months(t("2022-01-15T00:00Z"), -1) == t("2021-12-15T00:00Z"));
    BOOST_TEST(audex::add_months(t("2021-12-31T23:59Z"), 2) == t("2022-02-28T23:59Z"));
    BOOST_TEST(audex::add_months(t("1969-12-31T23:00Z"), 1) == t("1970-01-31T23:00Z"));
}

BOOST_AUTO_TEST_SUITE_END()
