// libFuzzer target: the direct reader of stored bitmaps (store::append_values), differentially
// against CRoaring. Any bytes are refused, or read as strictly ascending values, as many as the
// header counts and the same as CRoaring reads where it accepts them too, each found by
// store::find_positions where it was read; the values written back
// (store::append_bitmap) read the same again.
#include "store/bitmap.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace audex;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    std::vector<std::uint32_t> values;
    try {
        store::append_values(raw, values);
    } catch (const std::runtime_error&) {
        return 0;
    }
    if (std::adjacent_find(values.begin(), values.end(), std::greater_equal<>()) != values.end())
        std::abort();  // not strictly ascending
    if (values.size() != store::bitmap_cardinality(raw)) std::abort();
    std::vector<std::uint32_t> positions(values.size());
    store::find_positions(raw, values, positions);
    for (std::size_t j = 0; j < values.size(); ++j)
        if (positions[j] != j) std::abort();  // each value found where it was read
    try {
        auto r = store::read_bitmap(raw);
        std::vector<std::uint32_t> theirs(r.cardinality());
        r.toUint32Array(theirs.data());
        if (theirs != values) std::abort();
    } catch (const std::runtime_error&) {
        // CRoaring refuses bytes that the direct reader accepts: nothing to compare
    }
    std::string written;
    store::append_bitmap(values, written);
    std::vector<std::uint32_t> again;
    store::append_values(written, again);
    if (again != values) std::abort();
    return 0;
}
