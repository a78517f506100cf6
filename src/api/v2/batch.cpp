// The batch endpoint: parsing, {reference} substitution and nested transactions.
#include "api/v2/batch.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <boost/beast/core/string.hpp>

#include <map>

namespace audex::api {

namespace {

[[noreturn]] void fail(std::string_view field, std::string message) {
    throw api_exception(api_error::invalid_argument(field, std::move(message)));
}

struct batch_state {
    const json::object& variables;
    const std::set<std::string, std::less<>>& referenced;      // the request ids placeholders name
    std::map<std::string, json::object, std::less<>> answers;  // of those, by request id

    // The value a placeholder names: a variable, or a path into an earlier answer.
    json::value resolve(std::string_view name) const {
        if (auto it = variables.find(name); it != variables.end()) return it->value();
        auto dot = name.find('.');
        auto answer = answers.find(name.substr(0, dot));
        if (dot == std::string_view::npos || answer == answers.end())
            fail("requests", "unknown reference {" + std::string(name) + "}");
        const json::value* at = nullptr;
        json::value root = answer->second;
        at = &root;
        std::string_view rest = name.substr(dot + 1);
        while (!rest.empty()) {
            auto next = rest.find('.');
            auto part = rest.substr(0, next);
            if (at->is_object()) {
                auto it = at->get_object().find(part);
                at = it == at->get_object().end() ? nullptr : &it->value();
            } else if (at->is_array()) {
                auto index = parse_id(part);
                at = index && *index < at->get_array().size() ? &at->get_array()[*index] : nullptr;
            } else {
                at = nullptr;
            }
            if (!at) fail("requests", "reference {" + std::string(name) + "} names nothing");
            rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        }
        return *at;
    }

