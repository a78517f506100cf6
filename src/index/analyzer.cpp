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

// Passes one word to `token`, case-folded and cut to max_token_bytes. An ASCII word is folded 8
// bytes at a time: `end` is where the text ends, as far as whole words may be read.
void emit(std::string_view word, const char* end, bool ascii,
          void (*token)(void*, std::string_view), void* context) {
    detail::token_buffer out;
    if (ascii) {
        auto n = detail::fold_ascii_word(word, end, out);
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

}  // namespace

namespace detail {

const text_bits& classify(std::string_view text) {
    thread_local text_bits bits;
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
    bits.run.resize(words);
    bits.multibyte.resize(words);
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
        bits.run[block] = r;
        bits.multibyte[block] = m;
        any_high |= m;
    }
    bits.unicode = any_high != 0;
    return bits;
}

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

}  // namespace detail

}  // namespace audex::index
