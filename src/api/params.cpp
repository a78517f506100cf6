// Query parameter helpers (see params.hpp).
#include "api/params.hpp"

#include <boost/url/url.hpp>

#include <algorithm>
#include <charconv>

namespace audex::api {

namespace json = boost::json;

std::string page_base(const request_context& ctx) {
    boost::urls::url u(ctx.path);
    for (auto& [key, value] : ctx.params)
        if (key != "limit" && key != "offset") u.params().append({key, value});
    return std::string(u.buffer());
}

const std::string* param(const request_context& ctx, std::string_view name) {
    const std::string* found = nullptr;
    for (auto& [key, value] : ctx.params)
        if (key == name) found = &value;
    return found;
}

void only_params(const request_context& ctx, std::initializer_list<std::string_view> allowed) {
    for (auto& [key, value] : ctx.params)
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            throw api_exception(
                api_error::invalid_argument(key, "unknown parameter '" + key + "'"));
}

std::size_t count_param(const request_context& ctx, std::string_view name, std::size_t fallback,
                        std::size_t max) {
    auto value = param(ctx, name);
    if (!value) return fallback;
    std::size_t v = 0;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
    if (ec != std::errc() || end != value->data() + value->size() || v > max ||
        (name == "limit" && v == 0))
        throw api_exception(api_error::invalid_argument(
            name, std::string(name) + " must be a whole number up to " + std::to_string(max)));
    return v;
}

void page_links(json::object& meta, const std::string& href, std::size_t total, std::size_t limit,
                std::size_t offset) {
    auto link = [&](std::size_t at) {
        return json::value(href + (href.find('?') == std::string::npos ? "?" : "&") +
                           "limit=" + std::to_string(limit) + "&offset=" + std::to_string(at));
    };
    meta["first"] = link(0);
    meta["last"] = link(total == 0 ? 0 : (total - 1) / limit * limit);
    meta["next"] = offset + limit < total ? link(offset + limit) : json::value(nullptr);
    meta["previous"] =
        offset > 0 ? link(offset > limit ? offset - limit : 0) : json::value(nullptr);
    meta["limit"] = limit;
    meta["offset"] = offset;
}

}  // namespace audex::api
