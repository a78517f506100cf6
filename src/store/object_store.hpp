// The object tables of the object API: one LMDB table of stored JSON objects per model, kept in
// step with its secondary indexes (unique attributes, references, start time). docs/storage.md
// describes the layouts.
#pragma once

#include "audex/error.hpp"
#include "core/schema.hpp"
#include "core/time.hpp"
#include "store/field_index.hpp"
#include "store/lmdb.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace audex::store {

namespace json = boost::json;

// One object as its table holds it: the stored form, and the default view, the JSON text of its
// attributes as the API writes them (protected and expensive ones left out), rendered when the
// object is written so that gets and lists copy it instead of rendering it again.
struct stored_object {
    std::string_view json;  // the stored form (date-times as integer microseconds)
    std::string_view view;  // the default view
    bool removed = false;

    json::object parse() const;
};

// Which objects a store holds: the catalog every model's but sessions, a partition the sessions
// that started in its month, with the indexes that only sessions have (start time, backup
// assignments, the field indexes).
enum class object_role { catalog, sessions };

// Objects of one model in id order, from a given id on.
class object_cursor {
  public:
    object_cursor(const transaction& txn, table objects, std::uint64_t from);
    bool valid() const { return valid_; }
    std::uint64_t id() const;
    stored_object object() const;
    void next() { valid_ = cursor_.next(); }

  private:
    cursor cursor_;
    bool valid_;
};

class object_store {
  public:
    explicit object_store(environment& env, object_role role = object_role::catalog);

    environment& env() const { return env_; }

    std::optional<stored_object> find(const transaction& txn, const model& m,
                                      std::uint64_t id) const;
    // find() parsed.
    std::optional<json::object> get(const transaction& txn, const model& m, std::uint64_t id) const;
    // The object holding `value` in the unique attribute `a` (compared case-insensitively when the
    // attribute ignores case), removed objects excepted; none for a value too long to be stored.
    std::optional<std::uint64_t> find_unique(const transaction& txn, const model& m,
                                             const attribute& a, std::string_view value) const;

    // The objects of `m` in id order from `from` (inclusive).
    object_cursor objects(const transaction& txn, const model& m, std::uint64_t from) const {
        return object_cursor(txn, tables(m).objects, from);
    }
    // Visits objects in id order from `from` (inclusive) while `visit` returns true.
    void scan(const transaction& txn, const model& m, std::uint64_t from,
              const std::function<bool(std::uint64_t id, const stored_object& o)>& visit) const;
    // Visits the ids of `m` objects whose reference attribute `a` holds `target`.
    void scan_references(const transaction& txn, const model& m, const attribute& a,
                         std::uint64_t target,
                         const std::function<bool(std::uint64_t id)>& visit) const;
    // Visits session ids by start time in [from, to], ascending.
    void scan_started(
        const transaction& txn, std::int64_t from, std::int64_t to,
        const std::function<bool(std::uint64_t id, std::int64_t started)>& visit) const;

    // Stores a new object (already validated into the stored form); sets id, created_at and
    // modified_at. Conflict when a unique attribute is taken, InvalidArgument when its value is
    // longer than LMDB's key limit (511 bytes).
    result<std::uint64_t> create(transaction& txn, const model& m, json::object object);
    // Stores an object under the id it already has (one moved from another store), with its
    // indexes.
    void restore(transaction& txn, const model& m, std::uint64_t id, const json::object& object);
    // Hands out only ids above `id` from now on.
    void reserve_id(transaction& txn, std::uint64_t id);
    // Replaces an object; `after` gets modified_at. Conflict or InvalidArgument as for create().
    result<void> replace(transaction& txn, const model& m, std::uint64_t id,
                         const json::object& before, json::object after);

    // Assigns a session to a backup, now or at the time `at` (an assignment moved).
    void assign_backup(transaction& txn, std::uint64_t session, std::uint64_t backup,
                       std::optional<micros> at = std::nullopt);
    void scan_assignments(
        const transaction& txn,
        const std::function<bool(std::uint64_t session, std::uint64_t backup)>& visit) const;

    // The field indexes of sessions, kept in step by create() and replace() (a store of sessions
    // only).
    const field_index& fields() const { return *fields_; }
    // Whether the field indexes number every session, in id order: not while a store older than
    // them holds sessions not written since, nor once such a session was numbered late.
    bool sessions_indexed(const transaction& txn) const;

    // A value of the `meta` table.
    std::optional<std::string> meta(const transaction& txn, std::string_view key) const;
    void set_meta(transaction& txn, std::string_view key, std::string_view value);
    void erase_meta(transaction& txn, std::string_view key);

    // The key of a unique attribute's value (case-folded when the attribute ignores case).
    static std::string unique_key(const attribute& a, std::string_view value);

  private:
    struct model_tables {
        table objects;
        std::map<std::string, table, std::less<>> unique;      // by attribute
        std::map<std::string, table, std::less<>> references;  // by attribute
    };
    // Ids grow with the clock; a session's with its start (session_partition).
    result<std::uint64_t> next_id(transaction& txn, const model& m, const json::object& o);
    void put(transaction& txn, const model& m, std::uint64_t id, const json::object& o);
    void index(transaction& txn, const model& m, std::uint64_t id, const json::object& o, bool add);
    result<void> check_unique(const transaction& txn, const model& m, std::uint64_t id,
                              const json::object& o) const;
    const model_tables& tables(const model& m) const { return tables_.at(m.name); }

    environment& env_;
    object_role role_;
    table meta_, started_ = 0, assignments_ = 0;
    std::map<std::string, model_tables, std::less<>> tables_;
    std::optional<field_index> fields_;
};

}  // namespace audex::store
