// The field indexes of sessions, kept by object_store in the transaction of every session write:
// a dense number per session, per indexed attribute and value the Roaring bitmap of the numbers
// of the live sessions holding it, a column of each number's id, start and end, and bitmaps of
// the numbers by hour of start and of end, so that selections, statistics and histograms read
// bitmaps instead of sessions. docs/storage.md describes the tables.
#pragma once

#include "core/deadline.hpp"
#include "core/query.hpp"
#include "core/schema.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>
#include <roaring/roaring.hh>

#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>

namespace audex::store {

// One session as the column holds it.
struct session_span {
    std::uint64_t id;
    std::int64_t started;   // µs; 0 when unset
    std::int64_t finished;  // µs; open_end while the session is active
    static constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();
};

// Reads the column in ascending order of numbers with one cursor.
class column_cursor {
  public:
    static constexpr std::uint32_t chunk = 256;    // sessions per column value
    static constexpr std::size_t entry_size = 24;  // u64 id, i64 start, i64 end (host order)

    column_cursor(const transaction& txn, table columns) : cursor_(txn.open_cursor(columns)) {}

    // The span of number `n`, nullopt where the column has none.
    std::optional<session_span> at(std::uint32_t n) {
        if (n / chunk != loaded_) load(n / chunk);
        if (data_.empty()) return std::nullopt;
        auto at = data_.data() + (n % chunk) * entry_size;
        session_span span;
        std::memcpy(&span.id, at, 8);
        std::memcpy(&span.started, at + 8, 8);
        std::memcpy(&span.finished, at + 16, 8);
        if (span.id == 0) return std::nullopt;
        return span;
    }

  private:
    void load(std::uint32_t index);
    cursor cursor_;
    std::uint32_t loaded_ = std::numeric_limits<std::uint32_t>::max();
    std::string_view data_;
};

// The sessions a query may select, by number: exactly those it selects when `exact`, else a
// superset on which the query's filter decides.
struct session_candidates {
    Roaring numbers;
    bool exact;
};

// How the fields a query names come from the stored session: the object API's filter names the
// session attributes themselves, the audit API's q the fields of its view.
struct query_fields {
    const model& fields;
    // The one stored session attribute that `field` is computed from, or nullptr.
    std::function<const attribute*(const attribute& field)> source;
    // The value of `field` for a session whose only stored attribute is `stored` (or none).
    std::function<boost::json::value(const attribute& field, boost::json::object stored)> value;
};

// What field_index::count_spans reports, bin by bin where it can: a histogram over [begin, end).
class span_sink {
  public:
    virtual ~span_sink() = default;
    // Whether the times a <= b (both in the span) fall in the same bin.
    virtual bool same_bin(std::int64_t a, std::int64_t b) = 0;
    // `n` sessions started at `t` (in the span) or, for bucketed counts, in the bin holding it.
    virtual void add_started(std::int64_t t, std::uint64_t n) = 0;
    // `n` sessions, started in the span or spanning its beginning, ended at `t` (in the span).
    virtual void add_ended(std::int64_t t, std::uint64_t n) = 0;
    // `n` sessions started before the span and still running at its beginning.
    virtual void add_spanning(std::uint64_t n) = 0;
    // One session with its whole span (ended: now while it is active).
    virtual void add(std::int64_t started, std::int64_t ended) = 0;
};

class field_index {
  public:
    // Sessions by time: finished sessions no longer than max_bucketed, with a start, are in the
    // bitmap of the hour (UTC) they start in and of the hour they end in; the others (active,
    // longer, reversed) in one bitmap read session by session.
    static constexpr std::int64_t bucket_length = 3'600'000'000;  // µs
    static constexpr std::int64_t max_bucketed = 24 * bucket_length;

    // Opens the tables; `meta` holds the next session number and the indexes' version.
    field_index(environment& env, table meta);

    // Whether the indexes were built by this version of the code. When not (a store written
    // before they existed or changed), they are built again before they are read: reset(), then
    // update() with every stored session in id order (in as many transactions as needed), then
    // set_current().
    bool current(const transaction& txn) const;
    void reset(transaction& txn);
    void set_current(transaction& txn);

    // Whether the postings index values of the session attribute `a`: the schema's keywords
    // (strings with an enum), numbers, booleans, IPs and references; not the free-text strings,
    // the date-times (the column has the start and end), the object's own id, computed ones.
    static bool indexed(const attribute& a);

