// Tests of the TLS side of the transport: the self-signed certificate an appliance creates on first
// start, and requests served over TLS.
#include "fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <ctime>

using namespace audex::http;
using namespace audex::http::test;

namespace {

server_config tls_config(const temp_dir& dir) {
    auto config = plain_config();
    config.tls = true;
    config.certificate = dir.path / "tls" / "server.crt";
    config.private_key = dir.path / "tls" / "server.key";
    return config;
}

// The suite a TLS 1.2 client offering only `ciphers` (OpenSSL names) gets; empty when the
// handshake fails.
std::string tls12_handshake(std::uint16_t port, const char* ciphers) {
    net::io_context ioc;
    ssl::context ctx{ssl::context::tls_client};
    ctx.set_verify_mode(ssl::verify_none);
    BOOST_REQUIRE(SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION) == 1);
    BOOST_REQUIRE(SSL_CTX_set_cipher_list(ctx.native_handle(), ciphers) == 1);
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream{ioc, ctx};
    boost::beast::get_lowest_layer(stream).connect(
        tcp::endpoint{net::ip::make_address("127.0.0.1"), port});
    boost::beast::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return {};
    return SSL_CIPHER_get_name(SSL_get_current_cipher(stream.native_handle()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_tls)

BOOST_AUTO_TEST_CASE(self_signed_certificate_has_the_expected_shape) {
    temp_dir dir;
    auto cert_path = dir.path / "c.pem";
    auto key_path = dir.path / "k.pem";
    create_self_signed_certificate(cert_path, key_path, "audex.example");

    struct stat st {};
    BOOST_REQUIRE(::stat(key_path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);

    std::FILE* f = std::fopen(cert_path.c_str(), "r");
    BOOST_REQUIRE(f);
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    BOOST_REQUIRE(cert);
    BOOST_TEST(X509_check_host(cert, "audex.example", 0, 0, nullptr) == 1);
    BOOST_TEST(X509_check_ip_asc(cert, "127.0.0.1", 0) == 1);
    BOOST_TEST(X509_check_host(cert, "other.example", 0, 0, nullptr) != 1);

    // Valid now and for about ten years.
    std::time_t nine_years = std::time(nullptr) + 9L * 365 * 24 * 3600;
    std::time_t eleven_years = std::time(nullptr) + 11L * 365 * 24 * 3600;
    BOOST_TEST(X509_cmp_time(X509_get0_notBefore(cert), nullptr) < 0);
    BOOST_TEST(X509_cmp_time(X509_get0_notAfter(cert), &nine_years) > 0);
    BOOST_TEST(X509_cmp_time(X509_get0_notAfter(cert), &eleven_years) < 0);

    EVP_PKEY* key = X509_get0_pubkey(cert);
    BOOST_REQUIRE(key);
    BOOST_TEST(EVP_PKEY_is_a(key, "EC") == 1);
    X509_free(cert);
}

BOOST_AUTO_TEST_CASE(tls_server_creates_its_certificate_and_serves_keep_alive) {
    temp_dir dir;
    auto config = tls_config(dir);
    running_server s{config};
    BOOST_TEST(std::filesystem::exists(config.certificate));
    BOOST_TEST(std::filesystem::exists(config.private_key));

    tls_client client{s.port()};
    for (int i = 0; i < 3; ++i) {
        auto res = round_trip(client, make_request(bhttp::verb::post, "/tls", "over tls"));
        BOOST_TEST(res.result_int() == 200u);
        BOOST_TEST(res.keep_alive());
        auto echo = boost::json::parse(res.body()).as_object();
        BOOST_TEST(echo.at("tls").as_bool());
        BOOST_TEST(echo.at("body").as_string() == "over tls");
    }
    auto streamed = round_trip(client, make_request(bhttp::verb::get, "/stream"));
    std::string expected;
    for (int i = 0; i < stream_pieces; ++i)
        expected += stream_piece(i);
    BOOST_TEST(streamed.body() == expected);
}

// Mozilla's intermediate profile: CBC suites (Lucky13, padding oracles) and SHA-1 MACs are
// refused; ECDHE with AES-GCM or ChaCha20-Poly1305 is taken, and so is TLS 1.3.
BOOST_AUTO_TEST_CASE(tls_1_2_takes_only_ecdhe_aead_suites) {
    temp_dir dir;
    running_server s{tls_config(dir)};
    for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                             "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384"}) {
        BOOST_TEST_CONTEXT(weak) {
            BOOST_TEST(tls12_handshake(s.port(), weak) == "");
        }
    }
    for (const char* strong : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                               "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
        BOOST_TEST_CONTEXT(strong) {
            BOOST_TEST(tls12_handshake(s.port(), strong) == strong);
        }
    }
    // A client offering weak suites among strong ones gets a strong one.
    BOOST_TEST(tls12_handshake(s.port(), "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256") ==
               "ECDHE-ECDSA-AES128-GCM-SHA256");
    tls_client modern{s.port()};
    BOOST_TEST(std::string(SSL_get_version(modern.stream.native_handle())) == "TLSv1.3");
    BOOST_TEST(round_trip(modern, make_request(bhttp::verb::get, "/")).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(tls_errors_are_answered_in_json) {
    temp_dir dir;
    running_server s{tls_config(dir)};
    tls_client client{s.port()};
    std::string head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n";
    net::write(client.stream, net::buffer(head));
    auto res = read_response(client);
    BOOST_TEST(res.result_int() == 413u);
    BOOST_TEST(parse_error(res).at("type").as_string() == "PayloadTooLarge");
}

BOOST_AUTO_TEST_CASE(plain_bytes_on_the_tls_port_do_not_hurt_the_server) {
    temp_dir dir;
    running_server s{tls_config(dir)};
    {
        plain_client wrong{s.port()};
        std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        net::write(wrong.socket(), net::buffer(req));
        BOOST_TEST(closed_by_server(wrong));
    }
    tls_client client{s.port()};
    BOOST_TEST(round_trip(client, make_request(bhttp::verb::get, "/")).result_int() == 200u);
}

// A socket that never begins its handshake is closed after handshake_timeout; one that finishes it
// and sends nothing, once first_byte_timeout has passed since it was accepted: both well before
// idle_timeout.
BOOST_AUTO_TEST_CASE(silent_tls_connections_are_closed_early) {
    using namespace std::chrono_literals;
    temp_dir dir;
    auto config = tls_config(dir);
    config.limits.handshake_timeout = 1s;
    config.limits.first_byte_timeout = 3s;
    config.limits.idle_timeout = 30s;
    running_server s{config};

    auto start = std::chrono::steady_clock::now();
    plain_client silent{s.port()};
    tls_client quiet{s.port()};
    BOOST_TEST(closed_by_server_within(silent, 5s));
    auto waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST((waited >= 900ms && waited < 2500ms));

    char byte;
    boost::beast::error_code ec;
    quiet.stream.read_some(net::buffer(&byte, 1), ec);  // bounded by idle_timeout at worst
    waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST(ec.failed());
    BOOST_TEST((waited >= 2900ms && waited < 6s));
}

BOOST_AUTO_TEST_CASE(stop_closes_idle_tls_connections) {
    temp_dir dir;
    running_server s{tls_config(dir)};
    tls_client client{s.port()};
    BOOST_TEST(round_trip(client, make_request(bhttp::verb::get, "/")).result_int() == 200u);
    s.srv.stop();
    BOOST_TEST(s.finished_within(std::chrono::milliseconds(2000)));
}

BOOST_AUTO_TEST_SUITE_END()
