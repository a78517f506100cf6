// The object API v2 as operations on the store: every call (list, get, create, patch, delete,
// objspec, backup assignment, API keys, session content) runs inside a caller's transaction, so
// that HTTP routes, batches and in-process clients share one implementation. Errors are thrown as
// api_exception and abort the transaction.
#pragma once

#include <chrono>

#include "auth/login_sessions.hpp"
#include "auth/user_directory.hpp"
#include "index/content_index.hpp"
#include "ingest/policy_set.hpp"
#include "search/partitioned_store.hpp"
#include "store/object_filter.hpp"
#include "store/object_store.hpp"

#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace audex::api {

namespace json = boost::json;
using verb = boost::beast::http::verb;

struct call {
    verb method = verb::get;
    std::vector<std::string> path;                            // the segments after /api/v2
    std::vector<std::pair<std::string, std::string>> params;  // the query parameters, in order
    json::value body;                                         // null without a body
};

// A parsed list request: filter, order, page and fields.
struct list_request {
    const model* m = nullptr;
    std::optional<store::object_filter> filter;
    std::optional<query::node> filter_tree;  // what `filter` was compiled from
    bool include_removed = false;
    std::vector<std::pair<const attribute*, bool>> order;  // attribute, descending
    std::size_t limit = 100, offset = 0;
    std::vector<const attribute*> fields;
    bool default_fields = true;  // no `fields`: the stored default view
    // For a scoped user's session list: whether a session is in the scope.
    std::function<bool(const store::transaction&, std::uint64_t)> visible;
};

struct object_api_settings {
    std::string node_serial;  // this node's serial number (created_on, replicated_on_nodes)
    std::size_t max_list_limit = 10000;
    std::size_t default_list_limit = 100;
    // How long after its end a session still takes content (recorders flush their last records).
    std::chrono::seconds content_grace{3600};
};

class object_api {
  public:
    object_api(store::object_store& objects, auth::user_directory& users,
               auth::login_sessions& logins, search::partitioned_store& partitions,
               ingest::policy_set& policies, object_api_settings settings);

    // Whether a session is in a scope; see session_scope.
    using session_check = std::function<bool(const store::transaction&, std::uint64_t)>;
    // The check of `who`'s scope (auth::principal::scope), or nullptr for an unscoped user; fails
    // with a catalogue error for a scope that does not compile. Set by the domain: scopes are
    // queries over the audit view, which is built on this class. Sessions outside the scope are
    // 404 to every call and left out of lists.
    // Until the domain sets it, a scoped user sees nothing rather than everything.
    std::function<session_check(const auth::principal&)> session_scope =
        [](const auth::principal& who) -> session_check {
        if (who.scope.empty()) return nullptr;
        return [](const store::transaction&, std::uint64_t) { return false; };
    };

    // Whether the call writes (and so needs a write transaction).
    static bool writes(const call& c) { return c.method != verb::get; }

    // Runs one call; the answer is the JSON text of a 200's body.
    std::string execute(store::transaction& txn, const auth::principal& who, const call& c);

    // A GET of a model's list, checked and parsed, or nullopt when `c` is not one.
    std::optional<list_request> as_list(const auth::principal& who, const call& c) const;
    // Streams a list as `{"result": "success", "<model>": [...]}`, a slice per call, each slice in
    // its own short read transaction; `emitted`, when given, counts the objects sent so far.
    std::function<bool(std::string&)> stream(list_request request,
                                             std::shared_ptr<std::size_t> emitted = nullptr) const;

    // A session's expensive attribute, computed from the stored session and the objects it names
    // (`<reference>_<attribute>`, e.g. user_name, reads that attribute of the referenced object).
    json::value expensive(const store::transaction& txn, const json::object& session,
                          const attribute& a) const;

    // Content records for a session (POST /session/<id>/content), checked and matched against the
    // content policies before a write transaction stores them.
    struct session_content {
        auth::principal who;
        std::uint64_t session = 0;
        std::vector<index::content_record> records;
        std::vector<ingest::alert> alerts;
        search::partitioned_store::handle partition;  // where they go
    };
    // Checks the role, reads the content records of an ingestion body (parse_content), matches
    // them against the content policies and finds the partition of the session: 404 for an
    // unknown session. Writes nothing.
    session_content prepare_content(const auth::principal& who, std::uint64_t session,
                                    std::string_view body, bool ndjson);
    // Stores and indexes the records and their alerts in `txn`, a write transaction of their
    // partition, once the session as it holds it then takes them (404 for an unknown session, 409
    // for a removed or closed one), and marks the session as holding screen content (its
    // `ocred` attribute) when its first screen records came.
    json::object append_content(store::transaction& txn, const session_content& content);