    // Keeps the indexes in step with a write of session `id`: `before` is its stored form until
    // now (nullptr when it is being created), `after` the one written.
    void update(transaction& txn, std::uint64_t id, const boost::json::object* before,
                const boost::json::object& after);

    // The numbers of the live (not removed) sessions.
    Roaring live(const transaction& txn) const;
    // The number of session `id`, if it has one.
    std::optional<std::uint32_t> number(const transaction& txn, std::uint64_t id) const;
    // How many sessions have a number.
    std::size_t numbered(const transaction& txn) const;
    // Whether the numbers follow the ids: not once a session of a store older than these indexes
    // was numbered after a newer one.
    bool numbers_follow_ids(const transaction& txn) const;

    // Runs query `q` over the indexes among the `live` numbers. A leaf on a field computed from
    // an indexed attribute is decided once per distinct stored value (the union of their
    // bitmaps), one on the start or end time from the column; the others give every live number,
    // not exactly, and the booleans combine what their clauses give as the filter does.
    session_candidates candidates(const transaction& txn, const query::node& q, const Roaring& live,
                                  const query_fields& f) const;

    // The live sessions holding a stored value of the indexed attribute `a` for which `wanted`
    // holds; it is asked once per distinct value.
    Roaring holding(const transaction& txn, const attribute& a,
                    const std::function<bool(const boost::json::value&)>& wanted) const;
    // Visits each distinct stored value of `a` held by some of `selection` (every live session
    // when null) with how many of them hold it.
    void count_values(
        const transaction& txn, const attribute& a, const Roaring* selection,
        const std::function<void(const boost::json::value&, std::uint64_t)>& visit) const;

    // The numbers of `selection` (every live session when null) whose span overlaps [from, to]
    // (both inclusive; an active session's span runs to `now`).
    Roaring overlapping(const transaction& txn, const Roaring* selection, std::int64_t from,
                        std::int64_t to, std::int64_t now) const;
    // Counts the sessions of `selection` (every live session when null) that overlap [begin, end)
    // into `sink`: by hour bitmaps where an hour falls in one bin, session by session elsewhere.
    void count_spans(const transaction& txn, const Roaring* selection, std::int64_t begin,
                     std::int64_t end, std::int64_t now, span_sink& sink) const;

    // A cursor over the column, for spans looked up by number in any order.
    column_cursor column(const transaction& txn) const { return column_cursor(txn, columns_); }
    // Visits the column entries of `numbers` in ascending order: visit(number, span), which may
    // return false to stop. A template, as it runs once per selected session.
    template <class Visit>
    void scan_spans(const transaction& txn, const Roaring& numbers, Visit&& visit) const {
        struct state {
            column_cursor column;
            Visit& visit;
            std::exception_ptr failure;  // thrown past CRoaring's C frames only after it returned
        } s{column_cursor(txn, columns_), visit, nullptr};
        numbers.iterate(
            [](std::uint32_t n, void* p) {
                auto& s = *static_cast<state*>(p);
                try {
                    check_deadline();
                    auto span = s.column.at(n);
                    if (!span) return true;
                    if constexpr (std::is_same_v<decltype(s.visit(n, *span)), bool>)
                        return s.visit(n, *span);
                    else
                        s.visit(n, *span);
                    return true;
                } catch (...) {
                    s.failure = std::current_exception();
                    return false;
                }
            },
            &s);
        if (s.failure) std::rethrow_exception(s.failure);
    }

  private:
    void set_bit(transaction& txn, table t, const std::string& key, std::uint32_t n, bool on);
    // Adds `delta` to the count of live sessions holding the value of `value_key` (a posting key
    // without its chunk).
    void add_count(transaction& txn, const std::string& value_key, int delta);
    void put_span(transaction& txn, std::uint32_t n, const session_span& span);
    // Visits the hour bitmaps of `kind` (start or end) of the hours that overlap [from, to), with
    // the hour's start and the bitmap as stored.
    void scan_hours(const transaction& txn, char kind, std::int64_t from, std::int64_t to,
                    const std::function<void(std::int64_t, std::string_view)>& visit) const;
    // The live sessions that are in no hour bitmap.
    Roaring unbucketed(const transaction& txn) const;

    table meta_, numbers_, postings_, live_, columns_, times_, counts_;
};

}  // namespace audex::store
