// The route table: {method, path pattern} pairs built once at start, matched per request. A pattern
// segment "{}" matches any one segment, which the match returns as a parameter.
#pragma once

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace audex::http {

template <class Route>
class router {
  public:
    struct match {
        enum class outcome { found, not_found, method_not_allowed } result = outcome::not_found;
        const Route* route = nullptr;
        std::vector<std::string_view> params;  // the segments matched by "{}", in order
        std::string allow;                     // for method_not_allowed: "GET, POST"
    };

    void add(boost::beast::http::verb method, std::string_view pattern, Route route) {
        auto views = split(pattern);
        auto literals = std::size_t(std::count_if(views.begin(), views.end(),
                                                  [](std::string_view v) { return v != "{}"; }));
        entries_.push_back({method, {views.begin(), views.end()}, literals, std::move(route)});
    }

    // `path` is the decoded path without the query; a trailing slash is ignored. Where several
    // patterns match, the one with the most literal segments wins (`/sessions/stats` over
    // `/sessions/{}`), whatever the order they were added in.
    match find(boost::beast::http::verb method, std::string_view path) const {
        match m;
        auto segments = split(path);
        const entry* best = nullptr;
        std::vector<boost::beast::http::verb> allowed;
        for (auto& e : entries_) {
            if (!matches(e.segments, segments)) continue;
            if (e.method == method && (!best || e.literals > best->literals)) best = &e;
            if (std::find(allowed.begin(), allowed.end(), e.method) == allowed.end())
                allowed.push_back(e.method);
        }
        if (best) {
            m.result = match::outcome::found;
            m.route = &best->route;
            for (std::size_t i = 0; i < best->segments.size(); ++i)
                if (best->segments[i] == "{}") m.params.push_back(segments[i]);
        } else if (!allowed.empty()) {
            m.result = match::outcome::method_not_allowed;
            for (auto v : allowed) {
                if (!m.allow.empty()) m.allow += ", ";
                m.allow += std::string(boost::beast::http::to_string(v));
            }
        }
        return m;
    }

  private:
    struct entry {
        boost::beast::http::verb method;
        std::vector<std::string> segments;
        std::size_t literals;  // segments that are not "{}"
        Route route;
    };

    static std::vector<std::string_view> split(std::string_view path) {
        std::vector<std::string_view> out;
        std::size_t pos = 0;
        while (pos < path.size()) {
            auto next = path.find('/', pos);
            if (next == std::string_view::npos) next = path.size();
            if (next > pos) out.push_back(path.substr(pos, next - pos));
            pos = next + 1;
        }
        return out;
    }

    static bool matches(const std::vector<std::string>& pattern,
                        const std::vector<std::string_view>& path) {
        if (pattern.size() != path.size()) return false;
        for (std::size_t i = 0; i < pattern.size(); ++i)
            if (pattern[i] != "{}" && pattern[i] != path[i]) return false;
        return true;
    }

    std::vector<entry> entries_;
};

}  // namespace audex::http
