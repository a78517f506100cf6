// Content records, their segmented postings, background merging, and the content query executor
// with BM25 ranking from the postings' term frequencies and record lengths.
#include "index/content_index.hpp"
#include "core/deadline.hpp"

#include "core/text.hpp"
#include "index/analyzer.hpp"
#include "store/bitmap.hpp"
#include "store/keys.hpp"
#include "store/object_filter.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/container_hash/hash.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/sort/spreadsort/integer_sort.hpp>
#include <roaring/roaring.hh>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <memory_resource>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace audex::index {

namespace json = boost::json;

namespace {

constexpr double bm25_k1 = 1.2, bm25_b = 0.75;
constexpr std::size_t max_expanded_terms = 65536;
// A term that holds more than this many times the records it is to be checked for is searched
// for them in its stored postings instead of having its set built.
constexpr std::uint64_t searched_ratio = 16;
// A merge (of content_index::merge_width segments) holds at most this many record numbers.
constexpr std::uint32_t max_merged_records = 1u << 20;
// Bytes of postings a merge step writes, which bound its write transaction.
constexpr std::size_t merge_bytes = 1 << 20;
// A segment's block is closed once its entries hold this many bytes.
constexpr std::size_t block_bytes = 64 << 10;
constexpr std::uint32_t live_chunk_bits = 16;  // live record numbers per value: 65,536
constexpr std::uint32_t session_chunk = 1024;  // session ids per value of the record column

std::string u32_key(std::uint32_t v) {
    std::string k;
    store::append_u32(k, v);
    return k;
}

std::string term_key(std::uint32_t segment, std::string_view term) {
    auto k = u32_key(segment);
    k += term;
    return k;
}

// The key of a run of a session's consecutive records, from record number `first` on.
std::string session_key(std::uint64_t session, std::uint32_t first) {
    auto k = store::u64_key(session);
    k += u32_key(first);
    return k;
}

// The run of a session's records that the cursor is at in content.by_session: the key is the
// session and the first record's number, the value the run's length, a u32, or empty for one
// record (stores written before runs).
std::pair<std::uint32_t, std::uint32_t> session_run(const store::cursor& c) {
    if (c.key().size() != 12 || (!c.value().empty() && c.value().size() != 4))
        throw std::runtime_error("content.by_session is damaged");
    return {store::read_u32(c.key(), 8), c.value().empty() ? 1 : store::read_u32(c.value())};
}

// Adds the numbers of a session's records to `out`.
void add_session_records(store::cursor& c, std::uint64_t session, Roaring& out) {
    auto prefix = store::u64_key(session);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        auto [first, count] = session_run(c);
        out.addRange(first, std::uint64_t(first) + count);
    }
}

std::uint64_t stat(const store::transaction& txn, store::table t, std::string_view key) {
    auto raw = txn.get(t, key);
    return raw ? store::read_u64(*raw) : 0;
}

// Record lengths in one byte: exact up to 127 tokens, then in steps of 2^(1/16).
std::uint8_t encode_length(std::size_t tokens) {
    if (tokens < 128) return std::uint8_t(tokens);
    auto code = 127 + std::lround(16 * std::log2(double(tokens) / 127));
    return std::uint8_t(std::min<long>(code, 255));
}

double decode_length(std::uint8_t code) {
    return code < 128 ? code : 127 * std::exp2((code - 127) / 16.0);
}

// A term with its first 8 bytes as a big-endian number, which orders most pairs of terms in one
// comparison; ordered as the bytes of the terms are.
struct ordered_term {
    std::uint64_t head = 0;
    std::string_view text;

    ordered_term() = default;
    explicit ordered_term(std::string_view text) : text(text) {
        char first[8] = {};
        std::copy_n(text.data(), std::min<std::size_t>(text.size(), 8), first);
        head = store::read_u64({first, 8});
    }
    friend bool operator==(const ordered_term& a, const ordered_term& b) {
        return a.head == b.head && a.text == b.text;
    }
    friend bool operator<(const ordered_term& a, const ordered_term& b) {
        return a.head != b.head ? a.head < b.head : a.text < b.text;
    }
};

// A term as the key of a segment builder's dictionary: up to 15 bytes held inline, so that
// looking up a short term reads the table's slot and nothing else; a longer one as its address
// and length. The last byte is the length, or long_mark.
class packed_term {
  public:
    // A term of fewer than 16 bytes is read as 16, zero-padded after its end as the analyzer
    // passes its tokens (analyzer.hpp); a longer one is referred to.
    packed_term() = default;
    explicit packed_term(std::string_view text) {
        if (text.size() < bytes_.size()) {
            std::memcpy(bytes_.data(), text.data(), bytes_.size());
            bytes_.back() = char(text.size());
        } else {
            auto data = text.data();
            auto size = std::uint32_t(text.size());  // terms are short: see max_token_bytes
            std::memcpy(bytes_.data(), &data, sizeof data);
            std::memcpy(bytes_.data() + sizeof data, &size, sizeof size);
            bytes_.back() = long_mark;
        }
    }
    friend bool operator==(const packed_term& a, const packed_term& b) {
        auto [a_low, a_high] = a.halves();
        auto [b_low, b_high] = b.halves();
        return ((a_low ^ b_low) | (a_high ^ b_high)) == 0 ||
               (a.bytes_.back() == long_mark && b.bytes_.back() == long_mark &&
                a.long_text() == b.long_text());
    }
    std::uint64_t hash() const {
        if (bytes_.back() == long_mark) return boost::hash<std::string_view>()(long_text());
        auto [low, high] = halves();
        return low ^ (high * 0x9e3779b97f4a7c15u);  // the table mixes it further
    }

  private:
    static constexpr char long_mark = char(0xff);
    std::array<char, 16> bytes_{};

    std::pair<std::uint64_t, std::uint64_t> halves() const {
        std::uint64_t low, high;
        std::memcpy(&low, bytes_.data(), 8);
        std::memcpy(&high, bytes_.data() + 8, 8);
        return {low, high};
    }
    std::string_view long_text() const {
        const char* data;
        std::uint32_t size;
        std::memcpy(&data, bytes_.data(), sizeof data);
        std::memcpy(&size, bytes_.data() + sizeof data, sizeof size);
        return {data, size};
    }
};

// A segment builder's dictionary: terms to their ids, in a table of linear probing at most half
// full: for the short keys here, lookups take about 60% of the time of a general-purpose table.
class term_dictionary {
  public:
    term_dictionary() : slots_(std::size_t(1) << bits_) {}

    // The id of the term, or, when it is new, the id `add()` gives it, which also returns the term
    // as the table keeps it: a longer term must refer to text that outlives the table.
    template <std::invocable F>
    std::uint32_t find(const packed_term& t, F&& add) {
        for (auto i = index(t);; i = (i + 1) & (slots_.size() - 1)) {
            auto& slot = slots_[i];
            if (slot.id == none) {
                auto [kept, id] = add();
                slot = {kept, id};
                if (++size_ * 2 > slots_.size()) grow();
                return id;
            }
            if (slot.term == t) return slot.id;
        }
    }

  private:
    static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();
    struct slot {
        packed_term term;
        std::uint32_t id = none;
    };

    std::size_t index(const packed_term& t) const {
        // Fibonacci hashing: the high bits of the product depend on every bit of the hash.
        return std::size_t((t.hash() * 0x9e3779b97f4a7c15u) >> (64 - bits_));
    }
    void grow() {
        auto old = std::exchange(slots_, std::vector<slot>(slots_.size() * 2));
        ++bits_;
        for (auto& s : old)
            if (s.id != none) {
                auto i = index(s.term);
                while (slots_[i].id != none)
                    i = (i + 1) & (slots_.size() - 1);
                slots_[i] = s;
            }
    }

