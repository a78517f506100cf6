// The audit API's session routes (sessions.cpp, stats.cpp, histogram.cpp) and the request
// parameters they share: q, start, end and content, parsed into a session selection.
#pragma once

#include "api/app.hpp"
#include "api/audit/session_search.hpp"

#include <optional>
#include <string_view>

namespace audex::api::audit {

// GET /api/audit/sessions and /api/audit/sessions/<id>.
void register_sessions(app& a, const session_search& search);
// GET /api/audit/sessions/stats.
void register_stats(app& a, const session_search& search);
// GET /api/audit/sessions/histogram.
void register_histogram(app& a, const session_search& search);

// 403 Forbidden unless the caller may read (operator and above).
void require_read(const request_context& ctx);
// `q` compiled against the audit view and within the caller's scope; nullopt when both are
// missing or blank.
std::optional<session_query> q_param(const request_context& ctx);
// A date-time parameter (ISO 8601; a date alone is midnight UTC); InvalidQueryValue otherwise.
std::optional<micros> time_param(const request_context& ctx, std::string_view name);
// q, start, end and content. InvalidQueryValue (with details.position) for a query that does not
// parse or a bad date, InvalidArgument for unknown fields and a start after the end.
session_selection selection_params(const request_context& ctx);

}  // namespace audex::api::audit
