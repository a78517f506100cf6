// The object API v2 of a running Audex server over HTTP(S), for the importer. A server's
// certificate is not verified: appliances present self-signed ones (like `curl -k`).
#pragma once

#include "ingest/importer.hpp"

#include <string>

namespace audex::ingest {

class remote_api {
  public:
    // `url`: http:// or https://, host, optional port and path prefix. `token`: an API key or a
    // login session token.
    remote_api(std::string_view url, std::string token);

    boost::json::object operator()(const api_request& request) const;

  private:
    bool tls_ = false;
    std::string host_, port_, authority_, prefix_, token_;
};

}  // namespace audex::ingest