    unsigned bits_ = 12;
    std::vector<slot> slots_;
    std::size_t size_ = 0;
};

// A term's postings in one segment: [u32 count][count term frequencies, one byte each (at most
// 255)][count record lengths][the portable Roaring bitmap of the record numbers]. The i-th
// frequency and length belong to the i-th record number in ascending order.
struct postings_view {
    std::uint32_t count = 0;
    const std::uint8_t* tf = nullptr;
    const std::uint8_t* length = nullptr;
    std::string_view bitmap;

    explicit postings_view(std::string_view raw) {
        if (raw.size() < 4 || raw.size() - 4 < 2 * std::size_t(store::read_u32(raw))) damaged();
        count = store::read_u32(raw);
        tf = reinterpret_cast<const std::uint8_t*>(raw.data() + 4);
        length = tf + count;
        bitmap = raw.substr(4 + 2 * std::size_t(count));
        if (store::bitmap_cardinality(bitmap) != count) damaged();
    }
    Roaring numbers() const {
        auto out = store::read_bitmap(bitmap);
        if (out.cardinality() != count) damaged();
        return out;
    }
    // Appends the record numbers to `out`, which must end below them.
    void append_numbers(std::vector<std::uint32_t>& out) const {
        auto before = out.size();
        store::append_values(bitmap, out);
        if (out.size() - before != count || (before > 0 && out[before] <= out[before - 1]))
            damaged();
    }

  private:
    [[noreturn]] static void damaged() { throw std::runtime_error("content postings are damaged"); }
};

void append_postings(std::string& out, std::span<const std::uint32_t> numbers, std::string_view tf,
                     std::string_view length) {
    store::append_u32(out, std::uint32_t(tf.size()));
    out += tf;
    out += length;
    store::append_bitmap(numbers, out);
}

// Appends the postings of a term from its occurrences: the numbers of the records that hold it in
// ascending order, a record's number once for each time it holds the term; `length(number)` is
// the code of a record's length. `numbers` is scratch space.
template <class Length>
void append_occurrences(std::string& out, std::span<const std::uint32_t> occurrences,
                        Length&& length, std::vector<std::uint32_t>& numbers) {
    std::uint32_t count = 0;
    for (std::size_t i = 0; i < occurrences.size(); ++i)
        count += i == 0 || occurrences[i] != occurrences[i - 1];
    store::append_u32(out, count);
    auto at = out.size();
    out.resize(at + 2 * std::size_t(count));
    auto tf = reinterpret_cast<std::uint8_t*>(out.data() + at), lengths = tf + count;
    numbers.clear();
    for (auto n : occurrences) {
        if (!numbers.empty() && numbers.back() == n) {
            tf[numbers.size() - 1] += tf[numbers.size() - 1] < 255;
            continue;
        }
        tf[numbers.size()] = 1;
        lengths[numbers.size()] = length(n);
        numbers.push_back(n);
    }
    store::append_bitmap(numbers, out);
}

// Appends the postings of adjacent segments, given in ascending order of their records, as one;
// `numbers` is scratch space.
void concatenate(const std::vector<std::string_view>& parts, std::vector<std::uint32_t>& numbers,
                 std::string& out) {
    boost::container::small_vector<postings_view, content_index::merge_width> views;
    std::uint32_t count = 0;
    for (auto raw : parts)
        count += views.emplace_back(raw).count;
    store::append_u32(out, count);
    for (auto& p : views)
        out.append(reinterpret_cast<const char*>(p.tf), p.count);
    for (auto& p : views)
        out.append(reinterpret_cast<const char*>(p.length), p.count);
    numbers.clear();
    for (auto& p : views)
        p.append_numbers(numbers);
    store::append_bitmap(numbers, out);
}

// The postings without the records in `gone`, or an empty string when none remains.
std::string without(std::string_view raw, const Roaring& gone) {
    postings_view p(raw);
    std::vector<std::uint32_t> numbers, kept;
    p.append_numbers(numbers);
    std::string tf, length;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        if (!gone.contains(numbers[i])) {
            kept.push_back(numbers[i]);
            tf.push_back(char(p.tf[i]));
            length.push_back(char(p.length[i]));
        }
    }
    if (kept.empty()) return {};
    std::string out;
    append_postings(out, kept, tf, length);
    return out;
}

