// Session selection and aggregation for the audit API (see session_search.hpp).
#include "api/audit/session_search.hpp"

#include <algorithm>
#include <limits>

namespace audex::api::audit {

namespace {

bool is_removed(const json::object& o) {
    auto it = o.find("removed");
    return it != o.end() && it->value() == true;
}

}  // namespace

session_search::session_search(const store::object_store& objects, const object_api& api,
                               const index::content_index& content)
    : objects_(objects), api_(api), content_(content), sessions_(*find_model("session")) {}

std::optional<session_view> session_search::view(const store::transaction& txn, std::uint64_t id,
                                                 micros now) const {
    auto stored = objects_.get(txn, sessions_, id);
    if (!stored || is_removed(*stored)) return std::nullopt;
    return session_view(api_, txn, id, std::move(*stored), now);
}

result<std::vector<std::uint64_t>> session_search::select(const store::transaction& txn,
                                                          const session_selection& s,
                                                          micros now) const {
    std::vector<std::uint64_t> out;
    auto keep = [&](session_view& v) {
        if (s.start && v.ended() < *s.start) return false;
        if (s.end && v.started() > *s.end) return false;
        return !s.q || s.q->matches([&](const attribute& a) { return v(a); });
    };
    auto consider = [&](std::uint64_t id) {
        if (auto v = view(txn, id, now); v && keep(*v)) out.push_back(id);
    };
    if (s.content) {
        auto matches = content_.search_sessions(txn, *s.content);
        if (!matches) return matches.error();
        for (auto& m : *matches) {
            if (out.size() == max_content_sessions) break;
            consider(m.session);
        }
        std::sort(out.begin(), out.end());
    } else if (s.end) {
        // Only sessions started by the end of the window can overlap it.
        objects_.scan_started(txn, std::numeric_limits<std::int64_t>::min(), *s.end,
                              [&](std::uint64_t id, std::int64_t) {
                                  consider(id);
                                  return true;
                              });
        std::sort(out.begin(), out.end());
    } else {
        objects_.scan(txn, sessions_, 0, [&](std::uint64_t id, const store::stored_object& o) {
            if (o.removed) return true;
            session_view v(api_, txn, id, o.parse(), now);
            if (keep(v)) out.push_back(id);
            return true;
        });
    }
    return out;
}

std::vector<std::uint64_t> session_search::sorted(const store::transaction& txn,
                                                  const std::vector<std::uint64_t>& ids,
                                                  const std::vector<sort_key>& keys,
                                                  micros now) const {
    std::vector<std::pair<std::vector<json::value>, std::uint64_t>> keyed;
    keyed.reserve(ids.size());
    for (auto id : ids) {
        auto v = view(txn, id, now);
        if (!v) continue;
        std::vector<json::value> values;
        for (auto& k : keys)
            values.push_back(v->stored(*k.field));
        keyed.emplace_back(std::move(values), id);
    }
    std::sort(keyed.begin(), keyed.end(), [&](auto& x, auto& y) {
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
    });
    std::vector<std::uint64_t> out;
    out.reserve(keyed.size());
    for (auto& k : keyed)
        out.push_back(k.second);
    return out;
}

result<index::top_values> session_search::stats(const store::transaction& txn,
                                                const session_selection& s, const attribute& field,
                                                std::size_t size, micros now) const {
    auto ids = select(txn, s, now);
    if (!ids) return ids.error();
    index::value_counter counter(field);
    for (auto id : *ids)
        if (auto v = view(txn, id, now)) counter.add(v->stored(field));
    return counter.top(size);
}

result<void> session_search::count(const store::transaction& txn, session_selection s,
                                   index::histogram& h, micros now) const {
    s.start = h.begin();
    s.end = h.end() - 1;
    auto ids = select(txn, s, now);
    if (!ids) return ids.error();
    for (auto id : *ids)
        if (auto v = view(txn, id, now)) h.add(v->started(), v->ended());
    return {};
}

}  // namespace audex::api::audit
