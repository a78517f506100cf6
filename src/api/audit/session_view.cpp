// The audit view's fields and how each is computed from a stored session (see session_view.hpp).
#include "api/audit/session_view.hpp"

#include "core/text.hpp"

#include <algorithm>

namespace audex::api::audit {

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

// What a field's value is computed from.
struct source {
    const object_api& api;
    const store::transaction& txn;
    std::uint64_t id;
    const json::object& session;
    micros now;

    json::value stored(std::string_view key) const {
        auto it = session.find(key);
        return it == session.end() ? json::value(nullptr) : it->value();
    }
    // An expensive attribute of the object API, computed by its own code.
    json::value computed(std::string_view name) const {
        static const model& sessions = *find_model("session");
        // The server's address has no session attribute of its own; the object API reads it as
        // `<reference>_<attribute>` like the names.
        static const attribute server_address = [] {
            attribute a;
            a.name = "server_address";
            a.expensive = true;
            return a;
        }();
        auto a = name == server_address.name ? &server_address : sessions.find(name);
        return api.expensive(txn, session, *a);
    }
    json::value href(std::string_view what) const {
        return json::value("/api/audit/sessions/" + std::to_string(id) + "/" + std::string(what));
    }
};

// Looks `key` up in a table of stored enum values and their view names.
json::value mapped(const json::value& stored,
                   std::initializer_list<std::pair<json::value, std::string_view>> table,
                   std::string_view otherwise) {
    for (auto& [from, to] : table)
        if (stored == from) return json::value(to);
    return json::value(otherwise);
}

struct field_def {
    std::string_view name;
    // The one stored session attribute the field is computed from, where there is one: the field
    // indexes select by its values (the start and end times through the session column) and
    // count by the indexed ones. Empty for the fields computed from several, and for links.
    std::string_view stored_from;
    attribute_kind kind;
    json::value (*get)(const source&);
};

const std::vector<field_def>& field_defs() {
    using k = attribute_kind;
    static const std::vector<field_def> defs{
        {"active", "finished_at", k::boolean,
         [](const source& s) { return json::value(s.stored("finished_at").is_null()); }},
        {"protocol", "protocol", k::string, [](const source& s) { return s.stored("protocol"); }},
        {"start_time", "started_at", k::datetime,
         [](const source& s) { return s.stored("started_at"); }},
        {"end_time", "finished_at", k::datetime,
         [](const source& s) { return s.stored("finished_at"); }},
        {"duration", "", k::integer, [](const source& s) { return s.computed("duration"); }},
        // A session that no one rejected, terminated or timed out was accepted.
        {"verdict", "status", k::string,
         [](const source& s) {
             return mapped(s.stored("status"),
                           {{"approved", "ACCEPT"},
                            {"rejected", "REJECT"},
                            {"terminated", "TERMINATED"},
                            {"waiting", "WAITING"},
                            {"expired", "EXPIRED"},
                            {"disconnected", "DISCONNECTED"}},
                           "ACCEPT");
         }},
        {"client.ip", "source_ip", k::ip, [](const source& s) { return s.stored("source_ip"); }},
        {"client.port", "source_port", k::integer,
         [](const source& s) { return s.stored("source_port"); }},
        {"target.ip", "destination_ip", k::ip,
         [](const source& s) { return s.stored("destination_ip"); }},
        {"target.port", "destination_port", k::integer,
         [](const source& s) { return s.stored("destination_port"); }},
        {"user.id", "user_id", k::id, [](const source& s) { return s.stored("user_id"); }},
        {"user.name", "user_id", k::string,
         [](const source& s) { return s.computed("user_name"); }},
        {"user.organization", "user_id", k::string,
         [](const source& s) { return s.computed("user_organization"); }},
        {"account.id", "account_id", k::id, [](const source& s) { return s.stored("account_id"); }},
        {"account.name", "account_id", k::string,
         [](const source& s) { return s.computed("account_name"); }},
        {"server.id", "server_id", k::id, [](const source& s) { return s.stored("server_id"); }},
        {"server.name", "server_id", k::string,
         [](const source& s) { return s.computed("server_name"); }},
        {"server.address", "server_id", k::string,
         [](const source& s) { return s.computed("server_address"); }},
        {"safe.id", "safe_id", k::id, [](const source& s) { return s.stored("safe_id"); }},
        {"safe.name", "safe_id", k::string,
         [](const source& s) { return s.computed("safe_name"); }},
        {"listener.id", "listener_id", k::id,
         [](const source& s) { return s.stored("listener_id"); }},
        {"listener.name", "listener_id", k::string,
         [](const source& s) { return s.computed("listener_name"); }},
        // A session whose indexing no recorder reported is waiting for it.
        {"recording.index_status", "indexed", k::string,
         [](const source& s) {
             return mapped(s.stored("indexed"), {{1, "ERROR"}, {2, "INDEXED"}}, "WAITING");
         }},
        {"recording.dump_mode", "dump_mode", k::string,
         [](const source& s) { return s.stored("dump_mode"); }},
        {"recording.size", "size", k::integer, [](const source& s) { return s.stored("size"); }},
        {"psm.content_reference_id", "_trail", k::integer,
         [](const source& s) { return s.stored("_trail"); }},
        {"alerts.href", "", k::string, [](const source& s) { return s.href("alerts"); }},
        {"events.href", "", k::string, [](const source& s) { return s.href("events"); }},
        {"content.href", "", k::string, [](const source& s) { return s.href("content"); }},
    };
    return defs;
}

std::size_t index_of(const attribute& field) {
    auto& all = view_model().attributes;
    return std::size_t(&field - all.data());
}

}  // namespace

