// The route table: {method, path pattern} pairs built once at start, matched per request. A pattern
// segment "{}" matches any one segment, which the match returns as a parameter.
#pragma once

#include <boost/beast/http/verb.hpp>

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
        entries_.push_back({method, {views.begin(), views.end()}, std::move(route)});
    }

    // `path` is the decoded path without the query; a trailing slash is ignored.
    match find(boost::beast::http::verb method, std::string_view path) const {
        match m;
        auto segments = split(path);
        for (auto& e : entries_) {
            if (!matches(e.segments, segments)) continue;
            if (e.method == method) {
                m.result = match::outcome::found;
                m.route = &e.route;
                m.params.clear();
                for (std::size_t i = 0; i < e.segments.size(); ++i)
                    if (e.segments[i] == "{}") m.params.push_back(segments[i]);
                return m;
            }
            m.result = match::outcome::method_not_allowed;
            if (!m.allow.empty()) m.allow += ", ";
            m.allow += std::string(boost::beast::http::to_string(e.method));
        }
        return m;
    }

private:
    struct entry {
        boost::beast::http::verb method;
        std::vector<std::string> segments;
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
