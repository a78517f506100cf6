// Tests of store/bitmap.hpp: the cardinality read from a stored bitmap's header agrees with the
// bitmap read whole; bitmaps written from sorted values are the bytes CRoaring writes; values read
// directly are the bitmap's; the positions found are CRoaring's ranks and the values found held are
// its members; damaged bitmaps are refused, for arrays, bitsets and runs over one or many
// containers.
#include "store/bitmap.hpp"

#include <boost/test/unit_test.hpp>

#include <numeric>
#include <random>

using namespace audex::store;

namespace {

// A random bitmap of up to `most` containers, each an array, a bitset or runs.
Roaring random_bitmap(std::mt19937& rng, int most) {
    Roaring r;
    auto containers = std::uniform_int_distribution<int>(0, most)(rng);
    for (int c = 0; c < containers; ++c) {
        std::uint32_t base = std::uint32_t(std::uniform_int_distribution<int>(0, 300)(rng)) << 16;
        switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
            case 0:  // a few scattered values: an array
                for (int i = 0; i < 50; ++i)
                    r.add(base + rng() % 65536);
                break;
            case 1:  // many scattered values: a bitset
                for (int i = 0; i < 10000; ++i)
                    r.add(base + rng() % 65536);
                break;
            case 2:  // short runs close together: runs or an array, whichever is smaller
                for (std::uint32_t at = rng() % 1000; at < 65536; at += 2 + rng() % 40)
                    r.addRange(base + at,
                               base + std::min<std::uint32_t>(65536, at + 1 + rng() % 3));
                break;
            case 3: {  // one value, or two in a row (as small as runs as an array: an array)
                auto at = base + rng() % 65535;
                r.addRange(at, at + 1 + rng() % 2);
                break;
            }
            default:  // a full container or a range: runs
                r.addRange(base, base + 1 + rng() % 65536);
        }
    }
    return r;
}

std::vector<std::uint32_t> values_of(const Roaring& r) {
    std::vector<std::uint32_t> out(r.cardinality());
    r.toUint32Array(out.data());
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_bitmap)

BOOST_AUTO_TEST_CASE(cardinality_from_the_header) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        auto r = random_bitmap(rng, 5);
        auto stored = write_bitmap(r);
        BOOST_TEST(bitmap_cardinality(stored) == r.cardinality());
        BOOST_TEST(read_bitmap(stored).cardinality() == r.cardinality());
    }
}

BOOST_AUTO_TEST_CASE(sorted_values_are_written_as_croaring_writes_their_bitmap) {
    std::mt19937 rng(11);
    for (int round = 0; round < 400; ++round) {
        auto r = random_bitmap(rng, round % 2 ? 3 : 9);  // with and without container offsets
        auto values = values_of(r);
        Roaring added(values.size(), values.data());  // as values, not ranges (runs)
        std::string direct = "prefix";
        append_bitmap(values, direct);
        BOOST_TEST(direct == "prefix" + write_bitmap(added));
    }
}

BOOST_AUTO_TEST_CASE(values_are_read_from_any_stored_bitmap) {
    std::mt19937 rng(13);
    for (int round = 0; round < 400; ++round) {
        auto r = random_bitmap(rng, 9);
        // As written run-optimized, and as CRoaring keeps it otherwise (ranges added as runs).
        std::string plain(r.getSizeInBytes(), '\0');
        r.write(plain.data());
        for (const auto& stored : {plain, write_bitmap(r)}) {
            std::vector<std::uint32_t> values{42};  // appended after what is there
            append_values(stored, values);
            auto expected = values_of(r);
            expected.insert(expected.begin(), 42);
            BOOST_TEST(values == expected, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(positions_are_the_ranks_of_the_values_held_and_held_are_found) {
    std::mt19937 rng(19);
    for (int round = 0; round < 100; ++round) {
        auto r = random_bitmap(rng, 9);
        std::string plain(r.getSizeInBytes(), '\0');
        r.write(plain.data());
        // Values held and not, near and between the containers, few or many, ascending.
        std::vector<std::uint32_t> values;
        auto held = values_of(r);
        auto sample = std::uniform_int_distribution<int>(0, 3)(rng);
        for (auto v : held)
            if (rng() % 4 < unsigned(sample)) values.push_back(v);
        for (int i = 0; i < 200; ++i)
            values.push_back(std::uint32_t(rng() % (302u << 16)));
        values.push_back(0xffffffffu);
        std::sort(values.begin(), values.end());
        values.erase(std::unique(values.begin(), values.end()), values.end());
        for (const auto& stored : {plain, write_bitmap(r)}) {
            std::vector<std::uint32_t> positions(values.size(), 7), expected;
            for (auto v : values)
                expected.push_back(r.contains(v) ? std::uint32_t(r.rank(v) - 1) : absent);
            find_positions(stored, values, positions);
            BOOST_TEST(positions == expected);
            std::vector<std::uint32_t> held{1}, expected_held{1};  // appended after what is there
            for (std::size_t j = 0; j < values.size(); ++j)
                if (expected[j] != absent) expected_held.push_back(values[j]);
            find_held(stored, values, held);
            BOOST_TEST(held == expected_held);
        }
    }
}

BOOST_AUTO_TEST_CASE(damaged_bitmaps_are_refused) {
    std::mt19937 rng(17);
    for (int round = 0; round < 300; ++round) {
        auto r = random_bitmap(rng, 6);
        auto stored = write_bitmap(r);
        // Truncations are refused (a dozen of them: the sanitizers' stack checks make each
        // exception costly).
        std::vector<std::uint32_t> all = values_of(r), positions(all.size());
        for (std::size_t cut = 0; cut < stored.size(); cut += 1 + stored.size() / 12) {
            std::vector<std::uint32_t> values;
            BOOST_CHECK_THROW(append_values(stored.substr(0, cut), values), std::runtime_error);
            BOOST_CHECK_THROW(find_positions(stored.substr(0, cut), all, positions),
                              std::runtime_error);
        }
        // A changed byte is refused, or read as ascending values as many as the header says.
        auto changed = stored;
        changed[rng() % changed.size()] ^= char(1 + rng() % 255);
        std::vector<std::uint32_t> values;
        try {
            append_values(changed, values);
        } catch (const std::runtime_error&) {
            continue;
        }
        BOOST_TEST(std::is_sorted(values.begin(), values.end()));
        BOOST_TEST((std::adjacent_find(values.begin(), values.end()) == values.end()));
        BOOST_TEST(values.size() == bitmap_cardinality(changed));
        std::vector<std::uint32_t> found(values.size()), expected(values.size());
        std::iota(expected.begin(), expected.end(), 0u);
        find_positions(changed, values, found);
        BOOST_TEST(found == expected);
    }
}

BOOST_AUTO_TEST_SUITE_END()
