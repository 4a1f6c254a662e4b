// Private to custos_server: the OpenSSL steps the TLS listener (server.cc)
// and the TLS client (http_client.cc) share when they build a context.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::tls_internal {

// OK when `path` can be opened for reading; otherwise InvalidArgument naming
// the TLS `what` ("certificate file"), the path and errno's text, which names
// the problem ("No such file or directory") more plainly than the OpenSSL
// error a load of the same path would give.
Status check_readable(std::string_view what, const std::string& path);

// Emplaces into `context` a new context for `method` (tls_client or
// tls_server) that refuses protocol versions older than TLS 1.2. Internal
// when OpenSSL cannot create one.
Status make_tls_context(boost::asio::ssl::context::method method,
                        std::optional<boost::asio::ssl::context>& context);

}  // namespace custos::tls_internal
