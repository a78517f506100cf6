// The field indexes of sessions, kept by object_store in the transaction of every session write:
// a dense number per session, per indexed attribute and value the Roaring bitmap of the numbers
// of the live sessions holding it, and a column of each number's id, start and end, so that
// selections, statistics and histograms read bitmaps and columns instead of sessions.
// docs/storage.md describes the tables.
#pragma once

#include "core/schema.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>
#include <roaring/roaring.hh>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

namespace audex::store {

// One session as the column holds it.
struct session_span {
    std::uint64_t id;
    std::int64_t started;   // µs; 0 when unset
    std::int64_t finished;  // µs; open_end while the session is active
    static constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();
};

class field_index {
  public:
    // Opens the tables; `meta` holds the next session number.
    field_index(environment& env, table meta);

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

    // Visits each distinct stored value of the indexed attribute `a` among live sessions, in the
    // attribute's order, with the numbers of the sessions holding it.
    void scan_values(
        const transaction& txn, const attribute& a,
        const std::function<void(const boost::json::value&, const Roaring&)>& visit) const;

    // Visits the column entries of `numbers` in ascending order.
    void scan_spans(const transaction& txn, const Roaring& numbers,
                    const std::function<void(std::uint32_t, const session_span&)>& visit) const;

  private:
    void set_bit(transaction& txn, table t, const std::string& key, std::uint32_t n, bool on);
    void put_span(transaction& txn, std::uint32_t n, const session_span& span);

    table meta_, numbers_, postings_, live_, columns_;
};

}  // namespace audex::store
