// Session content (commands, screen text, window titles) and its inverted index, both in LMDB and
// written in the caller's transaction. Each write adds a segment: per term, the Roaring bitmap of
// its records with each record's term frequency and length, so that BM25 ranks without reading
// records. Segments are merged in the background into larger ones. Phrases are verified against
// the stored text, best-ranked candidates first.
#pragma once

#include "audex/error.hpp"
#include "core/query.hpp"
#include "core/time.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace audex::index {

struct content_record {
    std::uint64_t session = 0;
    std::int64_t channel = 0;
    std::string type;  // command, screen or window_title
    std::string text;
    micros start = 0, end = 0;
    boost::json::object record_id;  // {"begin", "end", "for_screenshot"}
};

struct content_hit {
    std::uint32_t number;  // the record's number in the store
    double rank;           // BM25 with boosts
    content_record record;
};

// A session whose content matches a query: its best record's rank and, when counted, how many of
// its records match.
struct session_match {
    std::uint64_t session;
    double rank;
    std::uint64_t hits;
};

// The figures BM25 ranks with: how many records there are, their tokens and, for each term of a
// query that scores, how many records hold it. Each partition has its own; summed as integers over
// every partition they rank each record exactly as one store holding them all would.
struct corpus_stats {
    std::uint64_t records = 0, tokens = 0;
    std::map<std::string, std::uint64_t, std::less<>> holding;  // by term

    corpus_stats& operator+=(const corpus_stats& other);
};

class content_index {
  public:
    // A merge joins this many adjacent segments, when the result is at least twice the largest of
    // them: each record's postings are rewritten about log16 of (the store's records / a commit's)
    // times, and a store holds at most 15 segments of each size.
    static constexpr std::size_t merge_width = 16;

    // Records are numbered from 0 with 32 bits, never reused: an index (a partition's: a month's
    // sessions) takes this many in its life (a purge frees none). An add() past it fails with 503
    // SearchUnavailable.
    static constexpr std::uint64_t max_records = 0xffffffffull;

    explicit content_index(store::environment& env);

    // Stores and indexes the records; they are searchable once the transaction commits. The
    // postings of every add() of a write transaction are written as one segment just before it
    // commits: merge_step() and purge_session() run in transactions of their own.
    void add(store::transaction& txn, const std::vector<content_record>& records);

    // Merges a bounded amount of small segments into larger ones; returns whether work remains.
    // The step's postings are read and joined in a read transaction, then written in a write
    // transaction of their own (`before_writing` runs in between), which writes nothing when a
    // purge came in between: the step is then read again. Queries answer the same before, during
    // and after a merge; an interrupted merge goes on. One merger at a time.
    bool merge_step(
        store::environment& env, const std::function<void()>& before_writing = [] {});
    // Runs merge steps until none remains or `stop` returns true.
    void merge_all(
        store::environment& env, const std::function<bool()>& stop = [] { return false; });

    // How many records it holds (purged ones not).
    std::uint64_t records(const store::transaction& txn) const;
    // The sessions that have records, ascending.
    std::vector<std::uint64_t> sessions(const store::transaction& txn) const;
    // Visits a session's records in the order they were added while `visit` returns true.
    void scan_session(const store::transaction& txn, std::uint64_t session,
                      const std::function<bool(std::uint32_t, const content_record&)>& visit) const;

    // InvalidQueryValue for a query on fields the content does not have, as a search gives it:
    // for the searches of a store with no content.
    static result<void> check(const query::node& q);

    // This index's figures for the terms of `q` that score.
    corpus_stats statistics(const store::transaction& txn, const query::node& q) const;

    // The searches rank with `corpus`, the figures of every partition summed, or, when it is
    // null, with this index's own.

    // The records of `session` matching `q`, the `limit` best ranked first (ties by record
    // number); only those are read. InvalidQueryValue for fields the content does not have.
    result<std::vector<content_hit>> search(const store::transaction& txn, const query::node& q,
                                            std::uint64_t session, std::size_t limit,
                                            const corpus_stats* corpus = nullptr) const;

    // The records matching `q` across the whole store, the `limit` best ranked first (ties by
    // record number), only those ranked above `above` (the best that other partitions have).
    // InvalidQueryValue as search().
    result<std::vector<content_hit>> search_records(
        const store::transaction& txn, const query::node& q, std::size_t limit,
        const corpus_stats* corpus = nullptr,
        double above = -std::numeric_limits<double>::infinity()) const;

    // The sessions whose records match `q`, across the whole store or among the sessions
    // `among` names, each handed to `visit` as soon as it is known: best rank first, ties by
    // session id, until `visit` returns false. Removed sessions whose content is not purged yet
    // are among them. A phrase's candidate records are ranked, then verified best first, so
    // that a visitor that stops early leaves the other texts unread; there session_match::hits
    // is 0, unless `count_hits` asks for every matching record to be verified and counted first.
    // InvalidQueryValue as search().
    result<void> search_sessions(const store::transaction& txn, const query::node& q,
                                 const std::vector<std::uint64_t>* among, bool count_hits,
                                 const std::function<bool(const session_match&)>& visit,
                                 const corpus_stats* corpus = nullptr) const;

    // Records that a session's content is to be purged, in the transaction that removes it, so
    // that a purge interrupted by a stop is found again.
    void mark_for_purge(store::transaction& txn, std::uint64_t session);
    std::vector<std::uint64_t> pending_purges(const store::transaction& txn) const;
    // Removes a session's records and their postings, the first ones until at least
    // `max_records` (whole commits' runs), so that a large session goes in several bounded
    // transactions; the purge mark goes with the last. Returns whether none is left.
    bool purge_session(store::transaction& txn, std::uint64_t session,
                       std::size_t max_records = 16384);

  private:
    std::optional<content_record> record(const store::transaction& txn, std::uint32_t number) const;
    // Indexes the records of a store written before segments existed.
    void upgrade(store::environment& env);

    struct segment_builder;
    std::string name_;  // its environment's directory's: a partition's month
    store::table records_, by_session_, blocks_, segments_, live_, sessions_, stats_, purges_;
    friend struct content_query;
};

}  // namespace audex::index
