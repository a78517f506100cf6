// Session content over HTTP: ingestion (POST /api/v2/session/<id>/content), content search
// (GET /api/audit/sessions/<id>/content) and events (GET /api/audit/sessions/<id>/events).
#include "api/app.hpp"
#include "api/request.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>

namespace audex::api {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

std::string iso(micros t) {
    return format_iso_time(t, 6, false);
}

std::size_t count_param(const request_context& ctx, std::string_view name, std::size_t fallback,
                        std::size_t max) {
    for (auto& [key, value] : ctx.params) {
        if (key != name) continue;
        std::size_t v = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || end != value.data() + value.size() || v > max ||
            (name == "limit" && v == 0))
            fail(api_error::invalid_argument(
                name, std::string(name) + " must be a whole number up to " + std::to_string(max)));
        return v;
    }
    return fallback;
}

void only_params(const request_context& ctx, std::initializer_list<std::string_view> allowed) {
    for (auto& [key, value] : ctx.params)
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            fail(api_error::invalid_argument(key, "unknown parameter '" + key + "'"));
}

// Adds the paging links of the seed's alerts listing to `meta`.
void page_links(json::object& meta, const std::string& href, std::size_t total, std::size_t limit,
                std::size_t offset) {
    auto link = [&](std::size_t at) {
        return json::value(href + "?limit=" + std::to_string(limit) +
                           "&offset=" + std::to_string(at));
    };
    meta["first"] = link(0);
    meta["last"] = link(total == 0 ? 0 : (total - 1) / limit * limit);
    meta["next"] = offset + limit < total ? link(offset + limit) : json::value(nullptr);
    meta["previous"] =
        offset > 0 ? link(offset > limit ? offset - limit : 0) : json::value(nullptr);
    meta["limit"] = limit;
    meta["offset"] = offset;
}

}  // namespace

json::object app::session_for(const store::transaction& txn, std::string_view key) const {
    auto id = parse_id(key);
    auto s = id ? objects_.get(txn, *find_model("session"), *id) : std::nullopt;
    if (!s || (s->contains("removed") && s->at("removed") == true))
        fail(api_error::not_found("no session " + std::string(key)));
    return *s;
}

http::reply app::ingest_content(request_context& ctx) {
    call c{verb::post,
           {"session", std::string(ctx.path_params.at(0)), "content"},
           std::move(ctx.params),
           {}};
    if (ctx.ndjson) {
        json::array records;
        std::string_view body = ctx.req.body();
        std::size_t line = 0;
        while (!body.empty()) {
            ++line;
            auto end = body.find('\n');
            auto text = body.substr(0, end);
            body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
            if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
            try {
                records.push_back(parse_json(text));
            } catch (api_exception& e) {
                e.error.details["line"] = line;
                throw;
            }
        }
        c.body = std::move(records);
    } else {
        c.body = parse_json_body(ctx.req);
    }
    auto answer =
        env_.write([&](store::transaction& txn) { return objects_api_.execute(txn, *ctx.who, c); });
    return json_reply(200, answer);
}

http::reply app::audit_content(request_context& ctx) {
    if (!auth::can(ctx.who->role, auth::capability::read))
        fail({error_type::forbidden, "searching content needs the operator role", {}});
    only_params(ctx, {"q", "limit", "offset"});
    auto limit = count_param(ctx, "limit", 500, 10000),
         offset = count_param(ctx, "offset", 0, 1000000);
    std::string q;
    for (auto& [key, value] : ctx.params)
        if (key == "q") q = value;
    json::array items;
    auto first = q.find_first_not_of(" \t");
    if (first != std::string::npos && q[first] == '*')
        fail({error_type::invalid_query_value,
              "q must not begin with the * wildcard",
              {{"field", "q"}, {"position", first}}});
    auto txn = env_.read();
    auto session = session_for(txn, ctx.path_params.at(0));
    if (first != std::string::npos) {
        auto parsed = query::parse(q);
        if (auto* e = std::get_if<query::parse_error>(&parsed))
            fail({error_type::invalid_query_value,
                  "q: " + e->message,
                  {{"field", "q"}, {"position", e->position}}});
        auto hits =
            content_.search(txn, std::get<query::node>(parsed), *parse_id(ctx.path_params.at(0)));
        if (!hits) fail(hits.error());
        auto trail = std::to_string(session.at("_trail").to_number<std::int64_t>());
        for (std::size_t i = offset; i < hits->size() && i < offset + limit; ++i) {
            auto& h = (*hits)[i];
            items.push_back(json::object{{"psm.channel.id", h.record.channel},
                                         {"end_time", iso(h.record.end)},
                                         {"rank", h.rank},
                                         {"record_id", h.record.record_id},
                                         {"start_time", iso(h.record.start)},
                                         {"trail_id", trail}});
        }
    }
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", audit_meta(ctx)}});
}

http::reply app::audit_events(request_context& ctx) {
    if (!auth::can(ctx.who->role, auth::capability::read))
        fail({error_type::forbidden, "listing events needs the operator role", {}});
    only_params(ctx, {"limit", "offset"});
    auto limit = count_param(ctx, "limit", 500, 10000),
         offset = count_param(ctx, "offset", 0, 1000000);
    auto txn = env_.read();
    session_for(txn, ctx.path_params.at(0));
    json::array items;
    std::size_t total = 0;
    content_.scan_session(
        txn, *parse_id(ctx.path_params.at(0)), [&](std::uint32_t, const index::content_record& r) {
            if (r.type == "screen") return true;
            if (total >= offset && total < offset + limit) {
                auto begin = r.record_id.find("begin");
                items.push_back(json::object{
                    {"psm.channels.id", r.channel},
                    {"psm.events.content", r.text},
                    {"psm.events.record_id",
                     begin == r.record_id.end() ? json::value(nullptr) : begin->value()},
                    {"psm.events.time", iso(r.start)},
                    {"psm.events.type",
                     r.type == "command" ? "adp.event.command" : "adp.event.screen.windowtitle"}});
            }
            ++total;
            return true;
        });
    auto meta = audit_meta(ctx);
    page_links(meta, ctx.path, total, limit, offset);
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", std::move(meta)}});
}

}  // namespace audex::api
