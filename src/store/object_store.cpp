// The object tables and their secondary indexes (layouts in docs/storage.md).
#include "store/object_store.hpp"

#include "core/json_text.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "store/keys.hpp"
#include "store/partition_set.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace audex::store {

namespace {
std::uint64_t id_of(const json::value& v) {
    return std::stoull(std::string(v.as_string()));
}

bool removed(const json::object& o) {
    auto it = o.find("removed");
    return it != o.end() && it->value().is_bool() && it->value().get_bool();
}

// A table value: a flags byte (bit 0: removed), the stored form's length (4 bytes, big-endian),
// the stored form, the default view.
constexpr std::size_t header_size = 5;

stored_object decode(std::string_view raw) {
    std::uint32_t size = 0;
    for (std::size_t i = 1; i < header_size; ++i)
        size = (size << 8) | std::uint8_t(raw[i]);
    return {raw.substr(header_size, size), raw.substr(header_size + size), (raw[0] & 1) != 0};
}

std::string encode(const model& m, const json::object& o) {
    std::string out(header_size, '\0');
    out[0] = char(removed(o) ? 1 : 0);
    out += json::serialize(o);
    auto size = std::uint32_t(out.size() - header_size);
    for (std::size_t i = 0; i < 4; ++i)
        out[1 + i] = char(size >> (24 - 8 * i));
    json::object view;
    for (auto& a : m.attributes) {
        if (a.is_protected || a.expensive) continue;
        if (auto it = o.find(a.name); it != o.end() && !it->value().is_null())
            view[a.name] = to_output(a, it->value());
    }
    append_json_text(out, view);
    return out;
}

// The longest key LMDB takes (511 bytes as Debian builds it). A unique attribute's value is the key
// of its index, so a longer value is refused (check_unique) and can never be found.
std::size_t key_limit(const environment& env) {
    return std::size_t(mdb_env_get_maxkeysize(env.handle()));
}

std::string pair_key(std::uint64_t a, std::uint64_t b) {
    std::string key;
    append_u64(key, a);
    append_u64(key, b);
    return key;
}
}  // namespace

object_store::object_store(environment& env, object_role role)
    : env_(env), role_(role), meta_(env.open_table("meta")) {
    const bool holds_sessions = role == object_role::sessions;
    for (auto& [name, m] : models()) {
        if (!m.find("id")) continue;  // an assignment model, not a table of objects
        if ((name == "session") != holds_sessions) continue;
        model_tables t;
        t.objects = env.open_table("objects." + name);
        for (auto& a : m.attributes) {
            if (a.unique) t.unique.emplace(a.name, env.open_table("unique." + name + "." + a.name));
            if (!a.references.empty())
                t.references.emplace(a.name, env.open_table("by_ref." + name + "." + a.name));
        }
        tables_.emplace(name, std::move(t));
    }
    if (!holds_sessions) return;
    started_ = env.open_table("by_time.session.started_at");
    assignments_ = env.open_table("session_backup");
    fields_.emplace(env, meta_);
    // A store written before the field indexes, or before their present form, is indexed once,
    // so that every session it holds is selected and counted; in batches, as one transaction of
    // a large store would outgrow LMDB's limit on the pages a write may change. Interrupted, it
    // starts again on the next open.
    if (fields_->current(env.read())) return;
    env.write([&](transaction& txn) { fields_->reset(txn); });
    auto& sessions = *find_model("session");
    constexpr std::size_t batch = 20000;
    std::uint64_t from = 0, count = 0;
    for (bool more = true; more;) {
        auto [next, done] = env.write([&](transaction& txn) {
            std::uint64_t next = from, done = 0;
            scan(txn, sessions, from, [&](std::uint64_t id, const stored_object& o) {
                fields_->update(txn, id, nullptr, o.parse());
                next = id + 1;
                return ++done < batch;
            });
            return std::pair{next, done};
        });
        from = next;
        count += done;
        more = done == batch;
    }
    env.write([&](transaction& txn) { fields_->set_current(txn); });
    if (count) spdlog::info("session field indexes built for {} sessions", count);
}

