// The application: routes, authentication, body parsing and error answers.
#include "api/app.hpp"

#include "api/audit/routes.hpp"
#include "api/params.hpp"
#include "api/request.hpp"
#include "api/v2/batch.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "store/lmdb.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <atomic>

// GCC 12 reports Asio's coroutine frames, which Asio allocates and frees with its own recycling
// allocator, as mismatched new/delete once a co_await of another awaitable is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace audex::api {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

[[noreturn]] void fail(api_error e) {
    throw api_exception(std::move(e));
}

[[noreturn]] void unauthenticated(std::string message) {
    fail({error_type::unauthenticated, std::move(message), {}});
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    return true;
}

// The value of cookie `name`, if the request has one.
std::optional<std::string_view> cookie(const http::request_header& head, std::string_view name) {
    auto range = head.equal_range(bhttp::field::cookie);
    for (auto field = range.first; field != range.second; ++field) {
        std::string_view rest = field->value();
        while (!rest.empty()) {
            auto semi = rest.find(';');
            auto pair = trim(rest.substr(0, semi));
            auto eq = pair.find('=');
            if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name)
                return trim(pair.substr(eq + 1));
            if (semi == std::string_view::npos) break;
            rest.remove_prefix(semi + 1);
        }
    }
    return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view encoded) {
    std::string decoded(encoded.size(), '\0');
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                          encoded.data(), encoded.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return std::nullopt;
    decoded.resize(length);
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

std::string request_id() {
    static std::atomic<std::uint64_t> counter{0};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx",
                  static_cast<unsigned long long>(counter.fetch_add(1) ^
                                                  (std::uint64_t(now_micros()) << 20)));
    return buf;
}

}  // namespace

json::object audit_meta(const request_context& ctx) {
    json::object m{{"href", ctx.path}, {"parent", ctx.path.substr(0, ctx.path.rfind('/'))}};
    if (ctx.cred.remaining) m["remaining_seconds"] = ctx.cred.remaining->count();
    return m;
}

http::reply json_reply(unsigned status, const json::value& body) {
    return json_text_reply(status, to_json_text(body));
}

http::reply json_text_reply(unsigned status, std::string body) {
    http::reply r;
    r.head.result(status);
    r.head.set(bhttp::field::content_type, "application/json");
    r.head.body() = std::move(body);
    return r;
}

http::reply error_reply(const api_error& error, const json::object* meta) {
    auto body = error_object(error);
    if (meta) body["meta"] = *meta;
    return json_reply(error_status(error.type), body);
}

app::app(app_settings settings, store::environment& env)
    : settings_(std::move(settings)),
      env_(env),
      domain_(env, {settings_.password_cost, settings_.session_timeout, settings_.node_serial,
                    settings_.content_grace}),
      workers_(std::max(1u, settings_.workers)),
      ingest_workers_(std::max(1u, settings_.ingest_workers)),
      writer_(env),
      activity_(env, settings_.activity_flush_delay) {
    auto bind = [this](auto fn) {
        return [this, fn](request_context& ctx) { return (this->*fn)(ctx); };
    };
    // Login verifies a password (argon2): on a worker.
    add(verb::post, "/api/system/login", family::system, bind(&app::login),
        {.authenticate = false});
    add(verb::post, "/api/system/logout", family::system, bind(&app::logout),
        {.on_io_thread = true});
    add(verb::get, "/api/authentication", family::audit, bind(&app::authentication),
        {.authenticate = false, .on_io_thread = true});
    add(verb::delete_, "/api/authentication", family::audit, bind(&app::logout),
        {.on_io_thread = true});

    add_async(verb::post, "/api/v2/batch", family::v2, bind(&app::batch));
    add_async(verb::post, "/api/v2/session/{}/content", family::v2, bind(&app::ingest_content),
              {.ndjson = true});
    add(verb::get, "/api/audit/sessions/{}/content", family::audit, bind(&app::audit_content));
    add(verb::get, "/api/audit/sessions/{}/events", family::audit, bind(&app::audit_events));
    add(verb::get, "/api/audit/sessions/{}/alerts", family::audit, bind(&app::audit_alerts));
    add(verb::get, "/api/audit/activity", family::audit, bind(&app::audit_activity));
    add(verb::get, "/api/system/storage", family::system, bind(&app::storage));
    add_async(verb::post, "/api/system/storage/{}/seal", family::system, bind(&app::seal));
    add_async(verb::post, "/api/system/storage/{}/unseal", family::system, bind(&app::seal));
    audit::register_sessions(*this, domain_.search);
    audit::register_stats(*this, domain_.search);
    audit::register_histogram(*this, domain_.search);
    add_async(verb::get, "/api/v2/objspec/{}", family::v2, bind(&app::v2));
    add_async(verb::post, "/api/v2/session_backup", family::v2, bind(&app::v2));
    add_async(verb::post, "/api/v2/session/{}/backup/{}", family::v2, bind(&app::v2));
    add_async(verb::post, "/api/v2/user/{}/api_key", family::v2, bind(&app::v2));
    add_async(verb::delete_, "/api/v2/user/{}/api_key", family::v2, bind(&app::v2));
    purge_pending();  // purges and merges that a stop interrupted go on
    merge_content();
    purge_logins();
    seal_due();
    for (auto& [name, m] : models()) {
        if (!m.find("id")) continue;
        auto collection = "/api/v2/" + name, item = collection + "/{}";
        for (auto method : {verb::get, verb::post})
            add_async(method, collection, family::v2, bind(&app::v2));
        for (auto method : {verb::get, verb::patch, verb::delete_})
            add_async(method, item, family::v2, bind(&app::v2));
    }
}

