#include "server/shard_positions.h"

#include <algorithm>
#include <charconv>

namespace accountable {

namespace {

constexpr uint64_t kMaxPosition = UINT64_MAX >> 1;  // as every position the API takes

bool parse_number(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out <= kMaxPosition;
}

}  // namespace

std::string position_token(uint32_t shard, uint64_t position) {
  std::string token(1, 's');  // appended to, not prepended: GCC 12 -O3 warns on "s" + std::string
  token += std::to_string(shard);
  token += ':';
  token += std::to_string(position);
  return token;
}

Result<std::optional<uint64_t>> position_for(std::string_view min_position, uint32_t shard) {
  const Status malformed = invalid_argument(
      "must be a position, or tokens s<shard>:<position> separated by commas (a command's min_position)",
      "min_position");
  uint64_t plain = 0;
  if (parse_number(min_position, &plain)) return std::optional<uint64_t>(plain);
  std::optional<uint64_t> out;
  size_t start = 0;
  while (start <= min_position.size()) {
    size_t comma = min_position.find(',', start);
    if (comma == std::string_view::npos) comma = min_position.size();
    const std::string_view item = min_position.substr(start, comma - start);
    const size_t colon = item.find(':');
    uint64_t s = 0;
    uint64_t position = 0;
    if (item.size() < 4 || item[0] != 's' || colon == std::string_view::npos ||
        !parse_number(item.substr(1, colon - 1), &s) || !parse_number(item.substr(colon + 1), &position)) {
      return malformed;
    }
    if (s == shard) out = position;
    start = comma + 1;
  }
  return out;
}

}  // namespace accountable
