// The Kafka message that carries one sealed batch of a shard's log from its
// leader to the followers (docs/cluster.md, "The replication topic"):
//
//   topic      <cluster>.replication, partition = shard
//   key        the shard number, decimal text
//   value      "ACCTREP1" | first u64 | last u64 | prev_hash[32] | hash[32] | frames
//              (integers little-endian, as in the log; frames byte for byte
//              as in the leader's segment, docs/log-format.md)
//
// The frames carry their own CRCs and hash chain; the follower's log checks
// them all against its head before it writes a byte (EventLog::apply_sealed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event_log.h"
#include "events/status.h"

namespace accountable::cluster {

inline constexpr char kReplicationMagic[8] = {'A', 'C', 'C', 'T', 'R', 'E', 'P', '1'};
inline constexpr size_t kReplicationHeaderSize = 8 + 8 + 8 + 32 + 32;

// The value of the batch's message.
std::string encode_replication_value(const SealedBatch& batch);

// The batch of a message value; its frames point into `value`. kCorruption
// naming what is wrong (magic, length, positions) otherwise.
Result<SealedBatch> decode_replication_value(std::string_view value);

}  // namespace accountable::cluster
