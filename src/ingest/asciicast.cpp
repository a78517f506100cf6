// Reading asciicast v2 recordings (see asciicast.hpp).
#include "ingest/asciicast.hpp"

#include <boost/json/parse.hpp>

#include <cmath>

namespace audex::ingest {

namespace json = boost::json;

micros asciicast::finished() const {
    return started + (events.empty() ? 0 : micros(std::llround(events.back().time * 1e6)));
}

asciicast read_asciicast(std::istream& in, const std::string& name) {
    std::size_t number = 0;
    auto fail = [&](const std::string& message) -> asciicast_error {
        return asciicast_error(name + ":" + std::to_string(number) + ": " + message);
    };
    auto parse = [&](const std::string& line) {
        boost::system::error_code ec;
        auto v = json::parse(line, ec);
        if (ec) throw fail("not JSON (" + ec.message() + ")");
        return v;
    };
    asciicast cast;
    std::string line;
    bool header = false;
    double last = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto v = parse(line);
        if (!header) {
            auto* h = v.if_object();
            auto* version = h ? h->if_contains("version") : nullptr;
            if (!version || !version->is_int64() || version->as_int64() != 2)
                throw fail("not an asciicast v2 header (a JSON object with \"version\": 2)");
            for (auto [key, out] :
                 {std::pair{"width", &cast.width}, std::pair{"height", &cast.height}}) {
                auto it = h->find(key);
                if (it == h->end() || !it->value().is_int64() || it->value().as_int64() < 1 ||
                    it->value().as_int64() > 1000)
                    throw fail(std::string("the header's ") + key +
                               " must be a whole number from 1 to 1000");
                *out = int(it->value().as_int64());
            }
            auto ts = h->find("timestamp");
            if (ts == h->end() || !ts->value().is_number())
                throw fail("the header has no timestamp (Unix seconds): the session needs a start");
            cast.started = micros(std::llround(ts->value().to_number<double>() * 1e6));
            for (auto [key, out] :
                 {std::pair{"command", &cast.command}, std::pair{"title", &cast.title}})
                if (auto it = h->find(key); it != h->end() && it->value().is_string())
                    *out = it->value().get_string();
            header = true;
            continue;
        }
        auto* e = v.if_array();
        if (!e || e->size() != 3 || !(*e)[0].is_number() || !(*e)[1].is_string() ||
            (*e)[1].get_string().size() != 1 || !(*e)[2].is_string())
            throw fail("not an asciicast v2 event [time, code, data]");
        asciicast_event event{(*e)[0].to_number<double>(), (*e)[1].get_string()[0],
                              std::string((*e)[2].get_string())};
        if (!std::isfinite(event.time) || event.time < last)
            throw fail("event times must be finite and never decrease");
        last = event.time;
        cast.events.push_back(std::move(event));
    }
    if (!header) throw asciicast_error(name + ": empty file, not an asciicast v2 recording");
    return cast;
}

}  // namespace audex::ingest
