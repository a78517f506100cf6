// Compilation of a query tree into a typed predicate over stored objects.
#include "store/object_filter.hpp"

#include "core/text.hpp"
#include "core/time.hpp"
#include "store/keys.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <vector>

namespace audex::store {

namespace json = boost::json;
using predicate = object_filter::predicate;

namespace {

// 16 bytes that order addresses numerically; IPv4 is mapped into IPv6.
std::optional<std::string> ip_key(std::string_view text) {
    std::string s(text);
    unsigned char v6[16];
    if (inet_pton(AF_INET6, s.c_str(), v6) == 1)
        return std::string(reinterpret_cast<char*>(v6), 16);
    unsigned char v4[4];
    if (inet_pton(AF_INET, s.c_str(), v4) != 1) return std::nullopt;
    std::string out(10, '\0');
    out += "\xff\xff";
    out.append(reinterpret_cast<char*>(v4), 4);
    return out;
}

// A comparable form of one value of an attribute: numbers (and date-times) as doubles or
// integers, everything else as a string key.
struct key {
    bool numeric = false;
    double number = 0;
    std::string text;

    friend int compare(const key& a, const key& b) {
        if (a.numeric) return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
        return a.text.compare(b.text) < 0 ? -1 : a.text.compare(b.text) > 0 ? 1 : 0;
    }
};

std::optional<key> stored_key(const attribute& a, const json::value& v) {
    switch (a.kind) {
        case attribute_kind::integer:
        case attribute_kind::number:
        case attribute_kind::datetime:
            if (v.is_int64()) return key{true, double(v.get_int64()), {}};
            if (v.is_uint64()) return key{true, double(v.get_uint64()), {}};
            if (v.is_double()) return key{true, v.get_double(), {}};
            return std::nullopt;
        case attribute_kind::boolean:
            if (!v.is_bool()) return std::nullopt;
            return key{false, 0, v.get_bool() ? "true" : "false"};
        case attribute_kind::id:
            if (!v.is_string()) return std::nullopt;
            // Ids compare as numbers: pad to the width of the largest 64-bit value.
            return key{false, 0,
                       std::string(20 - std::min<std::size_t>(20, v.get_string().size()), '0') +
                           std::string(v.get_string())};
        case attribute_kind::ip:
            if (!v.is_string()) return std::nullopt;
            if (auto k = ip_key(v.get_string())) return key{false, 0, *k};
            return std::nullopt;
        default:
            if (!v.is_string()) return std::nullopt;
            return key{false, 0, lower_ascii(v.get_string())};
    }
}

struct compiler {
    const model& m;
    std::set<std::string>& names;
    std::string_view param;

    api_error bad_value(const attribute& a, std::string_view text, std::string_view expected) {
        return {error_type::invalid_query_value,
                "'" + std::string(text) + "' is not " + std::string(expected) + " for " + a.name,
                {{"field", a.name}}};
    }

    result<const attribute*> lookup(const std::string& field) {
        if (field.empty())
            return api_error::invalid_argument(
                param, std::string(param) + " terms need an attribute name, e.g. protocol:ssh");
        auto a = m.find(field);
        if (!a || a->is_protected)
            return api_error::invalid_argument(field,
                                               "unknown attribute '" + field + "' of " + m.name);
        if (a->kind == attribute_kind::object || a->kind == attribute_kind::array)
            return api_error::invalid_argument(field,
                                               "attribute '" + field + "' cannot be filtered");
        names.insert(field);
        return a;
    }

    // The query text as a key of the attribute's type, with the span it covers for date-times.
    result<std::pair<key, double>> query_key(const attribute& a, const std::string& text) {
        switch (a.kind) {
            case attribute_kind::integer:
            case attribute_kind::number: {
                // Decimal numbers only: strtod alone would take "nan", "inf", hex and blanks.
                char* end = nullptr;
                double d = std::strtod(text.c_str(), &end);
                if (text.empty() || *end || !std::isfinite(d) ||
                    text.find_first_not_of("0123456789+-.eE") != std::string::npos)
                    return bad_value(a, text, "a number");
                return std::pair{key{true, d, {}}, 0.0};
            }
            case attribute_kind::datetime: {
                auto t = parse_time(text);
                if (!t) return bad_value(a, text, "a date-time");
                return std::pair{key{true, double(t->at), {}}, double(t->precision)};
            }
            case attribute_kind::boolean: {
                auto l = lower_ascii(text);
                if (l != "true" && l != "false") return bad_value(a, text, "true or false");
                return std::pair{key{false, 0, l}, 0.0};
            }
            case attribute_kind::ip: {
                auto k = ip_key(text);
                if (!k) return bad_value(a, text, "an IP address");
                return std::pair{key{false, 0, *k}, 0.0};
            }
            default: {
                auto k = stored_key(a, json::value(text));
                return std::pair{*k, 0.0};
            }
        }
    }

