// TEST ONLY. The data folder and recognisable ids of the secret stores' tests
// (key_store_test.cc, credential_store_test.cc): partner n is aa 00 .. 00 n,
// user n is bb 00 .. 00 n.
#pragma once

#include "events/types.h"

namespace accountable::testing {

inline constexpr const char* kData = "/data";

inline PartnerId partner_n(unsigned char n) {
  PartnerId::Bytes b{};
  b[0] = 0xAA;
  b[15] = n;
  return PartnerId(b);
}

inline UserId user_n(unsigned char n) {
  UserId::Bytes b{};
  b[0] = 0xBB;
  b[15] = n;
  return UserId(b);
}

}  // namespace accountable::testing
