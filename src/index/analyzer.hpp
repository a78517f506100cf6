// The one analyzer of Audex, shared by indexing and querying: splits text into case-folded words
// of letters and digits (Unicode-aware), so that shell content is found the way an auditor types
// it: `nginx` finds `/var/log/nginx/error.log`, `10.0.0.1` is the phrase "10 0 0 1".
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace audex::index {

// Tokens longer than this many bytes are cut to it.
inline constexpr std::size_t max_token_bytes = 128;

// The bytes that can be read from the start of a token of `n` bytes that the analyzer passes: its
// own, then zeros up to the first multiple of 16 beyond its end.
constexpr std::size_t padded_token_bytes(std::size_t n) {
    return (n / 16 + 1) * 16;
}

namespace detail {

// Which bytes of a text may be part of a word (ASCII letters and digits, and every byte of a
// non-ASCII character) and, among them, the non-ASCII ones: one bit per byte, byte i as bit i % 64
// of word i / 64.
struct text_bits {
    std::vector<std::uint64_t> run, multibyte;
    bool unicode = false;  // whether any byte is not ASCII
};

// The bits of `text`, in buffers of the calling thread that the next call overwrites.
const text_bits& classify(std::string_view text);

// The first position from `from` on, below `size`, whose bit in `bits` is 1 (or 0 with `Clear`),
// else `size`.
template <bool Clear = false>
std::size_t next_bit(const std::vector<std::uint64_t>& bits, std::size_t from, std::size_t size) {
    for (; from < size; from = (from / 64 + 1) * 64) {
        auto word = (Clear ? ~bits[from / 64] : bits[from / 64]) >> (from % 64);
        if (word) return std::min(size, from + std::size_t(std::countr_zero(word)));
    }
    return size;
}

// A token's bytes and the zeros after them, in whole words.
using token_buffer = std::array<std::uint64_t, padded_token_bytes(max_token_bytes) / 8>;

// Lowercases the ASCII capitals among 8 bytes of ASCII (or zeros).
inline std::uint64_t fold_ascii(std::uint64_t w) {
    constexpr auto ones = ~std::uint64_t(0) / 0xff;  // 0x0101...01
    auto at_least_a = w + (0x80 - 'A') * ones;       // a byte's high bit: the byte is >= 'A'
    auto past_z = w + (0x80 - 'Z' - 1) * ones;       // a byte's high bit: the byte is > 'Z'
    return w | ((at_least_a & ~past_z & 0x80 * ones) >> 2);  // + 0x20 where a capital is
}

// A word of ASCII letters and digits, case-folded and cut to max_token_bytes, into `out` 8 bytes
// at a time: `end` is where the text ends, as far as whole words may be read. Returns its length.
inline std::size_t fold_ascii_word(std::string_view word, const char* end, token_buffer& out) {
    auto n = std::min(word.size(), max_token_bytes);
    auto readable = std::size_t(end - word.data());
    for (std::size_t w = 0, words = padded_token_bytes(n) / 8; w < words; ++w) {
        auto at = 8 * w;
        std::uint64_t bytes = 0;
        if (at < n) {
            if (readable - at >= 8) {
                std::memcpy(&bytes, word.data() + at, 8);
            } else {  // the text's last bytes
                std::memcpy(&bytes, word.data() + at, readable - at);
            }
            if (n - at < 8) {  // the first n - at bytes, the rest zero
                auto keep = (std::uint64_t(1) << (8 * (n - at))) - 1;
                bytes &= std::endian::native == std::endian::little
                             ? keep
                             : ~(~std::uint64_t(0) >> (8 * (n - at)));
            }
            bytes = fold_ascii(bytes);
        }
        out[w] = bytes;
    }
    return n;
}

// Passes the words of a run of letters, digits and non-ASCII characters, character by
// character: a character outside the word categories, or invalid UTF-8, separates words.
void analyze_unicode(std::string_view run, const char* end,
                     void (*token)(void* context, std::string_view word), void* context);

}  // namespace detail

// Calls `f(word)` for each token of `text`, in order; a token's position is its index, and the
// view it is given is valid during the call only; its bytes are followed by zeros
// (padded_token_bytes). Letters, digits and combining marks make words; everything else
// (punctuation, symbols, spaces, `_`, invalid UTF-8) separates them. Words are NFKC case-folded.
// Runs of ASCII letters, digits and bytes of other characters, between ASCII separators, are
// found from bitmaps of the text: a run of ASCII only is a word, folded here; another is split by
// character. The bitmaps are the thread's (detail::classify): `f` must not analyze text itself.
template <class F>
void for_each_token(std::string_view text, F&& f) {
    auto& bits = detail::classify(text);
    auto end = text.data() + text.size();
    detail::token_buffer buffer;
    for (auto at = detail::next_bit(bits.run, 0, text.size()); at < text.size();) {
        auto stop = detail::next_bit<true>(bits.run, at, text.size());
        auto word = text.substr(at, stop - at);
        if (!bits.unicode || detail::next_bit(bits.multibyte, at, stop) == stop) {
            auto n = detail::fold_ascii_word(word, end, buffer);
            f(std::string_view(reinterpret_cast<const char*>(buffer.data()), n));
        } else {
            detail::analyze_unicode(
                word, end,
                [](void* context, std::string_view w) {
                    (*static_cast<std::remove_reference_t<F>*>(context))(w);
                },
                &f);
        }
        at = detail::next_bit(bits.run, stop, text.size());
    }
}

// Appends the tokens of `text` to `out`.
inline void analyze(std::string_view text, std::vector<std::string>& out) {
    for_each_token(text, [&](std::string_view word) { out.emplace_back(word); });
}

inline std::vector<std::string> analyze(std::string_view text) {
    std::vector<std::string> out;
    analyze(text, out);
    return out;
}

}  // namespace audex::index
