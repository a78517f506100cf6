// The object API v2 operations but lists (object_lists.cpp; see object_api.hpp).
#include "api/v2/object_api.hpp"

#include "api/v2/object_rules.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "ingest/policy_set.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

namespace audex::api {

namespace {

// What a recorder (`service`) may change of a session it reports on: its state, never who did
// what when.
constexpr std::string_view session_state[] = {
    "finished_at", "status", "reason", "terminate_at", "paused", "active_time", "size", "indexed"};

// Refuses a session patch that `who` may not make: a recorder changing more than the session's
// state or reopening a finished session, or anyone but a superadmin lifting a retention lock.
void check_session_patch(const auth::principal& who, const json::object& before,
                         const json::object& changes) {
    if (who.role == auth::role::service) {
        for (auto& [key, value] : changes)
            if (std::find(std::begin(session_state), std::end(session_state), key) ==
                std::end(session_state))
                fail({error_type::forbidden,
                      "role 'service' may patch only a session's state, not '" + std::string(key) +
                          "'",
                      {{"field", key}}});
        auto finished = changes.find("finished_at");
        if (finished != changes.end() && finished->value().is_null() &&
            before.contains("finished_at"))
            fail({error_type::forbidden,
                  "role 'service' may not reopen a finished session",
                  {{"field", "finished_at"}}});
    }
    auto lock = changes.find("retention_locked");
    if (lock != changes.end() && lock->value() != true && is_retention_locked(before) &&
        who.role != auth::role::superadmin)
        fail({error_type::forbidden,
              "only a superadmin may lift a session's retention lock",
              {{"field", "retention_locked"}}});
}

// Marks when the store learned that a session had finished (`_finished_seen`, server time):
// content is taken for a grace period after that, whatever `finished_at` says.
void note_finish(json::object& session) {
    if (!session.contains("finished_at"))
        session.erase("_finished_seen");
    else if (!session.contains("_finished_seen"))
        session["_finished_seen"] = now_micros();
}

}  // namespace

const model& model_named(std::string_view name) {
    auto m = find_model(name);
    if (!m || (!m->find("id") && name != "session_backup"))
        fail(api_error::not_found("no such resource: /api/v2/" + std::string(name)));
    return *m;
}

// An attribute a client may name in `param` (fields, order); InvalidArgument otherwise.
const attribute* attribute_named(const model& m, std::string_view param, std::string_view name) {
    auto a = m.find(name);
    if (!a || a->is_protected)
        fail(api_error::invalid_argument(param, "unknown attribute '" + std::string(name) +
                                                    "' of " + m.name + " in " +
                                                    std::string(param)));
    return a;
}

// The attributes `fields` names (`*`: all), or without it all but the expensive ones.
std::vector<const attribute*> field_list(const model& m, const std::string* fields) {
    std::vector<const attribute*> out;
    if (!fields) {
        for (auto& a : m.attributes)
            if (!a.is_protected && !a.expensive) out.push_back(&a);
        return out;
    }
    for (auto item : split_list(*fields)) {
        if (item != "*") {
            out.push_back(attribute_named(m, "fields", item));
            continue;
        }
        for (auto& a : m.attributes)
            if (!a.is_protected) out.push_back(&a);
    }
    return out;
}

std::vector<std::string> path_segments(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
        auto slash = path.find('/');
        if (slash != 0) out.emplace_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

std::optional<std::uint64_t> parse_id(std::string_view text) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

object_api::object_api(store::object_store& objects, auth::user_directory& users,
                       auth::login_sessions& logins, search::partitioned_store& partitions,
                       ingest::policy_set& policies, object_api_settings settings)
    : objects_(objects),
      users_(users),
      logins_(logins),
      partitions_(partitions),
      policies_(policies),
      settings_(std::move(settings)) {}

// ---- rendering -------------------------------------------------------------------------------

json::value object_api::expensive(const store::transaction& txn, const json::object& s,
                                  const attribute& a) const {
    auto field = [&](std::string_view name) -> const json::value* {
        auto it = s.find(name);
        return it == s.end() ? nullptr : &it->value();
    };
    auto now = now_micros();
    const std::string& name = a.name;
    // user_name, user_removed, account_name, ...: from the object the session references.
    for (std::string_view ref : {"user", "account", "server", "safe", "listener"}) {
        if (!name.starts_with(ref) || name.size() <= ref.size() || name[ref.size()] != '_')
            continue;
        auto id_value = field(std::string(ref) + "_id");
        if (!id_value || !id_value->is_string()) return nullptr;
        auto id = parse_id(id_value->get_string());
        auto o = id ? objects_.find(txn, *find_model(ref), *id) : std::nullopt;
        if (!o) return nullptr;
        auto suffix = std::string_view(name).substr(ref.size() + 1);
        if (suffix == "removed") return o->removed;
        // Parsed into a buffer on the stack (lists and statistics name thousands of objects),
        // the one value copied out.
        unsigned char buffer[4096];
        json::monotonic_resource arena(buffer, sizeof buffer);
        auto parsed = json::parse(o->json, &arena);
        auto it = parsed.as_object().find(suffix);
        return it == parsed.as_object().end() ? json::value(nullptr) : json::value(it->value(), {});
    }
    if (name == "destination_address") {
        auto ip = field("destination_ip");
        auto port = field("destination_port");
        if (!ip || !port) return nullptr;
        std::string host(ip->as_string());
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        return json::value(host + ":" + std::to_string(port->to_number<std::int64_t>()));
    }
    auto started = field("started_at");
    auto finished = field("finished_at");
    if (name == "duration" || name == "activity") {
        if (!started) return nullptr;
        auto end = finished ? finished->as_int64() : now;
        std::int64_t duration = std::max<std::int64_t>(0, (end - started->as_int64()) / 1'000'000);
        if (name == "duration") return duration;
        auto active = field("active_time");
        if (!active || duration == 0) return nullptr;
        return std::int64_t(std::llround(active->to_number<double>() * 100.0 / double(duration)));
    }
    if (name == "time_limit") {
        auto terminate = field("terminate_at");
        if (!terminate) return nullptr;
        if (finished) return std::int64_t(0);
        return std::max<std::int64_t>(0, (terminate->as_int64() - now) / 1'000'000);
    }
    if (name == "ocred") {
        // Screen text of graphical sessions is what an OCR would have produced: true once screen
        // content has been ingested for the session (stores written before counted the records).
        auto counted = field("_screen_records");
        return field("_screen_content") || (counted && counted->to_number<std::int64_t>() > 0);
    }
    if (name == "availibility") return is_removed(s) ? "missing" : "available";
    if (name == "created_on" || name == "replicated_on_nodes")
        return json::value(settings_.node_serial);
    // secret_exposure_state: Audex keeps no password checkouts, so it has no value to show.
    return nullptr;
}

const json::value* object_api::value_of(const store::transaction& txn, const model& m,
                                        const json::object& stored, const attribute& a,
                                        std::map<std::string, json::value>& computed) const {
    if (a.expensive && m.name == "session") {
        auto [it, inserted] = computed.try_emplace(a.name);
        if (inserted) it->second = expensive(txn, stored, a);
        return &it->second;
    }
    auto it = stored.find(a.name);
    return it == stored.end() ? nullptr : &it->value();
}

json::object object_api::render(const store::transaction& txn, const model& m,
                                const json::object& stored,
                                const std::vector<const attribute*>& fields) const {
    json::object out;
    std::map<std::string, json::value> computed;
    for (auto* a : fields) {
        auto v = value_of(txn, m, stored, *a, computed);
        if (v && !v->is_null()) out[a->name] = to_output(*a, *v);
    }
    return out;
}

// ---- single objects --------------------------------------------------------------------------

std::optional<object_api::place> object_api::place_of(const store::transaction& txn, const model& m,
                                                      std::uint64_t id) const {
    if (m.name != "session") return place{objects_, const_cast<store::transaction&>(txn), nullptr};
    auto at = partitions_.locate(txn, id);
    if (!at) return std::nullopt;
    return place{at->sessions(), at->txn, at->partition};
}

json::object object_api::live_object(const store::transaction& txn, const model& m,
                                     std::uint64_t id) const {
    auto at = place_of(txn, m, id);
    auto o = at ? at->objects.get(at->txn, m, id) : std::nullopt;
    if (!o || is_removed(*o))
        fail(api_error::not_found("no " + m.name + " with id " + std::to_string(id)));
    return std::move(*o);
}

std::string object_api::get(const store::transaction& txn, const model& m, std::uint64_t id,
                            const call& c) const {
    const std::string* fields = nullptr;
    for (auto& [key, value] : c.params) {
        if (key != "fields")
            fail(api_error::invalid_argument(key, "unknown parameter '" + key + "'"));
        fields = &value;
    }
    auto chosen = field_list(m, fields);
    auto at = place_of(txn, m, id);
    auto so = at ? at->objects.find(at->txn, m, id) : std::nullopt;
    if (!so || so->removed)
        fail(api_error::not_found("no " + m.name + " with id " + std::to_string(id)));
    std::string out = "{\"result\":\"success\",\"" + m.name + "\":";
    if (fields)
        append_json_text(out, render(txn, m, so->parse(), chosen));
    else
        out += so->view;
    out += '}';
    return out;
}

json::object object_api::validated(const model& m, const json::value& body,
                                   const json::object* before) const {
    if (!body.is_object())
        fail(api_error::invalid_argument(
            "body", "the body must be a JSON object of " + m.name + " attributes"));
    json::object out = before ? *before : json::object();
    for (auto& [key, value] : body.get_object()) {
        auto a = m.find(key);
        if (!a)
            fail(api_error::invalid_argument(
                key, "unknown attribute '" + std::string(key) + "' of " + m.name));
        if (a->readonly || a->expensive)
            fail(api_error::invalid_argument(key,
                                             "attribute '" + std::string(key) + "' is read-only"));
        auto stored = to_stored(*a, value, key);
        if (!stored) fail(stored.error());
        if (stored->is_null()) {
            if (a->required)
                fail(api_error::invalid_argument(
                    key, "attribute '" + std::string(key) + "' is required"));
            out.erase(key);
        } else if (a->is_protected && a->name == "password") {
            out[key] = auth::hash_password(stored->as_string(), users_.cost());
        } else {
            out[key] = std::move(*stored);
        }
    }
    for (auto& a : m.attributes)
        if (a.required && !out.contains(a.name))
            fail(api_error::invalid_argument(a.name, "attribute '" + a.name + "' is required"));
    return out;
}

void object_api::policy_written(store::transaction& txn, const json::object* policy) {
    // Limits and a parse of each pattern only: the policies are compiled after the commit
    // (policy_set::refresh), never while the writer is held.
    if (policy) ingest::policy_set::check(txn, objects_, *policy);
    ingest::policy_set::changed(txn, objects_);
}

void object_api::check_role_change(const auth::principal& who, const json::object* before,
                                   const json::object& after) const {
    // A scoped admin could otherwise make a user that sees more than it does.
    if (!who.scope.empty()) forbidden("a user with a scope manages no users");
    if (auto scope = after.find("scope"); scope != after.end() && scope->value().is_string()) {
        auth::principal probe;
        probe.scope = scope->value().get_string();
        session_scope(probe);  // refuses a scope that does not compile
    }
    auto role_of = [](const json::object& o) {
        auto it = o.find("role");
        return it == o.end() ? auth::role::user
                             : auth::parse_role(it->value().as_string()).value_or(auth::role::user);
    };
    if (before && !auth::can_manage_role(who.role, role_of(*before)))
        forbidden("role '" + std::string(auth::role_name(who.role)) + "' may not manage a " +
                  std::string(auth::role_name(role_of(*before))));
    if (!auth::can_manage_role(who.role, role_of(after)))
        forbidden("role '" + std::string(auth::role_name(who.role)) + "' may not grant role " +
                  std::string(auth::role_name(role_of(after))));
}

json::object object_api::create(store::transaction& txn, const auth::principal& who, const model& m,
                                const json::value& body) {
    require(who, m.name == "session" ? auth::capability::ingest : auth::capability::manage);
    auto o = validated(m, body, nullptr);
    if (m.name == "user") check_role_change(who, nullptr, o);
    if (m.name == "content_policy") policy_written(txn, &o);
    std::optional<place> at;
    if (m.name == "session") {
        // The trail number: the audit view's psm.content_reference_id and content hits' trail_id.
        auto last = objects_.meta(txn, "last_trail");
        auto trail = (last ? std::stoll(*last) : 0) + 1;
        objects_.set_meta(txn, "last_trail", std::to_string(trail));
        o["_trail"] = trail;
        note_finish(o);
        check_start(o);
        auto in = partitions_.for_new(txn, started_at(o));
        check_open(in.partition, in.txn, "it takes no new sessions");
        at.emplace(in.sessions(), in.txn, in.partition);
    }
    auto id =
        at ? at->objects.create(at->txn, m, std::move(o)) : objects_.create(txn, m, std::move(o));
    if (!id) fail(id.error());
    return {{"result", "success"}, {m.name, {{"id", std::to_string(*id)}}}};
}

json::object object_api::patch(store::transaction& txn, const auth::principal& who, const model& m,
                               std::uint64_t id, const json::value& body) {
    require(who, m.name == "session" ? auth::capability::ingest : auth::capability::manage);
    auto at = place_of(txn, m, id);
    auto before = at ? at->objects.get(at->txn, m, id) : std::nullopt;
    if (!before) fail(api_error::not_found("no " + m.name + " with id " + std::to_string(id)));
    if (is_removed(*before))
        fail(api_error::conflict(m.name + " " + std::to_string(id) + " is removed"));
    if (m.name == "session") check_in_scope(txn, who, id);
    auto after = validated(m, body, &*before);
    if (m.name == "session") {
        check_session_patch(who, *before, body.as_object());
        check_start(after);
        // A sealed partition's sessions take a legal hold, and nothing else.
        if (std::any_of(body.as_object().begin(), body.as_object().end(),
                        [](auto& kv) { return kv.key() != "retention_locked"; }))
            check_open(at->partition, at->txn, "its sessions change no more but for a legal hold");
        // A session lives in the partition of its start's month.
        auto month = [](const json::object& o) { return store::partition_name(started_at(o)); };
        if (month(after) != month(*before))
            fail(api_error::invalid_argument(
                "started_at", "a session's start stays in its month (" + month(*before) + ")"));
        note_finish(after);
    }
    if (m.name == "content_policy") policy_written(txn, &after);
    if (m.name == "user") {
        check_role_change(who, &*before, after);
        if (id == who.user_id && body.as_object().contains("scope"))
            forbidden("nobody changes their own scope");
        // A new name, password or role ends the user's login sessions, which hold the user as
        // it was at login; a new password also revokes the API key, which whoever knew the old
        // password may have issued.
        auto& changes = body.as_object();
        if (changes.contains("name") || changes.contains("password") || changes.contains("role") ||
            changes.contains("scope"))
            logins_.end_all_of(id);
        if (changes.contains("password")) users_.revoke_api_key(txn, id);
    }
    if (auto ok = at->objects.replace(at->txn, m, id, *before, std::move(after)); !ok)
        fail(ok.error());
    return {{"result", "success"}, {m.name, {{"id", std::to_string(id)}}}};
}

json::object object_api::remove(store::transaction& txn, const auth::principal& who, const model& m,
                                std::uint64_t id) {
    require(who, auth::capability::manage);
    auto before = live_object(txn, m, id);
    if (m.name == "session") check_in_scope(txn, who, id);
    if (m.name == "session") {
        if (is_retention_locked(before))
            fail(api_error::conflict("session " + std::to_string(id) + " is retention-locked"));
        // Purged in the background once this commits; marked here so that a stop cannot lose it.
        partitions_.mark_for_purge(txn, id);
    }
    if (m.name == "user") {
        check_role_change(who, &before, before);
        if (id == who.user_id) forbidden("a user may not remove itself");
        users_.revoke_api_key(txn, id);
        logins_.end_all_of(id);
    }
    if (m.name == "content_policy") policy_written(txn, nullptr);
    auto after = before;
    after["removed"] = true;
    auto at = place_of(txn, m, id);
    if (at->partition) check_open(at->partition, at->txn, "its sessions stay");
    if (auto ok = at->objects.replace(at->txn, m, id, before, std::move(after)); !ok)
        fail(ok.error());
    return {{"result", "success"}};
}

void object_api::check_in_scope(const store::transaction& txn, const auth::principal& who,
                                std::uint64_t id) const {
    if (auto check = session_scope(who); check && !check(txn, id))
        fail(api_error::not_found("no session with id " + std::to_string(id)));
}

json::object object_api::assign_backups(store::transaction& txn, const auth::principal& who,
                                        const json::value& body) {
    const model& m = *find_model("session_backup");
    if (!body.is_object())
        fail(api_error::invalid_argument("body",
                                         "the body must be a SessionBackupAssignmentModel object"));
    auto& o = body.get_object();
    for (auto& [key, value] : o) {
        auto a = m.find(key);
        if (!a)
            fail(api_error::invalid_argument(key, "unknown attribute '" + std::string(key) + "'"));
        if (auto ok = to_stored(*a, value, key); !ok) fail(ok.error());
    }
    bool one = o.contains("session_id"), many = o.contains("session_ids");
    bool by_id = o.contains("backup_id"), by_name = o.contains("backup_name");
    if (one == many)
        fail(api_error::invalid_argument("session_id",
                                         "give exactly one of session_id and session_ids"));
    if (by_id == by_name)
        fail(api_error::invalid_argument("backup_id",
                                         "give exactly one of backup_id and backup_name"));
    const model& backups = *find_model("backup");
    std::uint64_t backup;
    if (by_id) {
        backup = *parse_id(o.at("backup_id").as_string());
        live_object(txn, backups, backup);
    } else {
        auto found = objects_.find_unique(txn, backups, *backups.find("name"),
                                          o.at("backup_name").as_string());
        if (!found)
            fail(api_error::not_found("no backup named '" +
                                      std::string(o.at("backup_name").as_string()) + "'"));
        backup = *found;
    }
    json::array ids;
    if (one)
        ids.push_back(o.at("session_id"));
    else
        ids = o.at("session_ids").as_array();
    const model& sessions = *find_model("session");
    for (auto& sid : ids) {
        auto id = *parse_id(sid.as_string());
        live_object(txn, sessions, id);
        check_in_scope(txn, who, id);
        auto at = place_of(txn, sessions, id);
        at->objects.assign_backup(at->txn, id, backup);
    }
    json::object out{{"result", "success"}};
    if (one)
        out["session_id"] = o.at("session_id");
    else
        out["session_ids"] = ids;
    return out;
}

json::object object_api::api_key(store::transaction& txn, const auth::principal& who,
                                 std::uint64_t user, bool issue) {
    require(who, auth::capability::manage);
    auto target = live_object(txn, *find_model("user"), user);
    check_role_change(who, &target, target);
    if (!issue) {
        if (!users_.revoke_api_key(txn, user))
            fail(api_error::not_found("user " + std::to_string(user) + " has no API key"));
        return {{"result", "success"}};
    }
    return {{"result", "success"}, {"api_key", users_.issue_api_key(txn, user)}};
}

// ---- dispatch --------------------------------------------------------------------------------

std::string object_api::execute(store::transaction& txn, const auth::principal& who,
                                const call& c) {
    const auto& p = c.path;
    if (c.method == verb::get && p.size() == 1 && p[0] != "objspec" && p[0] != "session_backup")
        return list_all(txn, *as_list(who, c));
    if (c.method == verb::get && p.size() == 2 && p[0] != "objspec") {
        const model& m = model_named(p[0]);
        auto id = parse_id(p[1]);
        if (!id) fail(api_error::not_found("no object with id '" + p[1] + "'"));
        require(who, auth::capability::read);
        if (m.name == "session") check_in_scope(txn, who, *id);
        return get(txn, m, *id, c);
    }
    return to_json_text(execute_json(txn, who, c));
}

json::object object_api::execute_json(store::transaction& txn, const auth::principal& who,
                                      const call& c) {
    const auto& p = c.path;
    auto id_at = [&](std::size_t i) {
        auto id = parse_id(p[i]);
        if (!id) fail(api_error::not_found("no object with id '" + p[i] + "'"));
        return *id;
    };
    auto no_params = [&] {
        if (!c.params.empty())
            fail(api_error::invalid_argument(c.params[0].first,
                                             "unknown parameter '" + c.params[0].first + "'"));
    };
    auto not_allowed = [&] {
        fail({error_type::method_not_allowed,
              std::string(boost::beast::http::to_string(c.method)) + " is not allowed here",
              {}});
    };
    if (p.empty()) fail(api_error::not_found("no such resource: /api/v2"));
    if (p[0] == "objspec") {
        if (p.size() != 2) fail(api_error::not_found("objspec needs a model name"));
        if (c.method != verb::get) not_allowed();
        no_params();
        require(who, auth::capability::read);
        auto m = find_model(p[1]);
        if (!m) fail(api_error::not_found("no model named '" + p[1] + "'"));
        return {{"result", "success"}, {m->name, objspec(*m)}};
    }
    if (p[0] == "session_backup" && p.size() == 1) {
        if (c.method != verb::post) not_allowed();
        no_params();
        require(who, auth::capability::manage);
        return assign_backups(txn, who, c.body);
    }
    const model& m = model_named(p[0]);
    if (p.size() == 1) {
        if (c.method != verb::post) not_allowed();
        no_params();
        return create(txn, who, m, c.body);
    }
    auto id = id_at(1);
    if (p.size() == 2) {
        switch (c.method) {
            case verb::patch:
                no_params();
                return patch(txn, who, m, id, c.body);
            case verb::delete_:
                no_params();
                return remove(txn, who, m, id);
            default:
                not_allowed();
        }
    }
    if (m.name == "session" && p.size() == 4 && p[2] == "backup") {
        if (c.method != verb::post) not_allowed();
        no_params();
        require(who, auth::capability::manage);
        auto backup = id_at(3);
        live_object(txn, m, id);
        check_in_scope(txn, who, id);
        live_object(txn, *find_model("backup"), backup);
        auto at = place_of(txn, m, id);
        at->objects.assign_backup(at->txn, id, backup);
        return {{"result", "success"}};
    }
    if (m.name == "session" && p.size() == 3 && p[2] == "content") {
        if (c.method != verb::post) not_allowed();
        no_params();
        return append_content_from_catalog(txn, who, id, json::serialize(c.body));
    }
    if (m.name == "user" && p.size() == 3 && p[2] == "api_key") {
        if (c.method != verb::post && c.method != verb::delete_) not_allowed();
        no_params();
        return api_key(txn, who, id, c.method == verb::post);
    }
    fail(api_error::not_found("no such resource"));
}

}  // namespace audex::api
