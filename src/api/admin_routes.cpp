// The routes of admins' views of the store: GET /api/audit/activity, the activity log filtered by
// user, action and time and paged like a session's alerts, and GET /api/system/storage, the
// partitions, with the sealing of one.
#include "api/app.hpp"
#include "api/audit/routes.hpp"
#include "api/params.hpp"

namespace audex::api {

namespace json = boost::json;

http::reply app::audit_activity(request_context& ctx) {
    if (!auth::can(ctx.who().role, auth::capability::manage))
        throw api_exception({error_type::forbidden, "the activity log is for admins", {}});
    only_params(ctx, {"user", "action", "start", "end", "limit", "offset"});
    activity::filter f;
    if (auto user = param(ctx, "user")) f.user = *user;
    if (auto action = param(ctx, "action")) {
        const auto& actions = activity::actions;
        if (std::find(std::begin(actions), std::end(actions), *action) == std::end(actions))
            throw api_exception(api_error::invalid_argument(
                "action", "action is one of read, export, change, login, login_failure, logout"));
        f.action = *action;
    }
    f.start = audit::time_param(ctx, "start");
    f.end = audit::time_param(ctx, "end");
    auto limit = count_param(ctx, "limit", 500, 10000);
    auto offset = count_param(ctx, "offset", 0, 1000000);
    auto txn = env_.read();
    auto [entries, total] = activity_.list(txn, f, limit, offset);
    json::array items;
    for (auto& e : entries)
        items.push_back(std::move(e));
    ctx.items = items.size();
    auto meta = audit_meta(ctx);
    page_links(meta, page_base(ctx), total, limit, offset);
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", std::move(meta)}});
}

http::reply app::storage(request_context& ctx) {
    if (!auth::can(ctx.who().role, auth::capability::manage))
        throw api_exception({error_type::forbidden, "the storage report is for admins", {}});
    only_params(ctx, {});
    auto report = domain_.storage();
    ctx.items = report.at("items").as_array().size();
    report["meta"].as_object()["href"] = ctx.path;
    return json_reply(200, report);
}

http::net::awaitable<http::reply> app::seal(request_context& ctx) {
    const bool sealing = ctx.path.ends_with("/seal");
    // Opening a sealed partition again lets its records change: a superadmin's call, as lifting
    // a legal hold is.
    if (!auth::can(ctx.who().role, auth::capability::manage) ||
        (!sealing && ctx.who().role != auth::role::superadmin))
        throw api_exception({error_type::forbidden,
                             sealing ? "sealing a partition is for admins"
                                     : "only a superadmin may unseal a partition",
                             {}});
    only_params(ctx, {});
    auto name = ctx.path_params.at(0);
    result<void> done;
    // On a worker: sealing reads every session of the month.
    const std::function<void()> work = [&] {
        auto grace = std::chrono::duration_cast<std::chrono::microseconds>(settings_.content_grace);
        done = sealing ? domain_.partitions.seal(name, now_micros(), grace.count())
                       : domain_.partitions.unseal(name);
    };
    co_await on_workers(workers_, work, std::nullopt);
    if (!done) throw api_exception(done.error());
    ctx.items = 1;
    co_return json_reply(200, json::object{{"result", "success"}});
}

}  // namespace audex::api
