// The stored forms of session content (docs/storage.md): keys, records, postings, blocks and
// segments. Shared by the writing side (content_index.cpp: adding, merging, purging) and the search
// (content_query.cpp); nothing outside the content index reads them.
#pragma once

#include "index/content_index.hpp"
#include "store/bitmap.hpp"
#include "store/keys.hpp"
#include "store/lmdb.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/container_hash/hash.hpp>
#include <boost/json/object.hpp>
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

namespace audex::index::stored {

namespace json = boost::json;

// A merge (of content_index::merge_width segments) holds at most this many record numbers.
constexpr std::uint32_t max_merged_records = 1u << 20;
// Bytes of postings a merge step writes, which bound its write transaction.
constexpr std::size_t merge_bytes = 1 << 20;
// A segment's block is closed once its entries hold this many bytes.
constexpr std::size_t block_bytes = 64 << 10;
constexpr std::uint32_t live_chunk_bits = 16;  // live record numbers per value: 65,536
constexpr std::uint32_t session_chunk = 1024;  // session ids per value of the record column

std::string u32_key(std::uint32_t v);

std::string term_key(std::uint32_t segment, std::string_view term);

// The key of a run of a session's consecutive records, from record number `first` on.
std::string session_key(std::uint64_t session, std::uint32_t first);

// The run of a session's records that the cursor is at in content.by_session: the key is the
// session and the first record's number, the value the run's length, a u32, or empty for one
// record (stores written before runs).
std::pair<std::uint32_t, std::uint32_t> session_run(const store::cursor& c);

// Adds the numbers of a session's records to `out`.
void add_session_records(store::cursor& c, std::uint64_t session, Roaring& out);

std::uint64_t stat(const store::transaction& txn, store::table t, std::string_view key);

// Record lengths in one byte: exact up to 127 tokens, then in steps of 2^(1/16).
std::uint8_t encode_length(std::size_t tokens);

double decode_length(std::uint8_t code);

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
                     std::string_view length);

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
                 std::string& out);

// The postings without the records in `gone`, or an empty string when none remains.
std::string without(std::string_view raw, const Roaring& gone);

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
bool seek_block(store::cursor& c, std::uint32_t segment, std::string_view term);

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
                                              std::string_view term);

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
std::vector<segment> load_segments(const store::transaction& txn, store::table table);

// The segments that searches read: a merge's target is left out until it is complete, while its
// sources still hold every term.
std::vector<segment> searched_segments(const store::transaction& txn, store::table table);

// The window of merge_width adjacent segments to merge next, the smallest that qualifies, as the
// index of its first segment.
std::optional<std::size_t> choose_merge(const std::vector<segment>& segments);

// The last term of a segment's postings, or an empty string when it has none.
std::string last_term(const store::transaction& txn, store::table blocks, std::uint32_t segment);

// Joins the postings of the merge's sources (in ascending order of their records) into `out`,
// term by term after `after`, until about merge_bytes are joined; returns whether the sources
// are exhausted.
bool join_postings(const store::transaction& txn, store::table blocks,
                   const std::vector<segment>& sources, const std::string& after,
                   segment_writer& out);

// A record as stored: a format byte (1), [u64 session][i64 channel][i64 start][i64 end], the type
// and the text each as [u32 length][bytes], then its record_id as JSON text when it has one.
constexpr char record_format = 1;

std::string encode_record(const content_record& r);

content_record decode_record(std::string_view raw);

// A record as stores written before the binary layout kept it.
content_record from_json(const json::object& o);

}  // namespace audex::index::stored
