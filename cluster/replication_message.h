// The Kafka message that carries one sealed batch of a shard's log from its
// leader to the followers (docs/cluster.md, "The replication topic"):
//
//   topic      <cluster>.replication, partition = shard
//   key        the shard number, decimal text
//   value      "ACCTREP2" | first u64 | last u64 | prev_hash[32] | hash[32] |
//              secret count u32 | count x (length u16 | secret record key) |
//              frames
//              (integers little-endian, as in the log; frames byte for byte
//              as in the leader's segment, docs/log-format.md)
//
// The frames carry their own CRCs and hash chain; the follower's log checks
// them all against its head before it writes a byte (EventLog::apply_sealed).
// The secret record keys name the records of <cluster>.secrets committed in
// the same transaction (new keys): a follower applies the batch only once it
// has read them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_log.h"
#include "events/status.h"

namespace accountable::cluster {

inline constexpr char kReplicationMagic[8] = {'A', 'C', 'C', 'T', 'R', 'E', 'P', '2'};
inline constexpr size_t kReplicationHeaderSize = 8 + 8 + 8 + 32 + 32 + 4;

struct ReplicationMessage {
  SealedBatch batch;
  std::vector<std::string> secrets;  // record keys of <cluster>.secrets in the same transaction
};

// The value of the batch's message.
std::string encode_replication_value(const SealedBatch& batch, const std::vector<std::string>& secrets);

// The message of a value; the batch's frames point into `value`. kCorruption
// naming what is wrong (magic, length, positions) otherwise.
Result<ReplicationMessage> decode_replication_value(std::string_view value);

}  // namespace accountable::cluster
