// Tests of the plain-HTTP transport: keep-alive, limits, error answers, streaming, timeouts,
// connection limits and graceful shutdown, against a real server on a loopback port.
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <vector>

using namespace audex::http;
using namespace audex::http::test;
using namespace std::chrono_literals;

namespace {

// Sends the access log and the default logger's lines (message only) to `lines` while it lives.
struct captured_logs {
    std::ostringstream lines;
    std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();

    captured_logs() {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines);
        sink->set_pattern("%v");
        spdlog::register_logger(std::make_shared<spdlog::logger>("access", sink));
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    }
    ~captured_logs() {
        spdlog::drop("access");
        spdlog::set_default_logger(previous);
    }
    std::vector<std::string> all() const {
        std::vector<std::string> out;
        std::istringstream in(lines.str());
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }
};

// A new connection from `source` that has been served once, or null when none is served within a
// second: a connection the client has closed frees its slot only once the server has seen it.
std::unique_ptr<plain_client> served_connection(std::uint16_t port,
                                                const char* source = "127.0.0.1") {
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto client = std::make_unique<plain_client>(port, source);
        boost::beast::error_code ec;
        bhttp::write(client->stream, make_request(bhttp::verb::get, "/"), ec);
        response res;
        if (!ec) bhttp::read(client->stream, client->buffer, res, ec);
        if (!ec && res.result_int() == 200u) return client;
        std::this_thread::sleep_for(20ms);
    }
    return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_server)

BOOST_AUTO_TEST_CASE(keep_alive_serves_several_requests_on_one_connection) {
    running_server s;
    plain_client client{s.port()};
    for (int i = 0; i < 3; ++i) {
        auto res = round_trip(client, make_request(bhttp::verb::post, "/echo/" + std::to_string(i),
                                                   "body " + std::to_string(i)));
        BOOST_TEST(res.result_int() == 200u);
        BOOST_TEST(res.keep_alive());
        BOOST_TEST(res[bhttp::field::server] == "audex");
        auto echo = boost::json::parse(res.body()).as_object();
        BOOST_TEST(echo.at("method").as_string() == "POST");
        BOOST_TEST(echo.at("target").as_string() == "/echo/" + std::to_string(i));
        BOOST_TEST(echo.at("body").as_string() == "body " + std::to_string(i));
        BOOST_TEST(echo.at("tls").as_bool() == false);
        BOOST_TEST(echo.at("remote").as_string() == "127.0.0.1");
    }
    BOOST_TEST(s.app.handled == 3);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
    running_server s;
    plain_client client{s.port()};
    std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    net::write(client.socket(), net::buffer(two));
    auto first = read_response(client);
    auto second = read_response(client);
    BOOST_TEST(boost::json::parse(first.body()).at("target").as_string() == "/a");
    BOOST_TEST(boost::json::parse(second.body()).at("target").as_string() == "/b");
}

BOOST_AUTO_TEST_CASE(declared_length_over_the_limit_is_refused_before_the_body) {
    running_server s;
    plain_client client{s.port()};
    // Only the header: the server must answer without waiting for a body that never comes.
    std::string head =
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000000\r\n\r\n";
    net::write(client.socket(), net::buffer(head));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 413u);
    BOOST_TEST(res[bhttp::field::content_type] == "application/json");
    BOOST_TEST(!res.keep_alive());
    auto error = parse_error(res);
    BOOST_TEST(error.at("type").as_string() == "PayloadTooLarge");
    BOOST_TEST(closed_by_server(client));
    BOOST_TEST(s.app.handled == 0);
}

