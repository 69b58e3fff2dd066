// Fuzz target: aggregate-state decoding for snapshots (aggregates/state_codec.h),
// the bytes a snapshot file holds after its header (docs/snapshots.md).
//
// Input: one selector byte (mod 4: PartnerState, UserState,
// BusinessProfileState, CatalogState) + the state bytes. Bit 7 of the selector
// installs a PersonalDataScope with a test cipher, so that sealed personal data
// is decoded too.
//
// Checks: decode_state never crashes, allocates no more than the input can
// hold (fuzz_alloc_guard.h), and returns a state or a kCorruption Status; a
// state's encoding is a fixed point: decoding it again and encoding gives the
// same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "aggregates/state_codec.h"
#include "schema/personal_data.h"
#include "tests/fuzz/fuzz_alloc_guard.h"
#include "tests/fuzz/fuzz_test_cipher.h"

namespace accountable {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_snapshot_state: invariant violated: %s\n", what);
    std::abort();
  }
}

using fuzz::TestCipher;

template <class State>
void round_trip(std::string_view bytes) {
  Result<State> decoded = decode_state<State>(bytes);
  if (!decoded) {
    check(decoded.status().code() == StatusCode::kCorruption, "a refusal that is not kCorruption");
    return;
  }
  const std::string first = encode_state(*decoded);
  Result<State> again = decode_state<State>(first);
  check(again.is_ok(), "the encoding of a decoded state does not decode");
  check(encode_state(*again) == first, "encode(decode(encode(s))) != encode(s)");
}

void run_one(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  TestCipher cipher;
  std::optional<PersonalDataScope> scope;
  if (data[0] & 0x80) scope.emplace(&cipher);
  switch (data[0] & 0x03) {
    case 0: round_trip<PartnerState>(bytes); break;
    case 1: round_trip<UserState>(bytes); break;
    case 2: round_trip<BusinessProfileState>(bytes); break;
    default: round_trip<CatalogState>(bytes); break;
  }
}

}  // namespace
}  // namespace accountable

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  accountable::run_one(data, size);
  return 0;
}