const model& view_model() {
    static const model m = [] {
        model out{"audit session view", {}, nullptr};
        for (auto& d : field_defs()) {
            attribute a;
            a.name = d.name;
            a.kind = d.kind;
            a.readonly = true;
            out.attributes.push_back(std::move(a));
        }
        return out;
    }();
    return m;
}

std::string_view source_attribute(const attribute& field) {
    return field_defs()[index_of(field)].stored_from;
}

std::vector<const attribute*> named_fields(std::string_view list, std::string_view param) {
    std::vector<const attribute*> out;
    auto add = [&](const attribute& a) {
        if (std::find(out.begin(), out.end(), &a) == out.end()) out.push_back(&a);
    };
    for (auto name : split_list(list)) {
        bool found = false;
        for (auto& a : view_model().attributes) {
            std::string_view leaf = a.name;
            if (leaf == name || (leaf.starts_with(name) && leaf[name.size()] == '.')) {
                add(a);
                found = true;
            }
        }
        if (!found)
            fail(api_error::invalid_argument(
                param, "the audit view of a session has no field '" + std::string(name) + "'"));
    }
    return out;
}

const attribute& leaf_field(std::string_view name, std::string_view param) {
    auto a = view_model().find(name);
    if (!a)
        fail(api_error::invalid_argument(
            param, "the audit view of a session has no field '" + std::string(name) + "'"));
    return *a;
}

session_view::session_view(const object_api& api, const store::transaction& txn, std::uint64_t id,
                           json::object stored, micros now)
    : api_(api),
      txn_(txn),
      id_(id),
      stored_(std::move(stored)),
      now_(now),
      values_(view_model().attributes.size()) {}

micros session_view::started() const {
    auto it = stored_.find("started_at");
    return it == stored_.end() ? 0 : it->value().to_number<micros>();
}

micros session_view::ended() const {
    auto it = stored_.find("finished_at");
    return it == stored_.end() ? now_ : it->value().to_number<micros>();
}

const json::value& session_view::stored(const attribute& field) {
    auto i = index_of(field);
    if (!values_[i]) values_[i] = field_defs()[i].get(source{api_, txn_, id_, stored_, now_});
    return *values_[i];
}

const json::value* session_view::operator()(const attribute& field) {
    auto& v = stored(field);
    return v.is_null() ? nullptr : &v;
}

json::value session_view::output(const attribute& field, const json::value& stored) {
    if (field.kind == attribute_kind::datetime && stored.is_int64())
        return json::value(format_iso_time(stored.get_int64()));
    return stored;
}

json::object session_view::document(const std::vector<const attribute*>& fields) {
    json::object doc;
    auto put = [&](const attribute& a) {
        json::object* at = &doc;
        std::string_view rest = a.name;
        for (auto dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
            auto& inner = (*at)[rest.substr(0, dot)];
            if (!inner.is_object()) inner = json::object();
            at = &inner.get_object();
            rest.remove_prefix(dot + 1);
        }
        (*at)[rest] = output(a, stored(a));
    };
    if (fields.empty())
        for (auto& a : view_model().attributes)
            put(a);
    for (auto* a : fields)
        put(*a);
    return doc;
}

}  // namespace audex::api::audit
