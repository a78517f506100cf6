// The object API's small rules shared by its source files: failing with a catalogue error, the
// role a call needs, and the states of a stored object (removed, retention-locked).
#pragma once

#include "audex/error.hpp"
#include "auth/roles.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <utility>

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

}  // namespace audex::api
