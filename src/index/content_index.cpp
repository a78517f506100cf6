// Content records and their segmented postings: adding (one segment a write transaction),
// background merging and purging. The search is in content_query.cpp, the stored forms in
// content_format.hpp.
#include "index/content_format.hpp"

#include "index/analyzer.hpp"

#include <boost/json/parse.hpp>
#include <boost/sort/spreadsort/integer_sort.hpp>

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

using namespace stored;

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

content_index::content_index(store::environment& env) : name_(env.directory().filename()) {
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
                           "partition " + name_ + " has numbered all the content records it can (" +
                               std::to_string(max_records) +
                               "): it takes no more content for sessions of its month",
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

std::uint64_t content_index::records(const store::transaction& txn) const {
    return stat(txn, stats_, "records");
}

std::vector<std::uint64_t> content_index::sessions(const store::transaction& txn) const {
    return store::key_prefixes(txn.open_cursor(by_session_));
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
