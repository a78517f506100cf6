// Which sessions an audit request selects (q, time window, content) and the aggregations over
// them (order, statistics, histogram). Synchronous and free of HTTP: the handlers call it, and
// indexes can make select() faster without changing them.
#pragma once

#include "api/audit/session_view.hpp"
#include "core/query.hpp"
#include "index/aggregate.hpp"
#include "search/partitioned_store.hpp"
#include "store/object_filter.hpp"
#include "store/object_store.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

namespace audex::api::audit {

// At most this many sessions are selected through their content.
inline constexpr std::size_t max_content_sessions = 3000;

// A `q` query: its tree, which the field indexes execute, and its filter over view_model(), which
// checks what they cannot decide alone.
struct session_query {
    query::node tree;
    store::object_filter filter;

    // InvalidArgument or InvalidQueryValue as object_filter::compile gives them.
    static result<session_query> compile(query::node tree);
};

// A user's scope (auth::principal::scope) as a query, nullopt for an unscoped user; q combined
// with it, so that a search sees only the sessions in scope. A scope that does not parse or
// compile fails with InvalidQueryValue or InvalidArgument on the field "scope".
std::optional<session_query> scope_query(const auth::principal& who);
std::optional<query::node> within_scope(const auth::principal& who, std::optional<query::node> q);
// Whether `scope` selects the session `v`.
bool in_scope(const session_query& scope, session_view& v);

struct session_selection {
    std::optional<session_query> q;
    // The time window: sessions whose span [start_time, end_time] (to now while active)
    // overlaps [start, end], both ends inclusive. An open end selects without bound.
    std::optional<micros> start, end;
    std::optional<query::node> content;  // sessions with a matching content record
};

struct sort_key {
    const attribute* field;  // of view_model()
    bool descending;
};

class session_search {
  public:
    session_search(const object_api& api, const search::partitioned_store& partitions);

    // The live session `id` through the audit view, or nullopt (unknown or removed).
    std::optional<session_view> view(const store::transaction& txn, std::uint64_t id,
                                     micros now) const;

    // The ids of the selected live sessions, ascending. With content, the best-ranked
    // max_content_sessions of those that q and the window also select, and in `hits`, when
    // given, the number of matching records of each.
    result<std::vector<std::uint64_t>> select(
        const store::transaction& txn, const session_selection& s, micros now,
        std::unordered_map<std::uint64_t, std::uint64_t>* hits = nullptr) const;

    // `ids` (live sessions, ascending, as select() gives them) ordered by `keys` (unset values
    // last in both directions), ties by id: the first
    // `keep` of that order, then the others in no order. A page needs offset + limit of them,
    // and sorting only those (O(n log keep)) keeps a search over every session from sorting it
    // all.
    std::vector<std::uint64_t> sorted(const store::transaction& txn,
                                      const std::vector<std::uint64_t>& ids,
                                      const std::vector<sort_key>& keys, micros now,
                                      std::size_t keep = SIZE_MAX) const;

    // The `size` most frequent values of `field` among the selected sessions (stored form).
    result<index::top_values> stats(const store::transaction& txn, const session_selection& s,
                                    const attribute& field, std::size_t size, micros now) const;

    // Counts the sessions that q selects within the histogram's span into its bins: each bin
    // counts every session of its own interval, also where the first and last bins reach past
    // the requested window.
    void count(const store::transaction& txn, session_selection s, index::histogram& h,
               micros now) const;

  private:
    using located = search::partitioned_store::located;
    // The partitions that can hold sessions overlapping [begin, end]: those of the months that
    // begin before its end (a partition holds the sessions that started in its month).
    std::vector<located> reach(const store::transaction& txn, std::optional<micros> end) const;
    // Session `id` of partition `at` through the audit view, or nullopt (removed).
    std::optional<session_view> view(const store::transaction& txn, const located& at,
                                     std::uint64_t id, micros now) const;
    // The live sessions of partition `at` that could match `q`, by number, through its field
    // indexes.
    store::session_candidates run(const store::transaction& txn, const located& at,
                                  const query::node& q, const Roaring& live, micros now) const;
    // The numbers of the live sessions of partition `at` that q and the time window select (not
    // content); with `superset`, the leaves of q that the indexes cannot decide are not checked.
    // `exact`, when given, tells whether the indexes decided q alone.
    Roaring indexed(const store::transaction& txn, const located& at, const session_selection& s,
                    micros now, bool superset = false, bool* exact = nullptr) const;
    // The live sessions of `ids` (ascending) as their partitions' columns hold them.
    std::vector<std::pair<std::uint64_t, store::session_span>> spans(
        const store::transaction& txn, const std::vector<std::uint64_t>& ids) const;
    // The numbers, partition by partition, of the sessions in `ids`.
    std::map<std::string, Roaring, std::less<>> numbers(
        const store::transaction& txn, const std::vector<std::uint64_t>& ids) const;
    // A field's value for a session whose only stored attribute is `stored` (values through the
    // field's source attribute).
    json::value field_value(const store::transaction& txn, const attribute& field,
                            json::object stored, micros now) const;

    const object_api& api_;
    const search::partitioned_store& partitions_;
    const model& sessions_;
};

}  // namespace audex::api::audit
