// A differential test of store/object_filter.hpp: random sessions and random filters (terms and
// ranges on protocol, source_port, started_at and source_ip under AND/OR/NOT), each answer checked
// against a brute-force evaluation written here from the documented semantics.
#include "store/object_filter.hpp"

#include "core/query.hpp"

#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

using audex::store::object_filter;
namespace json = boost::json;

namespace {

constexpr std::int64_t us_second = 1'000'000, us_minute = 60 * us_second,
                       us_day = 86400 * us_second;
// 2022-04-01T00:00:00Z; the test's days are April 1 to 9, 2022.
constexpr std::int64_t apr1 = 1'648'771'200 * us_second;

struct session {
    std::optional<std::string> protocol;  // as stored (lower case, from the schema's enum)
    std::optional<std::int64_t> port;
    std::optional<std::int64_t> started;
    std::optional<std::uint32_t> ip;  // 10.0.x.y
    json::object stored;
};

std::string ip_text(std::uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
           std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

// A point in time the generator may name: a day (1-9 of April 2022), a time of day on the small
// grids below, and a precision. `start` and `span` are worked out here, not by parse_time.
struct instant {
    int day_of_month = 1, hour = 0, minute = 0, second = 0;
    enum { day_precision, minute_precision, second_precision } precision = day_precision;

    std::int64_t start() const {
        // Only the fields the precision writes count.
        std::int64_t t = apr1 + (day_of_month - 1) * us_day;
        if (precision != day_precision) t += (hour * 60 + minute) * us_minute;
        if (precision == second_precision) t += second * us_second;
        return t;
    }
    std::int64_t span() const {
        return precision == day_precision      ? us_day
               : precision == minute_precision ? us_minute
                                               : us_second;
    }
    std::string text() const {
        char buf[32];
        if (precision == day_precision)
            std::snprintf(buf, sizeof buf, "2022-04-%02d", day_of_month);
        else if (precision == minute_precision)
            std::snprintf(buf, sizeof buf, "2022-04-%02dT%02d:%02d", day_of_month, hour, minute);
        else
            std::snprintf(buf, sizeof buf, "2022-04-%02dT%02d:%02d:%02d", day_of_month, hour,
                          minute, second);
        return buf;
    }
};

const char* const protocols[] = {"ssh", "rdp", "telnet", "vnc", "http"};
const int hours[] = {0, 10, 23};
const int minutes[] = {0, 15, 59};
const int seconds[] = {0, 7, 59};

struct generator {
    std::mt19937_64 rng;

    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
    bool chance(int percent) { return below(100) < percent; }
    template <class T, std::size_t N>
    T pick(const T (&a)[N]) {
        return a[below(int(N))];
    }

    instant any_instant() {
        instant i;
        i.day_of_month = 1 + below(9);
        i.hour = pick(hours);
        i.minute = pick(minutes);
        i.second = pick(seconds);
        i.precision = decltype(i.precision)(below(3));
        return i;
    }

    std::uint32_t any_ip() {
        // 10.0.0.0 to 10.0.1.20: mixes one- to three-digit last bytes around a carry.
        std::uint32_t base = (10u << 24) | (below(2) << 8);
        std::uint32_t last = chance(50) ? below(21) : below(256);
        return base | last;
    }

    session any_session() {
        session s;
        if (!chance(10)) s.protocol = pick(protocols);
        if (!chance(10)) s.port = below(31);
        if (!chance(10)) {
            // On the query grids, a microsecond either side of them, or anywhere in the days.
            auto i = any_instant();
            i.precision = instant::second_precision;
            switch (below(4)) {
                case 0:
                    s.started = i.start();
                    break;
                case 1:
                    s.started = i.start() - 1;
                    break;
                case 2:
                    s.started = i.start() + 1;
                    break;
                default:
                    s.started = apr1 + std::uniform_int_distribution<std::int64_t>(
                                           -us_day, 10 * us_day)(rng);
            }
        }
        if (!chance(10)) s.ip = any_ip();
        if (s.protocol) s.stored["protocol"] = *s.protocol;
        if (s.port) s.stored["source_port"] = *s.port;
        if (s.started) s.stored["started_at"] = *s.started;
        if (s.ip) s.stored["source_ip"] = ip_text(*s.ip);
        if (chance(5)) s.stored["source_port"] = nullptr;  // null is unset
        if (s.port && s.stored["source_port"].is_null()) s.port.reset();
        return s;
    }
};

// The query tree of this test: its text for the parser, and its brute-force meaning.
struct expr {
    virtual ~expr() = default;
    virtual std::string text() const = 0;
    virtual bool eval(const session& s) const = 0;
};
using expr_ptr = std::unique_ptr<expr>;

struct protocol_term : expr {
    std::string value;  // in any case
    std::string text() const override { return "protocol:" + value; }
    bool eval(const session& s) const override {
        if (!s.protocol) return false;
        std::string lowered;
        for (char c : value)
            lowered += char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return *s.protocol == lowered;
    }
};

// A bound of a range: open, or a value with its inclusion.
template <class T>
struct bound {
    std::optional<T> value;
    bool inclusive = true;
};

struct port_range : expr {
    bound<int> lo, hi;
    bool term = false;  // source_port:N
    std::string text() const override {
        if (term) return "source_port:" + std::to_string(*lo.value);
        return "source_port:" + std::string(lo.inclusive ? "[" : "{") +
               (lo.value ? std::to_string(*lo.value) : "*") + " TO " +
               (hi.value ? std::to_string(*hi.value) : "*") + (hi.inclusive ? "]" : "}");
    }
    bool eval(const session& s) const override {
        if (!s.port) return false;
        auto p = *s.port;
        if (term) return p == *lo.value;
        if (lo.value && (lo.inclusive ? p < *lo.value : p <= *lo.value)) return false;
        if (hi.value && (hi.inclusive ? p > *hi.value : p >= *hi.value)) return false;
        return true;
    }
};

struct started_range : expr {
    bound<instant> lo, hi;
    bool term = false;        // started_at:INSTANT: the span it names
    bool comparison = false;  // written as >, >=, < or <= (one open end)
    std::string text() const override {
        if (term) return "started_at:" + lo.value->text();
        if (comparison) {
            if (lo.value)
                return "started_at:>" + std::string(lo.inclusive ? "=" : "") + lo.value->text();
            return "started_at:<" + std::string(hi.inclusive ? "=" : "") + hi.value->text();
        }
        return "started_at:" + std::string(lo.inclusive ? "[" : "{") +
               (lo.value ? lo.value->text() : "*") + " TO " + (hi.value ? hi.value->text() : "*") +
               (hi.inclusive ? "]" : "}");
    }
    bool eval(const session& s) const override {
        if (!s.started) return false;
        auto t = *s.started;
        if (term) return t >= lo.value->start() && t < lo.value->start() + lo.value->span();
        // An inclusive bound takes in the whole span it names, an exclusive one leaves it out.
        if (lo.value) {
            auto first = lo.inclusive ? lo.value->start() : lo.value->start() + lo.value->span();
            if (t < first) return false;
        }
        if (hi.value) {
            auto end = hi.inclusive ? hi.value->start() + hi.value->span() : hi.value->start();
            if (t >= end) return false;
        }
        return true;
    }
};

struct ip_range : expr {
    bound<std::uint32_t> lo, hi;
    bool term = false;
    std::string text() const override {
        if (term) return "source_ip:" + ip_text(*lo.value);
        return "source_ip:" + std::string(lo.inclusive ? "[" : "{") +
               (lo.value ? ip_text(*lo.value) : "*") + " TO " +
               (hi.value ? ip_text(*hi.value) : "*") + (hi.inclusive ? "]" : "}");
    }
    bool eval(const session& s) const override {
        if (!s.ip) return false;
        auto ip = *s.ip;
        if (term) return ip == *lo.value;
        if (lo.value && (lo.inclusive ? ip < *lo.value : ip <= *lo.value)) return false;
        if (hi.value && (hi.inclusive ? ip > *hi.value : ip >= *hi.value)) return false;
        return true;
    }
};

struct and_expr : expr {
    expr_ptr a, b;
    std::string text() const override { return "(" + a->text() + " AND " + b->text() + ")"; }
    bool eval(const session& s) const override { return a->eval(s) && b->eval(s); }
};
struct or_expr : expr {
    expr_ptr a, b;
    std::string text() const override { return "(" + a->text() + " OR " + b->text() + ")"; }
    bool eval(const session& s) const override { return a->eval(s) || b->eval(s); }
};
// A group of its own, so that NOT inside an OR is the complement, not an exclusion of the OR.
struct not_expr : expr {
    expr_ptr a;
    std::string text() const override { return "(NOT " + a->text() + ")"; }
    bool eval(const session& s) const override { return !a->eval(s); }
};

struct query_generator : generator {
    template <class T, class Any>
    bound<T> any_bound(Any any) {
        bound<T> b;
        if (!chance(20)) b.value = any();
        b.inclusive = b.value ? chance(50) : true;  // the parser makes open ends inclusive
        return b;
    }

    expr_ptr leaf() {
        switch (below(4)) {
            case 0: {
                auto e = std::make_unique<protocol_term>();
                e->value = chance(80) ? pick(protocols) : "ftp";
                if (chance(30))
                    for (auto& c : e->value)
                        c = char(c - 'a' + 'A');
                return e;
            }
            case 1: {
                auto e = std::make_unique<port_range>();
                auto any = [&] { return below(33) - 1; };
                e->term = chance(30);
                if (e->term) {
                    e->lo.value = any();
                } else {
                    e->lo = any_bound<int>(any);
                    e->hi = any_bound<int>(any);
                }
                return e;
            }
            case 2: {
                auto e = std::make_unique<started_range>();
                auto any = [&] { return any_instant(); };
                switch (below(3)) {
                    case 0:
                        e->term = true;
                        e->lo.value = any();
                        break;
                    case 1:
                        e->comparison = true;
                        if (chance(50))
                            e->lo = {any(), chance(50)};
                        else
                            e->hi = {any(), chance(50)};
                        break;
                    default:
                        e->lo = any_bound<instant>(any);
                        e->hi = any_bound<instant>(any);
                }
                return e;
            }
            default: {
                auto e = std::make_unique<ip_range>();
                auto any = [&] { return any_ip(); };
                e->term = chance(30);
                if (e->term) {
                    e->lo.value = any();
                } else {
                    e->lo = any_bound<std::uint32_t>(any);
                    e->hi = any_bound<std::uint32_t>(any);
                }
                return e;
            }
        }
    }

    expr_ptr any_query(int depth) {
        if (depth == 0 || chance(30)) return leaf();
        switch (below(3)) {
            case 0: {
                auto e = std::make_unique<and_expr>();
                e->a = any_query(depth - 1);
                e->b = any_query(depth - 1);
                return e;
            }
            case 1: {
                auto e = std::make_unique<or_expr>();
                e->a = any_query(depth - 1);
                e->b = any_query(depth - 1);
                return e;
            }
            default: {
                auto e = std::make_unique<not_expr>();
                e->a = any_query(depth - 1);
                return e;
            }
        }
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(store_object_filter_random)

BOOST_AUTO_TEST_CASE(agrees_with_brute_force) {
    const auto& m = *audex::find_model("session");
    query_generator gen{{std::mt19937_64(0x5eed2022)}};
    std::vector<session> sessions;
    for (int i = 0; i < 500; ++i)
        sessions.push_back(gen.any_session());

    int disagreements = 0, matched = 0, total = 0;
    for (int q = 0; q < 300; ++q) {
        auto e = gen.any_query(3);
        auto text = e->text();
        auto parsed = audex::query::parse(text);
        auto* node = std::get_if<audex::query::node>(&parsed);
        BOOST_TEST_REQUIRE(node != nullptr, "the parser rejected " << text);
        auto f = object_filter::compile(m, *node);
        BOOST_TEST_REQUIRE(f.has_value(), text << ": " << (f ? "" : f.error().message));
        for (auto& s : sessions) {
            bool want = e->eval(s);
            bool got = f->matches([&](const audex::attribute& a) -> const json::value* {
                return s.stored.if_contains(a.name);
            });
            ++total;
            matched += got;
            if (got != want && ++disagreements <= 10)
                BOOST_ERROR(text << " on " << json::serialize(s.stored) << ": filter says " << got
                                 << ", brute force " << want);
        }
    }
    BOOST_TEST(disagreements == 0);
    // The generator is useful only when both answers are common.
    BOOST_TEST(matched > total / 10);
    BOOST_TEST(matched < total * 9 / 10);
}

BOOST_AUTO_TEST_SUITE_END()
