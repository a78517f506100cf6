// Session numbers, attribute postings, the session column and the hour bitmaps (see
// field_index.hpp).
#include "store/field_index.hpp"

#include "store/bitmap.hpp"
#include "store/keys.hpp"
#include "store/object_filter.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstring>

namespace audex::store {

namespace json = boost::json;

namespace {

// Bumped when the tables change, so that a store written before is indexed again on open.
constexpr std::uint32_t version = 3;

using i64_limits = std::numeric_limits<std::int64_t>;

std::int64_t minus(std::int64_t a, std::int64_t b) {
    return a < i64_limits::min() + b ? i64_limits::min() : a - b;
}
std::int64_t plus(std::int64_t a, std::int64_t b) {
    return a > i64_limits::max() - b ? i64_limits::max() : a + b;
}

// The hour holding t, floored (also before 1970).
std::int64_t hour_of(std::int64_t t) {
    return t / field_index::bucket_length - (t % field_index::bucket_length < 0);
}

// Postings are split in chunks of 65,536 session numbers (one Roaring container), so that a
// write rewrites one bounded bitmap per attribute, however common the value.
std::string chunk_suffix(std::uint32_t n) {
    return {char(n >> 24), char((n >> 16) & 0xff)};
}

// The column holds column_cursor::chunk sessions per value: a write rewrites one small value.
std::string column_key(std::uint32_t index) {
    std::string key;
    append_u32(key, index);
    return key;
}

bool is_removed(const json::object& o) {
    auto it = o.find("removed");
    return it != o.end() && it->value() == true;
}

// Whether two objects hold the same value under `name`, or neither holds one.
bool same_member(const json::object& a, const json::object& b, std::string_view name) {
    auto x = a.if_contains(name), y = b.if_contains(name);
    return x && y ? *x == *y : x == y;
}

// A posting key without its chunk: the attribute, NUL, the value's sort key (NUL escaped as NUL
// 0x01) and NUL NUL, so that keys follow the filter's order of values; then the stored value's
// JSON text and NUL, so that values equal to the filter (`SSH`, `ssh`) keep their own postings.
std::string attribute_prefix(const attribute& a) {
    return a.name + '\0';
}

std::optional<std::string> value_key(const attribute& a, const json::object& o) {
    auto it = o.find(a.name);
    if (it == o.end() || it->value().is_null()) return std::nullopt;
    auto sort = sort_key(a, it->value());
    if (!sort) return std::nullopt;
    auto key = attribute_prefix(a);
    for (char c : *sort) {
        key.push_back(c);
        if (c == '\0') key.push_back('\1');
    }
    key.append(2, '\0');
    key += json::serialize(it->value());
    key.push_back('\0');
    return key;
}

// The stored value of a posting key's value part (after the attribute prefix, before the chunk).
json::value stored_value(std::string_view value_part) {
    auto text = value_part.substr(value_part.find(std::string_view("\0\0", 2)) + 2);
    text.remove_suffix(1);
    return json::parse(text);
}

// A leaf query's field (every query node but booleans and *:* names one).
const std::string* field_of(const query::node& n) {
    return std::visit(
        [](auto& q) -> const std::string* {
            if constexpr (requires { q.field; })
                return &q.field;
            else
                return nullptr;
        },
        n.value);
}

session_span span_of(std::uint64_t id, const json::object& o) {
    auto time = [&](std::string_view key, std::int64_t otherwise) {
        auto it = o.find(key);
        return it == o.end() || !it->value().is_int64() ? otherwise : it->value().get_int64();
    };
    return {id, time("started_at", 0), time("finished_at", session_span::open_end)};
}

// session.times keys: 's' or 'e' and the hour (i64) for the hour bitmaps, 'u' and the number's
// chunk for the sessions in none.
std::string hour_key(char kind, std::int64_t hour) {
    std::string key(1, kind);
    append_i64(key, hour);
    return key;
}

// The session.times keys holding a live session of number `n` with span `x`.
std::vector<std::string> time_keys(const session_span& x, std::uint32_t n) {
    if (x.started != 0 && x.finished != session_span::open_end && x.started <= x.finished &&
        x.finished - x.started <= field_index::max_bucketed)
        return {hour_key('s', hour_of(x.started)), hour_key('e', hour_of(x.finished))};
    return {"u" + chunk_suffix(n)};
}

// The chunks (upper 16 bits) that a bitmap has numbers in, ascending.
std::vector<std::uint16_t> chunks_of(const Roaring& r) {
    auto& c = r.roaring.high_low_container;
    return {c.keys, c.keys + c.size};
}

}  // namespace

field_index::field_index(environment& env, table meta) : meta_(meta) {
    numbers_ = env.open_table("session.numbers");
    postings_ = env.open_table("session.postings");
    live_ = env.open_table("session.live");
    columns_ = env.open_table("session.columns");
    times_ = env.open_table("session.times");
    counts_ = env.open_table("session.counts");
}

bool field_index::current(const transaction& txn) const {
    auto raw = txn.get(meta_, "field_index_version");
    return raw && read_u32(*raw) == version;
}

void field_index::reset(transaction& txn) {
    for (auto t : {numbers_, postings_, live_, columns_, times_, counts_})
        txn.clear(t);
    txn.erase(meta_, "next_session_number");
    txn.erase(meta_, "field_index_version");
}

void field_index::set_current(transaction& txn) {
    std::string v;
    append_u32(v, version);
    txn.put(meta_, "field_index_version", v);
}

bool field_index::indexed(const attribute& a) {
    using k = attribute_kind;
    if (a.expensive || a.is_protected || a.name == "id" || a.name == "removed") return false;
    // Strings are keywords where the schema lists their values; the others are free text
    // (reason, command), too long for keys.
    if (a.kind == k::string) return a.spec && a.spec->contains("enum");
    return a.kind != k::datetime && a.kind != k::object && a.kind != k::array;
}

void field_index::set_bit(transaction& txn, table t, const std::string& key, std::uint32_t n,
                          bool on) {
    auto raw = txn.get(t, key);
    Roaring bits = raw ? read_bitmap(*raw) : Roaring();
    on ? bits.add(n) : bits.remove(n);
    if (bits.isEmpty())
        txn.erase(t, key);
    else
        txn.put(t, key, write_bitmap(bits));
}

void field_index::add_count(transaction& txn, const std::string& value_key, int delta) {
    auto raw = txn.get(counts_, value_key);
    auto count = (raw ? read_u64(*raw) : 0) + delta;
    if (count == 0) {
        txn.erase(counts_, value_key);
        return;
    }
    std::string value;
    append_u64(value, count);
    txn.put(counts_, value_key, value);
}

void field_index::put_span(transaction& txn, std::uint32_t n, const session_span& span) {
    auto key = column_key(n / column_cursor::chunk);
    auto raw = txn.get(columns_, key);
    std::string chunk = raw ? std::string(*raw)
                            : std::string(column_cursor::chunk * column_cursor::entry_size, '\0');
    auto at = chunk.data() + (n % column_cursor::chunk) * column_cursor::entry_size;
    std::memcpy(at, &span.id, 8);
    std::memcpy(at + 8, &span.started, 8);
    std::memcpy(at + 16, &span.finished, 8);
    txn.put(columns_, key, chunk);
}

void field_index::update(transaction& txn, std::uint64_t id, const json::object* before,
                         const json::object& after) {
    static const model& sessions = *find_model("session");
    auto n = number(txn, id);
    if (!n) {
        // A new session, or one indexed again by a rebuild (see current()): numbered now.
        auto raw = txn.get(meta_, "next_session_number");
        n = raw ? read_u32(*raw) : 0;
        std::string next;
        append_u32(next, *n + 1);
        txn.put(meta_, "next_session_number", next);
        std::string number_value;
        append_u32(number_value, *n);
        txn.put(numbers_, u64_key(id), number_value);
        auto last = txn.get(meta_, "last_numbered_session");
        if (last && read_u64(*last) > id) txn.put(meta_, "session_numbers_unordered", "");
        if (!last || read_u64(*last) < id) txn.put(meta_, "last_numbered_session", u64_key(id));
        before = nullptr;
    }
    bool was_live = before && !is_removed(*before), is_live = !is_removed(after);
    auto chunk = chunk_suffix(*n);
    for (auto& a : sessions.attributes) {
        if (!indexed(a) || (was_live && is_live && same_member(*before, after, a.name))) continue;
        auto old_key = was_live ? value_key(a, *before) : std::nullopt;
        auto new_key = is_live ? value_key(a, after) : std::nullopt;
        if (old_key == new_key) continue;
        if (old_key) {
            set_bit(txn, postings_, *old_key + chunk, *n, false);
            add_count(txn, *old_key, -1);
        }
        if (new_key) {
            set_bit(txn, postings_, *new_key + chunk, *n, true);
            add_count(txn, *new_key, 1);
        }
    }
    if (was_live != is_live) set_bit(txn, live_, chunk, *n, is_live);
    auto span = span_of(id, after);
    auto old_span = before ? span_of(id, *before) : session_span{0, 0, 0};
    if (!before || span.started != old_span.started || span.finished != old_span.finished)
        put_span(txn, *n, span);
    auto old_times = was_live ? time_keys(old_span, *n) : std::vector<std::string>();
    auto new_times = is_live ? time_keys(span, *n) : std::vector<std::string>();
    if (old_times == new_times) return;
    for (auto& key : old_times)
        set_bit(txn, times_, key, *n, false);
    for (auto& key : new_times)
        set_bit(txn, times_, key, *n, true);
}

Roaring field_index::live(const transaction& txn) const {
    Roaring out;
    auto c = txn.open_cursor(live_);
    for (bool ok = c.first(); ok; ok = c.next())
        out |= read_bitmap(c.value());
    return out;
}

std::optional<std::uint32_t> field_index::number(const transaction& txn, std::uint64_t id) const {
    auto raw = txn.get(numbers_, u64_key(id));
    if (!raw) return std::nullopt;
    return read_u32(*raw);
}

std::size_t field_index::numbered(const transaction& txn) const {
    return txn.entries(numbers_);
}

bool field_index::numbers_follow_ids(const transaction& txn) const {
    return !txn.get(meta_, "session_numbers_unordered");
}

session_candidates field_index::candidates(const transaction& txn, const query::node& q,
                                           const Roaring& live, const query_fields& f) const {
    if (auto* b = std::get_if<query::boolean_query>(&q.value)) {
        std::optional<Roaring> must;
        Roaring should, must_not;
        bool any_should = false, exact = true;
        for (auto& c : b->clauses) {
            auto sub = candidates(txn, c.query, live, f);
            exact = exact && sub.exact;
            if (c.how == query::occur::must) {
                must = must ? *must & sub.numbers : std::move(sub.numbers);
            } else if (c.how == query::occur::should) {
                should |= sub.numbers;
                any_should = true;
            } else if (sub.exact) {
                must_not |= sub.numbers;  // a superset cannot be taken away
            }
        }
        // As the filter: SHOULD clauses count only where there is no MUST clause.
        Roaring out = must ? std::move(*must) : any_should ? std::move(should) : live;
        out -= must_not;
        return {std::move(out), exact};
    }
    auto name = field_of(q);
    if (!name) return {live, true};  // *:*
    auto field = f.fields.find(*name);
    auto stored = field ? f.source(*field) : nullptr;
    bool start = stored && stored->name == "started_at",
         end = stored && stored->name == "finished_at";
    if (!stored || !(indexed(*stored) || start || end)) return {live, false};
    // The leaf alone, decided through the caller's own mapping of stored values to the field.
    auto leaf = object_filter::compile(f.fields, q);
    if (!leaf) return {live, false};  // the caller's filter reports the error
    auto matches = [&](json::object o) {
        auto v = f.value(*field, std::move(o));
        return leaf->matches([&](const attribute&) { return v.is_null() ? nullptr : &v; });
    };
    Roaring out;
    if (start || end) {
        // Times are mostly distinct: each session's is read from the column.
        std::vector<std::uint32_t> selected;
        scan_spans(txn, live, [&](std::uint32_t n, const session_span& x) {
            auto t = start ? x.started : x.finished;
            if (matches(t == session_span::open_end ? json::object()
                                                    : json::object{{stored->name, t}}))
                selected.push_back(n);
        });
        out.addMany(selected.size(), selected.data());
        return {std::move(out), true};
    }
    out = holding(txn, *stored, [&](const json::value& v) { return matches({{stored->name, v}}); });
    // e.g. verdict ACCEPT: the sessions without a status.
    if (matches({})) out |= live - holding(txn, *stored, [](const json::value&) { return true; });
    return {std::move(out), true};
}

Roaring field_index::holding(const transaction& txn, const attribute& a,
                             const std::function<bool(const json::value&)>& wanted) const {
    auto prefix = attribute_prefix(a);
    auto c = txn.open_cursor(postings_);
    std::string value;  // the value part of the keys being read
    bool taken = false;
    std::vector<Roaring> chunks;
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        auto part = c.key().substr(prefix.size(), c.key().size() - prefix.size() - 2);
        if (part != value) {
            value = part;
            taken = wanted(stored_value(value));
        }
        if (taken) chunks.push_back(read_bitmap(c.value()));
    }
    std::vector<const Roaring*> inputs;
    for (auto& r : chunks)
        inputs.push_back(&r);
    return Roaring::fastunion(inputs.size(), inputs.data());
}