app::~app() {
    stopping_ = true;
    boost::asio::post(login_purge_.get_executor(), [this] { login_purge_.cancel(); });
    maintenance_.join();
    workers_.join();
    ingest_workers_.join();
}

void app::purge_logins() {
    login_purge_.expires_after(settings_.login_purge_interval);
    login_purge_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        if (auto n = domain_.logins.purge_expired()) spdlog::debug("purged {} expired logins", n);
        seal_due();
        try {
            if (auto n = env_.clear_stale_readers())
                spdlog::warn("freed {} LMDB reader slots of processes that died", n);
        } catch (const std::exception& e) {
            spdlog::error("checking LMDB reader slots failed: {}", e.what());
        }
        purge_logins();
    });
}

void app::purge_pending() {
    std::vector<std::uint64_t> pending;
    {
        auto txn = env_.read();
        pending = domain_.partitions.pending_purges(txn);
    }
    std::lock_guard lock(maintenance_mutex_);
    for (auto session : pending) {
        if (!purging_.insert(session).second) continue;  // already on its way
        boost::asio::post(maintenance_, [this, session] {
            try {
                // Bounded steps, each its own transaction, so that ingestion goes on between them;
                // the purge mark goes after the last step.
                for (bool done = false; !done && !stopping_;)
                    done = domain_.partitions.purge_step(session);
            } catch (const std::exception& e) {
                spdlog::error("purging the content of session {} failed: {}", session, e.what());
            }
            std::lock_guard lock(maintenance_mutex_);
            purging_.erase(session);
        });
    }
}

void app::seal_due() {
    if (settings_.seal_after.count() == 0) return;
    const auto now = now_micros();
    const auto after = std::chrono::duration_cast<std::chrono::microseconds>(settings_.seal_after);
    std::vector<search::partition_info> partitions;
    try {
        partitions = domain_.partitions.describe();
    } catch (const std::exception& e) {
        spdlog::error("looking for partitions to seal failed: {}", e.what());
        return;
    }
    for (auto& p : partitions) {
        if (p.sealed || now - store::partition_span(p.name)->second < after.count() ||
            now - p.written < after.count())
            continue;
        {
            std::lock_guard lock(maintenance_mutex_);
            auto tried = seal_tried_.find(p.name);
            if (tried != seal_tried_.end() &&
                std::chrono::steady_clock::now() - tried->second < std::chrono::hours(1))
                continue;
            seal_tried_[p.name] = std::chrono::steady_clock::now();
        }
        boost::asio::post(maintenance_, [this, name = p.name] {
            try {
                auto grace =
                    std::chrono::duration_cast<std::chrono::microseconds>(settings_.content_grace);
                if (auto ok = domain_.partitions.seal(name, now_micros(), grace.count()); ok)
                    spdlog::info("partition {} sealed", name);
                else
                    spdlog::info("{}; trying again in an hour", ok.error().message);
            } catch (const std::exception& e) {
                spdlog::error("sealing partition {} failed: {}", name, e.what());
            }
        });
    }
}

