// The error catalogue: names and statuses of the error types, and their JSON rendering.
#include "audex/error.hpp"

#include <boost/json/serialize.hpp>

namespace audex {

namespace {
struct catalogue_entry {
    std::string_view name;
    unsigned status;
};

constexpr catalogue_entry catalogue[] = {
    {"InvalidQueryValue", 400},
    {"InvalidArgument", 400},
    {"MalformedBody", 400},
    {"TooMuchBucketsInResult", 400},
    {"NotSupportedContentOption", 400},
    {"Unauthenticated", 401},
    {"AuthenticationFailure", 401},
    {"Forbidden", 403},
    {"NotFound", 404},
    {"MethodNotAllowed", 405},
    {"Conflict", 409},
    {"PayloadTooLarge", 413},
    {"UnsupportedMediaType", 415},
    {"TooManyRequests", 429},
    {"InternalError", 500},
    {"SearchUnavailable", 503},
};
}  // namespace

std::string_view error_type_name(error_type type) {
    return catalogue[static_cast<std::size_t>(type)].name;
}

unsigned error_status(error_type type) {
    return catalogue[static_cast<std::size_t>(type)].status;
}

api_error api_error::invalid_argument(std::string_view field, std::string message) {
    return {error_type::invalid_argument, std::move(message), {{"field", field}}};
}

api_error api_error::not_found(std::string message) {
    return {error_type::not_found, std::move(message), {}};
}

api_error api_error::conflict(std::string message) {
    return {error_type::conflict, std::move(message), {}};
}

boost::json::object error_object(const api_error& error) {
    return {{"result", "error"},
            {"error",
             {{"type", error_type_name(error.type)},
              {"message", error.message},
              {"details", error.details}}}};
}

std::string error_body(const api_error& error) {
    return boost::json::serialize(error_object(error));
}

}  // namespace audex
