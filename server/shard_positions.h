// Positions of a cluster with S shards as clients see them (docs/http-api.md,
// "Shards"): a command's answer carries the token "s<shard>:<position>", and
// min_position takes a plain position or such tokens, comma-separated. The
// one home of that spelling; S = 1 speaks it too (shard 0), so that a client
// written for shards works against one log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"

namespace accountable {

// "s<shard>:<position>".
std::string position_token(uint32_t shard, uint64_t position);

// The largest shard number a request may name (?shard=, docs/openapi.yaml):
// a shard outside 0-255 is a bad request, one the cluster lacks is 404.
inline constexpr uint64_t kMaxShardParam = 255;

// The position for `shard` in a min_position value: a plain number (any
// shard), or tokens "s<n>:<position>" comma-separated (nullopt: `shard` is
// not named, nothing to wait for; a shard named twice: the later position).
// kInvalidArgument naming min_position when malformed.
Result<std::optional<uint64_t>> position_for(std::string_view min_position, uint32_t shard);

}  // namespace accountable