    // Matches objects whose value of `a` satisfies `test`.
    static predicate on_value(const attribute* a, std::function<bool(const key&)> test) {
        return [a, test = std::move(test)](const attribute_source& source) {
            auto v = source(*a);
            if (!v || v->is_null()) return false;
            auto k = stored_key(*a, *v);
            return k && test(*k);
        };
    }

    // Matches objects whose value of `a`, as written (lower-cased), satisfies `test`: wildcards
    // and fuzzy terms apply to ids and addresses as they read, not to their sort keys.
    static predicate on_text(const attribute* a, std::function<bool(std::string_view)> test) {
        return [a, test = std::move(test)](const attribute_source& source) {
            auto v = source(*a);
            return v && v->is_string() && test(lower_ascii(v->get_string()));
        };
    }

    result<predicate> equals(const std::string& field, const std::string& text) {
        auto a = lookup(field);
        if (!a) return a.error();
        auto q = query_key(**a, text);
        if (!q) return q.error();
        // Not a structured binding: clang before 16 cannot capture those in a lambda.
        const auto k = q->first;
        const auto span = q->second;
        if ((*a)->kind == attribute_kind::datetime)
            return on_value(*a, [k, span](const key& v) {
                return v.number >= k.number && v.number < k.number + span;
            });
        return on_value(*a, [k](const key& v) { return compare(v, k) == 0; });
    }

    result<predicate> operator()(const query::term_query& q) { return equals(q.field, q.text); }
    result<predicate> operator()(const query::phrase_query& q) { return equals(q.field, q.text); }

    result<predicate> operator()(const query::wildcard_query& q) {
        auto a = lookup(q.field);
        if (!a) return a.error();
        auto pattern = lower_ascii(q.pattern);
        return on_text(*a, [pattern](std::string_view v) { return glob_match(pattern, v); });
    }

    result<predicate> operator()(const query::fuzzy_query& q) {
        auto a = lookup(q.field);
        if (!a) return a.error();
        auto text = lower_ascii(q.text);
        std::size_t distance = q.distance;
        // The lengths first: a long value is neither copied nor lower-cased to be refused.
        return [a = *a, text, distance](const attribute_source& source) {
            auto v = source(*a);
            if (!v || !v->is_string()) return false;
            auto length = v->get_string().size();
            if (length > text.size() + distance || length + distance < text.size()) return false;
            return within_edit_distance(text, lower_ascii(v->get_string()), distance);
        };
    }

    result<predicate> operator()(const query::range_query& q) {
        auto a = lookup(q.field);
        if (!a) return a.error();
        std::optional<key> lo, hi;
        double hi_span = 0;
        if (q.lower) {
            auto k = query_key(**a, *q.lower);
            if (!k) return k.error();
            lo = k->first;
            // An exclusive lower date bound excludes the whole span it names.
            if (!q.include_lower && lo->numeric) lo->number += std::max(k->second, 1.0) - 1;
        }
        if (q.upper) {
            auto k = query_key(**a, *q.upper);
            if (!k) return k.error();
            hi = k->first;
            hi_span = k->second;
            // An inclusive upper date bound includes the whole span it names (to 2022-04-05 = to
            // the end of that day).
            if (q.include_upper && hi->numeric && hi_span > 1) hi->number += hi_span - 1;
        }
        bool il = q.include_lower, iu = q.include_upper;
        return on_value(*a, [lo, hi, il, iu](const key& v) {
            if (lo) {
                int c = compare(v, *lo);
                if (c < 0 || (c == 0 && !il)) return false;
            }
            if (hi) {
                int c = compare(v, *hi);
                if (c > 0 || (c == 0 && !iu)) return false;
            }
            return true;
        });
    }

