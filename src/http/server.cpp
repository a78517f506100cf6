// The HTTP transport: one acceptor feeding N single-threaded io_contexts, and one session coroutine
// per connection (plain or TLS) that enforces the limits and timeouts and calls the application.
#include "http/server.hpp"

#include "audex/error.hpp"
#include "core/text.hpp"
#include "http/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/intrusive/list.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <csignal>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace audex::http {

namespace {

namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Streamed replies are gathered into chunks of about this size: one write (and one chunk header)
// per tiny piece would cost a syscall each.
constexpr std::size_t stream_chunk_bytes = 16 * 1024;
// A connection's read buffer keeps at most this much capacity between requests.
constexpr std::size_t retained_buffer_bytes = 64 * 1024;
// Unread request bytes drained after an error answer before the socket is closed; closing with
// unread data makes the kernel send a reset that can destroy the answer before the client reads it.
constexpr std::size_t linger_max_bytes = 1024 * 1024;

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// A connection as its io_context's registry sees it; stop() cancels the ones marked idle (waiting
// for a request, in a TLS handshake, or closing), the others finish their request first.
struct session_entry
    : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    beast::tcp_stream* stream = nullptr;
    bool idle = false;
};
using session_list =
    boost::intrusive::list<session_entry, boost::intrusive::constant_time_size<false>>;

// One thread's share of the server. `sessions` is touched only from that thread, so no lock.
struct worker {
    net::io_context ioc{1};
    session_list sessions;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard{
        ioc.get_executor()};
};

// Marks a session idle for the duration of one wait.
struct idle_scope {
    session_entry& entry;
    explicit idle_scope(session_entry& e) : entry(e) { entry.idle = true; }
    ~idle_scope() { entry.idle = false; }
    idle_scope(const idle_scope&) = delete;
    idle_scope& operator=(const idle_scope&) = delete;
};

std::string new_request_id() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::uint64_t value = generator();
    std::string id(16, '0');
    for (auto& c : id) {
        c = digits[value & 0xf];
        value >>= 4;
    }
    return id;
}

// Feeds the parser what is already buffered. Beast's read operations post their completion when
// they need no I/O, which costs a trip through the event loop on every request; a header that
// arrived whole (the usual case) is parsed here directly instead. A need_more is not an error.
void parse_buffered(bhttp::request_parser<bhttp::string_body>& parser, beast::flat_buffer& buffer,
                    beast::error_code& ec) {
    while (buffer.size() > 0 && !parser.is_done()) {
        const bool in_header = !parser.is_header_done();
        std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::need_more) {
            ec = {};
            return;
        }
        if (ec || (in_header && parser.is_header_done()) || used == 0) return;
    }
}

// Whether the body is either plain or just chunked. Another transfer coding (gzip, or chunked
// not last) leaves the body undecodable or its length unknown; RFC 9112 section 6.1 requires a 400
// rather than a guess, which could split one request into two (request smuggling).
bool plain_or_chunked(const bhttp::request_header<>& head) {
    auto [first, last] = head.equal_range(bhttp::field::transfer_encoding);
    if (first == last) return true;
    if (std::next(first) != last) return false;
    auto value = first->value();
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    return beast::iequals(value, "chunked");
}

// A request body's share of the process-wide budget (limits::body_budget), given back when the
// request is done.
class body_reservation {
  public:
    body_reservation(std::atomic<std::uint64_t>& in_use, std::uint64_t budget)
        : in_use_(in_use), budget_(budget) {}
    ~body_reservation() { in_use_.fetch_sub(taken_, std::memory_order_relaxed); }
    body_reservation(const body_reservation&) = delete;
    body_reservation& operator=(const body_reservation&) = delete;

