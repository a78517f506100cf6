// audex-ceiling: the smallest Boost.Beast coroutine HTTP server, answering every GET with a fixed
// JSON body; scripts/bench-http measures it beside Audex as the ceiling of the HTTP stack.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The same bytes as GET /api/v2/session/<id> answers for one of the sessions bench-http creates.
constexpr std::string_view body =
    R"({"result":"success","session":{"id":"1838516666648350720",)"
    R"("started_at":"2022-04-05 16:06:07+00","finished_at":"2022-04-05 17:12:45+00",)"
    R"("dump_mode":"all","protocol":"ssh","source_ip":"10.20.30.41","source_port":51234,)"
    R"("destination_ip":"192.168.10.42","destination_port":22,"paused":false,)"
    R"("retention_locked":false,"indexed":2,"size":1048576,"status":"disconnected",)"
    R"("active_time":3998,"created_at":"2026-11-23 09:33:52.273806+00",)"
    R"("modified_at":"2026-11-23 09:33:52.273806+00"}})";

net::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::empty_body> req;
        auto [rec, rn] = co_await http::async_read(stream, buffer, req, use_tuple);
        if (rec) co_return;
        http::response<http::string_body> res{
            req.method() == http::verb::get ? http::status::ok : http::status::method_not_allowed,
            req.version()};
        res.set(http::field::server, "audex-ceiling");
        res.set(http::field::content_type, "application/json");
        res.keep_alive(req.keep_alive());
        res.body() = body;
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !res.keep_alive()) break;
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

net::awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec) {
            if (ec == net::error::operation_aborted) co_return;
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket)), net::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: audex-ceiling ADDRESS PORT\n";
        return 2;
    }
    net::io_context ioc{1};
    tcp::endpoint endpoint{net::ip::make_address(argv[1]),
                           static_cast<unsigned short>(std::atoi(argv[2]))};
    tcp::acceptor acceptor{ioc};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
    net::signal_set signals{ioc, SIGINT, SIGTERM};
    signals.async_wait([&](const beast::error_code&, int) { ioc.stop(); });
    net::co_spawn(ioc, listen(acceptor), net::detached);
    ioc.run();
    return 0;
}