void field_index::count_values(
    const transaction& txn, const attribute& a, const Roaring* selection,
    const std::function<void(const json::value&, std::uint64_t)>& visit) const {
    auto prefix = attribute_prefix(a);
    if (!selection) {
        auto c = txn.open_cursor(counts_);
        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
            visit(stored_value(c.key().substr(prefix.size())), read_u64(c.value()));
        return;
    }
    // A selection of a part of the sessions (a month) has numbers in few chunks.
    auto wanted = chunks_of(*selection);
    auto c = txn.open_cursor(postings_);
    std::string value;  // the value part of the keys being counted
    std::uint64_t count = 0;
    auto flush = [&] {
        if (count) visit(stored_value(value), count);
    };
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        auto key = c.key();
        auto part = key.substr(prefix.size(), key.size() - prefix.size() - 2);
        if (part != value) {
            flush();
            value = part;
            count = 0;
        }
        auto chunk = std::uint16_t(std::uint8_t(key[key.size() - 2]) << 8 |
                                   std::uint8_t(key[key.size() - 1]));
        if (std::binary_search(wanted.begin(), wanted.end(), chunk))
            count += read_bitmap(c.value()).and_cardinality(*selection);
    }
    flush();
}

void field_index::scan_hours(
    const transaction& txn, char kind, std::int64_t from, std::int64_t to,
    const std::function<void(std::int64_t, std::string_view)>& visit) const {
    if (from >= to) return;
    auto last = hour_key(kind, hour_of(to - 1));
    auto c = txn.open_cursor(times_);
    for (bool ok = c.seek(hour_key(kind, hour_of(from))); ok && c.key() <= last; ok = c.next())
        visit(read_i64(c.key(), 1) * bucket_length, c.value());
}