void app::merge_content() {
    {
        std::lock_guard lock(maintenance_mutex_);
        if (merging_) {
            merge_again_ = true;  // the running merge may have looked before this write
            return;
        }
        merging_ = true;
    }
    boost::asio::post(maintenance_, [this] {
        for (;;) {
            try {
                domain_.partitions.merge_all([this] { return stopping_.load(); });
            } catch (const std::exception& e) {
                spdlog::error("merging content segments failed: {}", e.what());
            }
            std::lock_guard lock(maintenance_mutex_);
            if (!merge_again_ || stopping_) {
                merging_ = false;
                return;
            }
            merge_again_ = false;
        }
    });
}

void app::after_write(bool policies_changed) {
    // The write has committed: a failure here must not answer an error, or the client would write
    // it again. What is left undone is stored (the policies' generation, the pending purges), so
    // the next write or the next start does it.
    auto run = [](const char* what, auto&& work) {
        try {
            work();
        } catch (const std::exception& e) {
            spdlog::error("after a committed write, {} failed: {}", what, e.what());
        }
    };
    // One read each, unless the write changed a content policy or removed a session.
    run("refreshing the content policies", [&] { domain_.policies.refresh(policies_changed); });
    run("scheduling purges", [this] { purge_pending(); });
}

void app::add(verb method, std::string_view pattern, family fam, handler fn,
              route_options options) {
    router_.add(method, pattern, route{std::move(fn), nullptr, fam, options});
}

void app::add_async(verb method, std::string_view pattern, family fam, async_handler fn,
                    route_options options) {
    router_.add(method, pattern, route{nullptr, std::move(fn), fam, options});
}

std::uint64_t app::body_limit(const http::request_header& head) const {
    // Recorders send session content in bulk: POST /api/v2/session/<id>/content has its own limit.
    if (head.method() != verb::post) return settings_.body_limit;
    std::string_view target = head.target();
    auto segments = path_segments(target.substr(0, target.find('?')));
    if (segments.size() == 5 && segments[0] == "api" && segments[1] == "v2" &&
        segments[2] == "session" && segments[4] == "content")
        return settings_.content_body_limit;
    return settings_.body_limit;
}

// ---- authentication --------------------------------------------------------------------------

http::net::awaitable<http::admission> app::admit(const http::request_header& head,
                                                 const http::connection_info& conn) {
    auto cred = co_await check_credentials(head, conn);
    // Only a client that proved who it is may make the server hold a large body; login bodies
    // are small.
    const bool trusted = cred.who && (auth::can(cred.who->role, auth::capability::read) ||
                                      auth::can(cred.who->role, auth::capability::ingest));
    co_return http::admission{trusted ? body_limit(head) : settings_.anonymous_body_limit, trusted,
                              std::move(cred)};
}

http::net::awaitable<credentials> app::check_credentials(const http::request_header& head,
                                                         const http::connection_info& conn) {
    credentials cred;
    try {
        std::string_view credential;
        bool from_cookie = false;
        if (auto it = head.find(bhttp::field::authorization); it != head.end()) {
            credential = trim(it->value());
            if (iequals_prefix(credential, "basic ")) {
                auto pair = basic_credentials(trim(credential.substr(6)));
                if (!pair) unauthenticated("malformed Basic credentials");
                cred.basic_user = pair->first;
                auto client = conn.remote.to_string();
                if (auto wait = throttle_.check(pair->first, client))
                    fail({error_type::too_many_requests,
                          "too many failed logins; retry later",
                          {{"retry_after", wait->count()}}});
                // argon2, on a recorders' worker: recorders send Basic credentials.
                const std::function<void()> verify = [&] {
                    cred.who = domain_.users.verify(pair->first, pair->second);
                };
                co_await on_workers(ingest_workers_, verify, std::nullopt);
                if (!cred.who) {
                    throttle_.failed(pair->first, client);
                    fail({error_type::authentication_failure, "wrong user name or password", {}});
                }
                throttle_.succeeded(pair->first, client);
                co_return cred;
            }
            if (iequals_prefix(credential, "bearer ")) credential = trim(credential.substr(7));
        } else if (auto c = cookie(head, "session_id")) {
            credential = *c;
            from_cookie = true;
        }
        if (credential.empty()) co_return cred;
        cred.token = credential;
        if (auto hit = domain_.logins.touch(credential)) {
            cred.who = std::move(hit->who);
            cred.remaining = hit->remaining;
            co_return cred;
        }
        // The cookie holds login sessions only: an API key is a header credential of scripts.
        if (from_cookie) unauthenticated("unknown or expired token");
        auto txn = env_.read();
        auto user = domain_.users.api_key_user(txn, credential);
        if (!user) unauthenticated("unknown or expired token");
        cred.who = domain_.users.find(txn, *user);
        if (!cred.who) unauthenticated("the token's user no longer exists");
    } catch (const api_exception& e) {
        cred.who.reset();
        cred.refusal = e.error;
    }
    co_return cred;
}

