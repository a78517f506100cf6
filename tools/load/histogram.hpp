// A latency histogram in the manner of HdrHistogram: log-bucketed counts of non-negative integer
// values (audex-load records microseconds), each kept to within 1/128 of its size, so that
// percentiles of millions of requests cost a fixed 60 KB and a pass over it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace audex::load {

class histogram {
  public:
    // Values below 2^sub_bits are counted exactly; above, each power of two is split into
    // 2^(sub_bits-1) equal buckets.
    static constexpr unsigned sub_bits = 8;
    static constexpr std::size_t half = std::size_t{1} << (sub_bits - 1);
    static constexpr std::size_t bucket_count = (66 - sub_bits) * half;

    void record(std::uint64_t value, std::uint64_t count = 1);
    void add(const histogram& other);
    void reset() { *this = histogram(); }

    std::uint64_t count() const { return count_; }
    std::uint64_t min() const { return count_ ? min_ : 0; }
    std::uint64_t max() const { return max_; }
    double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

    // The value at or below which `percent` (0 to 100) of the recorded values lie: the highest
    // value of the bucket that holds that rank, never above the largest value recorded; 0 when
    // nothing was recorded.
    std::uint64_t percentile(double percent) const;

    // The bucket of a value and the range of values it holds (for tests and for exports).
    static std::size_t bucket_of(std::uint64_t value);
    static std::uint64_t lowest_in(std::size_t bucket);
    static std::uint64_t highest_in(std::size_t bucket);

  private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace audex::load
