// The answers' JSON writer (see json_text.hpp).
#include "core/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace audex {

namespace json = boost::json;

void append_json_text(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::double_: {
            double d = v.get_double();
            if (!std::isfinite(d)) {
                out += "null";
                return;
            }
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
            out.append(buf, end);
            return;
        }
        case json::kind::object: {
            out += '{';
            bool first = true;
            for (auto& [key, value] : v.get_object()) {
                if (!first) out += ',';
                first = false;
                out += json::serialize(json::string_view(key));
                out += ':';
                append_json_text(out, value);
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (auto& value : v.get_array()) {
                if (!first) out += ',';
                first = false;
                append_json_text(out, value);
            }
            out += ']';
            return;
        }
        default:
            out += json::serialize(v);
    }
}

std::string to_json_text(const json::value& v) {
    std::string out;
    append_json_text(out, v);
    return out;
}

}  // namespace audex
