// The error catalogue shared by both API families: every failure a client can see is one of these
// types, with its HTTP status, rendered by error_body() in one place (schemas/errors.json lists them).
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <ostream>
#include <string>
#include <string_view>

namespace audex {

enum class error_type {
    invalid_query_value,
    invalid_argument,
    malformed_body,
    too_much_buckets_in_result,
    not_supported_content_option,
    unauthenticated,
    authentication_failure,
    forbidden,
    not_found,
    method_not_allowed,
    conflict,
    payload_too_large,
    unsupported_media_type,
    too_many_requests,
    internal_error,
    search_unavailable,
};

// The catalogue name of a type, e.g. "InvalidQueryValue".
std::string_view error_type_name(error_type type);
inline std::ostream& operator<<(std::ostream& out, error_type type) {
    return out << error_type_name(type);
}
// The HTTP status code that goes with a type.
unsigned error_status(error_type type);

// An expected failure, carried as a value up to the handler that answers it.
struct api_error {
    error_type type;
    std::string message;
    boost::json::object details;

    static api_error invalid_argument(std::string_view field, std::string message);
    static api_error not_found(std::string message);
    static api_error conflict(std::string message);
};

// Carries an api_error through code that cannot return one (deep inside a parser or a write
// transaction); caught at the handler boundary and answered like a returned error.
struct api_exception : std::exception {
    api_error error;
    explicit api_exception(api_error e) : error(std::move(e)) {}
    const char* what() const noexcept override { return error.message.c_str(); }
};

template <class T>
using result = boost::system::result<T, api_error>;

// {"result": "error", "error": {"type", "message", "details"}} plus, when given, the audit
// family's "meta" object.
boost::json::object error_object(const api_error& error);
std::string error_body(const api_error& error);

}  // namespace audex
