#include "cluster/replication_message.h"

#include <cstring>

#include "events/coding.h"

namespace accountable::cluster {

std::string encode_replication_value(const SealedBatch& batch, const std::vector<std::string>& secrets) {
  size_t size = kReplicationHeaderSize + batch.frames.size();
  for (const std::string& k : secrets) size += 2 + k.size();
  std::string out;
  out.reserve(size);
  out.append(kReplicationMagic, sizeof kReplicationMagic);
  coding::append_u64(&out, batch.first.value());
  coding::append_u64(&out, batch.last.value());
  out.append(reinterpret_cast<const char*>(batch.prev_hash.data()), batch.prev_hash.size());
  out.append(reinterpret_cast<const char*>(batch.hash.data()), batch.hash.size());
  coding::append_u32(&out, static_cast<uint32_t>(secrets.size()));
  for (const std::string& k : secrets) {
    coding::append_u16(&out, static_cast<uint16_t>(k.size()));  // record keys are far below 64 KiB
    out.append(k);
  }
  out.append(batch.frames);
  return out;
}

Result<ReplicationMessage> decode_replication_value(std::string_view value) {
  auto corrupt = [](const std::string& why) { return Status(StatusCode::kCorruption, "replication message: " + why); };
  if (value.size() < kReplicationHeaderSize) {
    return corrupt(std::to_string(value.size()) + " bytes, shorter than its " +
                   std::to_string(kReplicationHeaderSize) + "-byte header");
  }
  if (std::memcmp(value.data(), kReplicationMagic, sizeof kReplicationMagic) != 0) {
    return corrupt("bad magic (not ACCTREP2)");
  }
  ReplicationMessage m;
  SealedBatch& b = m.batch;
  const char* p = value.data() + sizeof kReplicationMagic;
  b.first = GlobalPosition(coding::get_u64(p));
  b.last = GlobalPosition(coding::get_u64(p + 8));
  std::memcpy(b.prev_hash.data(), p + 16, 32);
  std::memcpy(b.hash.data(), p + 48, 32);
  const uint32_t count = coding::get_u32(p + 80);
  size_t at = kReplicationHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    if (value.size() - at < 2) return corrupt("secret record key " + std::to_string(i) + " cut short at byte " + std::to_string(at));
    const uint16_t length = coding::get_u16(value.data() + at);
    at += 2;
    if (length == 0 || value.size() - at < length) {
      return corrupt("secret record key " + std::to_string(i) + " of " + std::to_string(length) +
                     " bytes at byte " + std::to_string(at));
    }
    m.secrets.emplace_back(value.substr(at, length));
    at += length;
  }
  b.frames = value.substr(at);
  if (b.first.value() == 0 || b.last < b.first || b.frames.empty()) {
    return corrupt("positions " + std::to_string(b.first.value()) + ".." + std::to_string(b.last.value()) +
                   " with " + std::to_string(b.frames.size()) + " bytes of frames");
  }
  return m;
}

}  // namespace accountable::cluster
