// The one analyzer of Audex, shared by indexing and querying: splits text into case-folded words
// of letters and digits (Unicode-aware), so that shell content is found the way an auditor types
// it: `nginx` finds `/var/log/nginx/error.log`, `10.0.0.1` is the phrase "10 0 0 1".
#pragma once

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

// Calls `token(context, word)` for each token of `text`, in order; a token's position is its
// index, and the view it is given is valid during the call only; its bytes are followed by zeros
// (padded_token_bytes). Letters, digits and combining marks make words; everything else
// (punctuation, symbols, spaces, `_`, invalid UTF-8) separates them. Words are NFKC case-folded.
void analyze(std::string_view text, void (*token)(void* context, std::string_view word),
             void* context);

// The same with any callable taking a std::string_view.
template <class F>
void for_each_token(std::string_view text, F&& f) {
    analyze(
        text,
        [](void* context, std::string_view word) {
            (*static_cast<std::remove_reference_t<F>*>(context))(word);
        },
        &f);
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
