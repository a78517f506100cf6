// Small text functions shared by the query executors and the request parsers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace audex {

// ASCII lower case; other bytes are left as they are.
std::string lower_ascii(std::string_view s);

// Whether `text` matches a wildcard pattern: `*` any run, `?` any one byte, `\` escapes the next.
bool glob_match(std::string_view pattern, std::string_view text);

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view text);

// Levenshtein distance in bytes.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Client-chosen text (a method, a target, a message that quotes them) for a log line, percent-
// escaped so that it can forge neither fields nor lines: control bytes and bytes over 0x7E always;
// in a `field` also spaces, quotes and backslashes, so that a reader splits the line at its spaces
// and quotes. A well-formed target holds none of those bytes, so it is logged as it was sent.
std::string log_escaped(std::string_view text, bool field = true);

// The items of a comma-separated list (`fields`, `order`, `sort`), blanks around them trimmed and
// empty items dropped.
std::vector<std::string_view> split_list(std::string_view text);

}  // namespace audex