// A segment's postings are kept in blocks of consecutive terms, under the segment's id and the
// block's first term: [u32 n][n u32 entry ends][the entries], each entry the term's length (one
// byte), the term and its postings, in ascending term order. A block's key is at most its first
// term (a purge may remove that term).
class block_view {
  public:
    explicit block_view(std::string_view raw) {
        if (raw.size() < 4 || (raw.size() - 4) / 4 < store::read_u32(raw)) damaged();
        count_ = store::read_u32(raw);
        ends_ = raw.substr(4, 4 * std::size_t(count_));
        entries_ = raw.substr(4 + 4 * std::size_t(count_));
    }
    std::size_t size() const { return count_; }
    std::string_view term(std::size_t i) const {
        auto e = entry(i);
        return e.substr(1, std::uint8_t(e[0]));
    }
    std::string_view postings(std::size_t i) const {
        auto e = entry(i);
        return e.substr(1 + std::size_t(std::uint8_t(e[0])));
    }
    // The index of the first entry whose term is not less than `term`.
    std::size_t lower_bound(std::string_view term) const {
        std::size_t lo = 0, hi = count_;
        while (lo < hi) {
            auto mid = lo + (hi - lo) / 2;
            if (this->term(mid) < term)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

  private:
    [[noreturn]] static void damaged() { throw std::runtime_error("content postings are damaged"); }
    std::string_view entry(std::size_t i) const {
        if (i >= count_) damaged();
        std::size_t begin = i == 0 ? 0 : store::read_u32(ends_, 4 * (i - 1)),
                    end = store::read_u32(ends_, 4 * i);
        if (begin >= end || end > entries_.size() ||
            1 + std::size_t(std::uint8_t(entries_[begin])) > end - begin)
            damaged();
        return entries_.substr(begin, end - begin);
    }
    std::uint32_t count_ = 0;
    std::string_view ends_, entries_;
};

// One block being built from entries in ascending term order.
struct block_builder {
    std::string first, entries;
    std::vector<std::uint32_t> ends;

    // Adds the entry of `term`, its postings appended to `entries` by `write`.
    template <std::invocable<std::string&> F>
    void add(std::string_view term, F&& write) {
        if (ends.empty()) first = term;
        entries.push_back(char(term.size()));
        entries += term;
        write(entries);
        ends.push_back(std::uint32_t(entries.size()));
    }
    void add(std::string_view term, std::string_view postings) {
        add(term, [&](std::string& out) { out += postings; });
    }
    bool empty() const { return ends.empty(); }
    // Empty again, keeping the memory for the next block.
    void clear() {
        entries.clear();
        ends.clear();
    }
    std::string encode() const {
        std::string out;
        out.reserve(4 + 4 * ends.size() + entries.size());
        store::append_u32(out, std::uint32_t(ends.size()));
        for (auto e : ends)
            store::append_u32(out, e);
        out += entries;
        return out;
    }
};

// The blocks of a segment's postings, from entries given in ascending term order, kept in memory
// until written: a merge reads its sources in the same transaction and must not write first.
class segment_writer {
  public:
    explicit segment_writer(std::uint32_t segment) : segment_(segment) {}
    // Adds the entry of `term`, its postings appended to the string given to `write`.
    template <std::invocable<std::string&> F>
    void add(std::string_view term, F&& write) {
        auto before = block_.entries.size();
        block_.add(term, write);
        bytes_ += block_.entries.size() - before;
        if (block_.entries.size() >= block_bytes) close();
    }
    void add(std::string_view term, std::string_view postings) {
        add(term, [&](std::string& out) { out += postings; });
    }
    std::size_t bytes() const { return bytes_; }
    // Writes the blocks; with `append`, the segment's keys come after every other. The blocks are
    // kept, so that a transaction run again (the map grown) writes them again.
    void write(store::transaction& txn, store::table table, bool append) {
        close();
        for (auto& [key, value] : blocks_)
            append ? txn.append(table, key, value) : txn.put(table, key, value);
    }

  private:
    void close() {
        if (block_.empty()) return;
        blocks_.emplace_back(term_key(segment_, block_.first), block_.encode());
        block_.clear();
    }
    std::uint32_t segment_;
    block_builder block_;
    std::vector<std::pair<std::string, std::string>> blocks_;
    std::size_t bytes_ = 0;
};

// Positions `c` at the block of `segment` that holds `term` if any does: the last block whose key
// is at most the term's, else the segment's first block. False when the segment has no block.
bool seek_block(store::cursor& c, std::uint32_t segment, std::string_view term) {
    auto prefix = u32_key(segment), key = prefix + std::string(term);
    bool ok = c.seek(key);
    if (!ok || c.key() != key) {
        ok = ok ? c.prev() : c.last();
        if (!ok || !c.key().starts_with(prefix)) ok = c.seek(prefix);
    }
    return ok && c.key().starts_with(prefix);
}

// The entries of one segment in ascending term order, from the first term not less than `start`.
// Views point into the memory map: they stay valid while the transaction writes nothing.
class segment_terms {
  public:
    segment_terms(const store::transaction& txn, store::table blocks, std::uint32_t segment,
                  std::string_view start)
        : cursor_(txn.open_cursor(blocks)), prefix_(u32_key(segment)) {
        if (!seek_block(cursor_, segment, start)) return;
        block_.emplace(cursor_.value());
        at_ = block_->lower_bound(start);
        settle();
    }
    bool valid() const { return block_.has_value(); }
    std::string_view term() const { return term_.text; }
    const ordered_term& ordered() const { return term_; }
    std::string_view postings() const { return block_->postings(at_); }
    void next() {
        ++at_;
        settle();
    }

  private:
    // Moves past the end of exhausted blocks; invalid after the segment's last.
    void settle() {
        while (at_ == block_->size()) {
            if (!cursor_.next() || !cursor_.key().starts_with(prefix_)) {
                block_.reset();
                return;
            }
            block_.emplace(cursor_.value());
            at_ = 0;
        }
        term_ = ordered_term(block_->term(at_));
    }
    store::cursor cursor_;
    std::string prefix_;
    std::optional<block_view> block_;
    std::size_t at_ = 0;
    ordered_term term_;
};

// A term's postings in one segment, if it has any, found with a cursor on the blocks.
std::optional<std::string_view> find_postings(store::cursor& c, std::uint32_t segment,
                                              std::string_view term) {
    if (!seek_block(c, segment, term)) return std::nullopt;
    block_view block(c.value());
    auto i = block.lower_bound(term);
    if (i == block.size() || block.term(i) != term) return std::nullopt;
    return block.postings(i);
}

// A segment holds the postings of the records numbered [first, end). While `sources` is not
// empty, those segments are being merged into this one: it holds the merged postings of the
// terms up to its last, and the sources still hold every term.
struct segment {
    std::uint32_t id = 0, first = 0, end = 0;
    std::vector<std::uint32_t> sources;

    std::string encode() const {
        std::string out;
        store::append_u32(out, first);
        store::append_u32(out, end);
        for (auto s : sources)
            store::append_u32(out, s);
        return out;
    }
};

// Every segment, in ascending order of their records (a merge's target before its sources).
std::vector<segment> load_segments(const store::transaction& txn, store::table table) {
    std::vector<segment> out;
    auto c = txn.open_cursor(table);
    for (bool ok = c.first(); ok; ok = c.next()) {
        segment s{store::read_u32(c.key()),
                  store::read_u32(c.value()),
                  store::read_u32(c.value(), 4),
                  {}};
        for (std::size_t at = 8; at + 4 <= c.value().size(); at += 4)
            s.sources.push_back(store::read_u32(c.value(), at));
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
        return a.first < b.first || (a.first == b.first && a.end > b.end);
    });
    return out;
}

// The segments that searches read: a merge's target is left out until it is complete, while its
// sources still hold every term.
std::vector<segment> searched_segments(const store::transaction& txn, store::table table) {
    auto out = load_segments(txn, table);
    std::erase_if(out, [](auto& s) { return !s.sources.empty(); });
    return out;
}

// The window of merge_width adjacent segments to merge next, the smallest that qualifies, as the
// index of its first segment.
std::optional<std::size_t> choose_merge(const std::vector<segment>& segments) {
    std::optional<std::size_t> best;
    std::uint64_t best_total = 0;
    for (std::size_t i = 0; i + content_index::merge_width <= segments.size(); ++i) {
        std::uint64_t total = 0, largest = 0;
        for (std::size_t j = i; j < i + content_index::merge_width; ++j) {
            std::uint64_t size = segments[j].end - segments[j].first;
            total += size;
            largest = std::max(largest, size);
        }
        if (total > max_merged_records || total < 2 * largest) continue;
        if (!best || total < best_total) best = i, best_total = total;
    }
    return best;
}

// The last term of a segment's postings, or an empty string when it has none.
std::string last_term(const store::transaction& txn, store::table blocks, std::uint32_t segment) {
    auto c = txn.open_cursor(blocks);
    bool ok = c.seek(u32_key(segment + 1));
    ok = ok ? c.prev() : c.last();
    if (!ok || !c.key().starts_with(u32_key(segment))) return {};
    block_view last(c.value());
    return std::string(last.term(last.size() - 1));
}

// Joins the postings of the merge's sources (in ascending order of their records) into `out`,
// term by term after `after`, until about merge_bytes are joined; returns whether the sources
// are exhausted.
bool join_postings(const store::transaction& txn, store::table blocks,
                   const std::vector<segment>& sources, const std::string& after,
                   segment_writer& out) {
    std::deque<segment_terms> runs;
    for (auto& s : sources) {
        auto& run = runs.emplace_back(txn, blocks, s.id, after);
        if (!after.empty() && run.valid() && run.term() == after) run.next();
    }
    std::vector<std::string_view> parts;
    std::vector<std::uint32_t> numbers;
    for (;;) {
        std::optional<ordered_term> least;
        for (auto& r : runs)
            if (r.valid() && (!least || r.ordered() < *least)) least = r.ordered();
        if (!least) return true;
        if (out.bytes() >= merge_bytes) return false;
        parts.clear();
        for (auto& r : runs)
            if (r.valid() && r.ordered() == *least) {
                parts.push_back(r.postings());
                r.next();
            }
        if (parts.size() == 1)
            out.add(least->text, parts[0]);  // a term of one source moves as it is
        else
            out.add(least->text, [&](std::string& out) { concatenate(parts, numbers, out); });
    }
}

// A record as stored: a format byte (1), [u64 session][i64 channel][i64 start][i64 end], the type
// and the text each as [u32 length][bytes], then its record_id as JSON text when it has one.
constexpr char record_format = 1;

std::string encode_record(const content_record& r) {
    auto id = r.record_id.empty() ? std::string() : json::serialize(r.record_id);
    std::string out;
    out.reserve(41 + r.type.size() + r.text.size() + id.size());
    out.push_back(record_format);
    store::append_u64(out, r.session);
    store::append_i64(out, r.channel);
    store::append_i64(out, r.start);
    store::append_i64(out, r.end);
    for (auto* field : {&r.type, &r.text}) {
        store::append_u32(out, std::uint32_t(field->size()));
        out += *field;
    }
    out += id;
    return out;
}

content_record decode_record(std::string_view raw) {
    auto damaged = [] { throw std::runtime_error("a content record is damaged"); };
    if (raw.size() < 33 || raw[0] != record_format) damaged();
    content_record r;
    r.session = store::read_u64(raw, 1);
    r.channel = store::read_i64(raw, 9);
    r.start = store::read_i64(raw, 17);
    r.end = store::read_i64(raw, 25);
    std::size_t at = 33;
    for (auto* field : {&r.type, &r.text}) {
        if (raw.size() - at < 4) damaged();
        auto length = store::read_u32(raw, at);
        if (raw.size() - at - 4 < length) damaged();
        field->assign(raw.substr(at + 4, length));
        at += 4 + length;
    }
    if (at < raw.size()) r.record_id = json::parse(raw.substr(at)).as_object();
    return r;
}

// A record as stores written before the binary layout kept it.
content_record from_json(const json::object& o) {
    content_record r;
    r.session = o.at("s").to_number<std::uint64_t>();
    r.channel = o.at("c").to_number<std::int64_t>();
    r.type = o.at("t").as_string();
    r.text = o.at("x").as_string();
    r.start = o.at("b").to_number<std::int64_t>();
    r.end = o.at("e").to_number<std::int64_t>();
    r.record_id = o.at("r").as_object();
    return r;
}

// Whether `words` holds `phrase` with at most `slop` extra positions between its first and last
// word (in order when slop is 0).
bool holds_phrase(const std::vector<std::string>& words, const std::vector<std::string>& phrase,
                  unsigned slop) {
    if (phrase.empty()) return false;
    if (slop == 0)
        return std::search(words.begin(), words.end(), phrase.begin(), phrase.end()) != words.end();
    // Smallest window that holds every phrase word (as often as it occurs in the phrase).
    std::map<std::string_view, int> need;
    for (auto& w : phrase)
        ++need[w];
    std::map<std::string_view, int> have;
    std::size_t missing = need.size(), left = 0, best = std::string::npos;
    for (std::size_t right = 0; right < words.size(); ++right) {
        auto it = need.find(words[right]);
        if (it == need.end()) continue;
        if (++have[it->first] == it->second) --missing;
        while (missing == 0) {
            best = std::min(best, right - left + 1);
            auto l = need.find(words[left]);
            if (l != need.end() && have[l->first]-- == l->second) ++missing;
            ++left;
        }
    }
    return best != std::string::npos && best - phrase.size() <= slop;
}

// A term's postings across the store: one part per segment that holds it, in ascending record
// order, its frequencies and lengths read in place (valid for the transaction).
class term_postings {
  public:
    struct part {
        std::uint32_t first, end;  // the segment's records
        postings_view postings;
    };

