// audex-load: the load generator of Audex. Sends a weighted mix of API requests (scenario file,
// docs/load.md) over many keep-alive connections, plain or TLS, at a target rate or at full speed
// for a bounded time, and reports throughput, errors and latency percentiles as a table and JSON.
#include "load/report.hpp"
#include "load/scenario.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace audex::load;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// A setup step that cannot go on (bad URL, no login, no sessions): exit status 2.
struct setup_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct endpoint {
    bool tls = false;
    std::string host, port, prefix;
};

endpoint parse_endpoint(const std::string& url) {
    auto u = boost::urls::parse_uri(url);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
        throw setup_error("bad url \"" + url + "\": give http://HOST[:PORT] or https://...");
    endpoint e;
    e.tls = u->scheme() == "https";
    e.host = u->host();
    e.port = u->has_port() ? std::string(u->port()) : e.tls ? "443" : "80";
    e.prefix = u->encoded_path();
    while (!e.prefix.empty() && e.prefix.back() == '/')
        e.prefix.pop_back();
    return e;
}

std::string encode(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string iso_time(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

// One answer, or the step that failed when there is none.
struct answer {
    unsigned status = 0;
    std::string body;
    std::string failure;  // connect, tls, write, read or timeout; empty when answered
};

// One keep-alive connection; it connects when first used and again after the server closed it.
class connection {
  public:
    connection(net::any_io_executor ex, const endpoint& where, ssl::context& tls,
               const tcp::resolver::results_type& addresses, clock_type::duration timeout)
        : ex_(std::move(ex)),
          where_(where),
          tls_ctx_(tls),
          addresses_(addresses),
          timeout_(timeout) {}

    net::awaitable<answer> exchange(http::request<http::string_body>& req) {
        bool reused = open_;
        auto a = co_await attempt(req);
        // A kept-alive connection may have been closed by the server just before this request:
        // that request never reached it, so it is sent once more on a new connection.
        if (reused && (a.failure == "write" || a.failure == "closed")) a = co_await attempt(req);
        if (a.failure == "closed") a.failure = "read";
        co_return a;
    }

  private:
    net::awaitable<answer> attempt(http::request<http::string_body>& req) {
        answer a;
        if (!open_) {
            a.failure = co_await connect();
            if (!a.failure.empty()) co_return a;
        }
        if (tls_)
            a = co_await send(*tls_, req);
        else
            a = co_await send(*plain_, req);
        if (!a.failure.empty()) close();
        co_return a;
    }

    net::awaitable<std::string> connect() {
        close();
        beast::tcp_stream tcp_stream(ex_);
        tcp_stream.expires_after(timeout_);
        auto [ec, ep] = co_await tcp_stream.async_connect(addresses_, use_tuple);
        if (ec) co_return ec == beast::error::timeout ? "timeout" : "connect";
        tcp_stream.socket().set_option(tcp::no_delay(true));
        if (where_.tls) {
            tls_.emplace(std::move(tcp_stream), tls_ctx_);
            auto [hec] = co_await tls_->async_handshake(ssl::stream_base::client, use_tuple);
            if (hec) {
                close();
                co_return hec == beast::error::timeout ? "timeout" : "tls";
            }
        } else {
            plain_.emplace(std::move(tcp_stream));
        }
        open_ = true;
        co_return "";
    }

    template <class Stream>
    net::awaitable<answer> send(Stream& stream, http::request<http::string_body>& req) {
        answer a;
        beast::get_lowest_layer(stream).expires_after(timeout_);
        auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
        if (wec) {
            a.failure = wec == beast::error::timeout ? "timeout" : "write";
            co_return a;
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(256 * 1024 * 1024);
        auto [rec, read] = co_await http::async_read(stream, buffer_, parser, use_tuple);
        if (rec) {
            a.failure = rec == beast::error::timeout                     ? "timeout"
                        : rec == http::error::end_of_stream && read == 0 ? "closed"
                                                                         : "read";
            co_return a;
        }
        auto res = parser.release();
        a.status = res.result_int();
        a.body = std::move(res.body());
        if (!res.keep_alive()) close();
        co_return a;
    }

    void close() {
        if (tls_) beast::get_lowest_layer(*tls_).close();
        if (plain_) plain_->close();
        tls_.reset();
        plain_.reset();
        buffer_.clear();
        open_ = false;
    }

    net::any_io_executor ex_;
    const endpoint& where_;
    ssl::context& tls_ctx_;
    const tcp::resolver::results_type& addresses_;
    clock_type::duration timeout_;
    bool open_ = false;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
};

// The error type of an answer: empty for a success, else the type of its JSON error body.
std::string error_type(const answer& a) {
    if (a.status >= 200 && a.status < 300) return "";
    boost::system::error_code ec;
    auto v = json::parse(a.body, ec);
    if (!ec && v.is_object())
        if (auto* e = v.get_object().if_contains("error"); e && e->is_object())
            if (auto* t = e->get_object().if_contains("type"); t && t->is_string())
                return std::string(t->get_string());
    return "HTTP " + std::to_string(a.status);
}

// Words of the generated content: commands, screens and window titles of administrators at work,
// so that content searches for them (sudo, iptables, /etc/shadow, nginx) find records.
constexpr std::string_view commands[] = {"sudo systemctl restart nginx",
                                         "cat /etc/shadow",
                                         "tail -f /var/log/syslog",
                                         "ls -la /home/admin",
                                         "ps aux | grep java",
                                         "iptables -L -n",
                                         "ssh backup@10.0.0.7",
                                         "vi /etc/hosts",
                                         "df -h",
                                         "docker ps",
                                         "psql -U postgres sales",
                                         "kubectl get pods -n prod",
                                         "journalctl -u sshd",
                                         "chmod 600 id_rsa",
                                         "crontab -e"};
constexpr std::string_view titles[] = {"Terminal - nginx.service", "Registry Editor",
                                       "Server Manager", "Event Viewer", "root@db01: ~"};
constexpr std::string_view protocols[] = {"ssh", "ssh", "ssh", "rdp", "rdp", "telnet", "vnc"};

// State shared by the connections of a run; the run is single-threaded, so nothing is locked.
struct run {
    run(const scenario& s, std::uint64_t seed)
        : sc(s),
          where(parse_endpoint(s.url)),
          token(s.token),
          session_ids(s.session_ids),
          rng(seed) {
        tls.set_verify_mode(ssl::verify_none);  // appliances present self-signed certificates
    }

    const scenario& sc;
    endpoint where;
    ssl::context tls{ssl::context::tls_client};
    tcp::resolver::results_type addresses;
    std::string token;
    std::vector<std::string> session_ids;
    std::mt19937_64 rng;
    std::uint64_t record_id = 0;
    std::optional<recorder> rec;
    std::vector<std::size_t> logout_kind;  // per mix entry: the report kind of its logouts
    clock_type::time_point start, end;
    std::uint64_t next_slot = 0;

    http::request<http::string_body> request(http::verb verb, const std::string& target,
                                             const std::string& auth = "") {
        http::request<http::string_body> req{verb, where.prefix + target, 11};
        req.set(http::field::host, where.host);
        req.set(http::field::user_agent, "audex-load");
        if (!auth.empty()) req.set(http::field::authorization, auth);
        req.keep_alive(true);
        return req;
    }

    void json_body(http::request<http::string_body>& req, const json::value& body) {
        req.set(http::field::content_type, "application/json");
        req.body() = json::serialize(body);
        req.prepare_payload();
    }

    const std::string& any_session() {
        return session_ids[std::uniform_int_distribution<std::size_t>(0,
                                                                      session_ids.size() - 1)(rng)];
    }

    template <class T, std::size_t N>
    std::string_view any(const T (&items)[N]) {
        return items[std::uniform_int_distribution<std::size_t>(0, N - 1)(rng)];
    }

    // `count` content records of a session at work: commands, screens and window titles.
    json::array records(unsigned count) {
        json::array out;
        auto now = std::time(nullptr);
        for (unsigned i = 0; i < count; ++i) {
            auto id = ++record_id;
            json::object r{{"channel_id", 0},
                           {"start_time", iso_time(now)},
                           {"end_time", iso_time(now + 1)},
                           {"record_id", {{"begin", id}, {"end", id}, {"for_screenshot", id}}}};
            switch (id % 4) {
                case 0:
                    r["type"] = "window_title";
                    r["text"] = any(titles);
                    break;
                case 1: {
                    r["type"] = "screen";
                    std::string screen = "admin@host:~$ " + std::string(any(commands)) + "\n";
                    for (int l = 0; l < 4; ++l)
                        screen += std::string(any(commands)) + " ok\n";
                    r["text"] = screen;
                    break;
                }
                default:
                    r["type"] = "command";
                    r["text"] = "admin@host:~$ " + std::string(any(commands));
            }
            out.push_back(std::move(r));
        }
        return out;
    }

    // The path and query of a request of the mix that reads.
    std::string read_target(const mix_entry& e) {
        std::string path;
        switch (e.kind) {
            case request_kind::search:
                path = "/api/audit/sessions";
                break;
            case request_kind::content_search:
                path = "/api/audit/sessions/" + any_session() + "/content";
                break;
            case request_kind::stats:
                path = "/api/audit/sessions/stats";
                break;
            case request_kind::histogram:
                path = "/api/audit/sessions/histogram";
                break;
            case request_kind::get:
                path = "/api/v2/session/" + any_session();
                break;
            case request_kind::list:
                path = "/api/v2/session";
                break;
            default:
                break;
        }
        char sep = '?';
        for (const auto& [k, v] : e.params) {
            path += sep + encode(k) + "=" + encode(v);
            sep = '&';
        }
        return path;
    }

    double since_start(clock_type::time_point t) const {
        return std::chrono::duration<double>(t - start).count();
    }

    void record(std::size_t kind, const answer& a, clock_type::time_point sent) {
        auto now = clock_type::now();
        if (!a.failure.empty()) return rec->failed(kind, a.failure, since_start(now));
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - sent).count();
        rec->answered(kind, a.status, error_type(a),
                      static_cast<std::uint64_t>(std::max<long long>(0, us)), since_start(now));
    }

    // Sends one request of entry `i` of the mix; its latency counts from `intended`.
    net::awaitable<void> send(connection& conn, std::size_t i, clock_type::time_point intended) {
        const auto& e = sc.mix[i];
        if (e.kind == request_kind::login) {
            auto req = request(http::verb::post, "/api/system/login");
            json_body(req, json::object{{"username", sc.username}, {"password", sc.password}});
            auto a = co_await conn.exchange(req);
            record(i, a, intended);
            // A login is followed by its logout, as a user's visit ends, so that the server's
            // login sessions do not pile up over a long run.
            boost::system::error_code ec;
            auto v = json::parse(a.body, ec);
            const json::value* session =
                ec || !v.is_object() ? nullptr : v.get_object().if_contains("sessionid");
            if (a.status != 200 || !session || !session->is_string()) co_return;
            auto out =
                request(http::verb::post, "/api/system/logout", std::string(session->get_string()));
            out.prepare_payload();
            auto sent = clock_type::now();
            record(logout_kind[i], co_await conn.exchange(out), sent);
            co_return;
        }
        if (e.kind == request_kind::ingest) {
            auto req =
                request(http::verb::post, "/api/v2/session/" + any_session() + "/content", token);
            json_body(req, records(e.records));
            record(i, co_await conn.exchange(req), intended);
            co_return;
        }
        auto req = request(http::verb::get, read_target(e), token);
        req.prepare_payload();
        record(i, co_await conn.exchange(req), intended);
    }

    // One connection's share of the run: at a target rate, the next free slot of the schedule
    // (slot n is due n / rate seconds after the start, whichever connection sends it), so that a
    // slow answer delays the requests behind it and their latencies show it; at full speed, the
    // next request as soon as the last is answered.
    net::awaitable<void> worker(connection conn) {
        net::steady_timer timer(co_await net::this_coro::executor);
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        for (;;) {
            auto intended = clock_type::now();
            if (sc.rate > 0) {
                intended = start + std::chrono::duration_cast<clock_type::duration>(
                                       std::chrono::duration<double>(next_slot++ / sc.rate));
                if (intended >= end) break;
                if (intended > clock_type::now()) {
                    timer.expires_at(intended);
                    co_await timer.async_wait(use_tuple);
                }
            } else if (intended >= end) {
                break;
            }
            co_await send(conn, sc.pick(uniform(rng)), intended);
        }
    }

    // Requests of the preparation must succeed: the first that does not ends the run.
    net::awaitable<json::value> must(connection& conn, http::request<http::string_body>& req,
                                     std::string_view what) {
        auto a = co_await conn.exchange(req);
        if (!a.failure.empty()) throw setup_error(std::string(what) + ": " + a.failure + " failed");
        if (a.status != 200)
            throw setup_error(std::string(what) + ": HTTP " + std::to_string(a.status) + " " +
                              a.body.substr(0, 300));
        co_return json::parse(a.body);
    }

    // Logs in, then creates the sessions and content the scenario asks for, or finds the ones to
    // use.
    net::awaitable<void> prepare(clock_type::duration timeout) {
        connection conn(co_await net::this_coro::executor, where, tls, addresses, timeout);
        if (token.empty() && !sc.username.empty()) {
            auto req = request(http::verb::post, "/api/system/login");
            json_body(req, json::object{{"username", sc.username}, {"password", sc.password}});
            auto v = co_await must(conn, req, "login as " + sc.username);
            token = v.at("sessionid").as_string();
        }
        if (token.empty())
            throw setup_error("no credentials: give a token, or a user and password");
        auto now = std::time(nullptr);
        for (unsigned n = 0; n < sc.prepare_sessions; ++n) {
            // Spread over the last 30 days, so that histograms and time windows have data.
            auto started = now - std::uniform_int_distribution<std::time_t>(600, 30 * 86400)(rng);
            auto ip = [&](int a) {
                return std::to_string(a) + "." + std::to_string(n / 65536 % 256) + "." +
                       std::to_string(n / 256 % 256) + "." + std::to_string(n % 256);
            };
            auto req = request(http::verb::post, "/api/v2/session", token);
            json_body(req, json::object{{"protocol", any(protocols)},
                                        {"started_at", iso_time(started)},
                                        {"finished_at", iso_time(started + 60 + n % 3600)},
                                        {"source_ip", ip(10)},
                                        {"source_port", 40000 + n % 20000},
                                        {"destination_ip", ip(192)},
                                        {"destination_port", 22},
                                        {"status", "disconnected"},
                                        {"dump_mode", "all"}});
            auto v = co_await must(conn, req, "creating a session");
            auto id = std::string(v.at("session").at("id").as_string());
            for (unsigned done = 0; done < sc.prepare_records;) {
                unsigned batch = std::min(500u, sc.prepare_records - done);
                auto ingest =
                    request(http::verb::post, "/api/v2/session/" + id + "/content", token);
                json_body(ingest, records(batch));
                co_await must(conn, ingest, "ingesting content");
                done += batch;
            }
            session_ids.push_back(std::move(id));
        }
        bool needs_sessions = false;
        for (const auto& e : sc.mix)
            needs_sessions |= e.kind == request_kind::get || e.kind == request_kind::ingest ||
                              e.kind == request_kind::content_search;
        if (session_ids.empty() && needs_sessions) {
            auto req = request(http::verb::get, "/api/v2/session?limit=10000&fields=id", token);
            req.prepare_payload();
            auto v = co_await must(conn, req, "listing the sessions");
            for (const auto& s : v.at("session").as_array())
                session_ids.emplace_back(s.at("id").as_string());
            if (session_ids.empty())
                throw setup_error("the server holds no session to use: prepare some");
        }
    }
};

// Runs a coroutine to its end on `ctx`, passing on what it threw.
void run_to_end(net::io_context& ctx, net::awaitable<void> task) {
    std::exception_ptr failure;
    net::co_spawn(ctx, std::move(task), [&](std::exception_ptr e) { failure = e; });
    ctx.run();
    ctx.restart();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"audex-load: sends a weighted mix of Audex API requests and reports latencies"};
    std::string scenario_file, json_out, url, user, password, token;
    std::optional<unsigned> connections;
    std::optional<double> duration, rate, interval;
    bool no_prepare = false;
    std::uint64_t seed = 1;
    cli.add_option("scenario", scenario_file, "Scenario file (JSON, see docs/load.md)")
        ->required()
        ->check(CLI::ExistingFile);
    cli.add_option("--url", url, "Server URL, e.g. https://127.0.0.1:8443 (overrides the file)");
    cli.add_option("--user", user, "User name to log in as (overrides the file)");
    cli.add_option("--password", password, "Password of --user")->envname("AUDEX_LOAD_PASSWORD");
    cli.add_option("--token", token, "API key or login token instead of a user")
        ->envname("AUDEX_LOAD_TOKEN");
    cli.add_option("-c,--connections", connections, "Connections")->check(CLI::Range(1, 10000));
    cli.add_option("-d,--duration", duration, "Seconds of sending")->check(CLI::PositiveNumber);
    cli.add_option("-r,--rate", rate, "Requests a second in all; 0: full speed")
        ->check(CLI::NonNegativeNumber);
    cli.add_option("--interval", interval, "Seconds per interval of the JSON time series")
        ->check(CLI::NonNegativeNumber);
    cli.add_flag("--no-prepare", no_prepare, "Skip the scenario's data preparation");
    cli.add_option("--seed", seed, "Seed of the random choices")->capture_default_str();
    cli.add_option("--json", json_out, "Write the JSON report to this file ('-': stdout)");
    CLI11_PARSE(cli, argc, argv);

    try {
        std::ifstream in(scenario_file);
        std::stringstream text;
        text << in.rdbuf();
        auto sc = parse_scenario(text.str());
        if (!url.empty()) sc.url = url;
        if (!user.empty()) sc.username = user;
        if (!password.empty()) sc.password = password;
        if (!token.empty()) sc.token = token;
        if (connections) sc.connections = *connections;
        if (duration) sc.duration = *duration;
        if (rate) sc.rate = *rate;
        if (interval) sc.interval = *interval;
        if (no_prepare) sc.prepare_sessions = 0;
        for (const auto& e : sc.mix)
            if (e.kind == request_kind::login && (sc.username.empty() || sc.password.empty()))
                throw setup_error("the mix has logins: give a user and a password");

        run r(sc, seed);
        std::vector<std::string> kinds;
        for (const auto& e : sc.mix)
            kinds.push_back(e.name);
        for (const auto& e : sc.mix) {
            r.logout_kind.push_back(kinds.size());
            if (e.kind == request_kind::login) kinds.push_back(e.name + ".logout");
        }
        r.rec.emplace(kinds, sc.interval);

        net::io_context ctx(1);
        tcp::resolver resolver(ctx);
        boost::system::error_code ec;
        r.addresses = resolver.resolve(r.where.host, r.where.port, ec);
        if (ec) throw setup_error("cannot resolve " + r.where.host + ": " + ec.message());
        auto timeout = std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>(sc.timeout));
        run_to_end(ctx, r.prepare(timeout));
        if (sc.prepare_sessions)
            std::cerr << "audex-load: prepared " << sc.prepare_sessions << " sessions with "
                      << sc.prepare_records << " content records each\n";

        r.start = clock_type::now();
        r.end = r.start + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(sc.duration));
        for (unsigned i = 0; i < sc.connections; ++i)
            net::co_spawn(
                ctx, r.worker(connection(ctx.get_executor(), r.where, r.tls, r.addresses, timeout)),
                net::detached);
        ctx.run();

        recorder::run_info info{.url = sc.url,
                                .connections = sc.connections,
                                .target_rate = sc.rate,
                                .duration = sc.duration,
                                .elapsed = r.since_start(clock_type::now())};
        auto report = json::serialize(r.rec->to_json(info));
        (json_out == "-" ? std::cerr : std::cout) << r.rec->table(info);
        if (json_out == "-") {
            std::cout << report << "\n";
        } else if (!json_out.empty()) {
            std::ofstream(json_out) << report << "\n";
        }
        return r.rec->errors() ? 1 : 0;
    } catch (const scenario_error& e) {
        std::cerr << "audex-load: " << scenario_file << ": " << e.what() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "audex-load: " << e.what() << "\n";
    }
    return 2;
}
