#include "cluster/secret_message.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace accountable::cluster {

namespace {

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(std::tuple_size_v<ClusterKey> == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

std::string associated_data(std::string_view message_key) {
  std::string ad(kSecretMagic);
  ad.append(message_key);
  return ad;
}

Status bad_key_file(const std::string& path, const std::string& why) {
  return invalid_argument(path + ": " + why, "cluster-key");
}

}  // namespace

std::string seal_secret_value(const ClusterKey& key, std::string_view message_key, std::string_view plaintext) {
  const std::string ad = associated_data(message_key);
  std::string out(kSecretMagic.size() + kNonce + plaintext.size() + kTag, '\0');
  std::memcpy(out.data(), kSecretMagic.data(), kSecretMagic.size());
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + kSecretMagic.size());
  randombytes_buf(nonce, kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonce, &written,
                                             reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
                                             nonce, key.data());
  out.resize(kSecretMagic.size() + kNonce + written);
  return out;
}

Result<std::string> open_secret_value(const ClusterKey& key, std::string_view message_key, std::string_view value) {
  const std::string where = "secret record " + std::string(message_key);
  if (value.size() < kSecretMagic.size() + kNonce + kTag || value.substr(0, kSecretMagic.size()) != kSecretMagic) {
    return Status(StatusCode::kCorruption, where + ": not a sealed record (" + std::to_string(value.size()) + " bytes)");
  }
  const std::string ad = associated_data(message_key);
  const auto* nonce = reinterpret_cast<const unsigned char*>(value.data() + kSecretMagic.size());
  const size_t sealed = value.size() - kSecretMagic.size() - kNonce;
  std::string out(sealed - kTag, '\0');
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &written, nullptr,
                                                 nonce + kNonce, sealed, reinterpret_cast<const unsigned char*>(ad.data()),
                                                 ad.size(), nonce, key.data()) != 0) {
    return Status(StatusCode::kCorruption,
                  where + ": failed authentication (altered, or sealed under another cluster key: check --cluster-key)");
  }
  out.resize(written);
  return out;
}

Result<ClusterKey> read_cluster_key_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return bad_key_file(path, std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return bad_key_file(path, std::string("is open to the group or others (mode ") + mode + "); chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string hex = text.str();
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  ClusterKey key{};
  size_t length = 0;
  const bool ok = hex.size() == 2 * key.size() &&
                  sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, nullptr) == 0 &&
                  length == key.size();
  sodium_memzero(hex.data(), hex.size());
  if (!ok) return bad_key_file(path, "must hold 64 hex digits (acct cluster keygen writes one)");
  return key;
}

Status write_cluster_key_file(const std::string& path) {
  if (sodium_init() < 0) return Status(StatusCode::kInternal, "libsodium failed to initialise");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(errno == EEXIST ? StatusCode::kConflict : StatusCode::kIOError,
                  path + ": " + std::strerror(errno) + (errno == EEXIST ? " (a cluster key is never replaced)" : ""),
                  "out");
  }
  ClusterKey key;
  randombytes_buf(key.data(), key.size());
  std::string hex(2 * key.size() + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
  hex.back() = '\n';
  sodium_memzero(key.data(), key.size());
  const bool written = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  sodium_memzero(hex.data(), hex.size());
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    return Status(StatusCode::kIOError, path + ": " + std::strerror(saved), "out");
  }
  return Status::ok();
}

}  // namespace accountable::cluster