object_cursor::object_cursor(const transaction& txn, table objects, std::uint64_t from)
    : cursor_(txn.open_cursor(objects)), valid_(cursor_.seek(u64_key(from))) {}

std::uint64_t object_cursor::id() const {
    return read_u64(cursor_.key());
}

stored_object object_cursor::object() const {
    return decode(cursor_.value());
}

json::object stored_object::parse() const {
    return json::parse(json).as_object();
}

std::string object_store::unique_key(const attribute& a, std::string_view value) {
    return a.ignore_case ? lower_ascii(value) : std::string(value);
}

std::optional<stored_object> object_store::find(const transaction& txn, const model& m,
                                                std::uint64_t id) const {
    auto raw = txn.get(tables(m).objects, u64_key(id));
    if (!raw) return std::nullopt;
    return decode(*raw);
}

std::optional<json::object> object_store::get(const transaction& txn, const model& m,
                                              std::uint64_t id) const {
    auto o = find(txn, m, id);
    if (!o) return std::nullopt;
    return o->parse();
}

bool object_store::sessions_indexed(const transaction& txn) const {
    return txn.entries(tables(*find_model("session")).objects) == fields_->numbered(txn) &&
           fields_->numbers_follow_ids(txn);
}

std::optional<std::uint64_t> object_store::find_unique(const transaction& txn, const model& m,
                                                       const attribute& a,
                                                       std::string_view value) const {
    auto key = unique_key(a, value);
    if (key.size() > key_limit(env_)) return std::nullopt;
    auto raw = txn.get(tables(m).unique.at(a.name), key);
    if (!raw) return std::nullopt;
    return read_u64(*raw);
}

void object_store::scan(
    const transaction& txn, const model& m, std::uint64_t from,
    const std::function<bool(std::uint64_t, const stored_object&)>& visit) const {
    for (auto c = objects(txn, m, from); c.valid(); c.next())
        if (!visit(c.id(), c.object())) return;
}

void object_store::scan_references(const transaction& txn, const model& m, const attribute& a,
                                   std::uint64_t target,
                                   const std::function<bool(std::uint64_t)>& visit) const {
    auto c = txn.open_cursor(tables(m).references.at(a.name));
    auto prefix = u64_key(target);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
        if (!visit(read_u64(c.key(), 8))) return;
}

void object_store::scan_started(
    const transaction& txn, std::int64_t from, std::int64_t to,
    const std::function<bool(std::uint64_t, std::int64_t)>& visit) const {
    auto c = txn.open_cursor(started_);
    std::string start;
    append_i64(start, from);
    for (bool ok = c.seek(start); ok; ok = c.next()) {
        auto t = read_i64(c.key());
        if (t > to || !visit(read_u64(c.key(), 8), t)) return;
    }
}

result<std::uint64_t> object_store::next_id(transaction& txn, const model& m,
                                            const json::object& o) {
    // Ids grow with the clock (microseconds << 10, as large as the appliance's own ids) and never
    // repeat, even when the clock steps back. A session's grow with its start instead, and so
    // name the partition that holds it (session_partition).
    std::uint64_t last = 0;
    if (auto raw = txn.get(meta_, "last_id")) last = read_u64(*raw);
    micros t = now_micros();
    if (role_ == object_role::sessions) t = o.at("started_at").to_number<micros>();
    std::uint64_t id = std::max(last + 1, std::uint64_t(t) << 10);
    if (m.name == "session" && session_partition(id) != partition_name(t))
        return api_error{error_type::search_unavailable,
                         "partition " + partition_name(t) + " has numbered all the sessions it can",
                         {{"reason", "session_ids"}}};
    txn.put(meta_, "last_id", u64_key(id));
    return id;
}

void object_store::reserve_id(transaction& txn, std::uint64_t id) {
    auto raw = txn.get(meta_, "last_id");
    if (!raw || read_u64(*raw) < id) txn.put(meta_, "last_id", u64_key(id));
}

void object_store::put(transaction& txn, const model& m, std::uint64_t id, const json::object& o) {
    txn.put(tables(m).objects, u64_key(id), encode(m, o));
}

