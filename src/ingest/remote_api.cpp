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

remote_api::remote_api(std::string_view url, std::string token) : token_(std::move(token)) {
    auto u = boost::urls::parse_uri(url);
    if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty())
        throw std::runtime_error("--url must be http://HOST[:PORT] or https://HOST[:PORT]");
    tls_ = u->scheme() == "https";
    host_ = u->host_address();
    port_ = u->has_port() ? std::string(u->port()) : tls_ ? "443" : "80";
    authority_ = u->encoded_host_and_port();
    prefix_ = u->path();
    while (!prefix_.empty() && prefix_.back() == '/')
        prefix_.pop_back();
}

void remote_api::exchange(const bhttp::request<bhttp::string_body>& req,
                          bhttp::response_parser<bhttp::string_body>& parser) const {
    net::io_context io;
    beast::tcp_stream tcp(io);
    tcp.expires_after(std::chrono::seconds(120));
    tcp.connect(net::ip::tcp::resolver(io).resolve(host_, port_));
    beast::flat_buffer buffer;
    if (tls_) {
        net::ssl::context ctx(net::ssl::context::tls_client);
        ctx.set_verify_mode(net::ssl::verify_none);
        beast::ssl_stream<beast::tcp_stream&> stream(tcp, ctx);
        SSL_set_tlsext_host_name(stream.native_handle(), host_.c_str());
        stream.handshake(net::ssl::stream_base::client);
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
