// Roaring bitmaps as LMDB values: the portable serialization, run-optimized when written.
#pragma once

#include <roaring/roaring.hh>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace audex::store {

inline Roaring read_bitmap(std::string_view raw) {
    return Roaring::readSafe(raw.data(), raw.size());
}

// The number of values of a stored bitmap, from the header of the portable format (the key and
// cardinality of each container) without reading the containers.
inline std::uint64_t bitmap_cardinality(std::string_view raw) {
    static_assert(std::endian::native == std::endian::little, "the format is little-endian");
    constexpr std::uint32_t with_runs = 12347, without_runs = 12346;  // the format's cookies
    auto u32 = [&](std::size_t at) {
        std::uint32_t v = 0;
        if (at + 4 <= raw.size()) std::memcpy(&v, raw.data() + at, 4);
        return v;
    };
    std::uint32_t cookie = u32(0), containers;
    std::size_t at;
    if ((cookie & 0xffff) == with_runs) {
        containers = (cookie >> 16) + 1;
        at = 4 + (containers + 7) / 8;  // after the bitset of run containers
    } else if (cookie == without_runs) {
        containers = u32(4);
        at = 8;
    } else {
        return read_bitmap(raw).cardinality();  // rejected there as the format it is not
    }
    if (raw.size() < at + 4ull * containers) return read_bitmap(raw).cardinality();
    std::uint64_t count = 0;
    for (std::uint32_t i = 0; i < containers; ++i) {
        std::uint16_t less_one;  // a container holds 1 to 65,536 values
        std::memcpy(&less_one, raw.data() + at + 4 * i + 2, 2);
        count += less_one + 1u;
    }
    return count;
}

// Appends the bitmap to `out`.
inline void append_bitmap(Roaring& r, std::string& out) {
    r.runOptimize();
    auto at = out.size();
    out.resize(at + r.getSizeInBytes());
    r.write(out.data() + at);
}

inline std::string write_bitmap(Roaring& r) {
    std::string out;
    append_bitmap(r, out);
    return out;
}

}  // namespace audex::store
