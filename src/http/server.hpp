// The HTTP transport: listens (TLS or plain), runs one coroutine per connection over N threads,
// enforces the named limits and timeouts, and hands each request to the application.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace audex::http {

namespace beast = boost::beast;
namespace net = boost::asio;

using request = beast::http::request<beast::http::string_body>;
using request_header = beast::http::request_header<>;
using response = beast::http::response<beast::http::string_body>;

// One answer. Small answers are `head` with its body; long ones set `stream`, and the body is sent
// chunked: each call of `stream` appends the next piece to `out` and returns whether more may
// follow; it is not called again once it has returned false.
struct reply {
    response head;
    std::function<bool(std::string& out)> stream;
};

struct connection_info {
    net::ip::address remote;
    bool tls = false;
};

// Every transport limit is a named setting; these are the documented defaults
// (docs/configuration.md).
struct limits {
    std::size_t header_limit = 16 * 1024;         // bytes of request line plus headers
    std::chrono::seconds read_timeout{30};        // to read one request once it has begun
    std::chrono::seconds write_timeout{30};       // to write one response (or one chunk)
    std::chrono::seconds idle_timeout{60};        // keep-alive wait for the next request
    std::chrono::seconds first_byte_timeout{10};  // from accept to the first request's first
                                                  // byte, TLS handshake included; at most
                                                  // idle_timeout: a socket that never spoke
                                                  // must not hold a slot as long as a client
                                                  // that was served
    std::chrono::seconds handshake_timeout{5};    // TLS handshake: a few round trips
    std::chrono::seconds linger_timeout{2};       // after a last answer: wait for the client's
                                                  // TLS close_notify or drain its unread bytes
    std::size_t max_connections = 10000;          // open connections; more are closed at once
    std::size_t max_requests_per_connection = 0;  // 0: unlimited
    // Open connections from one client address; more are closed as soon as they are accepted, so
    // that one address cannot take every slot of max_connections.
    std::size_t max_connections_per_client = 256;
    // Request body bytes held by all connections together; a body that would pass it is refused
    // with 503 SearchUnavailable, so that no crowd of uploads can exhaust the memory.
    std::uint64_t body_budget = std::uint64_t(1) << 30;
};

struct server_config {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8443;  // 0: pick a free port (tests)
    bool tls = true;
    std::filesystem::path certificate;  // PEM; created self-signed with `private_key` when missing
    std::filesystem::path private_key;
    unsigned threads = 1;
    http::limits limits;  // qualified: g++ rejects a member that changes what `limits` means
};

// What the application makes of a request's header, before any of its body is read.
struct admission {
    std::uint64_t body_limit = 0;  // a larger body is refused with 413 before it is read
    bool trusted = false;          // the client proved who it is: it may get a `100 Continue`
    std::any state;                // the application's own, handed back to handle()
};

// What the transport serves.
class application {
  public:
    virtual ~application() = default;
    // Decides from the header alone, e.g. by checking the credentials, how much body to accept.
    // It may wait (on a password check done elsewhere, say) without holding the I/O thread.
    virtual net::awaitable<admission> admit(const request_header& head,
                                            const connection_info& conn) = 0;
    // Answers one request that admit() let in. Exceptions escaping it are logged and answered
    // 500 InternalError.
    virtual net::awaitable<reply> handle(request req, const connection_info& conn,
                                         admission& admitted) = 0;
};

class server {
  public:
    server(server_config config, application& app);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and listens; afterwards port() is the bound port.
    void listen();
    std::uint16_t port() const;
    // Serves until stop() or SIGINT/SIGTERM (when handle_signals), on config.threads threads;
    // returns once the requests in flight have finished and every connection is closed.
    void run(bool handle_signals = true);
    // Thread-safe: stops accepting, lets requests in flight finish, closes idle connections.
    void stop();

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Writes a self-signed certificate and its private key (PEM, key mode 0600) for `host`.
void create_self_signed_certificate(const std::filesystem::path& certificate,
                                    const std::filesystem::path& private_key,
                                    const std::string& host);

}  // namespace audex::http
