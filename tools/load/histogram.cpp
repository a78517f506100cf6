// The bucket arithmetic of load::histogram: bucket b of value v >= 2^sub_bits is
// shift * half + (v >> shift), where shift keeps the top sub_bits bits of v.
#include "load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace audex::load {

std::size_t histogram::bucket_of(std::uint64_t value) {
    if (value < 2 * half) return static_cast<std::size_t>(value);
    unsigned shift = std::bit_width(value) - sub_bits;
    return shift * half + static_cast<std::size_t>(value >> shift);
}

std::uint64_t histogram::lowest_in(std::size_t bucket) {
    if (bucket < 2 * half) return bucket;
    std::size_t shift = bucket / half - 1;
    return static_cast<std::uint64_t>(bucket - shift * half) << shift;
}

std::uint64_t histogram::highest_in(std::size_t bucket) {
    if (bucket + 1 == bucket_count) return UINT64_MAX;
    return lowest_in(bucket + 1) - 1;
}

void histogram::record(std::uint64_t value, std::uint64_t count) {
    if (count == 0) return;
    counts_[bucket_of(value)] += count;
    count_ += count;
    sum_ += value * count;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
}

void histogram::add(const histogram& other) {
    for (std::size_t i = 0; i < bucket_count; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

std::uint64_t histogram::percentile(double percent) const {
    if (count_ == 0) return 0;
    percent = std::clamp(percent, 0.0, 100.0);
    // The rank of the value asked for, counted from 1: at least the first value.
    auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::clamp(highest_in(i), min_, max_);
    }
    return max_;
}

}  // namespace audex::load