    void add(const segment& s, std::string_view raw) {
        // Braces: clang 14 (the fuzzing build) has no parenthesised aggregate initialisation.
        parts_.push_back({s.first, s.end, postings_view(raw)});
        count_ += parts_.back().postings.count;
    }
    // The records that hold the term.
    std::uint64_t count() const { return count_; }
    // Those records as a set, built at first use.
    const Roaring& set() {
        if (!set_) {
            set_.emplace();
            for (auto& part : parts_)
                *set_ |= part.postings.numbers();
        }
        return *set_;
    }
    // The records of `records` that hold the term: from its set (built if need be), or, when the
    // set is not built and the term holds many times more records, found in the stored postings
    // without reading them whole.
    Roaring among(const Roaring& records) {
        if (set_ || records.cardinality() * searched_ratio >= count_) return records & set();
        std::vector<std::uint32_t> numbers(records.cardinality()), held;
        records.toUint32Array(numbers.data());
        for (auto& part : parts_)
            store::find_held(part.postings.bitmap, in(numbers, part), held);
        return Roaring(held.size(), held.data());
    }
    // Calls found(j, postings, i) for each of `numbers` (ascending) that holds the term, where
    // numbers[j] is the i-th record of those postings.
    template <class Found>
    void each_held(std::span<const std::uint32_t> numbers, Found&& found) const {
        std::vector<std::uint32_t> positions;
        for (auto& part : parts_) {
            auto wanted = in(numbers, part);
            positions.resize(wanted.size());
            store::find_positions(part.postings.bitmap, wanted, positions);
            auto offset = std::size_t(wanted.data() - numbers.data());
            for (std::size_t j = 0; j < positions.size(); ++j)
                if (positions[j] != store::absent) found(offset + j, part.postings, positions[j]);
        }
    }

  private:
    // Those of `numbers` (ascending) in the part's segment.
    static std::span<const std::uint32_t> in(std::span<const std::uint32_t> numbers,
                                             const part& p) {
        auto from = std::lower_bound(numbers.begin(), numbers.end(), p.first);
        return {from, std::lower_bound(from, numbers.end(), p.end)};
    }

    std::vector<part> parts_;
    std::uint64_t count_ = 0;
    std::optional<Roaring> set_;  // every part's records, once needed
};

// The records a query part may match: the records of the universe that hold every one of `terms`
// when it is not empty (the set not built yet: see content_query::resolve), `set` otherwise.
// When `verify` is set, only those that it accepts (given their analyzed words) match: phrases
// are checked against the text only for the records that need it, best ranked first.
struct candidates {
    Roaring set;
    std::vector<term_postings*> terms;
    std::function<bool(std::uint32_t, const std::vector<std::string>&)> verify;
};

}  // namespace

// The state of one search: its universe of records, the segments, statistics and the terms
// that score.
struct content_query {
    const content_index& index;
    const store::transaction& txn;
    Roaring universe;
    std::vector<segment> segments = searched_segments(txn, index.segments_);
    std::unordered_map<std::string, term_postings> postings;            // loaded terms
    std::unordered_map<std::uint32_t, std::vector<std::string>> words;  // analyzed texts
    struct scored_term {
        term_postings* postings;
        double weight;  // boost x idf
    };
    std::vector<scored_term> scoring;
    double records = 0;
    std::array<double, 256> length_norm{};  // k1 (1 - b + b length / average length), by code

    content_query(const content_index& index, const store::transaction& txn)
        : index(index), txn(txn) {
        records = double(stat(txn, index.stats_, "records"));
        double average =
            records > 0 ? std::max(1.0, double(stat(txn, index.stats_, "tokens")) / records) : 1;
        for (int code = 0; code < 256; ++code)
            length_norm[code] =
                bm25_k1 * (1 - bm25_b + bm25_b * decode_length(std::uint8_t(code)) / average);
    }

    const std::vector<std::string>& words_of(std::uint32_t n) {
        auto it = words.find(n);
        if (it != words.end()) return it->second;
        auto r = index.record(txn, n);
        return words.emplace(n, r ? analyze(r->text) : std::vector<std::string>()).first->second;
    }

    term_postings& load(const std::string& term) {
        auto [it, added] = postings.try_emplace(term);
        auto& p = it->second;
        if (!added) return p;
        auto c = txn.open_cursor(index.blocks_);
        for (auto& s : segments)
            if (auto raw = find_postings(c, s.id, term)) p.add(s, *raw);
        return p;
    }

    // The postings of `term`, which scores with its store-wide document frequency.
    term_postings* scored_postings(const std::string& term, double boost) {
        auto& p = load(term);
        double df = double(p.count());
        if (boost != 0)
            scoring.push_back({&p, boost * std::log(1.0 + (records - df + 0.5) / (df + 0.5))});
        return &p;
    }

