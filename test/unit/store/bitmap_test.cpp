// Tests of store/bitmap.hpp: the cardinality read from a stored bitmap's header agrees with the
// bitmap read whole, for arrays, bitsets and runs over one or many containers.
#include "store/bitmap.hpp"

#include <boost/test/unit_test.hpp>

#include <random>

using namespace audex::store;

BOOST_AUTO_TEST_SUITE(store_bitmap)

BOOST_AUTO_TEST_CASE(cardinality_from_the_header) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        Roaring r;
        auto containers = std::uniform_int_distribution<int>(0, 5)(rng);
        for (int c = 0; c < containers; ++c) {
            std::uint32_t base = std::uint32_t(std::uniform_int_distribution<int>(0, 300)(rng))
                                 << 16;
            switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
                case 0:  // a few scattered values: an array
                    for (int i = 0; i < 50; ++i)
                        r.add(base + rng() % 65536);
                    break;
                case 1:  // many scattered values: a bitset
                    for (int i = 0; i < 10000; ++i)
                        r.add(base + rng() % 65536);
                    break;
                default:  // a full container and a range: runs
                    r.addRange(base, base + 1 + rng() % 65536);
            }
        }
        auto stored = write_bitmap(r);
        BOOST_TEST(bitmap_cardinality(stored) == r.cardinality());
        BOOST_TEST(read_bitmap(stored).cardinality() == r.cardinality());
    }
}

BOOST_AUTO_TEST_SUITE_END()
