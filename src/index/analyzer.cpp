// The analyzer: an ASCII fast path, utf8proc for everything else.
#include "index/analyzer.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

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

bool ascii_word(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Passes one word to `token`, case-folded and cut to max_token_bytes.
void emit(std::string_view word, bool ascii, void (*token)(void*, std::string_view),
          void* context) {
    if (ascii) {
        char folded[max_token_bytes];
        auto n = std::min(word.size(), max_token_bytes);
        for (std::size_t i = 0; i < n; ++i) {
            auto c = word[i];
            folded[i] = c >= 'A' && c <= 'Z' ? char(c + 32) : c;
        }
        token(context, {folded, n});
        return;
    }
    utf8proc_uint8_t* folded = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(word.data()),
                          utf8proc_ssize_t(word.size()), &folded,
                          utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                            UTF8PROC_CASEFOLD));
    if (n < 0) return;
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(folded, &std::free);
    std::string_view out(reinterpret_cast<char*>(folded), std::size_t(n));
    if (out.size() > max_token_bytes) {
        // Cut at a character boundary.
        std::size_t cut = max_token_bytes;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80)
            --cut;
        out = out.substr(0, cut);
    }
    if (!out.empty()) token(context, out);
}

}  // namespace

void analyze(std::string_view text, void (*token)(void* context, std::string_view word),
             void* context) {
    std::size_t i = 0, start = 0;
    bool in_word = false, ascii = true;
    auto finish = [&](std::size_t end) {
        if (in_word) emit(text.substr(start, end - start), ascii, token, context);
        in_word = false;
        ascii = true;
    };
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (ascii_word(c)) {
                if (!in_word) {
                    in_word = true;
                    start = i;
                }
            } else {
                finish(i);
            }
            ++i;
            continue;
        }
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
            ascii = false;
        } else {
            finish(i);
        }
        i += std::size_t(n);
    }
    finish(text.size());
}

}  // namespace audex::index
