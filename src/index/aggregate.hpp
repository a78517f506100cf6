// Aggregations over selected sessions, apart from HTTP and storage so that they can be tested and
// benchmarked alone: the top values of a field (statistics) and time histograms whose bins follow
// a time zone's local calendar (Howard Hinnant's date/tz on the system's tzdata).
#pragma once

#include "core/schema.hpp"
#include "core/time.hpp"
#include "store/field_index.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace date {
class time_zone;
}

namespace audex::index {

// ---- statistics ------------------------------------------------------------------------------

struct value_count {
    boost::json::value value;  // as the caller gave it
    std::uint64_t count;
};

struct top_values {
    std::vector<value_count> items;  // count descending, then value ascending
    std::uint64_t others = 0;        // distinct values left out
};

// Counts the distinct values of one field. Values are compared exactly (as JSON); the order of
// equal counts is the field's own order (numbers numerically, strings without regard to case).
class value_counter {
  public:
    explicit value_counter(const attribute& field) : field_(field) {}

    // Counts `count` occurrences; null is no value and is not counted.
    void add(const boost::json::value& v, std::uint64_t count = 1);
    // The `size` most frequent values, and how many distinct values did not fit.
    top_values top(std::size_t size) const;

  private:
    const attribute& field_;
    std::unordered_map<std::string, value_count> counts_;  // by the value's JSON text
};

// ---- histograms ------------------------------------------------------------------------------

enum class bin_unit { second, minute, hour, day, week, month, year };

std::optional<bin_unit> parse_bin_unit(std::string_view name);
std::string_view bin_unit_name(bin_unit unit);

// The time zone with this IANA name (Etc/UTC, Europe/Budapest, ...), or nullptr.
const date::time_zone* find_time_zone(std::string_view name);
// The zone's offset from UTC at `t`, in seconds.
std::int32_t utc_offset(const date::time_zone& zone, micros t);

struct histogram_bin {
    micros begin, end;            // [begin, end) in UTC
    std::int32_t offset_seconds;  // the zone's UTC offset at `begin`
    std::uint64_t start_count = 0, active_count = 0;
};

// Bins that follow the local calendar of a time zone: seconds, minutes and hours are fixed
// lengths aligned to local boundaries (a DST change gives an hour whose local start repeats or is
// skipped, told apart by its offset); days, weeks (ISO, from Monday), months and years run from
// local midnight to local midnight, so that they are 23 or 25 hours long across a change.
class histogram : public store::span_sink {
  public:
    // Bins from the one holding `start` to the one holding `end` (both inclusive), or nullopt when
    // that takes more than `max_bins`.
    static std::optional<histogram> make(micros start, micros end, bin_unit unit,
                                         const date::time_zone& zone, std::size_t max_bins);

    // The span the bins cover: [begin, end).
    micros begin() const { return bins_.front().begin; }
    micros end() const { return bins_.back().end; }

    // Counts a session that started at `started` and ended at `ended` (now, while it is active):
    // once in the bin of its start, and in every bin that its span [started, ended] overlaps.
    void add(micros started, micros ended) override;

    // The same counts by groups (store::field_index::count_spans), with times in the span.
    bool same_bin(micros a, micros b) override { return bin_of(a) == bin_of(b); }
    void add_started(micros t, std::uint64_t n) override;
    void add_ended(micros t, std::uint64_t n) override;
    void add_spanning(std::uint64_t n) override { active_delta_[0] += std::int64_t(n); }

    // The bins with their counts.
    std::vector<histogram_bin> bins() const;

  private:
    histogram() = default;
    std::size_t bin_of(micros t);  // the index of the bin holding t, which is in the span

    std::vector<histogram_bin> bins_;
    std::vector<std::int64_t> active_delta_;  // active counts as differences between bins
    std::size_t last_bin_ = 0;                // where bin_of() found the last time
};

// A bin's id: its start in local time, ISO 8601 with milliseconds, with `Z` for a zone that is
// always UTC and the offset (`+01:00`) otherwise.
std::string bin_id(const histogram_bin& bin, const date::time_zone& zone);
// Whether a zone keeps offset 0 for ever (Etc/UTC and its aliases).
bool is_utc(const date::time_zone& zone);

}  // namespace audex::index
