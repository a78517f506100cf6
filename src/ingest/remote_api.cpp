// HTTP(S) requests of the importer (see remote_api.hpp): one connection per request, synchronous.
#include "ingest/remote_api.hpp"

#include "audex/error.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <openssl/x509_vfy.h>

#include <chrono>

namespace audex::ingest {

namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// The error a server's answer describes, as the API's own error when it is one.
[[noreturn]] void fail(const bhttp::response<bhttp::string_body>& res) {
    boost::system::error_code ec;
    auto body = json::parse(res.body(), ec);
    auto* error = ec || !body.is_object() ? nullptr : body.get_object().if_contains("error");
    if (error && error->is_object()) {
        auto& e = error->get_object();
        auto* type = e.if_contains("type");
        auto* message = e.if_contains("message");
        for (int t = 0; t <= int(error_type::search_unavailable); ++t) {
            if (type && type->is_string() && type->get_string() == error_type_name(error_type(t)))
                throw api_exception(
                    {error_type(t),
                     message && message->is_string() ? std::string(message->get_string()) : "",
                     {}});
        }
    }
    throw std::runtime_error("the server answered " + std::to_string(res.result_int()) + ": " +
                             res.body().substr(0, 200));
}

}  // namespace

remote_api::remote_api(std::string_view url, std::string token, const tls_options& tls)
    : token_(std::move(token)) {
    auto u = boost::urls::parse_uri(url);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
        throw std::runtime_error("--url must be http://HOST[:PORT] or https://HOST[:PORT]");
    tls_ = u->scheme() == "https";
    host_ = u->host_address();
    address_ = u->host_type() == boost::urls::host_type::ipv4 ||
               u->host_type() == boost::urls::host_type::ipv6;
    port_ = u->has_port() ? std::string(u->port()) : tls_ ? "443" : "80";
    authority_ = u->encoded_host_and_port();
    prefix_ = u->path();
    while (!prefix_.empty() && prefix_.back() == '/')
        prefix_.pop_back();
    if (!tls_) return;
    context_ = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    verify_ = !tls.insecure;
    if (!verify_) {
        context_->set_verify_mode(net::ssl::verify_none);
        return;
    }
    boost::system::error_code ec;
    if (tls.ca_file.empty())
        context_->set_default_verify_paths(ec);
    else
        context_->load_verify_file(tls.ca_file, ec);
    if (ec)
        throw std::runtime_error(
            "cannot load the CA certificates " +
            (tls.ca_file.empty() ? std::string("of the system") : "in " + tls.ca_file) + ": " +
            ec.message());
    context_->set_verify_mode(net::ssl::verify_peer);
}

void remote_api::exchange(const bhttp::request<bhttp::string_body>& req,
                          bhttp::response_parser<bhttp::string_body>& parser) const {
    net::io_context io;
    beast::tcp_stream tcp(io);
    tcp.expires_after(std::chrono::seconds(120));
    tcp.connect(net::ip::tcp::resolver(io).resolve(host_, port_));
    beast::flat_buffer buffer;
    if (tls_) {
        beast::ssl_stream<beast::tcp_stream&> stream(tcp, *context_);
        auto* ssl = stream.native_handle();
        // Server names go in SNI; addresses may not (RFC 6066).
        if (!address_) SSL_set_tlsext_host_name(ssl, host_.c_str());
        // OpenSSL checks the certificate's names during the handshake, so that a mismatch is
        // reported like any other verification failure.
        if (verify_ && (address_ ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str())
                                 : SSL_set1_host(ssl, host_.c_str())) != 1)
            throw std::runtime_error("cannot check certificates for the name " + host_);
        boost::system::error_code ec;
        stream.handshake(net::ssl::stream_base::client, ec);
        if (ec) {
            if (auto result = SSL_get_verify_result(ssl); verify_ && result != X509_V_OK)
                throw std::runtime_error(
                    "the certificate of " + host_ + ":" + port_ + " is not trusted (" +
                    X509_verify_cert_error_string(result) +
                    "): give its issuer's certificate (or a self-signed one itself) with --cacert "
                    "FILE, or skip the check with --insecure");
            throw boost::system::system_error(ec);
        }
        bhttp::write(stream, req);
        bhttp::read(stream, buffer, parser);
    } else {
        bhttp::write(tcp, req);
        bhttp::read(tcp, buffer, parser);
    }
}

json::object remote_api::operator()(const api_request& request) const {
    boost::urls::url target;
    target.set_path(prefix_ + "/api/v2/" + request.path);
    for (auto& [key, value] : request.params)
        target.params().append({key, value});
    bhttp::request<bhttp::string_body> req{request.method, target.buffer(), 11};
    req.set(bhttp::field::host, authority_);
    req.set(bhttp::field::authorization, "Bearer " + token_);
    req.set(bhttp::field::user_agent, "audex-import");
    if (!request.body.is_null()) {
        req.set(bhttp::field::content_type, "application/json");
        req.body() = json::serialize(request.body);
    }
    req.prepare_payload();

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 << 20);
    try {
        exchange(req, parser);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error("no answer from " + host_ + ":" + port_ + ": " +
                                 e.code().message());
    }
    auto& res = parser.get();
    if (res.result() != bhttp::status::ok) fail(res);
    boost::system::error_code ec;
    auto body = json::parse(res.body(), ec);
    if (ec || !body.is_object())
        throw std::runtime_error("the server's answer to " + std::string(target.buffer()) +
                                 " is not a JSON object");
    return std::move(body.get_object());
}

}  // namespace audex::ingest
