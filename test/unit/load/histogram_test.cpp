// Tests of load::histogram: bucket boundaries are contiguous and within 1/128 of the value, and
// percentiles, min, max and mean agree with an exact computation over the same values.
#include "load/histogram.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using audex::load::histogram;

BOOST_AUTO_TEST_SUITE(load_histogram)

BOOST_AUTO_TEST_CASE(buckets_cover_every_value_once_and_are_narrow) {
    for (std::size_t b = 0; b + 1 < histogram::bucket_count; ++b) {
        BOOST_TEST_REQUIRE(histogram::highest_in(b) + 1 == histogram::lowest_in(b + 1));
        BOOST_TEST_REQUIRE(histogram::bucket_of(histogram::lowest_in(b)) == b);
        BOOST_TEST_REQUIRE(histogram::bucket_of(histogram::highest_in(b)) == b);
        auto width = histogram::highest_in(b) - histogram::lowest_in(b) + 1;
        BOOST_TEST_REQUIRE(width * 128 <= std::max<std::uint64_t>(128, histogram::lowest_in(b)));
    }
    BOOST_TEST(histogram::bucket_of(0) == 0u);
    BOOST_TEST(histogram::bucket_of(255) == 255u);
    BOOST_TEST(histogram::bucket_of(UINT64_MAX) == histogram::bucket_count - 1);
    BOOST_TEST(histogram::highest_in(histogram::bucket_count - 1) == UINT64_MAX);
}

BOOST_AUTO_TEST_CASE(small_values_are_exact) {
    histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v)
        h.record(v);
    BOOST_TEST(h.count() == 100u);
    BOOST_TEST(h.percentile(50) == 50u);
    BOOST_TEST(h.percentile(90) == 90u);
    BOOST_TEST(h.percentile(99) == 99u);
    BOOST_TEST(h.percentile(99.9) == 100u);
    BOOST_TEST(h.percentile(100) == 100u);
    BOOST_TEST(h.percentile(0) == 1u);
    BOOST_TEST(h.min() == 1u);
    BOOST_TEST(h.max() == 100u);
    BOOST_TEST(h.mean() == 50.5);
}

BOOST_AUTO_TEST_CASE(percentiles_match_the_sorted_values_within_the_precision) {
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> latency(7.0, 1.5);  // microseconds, a long tail
    std::vector<std::uint64_t> values;
    histogram h;
    for (int i = 0; i < 100000; ++i) {
        auto v = static_cast<std::uint64_t>(latency(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
        auto rank = static_cast<std::size_t>(std::ceil(p / 100 * values.size()));
        auto exact = values[rank - 1];
        auto got = h.percentile(p);
        BOOST_TEST_INFO("percentile " << p);
        BOOST_TEST(got >= exact);
        BOOST_TEST(static_cast<double>(got - exact) <= static_cast<double>(exact) / 128 + 1);
    }
    BOOST_TEST(h.max() == values.back());
    BOOST_TEST(h.min() == values.front());
    BOOST_TEST(h.percentile(100) == values.back());
}

BOOST_AUTO_TEST_CASE(add_merges_and_reset_empties) {
    histogram a, b, both;
    for (std::uint64_t v : {10, 2000, 300000}) {
        a.record(v);
        both.record(v);
    }
    for (std::uint64_t v : {5, 70000}) {
        b.record(v, 3);
        both.record(v, 3);
    }
    a.add(b);
    BOOST_TEST(a.count() == 9u);
    BOOST_TEST(a.min() == 5u);
    BOOST_TEST(a.max() == 300000u);
    BOOST_TEST(a.mean() == both.mean());
    for (double p : {10.0, 50.0, 70.0, 99.0})
        BOOST_TEST(a.percentile(p) == both.percentile(p));
    a.reset();
    BOOST_TEST(a.count() == 0u);
    BOOST_TEST(a.percentile(99) == 0u);
    BOOST_TEST(a.max() == 0u);
    BOOST_TEST(a.min() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
