// scripts/bench-aggregate's generator and client. `load` writes a deterministic set of sessions
// (a year of them, with users, servers, protocols, addresses and durations as an appliance sees
// them) into an Audex data directory through the object store, and the same sessions as CSV for
// PostgreSQL's COPY. `run` times statistics and histograms through Audex's HTTP API and the same
// answers from PostgreSQL through libpq, checks that both answer alike and prints the table.
#include "auth/user_directory.hpp"
#include "core/time.hpp"
#include "search/partitioned_store.hpp"
#include "store/object_store.hpp"

#include <libpq-fe.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace json = boost::json;
namespace beast = boost::beast;
namespace asio = boost::asio;
using namespace audex;

namespace {

constexpr micros us_second = 1'000'000;
constexpr micros year_start = 1'735'689'600 * us_second;  // 2025-01-01T00:00:00Z
constexpr int users = 2000, servers = 500;

// ---- the generator ---------------------------------------------------------------------------

struct protocol_share {
    const char* name;
    double weight;
    int port;
};
constexpr protocol_share protocols[] = {
    {"ssh", 50, 22},    {"rdp", 25, 3389},   {"http", 8, 443},    {"telnet", 4, 23},
    {"vnc", 4, 5900},   {"mysql", 3, 3306},  {"tds", 2, 1433},    {"tcp", 1.5, 8080},
    {"modbus", 1, 502}, {"tn3270", 0.5, 23}, {"tn5250", 0.5, 23}, {"system", 0.5, 0}};

struct session_row {
    micros started, finished;
    int protocol, user, server, status;
    std::uint32_t client_ip;
    int client_port;
};

const char* const statuses[] = {"approved", "rejected", "terminated", "disconnected"};
const char* const verdicts[] = {"ACCEPT", "REJECT", "TERMINATED", "DISCONNECTED"};

std::string ip_text(std::uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
           std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}
std::string user_name(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "user%04d", i);
    return b;
}
std::string server_name(int i) {
    char b[16];
    std::snprintf(b, sizeof b, "srv-%03d", i);
    return b;
}
std::uint32_t server_ip(int i) {
    return (10u << 24) | (1u << 16) | std::uint32_t(i);
}

// Sessions in start order: office hours on weekdays mostly, users and servers skewed (a few are
// busy, most are not), durations log-normal around ten minutes up to half a day.
std::vector<session_row> generate(std::size_t count) {
    std::mt19937_64 rng(20250101);
    std::uniform_real_distribution<double> unit(0, 1);
    std::normal_distribution<double> log_duration(6.4, 1.3);
    std::vector<double> weights;
    for (auto& p : protocols)
        weights.push_back(p.weight);
    std::discrete_distribution<int> protocol(weights.begin(), weights.end());
    std::discrete_distribution<int> status({90, 4, 3, 3});
    std::vector<session_row> out(count);
    for (auto& s : out) {
        int day = int(unit(rng) * 365);
        auto weekday = (day + 2) % 7;  // 2025-01-01 was a Wednesday; 5 and 6 are the weekend
        if (weekday >= 5 && unit(rng) < 0.7) day = (day + 2) % 365;
        double hour = unit(rng) < 0.85 ? 8 + unit(rng) * 10 : unit(rng) * 24;
        s.started = year_start + micros(day) * 86400 * us_second + micros(hour * 3600 * 1e6);
        auto seconds = std::min(43200.0, std::exp(log_duration(rng)));
        s.finished = s.started + micros(seconds * 1e6);
        s.protocol = protocol(rng);
        s.user = int(users * std::pow(unit(rng), 2.0));
        s.server = int(servers * std::pow(unit(rng), 1.5));
        s.status = status(rng);
        s.client_ip = (172u << 24) | (16u << 16) | std::uint32_t((s.user * 2 + int(unit(rng) * 2)));
        s.client_port = 1024 + int(unit(rng) * 64000);
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.started < b.started; });
    return out;
}

std::string sql_time(micros t) {
    return format_iso_time(t, 6);
}

