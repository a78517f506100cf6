// GET /api/audit/sessions (search: q, window, content, fields, sort, paging, CSV export) and
// GET /api/audit/sessions/<id> (the audit view of one session).
#include "api/audit/routes.hpp"

#include "api/params.hpp"
#include "core/text.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/url.hpp>

#include <memory>
#include <optional>
#include <unordered_map>

namespace audex::api::audit {

namespace {

namespace bhttp = boost::beast::http;

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

constexpr std::size_t max_limit = 500, max_offset = 10000;
// Each sort key is compared for every pair the sort meets; the view has far fewer fields that are
// worth ordering by together.
constexpr std::size_t max_sort_keys = 8;
constexpr std::size_t csv_slice = 256;  // sessions per streamed piece, each in its own read

std::vector<sort_key> sort_param(const request_context& ctx) {
    auto text = param(ctx, "sort");
    if (!text) return {{&leaf_field("start_time", "sort"), true}};
    std::vector<sort_key> keys;
    for (auto item : split_list(*text)) {
        bool descending = item.front() == '-';
        if (descending || item.front() == '+') item.remove_prefix(1);
        keys.push_back({&leaf_field(item, "sort"), descending});
    }
    if (keys.empty()) fail(api_error::invalid_argument("sort", "sort names no field"));
    if (keys.size() > max_sort_keys) {
        auto e = api_error::invalid_argument(
            "sort", "sort names at most " + std::to_string(max_sort_keys) + " fields");
        e.details["limit"] = max_sort_keys;
        fail(std::move(e));
    }
    return keys;
}

// The request's path and parameters, paging aside: the base of the page links.
// One CSV cell (RFC 4180): quoted when it holds a separator, a quote or a line break. A text that
// a spreadsheet would run as a formula (its first character one of = + - @, a tab or a carriage
// return: OWASP's CSV injection list) gets a leading ' and quotes, so that it opens as text.
// Numbers and booleans are written as they are: they are the view's own values, never a formula,
// and a prefix would turn a negative number into text.
void append_cell(std::string& out, const json::value& v) {
    std::string text = v.is_null()     ? std::string()
                       : v.is_string() ? std::string(v.get_string())
                                       : json::serialize(v);
    const bool formula = v.is_string() && !text.empty() &&
                         std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
    if (!formula && text.find_first_of(",\"\r\n") == std::string::npos) {
        out += text;
        return;
    }
    out += '"';
    if (formula) out += '\'';
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

// `hits_count`, which `fields` may name beside the view's fields: how many records of each
// session match `content`.
constexpr std::string_view hits_field = "hits_count";

// The fields a request names: the view's, and whether hits_count is among them.
struct named {
    std::vector<const attribute*> view;
    bool hits = false;
};

named fields_param(const request_context& ctx, bool content) {
    named out;
    auto text = param(ctx, "fields");
    if (!text) return out;
    std::string rest;
    for (auto name : split_list(*text)) {
        if (name == hits_field) {
            out.hits = true;
            continue;
        }
        if (!rest.empty()) rest += ',';
        rest += name;
    }
    if (out.hits && !content)
        fail(api_error::invalid_argument("fields", "hits_count needs a content search"));
    out.view = named_fields(rest, "fields");
    return out;
}

// The rows of a CSV export, streamed a slice at a time.
struct csv_cursor {
    std::vector<std::uint64_t> ids;  // sorted, taken in one snapshot
    std::size_t position = 0;
    std::vector<const attribute*> columns;
    std::optional<std::unordered_map<std::uint64_t, std::uint64_t>> hits;  // a last column
    micros now = 0;
    bool header = false;
};

http::reply csv_reply(app& a, const session_search& search, std::shared_ptr<csv_cursor> cur) {
    http::reply r;
    r.head.set(bhttp::field::content_type, "text/csv; charset=utf-8");
    r.stream = [&a, &search, cur](std::string& out) {
        if (!cur->header) {
            cur->header = true;
            out += "key";
            for (auto* c : cur->columns) {
                out += ',';
                out += c->name;
            }
            if (cur->hits) (out += ',') += hits_field;
            out += "\r\n";
        }
        auto txn = a.env().read();
        for (std::size_t n = 0; n < csv_slice && cur->position < cur->ids.size(); ++n) {
            auto id = cur->ids[cur->position++];
            auto v = search.view(txn, id, cur->now);
            if (!v) continue;  // removed since the search
            out += std::to_string(id);
            for (auto* c : cur->columns) {
                out += ',';
                append_cell(out, session_view::output(*c, v->stored(*c)));
            }
            if (cur->hits) (out += ',') += std::to_string((*cur->hits)[id]);
            out += "\r\n";
        }
        return cur->position < cur->ids.size();
    };
    return r;
}

http::reply list(app& a, const session_search& search, request_context& ctx) {
    require_read(ctx);
    only_params(ctx,
                {"q", "start", "end", "content", "fields", "sort", "limit", "offset", "format"});
    auto selection = selection_params(ctx);
    auto fields = fields_param(ctx, selection.content.has_value());
    auto keys = sort_param(ctx);
    auto format = param(ctx, "format");
    bool csv = format && *format == "csv";
    if (format && !csv && *format != "json")
        fail(api_error::invalid_argument("format", "format is json or csv"));
    auto limit = count_param(ctx, "limit", max_limit, max_limit);
    auto offset = count_param(ctx, "offset", 0, max_offset);
    auto now = now_micros();
    auto txn = a.env().read();
    std::unordered_map<std::uint64_t, std::uint64_t> hits;
    auto selected = search.select(txn, selection, now, fields.hits ? &hits : nullptr);
    if (!selected) fail(selected.error());
    // A page needs its own sessions and those before it in order; an export, all it holds.
    auto keep = csv && !param(ctx, "limit") ? SIZE_MAX : offset + limit;
    auto ids = search.sorted(txn, *selected, keys, now, keep);

    auto first = std::min(offset, ids.size());
    if (csv) {
        // An export holds every selected session unless a limit is asked for.
        auto last = param(ctx, "limit") ? std::min(ids.size(), first + limit) : ids.size();
        auto cur = std::make_shared<csv_cursor>();
        cur->ids.assign(ids.begin() + std::ptrdiff_t(first), ids.begin() + std::ptrdiff_t(last));
        if (fields.view.empty() && !fields.hits)
            for (auto& f : view_model().attributes)
                fields.view.push_back(&f);
        cur->columns = std::move(fields.view);
        if (fields.hits) cur->hits = std::move(hits);
        cur->now = now;
        ctx.items = cur->ids.size();
        return csv_reply(a, search, std::move(cur));
    }
    json::array items;
    for (auto i = first; i < ids.size() && i < first + limit; ++i) {
        auto key = std::to_string(ids[i]);
        json::object item{{"key", key},
                          {"meta", json::object{{"href", "/api/audit/sessions/" + key}}}};
        if (!fields.view.empty() || fields.hits) {
            json::object body;
            if (!fields.view.empty())
                if (auto v = search.view(txn, ids[i], now)) body = v->document(fields.view);
            if (fields.hits) body[hits_field] = hits[ids[i]];
            item["body"] = std::move(body);
        }
        items.push_back(std::move(item));
    }
    auto meta = audit_meta(ctx);
    json::array names;
    for (auto* f : fields.view)
        names.push_back(json::value(f->name));
    if (fields.hits) names.push_back(json::value(hits_field));
    meta["fields"] = std::move(names);
    meta["match_count"] = ids.size();
    page_links(meta, page_base(ctx), ids.size(), limit, offset);
    ctx.items = items.size();
    return json_reply(200, json::object{{"items", std::move(items)}, {"meta", std::move(meta)}});
}

http::reply one(app& a, const session_search& search, request_context& ctx) {
    require_read(ctx);
    only_params(ctx, {});
    auto key = ctx.path_params.at(0);
    auto id = parse_id(key);
    auto scope = scope_query(ctx.who());
    auto txn = a.env().read();
    auto v = id ? search.view(txn, *id, now_micros()) : std::nullopt;
    // A session outside the caller's scope does not exist for it.
    if (!v || (scope && !in_scope(*scope, *v)))
        fail(api_error::not_found("no session " + std::string(key)));
    ctx.items = 1;
    return json_reply(
        200, json::object{
                 {"key", std::to_string(*id)}, {"body", v->document()}, {"meta", audit_meta(ctx)}});
}

}  // namespace

void register_sessions(app& a, const session_search& search) {
    a.add(verb::get, "/api/audit/sessions", family::audit,
          [&a, &search](request_context& ctx) { return list(a, search, ctx); });
    a.add(verb::get, "/api/audit/sessions/{}", family::audit,
          [&a, &search](request_context& ctx) { return one(a, search, ctx); });
}

}  // namespace audex::api::audit