  private:
    struct list_cursor;
    // prepare_content() but the partition.
    session_content parse_session_content(const auth::principal& who, std::uint64_t session,
                                          std::string_view body, bool ndjson) const;
    // The partition of session `id`: 404 when none holds it.
    search::partitioned_store::handle partition_of(const store::transaction& catalog,
                                                   std::uint64_t session) const;
    // Whether session `s` (as its partition holds it now) takes content: 404 for an unknown
    // session, 409 for a removed or closed one; `catalog` for the caller's scope.
    void check_takes_content(const store::transaction& catalog,
                             const std::optional<json::object>& s,
                             const session_content& content) const;
    // Stores the records, their alerts and the session's mark of screen content in `txn`, a write
    // transaction of the session's partition whose store is `sessions`.
    void store_content(store::object_store& sessions, store::transaction& txn,
                       const session_content& content);
    // Content appended through execute(), in a write transaction of the catalog (a batch, `audex
    // import`): its records are written in the partition's companion of that transaction
    // (transaction::with), which commits just before it, so that a request or a batch that is
    // undone leaves none of it.
    json::object append_content_from_catalog(store::transaction& txn, const auth::principal& who,
                                             std::uint64_t id, std::string_view body);
    // execute() for the calls whose answer is built as JSON (all but GETs of lists and objects).
    json::object execute_json(store::transaction& txn, const auth::principal& who, const call& c);
    json::object render(const store::transaction& txn, const model& m, const json::object& stored,
                        const std::vector<const attribute*>& fields) const;
    const json::value* value_of(const store::transaction& txn, const model& m,
                                const json::object& stored, const attribute& a,
                                std::map<std::string, json::value>& computed) const;
    bool list_slice(const store::transaction& txn, list_cursor& cursor, std::string& out,
                    std::size_t max_items) const;
    std::string list_all(const store::transaction& txn, const list_request& request) const;

    std::string get(const store::transaction& txn, const model& m, std::uint64_t id,
                    const call& c) const;
    json::object create(store::transaction& txn, const auth::principal& who, const model& m,
                        const json::value& body);
    json::object patch(store::transaction& txn, const auth::principal& who, const model& m,
                       std::uint64_t id, const json::value& body);
    json::object remove(store::transaction& txn, const auth::principal& who, const model& m,
                        std::uint64_t id);
    json::object assign_backups(store::transaction& txn, const auth::principal& who,
                                const json::value& body);
    // 404 unless session `id` is in `who`'s scope.
    void check_in_scope(const store::transaction& txn, const auth::principal& who,
                        std::uint64_t id) const;
    json::object api_key(store::transaction& txn, const auth::principal& who, std::uint64_t user,
                         bool issue);

    // Where the objects of `m` are: the catalog's store and `txn`, or for session `id` its
    // partition's store and the companion of `txn` there; nullopt for a session that no
    // partition holds.
    struct place {
        store::object_store& objects;
        store::transaction& txn;
        search::partitioned_store::handle partition;  // a session's; null for the catalog
    };
    std::optional<place> place_of(const store::transaction& txn, const model& m,
                                  std::uint64_t id) const;
    json::object live_object(const store::transaction& txn, const model& m, std::uint64_t id) const;
    json::object validated(const model& m, const json::value& body,
                           const json::object* before) const;
    void check_role_change(const auth::principal& who, const json::object* before,
                           const json::object& after) const;
    // A content policy is created or changed (`policy`, whose rules must compile) or deleted
    // (null): the policy matcher is rebuilt once the transaction commits.
    void policy_written(store::transaction& txn, const json::object* policy);

    store::object_store& objects_;
    auth::user_directory& users_;
    auth::login_sessions& logins_;
    search::partitioned_store& partitions_;
    ingest::policy_set& policies_;
    object_api_settings settings_;
};

// The non-empty segments of a path ("/session/12/" gives session, 12).
std::vector<std::string> path_segments(std::string_view path);

// Parses a decimal object id; nullopt when it is not one.
std::optional<std::uint64_t> parse_id(std::string_view text);

}  // namespace audex::api
