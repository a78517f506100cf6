// The Audex application behind the transport: the route table, authentication and roles, request
// parsing, and the one place where errors become JSON answers.
#pragma once

#include "activity/activity_log.hpp"
#include "api/domain.hpp"
#include "auth/throttle.hpp"
#include "core/deadline.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "store/group_writer.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace audex::api {

struct app_settings {
    std::chrono::seconds session_timeout{600};     // idle expiry of login sessions
    std::uint64_t body_limit = 1 << 20;            // bytes, for every route but content ingestion
    std::uint64_t content_body_limit = 64 << 20;   // bytes, for content ingestion
    std::uint64_t anonymous_body_limit = 8 << 10;  // bytes, without valid credentials (login)
    std::string node_serial;
    auth::password_cost password_cost = auth::password_cost::interactive();
    std::chrono::seconds content_grace{3600};       // object_api_settings::content_grace
    std::chrono::seconds login_purge_interval{60};  // how often expired login sessions are dropped
    std::chrono::milliseconds activity_flush_delay{1000};  // reads' activity entries wait at most
    unsigned workers = 2;  // threads that run requests' costly work, off the I/O threads
    // Threads for recorders' work (content parsing and matching, Basic credentials), so that
    // auditors' searches on the other workers never hold up ingestion.
    unsigned ingest_workers = 2;
    std::chrono::milliseconds request_deadline{30000};  // a request's work past it answers 503
    // A partition is sealed (search::partitioned_store::seal) once it can be, when its month ended
    // this long ago and nothing was written in it for as long; zero: never by itself.
    std::chrono::seconds seal_after{7 * 24 * 3600};
};

// Who a request's credentials name, checked from its header before its body is read.
struct credentials {
    std::optional<auth::principal> who;
    std::optional<std::chrono::seconds> remaining;  // set for login-session tokens
    std::string token;                              // the token the request came with, if any
    std::optional<api_error> refusal;               // why `who` is empty, when credentials came
    std::string basic_user;  // the user name of Basic credentials, right or wrong
};

// What a route handler sees of one request.
struct request_context {
    const http::request& req;
    const http::connection_info& conn;
    std::string path;                                         // decoded, without the query
    std::vector<std::pair<std::string, std::string>> params;  // decoded query parameters
    std::vector<std::string_view> path_params;                // segments matched by "{}"
    credentials cred;
    deadline_clock::time_point deadline{};  // of the work done for it on the workers
    bool ndjson = false;                    // the body is application/x-ndjson
    // For the activity log: items the answer returns, and the user name a login tried.
    std::uint64_t items = 0;
    std::shared_ptr<std::size_t> streamed_items{};  // a streamed list counts what it has sent
    std::string tried_user{};
    bool on_record = false;  // the handler committed the activity entry with its own write
    // The user the request acts as; only for routes that require authentication.
    const auth::principal& who() const { return *cred.who; }
};

// The API family of a route decides the shape of its error answers.
enum class family { system, v2, audit };

struct route_options {
    bool authenticate = true;
    bool ndjson = false;  // accepts application/x-ndjson bodies besides JSON
    // Runs on the I/O thread instead of a worker: for handlers whose work is small and bounded,
    // which a hop to a worker and back would only slow down.
    bool on_io_thread = false;
};

class app : public http::application {
  public:
    app(app_settings settings, store::environment& env);
    ~app() override;

    http::net::awaitable<http::admission> admit(const http::request_header& head,
                                                const http::connection_info& conn) override;
    http::net::awaitable<http::reply> handle(http::request req, const http::connection_info& conn,
                                             http::admission& admitted) override;

    store::object_store& objects() { return domain_.objects; }
    auth::login_sessions& logins() { return domain_.logins; }
    auth::user_directory& users() { return domain_.users; }
    store::environment& env() { return env_; }

    // A handler that reads (or writes, in a write transaction of its own) and answers. It runs on
    // a worker with the request's deadline, unless the route says otherwise.
    using handler = std::function<http::reply(request_context&)>;
    void add(boost::beast::http::verb method, std::string_view pattern, family fam, handler fn,
             route_options options = {});

  private:
    // A handler that waits for something (a worker, the group writer) without holding its
    // thread; it runs on the I/O thread, and sends its costly work elsewhere itself.
    using async_handler = std::function<http::net::awaitable<http::reply>(request_context&)>;
    void add_async(boost::beast::http::verb method, std::string_view pattern, family fam,
                   async_handler fn, route_options options = {});
    struct route {
        handler sync;  // or
        async_handler async;
        family fam = family::v2;
        route_options options;
    };

