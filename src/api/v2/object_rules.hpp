// The object API's small rules shared by its source files: failing with a catalogue error, the
// role a call needs, the models and attributes a call names, and the states of a stored object
// (removed, retention-locked, a session's start, a sealed partition).
#pragma once

#include "audex/error.hpp"
#include "auth/roles.hpp"
#include "core/schema.hpp"
#include "core/time.hpp"
#include "search/partitioned_store.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace audex::api {

[[noreturn]] inline void fail(api_error e) {
    throw api_exception(std::move(e));
}

[[noreturn]] inline void forbidden(std::string message) {
    fail({error_type::forbidden, std::move(message), {}});
}

inline void require(const auth::principal& who, auth::capability what) {
    if (!auth::can(who.role, what))
        forbidden("role '" + std::string(auth::role_name(who.role)) + "' may not " +
                  std::string(auth::capability_name(what)));
}

inline bool is_removed(const boost::json::object& o) {
    auto it = o.find("removed");
    return it != o.end() && it->value() == true;
}

inline bool is_retention_locked(const boost::json::object& session) {
    auto it = session.find("retention_locked");
    return it != session.end() && it->value() == true;
}

// Refuses a change `what` to sealed partition `p` (search::partitioned_store::seal), read in
// `txn`: 409 Conflict.
inline void check_open(const search::partitioned_store::handle& p, const store::transaction& txn,
                       const std::string& what) {
    if (p->contents.sealed(txn))
        fail(api_error::conflict("partition " + p->name + " is sealed: " + what));
}

// The model of /api/v2/<name>: NotFound for no such resource.
const model& model_named(std::string_view name);
// An attribute a client may name in `param` (fields, order); InvalidArgument otherwise.
const attribute* attribute_named(const model& m, std::string_view param, std::string_view name);
// The attributes `fields` names (`*`: all), or without it all but the expensive ones.
std::vector<const attribute*> field_list(const model& m, const std::string* fields);

// A session's start, in its stored form (µs).
inline micros started_at(const boost::json::object& session) {
    return session.at("started_at").to_number<micros>();
}

// A session's id grows with its start (store::session_partition): starts from 1970 on, before
// 2500.
inline void check_start(const boost::json::object& session) {
    constexpr micros first = 0, end = 16'725'225'600'000'000;  // 2500-01-01T00:00:00Z
    if (auto t = started_at(session); t < first || t >= end)
        fail(api_error::invalid_argument(
            "started_at", "a session starts from 1970-01-01 on and before 2500-01-01"));
}

}  // namespace audex::api