    // Reserves `bytes` more; false, reserving nothing, when that would pass the budget.
    bool take(std::uint64_t bytes) {
        auto used = in_use_.load(std::memory_order_relaxed);
        do {
            if (bytes > budget_ || used > budget_ - bytes) return false;
        } while (!in_use_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
        taken_ += bytes;
        return true;
    }

  private:
    std::atomic<std::uint64_t>& in_use_;
    std::uint64_t budget_;
    std::uint64_t taken_ = 0;
};

// Open connections per client address. The accept loop adds on its thread and each connection
// removes on its own, hence the lock; an address leaves the table with its last connection, so the
// table holds no more entries than there are open connections.
class client_table {
  public:
    // Counts one more connection from `client`; false, counting nothing, when it has `cap` already.
    bool add(const net::ip::address& client, std::size_t cap) {
        if (cap == 0) return false;
        std::lock_guard lock{mutex_};
        auto& open = open_[client];
        if (open >= cap) return false;
        ++open;
        return true;
    }
    void remove(const net::ip::address& client) {
        std::lock_guard lock{mutex_};
        auto it = open_.find(client);
        if (it != open_.end() && --it->second == 0) open_.erase(it);
    }

  private:
    std::mutex mutex_;
    std::unordered_map<net::ip::address, std::size_t> open_;
};

// An accepted connection's place in the count of all connections and in its client's, given back
// when the connection's coroutine ends, or is destroyed without having run (a stop before it ran).
class connection_slot {
  public:
    connection_slot(std::atomic<std::size_t>& total, client_table& clients, net::ip::address client)
        : total_(&total), clients_(&clients), client_(client) {}
    connection_slot(connection_slot&& other) noexcept
        : total_(std::exchange(other.total_, nullptr)),
          clients_(other.clients_),
          client_(other.client_) {}
    connection_slot& operator=(connection_slot&&) = delete;
    ~connection_slot() {
        if (!total_) return;
        clients_->remove(client_);
        total_->fetch_sub(1, std::memory_order_relaxed);
    }
    const net::ip::address& client() const { return client_; }

  private:
    std::atomic<std::size_t>* total_;
    client_table* clients_;
    net::ip::address client_;
};

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category();
}

void log_coroutine_exit(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        spdlog::error("http: connection coroutine ended with an exception: {}", x.what());
    } catch (...) {
        spdlog::error("http: connection coroutine ended with an unknown exception");
    }
}

std::string certificate_host(const std::string& address) {
    boost::system::error_code ec;
    auto parsed = net::ip::make_address(address, ec);
    if (!ec && !parsed.is_unspecified()) return address;
    auto name = net::ip::host_name(ec);
    return ec ? std::string("localhost") : name;
}

}  // namespace

struct server::impl {
    server_config config;
    application& app;
    std::optional<ssl::context> tls;
    std::vector<std::unique_ptr<worker>> workers;
    tcp::acceptor acceptor;
    std::optional<net::signal_set> signals;
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> connections{0};
    client_table clients;
    std::atomic<std::uint64_t> body_bytes{0};  // reserved by the bodies being read or served
    std::size_t next_worker = 0;               // accept loop only
    std::uint16_t bound_port = 0;
    std::shared_ptr<spdlog::logger> access_log;

    impl(server_config c, application& a)
        : config(std::move(c)),
          app(a),
          workers(make_workers(config.threads)),
          acceptor(workers.front()->ioc) {}

    static std::vector<std::unique_ptr<worker>> make_workers(unsigned threads) {
        std::vector<std::unique_ptr<worker>> result;
        for (unsigned i = 0; i < std::max(1u, threads); ++i)
            result.push_back(std::make_unique<worker>());
        return result;
    }

    // Runs on `w`'s thread after stopping is set: cuts the idle connections short and lets the
    // io_context end once the busy ones are done.
    static void close_idle(worker& w) {
        for (auto& entry : w.sessions) {
            if (entry.idle && entry.stream) entry.stream->cancel();
        }
        w.guard.reset();
    }

