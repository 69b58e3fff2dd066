// Fuzz target: event payload decoding with upcasting (schema/domain_events.h):
// every event type's payload at every schema version it can be read at.
//
// Input: "<type>\0" <version byte> <payload bytes>. The version byte's low 7
// bits are the schema version; its high bit installs a PersonalDataScope with
// a test cipher, so that sealed personal data (kind 1) and erased subjects are
// decoded too (without it, kind 1 must be refused with a Status).
//
// Checks: decode_event never crashes and returns a value or a Status; a value
// has the requested type; and its encoding is a fixed point: decoding the
// encoded bytes again and encoding them gives the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "schema/domain_events.h"
#include "schema/personal_data.h"
#include "tests/fuzz/fuzz_alloc_guard.h"
#include "tests/fuzz/fuzz_test_cipher.h"

namespace accountable {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_event_payload: invariant violated: %s\n", what);
    std::abort();
  }
}

using fuzz::TestCipher;

void run_one(const uint8_t* data, size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(text, '\0', size);
  if (nul == nullptr) return;
  const size_t type_len = static_cast<const char*>(nul) - text;
  if (type_len + 1 >= size) return;
  const std::string type(text, type_len);
  const uint8_t version_byte = data[type_len + 1];
  const uint16_t version = version_byte & 0x7f;
  const std::string payload(text + type_len + 2, size - type_len - 2);

  TestCipher cipher;
  std::optional<PersonalDataScope> scope;
  if (version_byte & 0x80) scope.emplace(&cipher);

  Result<DomainEvent> decoded = decode_event(type, version, payload);
  if (!decoded) {
    check(!decoded.status().is_ok(), "an error result carries an ok status");
    return;
  }
  check(event_type(*decoded) == type, "decoded to another type");
  const EncodedEvent first = encode_event(*decoded);
  check(first.type == type, "encoded under another type");
  Result<DomainEvent> again = decode_event(first.type, first.schema_version, first.bytes);
  check(again.is_ok(), "the encoding of a decoded event does not decode");
  const EncodedEvent second = encode_event(*again);
  check(second.bytes == first.bytes, "encode(decode(encode(e))) != encode(e)");
}

}  // namespace
}  // namespace accountable

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  accountable::run_one(data, size);
  return 0;
}
