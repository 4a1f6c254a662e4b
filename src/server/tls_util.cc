#include "tls_util.h"

#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

namespace custos::tls_internal {

Status check_readable(std::string_view what, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return invalid_argument("cannot read the TLS " + std::string(what) + " '" + path +
                            "': " + std::strerror(errno));
  }
  std::fclose(file);
  return Status::ok();
}

Status make_tls_context(boost::asio::ssl::context::method method,
                        std::optional<boost::asio::ssl::context>& context) {
  try {
    context.emplace(method);
  } catch (const std::exception& error) {
    return internal_error(std::string("cannot create a TLS context: ") + error.what());
  }
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  return Status::ok();
}

}  // namespace custos::tls_internal
