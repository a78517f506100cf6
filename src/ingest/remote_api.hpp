// The object API v2 of a running Audex server over HTTP(S), for the importer. A server's
// certificate is not verified: appliances present self-signed ones (like `curl -k`).
#pragma once

#include "ingest/importer.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace audex::ingest {

class remote_api {
  public:
    // `url`: http:// or https://, host, optional port and path prefix. `token`: an API key or a
    // login session token.
    remote_api(std::string_view url, std::string token);

    boost::json::object operator()(const api_request& request) const;

  private:
    // Sends the request on a new connection and reads the answer.
    void exchange(
        const boost::beast::http::request<boost::beast::http::string_body>& req,
        boost::beast::http::response_parser<boost::beast::http::string_body>& parser) const;

    bool tls_ = false;
    std::string host_, port_, authority_, prefix_, token_;
};

}  // namespace audex::ingest
