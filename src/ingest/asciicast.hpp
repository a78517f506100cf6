// asciicast v2 recordings as `asciinema rec` writes them: a JSON header line, then one
// `[time, code, data]` event a line (docs/import.md).
#pragma once

#include "core/time.hpp"

#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace audex::ingest {

// A recording that is not asciicast v2; the message names the file's line.
struct asciicast_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct asciicast_event {
    double time = 0;   // seconds since the recording started
    char code = 'o';   // 'o' output, 'i' input, 'r' resize ("COLSxROWS"); others are kept as read
    std::string data;  // UTF-8
};

struct asciicast {
    int width = 80, height = 24;
    micros started = 0;  // the header's timestamp
    std::string command, title;
    std::vector<asciicast_event> events;

    // When the last event happened.
    micros finished() const;
};

// Reads a whole recording; `name` prefixes error messages.
asciicast read_asciicast(std::istream& in, const std::string& name);

}  // namespace audex::ingest