    // The set of `c`, built if it is not yet: the records of the universe held by the rarest of
    // its terms, kept where each other term holds them too.
    Roaring& resolve(candidates& c) {
        if (c.terms.empty()) return c.set;
        std::sort(c.terms.begin(), c.terms.end(),
                  [](auto* a, auto* b) { return a->count() < b->count(); });
        c.set = c.terms[0]->set() & universe;
        for (auto* t : std::span(c.terms).subspan(1))
            c.set = t->among(c.set);
        c.terms.clear();
        return c.set;
    }

    // The union of the postings of the terms that `accept` admits among those from `start` on,
    // while `more` holds for the term, in every segment; within the universe.
    result<candidates> expand(std::string_view start,
                              const std::function<bool(std::string_view)>& more,
                              const std::function<bool(std::string_view)>& accept,
                              const std::string& shown) {
        Roaring out;
        std::unordered_set<std::string> seen;
        for (auto& s : segments) {
            for (segment_terms it(txn, index.blocks_, s.id, start); it.valid() && more(it.term());
                 it.next()) {
                check_deadline();
                auto term = it.term();
                if (!accept(term)) continue;
                if (seen.emplace(term).second && seen.size() > max_expanded_terms)
                    return api_error{error_type::invalid_query_value,
                                     "'" + shown + "' matches too many terms",
                                     {}};
                out |= postings_view(it.postings()).numbers();
            }
        }
        return candidates{out & universe, {}, {}};
    }

    // The records of `set`, a subset of the universe, that `c` holds (whatever its verifier says).
    static Roaring within(candidates& c, Roaring set) {
        if (c.terms.empty()) return set & c.set;
        for (auto* t : c.terms)
            set = t->among(set);
        return set;
    }

    // Only the records of `c` that are accepted, without a verifier.
    Roaring exact(candidates& c) {
        if (!c.verify) return resolve(c);
        Roaring out;
        for (auto n : resolve(c)) {
            check_deadline();
            if (c.verify(n, words_of(n))) out.add(n);
        }
        return out;
    }

    result<candidates> text(const std::string& field, const std::string& text, unsigned slop,
                            double boost) {
        if (auto bad = check_field(field)) return *bad;
        auto terms = analyze(text);
        if (terms.empty()) return candidates{};
        candidates out;
        for (auto& t : terms)
            out.terms.push_back(scored_postings(t, boost));
        if (terms.size() > 1)
            out.verify = [terms, slop](std::uint32_t, auto& words) {
                return holds_phrase(words, terms, slop);
            };
        return out;
    }

    static std::optional<api_error> check_field(const std::string& field) {
        if (field.empty() || field == "text" || field == "content") return std::nullopt;
        return api_error{error_type::invalid_query_value,
                         "content has no field '" + field + "'; search its text",
                         {{"field", field}}};
    }

    result<candidates> operator()(const query::term_query& q, double boost) {
        return text(q.field, q.text, 0, boost);
    }
    result<candidates> operator()(const query::phrase_query& q, double boost) {
        return text(q.field, q.text, q.slop, boost);
    }
    result<candidates> operator()(const query::wildcard_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        std::string pattern;
        for (char ch : q.pattern)
            pattern += char(std::tolower(static_cast<unsigned char>(ch)));
        auto literal = pattern.substr(0, pattern.find_first_of("*?\\"));
        return expand(
            literal, [&](std::string_view term) { return term.starts_with(literal); },
            [&](std::string_view term) { return glob_match(pattern, term); }, q.pattern);
    }
    result<candidates> operator()(const query::fuzzy_query& q, double boost) {
        if (auto bad = check_field(q.field)) return *bad;
        auto terms = analyze(q.text);
        if (terms.size() != 1) return text(q.field, q.text, 0, boost);
        auto& target = terms[0];
        auto distance = q.distance;
        return expand(
            "", [](std::string_view) { return true; },
            [&](std::string_view term) {
                return store::within_edit_distance(term, target, distance);
            },
            q.text);
    }
    result<candidates> operator()(const query::range_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        auto bound = [](const std::optional<std::string>& b) -> std::optional<std::string> {
            if (!b) return std::nullopt;
            auto t = analyze(*b);
            return t.empty() ? std::string() : t[0];
        };
        auto lo = bound(q.lower), hi = bound(q.upper);
        return expand(
            lo.value_or(""),
            [&](std::string_view term) {
                return !hi || term < *hi || (term == *hi && q.include_upper);
            },
            [&](std::string_view term) { return !lo || term != *lo || q.include_lower; }, q.field);
    }
    result<candidates> operator()(const query::exists_query& q, double) {
        if (auto bad = check_field(q.field)) return *bad;
        return candidates{universe, {}, {}};
    }
    result<candidates> operator()(const query::match_all_query&, double) {
        return candidates{universe, {}, {}};
    }
    result<candidates> operator()(const query::boolean_query& q, double boost) {
        std::optional<candidates> must;
        std::vector<std::shared_ptr<candidates>> should;
        Roaring must_not;
        for (auto& c : q.clauses) {
            auto r = run(c.query, c.how == query::occur::must_not ? 0.0 : boost);
            if (!r) return r;
            if (c.how == query::occur::must) {
                if (!must) {
                    must = std::move(*r);
                    continue;
                }
                if (!must->terms.empty() && !r->terms.empty()) {
                    must->terms.insert(must->terms.end(), r->terms.begin(), r->terms.end());
                } else if (must->terms.empty()) {
                    must->set = within(*r, std::move(must->set));
                } else {
                    must->set = within(*must, std::move(r->set));
                    must->terms.clear();
                }
                if (r->verify) {
                    auto mine = std::move(must->verify), theirs = std::move(r->verify);
                    must->verify = [mine, theirs](std::uint32_t n, auto& words) {
                        return (!mine || mine(n, words)) && theirs(n, words);
                    };
                }
            } else if (c.how == query::occur::should) {
                should.push_back(std::make_shared<candidates>(std::move(*r)));
            } else {
                must_not |= exact(*r);
            }
        }
        candidates out;
        if (must) {
            out = std::move(*must);
        } else if (!should.empty()) {
            for (auto& s : should)
                out.set |= resolve(*s);
            if (std::any_of(should.begin(), should.end(), [](auto& s) { return bool(s->verify); }))
                out.verify = [should](std::uint32_t n, auto& words) {
                    return std::any_of(should.begin(), should.end(), [&](auto& s) {
                        return s->set.contains(n) && (!s->verify || s->verify(n, words));
                    });
                };
        } else {
            out.set = universe;
        }
        if (!must_not.isEmpty()) resolve(out) -= must_not;
        return out;
    }

    result<candidates> run(const query::node& n, double boost) {
        return std::visit([&](auto& q) { return (*this)(q, boost * n.boost); }, n.value);
    }

    // The BM25 rank of each of `numbers` (ascending) from the scoring terms' postings.
    std::vector<double> ranks(const std::vector<std::uint32_t>& numbers) {
        std::vector<double> out(numbers.size(), 0.0);
        for (auto& s : scoring)
            s.postings->each_held(
                numbers, [&](std::size_t j, const postings_view& p, std::uint32_t i) {
                    double tf = p.tf[i];
                    out[j] += s.weight * tf * (bm25_k1 + 1) / (tf + length_norm[p.length[i]]);
                });
        return out;
    }

    struct ranked {
        double rank;
        std::uint32_t number;
    };
    // The better ranks higher; ties go to the smaller record number.
    static bool better(const ranked& a, const ranked& b) {
        return a.rank > b.rank || (a.rank == b.rank && a.number < b.number);
    }

    // The `size` best of `set`, best first. Terms are taken by weight, highest first, each ranking
    // the records of `set` it holds that no earlier term held: once the worst kept beats what the
    // records holding only later terms could reach (MaxScore), they are not ranked.
    // The `size` best of the records offered.
    struct best_ranked {
        std::size_t size;
        std::vector<ranked> heap = {};  // the worst on top

