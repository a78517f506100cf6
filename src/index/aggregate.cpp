// Statistics counting and calendar histograms (see aggregate.hpp).
#include "index/aggregate.hpp"

#include "store/object_filter.hpp"

#include <date/tz.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace audex::index {

namespace json = boost::json;
using std::chrono::microseconds;
using std::chrono::seconds;

// ---- statistics ------------------------------------------------------------------------------

void value_counter::add(const json::value& v, std::uint64_t count) {
    if (v.is_null()) return;
    auto [it, added] = counts_.try_emplace(json::serialize(v), value_count{v, 0});
    it->second.count += count;
}

top_values value_counter::top(std::size_t size) const {
    std::vector<std::pair<const std::string*, const value_count*>> all;
    all.reserve(counts_.size());
    for (auto& [text, c] : counts_)
        all.emplace_back(&text, &c);
    auto before = [&](auto& a, auto& b) {
        if (a.second->count != b.second->count) return a.second->count > b.second->count;
        if (int c = store::compare_stored(field_, &a.second->value, &b.second->value)) return c < 0;
        return *a.first < *b.first;  // values equal but for case: a fixed order all the same
    };
    auto kept = std::min(size, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(kept), all.end(), before);
    top_values out;
    for (std::size_t i = 0; i < kept; ++i)
        out.items.push_back(*all[i].second);
    out.others = all.size() - kept;
    return out;
}

// ---- histograms ------------------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, 7> unit_names{"second", "minute", "hour", "day",
                                                     "week",   "month",  "year"};
constexpr micros us_per_second = 1'000'000;

micros floor_mod(micros a, micros b) {
    auto r = a % b;
    return r < 0 ? r + b : r;
}

// The length of the fixed-length units; 0 for the calendar ones.
micros fixed_length(bin_unit unit) {
    switch (unit) {
        case bin_unit::second:
            return us_per_second;
        case bin_unit::minute:
            return 60 * us_per_second;
        case bin_unit::hour:
            return 3600 * us_per_second;
        default:
            return 0;
    }
}

// The local day that starts the calendar unit holding local day `d`, shifted by `steps` units.
date::local_days calendar_start(date::local_days d, bin_unit unit, int steps) {
    date::year_month_day ymd{d};
    switch (unit) {
        case bin_unit::day:
            return d + date::days(steps);
        case bin_unit::week:
            return d - (date::weekday(d) - date::Monday) + date::days(7 * steps);
        case bin_unit::month: {
            auto ym = date::year_month(ymd.year(), ymd.month()) + date::months(steps);
            return date::local_days(ym / 1);
        }
        default:
            return date::local_days((ymd.year() + date::years(steps)) / 1 / 1);
    }
}

// The start of the bin holding `t`, shifted by `steps` bins.
micros bin_start(micros t, bin_unit unit, const date::time_zone& zone, int steps) {
    auto offset = micros(utc_offset(zone, t)) * us_per_second;
    if (auto length = fixed_length(unit)) return t - floor_mod(t + offset, length) + steps * length;
    auto local = date::local_time<microseconds>(microseconds(t + offset));
    auto start = calendar_start(date::floor<date::days>(local), unit, steps);
    // A local midnight that a DST change skips maps to the change; one that repeats, to its first.
    auto sys = zone.to_sys(date::local_seconds(start), date::choose::earliest);
    return std::chrono::duration_cast<microseconds>(sys.time_since_epoch()).count();
}

}  // namespace

std::optional<bin_unit> parse_bin_unit(std::string_view name) {
    for (std::size_t i = 0; i < unit_names.size(); ++i)
        if (unit_names[i] == name) return bin_unit(i);
    return std::nullopt;
}

std::string_view bin_unit_name(bin_unit unit) {
    return unit_names[std::size_t(unit)];
}

std::int32_t utc_offset(const date::time_zone& zone, micros t) {
    auto at = date::floor<seconds>(date::sys_time<microseconds>(microseconds(t)));
    return std::int32_t(zone.get_info(at).offset.count());
}

const date::time_zone* find_time_zone(std::string_view name) {
    if (name.empty()) return nullptr;
    try {
        return date::locate_zone(name);
    } catch (const std::runtime_error&) {
        return nullptr;
    }
}

bool is_utc(const date::time_zone& zone) {
    using namespace date;
    auto info = zone.get_info(sys_days(year(2000) / 1 / 1));
    return info.offset == seconds(0) && info.begin <= sys_days(year(1900) / 1 / 1) &&
           info.end >= sys_days(year(2100) / 1 / 1);
}

std::optional<histogram> histogram::make(micros start, micros end, bin_unit unit,
                                         const date::time_zone& zone, std::size_t max_bins) {
    histogram h;
    auto begin = bin_start(start, unit, zone, 0);
    for (;;) {
        if (h.bins_.size() == max_bins) return std::nullopt;
        auto next =
            fixed_length(unit) ? begin + fixed_length(unit) : bin_start(begin, unit, zone, 1);
        h.bins_.push_back({begin, next, utc_offset(zone, begin)});
        if (next > end) break;
        begin = next;
    }
    h.active_delta_.assign(h.bins_.size() + 1, 0);
    return h;
}

std::size_t histogram::bin_of(micros t) {
    // Sessions come in about start order, and most end in the bin where they start: the bin found
    // last, or the next one, is the usual answer.
    for (auto i = last_bin_; i < std::min(last_bin_ + 2, bins_.size()); ++i)
        if (bins_[i].begin <= t && t < bins_[i].end) return last_bin_ = i;
    auto it = std::upper_bound(bins_.begin(), bins_.end(), t,
                               [](micros v, const histogram_bin& b) { return v < b.begin; });
    return last_bin_ = std::size_t(it - bins_.begin()) - 1;
}

void histogram::add(micros started, micros ended) {
    if (started >= begin() && started < end()) ++bins_[bin_of(started)].start_count;
    auto lo = std::max(started, begin()), hi = std::min(ended, end() - 1);
    if (lo > hi) return;
    ++active_delta_[bin_of(lo)];
    --active_delta_[bin_of(hi) + 1];
}

void histogram::add_started(micros t, std::uint64_t n) {
    auto i = bin_of(t);
    bins_[i].start_count += n;
    active_delta_[i] += std::int64_t(n);
}

void histogram::add_ended(micros t, std::uint64_t n) {
    active_delta_[bin_of(t) + 1] -= std::int64_t(n);
}

std::vector<histogram_bin> histogram::bins() const {
    auto out = bins_;
    std::int64_t active = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        active += active_delta_[i];
        out[i].active_count = std::uint64_t(active);
    }
    return out;
}

std::string bin_id(const histogram_bin& bin, const date::time_zone& zone) {
    if (is_utc(zone)) return format_iso_time(bin.begin, 3, true);
    return format_iso_time_at_offset(bin.begin, bin.offset_seconds, 3);
}

}  // namespace audex::index
