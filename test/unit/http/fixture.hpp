// Shared by the transport tests: a tiny application, a server running on a background thread, and
// synchronous Beast clients (plain and TLS) to talk to it.
#pragma once

#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include <poll.h>
#include <unistd.h>

namespace audex::http::test {

namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

constexpr std::uint64_t test_body_limit = 1024;
constexpr int stream_pieces = 1000;

inline std::string stream_piece(int i) {
    return "piece " + std::to_string(i) + ";";
}

// Routes: /stream (1000 small pieces), /throw and /throw... (fail, their message quoting the
// target), /slow (sleeps 400 ms), /stream-throw (fails at its 10th small piece, before the first
// chunk is full), /stream-throw-late (fails after 40 KiB, once chunks have been sent); anything
// else echoes the request as JSON.
class test_application : public application {
  public:
    // A request with `X-Anonymous` is not trusted, and is not sent a `100 Continue`.
    net::awaitable<admission> admit(const request_header& head, const connection_info&) override {
        co_return admission{test_body_limit, head.find("X-Anonymous") == head.end(), {}};
    }

    net::awaitable<reply> handle(request req, const connection_info& conn, admission&) override {
        ++handled;
        reply r;
        r.head.result(bhttp::status::ok);
        r.head.set(bhttp::field::content_type, "application/json");
        if (req.target().starts_with("/throw"))
            throw std::runtime_error("handler failure for the test: " + std::string(req.target()));
        if (req.target() == "/slow") {
            net::steady_timer timer{co_await net::this_coro::executor};
            timer.expires_after(std::chrono::milliseconds(400));
            co_await timer.async_wait(net::use_awaitable);
            r.head.body() = "slow done";
            co_return r;
        }
        if (req.target() == "/stream" || req.target() == "/stream-throw") {
            bool fail = req.target() == "/stream-throw";
            r.head.set(bhttp::field::content_type, "text/plain");
            r.stream = [i = 0, fail](std::string& out) mutable {
                if (fail && i == 10) throw std::runtime_error("stream failure for the test");
                out += stream_piece(i++);
                return i < stream_pieces;
            };
            co_return r;
        }
        if (req.target() == "/stream-throw-late") {
            r.stream = [i = 0](std::string& out) mutable {
                if (i++ == 10) throw std::runtime_error("late stream failure for the test");
                out.append(4096, 'x');
                return true;
            };
            co_return r;
        }
        boost::json::object echo{{"method", req.method_string()},
                                 {"target", req.target()},
                                 {"body", req.body()},
                                 {"tls", conn.tls},
                                 {"remote", conn.remote.to_string()}};
        r.head.body() = boost::json::serialize(echo);
        co_return r;
    }

    std::atomic<int> handled{0};
};

inline server_config plain_config() {
    server_config c;
    c.port = 0;
    c.tls = false;
    c.threads = 2;
    return c;
}

// A server on a background thread; stopped and joined at the end of the test.
struct running_server {
    test_application app;
    server srv;
    std::future<void> done;

    explicit running_server(server_config config = plain_config()) : srv(std::move(config), app) {
        srv.listen();
        done = std::async(std::launch::async, [this] { srv.run(false); });
    }
    ~running_server() {
        srv.stop();
        done.wait();
    }
    std::uint16_t port() const { return srv.port(); }
    // True when run() has returned within `timeout`.
    bool finished_within(std::chrono::milliseconds timeout) {
        return done.wait_for(timeout) == std::future_status::ready;
    }
};

struct plain_client {
    net::io_context ioc;
    boost::beast::tcp_stream stream{ioc};
    boost::beast::flat_buffer buffer;

    // `source` picks the client's address (any of 127.0.0.0/8 works on loopback).
    explicit plain_client(std::uint16_t port, const char* source = "127.0.0.1") {
        auto& s = stream.socket();
        s.open(tcp::v4());
        s.bind(tcp::endpoint{net::ip::make_address(source), 0});
        s.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
    }
    tcp::socket& socket() { return stream.socket(); }
};

struct tls_client {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream{ioc, ctx};
    boost::beast::flat_buffer buffer;

    explicit tls_client(std::uint16_t port) {
        ctx.set_verify_mode(ssl::verify_none);
        boost::beast::get_lowest_layer(stream).connect(
            tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
        stream.handshake(ssl::stream_base::client);
    }
};

inline request make_request(bhttp::verb method, std::string target, std::string body = {}) {
    request req{method, target, 11};
    req.set(bhttp::field::host, "localhost");
    if (!body.empty()) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    return req;
}

template <class Client>
response round_trip(Client& client, request req) {
    bhttp::write(client.stream, req);
    response res;
    bhttp::read(client.stream, client.buffer, res);
    return res;
}

// Reads one response from a client that wrote raw bytes.
template <class Client>
response read_response(Client& client) {
    response res;
    bhttp::read(client.stream, client.buffer, res);
    return res;
}

// True when the server has closed the connection (EOF or reset on the next read).
inline bool closed_by_server(plain_client& client) {
    boost::beast::error_code ec;
    char byte;
    client.buffer.consume(client.buffer.size());
    client.socket().read_some(net::buffer(&byte, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
}

// Like closed_by_server, but false when the connection is still open after `within`.
inline bool closed_by_server_within(plain_client& client, std::chrono::milliseconds within) {
    pollfd ready{client.socket().native_handle(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(within.count())) != 1) return false;
    return closed_by_server(client);
}

inline boost::json::object parse_error(const response& res) {
    return boost::json::parse(res.body()).as_object().at("error").as_object();
}

// A fresh directory under the system temp dir, removed at the end of the test.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        path = std::filesystem::temp_directory_path() /
               ("audex-http-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace audex::http::test