BOOST_AUTO_TEST_CASE(declared_length_at_the_limit_is_accepted) {
    running_server s;
    plain_client client{s.port()};
    auto res = round_trip(client,
                          make_request(bhttp::verb::post, "/x", std::string(test_body_limit, 'a')));
    BOOST_TEST(res.result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(chunked_body_over_the_limit_is_refused_while_reading) {
    running_server s;
    plain_client client{s.port()};
    std::string chunk(800, 'x');
    std::string req =
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "320\r\n" +
        chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n";
    net::write(client.socket(), net::buffer(req));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 413u);
    BOOST_TEST(parse_error(res).at("type").as_string() == "PayloadTooLarge");
    BOOST_TEST(closed_by_server(client));
    BOOST_TEST(s.app.handled == 0);
}

BOOST_AUTO_TEST_CASE(chunked_body_under_the_limit_is_reassembled) {
    running_server s;
    plain_client client{s.port()};
    std::string req =
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    net::write(client.socket(), net::buffer(req));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(boost::json::parse(res.body()).at("body").as_string() == "hello world");
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_honoured) {
    running_server s;
    plain_client client{s.port()};
    std::string head =
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Expect: 100-continue\r\n\r\n";
    net::write(client.socket(), net::buffer(head));
    bhttp::response_parser<bhttp::empty_body> interim;
    bhttp::read_header(client.stream, client.buffer, interim);
    BOOST_TEST(interim.get().result_int() == 100u);
    net::write(client.socket(), net::buffer(std::string("abcde")));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(boost::json::parse(res.body()).at("body").as_string() == "abcde");
}

BOOST_AUTO_TEST_CASE(an_untrusted_client_gets_no_100_continue) {
    running_server s;
    plain_client client{s.port()};
    std::string head =
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Anonymous: 1\r\n"
        "Expect: 100-continue\r\n\r\n";
    net::write(client.socket(), net::buffer(head));
    std::this_thread::sleep_for(200ms);
    BOOST_TEST(client.socket().available() == 0u);  // no interim answer
    net::write(client.socket(), net::buffer(std::string("abcde")));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(boost::json::parse(res.body()).at("body").as_string() == "abcde");
}

BOOST_AUTO_TEST_CASE(bodies_past_the_process_wide_budget_get_503) {
    auto config = plain_config();
    config.limits.body_budget = 1500;
    running_server s{config};
    // One client holds 1,000 bytes of budget by declaring them and sending half.
    plain_client holder{s.port()};
    std::string head = "POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    net::write(holder.socket(), net::buffer(head + std::string(500, 'a')));
    std::this_thread::sleep_for(100ms);

    plain_client declared{s.port()};
    net::write(declared.socket(), net::buffer(head));
    auto res = read_response(declared);
    BOOST_TEST(res.result_int() == 503u);
    BOOST_TEST(parse_error(res).at("type").as_string() == "SearchUnavailable");
    BOOST_TEST(parse_error(res).at("details").at("reason").as_string() == "body_budget");

    plain_client chunked{s.port()};
    std::string req =
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "100\r\n" +
        std::string(256, 'c') + "\r\n200\r\n" + std::string(512, 'c') + "\r\n0\r\n\r\n";
    net::write(chunked.socket(), net::buffer(req));
    res = read_response(chunked);
    BOOST_TEST(res.result_int() == 503u);
    BOOST_TEST(parse_error(res).at("details").at("reason").as_string() == "body_budget");

    // Once the first body is whole and answered, its bytes are free again.
    net::write(holder.socket(), net::buffer(std::string(500, 'a')));
    BOOST_TEST(read_response(holder).result_int() == 200u);
    plain_client after{s.port()};
    BOOST_TEST(round_trip(after, make_request(bhttp::verb::post, "/x", std::string(1000, 'b')))
                   .result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(garbage_gets_a_json_400) {
    running_server s;
    plain_client client{s.port()};
    std::string garbage = "\x01\x02\x03 this is not http\r\n\r\n";
    net::write(client.socket(), net::buffer(garbage));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 400u);
    BOOST_TEST(res[bhttp::field::content_type] == "application/json");
    auto error = parse_error(res);
    BOOST_TEST(error.at("type").as_string() == "InvalidArgument");
    BOOST_TEST(error.at("message").as_string().starts_with("malformed HTTP request: "));
    BOOST_TEST(error.at("details").at("field").as_string() == "request");
    BOOST_TEST(closed_by_server(client));
}

BOOST_AUTO_TEST_CASE(header_over_the_limit_gets_a_json_400) {
    auto config = plain_config();
    config.limits.header_limit = 1024;
    running_server s{config};
    plain_client client{s.port()};
    auto req = make_request(bhttp::verb::get, "/big-header");
    req.set("X-Filler", std::string(2000, 'f'));
    bhttp::write(client.stream, req);
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 400u);
    auto error = parse_error(res);
    BOOST_TEST(error.at("type").as_string() == "InvalidArgument");
    BOOST_TEST(error.at("details").at("field").as_string() == "header");
    BOOST_TEST(closed_by_server(client));
}

BOOST_AUTO_TEST_CASE(streamed_reply_is_chunked_and_complete) {
    running_server s;
    plain_client client{s.port()};
    auto res = round_trip(client, make_request(bhttp::verb::get, "/stream"));
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.chunked());
    BOOST_TEST(res[bhttp::field::server] == "audex");
    std::string expected;
    for (int i = 0; i < stream_pieces; ++i)
        expected += stream_piece(i);
    BOOST_TEST(res.body() == expected);
    // The connection stays usable after a streamed reply.
    auto next = round_trip(client, make_request(bhttp::verb::get, "/after"));
    BOOST_TEST(next.result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(stream_failure_before_the_head_is_sent_is_a_json_500) {
    running_server s;
    plain_client client{s.port()};
    auto res = round_trip(client, make_request(bhttp::verb::get, "/stream-throw"));
    BOOST_TEST(res.result_int() == 500u);
    BOOST_TEST(!res.chunked());
    auto body = boost::json::parse(res.body()).as_object();
    BOOST_TEST(body.at("error").at("type").as_string() == "InternalError");
}

BOOST_AUTO_TEST_CASE(stream_failure_after_the_head_truncates_and_closes) {
    running_server s;
    plain_client client{s.port()};
    bhttp::write(client.stream, make_request(bhttp::verb::get, "/stream-throw-late"));
    response res;
    boost::beast::error_code ec;
    bhttp::read(client.stream, client.buffer, res, ec);
    BOOST_TEST((ec == bhttp::error::partial_message));
}

BOOST_AUTO_TEST_CASE(handler_exception_gets_a_json_500_with_request_id) {
    running_server s;
    {
        plain_client client{s.port()};
        auto res = round_trip(client, make_request(bhttp::verb::get, "/throw"));
        BOOST_TEST(res.result_int() == 500u);
        BOOST_TEST(res[bhttp::field::content_type] == "application/json");
        auto error = parse_error(res);
        BOOST_TEST(error.at("type").as_string() == "InternalError");
        BOOST_TEST(!error.at("details").at("request_id").as_string().empty());
        BOOST_TEST(closed_by_server(client));
    }
    plain_client next{s.port()};
    BOOST_TEST(round_trip(next, make_request(bhttp::verb::get, "/ok")).result_int() == 200u);
}

// A client chooses the bytes of its target (quotes, backslashes, bytes over 0x7E such as the UTF-8
// of NEL and LINE SEPARATOR, which log viewers may break lines at); they must not end a field of a
// log line or start a line of their own.
BOOST_AUTO_TEST_CASE(a_target_cannot_forge_log_fields_or_lines) {
    captured_logs logs;
    const std::string forged = "/echo\"\\\xc2\x85\xe2\x80\xa8\"request";
    const std::string escaped = "/echo%22%5C%C2%85%E2%80%A8%22request";
    {
        running_server s;
        plain_client client{s.port()};
        std::string req = "GET " + forged + " HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(client.socket(), net::buffer(req));
        BOOST_TEST(read_response(client).result_int() == 200u);
        plain_client failing{s.port()};
        req = "GET /throw" + forged + " HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(failing.socket(), net::buffer(req));
        BOOST_TEST(read_response(failing).result_int() == 500u);
    }  // stopped: every line is written
    auto lines = logs.all();
    BOOST_REQUIRE(lines.size() == 3u);
    std::sort(lines.begin(), lines.end());
    BOOST_TEST(std::regex_match(
        lines[0], std::regex(R"(127\.0\.0\.1 "GET )" + escaped + R"(" 200 \d+ \d+us)")));
    BOOST_TEST(std::regex_match(
        lines[1], std::regex(R"(127\.0\.0\.1 "GET /throw)" + escaped + R"(" 500 \d+ \d+us)")));
    // The message quotes the target too: control and non-ASCII bytes are escaped there as well.
    BOOST_TEST(std::regex_match(
        lines[2], std::regex(R"(http: request [0-9a-f]{16} \(GET /throw)" + escaped +
                             R"( from 127\.0\.0\.1\) failed: handler failure for the test: )"
                             R"(/throw/echo"\\%C2%85%E2%80%A8"request)")));
}

BOOST_AUTO_TEST_CASE(idle_connection_is_closed_after_the_idle_timeout) {
    auto config = plain_config();
    config.limits.idle_timeout = 1s;
    running_server s{config};
    plain_client client{s.port()};
    BOOST_TEST(round_trip(client, make_request(bhttp::verb::get, "/")).result_int() == 200u);
    auto start = std::chrono::steady_clock::now();
    BOOST_TEST(closed_by_server(client));
    auto waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST((waited >= 900ms));
    BOOST_TEST((waited < 3s));
}

BOOST_AUTO_TEST_CASE(max_requests_per_connection_closes_after_the_last) {
    auto config = plain_config();
    config.limits.max_requests_per_connection = 2;
    running_server s{config};
    plain_client client{s.port()};
    BOOST_TEST(round_trip(client, make_request(bhttp::verb::get, "/1")).keep_alive());
    BOOST_TEST(!round_trip(client, make_request(bhttp::verb::get, "/2")).keep_alive());
    BOOST_TEST(closed_by_server(client));
}

BOOST_AUTO_TEST_CASE(connections_over_the_maximum_are_closed) {
    auto config = plain_config();
    config.limits.max_connections = 2;
    running_server s{config};
    // Served once each: the server counts both.
    auto first = served_connection(s.port());
    auto second = served_connection(s.port(), "127.0.0.2");
    BOOST_REQUIRE(first && second);

    plain_client third{s.port(), "127.0.0.3"};
    BOOST_TEST(closed_by_server_within(third, 2s));

    // Once one leaves, a new connection is served again.
    first.reset();
    BOOST_TEST(served_connection(s.port()) != nullptr);
}

BOOST_AUTO_TEST_CASE(connections_over_the_per_client_cap_are_closed_and_others_served) {
    auto config = plain_config();
    config.limits.max_connections_per_client = 2;
    running_server s{config};
    std::vector<std::unique_ptr<plain_client>> held;
    for (int i = 0; i < 2; ++i)
        held.push_back(served_connection(s.port()));
    BOOST_REQUIRE((held[0] && held[1]));

    plain_client over{s.port()};
    BOOST_TEST(closed_by_server_within(over, 2s));
    // The connections within the cap are untouched, and another address has a cap of its own.
    for (auto& client : held)
        BOOST_TEST(round_trip(*client, make_request(bhttp::verb::get, "/")).result_int() == 200u);
    auto other = served_connection(s.port(), "127.0.0.2");
    auto other_too = served_connection(s.port(), "127.0.0.2");
    BOOST_TEST((other && other_too));

    // A freed slot is taken again.
    held.pop_back();
    BOOST_TEST(served_connection(s.port()) != nullptr);
}

// Connections end on the I/O thread that served them while the accept loop counts new ones on its
// own; a count that drifted upwards would lock the address out once the churn is over.
BOOST_AUTO_TEST_CASE(per_client_counts_survive_churn_across_threads) {
    auto config = plain_config();
    config.threads = 4;
    config.limits.max_connections_per_client = 4;
    running_server s{config};
    std::vector<std::thread> clients;
    std::atomic<int> served{0};
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&s, &served] {
            for (int i = 0; i < 50; ++i) {
                plain_client c{s.port()};
                boost::beast::error_code ec;
                bhttp::write(c.stream, make_request(bhttp::verb::get, "/"), ec);
                response res;
                if (!ec) bhttp::read(c.stream, c.buffer, res, ec);
                if (!ec && res.result_int() == 200u) ++served;
            }
        });
    }
    for (auto& t : clients)
        t.join();
    BOOST_TEST(served > 0);
    // Every one of them is closed: the whole cap is available again, and no more.
    std::vector<std::unique_ptr<plain_client>> held;
    for (int i = 0; i < 4; ++i)
        held.push_back(served_connection(s.port()));
    BOOST_TEST((std::count(held.begin(), held.end(), nullptr) == 0));
    plain_client over{s.port()};
    BOOST_TEST(closed_by_server_within(over, 2s));
}

