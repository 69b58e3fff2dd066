// SHA-256 for the log's hash chain and command digests. Backed by OpenSSL,
// which uses the CPU's SHA extensions when present.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace accountable {

using Hash256 = std::array<unsigned char, 32>;

Hash256 sha256(std::string_view data);

// Incremental hashing; reusable after finish().
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  Hash256 finish();  // resets for the next message

 private:
  void* ctx_;  // EVP_MD_CTX*
};

}  // namespace accountable
