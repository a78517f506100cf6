// The object API v2 of a running Audex server over HTTP(S), for the importer. A server's
// certificate is verified (its name included) against the system's CA certificates or the given
// ones: the token it sends grants an admin's rights.
#pragma once

#include "ingest/importer.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace audex::ingest {

struct tls_options {
    std::string ca_file;  // PEM certificates to trust instead of the system's; empty: the system's
    bool insecure = false;  // no verification at all (like `curl -k`)
};

class remote_api {
  public:
    // `url`: http:// or https://, host, optional port and path prefix. `token`: an API key or a
    // login session token.
    remote_api(std::string_view url, std::string token, const tls_options& tls = {});

    boost::json::object operator()(const api_request& request) const;

  private:
    // Sends the request on a new connection and reads the answer.
    void exchange(
        const boost::beast::http::request<boost::beast::http::string_body>& req,
        boost::beast::http::response_parser<boost::beast::http::string_body>& parser) const;

    bool tls_ = false, verify_ = true, address_ = false;  // address_: the host is an IP address
    std::string host_, port_, authority_, prefix_, token_;
    std::shared_ptr<boost::asio::ssl::context> context_;  // shared by the copies of this client
};

}  // namespace audex::ingest