// A connection must begin its first request within first_byte_timeout; once begun, the request has
// read_timeout, and once served, the connection waits idle_timeout for the next.
BOOST_AUTO_TEST_CASE(a_silent_connection_is_closed_after_the_first_byte_timeout) {
    auto config = plain_config();
    config.limits.first_byte_timeout = 1s;
    config.limits.read_timeout = 5s;
    config.limits.idle_timeout = 30s;
    running_server s{config};
    auto served = served_connection(s.port());
    BOOST_REQUIRE(served);

    auto start = std::chrono::steady_clock::now();
    plain_client silent{s.port()};
    plain_client late{s.port()};
    std::this_thread::sleep_for(500ms);
    net::write(late.socket(), net::buffer(std::string("GET /late HTTP/1.1\r\n")));
    BOOST_TEST(closed_by_server_within(silent, 3s));
    BOOST_TEST((std::chrono::steady_clock::now() - start >= 900ms));

    std::this_thread::sleep_for(300ms);  // well past first_byte_timeout for `late` too
    net::write(late.socket(), net::buffer(std::string("Host: x\r\n\r\n")));
    BOOST_TEST(read_response(late).result_int() == 200u);
    BOOST_TEST(round_trip(*served, make_request(bhttp::verb::get, "/")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(stop_lets_the_request_in_flight_finish) {
    running_server s;
    plain_client idle{s.port()};
    BOOST_TEST(round_trip(idle, make_request(bhttp::verb::get, "/")).result_int() == 200u);

    plain_client busy{s.port()};
    bhttp::write(busy.stream, make_request(bhttp::verb::get, "/slow"));
    std::this_thread::sleep_for(100ms);  // the handler is now sleeping
    s.srv.stop();

    auto res = read_response(busy);
    BOOST_TEST(res.result_int() == 200u);
    BOOST_TEST(res.body() == "slow done");
    BOOST_TEST(!res.keep_alive());
    BOOST_TEST(closed_by_server(idle));
    BOOST_TEST(s.finished_within(2000ms));
}

BOOST_AUTO_TEST_CASE(stop_with_no_connections_returns_at_once) {
    running_server s;
    auto start = std::chrono::steady_clock::now();
    s.srv.stop();
    BOOST_TEST(s.finished_within(1000ms));
    BOOST_TEST((std::chrono::steady_clock::now() - start < 500ms));
}

BOOST_AUTO_TEST_CASE(a_single_thread_server_serves_concurrent_connections) {
    auto config = plain_config();
    config.threads = 1;
    running_server s{config};
    plain_client slow{s.port()};
    bhttp::write(slow.stream, make_request(bhttp::verb::get, "/slow"));
    plain_client fast{s.port()};
    auto start = std::chrono::steady_clock::now();
    BOOST_TEST(round_trip(fast, make_request(bhttp::verb::get, "/")).result_int() == 200u);
    BOOST_TEST((std::chrono::steady_clock::now() - start < 300ms));
    BOOST_TEST(read_response(slow).body() == "slow done");
}

BOOST_AUTO_TEST_SUITE_END()
