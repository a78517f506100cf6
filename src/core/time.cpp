// Parsing and writing of timestamps (see time.hpp).
#include "core/time.hpp"

#include <date/date.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace audex {

namespace {
constexpr micros us_per_second = 1'000'000;

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (int i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    pos += n;
    return true;
}
}  // namespace

micros now_micros() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<parsed_time> parse_time(std::string_view s) {
    std::size_t pos = 0;
    int year, month, day, hour = 0, minute = 0, second = 0;
    micros fraction = 0, precision = 86400 * us_per_second;
    if (!digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' ||
        !digits(s, pos, 2, month) || pos >= s.size() || s[pos++] != '-' || !digits(s, pos, 2, day))
        return std::nullopt;
    date::year_month_day ymd{date::year{year}, date::month(month), date::day(day)};
    if (!ymd.ok()) return std::nullopt;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
        ++pos;
        if (!digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' ||
            !digits(s, pos, 2, minute) || hour > 23 || minute > 59)
            return std::nullopt;
        precision = 60 * us_per_second;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!digits(s, pos, 2, second) || second > 60) return std::nullopt;
            precision = us_per_second;
            if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
                ++pos;
                micros scale = us_per_second;
                std::size_t start = pos;
                while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
                    if (scale > 1) {
                        scale /= 10;
                        fraction += (s[pos] - '0') * scale;
                    }
                    ++pos;
                }
                if (pos == start) return std::nullopt;
                precision = std::max<micros>(scale, 1);
            }
        }
    }
    micros offset = 0;
    if (pos < s.size()) {
        char sign = s[pos];
        if (sign == 'Z' || sign == 'z') {
            ++pos;
        } else if (sign == '+' || sign == '-') {
            ++pos;
            int oh, om = 0;
            if (!digits(s, pos, 2, oh) || oh > 23) return std::nullopt;
            // `+HH:` must go on with the minutes.
            bool colon = pos < s.size() && s[pos] == ':';
            if (colon) ++pos;
            if ((colon || pos < s.size()) && (!digits(s, pos, 2, om) || om > 59))
                return std::nullopt;
            offset = (oh * 3600 + om * 60) * us_per_second * (sign == '-' ? -1 : 1);
        }
    }
    if (pos != s.size()) return std::nullopt;
    micros days = date::sys_days(ymd).time_since_epoch().count();
    micros at = ((days * 24 + hour) * 60 + minute) * 60 * us_per_second + second * us_per_second +
                fraction - offset;
    return parsed_time{at, precision};
}

namespace {
struct broken_down {
    int year;
    unsigned month, day;
    int hour, minute, second;
    micros fraction;
};

broken_down split(micros t) {
    micros secs = t / us_per_second, frac = t % us_per_second;
    if (frac < 0) {
        frac += us_per_second;
        --secs;
    }
    micros days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    date::year_month_day ymd{date::sys_days{date::days{days}}};
    return {int(ymd.year()),
            unsigned(ymd.month()),
            unsigned(ymd.day()),
            int(rem / 3600),
            int(rem / 60 % 60),
            int(rem % 60),
            frac};
}
}  // namespace

std::string format_api_time(micros t) {
    auto b = split(t);
    if (b.year < 0 || b.year > 9999) {  // outside what parse_time reads: no fast path needed
        char buf[64];
        std::snprintf(buf, sizeof buf, "%d-%02u-%02u %02d:%02d:%02d+00", b.year, b.month, b.day,
                      b.hour, b.minute, b.second);
        return buf;
    }
    // Written digit by digit: this runs for every date-time of every listed object.
    char buf[32];
    auto put = [&](char* at, long value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10)
            at[i] = char('0' + value % 10);
    };
    put(buf, b.year, 4);
    buf[4] = '-';
    put(buf + 5, b.month, 2);
    buf[7] = '-';
    put(buf + 8, b.day, 2);
    buf[10] = ' ';
    put(buf + 11, b.hour, 2);
    buf[13] = ':';
    put(buf + 14, b.minute, 2);
    buf[16] = ':';
    put(buf + 17, b.second, 2);
    std::size_t n = 19;
    if (b.fraction) {
        buf[n++] = '.';
        put(buf + n, long(b.fraction), 6);
        n += 6;
        while (buf[n - 1] == '0')
            --n;
    }
    buf[n++] = '+';
    buf[n++] = '0';
    buf[n++] = '0';
    return std::string(buf, n);
}

std::string format_iso_time(micros t, int digits, bool zulu) {
    auto b = split(t);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", b.year, b.month, b.day,
                          b.hour, b.minute, b.second);
    if (digits == 3)
        n += std::snprintf(buf + n, sizeof buf - n, ".%03lld",
                           static_cast<long long>(b.fraction / 1000));
    else if (digits == 6)
        n += std::snprintf(buf + n, sizeof buf - n, ".%06lld", static_cast<long long>(b.fraction));
    if (zulu) std::snprintf(buf + n, sizeof buf - n, "Z");
    return buf;
}

micros add_months(micros t, int months) {
    auto day_length = 86400 * us_per_second;
    auto days = t / day_length - (t % day_length < 0 ? 1 : 0);
    auto time_of_day = t - days * day_length;
    date::year_month_day ymd{date::sys_days{date::days{days}}};
    auto ym = date::year_month(ymd.year(), ymd.month()) + date::months(months);
    auto day = std::min(ymd.day(), (ym / date::last).day());
    return micros(date::sys_days(ym / day).time_since_epoch().count()) * day_length + time_of_day;
}

std::string format_iso_time_at_offset(micros t, std::int32_t offset_seconds, int digits) {
    auto out = format_iso_time(t + micros(offset_seconds) * us_per_second, digits, false);
    auto minutes = std::abs(offset_seconds) / 60;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_seconds < 0 ? '-' : '+',
                  minutes / 60 % 100, minutes % 60);
    return out + buf;
}

}  // namespace audex
