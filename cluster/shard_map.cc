#include "cluster/shard_map.h"

#include "events/coding.h"
#include "events/sha256.h"

namespace accountable::cluster {

uint32_t shard_of(std::string_view partner_id, uint32_t shards) {
  if (partner_id.empty() || shards <= 1) return 0;
  const Hash256 h = sha256(partner_id);
  return static_cast<uint32_t>(coding::get_u64(reinterpret_cast<const char*>(h.data())) % shards);
}

}  // namespace accountable::cluster
