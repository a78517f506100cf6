// Roaring bitmaps as LMDB values: the portable serialization, run-optimized when written.
#pragma once

#include <roaring/roaring.hh>

#include <string>
#include <string_view>

namespace audex::store {

inline Roaring read_bitmap(std::string_view raw) {
    return Roaring::readSafe(raw.data(), raw.size());
}

inline std::string write_bitmap(Roaring& r) {
    r.runOptimize();
    std::string out(r.getSizeInBytes(), '\0');
    r.write(out.data());
    return out;
}

}  // namespace audex::store
