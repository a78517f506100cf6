// The one analyzer of Audex, shared by indexing and querying: splits text into case-folded words
// of letters and digits (Unicode-aware), so that shell content is found the way an auditor types
// it: `nginx` finds `/var/log/nginx/error.log`, `10.0.0.1` is the phrase "10 0 0 1".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace audex::index {

// Tokens longer than this many bytes are cut to it.
inline constexpr std::size_t max_token_bytes = 128;

// Appends the tokens of `text` to `out`, in order; a token's position is its index. Letters,
// digits and combining marks make words; everything else (punctuation, symbols, spaces, `_`,
// invalid UTF-8) separates them. Words are NFKC case-folded.
void analyze(std::string_view text, std::vector<std::string>& out);

inline std::vector<std::string> analyze(std::string_view text) {
    std::vector<std::string> out;
    analyze(text, out);
    return out;
}

}  // namespace audex::index
