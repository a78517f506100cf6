// Tests of store/keys.hpp: fixed-width big-endian codecs round-trip and sort bytewise in numeric
// order, signed values included.
#include "store/keys.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace audex::store;

BOOST_AUTO_TEST_SUITE(store_keys)

BOOST_AUTO_TEST_CASE(layout) {
    BOOST_TEST(u64_key(0) == std::string(8, '\0'));
    BOOST_TEST(u64_key(0x0102030405060708ull) == "\x01\x02\x03\x04\x05\x06\x07\x08");
    std::string k;
    append_i64(k, 0);
    BOOST_TEST(k == std::string("\x80\0\0\0\0\0\0\0", 8));
    k.clear();
    append_i64(k, -1);
    BOOST_TEST(k == std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8));
    // Two integers side by side, read at an offset.
    k = u64_key(7);
    append_i64(k, -42);
    BOOST_TEST(k.size() == 16u);
    BOOST_TEST(read_u64(k) == 7u);
    BOOST_TEST(read_i64(k, 8) == -42);
    k.clear();
    append_u32(k, 0x01020304);
    BOOST_TEST(k == "\x01\x02\x03\x04");
    BOOST_TEST(read_u32(k) == 0x01020304u);
}

BOOST_AUTO_TEST_CASE(round_trips_and_orders) {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> u = {0, 1, 255, 256, ~0ull, 1ull << 63, (1ull << 63) - 1};
    std::vector<std::int64_t> s = {0, 1, -1, INT64_MIN, INT64_MAX, -256, 256};
    for (int i = 0; i < 2000; ++i) {
        u.push_back(rng() >> (rng() % 64));
        s.push_back(std::int64_t(rng() >> (rng() % 64)) * (i % 2 ? -1 : 1));
    }
    for (auto v : u)
        BOOST_TEST_REQUIRE(read_u64(u64_key(v)) == v);
    for (auto v : s) {
        std::string k;
        append_i64(k, v);
        BOOST_TEST_REQUIRE(read_i64(k) == v);
    }
    for (std::size_t i = 0; i + 1 < u.size(); ++i)
        BOOST_TEST_REQUIRE((u64_key(u[i]) < u64_key(u[i + 1])) == (u[i] < u[i + 1]),
                           u[i] << " vs " << u[i + 1]);
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        std::string a, b;
        append_i64(a, s[i]);
        append_i64(b, s[i + 1]);
        BOOST_TEST_REQUIRE((a < b) == (s[i] < s[i + 1]), s[i] << " vs " << s[i + 1]);
    }
}

BOOST_AUTO_TEST_SUITE_END()