    net::awaitable<void> accept_loop() {
        net::steady_timer backoff{acceptor.get_executor()};
        while (!stopping.load(std::memory_order_relaxed)) {
            worker& w = *workers[next_worker];
            next_worker = (next_worker + 1) % workers.size();
            auto [ec, socket] = co_await acceptor.async_accept(w.ioc, use_tuple);
            if (stopping.load(std::memory_order_relaxed) || !acceptor.is_open()) co_return;
            if (ec) {
                if (ec == net::error::operation_aborted) co_return;
                // Running out of descriptors persists for a while: back off instead of spinning.
                spdlog::warn("http: accept failed: {}", ec.message());
                backoff.expires_after(std::chrono::milliseconds(50));
                co_await backoff.async_wait(use_tuple);
                continue;
            }
            if (connections.fetch_add(1, std::memory_order_relaxed) >=
                config.limits.max_connections) {
                connections.fetch_sub(1, std::memory_order_relaxed);
                socket.close(ec);
                continue;
            }
            // The peer may be gone already; then there is nothing to serve.
            auto client = socket.remote_endpoint(ec).address();
            if (ec || !clients.add(client, config.limits.max_connections_per_client)) {
                connections.fetch_sub(1, std::memory_order_relaxed);
                socket.close(ec);
                continue;
            }
            net::co_spawn(
                w.ioc,
                run_connection(w, std::move(socket), connection_slot{connections, clients, client}),
                log_coroutine_exit);
        }
    }

    net::awaitable<void> run_connection(worker& w, tcp::socket socket, connection_slot slot) {
        const auto accepted = clock_type::now();
        const auto& lim = config.limits;
        // Nothing before the first request may take longer than the wait for it.
        const auto first_byte_deadline =
            accepted + std::min(lim.first_byte_timeout, lim.idle_timeout);
        connection_info info{slot.client(), tls.has_value()};
        beast::error_code ec;
        // Small writes (a chunk header, a 100 Continue) must not wait for Nagle's delayed ACK.
        socket.set_option(tcp::no_delay(true), ec);

        session_entry entry;
        w.sessions.push_back(entry);
        try {
            if (tls) {
                tls_stream stream{beast::tcp_stream{std::move(socket)}, *tls};
                entry.stream = &beast::get_lowest_layer(stream);
                if (stopping.load(std::memory_order_relaxed)) co_return;
                {
                    idle_scope idle{entry};
                    entry.stream->expires_at(
                        std::min(accepted + lim.handshake_timeout, first_byte_deadline));
                    auto [hec] =
                        co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
                    if (hec) co_return;
                }
                co_await serve(entry, stream, info, first_byte_deadline);
            } else {
                plain_stream stream{std::move(socket)};
                entry.stream = &stream;
                co_await serve(entry, stream, info, first_byte_deadline);
            }
        } catch (const std::exception& e) {
            spdlog::error("http: connection from {} failed: {}", info.remote.to_string(), e.what());
        } catch (...) {
            spdlog::error("http: connection from {} failed", info.remote.to_string());
        }
        entry.stream = nullptr;
    }

    // What a session remembers of the request being served, for its log lines; method and target
    // are escaped (log_escaped).
    struct request_log {
        std::string remote;
        std::string method;
        std::string target;
        clock_type::time_point started;
    };