int load(const std::string& dir, std::size_t count, const std::string& csv,
         const std::string& admin_password) {
    store::environment env(dir);
    store::object_store objects(env);
    search::partitioned_store partitions(env, env.directory() / "partitions", env.options());
    auth::user_directory directory(objects, auth::password_cost::minimum());
    auto& user_model = *find_model("user");
    auto& server_model = *find_model("server");
    auto& session_model = *find_model("session");
    std::vector<std::string> user_ids, server_ids;
    env.write([&](store::transaction& txn) {
        if (auto id = directory.add(txn, "admin", auth::role::superadmin, admin_password); !id)
            throw std::runtime_error(id.error().message);
        for (int i = 0; i < users; ++i) {
            auto id = objects.create(txn, user_model,
                                     {{"name", user_name(i)},
                                      {"role", "user"},
                                      {"organization", i % 10 ? "operations" : "contractors"}});
            user_ids.push_back(std::to_string(*id));
        }
        for (int i = 0; i < servers; ++i) {
            auto id = objects.create(
                txn, server_model, {{"name", server_name(i)}, {"address", ip_text(server_ip(i))}});
            server_ids.push_back(std::to_string(*id));
        }
    });
    auto rows = generate(count);
    std::ofstream out(csv);
    constexpr std::size_t batch = 10000;
    for (std::size_t first = 0; first < rows.size(); first += batch) {
        env.write([&](store::transaction& txn) {
            for (auto i = first; i < std::min(rows.size(), first + batch); ++i) {
                auto& r = rows[i];
                auto& p = protocols[r.protocol];
                json::object s{{"protocol", p.name},
                               {"user_id", user_ids[std::size_t(r.user)]},
                               {"server_id", server_ids[std::size_t(r.server)]},
                               {"started_at", r.started},
                               {"finished_at", r.finished},
                               {"source_ip", ip_text(r.client_ip)},
                               {"source_port", r.client_port},
                               {"destination_ip", ip_text(server_ip(r.server))},
                               {"destination_port", p.port},
                               {"status", statuses[r.status]},
                               {"dump_mode", "all"},
                               {"indexed", 2},
                               {"size", (r.finished - r.started) / 1000}};
                auto at = partitions.for_new(txn, r.started);
                auto id = at.sessions().create(at.txn, session_model, std::move(s));
                if (!id) throw std::runtime_error(id.error().message);
            }
        });
    }
    for (auto& r : rows)
        out << protocols[r.protocol].name << ',' << user_name(r.user) << ','
            << server_name(r.server) << ',' << ip_text(r.client_ip) << ',' << r.client_port << ','
            << protocols[r.protocol].port << ',' << verdicts[r.status] << ',' << sql_time(r.started)
            << ',' << sql_time(r.finished) << '\n';
    return out.good() ? 0 : 1;
}

// ---- the measurements ------------------------------------------------------------------------

// One keep-alive HTTP connection to Audex.
class audex_client {
  public:
    explicit audex_client(const std::string& port) : stream_(io_) {
        asio::ip::tcp::resolver resolver(io_);
        stream_.connect(resolver.resolve("127.0.0.1", port));
    }

    json::value call(beast::http::verb method, const std::string& target,
                     const std::string& body = {}) {
        beast::http::request<beast::http::string_body> req{method, target, 11};
        req.set(beast::http::field::host, "127.0.0.1");
        if (!token_.empty()) req.set(beast::http::field::authorization, token_);
        if (!body.empty()) {
            req.set(beast::http::field::content_type, "application/json");
            req.body() = body;
        }
        req.prepare_payload();
        beast::http::write(stream_, req);
        beast::http::response<beast::http::string_body> res;
        beast::http::read(stream_, buffer_, res);
        if (res.result_int() != 200)
            throw std::runtime_error(target + ": " + std::to_string(res.result_int()) + " " +
                                     res.body().substr(0, 300));
        return json::parse(res.body());
    }

    void login(const std::string& password) {
        auto r = call(beast::http::verb::post, "/api/system/login",
                      json::serialize(json::object{{"username", "admin"}, {"password", password}}));
        token_ = r.at("sessionid").as_string();
    }