    result<predicate> operator()(const query::exists_query& q) {
        auto a = lookup(q.field);
        if (!a) return a.error();
        return predicate([a = *a](const attribute_source& source) {
            auto v = source(*a);
            return v && !v->is_null();
        });
    }

    result<predicate> operator()(const query::match_all_query&) {
        return predicate([](const attribute_source&) { return true; });
    }

    result<predicate> operator()(const query::boolean_query& q) {
        std::vector<predicate> must, should, must_not;
        for (auto& c : q.clauses) {
            auto p = compile(c.query);
            if (!p) return p.error();
            (c.how == query::occur::must     ? must
             : c.how == query::occur::should ? should
                                             : must_not)
                .push_back(std::move(*p));
        }
        return predicate([must = std::move(must), should = std::move(should),
                          must_not = std::move(must_not)](const attribute_source& s) {
            for (auto& p : must)
                if (!p(s)) return false;
            for (auto& p : must_not)
                if (p(s)) return false;
            if (!must.empty() || should.empty()) return true;
            return std::any_of(should.begin(), should.end(), [&](auto& p) { return p(s); });
        });
    }

    result<predicate> compile(const query::node& n) {
        return std::visit([this](auto& q) { return (*this)(q); }, n.value);
    }
};

}  // namespace

result<object_filter> object_filter::compile(const model& m, const query::node& q,
                                             std::string_view param) {
    object_filter f;
    compiler c{m, f.attributes_, param};
    auto p = c.compile(q);
    if (!p) return p.error();
    f.predicate_ = std::move(*p);
    return f;
}

int compare_stored(const attribute& a, const json::value* x, const json::value* y) {
    auto kx = x && !x->is_null() ? stored_key(a, *x) : std::nullopt;
    auto ky = y && !y->is_null() ? stored_key(a, *y) : std::nullopt;
    if (!kx || !ky) return bool(kx) == bool(ky) ? 0 : kx ? -1 : 1;
    return compare(*kx, *ky);
}

std::optional<std::string> sort_key(const attribute& a, const json::value& v) {
    auto k = stored_key(a, v);
    if (!k) return std::nullopt;
    if (!k->numeric) return std::move(k->text);
    // IEEE 754 bits ordered as the numbers: negatives inverted, positives with the sign bit set;
    // -0 is 0, since the filter finds them equal.
    double d = k->number == 0 ? 0.0 : k->number;
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    bits = bits >> 63 ? ~bits : bits | (1ull << 63);
    std::string out;
    append_u64(out, bits);
    return out;
}

bool within_edit_distance(std::string_view a, std::string_view b, std::size_t max,
                          edit_distance_work* work) {
    if (a.size() > b.size()) std::swap(a, b);
    const std::size_t n = a.size(), m = b.size();
    if (m - n > max) return false;
    if (max >= m) return true;  // no distance exceeds the longer length
    // One row of the table, updated in place; cells outside the band hold `past`, which stands
    // for every distance over `max`. The extra cell lets each row close its band on the right.
    const std::size_t past = max + 1;
    std::vector<std::size_t> row(m + 2, past);
    for (std::size_t j = 0; j <= max; ++j)
        row[j] = j;
    std::size_t cells = 0;
    for (std::size_t i = 1; i <= n; ++i) {
        const std::size_t lo = i > max ? i - max : 0, hi = std::min(m, i + max);
        std::size_t j = lo, best = past;
        std::size_t diagonal, left;  // the previous row's cell at j-1, and this row's
        if (lo == 0) {
            diagonal = row[0];
            row[0] = left = best = i;
            j = 1;
        } else {
            diagonal = row[lo - 1];
            left = past;
        }
        for (; j <= hi; ++j) {
            const std::size_t up = row[j];
            const std::size_t here =
                std::min({up + 1, left + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0), past});
            row[j] = left = here;
            diagonal = up;
            best = std::min(best, here);
        }
        cells += hi + 1 - lo;
        if (hi < m) row[hi + 1] = past;  // the next row's band reaches one cell further
        // Distances never fall along a path through the table.
        if (best > max) {
            if (work) work->cells += cells;
            return false;
        }
    }
    if (work) work->cells += cells;
    return row[m] <= max;
}

}  // namespace audex::store
