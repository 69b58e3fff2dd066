#include "events/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace accountable {

namespace {
// Fetched once, explicitly: with EVP_sha256() (OpenSSL 3) every init and
// re-init fetches the algorithm again (the provider store's lock, name
// compares), which cost about as much as hashing a short message.
const EVP_MD* sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // held for the process
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
#else
  static const EVP_MD* md = EVP_sha256();
#endif
  return md;
}
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

Hash256 Sha256::finish() {
  Hash256 out{};
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_DigestInit_ex(ctx, sha256_md(), nullptr);
  return out;
}

namespace {
// Set when this thread's hasher is destroyed (a trivially destructible
// thread_local stays readable): a hash asked for later, from a static
// destructor at exit, gets a hasher of its own instead of a destroyed one.
thread_local bool thread_hasher_gone = false;
struct ThreadHasher {
  Sha256 hasher;
  ~ThreadHasher() { thread_hasher_gone = true; }
};
}  // namespace

Hash256 sha256(std::string_view data) {
  if (thread_hasher_gone) {
    Sha256 own;
    own.update(data);
    return own.finish();
  }
  thread_local ThreadHasher t;
  t.hasher.update(data);
  return t.hasher.finish();
}

}  // namespace accountable
