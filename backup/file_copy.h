// The file work shared by backup and restore: durable writes with their
// SHA-256, streamed hashing of a file, and the "empty or missing" check of a
// destination folder. Everything goes through Env.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "backup/manifest.h"
#include "events/env.h"

namespace accountable {

// Creates `path` with `bytes`, fdatasyncs and closes it. The caller syncs the
// folder once all of its files are written.
Result<BackupFile> write_synced_file(Env* env, const std::string& path, std::string_view bytes,
                                     const std::string& relative);

// Copies `from` to `to` in chunks (a segment does not have to fit in memory
// twice), fdatasyncs `to`; returns the size and SHA-256 of what was read.
Result<BackupFile> copy_synced_file(Env* env, const std::string& from, const std::string& to,
                                    const std::string& relative);

// Size and SHA-256 of a whole file, read in chunks.
Result<BackupFile> hash_file(Env* env, const std::string& path, const std::string& relative);

// OK when `dir` does not exist or is an empty folder; else kAlreadyExists
// naming it and `field` (the flag it came from).
Status require_empty_or_missing(Env* env, const std::string& dir, const std::string& field);

}  // namespace accountable
