#include "cluster/replication_message.h"

#include <cstring>

#include "events/coding.h"

namespace accountable::cluster {

std::string encode_replication_value(const SealedBatch& batch) {
  std::string out;
  out.reserve(kReplicationHeaderSize + batch.frames.size());
  out.append(kReplicationMagic, sizeof kReplicationMagic);
  coding::append_u64(&out, batch.first.value());
  coding::append_u64(&out, batch.last.value());
  out.append(reinterpret_cast<const char*>(batch.prev_hash.data()), batch.prev_hash.size());
  out.append(reinterpret_cast<const char*>(batch.hash.data()), batch.hash.size());
  out.append(batch.frames);
  return out;
}

Result<SealedBatch> decode_replication_value(std::string_view value) {
  if (value.size() < kReplicationHeaderSize) {
    return Status(StatusCode::kCorruption, "replication message of " + std::to_string(value.size()) +
                                               " bytes: shorter than its " +
                                               std::to_string(kReplicationHeaderSize) + "-byte header");
  }
  if (std::memcmp(value.data(), kReplicationMagic, sizeof kReplicationMagic) != 0) {
    return Status(StatusCode::kCorruption, "replication message: bad magic (not ACCTREP1)");
  }
  SealedBatch b;
  const char* p = value.data() + sizeof kReplicationMagic;
  b.first = GlobalPosition(coding::get_u64(p));
  b.last = GlobalPosition(coding::get_u64(p + 8));
  std::memcpy(b.prev_hash.data(), p + 16, 32);
  std::memcpy(b.hash.data(), p + 48, 32);
  b.frames = value.substr(kReplicationHeaderSize);
  if (b.first.value() == 0 || b.last < b.first || b.frames.empty()) {
    return Status(StatusCode::kCorruption, "replication message: positions " + std::to_string(b.first.value()) +
                                               ".." + std::to_string(b.last.value()) + " with " +
                                               std::to_string(b.frames.size()) + " bytes of frames");
  }
  return b;
}

}  // namespace accountable::cluster