    void log_access(const request_log& r, unsigned status, std::size_t body_bytes) const {
        auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - r.started)
                .count();
        access_log->info("{} \"{} {}\" {} {} {}us", r.remote, r.method.empty() ? "-" : r.method,
                         r.target.empty() ? "-" : r.target, status, body_bytes, micros);
    }

    template <class Stream>
    net::awaitable<void> serve(session_entry& entry, Stream& stream, const connection_info& info,
                               clock_type::time_point first_byte_deadline) {
        auto& socket = beast::get_lowest_layer(stream);
        const auto& lim = config.limits;
        beast::flat_buffer buffer;
        request_log log{info.remote.to_string(), {}, {}, {}};
        std::size_t served = 0;

        for (;;) {
            if (buffer.size() == 0) {
                if (stopping.load(std::memory_order_relaxed)) co_return;
                idle_scope idle{entry};
                if (served == 0)
                    socket.expires_at(first_byte_deadline);
                else
                    socket.expires_after(lim.idle_timeout);
                auto [ec, n] = co_await stream.async_read_some(
                    buffer.prepare(std::max<std::size_t>(buffer.capacity(), 4096)), use_tuple);
                if (ec) co_return;  // closed, reset, idle timeout or shutdown
                buffer.commit(n);
            }
            log.started = clock_type::now();
            log.method.clear();
            log.target.clear();
            socket.expires_after(lim.read_timeout);

            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
                lim.header_limit, std::numeric_limits<std::uint32_t>::max())));
            // The real limit depends on the header; until it is known nothing may be refused.
            parser.body_limit(boost::none);
            beast::error_code read_ec;
            parser.eager(false);
            parse_buffered(parser, buffer, read_ec);
            if (!read_ec && !parser.is_header_done())
                std::tie(read_ec, std::ignore) =
                    co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
            if (read_ec) {
                co_await answer_read_error(entry, stream, buffer, read_ec, 0, log);
                co_return;
            }
            const auto& head = parser.get();
            log.method = log_escaped(head.method_string());
            log.target = log_escaped(head.target());
            if (!plain_or_chunked(head)) {
                co_await answer_error(
                    entry, stream, buffer,
                    api_error::invalid_argument(
                        "request", "unsupported Transfer-Encoding: only chunked is accepted"),
                    head.version(), log);
                co_return;
            }

            admission admitted;
            std::exception_ptr failure;
            try {
                admitted = co_await app.admit(head.base(), info);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                co_await answer_internal_error(entry, stream, head.version(), log, failure);
                co_return;
            }
            const std::uint64_t body_limit = admitted.body_limit;
            const auto length = parser.content_length();
            if (length && *length > body_limit) {
                co_await answer_error(entry, stream, buffer, payload_too_large(body_limit),
                                      head.version(), log);
                co_return;
            }
            parser.body_limit(body_limit);
            // The body's bytes count against the budget until the answer has been sent: a
            // declared length at once, a chunked body chunk by chunk.
            body_reservation reserved{body_bytes, lim.body_budget};
            if (length && !reserved.take(*length)) {
                co_await answer_error(entry, stream, buffer, budget_spent(), head.version(), log);
                co_return;
            }
            auto on_chunk = [&reserved](std::uint64_t size, beast::string_view,
                                        beast::error_code& ec) {
                if (!reserved.take(size)) ec = net::error::no_buffer_space;
            };
            parser.on_chunk_header(on_chunk);

            if (!parser.is_done()) {
                if (admitted.trusted &&
                    beast::iequals(head[bhttp::field::expect], "100-continue")) {
                    bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_,
                                                             head.version()};
                    socket.expires_after(lim.write_timeout);
                    if (auto [ec, n] = co_await bhttp::async_write(stream, go_on, use_tuple); ec)
                        co_return;
                    socket.expires_after(lim.read_timeout);
                }
                parser.eager(true);
                parse_buffered(parser, buffer, read_ec);
                if (!read_ec && !parser.is_done())
                    std::tie(read_ec, std::ignore) =
                        co_await bhttp::async_read(stream, buffer, parser, use_tuple);
                if (read_ec) {
                    co_await answer_read_error(entry, stream, buffer, read_ec, body_limit, log);
                    co_return;
                }
            }

            ++served;
            const unsigned version = parser.get().version();
            bool keep_alive =
                parser.get().keep_alive() &&
                (lim.max_requests_per_connection == 0 || served < lim.max_requests_per_connection);

            reply answer;
            try {
                answer = co_await app.handle(parser.release(), info, admitted);
            } catch (const api_exception& e) {
                // A handler that let an expected failure escape still gets its catalogued answer.
                answer = error_reply(e.error);
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                co_await answer_internal_error(entry, stream, version, log, failure);
                co_return;
            }

            // Decided late so that a stop() during the handler still ends the connection cleanly.
            keep_alive =
                keep_alive && answer.head.keep_alive() && !stopping.load(std::memory_order_relaxed);
            answer.head.version(version);
            answer.head.set(bhttp::field::server, "audex");
            // Answers hold audit data and tokens, which no cache may keep, and a browser must
            // take their media type as given: never render a JSON error that echoes a target.
            answer.head.set(bhttp::field::cache_control, "no-store");
            answer.head.set("X-Content-Type-Options", "nosniff");

            if (!answer.stream) {
                answer.head.keep_alive(keep_alive);
                try {
                    answer.head.prepare_payload();
                } catch (...) {
                    failure = std::current_exception();
                }
                if (failure) {
                    co_await answer_internal_error(entry, stream, version, log, failure);
                    co_return;
                }
                socket.expires_after(lim.write_timeout);
                // One buffer: once the head of a two-buffer sequence is sent, Asio passes it on
                // as an empty first buffer, which Beast's TLS stream writes as zero bytes, and a
                // zero-byte write ends net::async_write before the body.
                auto wire = head_text(answer.head);
                wire += answer.head.body();
                auto [ec, n] = co_await net::async_write(stream, net::buffer(wire), use_tuple);
                log_access(log, answer.head.result_int(), answer.head.body().size());
                if (ec) co_return;
            } else {
                // HTTP/1.0 has no chunked encoding: the end of the body is the end of the
                // connection.
                const bool chunked = version >= 11;
                keep_alive = keep_alive && chunked;
                if (!co_await write_stream(entry, stream, answer, chunked, keep_alive, log))
                    co_return;
            }
            if (!keep_alive) {
                co_await close_after_answer(entry, stream, buffer);
                co_return;
            }
            // One large body must not pin its buffer for the rest of a long keep-alive.
            if (buffer.size() == 0 && buffer.capacity() > retained_buffer_bytes)
                buffer.shrink_to_fit();
        }
    }

    // Sends a reply whose body comes from reply.stream; false when the connection must end. The
    // first piece is made before anything is sent, so that a failure there is still answered
    // with a 500, and it travels in one write with the head: a list that fits in one piece is
    // one write.
    template <class Stream>
    net::awaitable<bool> write_stream(session_entry& entry, Stream& stream, reply& answer,
                                      bool chunked, bool keep_alive, const request_log& log) {
        auto& socket = beast::get_lowest_layer(stream);
        const auto timeout = config.limits.write_timeout;
        const unsigned status = answer.head.result_int();
        std::string chunk;
        chunk.reserve(stream_chunk_bytes);
        std::size_t body_bytes = 0;
        // Fills `chunk` with the next piece; whether more may follow.
        auto fill = [&] {
            bool more = true;
            do {
                more = answer.stream(chunk);
            } while (more && chunk.size() < stream_chunk_bytes);
            return more;
        };
        bool more = true;
        std::exception_ptr failure;
        try {
            more = fill();
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            co_await answer_internal_error(entry, stream, answer.head.version(), log, failure);
            co_return false;
        }

        auto& head = answer.head;
        head.erase(bhttp::field::content_length);
        head.keep_alive(keep_alive);
        if (chunked) head.chunked(true);
        std::string prefix = head_text(head), suffix;
        for (;;) {
            body_bytes += chunk.size();
            if (chunked && !chunk.empty()) {
                char size[20];
                auto end = std::to_chars(size, size + sizeof size, chunk.size(), 16).ptr;
                prefix.append(size, end);
                prefix += "\r\n";
                suffix += "\r\n";
            }
            if (chunked && !more) suffix += "0\r\n\r\n";
            socket.expires_after(timeout);
            std::array<net::const_buffer, 3> wire{net::buffer(prefix), net::buffer(chunk),
                                                  net::buffer(suffix)};
            if (auto [ec, n] = co_await net::async_write(stream, wire, use_tuple); ec) {
                log_access(log, status, body_bytes);
                co_return false;
            }
            if (!more) break;
            prefix.clear();
            suffix.clear();
            chunk.clear();
            try {
                more = fill();
            } catch (const std::exception& e) {
                // The head is gone already: only a truncated body (no last chunk) can tell.
                spdlog::error("http: streamed reply to {} {} failed after {} bytes: {}", log.method,
                              log.target, body_bytes, log_escaped(e.what(), false));
                log_access(log, status, body_bytes);
                co_return false;
            } catch (...) {
                spdlog::error("http: streamed reply to {} {} failed after {} bytes", log.method,
                              log.target, body_bytes);
                log_access(log, status, body_bytes);
                co_return false;
            }
        }
        log_access(log, status, body_bytes);
        co_return true;
    }

    // A response head as it goes on the wire: the status line, the fields, an empty line.
    static std::string head_text(const bhttp::response_header<>& head) {
        std::string out = head.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
        out += std::to_string(head.result_int());
        out += ' ';
        auto reason = head.reason();
        out += reason.empty() ? bhttp::obsolete_reason(head.result()) : reason;
        out += "\r\n";
        for (auto& field : head) {
            out += field.name_string();
            out += ": ";
            out += field.value();
            out += "\r\n";
        }
        out += "\r\n";
        return out;
    }

    static api_error payload_too_large(std::uint64_t limit) {
        return {error_type::payload_too_large,
                "request body exceeds the limit of " + std::to_string(limit) + " bytes",
                {{"limit", limit}}};
    }

    static api_error budget_spent() {
        return {error_type::search_unavailable,
                "the server holds too many request bodies; retry later",
                {{"reason", "body_budget"}}};
    }

    static reply error_reply(const api_error& error) {
        reply r;
        r.head.result(error_status(error.type));
        r.head.set(bhttp::field::content_type, "application/json");
        r.head.body() = error_body(error);
        return r;
    }

    // A failed read: timeouts and vanished peers just close; bad input gets its JSON answer.
    template <class Stream>
    net::awaitable<void> answer_read_error(session_entry& entry, Stream& stream,
                                           beast::flat_buffer& buffer, beast::error_code ec,
                                           std::uint64_t body_limit, const request_log& log) {
        if ((!is_http_error(ec) && ec != net::error::no_buffer_space) ||
            ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message)
            co_return;
        if (ec == bhttp::error::header_limit) {
            co_await answer_error(
                entry, stream, buffer,
                api_error::invalid_argument(
                    "header", "request header exceeds the limit of " +
                                  std::to_string(config.limits.header_limit) + " bytes"),
                11, log);
        } else if (ec == net::error::no_buffer_space) {
            co_await answer_error(entry, stream, buffer, budget_spent(), 11, log);
        } else if (ec == bhttp::error::body_limit) {
            // Only a chunked body gets here: a declared length was checked before reading.
            co_await answer_error(entry, stream, buffer, payload_too_large(body_limit), 11, log);
        } else {
            co_await answer_error(
                entry, stream, buffer,
                api_error::invalid_argument("request", "malformed HTTP request: " + ec.message()),
                11, log);
        }
    }

    template <class Stream>
    net::awaitable<void> answer_internal_error(session_entry& entry, Stream& stream,
                                               unsigned version, const request_log& log,
                                               std::exception_ptr failure = nullptr) {
        std::string what = "unknown exception";
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
        }
        auto id = new_request_id();
        spdlog::error("http: request {} ({} {} from {}) failed: {}", id, log.method, log.target,
                      log.remote, log_escaped(what, false));
        api_error error{error_type::internal_error, "internal error", {{"request_id", id}}};
        beast::flat_buffer none;
        co_await answer_error(entry, stream, none, error, version, log);
    }

    // Answers `error` and closes the connection.
    template <class Stream>
    net::awaitable<void> answer_error(session_entry& entry, Stream& stream,
                                      beast::flat_buffer& buffer, const api_error& error,
                                      unsigned version, const request_log& log) {
        response res{static_cast<bhttp::status>(error_status(error.type)), version};
        res.set(bhttp::field::server, "audex");
        res.set(bhttp::field::cache_control, "no-store");
        res.set("X-Content-Type-Options", "nosniff");
        res.set(bhttp::field::content_type, "application/json");
        res.keep_alive(false);
        res.body() = error_body(error);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(config.limits.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream, res, use_tuple);
        log_access(log, res.result_int(), res.body().size());
        if (ec) co_return;
        co_await close_after_answer(entry, stream, buffer);
    }

    // Ends a connection after its last answer so that the client reliably reads that answer:
    // TLS sends close_notify, plain TCP half-closes and drains what the client still sends.
    template <class Stream>
    net::awaitable<void> close_after_answer(session_entry& entry, Stream& stream,
                                            beast::flat_buffer& buffer) {
        auto& socket = beast::get_lowest_layer(stream);
        if (stopping.load(std::memory_order_relaxed)) {
            // No waiting for the client during a shutdown; a half-close still sends what is
            // queued before the FIN.
            if constexpr (!is_tls<Stream>) {
                beast::error_code ec;
                socket.socket().shutdown(tcp::socket::shutdown_send, ec);
            }
            co_return;
        }
        idle_scope idle{entry};
        socket.expires_after(config.limits.linger_timeout);
        if constexpr (is_tls<Stream>) {
            co_await stream.async_shutdown(use_tuple);
        } else {
            beast::error_code ec;
            socket.socket().shutdown(tcp::socket::shutdown_send, ec);
            if (ec) co_return;
            buffer.clear();
            for (std::size_t drained = 0; drained < linger_max_bytes;) {
                auto [rec, n] = co_await socket.async_read_some(buffer.prepare(4096), use_tuple);
                if (rec) break;
                drained += n;
            }
        }
    }
};

