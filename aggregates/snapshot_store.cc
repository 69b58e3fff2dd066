#include "aggregates/snapshot_store.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "events/coding.h"
#include "events/crc32c.h"

namespace accountable {

namespace {
constexpr char kMagic[8] = {'A', 'C', 'C', 'T', 'S', 'N', 'P', '1'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeader = 8 + 4 + 4 + 8 + 4;
}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(Env* env, const std::string& data_dir) {
  const std::string dir = join_path(data_dir, "snapshots");
  ACCT_RETURN_IF_ERROR(env->create_dir(dir));
  return std::make_unique<SnapshotStore>(env, dir);
}

std::string SnapshotStore::path_of(std::string_view stream) const {
  // Stream ids are limited to [A-Za-z0-9._:@-] and never start with '.' (events/types.h).
  return join_path(dir_, std::string(stream) + ".snap");
}

Status SnapshotStore::save(std::string_view stream, uint32_t state_schema, StreamVersion version,
                           std::string_view state) {
  std::string bytes;
  bytes.reserve(kHeader + state.size() + 4);
  bytes.append(kMagic, 8);
  coding::append_u32(&bytes, kFormat);
  coding::append_u32(&bytes, state_schema);
  coding::append_u64(&bytes, version.value());
  coding::append_u32(&bytes, static_cast<uint32_t>(state.size()));
  bytes.append(state);
  coding::append_u32(&bytes, crc32c::mask(crc32c::value(bytes.data(), bytes.size())));
  return env_->write_file_atomically(path_of(stream), bytes);
}

std::optional<Snapshot> SnapshotStore::load(std::string_view stream, uint32_t state_schema) const {
  const std::string path = path_of(stream);
  if (!env_->file_exists(path)) return std::nullopt;
  auto bytes = env_->read_file(path);
  auto unusable = [&](const std::string& why) -> std::optional<Snapshot> {
    spdlog::warn("snapshot {} ignored ({}); rebuilding the state from the stream's events", path, why);
    return std::nullopt;
  };
  if (!bytes) return unusable(bytes.status().to_string());
  const std::string& b = *bytes;
  if (b.size() < kHeader + 4) return unusable("cut short");
  if (crc32c::mask(crc32c::value(b.data(), b.size() - 4)) != coding::get_u32(b.data() + b.size() - 4)) {
    return unusable("CRC mismatch");
  }
  if (std::memcmp(b.data(), kMagic, 8) != 0 || coding::get_u32(b.data() + 8) != kFormat) {
    return unusable("not a snapshot of this format");
  }
  if (coding::get_u32(b.data() + 12) != state_schema) {
    return unusable("state schema " + std::to_string(coding::get_u32(b.data() + 12)) + ", this build reads " +
                    std::to_string(state_schema));
  }
  const uint32_t length = coding::get_u32(b.data() + 24);
  if (length != b.size() - kHeader - 4) return unusable("length does not match the file");
  return Snapshot{StreamVersion(coding::get_u64(b.data() + 16)), b.substr(kHeader, length)};
}

}  // namespace accountable