    json::value substitute(const json::value& v) const {
        if (v.is_object()) {
            json::object out;
            for (auto& [key, value] : v.get_object())
                out[key] = substitute(value);
            return out;
        }
        if (v.is_array()) {
            json::array out;
            for (auto& e : v.get_array())
                out.push_back(substitute(e));
            return out;
        }
        if (!v.is_string()) return v;
        std::string_view s = v.get_string();
        // A string that is one placeholder takes the referenced value with its type.
        if (s.size() > 2 && s.front() == '{' && s.back() == '}' &&
            s.find_first_of("{}", 1) == s.size() - 1)
            return resolve(s.substr(1, s.size() - 2));
        std::string out;
        std::size_t pos = 0;
        while (pos < s.size()) {
            auto open = s.find('{', pos);
            auto close = open == std::string_view::npos ? open : s.find('}', open);
            if (close == std::string_view::npos) {
                out += s.substr(pos);
                break;
            }
            out += s.substr(pos, open - pos);
            auto value = resolve(s.substr(open + 1, close - open - 1));
            out += value.is_string() ? std::string(value.get_string()) : json::serialize(value);
            pos = close + 1;
        }
        return json::value(out);
    }
};

// Calls `fn` with the name inside each {placeholder} of the strings in `v`.
template <class Fn>
void for_each_placeholder(const json::value& v, Fn&& fn) {
    if (auto* o = v.if_object()) {
        for (auto& [key, value] : *o)
            for_each_placeholder(value, fn);
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a)
            for_each_placeholder(e, fn);
    } else if (auto* s = v.if_string()) {
        std::string_view text = *s;
        for (auto open = text.find('{'); open != std::string_view::npos;
             open = text.find('{', open + 1)) {
            auto close = text.find('}', open);
            if (close == std::string_view::npos) break;
            fn(text.substr(open + 1, close - open - 1));
        }
    }
}

std::string to_text(const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

call to_call(const json::object& request) {
    call c;
    auto method = request.find("method");
    std::string name = method == request.end() ? "GET" : to_text(method->value());
    for (auto& ch : name)
        ch = char(std::toupper(static_cast<unsigned char>(ch)));
    c.method = boost::beast::http::string_to_verb(name);
    if (c.method != verb::get && c.method != verb::post && c.method != verb::patch &&
        c.method != verb::delete_)
        fail("method", "method must be GET, POST, PATCH or DELETE");
    auto endpoint = request.find("endpoint");
    if (endpoint == request.end() || !endpoint->value().is_string())
        fail("endpoint", "every request needs an endpoint");
    std::string target(endpoint->value().get_string());
    if (target.starts_with("/api/v2")) target.erase(0, 7);
    if (!target.starts_with("/")) target.insert(0, "/");
    auto url = boost::urls::parse_origin_form(target);
    if (!url) fail("endpoint", "malformed endpoint '" + target + "'");
    c.path = path_segments(url->path());
    for (auto p : url->params())
        c.params.emplace_back(p.key, p.value);
    if (auto params = request.find("params"); params != request.end()) {
        if (!params->value().is_object()) fail("params", "params must be an object");
        for (auto& [key, value] : params->value().get_object())
            c.params.emplace_back(key, to_text(value));
    }
    if (auto data = request.find("data"); data != request.end()) c.body = data->value();
    return c;
}

bool flag(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return false;
    if (!it->value().is_bool()) fail(key, std::string(key) + " must be true or false");
    return it->value().get_bool();
}

}  // namespace

batch_request::batch_request(json::value body, batch_limits limits)
    : body_(std::move(body)), limits_(limits) {
    if (!body_.is_object()) fail("body", "the batch body must be an object");
    auto& b = body_.get_object();
    for (auto& [key, value] : b)
        if (key != "atomic" && key != "variables" && key != "requests")
            fail(key, "unknown batch attribute '" + std::string(key) + "'");
    atomic_ = flag(b, "atomic");
    auto vars = b.find("variables");
    if (vars != b.end() && !vars->value().is_object())
        fail("variables", "variables must be an object");
    auto requests = b.find("requests");
    if (requests == b.end() || !requests->value().is_array())
        fail("requests", "requests must be an array");
    auto& list = requests->value().get_array();
    if (list.size() > limits_.max_requests) {
        auto e = api_error::invalid_argument("requests", "a batch holds at most " +
                                                             std::to_string(limits_.max_requests) +
                                                             " requests; split it");
        e.details["limit"] = limits_.max_requests;
        throw api_exception(std::move(e));
    }
    for (auto& r : list) {
        if (!r.is_object()) fail("requests", "every request must be an object");
        auto method = r.get_object().find("method");
        // A method that is a placeholder may turn out to write.
        writes_ = writes_ || (method != r.get_object().end() &&
                              !(method->value().is_string() &&
                                boost::beast::iequals(method->value().get_string(), "GET")));
        for_each_placeholder(
            r, [&](std::string_view name) { referenced_.emplace(name.substr(0, name.find('.'))); });
    }
}

json::object batch_request::run(object_api& api, store::transaction& txn,
                                const auth::principal& who) const {
    static const json::object no_variables;
    auto& b = body_.get_object();
    auto vars = b.find("variables");
    batch_state state{vars == b.end() ? no_variables : vars->value().get_object(), referenced_, {}};
    json::array responses;
    std::size_t index = 0, answer_bytes = 0;
    for (auto& r : b.at("requests").get_array()) {
        auto& request = r.get_object();
        auto id_value = request.find("id");
        std::string id =
            id_value == request.end() ? std::to_string(index) : to_text(id_value->value());
        ++index;
        json::object response{{"id", id}};
        try {
            auto c = to_call(state.substitute(request).get_object());
            std::string text;
            if (writes_)
                txn.nested([&](store::transaction& t) { text = api.execute(t, who, c); });
            else
                text = api.execute(txn, who, c);
            answer_bytes += text.size();
            auto answer = json::parse(text).as_object();
            response["result"] = "success";
            response["status"] = 200;
            for (auto& [key, value] : answer)
                if (key != "result") response[key] = value;
            if (referenced_.contains(id)) state.answers[id] = std::move(answer);
        } catch (api_exception& e) {
            if (atomic_ || flag(request, "atomic")) {
                e.error.details["request"] = id;
                e.error.message = "batch request '" + id + "' failed: " + e.error.message;
                throw;
            }
            response["result"] = "error";
            response["status"] = error_status(e.error.type);
            response["error"] = error_object(e.error).at("error");
        }
        if (answer_bytes > limits_.max_answer_bytes) {
            auto e = api_error::invalid_argument(
                "requests", "the batch's answers pass " + std::to_string(limits_.max_answer_bytes) +
                                " bytes at request '" + id + "'; split it or ask for less");
            e.details["limit"] = limits_.max_answer_bytes;
            e.details["request"] = id;
            throw api_exception(std::move(e));
        }
        responses.push_back(std::move(response));
    }
    return json::object{{"result", "success"}, {"responses", std::move(responses)}};
}

}  // namespace audex::api
