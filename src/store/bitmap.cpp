// The portable Roaring serialization read and written directly, for the stored bitmaps that are
// built from or read into sorted numbers (postings): the cookie (with a bit per container telling
// the run containers, or without), each container's key and cardinality less one, the containers'
// offsets, then the containers: arrays of 16-bit values, bitsets of 8 KiB, or runs (a count, then
// each run's start and length less one). Little-endian throughout.
#include "store/bitmap.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace audex::store {

namespace {

static_assert(std::endian::native == std::endian::little, "the format is little-endian");

constexpr std::uint32_t with_runs = 12347, without_runs = 12346;  // the format's cookies
constexpr std::uint32_t offsets_from = 4;   // with runs, the count of containers that has offsets
constexpr std::uint32_t array_most = 4096;  // a container of more values is a bitset or runs
constexpr std::size_t bitset_bytes = 8192;

template <class T>
T load(const char* at) {
    T v;
    std::memcpy(&v, at, sizeof v);
    return v;
}

[[noreturn]] void damaged() {
    throw std::runtime_error("a stored bitmap is damaged");
}

// The header of a serialization, up to where its containers start.
struct header {
    std::uint32_t containers = 0;
    const char* runs = nullptr;   // one bit per container, set for run containers; null without
    const char* pairs = nullptr;  // the key and the cardinality less one of each container
    std::size_t data = 0;         // the offset of the first container

    std::uint32_t key(std::uint32_t i) const { return load<std::uint16_t>(pairs + 4 * i); }
    std::uint32_t cardinality(std::uint32_t i) const {
        return load<std::uint16_t>(pairs + 4 * i + 2) + 1u;
    }
    bool run(std::uint32_t i) const { return runs && (runs[i / 8] >> (i % 8)) & 1; }
};

std::optional<header> read_header(std::string_view raw) {
    if (raw.size() < 4) return std::nullopt;
    auto cookie = load<std::uint32_t>(raw.data());
    header h;
    std::size_t at;
    if ((cookie & 0xffff) == with_runs) {
        h.containers = (cookie >> 16) + 1;
        h.runs = raw.data() + 4;
        at = 4 + (h.containers + 7) / 8;
    } else if (cookie == without_runs && raw.size() >= 8) {
        h.containers = load<std::uint32_t>(raw.data() + 4);
        at = 8;
    } else {
        return std::nullopt;
    }
    if (h.containers > 65536 || raw.size() < at + 4 * std::size_t(h.containers))
        return std::nullopt;
    h.pairs = raw.data() + at;
    at += 4 * std::size_t(h.containers);
    if (!h.runs || h.containers >= offsets_from) at += 4 * std::size_t(h.containers);
    if (raw.size() < at) return std::nullopt;
    h.data = at;
    return h;
}

// One container of a stored bitmap, its bounds checked.
struct container_view {
    enum class kind : std::uint8_t { array, bitset, runs };
    std::uint32_t high;  // the upper 16 bits its values share, in place
    std::uint32_t cardinality;
    kind form;
    std::uint32_t runs;  // of a run container
    const char* data;    // the 16-bit values, the bitset's words, or each run's start and length