void app::require_credentials(const request_context& ctx) {
    if (ctx.cred.who) return;
    if (ctx.cred.refusal) fail(*ctx.cred.refusal);
    unauthenticated("authentication required");
}

http::reply app::login(request_context& ctx) {
    auto body = parse_json_body(ctx.req.body());
    if (!body.is_object())
        fail(api_error::invalid_argument("body", "expected {\"username\", \"password\"}"));
    auto& o = body.get_object();
    for (auto& [key, value] : o)
        if ((key != "username" && key != "password") || !value.is_string())
            fail(api_error::invalid_argument(key,
                                             "expected string attributes username and password"));
    if (!o.contains("username") || !o.contains("password"))
        fail(api_error::invalid_argument(o.contains("username") ? "password" : "username",
                                         "username and password are required"));
    std::string name(o.at("username").as_string());
    ctx.tried_user = name;
    auto client = ctx.conn.remote.to_string();
    if (auto wait = throttle_.check(name, client))
        fail({error_type::too_many_requests,
              "too many failed logins; retry later",
              {{"retry_after", wait->count()}}});
    auto who = domain_.users.verify(name, o.at("password").as_string());
    if (!who) {
        throttle_.failed(name, client);
        fail({error_type::authentication_failure, "wrong user name or password", {}});
    }
    throttle_.succeeded(name, client);
    // A role that can do nothing gets no session to hold.
    if (!auth::can(who->role, auth::capability::read) &&
        !auth::can(who->role, auth::capability::ingest))
        fail({error_type::forbidden, "role 'user' has no API access", {}});
    auto token = domain_.logins.create(*who);
    return json_reply(200, json::object{{"result", "success"}, {"sessionid", token}});
}