server::server(server_config config, application& app)
    : impl_(std::make_unique<impl>(std::move(config), app)) {}

server::~server() = default;

void server::listen() {
    auto& s = *impl_;
    const auto& c = s.config;
    if (c.tls) {
        if (c.certificate.empty() || c.private_key.empty())
            throw std::invalid_argument("TLS needs the certificate and private_key paths");
        const bool have_certificate = std::filesystem::exists(c.certificate);
        const bool have_key = std::filesystem::exists(c.private_key);
        if (!have_certificate && !have_key) {
            create_self_signed_certificate(c.certificate, c.private_key,
                                           certificate_host(c.address));
            spdlog::info("http: created the self-signed certificate {}", c.certificate.string());
        } else if (!have_certificate || !have_key) {
            // Never overwrite a lone key or certificate: it may be the operator's.
            throw std::runtime_error(
                "TLS: " + (have_certificate ? c.private_key : c.certificate).string() +
                " is missing");
        }
        s.tls.emplace(detail::make_server_tls_context(c.certificate, c.private_key));
    }
    tcp::endpoint endpoint{net::ip::make_address(c.address), c.port};
    s.acceptor.open(endpoint.protocol());
    s.acceptor.set_option(net::socket_base::reuse_address(true));
    s.acceptor.bind(endpoint);
    s.acceptor.listen(net::socket_base::max_listen_connections);
    s.bound_port = s.acceptor.local_endpoint().port();
}