    std::uint32_t value(std::uint32_t i) const { return load<std::uint16_t>(data + 2 * i); }
    std::uint64_t word(std::uint32_t i) const { return load<std::uint64_t>(data + 8 * i); }
    std::uint32_t run_start(std::uint32_t r) const { return load<std::uint16_t>(data + 4 * r); }
    std::uint32_t run_length(std::uint32_t r) const {
        return load<std::uint16_t>(data + 4 * r + 2) + 1u;
    }
};

// Calls `visit` with each container of a stored bitmap in ascending order, once its bounds, its
// key's order and, for runs, their order and total are checked; throws std::runtime_error when
// `raw` is not a portable serialization.
template <class Visit>
void each_container(std::string_view raw, Visit&& visit) {
    auto h = read_header(raw);
    if (!h) damaged();
    auto at = h->data;
    auto need = [&](std::size_t bytes) {
        if (raw.size() - at < bytes) damaged();
    };
    for (std::uint32_t i = 0; i < h->containers; ++i) {
        auto key = h->key(i);
        if (i > 0 && key <= h->key(i - 1)) damaged();
        container_view c{key << 16, h->cardinality(i), container_view::kind::array, 0, nullptr};
        if (h->run(i)) {
            need(2);
            c.form = container_view::kind::runs;
            c.runs = load<std::uint16_t>(raw.data() + at);
            at += 2;
            need(4 * std::size_t(c.runs));
            c.data = raw.data() + at;
            std::uint32_t next = 0, count = 0;  // the least value the next run may start at
            for (std::uint32_t r = 0; r < c.runs; ++r) {
                auto start = c.run_start(r), length = c.run_length(r);
                if (start < next || start + length > 65536) damaged();
                next = start + length;
                count += length;
            }
            if (count != c.cardinality) damaged();
            at += 4 * std::size_t(c.runs);
        } else if (c.cardinality > array_most) {
            need(bitset_bytes);
            c.form = container_view::kind::bitset;
            c.data = raw.data() + at;
            at += bitset_bytes;
        } else {
            need(2 * std::size_t(c.cardinality));
            c.data = raw.data() + at;
            at += 2 * std::size_t(c.cardinality);
        }
        visit(c);
    }
}

// The first index from `from` on of an array container's values not less than `low`, found by
// galloping: steps double until one passes it, then a binary search between the last two.
std::uint32_t gallop(const container_view& c, std::uint32_t from, std::uint32_t low) {
    std::uint32_t step = 1, hi = from;
    while (hi < c.cardinality && c.value(hi) < low) {
        from = hi + 1;
        hi += step;
        step *= 2;
    }
    hi = std::min(hi, c.cardinality);
    while (from < hi) {
        auto mid = from + (hi - from) / 2;
        if (c.value(mid) < low)
            from = mid + 1;
        else
            hi = mid;
    }
    return from;
}

// Calls found(j, index) for each of `values` (ascending) that the bitmap holds, values[j] being
// its index-th value; without `Positions`, the index is not counted (0).
template <bool Positions, class Found>
void locate(std::string_view raw, std::span<const std::uint32_t> values, Found&& found) {
    std::size_t j = 0;
    std::uint32_t base = 0;  // the values of the containers before
    each_container(raw, [&](const container_view& c) {
        j = std::size_t(std::lower_bound(values.begin() + std::ptrdiff_t(j), values.end(), c.high) -
                        values.begin());
        auto held = [&](std::uint32_t index) {
            if (index >= c.cardinality) damaged();
            found(j, base + index);
        };
        auto key = c.high >> 16;
        switch (c.form) {
            case container_view::kind::array:
                for (std::uint32_t i = 0; j < values.size() && values[j] >> 16 == key; ++j) {
                    auto low = values[j] & 0xffff;
                    i = gallop(c, i, low);
                    if (i < c.cardinality && c.value(i) == low) held(i);
                }
                break;
            case container_view::kind::bitset:
                // `before`: the values in the words before word `w`
                for (std::uint32_t w = 0, before = 0; j < values.size() && values[j] >> 16 == key;
                     ++j) {
                    auto low = values[j] & 0xffff;
                    auto word = c.word(low / 64), bit = std::uint64_t(1) << (low % 64);
                    if (!(word & bit)) continue;
                    if constexpr (Positions) {
                        for (; w < low / 64; ++w)
                            before += std::uint32_t(std::popcount(c.word(w)));
                        held(before + std::uint32_t(std::popcount(word & (bit - 1))));
                    } else {
                        held(0);
                    }
                }
                break;
            case container_view::kind::runs:
                // `before`: the values in the runs before run `r`
                for (std::uint32_t r = 0, before = 0; j < values.size() && values[j] >> 16 == key;
                     ++j) {
                    auto low = values[j] & 0xffff;
                    for (; r < c.runs && c.run_start(r) + c.run_length(r) <= low; ++r)
                        before += c.run_length(r);
                    if (r < c.runs && c.run_start(r) <= low) held(before + low - c.run_start(r));
                }
        }
        base += c.cardinality;
    });
}

}  // namespace

std::uint64_t bitmap_cardinality(std::string_view raw) {
    auto h = read_header(raw);
    if (!h) return read_bitmap(raw).cardinality();  // rejected there as the format it is not
    std::uint64_t count = 0;
    for (std::uint32_t i = 0; i < h->containers; ++i)
        count += h->cardinality(i);
    return count;
}

void append_values(std::string_view raw, std::vector<std::uint32_t>& out) {
    each_container(raw, [&](const container_view& c) {
        auto before = out.size();
        switch (c.form) {
            case container_view::kind::runs:
                for (std::uint32_t r = 0; r < c.runs; ++r)
                    for (auto v = c.run_start(r); v < c.run_start(r) + c.run_length(r); ++v)
                        out.push_back(c.high | v);
                break;
            case container_view::kind::bitset:
                for (std::uint32_t w = 0; w < bitset_bytes / 8; ++w)
                    for (auto word = c.word(w); word; word &= word - 1)
                        out.push_back(c.high | (w * 64 + std::uint32_t(std::countr_zero(word))));
                if (out.size() - before != c.cardinality) damaged();
                break;
            case container_view::kind::array:
                for (std::uint32_t j = 0; j < c.cardinality; ++j) {
                    if (j > 0 && c.value(j) <= c.value(j - 1)) damaged();
                    out.push_back(c.high | c.value(j));
                }
        }
    });
}

