// Plays an asciicast recording through a terminal emulator (libvterm) and turns what its screen
// showed into content records: the commands entered at a shell prompt, the screen text that stayed
// visible, and window titles. docs/import.md states the rules.
#pragma once

#include "index/content_index.hpp"
#include "ingest/asciicast.hpp"

#include <functional>
#include <vector>

namespace audex::ingest {

struct terminal_settings {
    micros min_visible = 1'000'000;  // screen text shown for less time is not kept
    micros prompt_pause = 50'000;    // without input events, output quiet this long after a
                                     // prompt means the shell waits for the user
};

// The records of a recording, in time order; `progress` hears the number of events played so far.
std::vector<index::content_record> terminal_records(
    const asciicast& cast, const terminal_settings& settings = {},
    const std::function<void(std::size_t)>& progress = {});

}  // namespace audex::ingest
