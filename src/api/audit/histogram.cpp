// GET /api/audit/sessions/histogram: sessions started in and active during each bin of a time
// window, on the local calendar of a time zone.
#include "api/audit/routes.hpp"

#include "api/params.hpp"

namespace audex::api::audit {

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

constexpr std::size_t max_bins = 10000;

// The meta's start and end: local time in the zone, with its offset (`+00:00` in UTC).
std::string meta_time(micros t, const date::time_zone& zone) {
    return format_iso_time_at_offset(t, index::utc_offset(zone, t), t % 1'000'000 ? 6 : 0);
}

http::reply histogram(app& a, const session_search& search, request_context& ctx) {
    require_read(ctx);
    if (param(ctx, "content"))
        fail({error_type::not_supported_content_option,
              "the histogram cannot select sessions by their content",
              {{"field", "content"}}});
    only_params(ctx, {"q", "bin_size", "bin-size", "start", "end", "time_zone"});
    auto unit_name = param(ctx, "bin_size");
    if (!unit_name) unit_name = param(ctx, "bin-size");
    auto unit = unit_name ? index::parse_bin_unit(*unit_name) : index::bin_unit::month;
    if (!unit)
        fail(api_error::invalid_argument(
            "bin_size", "bin_size is second, minute, hour, day, week, month or year"));
    auto zone_name = param(ctx, "time_zone");
    std::string zone_text = zone_name ? *zone_name : "Etc/UTC";
    auto zone = index::find_time_zone(zone_text);
    if (!zone)
        fail(api_error::invalid_argument("time_zone", "'" + zone_text +
                                                          "' is not an IANA time zone name, "
                                                          "e.g. Etc/UTC or Europe/Budapest"));
    auto now = now_micros();
    auto end = time_param(ctx, "end").value_or(now);
    auto start = time_param(ctx, "start").value_or(add_months(end, -1));
    if (start > end) fail(api_error::invalid_argument("end", "end is before start"));
    auto h = index::histogram::make(start, end, *unit, *zone, max_bins);
    if (!h)
        fail({error_type::too_much_buckets_in_result,
              "the histogram would have more than " + std::to_string(max_bins) +
                  " bins; choose a larger bin_size or a shorter window",
              {{"max_bins", max_bins}}});
    session_selection selection;
    selection.q = q_param(ctx);
    {
        auto txn = a.env().read();
        search.count(txn, std::move(selection), *h, now);
    }
    json::array buckets;
    for (auto& bin : h->bins())
        buckets.push_back(json::object{{"active_count", bin.active_count},
                                       {"id", index::bin_id(bin, *zone)},
                                       {"start_count", bin.start_count}});
    auto meta = audit_meta(ctx);
    meta["bin_size"] = index::bin_unit_name(*unit);
    meta["start"] = meta_time(start, *zone);
    meta["end"] = meta_time(end, *zone);
    meta["time_zone"] = zone_text;
    ctx.items = buckets.size();
    return json_reply(200, json::object{{"body", json::object{{"buckets", std::move(buckets)}}},
                                        {"key", "histogram"},
                                        {"meta", std::move(meta)}});
}

}  // namespace

void register_histogram(app& a, const session_search& search) {
    a.add(verb::get, "/api/audit/sessions/histogram", family::audit,
          [&a, &search](request_context& ctx) { return histogram(a, search, ctx); });
}

}  // namespace audex::api::audit
