// Session content over HTTP: ingestion (POST /api/v2/session/<id>/content), content search
// (GET /api/audit/sessions/<id>/content), events and alerts (GET /api/audit/sessions/<id>/events,
// /alerts).
#include "api/app.hpp"
#include "api/params.hpp"
#include "api/request.hpp"
#include "core/json_text.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/serialize.hpp>

#include <tuple>

namespace audex::api {

namespace json = boost::json;

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

std::string iso(micros t) {
    return format_iso_time(t, 6, false);
}

// A content search ranks a session's hits and keeps the best offset + limit of them: a deep
// offset would have it hold and order that many. The session search caps its offset alike.
constexpr std::size_t max_content_limit = 10000, max_content_offset = 10000;

// The page a session's listing (events, alerts) asks for: {limit, offset}. Operators and above.
std::pair<std::size_t, std::size_t> listing_page(const request_context& ctx,
                                                 std::string_view what) {
    if (!auth::can(ctx.who().role, auth::capability::read))
        fail({error_type::forbidden,
              "listing " + std::string(what) + " needs the operator role",
              {}});
    only_params(ctx, {"limit", "offset"});
    return {count_param(ctx, "limit", 500, 10000), count_param(ctx, "offset", 0, 1000000)};
}

// A listing's answer: one page of items, `total` in all, with the page links.
http::reply listing_reply(request_context& ctx, json::array items, std::size_t total,
                          std::size_t limit, std::size_t offset) {
    auto meta = audit_meta(ctx);
    page_links(meta, ctx.path, total, limit, offset);
    ctx.items = items.size();
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", std::move(meta)}});
}

}  // namespace

json::object app::session_for(const store::transaction& txn, const request_context& ctx) const {
    auto key = ctx.path_params.at(0);
    auto id = parse_id(key);
    auto s = id ? domain_.partitions.get(txn, *id) : std::nullopt;
    bool visible = s && !(s->contains("removed") && s->at("removed") == true);
    // A session outside the caller's scope does not exist for it.
    if (auto scope = audit::scope_query(ctx.who()); visible && scope) {
        auto v = domain_.search.view(txn, *id, now_micros());
        visible = v && audit::in_scope(*scope, *v);
    }
    if (!visible) fail(api_error::not_found("no session " + std::string(key)));
    return *s;
}

http::net::awaitable<http::reply> app::ingest_content(request_context& ctx) {
    if (!ctx.params.empty())
        fail(api_error::invalid_argument(ctx.params[0].first, "unknown parameter"));
    auto key = ctx.path_params.at(0);
    auto id = parse_id(key);
    if (!id) fail(api_error::not_found("no session " + std::string(key)));
    // Parsed and matched against the content policies on a recorders' worker, so that requests
    // do that side by side and auditors' searches do not hold them up; the writer only stores. The
    // job holds what it uses: it may outlive this coroutine when the server stops. (Awaited work is
    // a named local: GCC 12 destroys a non-trivial temporary of a co_await expression twice.)
    std::shared_ptr<const object_api::session_content> content;
    const std::function<void()> prepare = [&] {
        // A policy write whose refresh failed after its commit (after_write) is in force all the
        // same.
        domain_.policies.refresh();
        content = std::make_shared<const object_api::session_content>(
            domain_.api.prepare_content(ctx.who(), *id, ctx.req.body(), ctx.ndjson));
    };
    co_await on_workers(ingest_workers_, prepare, ctx.deadline);
    auto answer = std::make_shared<std::string>();
    // The records commit in their session's partition, then the activity entry in the catalog: a
    // recorder is answered once both are durable.
    const store::group_writer::job job = [this, content, answer](store::transaction& txn) {
        *answer = to_json_text(domain_.api.append_content(txn, *content));
    };
    co_await write_grouped(job, &content->partition->env);
    ctx.items = content->records.size();
    auto entry = std::make_shared<const activity::entry>(*activity_entry(ctx, 200));
    const store::group_writer::job recorded = [this, entry](store::transaction& txn) {
        activity_.append(txn, std::span(entry.get(), 1));
    };
    co_await write_grouped(recorded);
    ctx.on_record = true;
    try {
        merge_content();
    } catch (const std::exception& e) {
        // The records are committed: an error answer would make the recorder send them again.
        // The next ingest or the next start merges.
        spdlog::error("after ingesting content, scheduling a merge failed: {}", e.what());
    }
    co_return json_text_reply(200, std::move(*answer));
}

http::reply app::audit_content(request_context& ctx) {
    if (!auth::can(ctx.who().role, auth::capability::read))
        fail({error_type::forbidden, "searching content needs the operator role", {}});
    only_params(ctx, {"q", "limit", "offset"});
    auto limit = count_param(ctx, "limit", 500, max_content_limit),
         offset = count_param(ctx, "offset", 0, max_content_offset);
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
    auto session = session_for(txn, ctx);
    if (first != std::string::npos) {
        auto parsed = query::parse(q);
        if (auto* e = std::get_if<query::parse_error>(&parsed))
            fail({error_type::invalid_query_value,
                  "q: " + e->message,
                  {{"field", "q"}, {"position", e->position}}});
        auto hits = domain_.partitions.search(txn, *parse_id(ctx.path_params.at(0)),
                                              std::get<query::node>(parsed), offset + limit);
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
    ctx.items = items.size();
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", audit_meta(ctx)}});
}

http::reply app::audit_events(request_context& ctx) {
    // Not a structured binding: the lambda below uses them, which clang 14 (the fuzzing build)
    // does not allow for bindings.
    std::size_t limit, offset;
    std::tie(limit, offset) = listing_page(ctx, "events");
    json::array items;
    std::size_t total = 0;
    auto txn = env_.read();
    session_for(txn, ctx);
    auto at = domain_.partitions.locate(txn, *parse_id(ctx.path_params.at(0)));
    at->partition->contents.content.scan_session(
        at->txn, *parse_id(ctx.path_params.at(0)),
        [&](std::uint32_t, const index::content_record& r) {
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
    return listing_reply(ctx, std::move(items), total, limit, offset);
}

http::reply app::audit_alerts(request_context& ctx) {
    auto [limit, offset] = listing_page(ctx, "alerts");
    json::array items;
    auto txn = env_.read();
    session_for(txn, ctx);
    auto at = domain_.partitions.locate(txn, *parse_id(ctx.path_params.at(0)));
    auto total = at->partition->contents.alerts.page(
        at->txn, *parse_id(ctx.path_params.at(0)), offset, limit, [&](const ingest::alert& a) {
            items.push_back(json::object{
                {"psm.alerts.alert_type", ingest::alert_type_name(a.type)},
                {"psm.alerts.channel_id", std::to_string(a.channel)},
                {"psm.alerts.matched_content", a.matched_content},
                {"psm.alerts.matched_regexp", a.matched_regexp},
                {"psm.alerts.record_id", a.record_id ? json::value(*a.record_id) : nullptr},
                {"psm.alerts.rule_name", a.rule_name},
                {"psm.alerts.time", iso(a.time)}});
        });
    return listing_reply(ctx, std::move(items), total, limit, offset);
}

}  // namespace audex::api