// Built twice, with the processor's population count instruction and without, the one to run
// chosen when the program loads: the bitsets' positions are counts of bits. Clang does not combine
// function versions with `flatten` (the fuzzing build), so it inlines less there.
#if defined(__clang__)
#define AUDEX_POPCNT_VERSIONS __attribute__((target_clones("popcnt", "default")))
#else
#define AUDEX_POPCNT_VERSIONS __attribute__((target_clones("popcnt", "default"), flatten))
#endif
AUDEX_POPCNT_VERSIONS void find_positions(
    std::string_view raw, std::span<const std::uint32_t> values, std::span<std::uint32_t> out) {
    std::fill(out.begin(), out.end(), absent);
    locate<true>(raw, values, [&](std::size_t j, std::uint32_t index) { out[j] = index; });
}

void find_held(std::string_view raw, std::span<const std::uint32_t> values,
               std::vector<std::uint32_t>& out) {
    locate<false>(raw, values, [&](std::size_t j, std::uint32_t) { out.push_back(values[j]); });
}

void append_bitmap(std::span<const std::uint32_t> values, std::string& out) {
    // The containers, each holding the values that share their upper 16 bits, as a run-optimized
    // bitmap keeps them: as runs where that is smaller than an array (of at most 4,096 values)
    // or a bitset.
    enum class kind : std::uint8_t { array, bitset, runs };
    struct container {
        std::size_t begin, end;  // in `values`
        std::uint32_t runs;
        kind form;
        std::size_t bytes() const {
            switch (form) {
                case kind::array:
                    return 2 * (end - begin);
                case kind::bitset:
                    return bitset_bytes;
                default:
                    return 2 + 4 * std::size_t(runs);
            }
        }
    };
    boost::container::small_vector<container, 4> containers;
    for (std::size_t i = 0; i < values.size();) {
        container c{i, i + 1, 1, kind::array};
        while (c.end < values.size() && values[c.end] >> 16 == values[i] >> 16) {
            c.runs += values[c.end] != values[c.end - 1] + 1;
            ++c.end;
        }
        auto cardinality = c.end - c.begin;
        auto plain = cardinality <= array_most ? 2 + 2 * cardinality : bitset_bytes;
        c.form = 2 + 4 * std::size_t(c.runs) < plain ? kind::runs
                 : cardinality <= array_most         ? kind::array
                                                     : kind::bitset;
        containers.push_back(c);
        i = c.end;
    }
    auto n = std::uint32_t(containers.size());
    bool runs = std::any_of(containers.begin(), containers.end(),
                            [](auto& c) { return c.form == kind::runs; });
    bool offsets = !runs || n >= offsets_from;
    std::size_t header_bytes =
                    (runs ? 4 + (n + 7) / 8 : 8) + 4 * std::size_t(n) * (offsets ? 2 : 1),
                bytes = header_bytes;
    for (auto& c : containers)
        bytes += c.bytes();
    auto start = out.size();
    out.resize(start + bytes);
    auto at = out.data() + start;
    auto put = [&](auto v) {
        std::memcpy(at, &v, sizeof v);
        at += sizeof v;
    };
    if (runs) {
        put(with_runs | ((n - 1) << 16));
        std::memset(at, 0, (n + 7) / 8);
        for (std::uint32_t i = 0; i < n; ++i)
            if (containers[i].form == kind::runs) at[i / 8] = char(at[i / 8] | 1 << (i % 8));
        at += (n + 7) / 8;
    } else {
        put(without_runs);
        put(n);
    }
    for (auto& c : containers) {
        put(std::uint16_t(values[c.begin] >> 16));
        put(std::uint16_t(c.end - c.begin - 1));
    }
    if (offsets) {
        auto offset = std::uint32_t(header_bytes);
        for (auto& c : containers) {
            put(offset);
            offset += std::uint32_t(c.bytes());
        }
    }
    for (auto& c : containers) {
        switch (c.form) {
            case kind::array:
                for (auto i = c.begin; i < c.end; ++i)
                    put(std::uint16_t(values[i]));
                break;
            case kind::bitset: {
                std::memset(at, 0, bitset_bytes);
                for (auto i = c.begin; i < c.end; ++i)
                    at[(values[i] & 0xffff) / 8] =
                        char(at[(values[i] & 0xffff) / 8] | 1 << (values[i] % 8));
                at += bitset_bytes;
                break;
            }
            case kind::runs:
                put(std::uint16_t(c.runs));
                for (auto i = c.begin; i < c.end;) {
                    auto j = i + 1;
                    while (j < c.end && values[j] == values[j - 1] + 1)
                        ++j;
                    put(std::uint16_t(values[i]));
                    put(std::uint16_t(j - i - 1));
                    i = j;
                }
        }
    }
}

}  // namespace audex::store