http::reply app::logout(request_context& ctx) {
    if (!ctx.cred.token.empty()) domain_.logins.end(ctx.cred.token);
    auto r = json_reply(200, json::object{{"result", "success"}});
    r.head.set(bhttp::field::set_cookie,
               "session_id=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    return r;
}

http::reply app::authentication(request_context& ctx) {
    require_credentials(ctx);
    if (!auth::can(ctx.who().role, auth::capability::read) &&
        !auth::can(ctx.who().role, auth::capability::ingest))
        fail({error_type::forbidden, "role 'user' has no API access", {}});
    // Basic credentials open a new login session; a token keeps its own.
    auto& cred = ctx.cred;
    if (cred.token.empty()) {
        cred.token = domain_.logins.create(ctx.who());
        cred.remaining = domain_.logins.idle_timeout();
    }
    json::object meta{{"href", "/api/authentication"}, {"parent", "/api"}};
    if (cred.remaining) meta["remaining_seconds"] = cred.remaining->count();
    auto r = json_reply(200, json::object{{"meta", meta}});
    std::string set = "session_id=" + cred.token + "; Path=/; HttpOnly; SameSite=Strict";
    if (ctx.conn.tls) set += "; Secure";
    r.head.set(bhttp::field::set_cookie, set);
    return r;
}

// ---- object API ------------------------------------------------------------------------------

http::net::awaitable<http::reply> app::v2(request_context& ctx) {
    call c;
    c.method = ctx.req.method();
    c.path = path_segments(std::string_view(ctx.path).substr(std::string_view("/api/v2/").size()));
    c.params = std::move(ctx.params);
    // The actions /session/<sid>/backup/<bid> and /user/<id>/api_key take no body (the seed
    // sends a bare POST); creates, patches and /session_backup need one.
    bool action = (c.path.size() == 4 && c.path[2] == "backup") ||
                  (c.path.size() == 3 && c.path[2] == "api_key");
    if ((c.method == verb::post || c.method == verb::patch) && (!action || !ctx.req.body().empty()))
        c.body = parse_json_body(ctx.req.body());
    if (object_api::writes(c)) {
        const write_call write = [this, who = ctx.who(),
                                  c = std::move(c)](store::transaction& txn) {
            return domain_.api.execute(txn, who, c);
        };
        auto answer = co_await write_v2(write);
        co_return json_text_reply(200, std::move(answer));
    }
    auto list = domain_.api.as_list(ctx.who(), c);
    if (!list) {
        // One object, or a model's description: small work, done here.
        ctx.items = 1;
        auto txn = env_.read();
        co_return json_text_reply(200, domain_.api.execute(txn, ctx.who(), c));
    }
    // The first slice holds what grows with the store (a sorted list sorts there): made on a
    // worker. The others, a bounded slice each, are made as the answer is sent.
    ctx.streamed_items = std::make_shared<std::size_t>(0);
    auto next = domain_.api.stream(std::move(*list), ctx.streamed_items);
    std::string first;
    bool more = false;
    const std::function<void()> slice = [&] { more = next(first); };
    co_await on_workers(workers_, slice, ctx.deadline);
    http::reply r;
    r.head.set(bhttp::field::content_type, "application/json");
    r.stream = [first = std::move(first), more, next = std::move(next)](std::string& out) mutable {
        if (first.empty()) return next(out);
        out += first;
        first.clear();
        return more;
    };
    co_return r;
}

http::net::awaitable<http::reply> app::batch(request_context& ctx) {
    auto request = std::make_shared<const batch_request>(parse_json_body(ctx.req.body()));
    if (!request->writes()) {
        json::object answer;
        const std::function<void()> reads = [&] {
            auto txn = env_.read();
            answer = request->run(domain_.api, txn, ctx.who());
        };
        co_await on_workers(workers_, reads, ctx.deadline);
        co_return json_reply(200, answer);
    }
    // Content it appends is matched against every committed policy, also one whose refresh
    // failed after its commit (after_write).
    domain_.policies.refresh();
    const write_call write = [this, request, who = ctx.who()](store::transaction& txn) {
        return to_json_text(request->run(domain_.api, txn, who));
    };
    auto answer = co_await write_v2(write);
    co_return json_text_reply(200, std::move(answer));
}

http::net::awaitable<std::string> app::write_v2(const write_call& write) {
    // The job holds what it uses: it may outlive this coroutine when the server stops.
    struct outcome {
        std::string answer;
        bool policies_changed = false;
    };
    auto done = std::make_shared<outcome>();
    const store::group_writer::job job = [this, write, done](store::transaction& txn) {
        auto before = domain_.policies.generation(txn);
        done->answer = write(txn);
        done->policies_changed = domain_.policies.generation(txn) != before;
    };
    co_await write_grouped(job);
    if (done->policies_changed) {
        // Compiling the policies takes a while: on a worker, and without a deadline, since the
        // write has committed.
        const std::function<void()> refresh = [this] { after_write(true); };
        co_await on_workers(workers_, refresh, std::nullopt);
    } else {
        after_write(false);
    }
    co_return std::move(done->answer);
}

// ---- one request -----------------------------------------------------------------------------

http::net::awaitable<http::reply> app::dispatch(request_context& ctx, const route& r) {
    if (r.options.authenticate) require_credentials(ctx);
    if (ctx.cred.who && !auth::can(ctx.who().role, auth::capability::read) &&
        !auth::can(ctx.who().role, auth::capability::ingest))
        fail({error_type::forbidden, "role 'user' has no API access", {}});
    if (r.async) co_return co_await r.async(ctx);
    if (r.options.on_io_thread) co_return r.sync(ctx);
    http::reply answer;
    const std::function<void()> work = [&] { answer = r.sync(ctx); };
    co_await on_workers(workers_, work, ctx.deadline);
    co_return answer;
}

namespace {

// A streamed read's entry, queued once its answer is done with (sent, or cut off), with the
// items it sent.
struct streamed_read {
    activity::activity_log& log;
    activity::entry entry;
    std::shared_ptr<std::size_t> items;
    ~streamed_read() {
        entry.items = *items;
        try {
            log.enqueue(std::move(entry));
        } catch (const std::exception& e) {
            spdlog::error("queueing an activity log entry failed: {}", e.what());
        }
    }
};

}  // namespace

std::optional<activity::entry> activity_entry(const request_context& ctx, unsigned status) {
    const auto method = ctx.req.method();
    const bool login = ctx.path == "/api/system/login";
    const bool wrong_basic = ctx.cred.refusal &&
                             (ctx.cred.refusal->type == error_type::authentication_failure ||
                              ctx.cred.refusal->type == error_type::too_many_requests) &&
                             !ctx.cred.basic_user.empty();
    if (!ctx.cred.who && !login && !wrong_basic) return std::nullopt;
    activity::entry e;
    e.time = now_micros();
    if (ctx.cred.who) {
        e.user = ctx.cred.who->name;
        e.user_id = ctx.cred.who->user_id;
    } else {
        e.user = login ? ctx.tried_user : ctx.cred.basic_user;
    }
    e.client = ctx.conn.remote.to_string();
    e.method = std::string(ctx.req.method_string());
    e.target = std::string(ctx.req.target());
    e.status = status;
    e.items = status < 300 ? ctx.items : 0;
    auto format = param(ctx, "format");
    if (login || wrong_basic)
        e.action = status == 200 ? "login" : "login_failure";
    else if ((method == verb::post && ctx.path == "/api/system/logout") ||
             (method == verb::delete_ && ctx.path == "/api/authentication"))
        e.action = "logout";
    else if (method == verb::get && format && *format == "csv")
        e.action = "export";
    else if (method == verb::get)
        e.action = "read";
    else
        e.action = "change";
    return e;
}

void app::record_read(request_context& ctx, http::reply& answer, activity::entry e) {
    if (answer.stream && ctx.streamed_items) {
        auto pending = std::shared_ptr<streamed_read>(
            new streamed_read{activity_, std::move(e), ctx.streamed_items});
        answer.stream = [inner = std::move(answer.stream), pending](std::string& out) {
            return inner(out);
        };
    } else {
        activity_.enqueue(std::move(e));
    }
}

http::net::awaitable<void> app::record_durably(request_context& ctx, http::reply& answer,
                                               activity::entry e) {
    const store::group_writer::job job = [this, e = std::move(e)](store::transaction& txn) {
        activity_.append(txn, std::span(&e, 1));
    };
    std::exception_ptr failure;
    try {
        co_await write_grouped(job);
    } catch (...) {
        failure = std::current_exception();
    }
    if (!failure) co_return;
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& x) {
        spdlog::error("writing the activity log entry of {} {} failed: {}", ctx.req.method_string(),
                      log_escaped(ctx.req.target()), x.what());
    }
    // An export that cannot be put on record is not sent; a change has happened already.
    if (answer.stream)
        answer =
            error_reply({error_type::search_unavailable, "the activity log cannot be written", {}});
}

