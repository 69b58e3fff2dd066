// The MANIFEST of a backup folder (docs/backup.md): JSON naming the head the
// copy holds and every file with its size and SHA-256. `acct backup` writes it
// last, so a folder without one is a half-made backup; `acct restore` refuses
// anything that does not match it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/sha256.h"
#include "events/status.h"
#include "events/types.h"

namespace accountable {

inline constexpr std::string_view kManifestName = "MANIFEST";
inline constexpr std::string_view kManifestFormat = "accountable-backup";
inline constexpr uint32_t kManifestVersion = 1;

struct BackupFile {
  std::string path;  // relative to the folder, '/'-separated: "log/seg-...log"
  uint64_t size = 0;
  Hash256 sha256{};
};

struct Manifest {
  uint32_t version = kManifestVersion;
  Timestamp created_at;
  std::string source;  // the data folder it was taken from (information only)
  GlobalPosition head;
  Hash256 head_hash{};
  std::vector<BackupFile> files;  // sorted by path
};

std::string encode_manifest(const Manifest& m);
// Strict: every field present with its type, a known format and version, and
// every path one that a data folder holds (is_backup_path). Errors are
// kCorruption naming the field ("files[3].sha256").
Result<Manifest> parse_manifest(std::string_view json);

// The files a backup may hold, relative to the folder: log/seg-<20 digits>.log,
// keys/signing.key, keys/signing.pub, keys/subjects/<name>.key,
// keys/partners/<name>.secret, secrets/credentials, secrets/tokens,
// signatures/checkpoints, operator.token. Nothing else is ever written by
// restore, so a manifest cannot make it write outside DIR or over LOCK.
bool is_backup_path(std::string_view path);
// The folders those files live in (and that restore creates).
const std::vector<std::string>& backup_dirs();

}  // namespace accountable
