// Small text functions shared by the query executors and the request parsers.
#pragma once

#include <string>
#include <string_view>

namespace audex {

// ASCII lower case; other bytes are left as they are.
std::string lower_ascii(std::string_view s);

// Whether `text` matches a wildcard pattern: `*` any run, `?` any one byte, `\` escapes the next.
bool glob_match(std::string_view pattern, std::string_view text);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

// Levenshtein distance in bytes.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace audex