    // Routes one request and turns failures into answers.
    http::net::awaitable<http::reply> answer(request_context& ctx);
    http::net::awaitable<http::reply> dispatch(request_context& ctx, const route& r);
    // The activity log entry of a read: queued, or, for a streamed answer, queued once it has
    // been sent with the items it sent.
    void record_read(request_context& ctx, http::reply& answer, activity::entry e);
    // The entry of a change, an export or a login, committed before the answer is sent.
    http::net::awaitable<void> record_durably(request_context& ctx, http::reply& answer,
                                              activity::entry e);
    // Runs `job` in the group writer's next commit of `target` (the catalog when null); resumes
    // once that commit is durable, or rethrows the job's failure.
    http::net::awaitable<void> write_grouped(const store::group_writer::job& job,
                                             store::environment* target = nullptr);
    // Runs `work` on a thread of `pool` and resumes on the caller's executor once it is done, or
    // rethrows its failure. With a deadline, the work runs under it (core/deadline.hpp), and
    // fails at once when the deadline passed while it waited for a thread.
    http::net::awaitable<void> on_workers(boost::asio::thread_pool& pool,
                                          const std::function<void()>& work,
                                          std::optional<deadline_clock::time_point> deadline);
    http::net::awaitable<credentials> check_credentials(const http::request_header& head,
                                                        const http::connection_info& conn);
    // The largest body the route that `head` names accepts from an authenticated user.
    std::uint64_t body_limit(const http::request_header& head) const;
    // Fails with the reason when the request has no valid credentials.
    static void require_credentials(const request_context& ctx);

    http::reply login(request_context& ctx);
    http::reply logout(request_context& ctx);
    http::reply authentication(request_context& ctx);
    http::net::awaitable<http::reply> v2(request_context& ctx);
    http::net::awaitable<http::reply> batch(request_context& ctx);
    http::net::awaitable<http::reply> ingest_content(request_context& ctx);
    http::reply audit_content(request_context& ctx);
    http::reply audit_events(request_context& ctx);
    http::reply audit_alerts(request_context& ctx);
    http::reply audit_activity(request_context& ctx);
    http::reply storage(request_context& ctx);
    // POST /api/system/storage/<name>/seal and /unseal.
    http::net::awaitable<http::reply> seal(request_context& ctx);
    // Seals, in the background, the partitions whose month ended seal_after ago and that were
    // not written for as long; one that cannot be sealed yet is tried again an hour later.
    void seal_due();
    // Purges the content and alerts of removed sessions in the background: those marked for
    // purging and not already on their way.
    void purge_pending();
    // Merges the content index's segments in the background, one write transaction a step.
    void merge_content();
    // Drops expired login sessions now and then, so that tokens nobody uses again do not pile up,
    // and frees the LMDB reader slots of dead processes.
    void purge_logins();
    // What follows a committed v2 write or batch: the content policies (compiled now when the
    // write changed them) and the purges it may start.
    void after_write(bool policies_changed);
    // Runs a v2 write or a batch that writes in the group writer's next commit; the answer of
    // `write`, which may run more than once (store::group_writer::job). After the commit, the
    // policies it changed are compiled on a worker before it is answered.
    using write_call = std::function<std::string(store::transaction&)>;
    http::net::awaitable<std::string> write_v2(const write_call& write);
    // The live session an audit or content route names (its first path parameter); 404 when
    // there is none or it is outside the caller's scope.
    boost::json::object session_for(const store::transaction& txn,
                                    const request_context& ctx) const;

    app_settings settings_;
    store::environment& env_;
    domain domain_;
    auth::login_throttle throttle_;
    std::mutex maintenance_mutex_;
    std::set<std::uint64_t> purging_;  // sessions whose purge is queued or running
    bool merging_ = false, merge_again_ = false;
    std::map<std::string, std::chrono::steady_clock::time_point> seal_tried_;  // by partition
    std::atomic<bool> stopping_ = false;
    // Purges the content of removed sessions and merges content segments, one job at a time.
    boost::asio::thread_pool maintenance_{1};
    boost::asio::thread_pool workers_, ingest_workers_;
    boost::asio::steady_timer login_purge_{maintenance_};
    store::group_writer writer_;  // content ingestion and the activity log, group-committed
    activity::activity_log activity_;
    http::router<route> router_;
};

// What a request did, for the activity log; nullopt for a request that names nobody (no
// credentials, or a token that is not valid: an address is all there is to it).
std::optional<activity::entry> activity_entry(const request_context& ctx, unsigned status);
// The audit family's meta: href, parent and, for login sessions, remaining_seconds.
boost::json::object audit_meta(const request_context& ctx);
// A JSON answer.
http::reply json_reply(unsigned status, const boost::json::value& body);
// A JSON answer already written as text.
http::reply json_text_reply(unsigned status, std::string body);
// The catalogue answer for an error, with the audit family's meta when `meta` is given.
http::reply error_reply(const api_error& error, const boost::json::object* meta = nullptr);

}  // namespace audex::api