        bool full() const { return heap.size() == size; }
        const ranked& worst() const { return heap.front(); }
        void offer(const ranked& r) {
            if (heap.size() < size) {
                heap.push_back(r);
                std::push_heap(heap.begin(), heap.end(), better);
            } else if (better(r, heap.front())) {
                std::pop_heap(heap.begin(), heap.end(), better);
                heap.back() = r;
                std::push_heap(heap.begin(), heap.end(), better);
            }
        }
        // Best first.
        std::vector<ranked> sorted() && {
            std::sort_heap(heap.begin(), heap.end(), better);
            return std::move(heap);
        }
    };

    std::vector<ranked> best_of(const Roaring& set, std::size_t size) {
        if (size == 0) return {};
        best_ranked best{size};
        std::vector<const scored_term*> order;
        double reach = 0;  // above any rank of a record holding only the terms not taken yet
        for (auto& s : scoring) {
            order.push_back(&s);
            reach += std::max(0.0, s.weight) * (bm25_k1 + 1);
        }
        std::sort(order.begin(), order.end(),
                  [](auto* x, auto* y) { return x->weight > y->weight; });
        auto beaten = [&] { return best.full() && best.worst().rank >= reach; };
        Roaring rest = set;
        for (auto* s : order) {
            if (beaten()) return std::move(best).sorted();
            Roaring part = s->postings->among(rest);
            rest -= part;
            reach -= std::max(0.0, s->weight) * (bm25_k1 + 1);
            std::vector<std::uint32_t> numbers(part.cardinality());
            part.toUint32Array(numbers.data());
            auto rank = ranks(numbers);
            for (std::size_t i = 0; i < numbers.size(); ++i)
                best.offer({rank[i], numbers[i]});
        }
        // The records holding no scoring term rank 0: by number, until one cannot enter.
        for (auto n : rest) {
            if (best.full() && !better({0, n}, best.worst())) break;
            best.offer({0, n});
        }
        return std::move(best).sorted();
    }

    // The `limit` best-ranked matching records that still exist, best first (ties by record
    // number).
    std::vector<content_hit> top(candidates& c, std::size_t limit) {
        resolve(c);
        std::vector<content_hit> out;
        auto take = [&](const ranked& r) {
            if (auto record = index.record(txn, r.number))
                out.push_back({r.number, r.rank, std::move(*record)});
        };
        if (!c.verify) {
            for (auto& r : best_of(c.set, limit))
                take(r);
            return out;
        }
        // Phrases: every candidate ranked once, then verified best first until enough pass, in
        // batches of the best not verified yet (4 times the limit, then 8 times more each time).
        std::vector<std::uint32_t> numbers(c.set.cardinality());
        c.set.toUint32Array(numbers.data());
        auto rank = ranks(numbers);
        std::optional<ranked> verified;  // the last verified, worse than every one before
        auto grown = [&](std::size_t size, std::size_t times) {
            return size > numbers.size() / times ? numbers.size() : size * times;
        };
        for (auto size = grown(limit, 4); out.size() < limit; size = grown(size, 8)) {
            best_ranked batch{size};
            for (std::size_t i = 0; i < numbers.size(); ++i)
                if (ranked r{rank[i], numbers[i]}; !verified || better(*verified, r))
                    batch.offer(r);
            if (batch.heap.empty()) break;
            for (auto& r : std::move(batch).sorted()) {
                if (out.size() == limit) break;
                check_deadline();
                verified = r;
                if (!c.verify(r.number, words_of(r.number))) continue;
                words.erase(r.number);
                take(r);
            }
        }
        return out;
    }
};

// The postings of records numbered from `first` on, gathered in memory and written as one new
// segment: the records of every request of a write transaction make one segment.
struct content_index::segment_builder final : store::deferred_write {
    const content_index& index;
    std::uint32_t first;
    // Of each record: its session, its length's code, the running total of tokens after it and
    // where its words start in `words`.
    std::vector<std::uint64_t> sessions;
    std::vector<std::uint8_t> lengths;
    std::vector<std::uint64_t> tokens;
    std::vector<std::size_t> starts;
    // Every word of the records in order, as the id of its term (terms are numbered as they come).
    std::vector<std::uint32_t> words;
    term_dictionary ids;
    std::vector<std::string_view> terms;  // by id, their text in `arena`
    std::pmr::monotonic_buffer_resource arena;

    segment_builder(const content_index& index, std::uint32_t first) : index(index), first(first) {}

    void add(const content_record& r) {
        starts.push_back(words.size());
        for_each_token(r.text, [&](std::string_view word) {
            words.push_back(ids.find(packed_term(word), [&] {
                // Kept with the zeros after it, as the analyzer passes it.
                auto padded = padded_token_bytes(word.size());
                auto text = static_cast<char*>(arena.allocate(padded, 1));
                std::memcpy(text, word.data(), padded);
                terms.emplace_back(text, word.size());
                return std::pair(packed_term(terms.back()), std::uint32_t(terms.size() - 1));
            }));
        });
        auto count = words.size() - starts.back();
        lengths.push_back(encode_length(count));
        sessions.push_back(r.session);
        tokens.push_back((tokens.empty() ? 0 : tokens.back()) + count);
    }

    std::size_t mark() const override { return sessions.size(); }
    // Terms seen only in records taken back stay numbered, without postings.
    void undo(std::size_t mark) override {
        if (mark < starts.size()) words.resize(starts[mark]);
        sessions.resize(mark);
        tokens.resize(mark);
        lengths.resize(mark);
        starts.resize(mark);
    }

    void write(store::transaction& txn) override {
        if (sessions.empty()) return;
        auto end = first + std::uint32_t(sessions.size());
        // The terms that have words, in byte order, and each one's rank among them.
        std::vector<std::uint32_t> count(terms.size());
        for (auto id : words)
            ++count[id];
        std::vector<std::pair<ordered_term, std::uint32_t>> sorted;
        for (std::uint32_t t = 0; t < terms.size(); ++t)
            if (count[t] != 0) sorted.emplace_back(ordered_term(terms[t]), t);
        // By their first 8 bytes with a radix sort, then those that share them by the rest.
        boost::sort::spreadsort::integer_sort(
            sorted.begin(), sorted.end(),
            [](auto& e, unsigned shift) { return e.first.head >> shift; },
            [](auto& a, auto& b) { return a.first.head < b.first.head; });
        for (auto run = sorted.begin(); run != sorted.end();) {
            auto head = run->first.head;
            auto end =
                std::find_if(run, sorted.end(), [&](auto& e) { return e.first.head != head; });
            std::sort(run, end, [](auto& a, auto& b) { return a.first < b.first; });
            run = end;
        }
        std::vector<std::uint32_t> rank(terms.size()), group(sorted.size() + 1),
            numbers(words.size());
        for (std::uint32_t k = 0; k < sorted.size(); ++k) {
            group[k + 1] = group[k] + count[sorted[k].second];
            rank[sorted[k].second] = k;
        }
        // The records of each term in ascending order, the terms in byte order: the words grouped
        // by their term's rank (a counting sort), each group in record order.
        auto at = group;
        for (std::uint32_t r = 0; r < starts.size(); ++r)
            for (auto w = starts[r]; w < (r + 1 < starts.size() ? starts[r + 1] : words.size());
                 ++w)
                numbers[at[rank[words[w]]]++] = first + r;
        auto id = std::uint32_t(stat(txn, index.stats_, "next_segment"));
        txn.put(index.stats_, "next_segment", store::u64_key(id + 1));
        txn.put(index.segments_, u32_key(id), segment{id, first, end, {}}.encode());
        segment_writer out(id);
        std::vector<std::uint32_t> distinct;
        auto length = [&](std::uint32_t number) { return lengths[number - first]; };
        for (std::uint32_t k = 0; k < sorted.size(); ++k)
            out.add(sorted[k].first.text, [&](std::string& out) {
                append_occurrences(out,
                                   std::span(numbers).subspan(group[k], group[k + 1] - group[k]),
                                   length, distinct);
            });
        out.write(txn, index.blocks_, true);  // the newest segment's keys come after every other

        // Liveness, one bitmap per 65,536 record numbers.
        for (auto from = first; from < end;) {
            auto chunk = from >> live_chunk_bits;
            auto to = std::min<std::uint64_t>(end, std::uint64_t(chunk + 1) << live_chunk_bits);
            auto raw = txn.get(index.live_, u32_key(chunk));
            Roaring live = raw ? store::read_bitmap(*raw) : Roaring();
            live.addRange(from, to);
            txn.put(index.live_, u32_key(chunk), store::write_bitmap(live));
            from = std::uint32_t(to);
        }
        // The session of each record, 1,024 to a value.
        std::string column;
        for (auto n = first; n < end; ++n) {
            if (n == first || n % session_chunk == 0) {
                auto raw = txn.get(index.sessions_, u32_key(n / session_chunk));
                column = raw ? std::string(*raw) : std::string(session_chunk * 8, '\0');
            }
            column.replace(std::size_t(n % session_chunk) * 8, 8,
                           store::u64_key(sessions[n - first]));
            if (n + 1 == end || (n + 1) % session_chunk == 0)
                txn.put(index.sessions_, u32_key(n / session_chunk), column);
        }
        txn.put(index.stats_, "tokens",
                store::u64_key(stat(txn, index.stats_, "tokens") + tokens.back()));
    }
};

