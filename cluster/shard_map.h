// Which shard holds a partner (docs/cluster.md, "Shards"): a stable hash of
// the partner id's canonical text, so every node and every version agrees.
// Streams without a partner (the operator's catalog and price lists) live in
// shard 0.
#pragma once

#include <cstdint>
#include <string_view>

namespace accountable::cluster {

// The first 8 bytes of SHA-256(partner id text), little-endian, modulo
// `shards`; 0 for an empty id (no partner). `shards` >= 1.
uint32_t shard_of(std::string_view partner_id, uint32_t shards);

}  // namespace accountable::cluster
