// The analyzer: an ASCII fast path, utf8proc for everything else.
#include "index/analyzer.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace audex::index {

namespace {

bool word_category(utf8proc_int32_t cp) {
    switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
        case UTF8PROC_CATEGORY_MN:
        case UTF8PROC_CATEGORY_MC:
        case UTF8PROC_CATEGORY_ME:
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
            return true;
        default:
            return false;
    }
}

// A token's bytes and the zeros after them, in whole words.
using token_buffer = std::array<std::uint64_t, padded_token_bytes(max_token_bytes) / 8>;

// The first `n` bytes (at most 8) of a word, the rest zero.
std::uint64_t first_bytes(std::uint64_t word, std::size_t n) {
    if (n >= 8) return word;
    auto keep = (std::uint64_t(1) << (8 * n)) - 1;
    return word &
           (std::endian::native == std::endian::little ? keep : ~(~std::uint64_t(0) >> (8 * n)));
}

// Lowercases the ASCII capitals among 8 bytes of ASCII (or zeros).
std::uint64_t fold_ascii(std::uint64_t w) {
    constexpr auto ones = ~std::uint64_t(0) / 0xff;  // 0x0101...01
    auto at_least_a = w + (0x80 - 'A') * ones;       // a byte's high bit: the byte is >= 'A'
    auto past_z = w + (0x80 - 'Z' - 1) * ones;       // a byte's high bit: the byte is > 'Z'
    return w | ((at_least_a & ~past_z & 0x80 * ones) >> 2);  // + 0x20 where a capital is
}

// Passes one word to `token`, case-folded and cut to max_token_bytes. An ASCII word is folded 8
// bytes at a time: `end` is where the text ends, as far as whole words may be read.
void emit(std::string_view word, const char* end, bool ascii,
          void (*token)(void*, std::string_view), void* context) {
    token_buffer out;
    if (ascii) {
        auto n = std::min(word.size(), max_token_bytes);
        auto readable = std::size_t(end - word.data());
        for (std::size_t w = 0, words = padded_token_bytes(n) / 8; w < words; ++w) {
            auto at = 8 * w;
            std::uint64_t bytes = 0;
            if (at < n) {
                if (readable - at >= 8) {
                    std::memcpy(&bytes, word.data() + at, 8);
                } else {  // the text's last bytes
                    std::array<char, 8> tail{};
                    std::memcpy(tail.data(), word.data() + at, readable - at);
                    std::memcpy(&bytes, tail.data(), 8);
                }
                bytes = fold_ascii(first_bytes(bytes, n - at));
            }
            out[w] = bytes;
        }
        token(context, {reinterpret_cast<const char*>(out.data()), n});
        return;
    }
    utf8proc_uint8_t* folded = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                          utf8proc_ssize_t(word.size()), &folded,
                          utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                            UTF8PROC_CASEFOLD));
    if (n < 0) return;
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(folded, &std::free);
    std::string_view text(reinterpret_cast<char*>(folded), std::size_t(n));
    if (text.size() > max_token_bytes) {
        // Cut at a character boundary.
        std::size_t cut = max_token_bytes;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
            --cut;
        text = text.substr(0, cut);
    }
    if (text.empty()) return;
    std::fill_n(out.begin(), padded_token_bytes(text.size()) / 8, 0);
    std::memcpy(out.data(), text.data(), text.size());
    token(context, {reinterpret_cast<const char*>(out.data()), text.size()});
}

// Marks, one bit per byte of `text` (byte i as bit i % 64 of word i / 64), the bytes that may be
// part of a word (ASCII letters and digits, and every byte of a non-ASCII character) and, among
// them, the non-ASCII ones, 8 bytes classified at a time; returns whether any byte is not ASCII.
bool classify(std::string_view text, std::vector<std::uint64_t>& run,
              std::vector<std::uint64_t>& multibyte) {
    constexpr auto ones = ~std::uint64_t(0) / 0xff;  // 0x0101...01
    // The high bit of each byte of `v` (bytes below 0x80) that is in [lo, hi].
    auto in_range = [](std::uint64_t v, unsigned char lo, unsigned char hi) {
        return (v + (0x80 - lo) * ones) & ~(v + (0x7f - hi) * ones) & 0x80 * ones;
    };
    // The high bits of the bytes as 8 bits, the first byte's lowest.
    auto gather = [](std::uint64_t high_bits) {
        return (((high_bits >> 7) * 0x0102040810204080u) >> 56) & 0xff;
    };
    auto words = (text.size() + 63) / 64;
    run.resize(words);
    multibyte.resize(words);
    std::uint64_t any_high = 0;
    for (std::size_t block = 0; block < words; ++block) {
        std::uint64_t r = 0, m = 0;
        for (std::size_t k = 0, at = block * 64; k < 8 && at < text.size(); ++k, at += 8) {
            std::uint64_t w = 0;
            if (text.size() - at >= 8)
                std::memcpy(&w, text.data() + at, 8);
            else
                std::memcpy(&w, text.data() + at, text.size() - at);
            if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
            auto high = w & 0x80 * ones, low = w & 0x7f * ones;
            auto alnum = in_range(low | 0x20 * ones, 'a', 'z') | in_range(low, '0', '9');
            r |= gather(alnum | high) << (8 * k);
            m |= gather(high) << (8 * k);
        }
        run[block] = r;
        multibyte[block] = m;
        any_high |= m;
    }
    return any_high != 0;
}

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

// Passes the words of `text`, whose characters are all letters, digits or not ASCII, character by
// character: a character outside the word categories, or invalid UTF-8, separates words.
void analyze_unicode(std::string_view text, const char* end,
                     void (*token)(void* context, std::string_view word), void* context) {
    std::size_t i = 0, start = 0;
    bool in_word = false, ascii = true;
    auto finish = [&](std::size_t at) {
        if (in_word) emit(text.substr(start, at - start), end, ascii, token, context);
        in_word = false;
        ascii = true;
    };
    while (i < text.size()) {
        utf8proc_int32_t cp;
        auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                  utf8proc_ssize_t(text.size() - i), &cp);
        if (n <= 0) {  // invalid UTF-8 separates words
            finish(i);
            ++i;
            continue;
        }
        if (word_category(cp)) {
            if (!in_word) {
                in_word = true;
                start = i;
            }
            ascii = ascii && cp < 0x80;
        } else {
            finish(i);
        }
        i += std::size_t(n);
    }
    finish(text.size());
}

}  // namespace

void analyze(std::string_view text, void (*token)(void* context, std::string_view word),
             void* context) {
    // Runs of ASCII letters, digits and bytes of other characters, between ASCII separators, found
    // from bitmaps of the text: a run of ASCII only is a word; another is split by character.
    thread_local std::vector<std::uint64_t> run, multibyte;
    bool unicode = classify(text, run, multibyte);
    auto end = text.data() + text.size();
    for (auto at = next_bit(run, 0, text.size()); at < text.size();) {
        auto stop = next_bit<true>(run, at, text.size());
        auto word = text.substr(at, stop - at);
        if (!unicode || next_bit(multibyte, at, stop) == stop)
            emit(word, end, true, token, context);
        else
            analyze_unicode(word, end, token, context);
        at = next_bit(run, stop, text.size());
    }
}

}  // namespace audex::index
