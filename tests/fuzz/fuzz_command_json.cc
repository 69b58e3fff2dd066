// Fuzz target: the JSON command parser (schema/json_codec.h).
//
// Checks: parse_command_json never crashes and returns a command or a
// kInvalidArgument Status; a parsed command's documented JSON form parses
// back, and printing that again gives the same text (a fixed point).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schema/json_codec.h"

namespace accountable {
namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_command_json: invariant violated: %s\n", what);
    std::abort();
  }
}

void run_one(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<ParsedCommand> parsed = parse_command_json(text);
  if (!parsed) {
    check(parsed.status().code() == StatusCode::kInvalidArgument, "a refusal that is not kInvalidArgument");
    return;
  }
  const std::string first = command_to_json(*parsed);
  Result<ParsedCommand> again = parse_command_json(first);
  if (!again) {
    std::fprintf(stderr, "input: %.*s\nprinted: %s\nrefused: %s\n", static_cast<int>(size),
                 reinterpret_cast<const char*>(data), first.c_str(), again.status().to_string().c_str());
  }
  check(again.is_ok(), "the printed form of a parsed command does not parse");
  check(again->command_id == parsed->command_id, "command id changed through print and parse");
  const std::string second = command_to_json(*again);
  if (second != first) std::fprintf(stderr, "first:  %s\nsecond: %s\n", first.c_str(), second.c_str());
  check(second == first, "print(parse(print(c))) != print(c)");
}

}  // namespace
}  // namespace accountable

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  accountable::run_one(data, size);
  return 0;
}