std::uint16_t server::port() const {
    return impl_->bound_port;
}

void server::run(bool handle_signals) {
    auto& s = *impl_;
    if (!s.acceptor.is_open() && !s.stopping) listen();
    s.access_log = spdlog::get("access");
    if (!s.access_log) s.access_log = spdlog::default_logger();

    auto& first = s.workers.front()->ioc;
    if (handle_signals) {
        s.signals.emplace(first, SIGINT, SIGTERM);
        s.signals->async_wait([this](const beast::error_code& ec, int signal) {
            if (ec) return;
            spdlog::info("http: signal {} received, shutting down", signal);
            stop();
        });
    }
    net::co_spawn(first, s.accept_loop(), log_coroutine_exit);

    auto run_one = [](net::io_context& ioc) {
        for (;;) {
            try {
                ioc.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("http: uncaught exception in the event loop: {}", e.what());
            }
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < s.workers.size(); ++i)
        threads.emplace_back([&run_one, &ioc = s.workers[i]->ioc] { run_one(ioc); });
    run_one(first);
    for (auto& t : threads)
        t.join();
    s.signals.reset();
}

void server::stop() {
    auto& s = *impl_;
    if (s.stopping.exchange(true)) return;
    net::post(s.workers.front()->ioc, [&s] {
        beast::error_code ec;
        s.acceptor.close(ec);
        if (s.signals) s.signals->cancel(ec);
    });
    for (auto& w : s.workers)
        net::post(w->ioc, [&w = *w] { impl::close_idle(w); });
}

}  // namespace audex::http
