// Loading of the model schemas and the one validator that turns client input into stored values.
#include "core/schema.hpp"

#include "core/embedded_schemas.hpp"
#include "core/time.hpp"

#include <arpa/inet.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>

namespace audex {

namespace json = boost::json;

namespace {

std::string_view str(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string_view(it->value().get_string())
                                                    : std::string_view();
}

bool flag(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_bool() && it->value().get_bool();
}

attribute_kind kind_of(const json::object& spec) {
    auto type = str(spec, "type");
    auto format = str(spec, "format");
    if (type == "string") {
        if (format == "id") return attribute_kind::id;
        if (format == "ip") return attribute_kind::ip;
        if (format == "date-time") return attribute_kind::datetime;
        return attribute_kind::string;
    }
    if (type == "integer") return attribute_kind::integer;
    if (type == "number") return attribute_kind::number;
    if (type == "boolean") return attribute_kind::boolean;
    if (type == "object") return attribute_kind::object;
    return attribute_kind::array;
}

struct registry {
    std::vector<json::value> documents;  // owns the specs the models point into
    std::map<std::string, model, std::less<>> models;

    registry() {
        const auto& files = embedded_schemas();
        documents.reserve(files.size());
        for (auto& [stem, text] : files) {
            if (stem == "errors") continue;
            auto& doc = documents.emplace_back(json::parse(text)).as_object();
            model m{std::string(stem), {}, &doc};
            std::vector<std::string> required;
            if (auto it = doc.find("required"); it != doc.end())
                for (auto& r : it->value().as_array())
                    required.emplace_back(r.as_string());
            for (auto& [name, spec_value] : doc.at("properties").as_object()) {
                auto& spec = spec_value.as_object();
                attribute a;
                a.name = name;
                a.kind = kind_of(spec);
                a.readonly = flag(spec, "readonly");
                a.required = std::find(required.begin(), required.end(), a.name) != required.end();
                a.unique = flag(spec, "unique");
                a.ignore_case = flag(spec, "ignore_case");
                a.expensive = flag(spec, "expensive");
                a.is_protected = flag(spec, "protected");
                a.references = str(spec, "references");
                a.spec = &spec;
                m.attributes.push_back(std::move(a));
            }
            models.emplace(m.name, std::move(m));
        }
    }
};

const registry& the_registry() {
    static const registry r;
    return r;
}

api_error bad(std::string_view path, std::string message) {
    return api_error::invalid_argument(path, std::string(path) + ": " + message);
}

bool valid_ip(std::string_view text) {
    char buf[64];
    if (text.size() >= sizeof buf) return false;
    text.copy(buf, text.size());
    buf[text.size()] = 0;
    unsigned char out[16];
    return inet_pton(AF_INET, buf, out) == 1 || inet_pton(AF_INET6, buf, out) == 1;
}

bool valid_id(std::string_view text) {
    if (text.empty() || text.size() > 20) return false;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    return text.size() < 20 || text <= "18446744073709551615";
}

std::optional<double> number_of(const json::value& v) {
    if (v.is_int64()) return double(v.get_int64());
    if (v.is_uint64()) return double(v.get_uint64());
    if (v.is_double()) return v.get_double();
    return std::nullopt;
}

// Validates `input` against `spec` and converts it; `path` is the dotted attribute path.
result<json::value> convert(const json::object& spec, const json::value& input,
                            const std::string& path) {
    if (input.is_null()) return json::value(nullptr);
    auto type = str(spec, "type");
    auto format = str(spec, "format");
    json::value out;
    if (type == "string") {
        if (!input.is_string()) return bad(path, "must be a string");
        std::string_view s = input.get_string();
        if (format == "date-time") {
            auto t = parse_time(s);
            if (!t) return bad(path, "must be a date-time such as 2022-04-05 16:06:07.313862+02");
            return json::value(t->at);
        }
        if (format == "id" && !valid_id(s)) return bad(path, "must be an id of decimal digits");
        if (format == "ip" && !valid_ip(s)) return bad(path, "must be an IPv4 or IPv6 address");
        if (auto it = spec.find("minLength");
            it != spec.end() && s.size() < it->value().to_number<std::size_t>())
            return bad(path, "is too short");
        if (auto it = spec.find("maxLength");
            it != spec.end() && s.size() > it->value().to_number<std::size_t>())
            return bad(path, "is too long");
        out = input;
    } else if (type == "integer" || type == "number") {
        auto n = number_of(input);
        if (!n || !std::isfinite(*n)) return bad(path, "must be a number");
        if (type == "integer") {
            if (input.is_double() && *n != std::floor(*n)) return bad(path, "must be an integer");
            if (*n < -9.2e18 || *n > 9.2e18) return bad(path, "is out of range");
            out = input.is_double() ? json::value(std::int64_t(*n)) : input;
        } else {
            out = input.is_double() ? json::value(*n) : input;
        }
        if (auto it = spec.find("minimum");
            it != spec.end() && *n < it->value().to_number<double>())
            return bad(path, "is below the minimum");
        if (auto it = spec.find("maximum");
            it != spec.end() && *n > it->value().to_number<double>())
            return bad(path, "is above the maximum");
    } else if (type == "boolean") {
        if (!input.is_bool()) return bad(path, "must be true or false");
        out = input;
    } else if (type == "object") {
        if (!input.is_object()) return bad(path, "must be an object");
        json::object result;
        auto& props = spec.at("properties").as_object();
        for (auto& [key, value] : input.get_object()) {
            std::string sub = path + "." + std::string(key);
            auto it = props.find(key);
            if (it == props.end()) return bad(sub, "is not a known attribute");
            auto converted = convert(it->value().as_object(), value, sub);
            if (!converted) return converted.error();
            if (!converted->is_null()) result[key] = std::move(*converted);
        }
        if (auto it = spec.find("required"); it != spec.end())
            for (auto& r : it->value().as_array())
                if (!result.contains(r.as_string()))
                    return bad(path + "." + std::string(r.as_string()), "is required");
        out = std::move(result);
    } else if (type == "array") {
        if (!input.is_array()) return bad(path, "must be an array");
        json::array result;
        auto& items = spec.at("items").as_object();
        std::size_t i = 0;
        for (auto& element : input.get_array()) {
            auto converted = convert(items, element, path + "." + std::to_string(i++));
            if (!converted) return converted.error();
            result.push_back(std::move(*converted));
        }
        out = std::move(result);
    }
    if (auto it = spec.find("enum"); it != spec.end()) {
        auto& allowed = it->value().as_array();
        if (std::find(allowed.begin(), allowed.end(), out) == allowed.end())
            return bad(path, "must be one of " + json::serialize(allowed));
    }
    return out;
}

json::value render(const json::object& spec, const json::value& stored) {
    auto type = str(spec, "type");
    if (type == "string" && str(spec, "format") == "date-time" && stored.is_int64())
        return json::value(format_api_time(stored.get_int64()));
    if (type == "object" && stored.is_object()) {
        json::object out;
        auto& props = spec.at("properties").as_object();
        for (auto& [key, value] : stored.get_object())
            if (auto it = props.find(key); it != props.end())
                out[key] = render(it->value().as_object(), value);
        return out;
    }
    return stored;
}

}  // namespace

const attribute* model::find(std::string_view name) const {
    for (auto& a : attributes)
        if (a.name == name) return &a;
    return nullptr;
}

const model* find_model(std::string_view name) {
    auto& m = the_registry().models;
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
}

const std::map<std::string, model, std::less<>>& models() {
    return the_registry().models;
}

json::object objspec(const model& m) {
    json::object out;
    for (auto& a : m.attributes) {
        json::object entry;
        for (auto& [key, value] : *a.spec)
            if (key != "references") entry[key] = value;
        if (a.required) entry["required"] = true;
        out[a.name] = std::move(entry);
    }
    return out;
}

result<json::value> to_stored(const attribute& a, const json::value& input, std::string_view path) {
    return convert(*a.spec, input, std::string(path));
}

json::value to_output(const attribute& a, const json::value& stored) {
    return render(*a.spec, stored);
}

}  // namespace audex
