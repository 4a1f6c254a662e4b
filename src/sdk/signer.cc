// Device keys, key files and RFC 9421 request signing under the custos profile.
#include "custos/sdk/signer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/random.h"
#include "custos/crypto/sha256.h"

namespace custos::sdk {
namespace {

constexpr std::string_view kKeyFileMagic = "custos-device-key v1\n";
constexpr size_t kMaxKeyFileBytes = 4096;

std::string errno_text() { return std::strerror(errno); }

// base64url without padding (RFC 4648 section 5), from the standard form.
std::string base64url_no_padding(ByteView bytes) {
  std::string text = base64_encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Visible ASCII only: nothing that could end a header line or the signature base.
bool is_visible_ascii(std::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7F) return false;
  }
  return true;
}

Status write_all(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write " + path + ": " + errno_text());
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
  return Status::ok();
}

Result<std::string_view> take_line(std::string_view& text, std::string_view prefix) {
  size_t end = text.find('\n');
  if (end == std::string_view::npos || !text.starts_with(prefix)) {
    return invalid_argument("expected a line starting with '" + std::string(prefix) + "'");
  }
  std::string_view value = text.substr(prefix.size(), end - prefix.size());
  text.remove_prefix(end + 1);
  return value;
}

}  // namespace

bool is_valid_key_id(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > 128) return false;
  for (char c : key_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("._:@/-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string enrollment_key_id(const Ed25519PublicKey& public_key) {
  Hash256 digest = sha256(public_key.view());
  return hex_encode(ByteView(digest.bytes.data(), 16));
}

DeviceKey generate_device_key() {
  Ed25519KeyPair key_pair = Ed25519KeyPair::generate();
  std::string key_id = enrollment_key_id(key_pair.public_key());
  return DeviceKey{std::move(key_id), std::move(key_pair)};
}

Status save_device_key(const std::string& path, const DeviceKey& key) {
  if (!is_valid_key_id(key.key_id)) return invalid_argument("invalid key id '" + key.key_id + "'");
  std::string content(kKeyFileMagic);
  content += "keyid " + key.key_id + "\n";
  content += "seed " + base64_encode(key.key_pair.seed()) + "\n";

  std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create " + temporary + ": " + errno_text());
  // The umask can only remove bits; fchmod makes the mode exact anyway.
  Status written = ::fchmod(fd, 0600) == 0
                       ? write_all(fd, content, temporary)
                       : io_error("cannot chmod " + temporary + ": " + errno_text());
  if (written.is_ok() && ::fsync(fd) != 0)
    written = io_error("cannot sync " + temporary + ": " + errno_text());
  if (::close(fd) != 0 && written.is_ok())
    written = io_error("cannot close " + temporary + ": " + errno_text());
  std::fill(content.begin(), content.end(), '\0');
  if (written.is_ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = io_error("cannot rename " + temporary + " to " + path + ": " + errno_text());
  }
  if (!written.is_ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  // Make the rename durable too.
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::ok();
}

Result<DeviceKey> load_device_key(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return not_found("no device key file at " + path);
    return io_error("cannot open " + path + ": " + errno_text());
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    return io_error("cannot stat " + path + ": " + errno_text());
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return invalid_argument(path + " is not a regular file");
  }
  if ((info.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Status(StatusCode::kPermissionDenied, "device key file " + path + " has mode " + mode +
                                                     ", open to group or others; run chmod 600 " +
                                                     path);
  }
  if (static_cast<uint64_t>(info.st_size) > kMaxKeyFileBytes) {
    ::close(fd);
    return invalid_argument(path + " is too large to be a device key file");
  }
  std::string content(kMaxKeyFileBytes + 1, '\0');
  size_t size = 0;
  while (size < content.size()) {
    ssize_t got = ::read(fd, content.data() + size, content.size() - size);
    if (got < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return io_error("cannot read " + path + ": " + errno_text());
    }
    if (got == 0) break;
    size += static_cast<size_t>(got);
  }
  ::close(fd);
  if (size > kMaxKeyFileBytes)
    return invalid_argument(path + " is too large to be a device key file");
  content.resize(size);

  auto fail = [&path](std::string_view why) {
    return invalid_argument(path + " is not a custos device key file: " + std::string(why));
  };
  std::string_view text = content;
  if (!text.starts_with(kKeyFileMagic))
    return fail("it does not start with 'custos-device-key v1'");
  text.remove_prefix(kKeyFileMagic.size());
  auto key_id = take_line(text, "keyid ");
  if (!key_id.is_ok()) return fail(key_id.status().message());
  if (!is_valid_key_id(*key_id)) return fail("invalid key id");
  auto seed_text = take_line(text, "seed ");
  if (!seed_text.is_ok()) return fail(seed_text.status().message());
  if (!text.empty()) return fail("unexpected content after the seed line");
  auto seed = base64_decode(*seed_text);
  if (!seed.is_ok()) return fail("the seed is not base64");
  auto key_pair = Ed25519KeyPair::from_seed(*seed);
  std::fill(seed->begin(), seed->end(), uint8_t{0});
  std::string key_id_copy(*key_id);  // *key_id views `content`, wiped next
  std::fill(content.begin(), content.end(), '\0');
  if (!key_pair.is_ok()) return fail("the seed is not 32 bytes");
  return DeviceKey{std::move(key_id_copy), std::move(key_pair).value()};
}

Result<RequestSigner> RequestSigner::create(std::string key_id, Ed25519KeyPair key_pair) {
  if (!is_valid_key_id(key_id)) return invalid_argument("invalid key id '" + key_id + "'");
  return RequestSigner(std::move(key_id), std::move(key_pair));
}

Result<SignedHeaders> RequestSigner::sign(std::string_view method, std::string_view scheme,
                                          std::string_view authority,
                                          std::string_view path_and_query, std::string_view body,
                                          int64_t now_unix_seconds,
                                          const std::vector<std::pair<std::string, std::string>>&
                                              covered) const {
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
    return invalid_argument("invalid HTTP method '" + std::string(method) + "'");
  }
  if (scheme != "http" && scheme != "https") {
    return invalid_argument("scheme must be http or https, not '" + std::string(scheme) + "'");
  }
  if (authority.empty() || !is_visible_ascii(authority) ||
      authority.find_first_of("/?#@") != std::string_view::npos) {
    return invalid_argument("invalid authority '" + std::string(authority) + "'");
  }
  if (!path_and_query.starts_with('/') || !is_visible_ascii(path_and_query) ||
      path_and_query.find('#') != std::string_view::npos) {
    return invalid_argument("request target must be an origin-form path, not '" +
                            std::string(path_and_query) + "'");
  }
  size_t question = path_and_query.find('?');
  std::string_view path = path_and_query.substr(0, question);
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : path_and_query.substr(question + 1);

  SignedHeaders headers;
  std::vector<std::pair<std::string, std::string>> fields;
  SignatureParams params;
  params.components.push_back(ComponentId{"@method", {}});
  params.components.push_back(ComponentId{"@target-uri", {}});
  if (!body.empty()) {
    headers.content_digest = content_digest_value(as_bytes(body), DigestAlgorithm::kSha256);
    fields.emplace_back("content-digest", *headers.content_digest);
    params.components.push_back(ComponentId{"content-digest", {}});
  }
  for (const auto& [name, value] : covered) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.empty() || !std::all_of(lower.begin(), lower.end(), is_token_char) ||
        lower == "content-digest" || lower == "signature" || lower == "signature-input" ||
        std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return f.first == lower; })) {
      return invalid_argument("cannot cover header field '" + name + "'");
    }
    if (!std::all_of(value.begin(), value.end(),
                     [](char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); })) {
      return invalid_argument("header field '" + name + "' has control characters");
    }
    fields.emplace_back(lower, value);
    params.components.push_back(ComponentId{lower, {}});
  }
  headers.nonce = base64url_no_padding(random_bytes(kNonceBytes));
  params.created = now_unix_seconds;
  params.nonce = headers.nonce;
  params.alg = std::string(kAlgEd25519);
  params.keyid = key_id_;

  SignedRequestView request{method, scheme, authority, path, query, header_values_from(fields),
                            body};
  CUSTOS_ASSIGN_OR_RETURN(custos::SignedHeaders signed_fields,
                          sign_request(request, params, key_pair_, kSignatureLabel));
  // Read the raw signature back out of the field, so what we keep is what we sent.
  CUSTOS_ASSIGN_OR_RETURN(
      ParsedSignature parsed,
      parse_signature(signed_fields.signature_input, signed_fields.signature, kSignatureLabel));
  CUSTOS_ASSIGN_OR_RETURN(headers.signature_bytes, Ed25519Signature::from_bytes(parsed.signature));
  headers.signature_input = std::move(signed_fields.signature_input);
  headers.signature = std::move(signed_fields.signature);
  headers.signature_base = std::move(signed_fields.signature_base);
  return headers;
}

}  // namespace custos::sdk
