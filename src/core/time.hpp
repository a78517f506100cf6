// Timestamps: microseconds since the Unix epoch, parsed from ISO 8601 or the object API's
// "2022-04-05 16:06:07.313862+02" form, and written back in either form.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace audex {

using micros = std::int64_t;

micros now_micros();

// A parsed point in time and the precision it was written with, so that `started_at:2022-04-05`
// can mean the whole day.
struct parsed_time {
    micros at;
    micros precision;  // length of the span the text names: a day, a minute, a second, 1 us...
};

// Accepts `YYYY-MM-DD`, then optionally `T` or a space, `HH:MM[:SS[.fraction]]`, then optionally
// `Z` or an offset `+HH`, `+HHMM`, `+HH:MM`. No offset means UTC.
std::optional<parsed_time> parse_time(std::string_view text);

// The same time of day `months` calendar months later (earlier when negative), in UTC; a day that
// the target month lacks becomes its last day (March 31 minus one month is February 28 or 29).
micros add_months(micros t, int months);

// "2022-04-05 16:06:07.313862+00": the object API's form (UTC; trailing zeros of the fraction
// dropped, no fraction for whole seconds).
std::string format_api_time(micros t);
// "2022-04-05T16:06:07.313862Z"-style ISO 8601 with `digits` fraction digits (0, 3 or 6).
std::string format_iso_time(micros t, int digits = 6, bool zulu = true);
// The local time at a UTC offset, in ISO 8601 with the offset: "2022-10-30T02:00:00.000+01:00".
std::string format_iso_time_at_offset(micros t, std::int32_t offset_seconds, int digits = 3);

}  // namespace audex