Roaring field_index::unbucketed(const transaction& txn) const {
    Roaring out;
    auto c = txn.open_cursor(times_);
    for (bool ok = c.seek("u"); ok && c.key().starts_with("u"); ok = c.next())
        out |= read_bitmap(c.value());
    return out;
}

Roaring field_index::overlapping(const transaction& txn, const Roaring* selection,
                                 std::int64_t from, std::int64_t to, std::int64_t now) const {
    Roaring out;
    if (from > to) return out;
    column_cursor column(txn, columns_);
    auto check = [&](const Roaring& numbers) {
        for (auto n : numbers) {
            auto x = column.at(n);
            if (!x) continue;
            auto ended = x->finished == session_span::open_end ? now : x->finished;
            if (x->started <= to && ended >= from) out.add(n);
        }
    };
    // A bucketed session that starts more than max_bucketed before `from` ends before it.
    scan_hours(txn, 's', minus(from, max_bucketed), plus(to, 1),
               [&](std::int64_t hour, std::string_view raw) {
                   auto bits = read_bitmap(raw);
                   auto picked = selection ? bits & *selection : bits;
                   if (hour >= from && hour + bucket_length - 1 <= to)
                       out |= picked;
                   else
                       check(picked);
               });
    check(selection ? unbucketed(txn) & *selection : unbucketed(txn));
    return out;
}

