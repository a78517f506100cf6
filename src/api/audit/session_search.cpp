// Session selection and aggregation for the audit API (see session_search.hpp). Selections run
// on the field indexes (store/field_index.hpp, field_index::candidates): a leaf of q on a field
// computed from one stored attribute is decided once per distinct stored value; the rest (times,
// links) are checked on the sessions the indexable part leaves.
#include "api/audit/session_search.hpp"
#include "core/deadline.hpp"

#include <algorithm>
#include <limits>

namespace audex::api::audit {

namespace {

bool is_removed(const json::object& o) {
    auto it = o.find("removed");
    return it != o.end() && it->value() == true;
}

}  // namespace

result<session_query> session_query::compile(query::node tree) {
    auto filter = store::object_filter::compile(view_model(), tree, "q");
    if (!filter) return filter.error();
    return session_query{std::move(tree), std::move(*filter)};
}

namespace {

query::node parsed_scope(std::string_view text) {
    auto parsed = query::parse(text);
    if (auto* e = std::get_if<query::parse_error>(&parsed))
        throw api_exception({error_type::invalid_query_value,
                             "scope: " + e->message,
                             {{"field", "scope"}, {"position", e->position}}});
    return std::get<query::node>(std::move(parsed));
}

}  // namespace

std::optional<session_query> scope_query(const auth::principal& who) {
    if (who.scope.empty()) return std::nullopt;
    auto compiled = session_query::compile(parsed_scope(who.scope));
    if (!compiled) {
        auto e = compiled.error();
        e.details["field"] = "scope";
        throw api_exception(std::move(e));
    }
    return std::move(*compiled);
}

std::optional<query::node> within_scope(const auth::principal& who, std::optional<query::node> q) {
    if (who.scope.empty()) return q;
    auto scope = parsed_scope(who.scope);
    if (!q) return scope;
    query::boolean_query both;
    both.clauses.push_back({query::occur::must, std::move(scope)});
    both.clauses.push_back({query::occur::must, std::move(*q)});
    return query::node{std::move(both)};
}

bool in_scope(const session_query& scope, session_view& v) {
    return scope.filter.matches([&](const attribute& a) { return v(a); });
}

session_search::session_search(const object_api& api, const search::partitioned_store& partitions)
    : api_(api), partitions_(partitions), sessions_(*find_model("session")) {}

std::vector<session_search::located> session_search::reach(const store::transaction& txn,
                                                           std::optional<micros> end) const {
    std::vector<located> out;
    for (auto& at : partitions_.every(txn))
        if (!end || store::partition_span(at.partition->name)->first <= *end) out.push_back(at);
    return out;
}

std::optional<session_view> session_search::view(const store::transaction& txn, std::uint64_t id,
                                                 micros now) const {
    auto at = partitions_.locate(txn, id);
    if (!at) return std::nullopt;
    return view(txn, *at, id, now);
}

std::optional<session_view> session_search::view(const store::transaction& txn, const located& at,
                                                 std::uint64_t id, micros now) const {
    check_deadline();  // every search reads a view per session it cannot decide otherwise
    auto stored = at.sessions().get(at.txn, sessions_, id);
    if (!stored || is_removed(*stored)) return std::nullopt;
    return session_view(api_, txn, id, std::move(*stored), now);
}

json::value session_search::field_value(const store::transaction& txn, const attribute& field,
                                        json::object stored, micros now) const {
    return session_view(api_, txn, 0, std::move(stored), now).stored(field);
}

store::session_candidates session_search::run(const store::transaction& txn, const located& at,
                                              const query::node& q, const Roaring& live,
                                              micros now) const {
    store::query_fields f{
        view_model(),
        [&](const attribute& field) { return sessions_.find(source_attribute(field)); },
        [&](const attribute& field, json::object stored) {
            return field_value(txn, field, std::move(stored), now);
        }};
    return at.sessions().fields().candidates(at.txn, q, live, f);
}

Roaring session_search::indexed(const store::transaction& txn, const located& at,
                                const session_selection& s, micros now, bool superset,
                                bool* exact) const {
    auto& fields = at.sessions().fields();
    std::optional<store::session_candidates> c;
    if (s.q) c = run(txn, at, s.q->tree, fields.live(at.txn), now);
    Roaring out;
    if (s.start || s.end) {
        out = fields.overlapping(at.txn, c ? &c->numbers : nullptr,
                                 s.start.value_or(std::numeric_limits<micros>::min()),
                                 s.end.value_or(std::numeric_limits<micros>::max()), now);
    } else {
        out = c ? std::move(c->numbers) : fields.live(at.txn);
    }
    if (exact) *exact = !c || c->exact;
    if (!c || c->exact || superset) return out;
    std::vector<std::uint32_t> kept;
    fields.scan_spans(at.txn, out, [&](std::uint32_t n, const store::session_span& x) {
        auto v = view(txn, at, x.id, now);
        if (v && s.q->filter.matches([&](const attribute& a) { return (*v)(a); }))
            kept.push_back(n);
    });
    Roaring bits;
    bits.addMany(kept.size(), kept.data());
    return bits;
}

std::map<std::string, Roaring, std::less<>> session_search::numbers(
    const store::transaction& txn, const std::vector<std::uint64_t>& ids) const {
    std::map<std::string, Roaring, std::less<>> out;
    for (auto id : ids)
        if (auto at = partitions_.locate(txn, id))
            if (auto n = at->sessions().fields().number(at->txn, id))
                out[at->partition->name].add(*n);
    return out;
}

result<std::vector<std::uint64_t>> session_search::select(
    const store::transaction& txn, const session_selection& s, micros now,
    std::unordered_map<std::uint64_t, std::uint64_t>* hits) const {
    std::vector<std::uint64_t> out;
    auto all = reach(txn, s.end);
    if (!s.content) {
        for (auto& at : all)
            at.sessions().fields().scan_spans(at.txn, indexed(txn, at, s, now),
                                              [&](std::uint32_t, auto& x) { out.push_back(x.id); });
        // Numbers follow creation, and so ids, within a partition; partitions follow one another
        // in id order but for sessions of a store written before them.
        if (!std::is_sorted(out.begin(), out.end())) std::sort(out.begin(), out.end());
        return out;
    }
    // What the field indexes decide of q and the window, partition by partition: the content
    // search takes a session only from these numbers, and reads its view only where q has leaves
    // that they leave undecided.
    struct allowed {
        Roaring numbers;
        bool exact;
    };
    std::map<std::string, allowed, std::less<>> allowed_in;
    std::uint64_t selected = 0;
    for (auto& at : all) {
        auto& in = allowed_in[at.partition->name];
        in.numbers = indexed(txn, at, s, now, true, &in.exact);
        selected += in.numbers.cardinality();
    }
    auto few = [&] {
        std::uint64_t live = 0;
        for (auto& at : partitions_.every(txn))
            live += at.sessions().fields().live(at.txn).cardinality();
        return selected * 8 < live;
    };
    // A window or q that leaves few sessions: only their records are searched.
    std::optional<std::vector<std::uint64_t>> among;
    if ((s.start || s.end || s.q) && few()) {
        among.emplace();
        for (auto& at : all)
            at.sessions().fields().scan_spans(
                at.txn, allowed_in[at.partition->name].numbers,
                [&](std::uint32_t, auto& x) { among->push_back(x.id); });
        std::sort(among->begin(), among->end());
    }
    // A partition none of whose sessions q and the window select (its month after the window,
    // its sessions all ended before it) is not searched.
    const std::function<bool(const std::string&)> searched = [&](const std::string& partition) {
        auto in = allowed_in.find(partition);
        return in != allowed_in.end() && !in->second.numbers.isEmpty();
    };
    auto found = partitions_.search_sessions(
        txn, *s.content, among ? &*among : nullptr, hits != nullptr, searched, max_content_sessions,
        [&](const index::session_match& m) {
            auto at = partitions_.locate(txn, m.session);
            if (!at) return false;
            auto in = allowed_in.find(at->partition->name);
            if (in == allowed_in.end()) return false;
            auto n = at->sessions().fields().number(at->txn, m.session);
            if (!n || !in->second.numbers.contains(*n)) return false;
            if (in->second.exact) return true;
            auto v = view(txn, *at, m.session, now);
            return v && s.q->filter.matches([&](const attribute& a) { return (*v)(a); });
        });
    if (!found) return found.error();
    for (auto& m : *found) {
        out.push_back(m.session);
        if (hits) (*hits)[m.session] = m.hits;
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<std::uint64_t, store::session_span>> session_search::spans(
    const store::transaction& txn, const std::vector<std::uint64_t>& ids) const {
    std::vector<std::pair<std::uint64_t, store::session_span>> out;
    out.reserve(ids.size());
    std::vector<bool> found(ids.size());
    // A partition holds the ids of its month, a range of `ids` (ascending): read with one cursor
    // over its column each.
    for (auto& at : partitions_.every(txn)) {
        auto [from, to] = *store::partition_span(at.partition->name);
        auto first = std::lower_bound(ids.begin(), ids.end(), std::uint64_t(from) << 10);
        auto last = std::lower_bound(first, ids.end(), std::uint64_t(to) << 10);
        auto& fields = at.sessions().fields();
        auto column = fields.column(at.txn);
        for (auto it = first; it != last; ++it) {
            auto n = fields.number(at.txn, *it);
            auto span = n ? column.at(*n) : std::nullopt;
            if (!span) continue;
            found[std::size_t(it - ids.begin())] = true;
            out.emplace_back(*it, *span);
        }
    }
    // Sessions of a store written before partitions whose ids name another month.
    if (!partitions_.ids_follow_partitions())
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (found[i]) continue;
            auto at = partitions_.locate(txn, ids[i]);
            if (!at) continue;
            auto& fields = at->sessions().fields();
            auto n = fields.number(at->txn, ids[i]);
            if (auto span = n ? fields.column(at->txn).at(*n) : std::nullopt)
                out.emplace_back(ids[i], *span);
        }
    return out;
}

std::vector<std::uint64_t> session_search::sorted(const store::transaction& txn,
                                                  const std::vector<std::uint64_t>& ids,
                                                  const std::vector<sort_key>& keys, micros now,
                                                  std::size_t keep) const {
    // Start and end times come from the column of the field indexes; other keys from each
    // session's view, which reads and parses the session.
    auto timed = [](const sort_key& k) {
        return k.field->name == "start_time" || k.field->name == "end_time";
    };
    const bool from_column = std::all_of(keys.begin(), keys.end(), timed);
    std::vector<std::pair<std::vector<json::value>, std::uint64_t>> keyed;
    keyed.reserve(ids.size());
    if (from_column) {
        for (auto& [id, span] : spans(txn, ids)) {
            std::vector<json::value> values;
            for (auto& k : keys)
                values.push_back(k.field->name == "start_time" ? json::value(span.started)
                                 : span.finished == store::session_span::open_end
                                     ? json::value(nullptr)
                                     : json::value(span.finished));
            keyed.emplace_back(std::move(values), id);
        }
    } else {
        for (auto id : ids) {
            auto v = view(txn, id, now);
            if (!v) continue;
            std::vector<json::value> values;
            for (auto& k : keys)
                values.push_back(v->stored(*k.field));
            keyed.emplace_back(std::move(values), id);
        }
    }
    auto before = [&](auto& x, auto& y) {
        check_deadline();
        for (std::size_t i = 0; i < keys.size(); ++i) {
            bool xn = x.first[i].is_null(), yn = y.first[i].is_null();
            if (xn || yn) {
                if (xn != yn) return yn;
                continue;
            }
            if (int c = store::compare_stored(*keys[i].field, &x.first[i], &y.first[i]))
                return keys[i].descending ? c > 0 : c < 0;
        }
        return x.second < y.second;
    };
    auto middle = keyed.begin() + std::ptrdiff_t(std::min(keep, keyed.size()));
    std::partial_sort(keyed.begin(), middle, keyed.end(), before);
    std::vector<std::uint64_t> out;
    out.reserve(keyed.size());
    for (auto& k : keyed)
        out.push_back(k.second);
    return out;
}

result<index::top_values> session_search::stats(const store::transaction& txn,
                                                const session_selection& s, const attribute& field,
                                                std::size_t size, micros now) const {
    // With content, the selected sessions' numbers in each partition.
    std::optional<std::map<std::string, Roaring, std::less<>>> by_content;
    if (s.content) {
        auto ids = select(txn, s, now);
        if (!ids) return ids.error();
        by_content = numbers(txn, *ids);
    }
    index::value_counter counter(field);
    auto stored = sessions_.find(source_attribute(field));
    // Each partition counted into one counter: values and their counts sum exactly.
    for (auto& at : reach(txn, s.end)) {
        auto& fields = at.sessions().fields();
        // Without a selection, every live session: the postings hold only those.
        std::optional<Roaring> selected;
        if (by_content) {
            auto it = by_content->find(at.partition->name);
            if (it == by_content->end()) continue;
            selected = std::move(it->second);
        } else if (s.q || s.start || s.end) {
            selected = indexed(txn, at, s, now);
        }
        auto selection = selected ? &*selected : nullptr;
        if (stored && store::field_index::indexed(*stored)) {
            std::uint64_t counted = 0;
            fields.count_values(
                at.txn, *stored, selection, [&](const json::value& v, std::uint64_t n) {
                    counter.add(field_value(txn, field, {{stored->name, v}}, now), n);
                    counted += n;
                });
            auto all = selection ? selection->cardinality() : fields.live(at.txn).cardinality();
            if (auto unset = all - counted) counter.add(field_value(txn, field, {}, now), unset);
        } else {
            fields.scan_spans(at.txn, selection ? *selection : fields.live(at.txn),
                              [&](std::uint32_t, auto& x) {
                                  if (auto v = view(txn, at, x.id, now))
                                      counter.add(v->stored(field));
                              });
        }
    }
    return counter.top(size);
}

void session_search::count(const store::transaction& txn, session_selection s, index::histogram& h,
                           micros now) const {
    const session_selection by_q{std::move(s.q), {}, {}, {}};
    // Each partition's sessions counted into the same bins: counts sum exactly.
    for (auto& at : reach(txn, h.end())) {
        std::optional<Roaring> selected;
        if (by_q.q) selected = indexed(txn, at, by_q, now);
        at.sessions().fields().count_spans(at.txn, selected ? &*selected : nullptr, h.begin(),
                                           h.end(), now, h);
    }
}

}  // namespace audex::api::audit
