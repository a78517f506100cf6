// Key codecs: fixed-width big-endian integers so that LMDB's byte order is numeric order.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace audex::store {

inline void append_u64(std::string& out, std::uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    out.append(reinterpret_cast<const char*>(&v), 8);
}

// Signed values are stored with the sign bit flipped, so negatives sort first.
inline void append_i64(std::string& out, std::int64_t v) {
    append_u64(out, std::uint64_t(v) ^ (1ull << 63));
}

inline void append_u32(std::string& out, std::uint32_t v) {
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    out.append(reinterpret_cast<const char*>(&v), 4);
}

inline std::uint32_t read_u32(std::string_view bytes, std::size_t offset = 0) {
    std::uint32_t v;
    std::memcpy(&v, bytes.data() + offset, 4);
    return std::endian::native == std::endian::big ? v : __builtin_bswap32(v);
}

inline std::string u64_key(std::uint64_t v) {
    std::string out;
    append_u64(out, v);
    return out;
}

inline std::uint64_t read_u64(std::string_view bytes, std::size_t offset = 0) {
    std::uint64_t v;
    std::memcpy(&v, bytes.data() + offset, 8);
    return std::endian::native == std::endian::big ? v : __builtin_bswap64(v);
}

inline std::int64_t read_i64(std::string_view bytes, std::size_t offset = 0) {
    return std::int64_t(read_u64(bytes, offset) ^ (1ull << 63));
}

}  // namespace audex::store
