// Tests of index/aggregate.hpp: statistics ordering and `others`, and histogram bins for every
// bin size in UTC and in Europe/Budapest across both daylight-saving changes, with start and
// active counts, zero bins and the bin limit.
#include "index/aggregate.hpp"

#include "core/time.hpp"

#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace audex::index;
using audex::micros;
namespace json = boost::json;

namespace {

micros at(const char* text) {
    auto t = audex::parse_time(text);
    BOOST_TEST_REQUIRE(t.has_value(), "bad time in a test: " << text);
    return t->at;
}

const date::time_zone& zone(const char* name) {
    auto z = find_time_zone(name);
    BOOST_TEST_REQUIRE(z != nullptr, "no time zone " << name);
    return *z;
}

histogram make(const char* start, const char* end, bin_unit unit, const char* tz = "Etc/UTC") {
    auto h = histogram::make(at(start), at(end), unit, zone(tz), 10000);
    BOOST_TEST_REQUIRE(h.has_value());
    return std::move(*h);
}

std::vector<std::string> ids(const histogram& h, const char* tz = "Etc/UTC") {
    std::vector<std::string> out;
    for (auto& b : h.bins())
        out.push_back(bin_id(b, zone(tz)));
    return out;
}

using strings = std::vector<std::string>;
using counts = std::vector<std::uint64_t>;

counts start_counts(const histogram& h) {
    counts out;
    for (auto& b : h.bins())
        out.push_back(b.start_count);
    return out;
}

counts active_counts(const histogram& h) {
    counts out;
    for (auto& b : h.bins())
        out.push_back(b.active_count);
    return out;
}

audex::attribute field(audex::attribute_kind kind) {
    audex::attribute a;
    a.name = "f";
    a.kind = kind;
    return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(statistics)

BOOST_AUTO_TEST_CASE(counts_descending_then_values_ascending_with_others) {
    auto protocol = field(audex::attribute_kind::string);
    value_counter c(protocol);
    for (auto p : {"http", "ssh", "rdp", "rdp", "rdp", "http", "http"})
        c.add(json::value(p));
    auto top = c.top(2);
    BOOST_TEST_REQUIRE(top.items.size() == 2u);
    BOOST_TEST(top.items[0].value == json::value("http"));
    BOOST_TEST(top.items[0].count == 3u);
    BOOST_TEST(top.items[1].value == json::value("rdp"));
    BOOST_TEST(top.items[1].count == 3u);
    BOOST_TEST(top.others == 1u);
    auto all = c.top(10);
    BOOST_TEST(all.items.size() == 3u);
    BOOST_TEST(all.items[2].value == json::value("ssh"));
    BOOST_TEST(all.others == 0u);
}

BOOST_AUTO_TEST_CASE(numbers_order_numerically_and_null_is_not_a_value) {
    auto trail = field(audex::attribute_kind::integer);
    value_counter c(trail);
    for (int v : {10, 9, 100, 9, 10, 100})
        c.add(json::value(v));
    c.add(json::value(nullptr));
    auto top = c.top(3);
    BOOST_TEST_REQUIRE(top.items.size() == 3u);
    BOOST_TEST(top.items[0].value == json::value(9));
    BOOST_TEST(top.items[1].value == json::value(10));
    BOOST_TEST(top.items[2].value == json::value(100));
    BOOST_TEST(top.others == 0u);
}

BOOST_AUTO_TEST_CASE(size_zero_leaves_every_value_out) {
    auto protocol = field(audex::attribute_kind::string);
    value_counter c(protocol);
    c.add(json::value("ssh"));
    c.add(json::value("rdp"));
    auto top = c.top(0);
    BOOST_TEST(top.items.empty());
    BOOST_TEST(top.others == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(histograms)

BOOST_AUTO_TEST_CASE(bin_unit_names) {
    for (auto name : {"second", "minute", "hour", "day", "week", "month", "year"}) {
        auto unit = parse_bin_unit(name);
        BOOST_TEST_REQUIRE(unit.has_value());
        BOOST_TEST(bin_unit_name(*unit) == name);
    }
    BOOST_TEST(!parse_bin_unit("days").has_value());
    BOOST_TEST(!parse_bin_unit("Hour").has_value());
}

BOOST_AUTO_TEST_CASE(time_zones_by_iana_name) {
    BOOST_TEST(find_time_zone("Europe/Budapest") != nullptr);
    BOOST_TEST(find_time_zone("Etc/UTC") != nullptr);
    BOOST_TEST(find_time_zone("Mars/Olympus") == nullptr);
    BOOST_TEST(find_time_zone("") == nullptr);
    BOOST_TEST(find_time_zone("../../etc/passwd") == nullptr);
    BOOST_TEST(is_utc(zone("Etc/UTC")));
    BOOST_TEST(is_utc(zone("UTC")));
    BOOST_TEST(!is_utc(zone("Europe/London")));  // +00:00 in winter, but not for ever
}

BOOST_AUTO_TEST_CASE(seconds_minutes_and_hours_in_utc) {
    BOOST_TEST(ids(make("2018-01-15T12:00:00.5Z", "2018-01-15T12:00:02.2Z", bin_unit::second)) ==
                   (strings{"2018-01-15T12:00:00.000Z", "2018-01-15T12:00:01.000Z",
                            "2018-01-15T12:00:02.000Z"}),
               boost::test_tools::per_element());
    BOOST_TEST(ids(make("2018-01-15T12:00:59Z", "2018-01-15T12:01:00Z", bin_unit::minute)) ==
                   (strings{"2018-01-15T12:00:00.000Z", "2018-01-15T12:01:00.000Z"}),
               boost::test_tools::per_element());
    auto day = ids(make("2018-01-15T00:00Z", "2018-01-16T00:00Z", bin_unit::hour));
    BOOST_TEST_REQUIRE(day.size() == 25u);  // both ends inclusive: the end's own bin is there
    BOOST_TEST(day.front() == "2018-01-15T00:00:00.000Z");
    BOOST_TEST(day[12] == "2018-01-15T12:00:00.000Z");
    BOOST_TEST(day.back() == "2018-01-16T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(days_weeks_months_and_years_in_utc) {
    // The seed's example: 2018-02-12 14:40 to 2018-02-16 14:40 is five days and one week.
    BOOST_TEST(ids(make("2018-02-12T14:40Z", "2018-02-16T14:40Z", bin_unit::day)) ==
                   (strings{"2018-02-12T00:00:00.000Z", "2018-02-13T00:00:00.000Z",
                            "2018-02-14T00:00:00.000Z", "2018-02-15T00:00:00.000Z",
                            "2018-02-16T00:00:00.000Z"}),
               boost::test_tools::per_element());
    BOOST_TEST(ids(make("2018-02-12T14:40Z", "2018-02-16T14:40Z", bin_unit::week)) ==
                   (strings{"2018-02-12T00:00:00.000Z"}),
               boost::test_tools::per_element());
    // ISO weeks start on Monday: Sunday 2018-02-18 is in the week of the 12th.
    BOOST_TEST(ids(make("2018-02-18T23:00Z", "2018-02-19T00:00Z", bin_unit::week)) ==
                   (strings{"2018-02-12T00:00:00.000Z", "2018-02-19T00:00:00.000Z"}),
               boost::test_tools::per_element());
    BOOST_TEST(ids(make("2018-01-31T10:00Z", "2018-03-01T00:00Z", bin_unit::month)) ==
                   (strings{"2018-01-01T00:00:00.000Z", "2018-02-01T00:00:00.000Z",
                            "2018-03-01T00:00:00.000Z"}),
               boost::test_tools::per_element());
    BOOST_TEST(ids(make("2016-06-01T00:00Z", "2018-01-01T00:00Z", bin_unit::year)) ==
                   (strings{"2016-01-01T00:00:00.000Z", "2017-01-01T00:00:00.000Z",
                            "2018-01-01T00:00:00.000Z"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(budapest_hours_when_summer_time_ends) {
    // 2022-10-30 03:00 CEST became 02:00 CET: the local hour 02:00 comes twice.
    auto h = make("2022-10-29T22:00Z", "2022-10-30T03:00Z", bin_unit::hour, "Europe/Budapest");
    BOOST_TEST(ids(h, "Europe/Budapest") ==
                   (strings{"2022-10-30T00:00:00.000+02:00", "2022-10-30T01:00:00.000+02:00",
                            "2022-10-30T02:00:00.000+02:00", "2022-10-30T02:00:00.000+01:00",
                            "2022-10-30T03:00:00.000+01:00", "2022-10-30T04:00:00.000+01:00"}),
               boost::test_tools::per_element());
    for (auto& b : h.bins())
        BOOST_TEST(b.end - b.begin == 3600 * 1'000'000LL);
}

BOOST_AUTO_TEST_CASE(budapest_hours_when_summer_time_begins) {
    // 2022-03-27 02:00 CET became 03:00 CEST: the local hour 02:00 never happened.
    auto h = make("2022-03-27T00:00Z", "2022-03-27T02:00Z", bin_unit::hour, "Europe/Budapest");
    BOOST_TEST(ids(h, "Europe/Budapest") ==
                   (strings{"2022-03-27T01:00:00.000+01:00", "2022-03-27T03:00:00.000+02:00",
                            "2022-03-27T04:00:00.000+02:00"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(budapest_days_are_23_or_25_hours_long_across_a_change) {
    auto autumn = make("2022-10-29T12:00Z", "2022-10-31T12:00Z", bin_unit::day, "Europe/Budapest");
    BOOST_TEST(ids(autumn, "Europe/Budapest") ==
                   (strings{"2022-10-29T00:00:00.000+02:00", "2022-10-30T00:00:00.000+02:00",
                            "2022-10-31T00:00:00.000+01:00"}),
               boost::test_tools::per_element());
    auto bins = autumn.bins();
    BOOST_TEST(bins[0].begin == at("2022-10-28T22:00Z"));
    BOOST_TEST(bins[1].begin == at("2022-10-29T22:00Z"));
    BOOST_TEST(bins[1].end - bins[1].begin == 25 * 3600 * 1'000'000LL);
    BOOST_TEST(bins[2].begin == at("2022-10-30T23:00Z"));

    auto spring = make("2022-03-27T12:00Z", "2022-03-27T12:00Z", bin_unit::day, "Europe/Budapest");
    auto day = spring.bins().at(0);
    BOOST_TEST(day.begin == at("2022-03-26T23:00Z"));
    BOOST_TEST(day.end - day.begin == 23 * 3600 * 1'000'000LL);
}

BOOST_AUTO_TEST_CASE(budapest_weeks_months_and_years_start_at_local_midnight) {
    BOOST_TEST(
        ids(make("2022-10-27T12:00Z", "2022-11-01T12:00Z", bin_unit::week, "Europe/Budapest"),
            "Europe/Budapest") ==
            (strings{"2022-10-24T00:00:00.000+02:00", "2022-10-31T00:00:00.000+01:00"}),
        boost::test_tools::per_element());
    BOOST_TEST(
        ids(make("2022-10-15T00:00Z", "2022-11-15T00:00Z", bin_unit::month, "Europe/Budapest"),
            "Europe/Budapest") ==
            (strings{"2022-10-01T00:00:00.000+02:00", "2022-11-01T00:00:00.000+01:00"}),
        boost::test_tools::per_element());
    // 2021-12-31T23:30Z is already 2022 in Budapest.
    BOOST_TEST(
        ids(make("2021-12-31T23:30Z", "2022-01-01T00:00Z", bin_unit::year, "Europe/Budapest"),
            "Europe/Budapest") == (strings{"2022-01-01T00:00:00.000+01:00"}),
        boost::test_tools::per_element());
    BOOST_TEST(ids(make("2021-12-31T22:30Z", "2022-01-01T00:00Z", bin_unit::day, "Europe/Budapest"),
                   "Europe/Budapest") ==
                   (strings{"2021-12-31T00:00:00.000+01:00", "2022-01-01T00:00:00.000+01:00"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(start_and_active_counts_with_zero_bins) {
    auto h = make("2018-01-15T10:00Z", "2018-01-15T15:59Z", bin_unit::hour);
    h.add(at("2018-01-15T12:30Z"), at("2018-01-15T14:10Z"));  // starts in 12, active 12 to 14
    h.add(at("2018-01-15T12:45Z"), at("2018-01-15T12:50Z"));  // starts and ends in 12
    h.add(at("2018-01-15T08:00Z"), at("2018-01-15T11:00Z"));  // started before the window
    h.add(at("2018-01-15T15:00Z"), at("2018-01-15T20:00Z"));  // runs past the window
    h.add(at("2018-01-15T13:00Z"), at("2018-01-15T14:00Z"));  // ends on a bin's first instant
    BOOST_TEST(start_counts(h) == (counts{0, 0, 2, 1, 0, 1}), boost::test_tools::per_element());
    BOOST_TEST(active_counts(h) == (counts{1, 1, 2, 2, 2, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sessions_outside_the_bins_count_nowhere) {
    auto h = make("2018-01-15T10:00Z", "2018-01-15T11:30Z", bin_unit::hour);
    h.add(at("2018-01-15T07:00Z"), at("2018-01-15T09:59:59Z"));
    h.add(at("2018-01-15T12:00Z"), at("2018-01-15T13:00Z"));
    BOOST_TEST(start_counts(h) == (counts{0, 0}), boost::test_tools::per_element());
    BOOST_TEST(active_counts(h) == (counts{0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(at_most_max_bins) {
    auto& utc = zone("Etc/UTC");
    auto start = at("2018-01-01T00:00Z");
    auto exactly = histogram::make(start, start + 9999 * 1'000'000LL, bin_unit::second, utc, 10000);
    BOOST_TEST_REQUIRE(exactly.has_value());
    BOOST_TEST(exactly->bins().size() == 10000u);
    BOOST_TEST(!histogram::make(start, start + 10000 * 1'000'000LL, bin_unit::second, utc, 10000)
                    .has_value());
    BOOST_TEST(
        !histogram::make(start, at("2019-01-01T00:00Z"), bin_unit::second, utc, 10000).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
