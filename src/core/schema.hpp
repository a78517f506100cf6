// The models of the object API, read from the JSON Schemas in schemas/ (built into the binary):
// attribute names, types and flags, input validation into the stored form, and output rendering.
#pragma once

#include "audex/error.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace audex {

enum class attribute_kind { id, string, ip, datetime, integer, number, boolean, object, array };

struct attribute {
    std::string name;
    attribute_kind kind = attribute_kind::string;
    bool readonly = false, required = false, unique = false, ignore_case = false;
    bool expensive = false, is_protected = false;
    std::string references;  // model an id attribute points at
    const boost::json::object* spec =
        nullptr;  // the attribute's schema, for validation and objspec
};

struct model {
    std::string name;
    std::vector<attribute> attributes;
    const boost::json::object* spec;

    const attribute* find(std::string_view name) const;
};

// The model named `name` (session, user, ...), or nullptr.
const model* find_model(std::string_view name);
// Every model, in name order.
const std::map<std::string, model, std::less<>>& models();

// The objspec of a model: {"<attr>": {"type": ..., "readonly": true, ...}, ...}.
boost::json::object objspec(const model& m);

// Checks a client-supplied value against the attribute's schema and converts it to the stored form
// (date-times become integer microseconds, ids stay decimal strings). `path` names the attribute
// in errors (details.field). Null is returned as null (the attribute is unset).
result<boost::json::value> to_stored(const attribute& a, const boost::json::value& input,
                                     std::string_view path);
// The stored form back to the API form (date-times as "2022-04-05 16:06:07.313862+00").
boost::json::value to_output(const attribute& a, const boost::json::value& stored);

}  // namespace audex