http::net::awaitable<void> app::on_workers(boost::asio::thread_pool& pool,
                                           const std::function<void()>& work,
                                           std::optional<deadline_clock::time_point> deadline) {
    namespace net = http::net;
    // The awaiting coroutine's frame, which holds `work` and `failure`, lives until it resumes.
    std::exception_ptr failure;
    co_await net::async_initiate<decltype(net::use_awaitable), void()>(
        [&](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            // Tracked, so that the caller's io_context waits for the work.
            auto executor = net::prefer(net::get_associated_executor(*shared),
                                        net::execution::outstanding_work.tracked);
            net::post(pool, [&work, &failure, deadline, shared, executor] {
                try {
                    std::optional<deadline_scope> scope;
                    if (deadline) scope.emplace(*deadline);
                    work();
                } catch (...) {
                    failure = std::current_exception();
                }
                net::post(executor, [shared] { std::move (*shared)(); });
            });
        },
        net::use_awaitable);
    if (failure) std::rethrow_exception(failure);
}

http::net::awaitable<void> app::write_grouped(const store::group_writer::job& job,
                                              store::environment* target) {
    namespace net = http::net;
    co_await net::async_initiate<decltype(net::use_awaitable), void(std::exception_ptr)>(
        [&](auto handler) {
            // The writer's completions are copyable functions; the handler is move-only.
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            // Tracked, so that the caller's io_context waits for the commit.
            auto executor = net::prefer(net::get_associated_executor(*shared),
                                        net::execution::outstanding_work.tracked);
            writer_.submit(
                job,
                [shared, executor](std::exception_ptr failure) {
                    net::post(executor, [shared, failure] { std::move (*shared)(failure); });
                },
                target);
        },
        net::use_awaitable);
}