content_index::content_index(store::environment& env) {
    records_ = env.open_table("content.records");
    by_session_ = env.open_table("content.by_session");
    blocks_ = env.open_table("content.blocks");
    segments_ = env.open_table("content.segments");
    live_ = env.open_table("content.live");
    sessions_ = env.open_table("content.sessions");
    stats_ = env.open_table("content.stats");
    purges_ = env.open_table("content.purge_queue");
    upgrade(env);
}

void content_index::upgrade(store::environment& env) {
    // A store written before records were binary: its records are rewritten in transactions of
    // 10,000; until the last, the stat "record_upgrade" holds the key where the next one starts.
    for (;;) {
        std::vector<std::pair<std::string, std::string>> batch;
        std::optional<std::string> next;
        {
            auto txn = env.read();
            auto progress = txn.get(stats_, "record_upgrade");
            auto c = txn.open_cursor(records_);
            bool ok = progress ? c.seek(*progress) : c.first();
            if (!progress && (!ok || !c.value().starts_with('{'))) break;
            for (; ok && batch.size() < 10000; ok = c.next())
                batch.emplace_back(c.key(),
                                   encode_record(from_json(json::parse(c.value()).as_object())));
            if (ok) next = std::string(c.key());
        }
        env.write([&](store::transaction& txn) {
            for (auto& [key, value] : batch)
                txn.put(records_, key, value);
            if (next)
                txn.put(stats_, "record_upgrade", *next);
            else
                txn.erase(stats_, "record_upgrade");
        });
        if (!next) break;
    }
    // A store written before segments (postings by term and chunk) or before blocks (postings by
    // segment and term): drop the old postings and index the records again, in batches of
    // consecutive numbers.
    auto postings = env.open_table("content.postings"), terms = env.open_table("content.terms");
    {
        auto txn = env.read();
        bool unindexed = !txn.open_cursor(segments_).first() && txn.open_cursor(records_).first();
        if (!unindexed && !txn.open_cursor(postings).first() && !txn.open_cursor(terms).first())
            return;
    }
    env.write([&](store::transaction& txn) {
        for (auto t : {postings, terms, segments_, blocks_})
            txn.clear(t);
        txn.put(stats_, "tokens", store::u64_key(0));
        std::optional<segment_builder> batch;
        auto c = txn.open_cursor(records_);
        for (bool ok = c.first(); ok; ok = c.next()) {
            auto number = store::read_u32(c.key());
            if (batch && (number != batch->first + batch->mark() || batch->mark() == 65536)) {
                batch->write(txn);
                batch.reset();
            }
            if (!batch) batch.emplace(*this, number);
            batch->add(decode_record(c.value()));
        }
        if (batch) batch->write(txn);
    });
}

void content_index::mark_for_purge(store::transaction& txn, std::uint64_t session) {
    txn.put(purges_, store::u64_key(session), {});
}

std::vector<std::uint64_t> content_index::pending_purges(const store::transaction& txn) const {
    std::vector<std::uint64_t> out;
    auto c = txn.open_cursor(purges_);
    for (bool ok = c.first(); ok; ok = c.next())
        out.push_back(store::read_u64(c.key()));
    return out;
}

void content_index::add(store::transaction& txn, const std::vector<content_record>& records) {
    if (records.empty()) return;
    const auto next = stat(txn, stats_, "next_record");
    if (next + records.size() > max_records) {
        auto e = api_error{error_type::search_unavailable,
                           "the store has numbered all the content records it can (" +
                               std::to_string(max_records) + "): it takes no more content",
                           {{"reason", "record_numbers"}, {"limit", max_records}}};
        throw api_exception(std::move(e));
    }
    auto first = std::uint32_t(next);
    auto& segment = txn.deferred<segment_builder>(
        this, [&] { return std::make_unique<segment_builder>(*this, first); });
    if (segment.first + segment.mark() != first)
        throw std::logic_error("content records were numbered outside their segment");
    auto tail = txn.open_cursor(records_);  // stays at the table's end
    for (std::size_t i = 0; i < records.size(); ++i) {
        tail.append(u32_key(first + std::uint32_t(i)), encode_record(records[i]));
        segment.add(records[i]);
    }
    for (std::size_t i = 0, run; i < records.size(); i += run) {
        for (run = 1; i + run < records.size() && records[i + run].session == records[i].session;)
            ++run;
        txn.put(by_session_, session_key(records[i].session, first + std::uint32_t(i)),
                u32_key(std::uint32_t(run)));
    }
    txn.put(stats_, "next_record", store::u64_key(first + records.size()));
    txn.put(stats_, "records", store::u64_key(stat(txn, stats_, "records") + records.size()));
}

