// Roaring bitmaps as LMDB values: the portable serialization, run-optimized when written.
#pragma once

#include <roaring/roaring.hh>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace audex::store {

inline Roaring read_bitmap(std::string_view raw) {
    return Roaring::readSafe(raw.data(), raw.size());
}

// The number of values of a stored bitmap, from the header of the portable format (the key and
// cardinality of each container) without reading the containers.
std::uint64_t bitmap_cardinality(std::string_view raw);

// Appends the values of a stored bitmap to `out`, in ascending order, without building a bitmap.
// Throws std::runtime_error when `raw` is not a portable serialization.
void append_values(std::string_view raw, std::vector<std::uint32_t>& out);

// Where each of `values` (ascending) stands in a stored bitmap: out[j] is the number of the
// bitmap's values less than values[j] when the bitmap holds it, `absent` when it does not. Walks
// the containers without reading them whole. Throws std::runtime_error when `raw` is not a
// portable serialization as far as its bounds and counts show (the order of an array's values is
// not checked: out of order, they give wrong answers, never a read out of bounds or a position
// past the bitmap's count); `out` has as many elements as `values`.
constexpr std::uint32_t absent = ~std::uint32_t(0);
void find_positions(std::string_view raw, std::span<const std::uint32_t> values,
                    std::span<std::uint32_t> out);

// Appends to `out` those of `values` (ascending) that a stored bitmap holds. Throws
// std::runtime_error as find_positions does.
void find_held(std::string_view raw, std::span<const std::uint32_t> values,
               std::vector<std::uint32_t>& out);

// Appends the bitmap to `out`.
inline void append_bitmap(Roaring& r, std::string& out) {
    r.runOptimize();
    auto at = out.size();
    out.resize(at + r.getSizeInBytes());
    r.write(out.data() + at);
}

// Appends the bitmap of `values` (ascending, distinct) to `out`, byte for byte as the bitmap
// built of them would be written, without building it.
void append_bitmap(std::span<const std::uint32_t> values, std::string& out);

inline std::string write_bitmap(Roaring& r) {
    std::string out;
    append_bitmap(r, out);
    return out;
}

}  // namespace audex::store