http::net::awaitable<http::reply> app::handle(http::request req, const http::connection_info& conn,
                                              http::admission& admitted) {
    auto parsed = boost::urls::parse_origin_form(req.target());
    if (!parsed)
        co_return error_reply(api_error::invalid_argument("target", "malformed request target"));
    request_context ctx{req, conn, std::string(parsed->path()), {}, {}, {}};
    ctx.deadline = deadline_clock::now() + settings_.request_deadline;
    if (auto* cred = std::any_cast<credentials>(&admitted.state)) ctx.cred = std::move(*cred);
    while (ctx.path.size() > 1 && ctx.path.back() == '/')
        ctx.path.pop_back();
    for (auto p : parsed->params())
        ctx.params.emplace_back(p.key, p.has_value ? p.value : "");
    // Paths and parameters end up in answers (hrefs, error messages), which must stay UTF-8.
    bool utf8 = valid_utf8(ctx.path);
    for (auto& [key, value] : ctx.params)
        utf8 = utf8 && valid_utf8(key) && valid_utf8(value);
    if (!utf8)
        co_return error_reply(api_error::invalid_argument(
            "target", "the decoded path and query parameters must be UTF-8"));

    auto answer = co_await this->answer(ctx);
    if (auto e = ctx.on_record ? std::nullopt : activity_entry(ctx, answer.head.result_int())) {
        // Changes, exports and logins are on record before their answer leaves.
        if (e->action == "read")
            record_read(ctx, answer, std::move(*e));
        else
            co_await record_durably(ctx, answer, std::move(*e));
    }
    co_return answer;
}

http::net::awaitable<http::reply> app::answer(request_context& ctx) {
    const auto& req = ctx.req;
    auto match = router_.find(req.method(), ctx.path);
    using outcome = decltype(match)::outcome;
    bool audit = ctx.path.starts_with("/api/audit") || ctx.path == "/api/authentication";
    auto answer_error = [&](const api_error& e) {
        if (!audit) return error_reply(e);
        auto m = audit_meta(ctx);
        return error_reply(e, &m);
    };
    if (match.result == outcome::not_found)
        co_return answer_error(api_error::not_found("no such resource: " + ctx.path));
    if (match.result == outcome::method_not_allowed) {
        auto r = answer_error(
            {error_type::method_not_allowed,
             std::string(bhttp::to_string(req.method())) + " is not allowed on " + ctx.path,
             {{"allow", match.allow}}});
        r.head.set(bhttp::field::allow, match.allow);
        co_return r;
    }
    ctx.path_params = std::move(match.params);
    try {
        // Only a body has a media type: bare POSTs (logout, backup assignment, API keys, as
        // in the seed) carry none.
        if (!req.body().empty()) ctx.ndjson = check_content_type(req, match.route->options.ndjson);
        co_return co_await dispatch(ctx, *match.route);
    } catch (const api_exception& e) {
        auto r = answer_error(e.error);
        if (e.error.type == error_type::too_many_requests)
            r.head.set(bhttp::field::retry_after,
                       std::to_string(e.error.details.at("retry_after").as_int64()));
        co_return r;
    } catch (const deadline_exceeded&) {
        co_return answer_error(
            {error_type::search_unavailable,
             "the request needs more than the " +
                 std::to_string(settings_.request_deadline.count()) +
                 " ms it may take; narrow it (a smaller time window, a more selective query)",
             {{"reason", "deadline"}, {"deadline_ms", settings_.request_deadline.count()}}});
    } catch (const store::store_full& e) {
        co_return answer_error({error_type::search_unavailable, e.what(), {}});
    } catch (const store::lmdb_error& e) {
        if (e.code == ENOSPC || e.code == MDB_MAP_FULL)
            co_return answer_error({error_type::search_unavailable, "the store is full", {}});
        auto id = request_id();
        spdlog::error("request {} {} failed: {}", id, log_escaped(ctx.req.target()), e.what());
        co_return answer_error(
            {error_type::internal_error, "internal error", {{"request_id", id}}});
    }
}

}  // namespace audex::api
