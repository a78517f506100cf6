// The selection parameters shared by the audit session routes (see routes.hpp).
#include "api/audit/routes.hpp"

#include "api/params.hpp"

namespace audex::api::audit {

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

// A query parameter parsed by the one query parser; nullopt when missing or blank.
std::optional<query::node> query_param(const request_context& ctx, std::string_view name) {
    auto text = param(ctx, name);
    if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
    auto parsed = query::parse(*text);
    if (auto* e = std::get_if<query::parse_error>(&parsed))
        fail({error_type::invalid_query_value,
              std::string(name) + ": " + e->message,
              {{"field", name}, {"position", e->position}}});
    return std::get<query::node>(std::move(parsed));
}

}  // namespace

void require_read(const request_context& ctx) {
    if (!auth::can(ctx.who().role, auth::capability::read))
        fail({error_type::forbidden, "searching sessions needs the operator role", {}});
}

std::optional<session_query> q_param(const request_context& ctx) {
    auto q = within_scope(ctx.who(), query_param(ctx, "q"));
    if (!q) return std::nullopt;
    auto compiled = session_query::compile(std::move(*q));
    if (!compiled) fail(compiled.error());
    return std::move(*compiled);
}

std::optional<micros> time_param(const request_context& ctx, std::string_view name) {
    auto text = param(ctx, name);
    if (!text) return std::nullopt;
    auto t = parse_time(*text);
    if (!t)
        fail({error_type::invalid_query_value,
              std::string(name) + " must be an ISO 8601 date or date-time, e.g. 2017-01-25T10:00",
              {{"field", name}}});
    return t->at;
}

session_selection selection_params(const request_context& ctx) {
    session_selection s;
    s.q = q_param(ctx);
    s.start = time_param(ctx, "start");
    s.end = time_param(ctx, "end");
    if (s.start && s.end && *s.start > *s.end)
        fail(api_error::invalid_argument("end", "end is before start"));
    s.content = query_param(ctx, "content");
    return s;
}

}  // namespace audex::api::audit