void field_index::count_spans(const transaction& txn, const Roaring* selection, std::int64_t begin,
                              std::int64_t end, std::int64_t now, span_sink& sink) const {
    column_cursor column(txn, columns_);
    // Whether the whole hour from `hour` is in the span and in one bin.
    auto one_bin = [&](std::int64_t hour) {
        return hour >= begin && hour + bucket_length <= end &&
               sink.same_bin(hour, hour + bucket_length - 1);
    };
    auto count = [&](std::string_view raw) {
        return selection ? read_bitmap(raw).and_cardinality(*selection) : bitmap_cardinality(raw);
    };
    auto picked = [&](std::string_view raw) {
        auto bits = read_bitmap(raw);
        return selection ? bits & *selection : bits;
    };
    // Starts, and the sessions running at the span's beginning: a bucketed session that starts
    // more than max_bucketed before it has ended.
    scan_hours(txn, 's', minus(begin, max_bucketed), end,
               [&](std::int64_t hour, std::string_view raw) {
                   if (one_bin(hour)) {
                       if (auto n = count(raw)) sink.add_started(hour, n);
                       return;
                   }
                   for (auto n : picked(raw)) {
                       auto x = column.at(n);
                       if (!x || x->started >= end) continue;
                       if (x->started >= begin)
                           sink.add_started(x->started, 1);
                       else if (x->finished >= begin)
                           sink.add_spanning(1);
                   }
               });
    // Ends in the span, of sessions counted above (a bucketed session ends after it starts).
    scan_hours(txn, 'e', begin, end, [&](std::int64_t hour, std::string_view raw) {
        if (one_bin(hour)) {
            if (auto n = count(raw)) sink.add_ended(hour, n);
            return;
        }
        for (auto n : picked(raw)) {
            auto x = column.at(n);
            if (x && x->finished >= begin && x->finished < end) sink.add_ended(x->finished, 1);
        }
    });
    // The others whole, where they overlap the span (a reversed one may start in it and not).
    for (auto n : selection ? unbucketed(txn) & *selection : unbucketed(txn)) {
        auto x = column.at(n);
        if (!x) continue;
        auto ended = x->finished == session_span::open_end ? now : x->finished;
        if (x->started < end && ended >= begin) sink.add(x->started, ended);
    }
}

void column_cursor::load(std::uint32_t index) {
    // Selections run in ascending order: the next value is usually the one wanted.
    bool found = loaded_ != std::numeric_limits<std::uint32_t>::max() && index == loaded_ + 1
                     ? cursor_.next()
                     : cursor_.seek(column_key(index));
    loaded_ = index;
    data_ = found && cursor_.key() == column_key(index) ? cursor_.value() : std::string_view();
    if (!data_.empty() || !found) return;
    // The cursor stands past a missing value: seek again from there next time.
    loaded_ = std::numeric_limits<std::uint32_t>::max();
}

}  // namespace audex::store
