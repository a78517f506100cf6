// Query parameters of the audit routes: checking their names, whole-number parameters, and the
// paging links of listings.
#pragma once

#include "api/app.hpp"

#include <boost/json/object.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace audex::api {

// The value of parameter `name` (the last one when given twice), or nullptr.
const std::string* param(const request_context& ctx, std::string_view name);
// InvalidArgument for a parameter not in `allowed`.
void only_params(const request_context& ctx, std::initializer_list<std::string_view> allowed);
// A whole-number parameter up to `max` (a `limit` must not be 0), or `fallback` without one.
std::size_t count_param(const request_context& ctx, std::string_view name, std::size_t fallback,
                        std::size_t max);
// The request's path with its parameters but limit and offset: the base of its page links.
std::string page_base(const request_context& ctx);
// Adds first, last, next and previous (null when none), limit and offset to `meta`. The links are
// `href` (which may carry a query of its own) with limit and offset added.
void page_links(boost::json::object& meta, const std::string& href, std::size_t total,
                std::size_t limit, std::size_t offset);

}  // namespace audex::api
