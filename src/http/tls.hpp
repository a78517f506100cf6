// TLS plumbing of the transport (private to src/http): the server's SSL context, built from the
// configured certificate and key.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <filesystem>

namespace audex::http::detail {

// A TLS 1.2+ server context holding `certificate` (PEM chain) and `private_key` (PEM).
boost::asio::ssl::context make_server_tls_context(const std::filesystem::path& certificate,
                                                  const std::filesystem::path& private_key);

}  // namespace audex::http::detail
