// Rendering of the load report: latencies in milliseconds; the JSON report is what scripts read,
// the table what a person reads.
#include "load/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace audex::load {

namespace json = boost::json;

namespace {

constexpr std::pair<const char*, double> percentiles[] = {
    {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}};

double ms(std::uint64_t us) {
    return static_cast<double>(us) / 1000.0;
}

json::object latency_json(const histogram& h) {
    json::object o;
    for (auto [name, p] : percentiles)
        o[name] = ms(h.percentile(p));
    o["max"] = ms(h.max());
    o["min"] = ms(h.min());
    o["mean"] = std::round(h.mean()) / 1000.0;
    return o;
}

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

}  // namespace

recorder::recorder(std::vector<std::string> kinds, double interval)
    : names_(std::move(kinds)), kinds_(names_.size()), interval_(interval) {}

void recorder::count(std::size_t kind, bool error, double at, const std::uint64_t* latency_us) {
    tally* tallies[3] = {&kinds_.at(kind), &overall_, nullptr};
    if (interval_ > 0) {
        auto slot = static_cast<std::size_t>(std::max(0.0, at) / interval_);
        if (intervals_.size() <= slot) intervals_.resize(slot + 1);
        tallies[2] = &intervals_[slot];
    }
    for (auto* t : tallies) {
        if (!t) continue;
        ++t->requests;
        t->errors += error;
        if (latency_us) t->latency.record(*latency_us);
    }
}

void recorder::answered(std::size_t kind, unsigned status, const std::string& error_type,
                        std::uint64_t latency_us, double at) {
    bool error = !error_type.empty();
    count(kind, error, at, &latency_us);
    if (error) {
        ++by_status_[std::to_string(status)];
        ++by_type_[error_type];
    }
}

void recorder::failed(std::size_t kind, const std::string& what, double at) {
    count(kind, true, at, nullptr);
    ++by_status_["none"];
    ++by_type_[what];
}

json::object recorder::to_json(const run_info& info) const {
    json::object kinds;
    for (std::size_t i = 0; i < names_.size(); ++i) {
        const auto& t = kinds_[i];
        if (t.requests == 0) continue;
        kinds[names_[i]] = {{"requests", t.requests},
                            {"errors", t.errors},
                            {"throughput", per_second(t.requests, info.elapsed)},
                            {"latency_ms", latency_json(t.latency)}};
    }
    json::array series;
    for (std::size_t i = 0; i < intervals_.size(); ++i) {
        const auto& t = intervals_[i];
        double begin = static_cast<double>(i) * interval_;
        // The last interval ends with the run, and may be shorter.
        double length = std::min(interval_, info.elapsed - begin);
        series.push_back(json::object{{"start_s", begin},
                                      {"seconds", length},
                                      {"requests", t.requests},
                                      {"errors", t.errors},
                                      {"throughput", per_second(t.requests, length)},
                                      {"latency_ms", latency_json(t.latency)}});
    }
    json::object status, type;
    for (const auto& [k, n] : by_status_)
        status[k] = n;
    for (const auto& [k, n] : by_type_)
        type[k] = n;
    return {{"url", info.url},
            {"connections", info.connections},
            {"target_rate", info.target_rate > 0 ? json::value(info.target_rate) : nullptr},
            {"duration_s", info.duration},
            {"elapsed_s", info.elapsed},
            {"requests", overall_.requests},
            {"errors", overall_.errors},
            {"throughput", per_second(overall_.requests, info.elapsed)},
            {"errors_by_status", std::move(status)},
            {"errors_by_type", std::move(type)},
            {"latency_ms", latency_json(overall_.latency)},
            {"kinds", std::move(kinds)},
            {"interval_s", interval_},
            {"intervals", std::move(series)}};
}

std::string recorder::table(const run_info& info) const {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%llu requests in %.1f s: %.1f requests/s over %u connections",
                  static_cast<unsigned long long>(overall_.requests), info.elapsed,
                  per_second(overall_.requests, info.elapsed), info.connections);
    out += line;
    if (info.target_rate > 0) {
        std::snprintf(line, sizeof line, " (target %.1f/s)", info.target_rate);
        out += line;
    }
    std::snprintf(line, sizeof line, "; %llu errors\n\n",
                  static_cast<unsigned long long>(overall_.errors));
    out += line;
    std::snprintf(line, sizeof line, "%-20s %10s %10s %8s %9s %9s %9s %9s %9s\n", "kind",
                  "requests", "per s", "errors", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                  "max ms");
    out += line;
    auto row = [&](const std::string& name, const tally& t) {
        std::snprintf(
            line, sizeof line, "%-20s %10llu %10.1f %8llu %9.2f %9.2f %9.2f %9.2f %9.2f\n",
            name.c_str(), static_cast<unsigned long long>(t.requests),
            per_second(t.requests, info.elapsed), static_cast<unsigned long long>(t.errors),
            ms(t.latency.percentile(50)), ms(t.latency.percentile(90)),
            ms(t.latency.percentile(99)), ms(t.latency.percentile(99.9)), ms(t.latency.max()));
        out += line;
    };
    for (std::size_t i = 0; i < names_.size(); ++i)
        if (kinds_[i].requests) row(names_[i], kinds_[i]);
    row("all", overall_);
    if (!by_type_.empty()) {
        out += "\nerrors:";
        for (const auto& [k, n] : by_type_)
            out += " " + k + " " + std::to_string(n) + ",";
        out.back() = '\n';
        out += "by status:";
        for (const auto& [k, n] : by_status_)
            out += " " + k + " " + std::to_string(n) + ",";
        out.back() = '\n';
    }
    return out;
}

}  // namespace audex::load
