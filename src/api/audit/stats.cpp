// GET /api/audit/sessions/stats: the most frequent values of one field of the audit view among
// the selected sessions, and how many distinct values were left out.
#include "api/audit/routes.hpp"

#include "api/params.hpp"

namespace audex::api::audit {

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

constexpr std::size_t default_size = 10, max_size = 10000;

http::reply stats(app& a, const session_search& search, request_context& ctx) {
    require_read(ctx);
    only_params(ctx, {"field", "q", "size", "start", "end", "content"});
    auto name = param(ctx, "field");
    if (!name) fail(api_error::invalid_argument("field", "field is required, e.g. field=protocol"));
    auto& field = leaf_field(*name, "field");
    auto size = count_param(ctx, "size", default_size, max_size);
    auto selection = selection_params(ctx);
    auto txn = a.env().read();
    auto top = search.stats(txn, selection, field, size, now_micros());
    if (!top) fail(top.error());
    json::array items;
    for (auto& item : top->items)
        items.push_back(json::object{{"count", item.count},
                                     {"value", session_view::output(field, item.value)}});
    auto meta = audit_meta(ctx);
    meta["field"] = field.name;
    meta["size"] = size;
    meta["others"] = top->others;
    ctx.items = items.size();
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", std::move(meta)}});
}

}  // namespace

void register_stats(app& a, const session_search& search) {
    a.add(verb::get, "/api/audit/sessions/stats", family::audit,
          [&a, &search](request_context& ctx) { return stats(a, search, ctx); });
}

}  // namespace audex::api::audit
