// Reading a scenario file: every member is checked, and an unknown one is an error, so that a
// typing mistake in a load test is reported instead of silently testing something else.
#include "load/scenario.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>

namespace audex::load {

namespace json = boost::json;

namespace {

constexpr std::array kinds{
    std::pair{request_kind::login, std::string_view("login")},
    std::pair{request_kind::search, std::string_view("search")},
    std::pair{request_kind::content_search, std::string_view("content_search")},
    std::pair{request_kind::stats, std::string_view("stats")},
    std::pair{request_kind::histogram, std::string_view("histogram")},
    std::pair{request_kind::get, std::string_view("get")},
    std::pair{request_kind::list, std::string_view("list")},
    std::pair{request_kind::ingest, std::string_view("ingest")},
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw scenario_error(where + ": " + what);
}

void only_members(const json::object& o, const std::string& where,
                  std::initializer_list<std::string_view> allowed) {
    for (const auto& m : o)
        if (std::find(allowed.begin(), allowed.end(), m.key()) == allowed.end())
            fail(where + "." + std::string(m.key()), "unknown member");
}

std::string text(const json::value& v, const std::string& where) {
    if (!v.is_string()) fail(where, "must be a string");
    return std::string(v.get_string());
}

double number(const json::value& v, const std::string& where, double low, double high) {
    if (!v.is_number()) fail(where, "must be a number");
    double d = v.to_number<double>();
    if (!(d >= low && d <= high))
        fail(where, "must be between " + json::serialize(json::value(low)) + " and " +
                        json::serialize(json::value(high)));
    return d;
}

unsigned whole(const json::value& v, const std::string& where, unsigned low, unsigned high) {
    double d = number(v, where, low, high);
    if (d != std::floor(d)) fail(where, "must be a whole number");
    return static_cast<unsigned>(d);
}

mix_entry parse_entry(const json::value& v, const std::string& where) {
    if (!v.is_object()) fail(where, "must be an object");
    const auto& o = v.get_object();
    only_members(o, where, {"kind", "name", "weight", "params", "records"});
    mix_entry e;
    const auto* kind = o.if_contains("kind");
    if (!kind) fail(where + ".kind", "missing");
    auto k = text(*kind, where + ".kind");
    auto found = std::find_if(kinds.begin(), kinds.end(), [&](auto& p) { return p.second == k; });
    if (found == kinds.end()) fail(where + ".kind", "unknown kind \"" + k + "\"");
    e.kind = found->first;
    e.name = k;
    if (const auto* n = o.if_contains("name")) {
        e.name = text(*n, where + ".name");
        if (e.name.empty()) fail(where + ".name", "must not be empty");
    }
    if (const auto* w = o.if_contains("weight")) e.weight = number(*w, where + ".weight", 0, 1e9);
    if (const auto* p = o.if_contains("params")) {
        if (!p->is_object()) fail(where + ".params", "must be an object");
        if (e.kind == request_kind::login || e.kind == request_kind::get ||
            e.kind == request_kind::ingest)
            fail(where + ".params", "a " + k + " request takes no parameters");
        for (const auto& m : p->get_object()) {
            auto at = where + ".params." + std::string(m.key());
            if (m.value().is_string())
                e.params.emplace_back(m.key(), m.value().get_string());
            else if (m.value().is_number() || m.value().is_bool())
                e.params.emplace_back(m.key(), json::serialize(m.value()));
            else
                fail(at, "must be a string, a number or a boolean");
        }
    }
    if (const auto* r = o.if_contains("records")) {
        if (e.kind != request_kind::ingest) fail(where + ".records", "only for ingest requests");
        e.records = whole(*r, where + ".records", 1, 100000);
    }
    return e;
}

}  // namespace

std::string_view kind_name(request_kind kind) {
    return std::find_if(kinds.begin(), kinds.end(), [&](auto& p) { return p.first == kind; })
        ->second;
}

std::size_t scenario::pick(double u) const {
    double total = 0;
    for (const auto& e : mix)
        total += e.weight;
    double at = u * total;
    for (std::size_t i = 0; i < mix.size(); ++i) {
        if (at < mix[i].weight) return i;
        at -= mix[i].weight;
    }
    // Rounding left u * total at or past the sum: the last entry that can be drawn.
    for (std::size_t i = mix.size(); i-- > 0;)
        if (mix[i].weight > 0) return i;
    return 0;
}

scenario parse_scenario(std::string_view json_text) {
    boost::system::error_code ec;
    auto doc = json::parse(json_text, ec);
    if (ec) throw scenario_error("not valid JSON: " + ec.message());
    if (!doc.is_object()) fail("scenario", "must be a JSON object");
    const auto& o = doc.get_object();
    only_members(o, "scenario",
                 {"url", "username", "password", "token", "connections", "duration", "rate",
                  "timeout", "interval", "prepare", "session_ids", "requests"});
    scenario s;
    if (const auto* v = o.if_contains("url")) s.url = text(*v, "url");
    if (const auto* v = o.if_contains("username")) s.username = text(*v, "username");
    if (const auto* v = o.if_contains("password")) s.password = text(*v, "password");
    if (const auto* v = o.if_contains("token")) s.token = text(*v, "token");
    if (const auto* v = o.if_contains("connections"))
        s.connections = whole(*v, "connections", 1, 10000);
    if (const auto* v = o.if_contains("duration")) s.duration = number(*v, "duration", 0.001, 1e7);
    if (const auto* v = o.if_contains("rate")) s.rate = number(*v, "rate", 0, 1e7);
    if (const auto* v = o.if_contains("timeout")) s.timeout = number(*v, "timeout", 0.001, 3600);
    if (const auto* v = o.if_contains("interval")) s.interval = number(*v, "interval", 0, 1e7);
    if (const auto* v = o.if_contains("prepare")) {
        if (!v->is_object()) fail("prepare", "must be an object");
        only_members(v->get_object(), "prepare", {"sessions", "records"});
        if (const auto* n = v->get_object().if_contains("sessions"))
            s.prepare_sessions = whole(*n, "prepare.sessions", 0, 10000000);
        if (const auto* n = v->get_object().if_contains("records"))
            s.prepare_records = whole(*n, "prepare.records", 0, 10000000);
    }
    if (const auto* v = o.if_contains("session_ids")) {
        if (!v->is_array()) fail("session_ids", "must be an array of ids");
        for (std::size_t i = 0; i < v->get_array().size(); ++i)
            s.session_ids.push_back(
                text(v->get_array()[i], "session_ids[" + std::to_string(i) + "]"));
    }
    const auto* requests = o.if_contains("requests");
    if (!requests) fail("requests", "missing");
    if (!requests->is_array() || requests->get_array().empty())
        fail("requests", "must be a non-empty array");
    for (std::size_t i = 0; i < requests->get_array().size(); ++i) {
        auto where = "requests[" + std::to_string(i) + "]";
        auto e = parse_entry(requests->get_array()[i], where);
        for (const auto& other : s.mix)
            if (other.name == e.name)
                fail(where + ".name",
                     "\"" + e.name + "\" is taken by an earlier entry: give each a name");
        s.mix.push_back(std::move(e));
    }
    double total = 0;
    for (const auto& e : s.mix)
        total += e.weight;
    if (total <= 0) fail("requests", "the weights add up to 0");
    return s;
}

}  // namespace audex::load