result<void> object_store::check_unique(const transaction& txn, const model& m, std::uint64_t id,
                                        const json::object& o) const {
    if (removed(o)) return {};
    for (auto& [name, t] : tables(m).unique) {
        auto it = o.find(name);
        if (it == o.end() || !it->value().is_string()) continue;
        auto key = unique_key(*m.find(name), it->value().get_string());
        if (auto limit = key_limit(env_); key.size() > limit)
            return api_error{error_type::invalid_argument,
                             m.name + " " + name + " is longer than " + std::to_string(limit) +
                                 " bytes, the limit of a unique attribute",
                             {{"field", name}, {"limit", limit}}};
        auto holder = txn.get(t, key);
        if (holder && read_u64(*holder) != id)
            return api_error{
                error_type::conflict,
                m.name + " " + name + " '" + std::string(it->value().get_string()) + "' is taken",
                {{"field", name}}};
    }
    return {};
}

void object_store::index(transaction& txn, const model& m, std::uint64_t id, const json::object& o,
                         bool add) {
    auto& t = tables(m);
    auto id_key = u64_key(id);
    if (!removed(o))
        for (auto& [name, table] : t.unique)
            if (auto it = o.find(name); it != o.end() && it->value().is_string()) {
                auto key = unique_key(*m.find(name), it->value().get_string());
                add ? txn.put(table, key, id_key) : (void)txn.erase(table, key);
            }
    for (auto& [name, table] : t.references)
        if (auto it = o.find(name); it != o.end() && it->value().is_string()) {
            auto key = pair_key(id_of(it->value()), id);
            add ? txn.put(table, key, {}) : (void)txn.erase(table, key);
        }
    if (m.name == "session")
        if (auto it = o.find("started_at"); it != o.end() && it->value().is_int64()) {
            std::string key;
            append_i64(key, it->value().get_int64());
            append_u64(key, id);
            add ? txn.put(started_, key, {}) : (void)txn.erase(started_, key);
        }
}

result<std::uint64_t> object_store::create(transaction& txn, const model& m, json::object object) {
    // Checked before an id is handed out, so that a conflict writes nothing (0 is never an id).
    if (auto ok = check_unique(txn, m, 0, object); !ok) return ok.error();
    auto id = next_id(txn, m, object);
    if (!id) return id.error();
    auto now = now_micros();
    object["id"] = std::to_string(*id);
    object["created_at"] = now;
    object["modified_at"] = now;
    restore(txn, m, *id, object);
    return *id;
}

void object_store::restore(transaction& txn, const model& m, std::uint64_t id,
                           const json::object& object) {
    put(txn, m, id, object);
    index(txn, m, id, object, true);
    if (m.name == "session") fields_->update(txn, id, nullptr, object);
}

result<void> object_store::replace(transaction& txn, const model& m, std::uint64_t id,
                                   const json::object& before, json::object after) {
    after["modified_at"] = now_micros();
    if (auto ok = check_unique(txn, m, id, after); !ok) return ok.error();
    index(txn, m, id, before, false);
    put(txn, m, id, after);
    index(txn, m, id, after, true);
    if (m.name == "session") fields_->update(txn, id, &before, after);
    return {};
}

void object_store::assign_backup(transaction& txn, std::uint64_t session, std::uint64_t backup,
                                 std::optional<micros> at) {
    txn.put(assignments_, pair_key(session, backup),
            u64_key(std::uint64_t(at.value_or(now_micros()))));
}

void object_store::scan_assignments(
    const transaction& txn, const std::function<bool(std::uint64_t, std::uint64_t)>& visit) const {
    auto c = txn.open_cursor(assignments_);
    for (bool ok = c.first(); ok; ok = c.next())
        if (!visit(read_u64(c.key()), read_u64(c.key(), 8))) return;
}

std::optional<std::string> object_store::meta(const transaction& txn, std::string_view key) const {
    auto raw = txn.get(meta_, key);
    if (!raw) return std::nullopt;
    return std::string(*raw);
}

void object_store::set_meta(transaction& txn, std::string_view key, std::string_view value) {
    txn.put(meta_, key, value);
}

void object_store::erase_meta(transaction& txn, std::string_view key) {
    txn.erase(meta_, key);
}

}  // namespace audex::store