bool content_index::merge_step(store::environment& env,
                               const std::function<void()>& before_writing) {
    // What the step writes, read and joined in a read transaction, so that the writer is held
    // only to write it (merges run beside ingestion).
    struct step {
        segment target;
        std::vector<segment> sources;  // in ascending order of their records
        std::string after;             // the target's last term when read
        std::uint64_t purges;          // the purges done when read
        segment_writer out;
        bool done = false;
    };
    std::optional<step> next;
    {
        auto txn = env.read();
        auto segments = load_segments(txn, segments_);
        auto target = std::find_if(segments.begin(), segments.end(),
                                   [](auto& s) { return !s.sources.empty(); });
        if (target == segments.end()) {
            if (!choose_merge(segments)) return false;
        } else {
            next.emplace(step{*target,
                              {},
                              last_term(txn, blocks_, target->id),
                              stat(txn, stats_, "purges"),
                              segment_writer(target->id)});
            for (auto& s : segments)
                if (std::find(target->sources.begin(), target->sources.end(), s.id) !=
                    target->sources.end())
                    next->sources.push_back(s);
            next->done = join_postings(txn, blocks_, next->sources, next->after, next->out);
        }
    }
    if (!next) {
        // Start the merge: its target's entry, which lists its sources.
        return env.write([&](store::transaction& txn) {
            auto segments = load_segments(txn, segments_);
            auto window = choose_merge(segments);
            if (!window) return false;
            auto id = std::uint32_t(stat(txn, stats_, "next_segment"));
            txn.put(stats_, "next_segment", store::u64_key(id + 1));
            segment merged{
                id, segments[*window].first, segments[*window + merge_width - 1].end, {}};
            for (std::size_t i = *window; i < *window + merge_width; ++i)
                merged.sources.push_back(segments[i].id);
            txn.put(segments_, u32_key(id), merged.encode());
            return true;
        });
    }
    before_writing();
    env.write([&](store::transaction& txn) {
        // A purge since the reading rewrote postings that the step joined: it is read again.
        if (stat(txn, stats_, "purges") != next->purges ||
            last_term(txn, blocks_, next->target.id) != next->after)
            return;
        next->out.write(txn, blocks_, false);
        if (!next->done) return;
        for (auto& s : next->sources) {
            auto prefix = u32_key(s.id);
            auto c = txn.open_cursor(blocks_);
            for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix);)
                ok = c.erase();
            txn.erase(segments_, prefix);
        }
        next->target.sources.clear();
        txn.put(segments_, u32_key(next->target.id), next->target.encode());
    });
    return true;
}

void content_index::merge_all(store::environment& env, const std::function<bool()>& stop) {
    while (!stop() && merge_step(env)) {
    }
}

std::optional<content_record> content_index::record(const store::transaction& txn,
                                                    std::uint32_t number) const {
    auto raw = txn.get(records_, u32_key(number));
    if (!raw) return std::nullopt;
    return decode_record(*raw);
}

void content_index::scan_session(
    const store::transaction& txn, std::uint64_t session,
    const std::function<bool(std::uint32_t, const content_record&)>& visit) const {
    Roaring numbers;
    auto c = txn.open_cursor(by_session_);
    add_session_records(c, session, numbers);
    for (auto number : numbers)
        if (auto r = record(txn, number))
            if (!visit(number, *r)) return;
}

result<std::vector<content_hit>> content_index::search(const store::transaction& txn,
                                                       const query::node& q, std::uint64_t session,
                                                       std::size_t limit) const {
    content_query run{*this, txn};
    auto c = txn.open_cursor(by_session_);
    add_session_records(c, session, run.universe);
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, limit);
}

namespace {

// Every record that exists.
Roaring live_records(const store::transaction& txn, store::table live) {
    Roaring out;
    auto c = txn.open_cursor(live);
    for (bool ok = c.first(); ok; ok = c.next())
        out |= store::read_bitmap(c.value());
    return out;
}

}  // namespace

result<std::vector<content_hit>> content_index::search_records(const store::transaction& txn,
                                                               const query::node& q,
                                                               std::size_t limit) const {
    content_query run{*this, txn};
    run.universe = live_records(txn, live_);
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    return run.top(*matches, limit);
}

result<std::vector<session_match>> content_index::search_sessions(
    const store::transaction& txn, const query::node& q,
    const std::vector<std::uint64_t>* among) const {
    content_query run{*this, txn};
    if (among) {
        auto c = txn.open_cursor(by_session_);
        for (auto session : *among)
            add_session_records(c, session, run.universe);
    } else {
        run.universe = live_records(txn, live_);
    }
    auto matches = run.run(q, 1.0);
    if (!matches) return matches.error();
    auto found = run.exact(*matches);
    std::vector<std::uint32_t> numbers(found.cardinality());
    found.toUint32Array(numbers.data());
    auto rank = run.ranks(numbers);
    std::unordered_map<std::uint64_t, session_match> by_session;
    std::optional<std::string_view> column;
    std::uint32_t column_at = 0;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
        check_deadline();
        auto n = numbers[i];
        if (!column || n / session_chunk != column_at) {
            column_at = n / session_chunk;
            column = txn.get(sessions_, u32_key(column_at));
        }
        auto session = store::read_u64(*column, std::size_t(n % session_chunk) * 8);
        auto [it, added] = by_session.try_emplace(session, session_match{session, rank[i], 0});
        it->second.rank = std::max(it->second.rank, rank[i]);
        ++it->second.hits;
    }
    std::vector<session_match> out;
    out.reserve(by_session.size());
    for (auto& [id, m] : by_session)
        out.push_back(m);
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
        return a.rank > b.rank || (a.rank == b.rank && a.session < b.session);
    });
    return out;
}

bool content_index::purge_session(store::transaction& txn, std::uint64_t session,
                                  std::size_t max_records) {
    // Whole runs, the first ones, until they hold max_records.
    Roaring chosen;
    std::vector<std::string> runs;
    bool more = false;
    {
        auto c = txn.open_cursor(by_session_);
        auto prefix = store::u64_key(session);
        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
            if (chosen.cardinality() >= max_records) {
                more = true;
                break;
            }
            auto [first, count] = session_run(c);
            chosen.addRange(first, std::uint64_t(first) + count);
            runs.emplace_back(c.key());
        }
    }
    std::vector<std::uint32_t> numbers;
    std::map<std::string, Roaring, std::less<>> gone;  // by term
    std::uint64_t tokens = 0;
    for (auto n : chosen) {
        auto r = record(txn, n);
        if (!r) continue;
        numbers.push_back(n);
        auto words = analyze(r->text);
        tokens += words.size();
        for (auto& w : words)
            gone[w].add(n);
    }
    // Every segment's blocks that hold a purged term are rewritten without the purged records
    // (a merge's target too, for the terms it holds already).
    for (auto& s : load_segments(txn, segments_)) {
        if (numbers.empty() || numbers.back() < s.first || numbers.front() >= s.end) continue;
        std::map<std::string, std::string> blocks;  // copies: the rewrites change the pages
        auto c = txn.open_cursor(blocks_);
        for (auto& [term, records] : gone)
            if (seek_block(c, s.id, term)) blocks.try_emplace(std::string(c.key()), c.value());
        for (auto& [key, raw] : blocks) {
            block_view old(raw);
            block_builder kept;
            for (std::size_t i = 0; i < old.size(); ++i) {
                auto term = old.term(i);
                auto purged = gone.find(term);
                if (purged == gone.end()) {
                    kept.add(term, old.postings(i));
                } else if (auto left = without(old.postings(i), purged->second); !left.empty()) {
                    kept.add(term, left);
                }
            }
            if (kept.empty())
                txn.erase(blocks_, key);
            else
                txn.put(blocks_, key, kept.encode());
        }
    }
    for (auto n : numbers)
        txn.erase(records_, u32_key(n));
    for (auto& key : runs)
        txn.erase(by_session_, key);
    std::map<std::uint32_t, Roaring> by_chunk;
    for (auto n : numbers)
        by_chunk[n >> live_chunk_bits].add(n);
    for (auto& [chunk, dead] : by_chunk) {
        auto raw = txn.get(live_, u32_key(chunk));
        if (!raw) continue;
        Roaring live = store::read_bitmap(*raw) - dead;
        txn.put(live_, u32_key(chunk), store::write_bitmap(live));
    }
    if (!more) txn.erase(purges_, store::u64_key(session));
    txn.put(stats_, "purges", store::u64_key(stat(txn, stats_, "purges") + 1));  // see merge_step
    auto count = stat(txn, stats_, "records"), total = stat(txn, stats_, "tokens");
    txn.put(stats_, "records",
            store::u64_key(count - std::min<std::uint64_t>(count, numbers.size())));
    txn.put(stats_, "tokens", store::u64_key(total - std::min(total, tokens)));
    return !more;
}

}  // namespace audex::index