  private:
    asio::io_context io_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::string token_;
};

std::string url_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || std::string_view("-_.~:").find(char(c)) != std::string_view::npos) {
            out.push_back(char(c));
        } else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", c);
            out += b;
        }
    }
    return out;
}

// One scenario: the same question to both, and their answers reduced to comparable rows.
struct scenario {
    std::string name, audex_target, sql;
    bool histogram;
};

// The rows of an answer: `value count` for statistics (then `others N`), `start active` per bin.
std::vector<std::string> audex_rows(const json::value& answer, bool histogram) {
    std::vector<std::string> out;
    if (histogram) {
        for (auto& b : answer.at("body").at("buckets").as_array())
            out.push_back(json::serialize(b.at("start_count")) + " " +
                          json::serialize(b.at("active_count")));
        return out;
    }
    for (auto& i : answer.at("items").as_array())
        out.push_back(std::string(i.at("value").as_string()) + " " +
                      json::serialize(i.at("count")));
    out.push_back("others " + json::serialize(answer.at("meta").at("others")));
    return out;
}

std::vector<std::string> pg_rows(PGresult* r, bool histogram) {
    std::vector<std::string> out;
    int n = PQntuples(r);
    for (int i = 0; i < n; ++i)
        out.push_back(std::string(PQgetvalue(r, i, 1)) + " " + PQgetvalue(r, i, 2));
    if (!histogram) {
        // Statistics rows: value, count, distinct values in all.
        for (int i = 0; i < n; ++i)
            out[std::size_t(i)] = std::string(PQgetvalue(r, i, 0)) + " " + PQgetvalue(r, i, 1);
        auto distinct = n ? std::stoll(PQgetvalue(r, 0, 2)) : 0;
        out.push_back("others " + std::to_string(distinct - n));
    }
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double time_ms(F&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<scenario> scenarios() {
    const std::string q = "protocol:(ssh OR rdp) AND NOT verdict:REJECT";
    const std::string q_sql = "protocol IN ('ssh', 'rdp') AND verdict <> 'REJECT'";
    const std::string june = "start=2025-06-01T00:00:00Z&end=2025-06-30T23:59:59Z";
    const std::string june_sql =
        "started_at <= '2025-06-30 23:59:59+00' AND finished_at >= '2025-06-01 00:00:00+00'";
    std::vector<scenario> out;
    for (auto [field, column] :
         {std::pair{"protocol", "protocol"}, std::pair{"user.name", "user_name"},
          std::pair{"server.name", "server_name"}}) {
        auto sql = [&](const std::string& where) {
            return "SELECT v, c, count(*) OVER () FROM (SELECT " + std::string(column) +
                   " AS v, count(*) AS c FROM sessions" + (where.empty() ? "" : " WHERE " + where) +
                   " GROUP BY 1) t ORDER BY c DESC, v LIMIT 10";
        };
        out.push_back({std::string("stats ") + field,
                       "/api/audit/sessions/stats?field=" + std::string(field), sql(""), false});
        out.push_back({std::string("stats ") + field + ", q, a month",
                       "/api/audit/sessions/stats?field=" + std::string(field) +
                           "&q=" + url_encode(q) + "&" + june,
                       sql(q_sql + " AND " + june_sql), false});
    }
    // Bins as Audex makes them in UTC: every bin of the window, zero bins included; a session
    // counts where it starts and in every bin its span touches.
    auto histogram_sql = [](const char* unit, const char* from, const char* to,
                            const std::string& where) {
        std::string w0 = std::string("timestamptz '") + from + "'",
                    w1 = std::string("timestamptz '") + to + "'";
        return "SELECT b, coalesce(x.s, 0), coalesce(x.a, 0) FROM generate_series(" + w0 + ", " +
               w1 + ", interval '1 " + unit +
               "') b LEFT JOIN (SELECT d, count(*) FILTER (WHERE d = date_trunc('" + unit +
               "', started_at)) AS s, count(*) AS a FROM sessions, LATERAL generate_series("
               "date_trunc('" +
               unit + "', greatest(started_at, " + w0 + ")), date_trunc('" + unit +
               "', least(finished_at, " + w1 + ")), interval '1 " + unit +
               "') d WHERE started_at <= " + w1 + " AND finished_at >= " + w0 +
               (where.empty() ? "" : " AND " + where) + " GROUP BY d) x ON x.d = b ORDER BY b";
    };
    for (bool with_q : {false, true}) {
        auto suffix = with_q ? "&q=" + url_encode(q) : std::string();
        auto where = with_q ? q_sql : std::string();
        out.push_back(
            {std::string("histogram, day bins over a year") + (with_q ? ", q" : ""),
             "/api/audit/sessions/histogram?bin_size=day&start=2025-01-01T00:00:00Z"
             "&end=2025-12-31T23:59:59Z" +
                 suffix,
             histogram_sql("day", "2025-01-01 00:00:00+00", "2025-12-31 23:59:59.999999+00", where),
             true});
        out.push_back({std::string("histogram, hour bins over a month") + (with_q ? ", q" : ""),
                       "/api/audit/sessions/histogram?bin_size=hour&" + june + suffix,
                       histogram_sql("hour", "2025-06-01 00:00:00+00",
                                     "2025-06-30 23:59:59.999999+00", where),
                       true});
    }
    return out;
}

int run(const std::string& port, const std::string& password, const std::string& conninfo,
        int rounds) {
    audex_client audex(port);
    audex.login(password);
    PGconn* pg = PQconnectdb(conninfo.c_str());
    if (PQstatus(pg) != CONNECTION_OK) {
        std::cerr << "PostgreSQL: " << PQerrorMessage(pg);
        return 1;
    }
    constexpr double target_ms = 20, target_ratio = 10;
    bool missed = false, differ = false;
    std::cout << "| scenario | Audex, HTTP (ms) | PostgreSQL 15 (ms) | PostgreSQL / Audex | "
                 "target: ≤ 20 ms, ≥ 10× |\n|---|---:|---:|---:|---|\n";
    for (auto& s : scenarios()) {
        json::value answer;
        std::vector<std::string> pg_answer;
        std::vector<double> audex_ms, pg_ms;
        for (int i = 0; i <= rounds; ++i) {  // round 0 warms up both
            auto a = time_ms([&] { answer = audex.call(beast::http::verb::get, s.audex_target); });
            PGresult* r = nullptr;
            auto p = time_ms([&] { r = PQexec(pg, s.sql.c_str()); });
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                std::cerr << s.name << ": " << PQerrorMessage(pg);
                return 1;
            }
            pg_answer = pg_rows(r, s.histogram);
            PQclear(r);
            if (i) {
                audex_ms.push_back(a);
                pg_ms.push_back(p);
            }
        }
        if (audex_rows(answer, s.histogram) != pg_answer) {
            std::cerr << s.name << ": Audex and PostgreSQL answer differently\n";
            differ = true;
        }
        auto a = median(audex_ms), p = median(pg_ms);
        bool ok = a <= target_ms && p / a >= target_ratio;
        missed = missed || !ok;
        char line[256];
        std::snprintf(line, sizeof line, "| %s | %.2f | %.1f | %.0f× | %s |\n", s.name.c_str(), a,
                      p, p / a, ok ? "pass" : "**miss**");
        std::cout << line;
    }
    PQfinish(pg);
    return missed || differ ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 5 && args[0] == "load")
            return load(args[1], std::stoul(args[2]), args[3], args[4]);
        if (args.size() == 5 && args[0] == "run")
            return run(args[1], args[2], args[3], std::stoi(args[4]));
    } catch (const std::exception& e) {
        std::cerr << "audex-bench-aggregate: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: audex-bench-aggregate load DATA_DIR SESSIONS CSV ADMIN_PASSWORD\n"
                 "       audex-bench-aggregate run PORT ADMIN_PASSWORD PG_CONNINFO ROUNDS\n";
    return 2;
}
