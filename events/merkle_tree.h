// MerkleTree: the log's RFC 9162 tree kept on disk beside it, so that any
// root or proof costs O(log n) small reads (docs/log-format.md, "Merkle tree").
//
//   DATA/merkle/level-0   every leaf hash (32 bytes each, leaf i = position i + 1)
//   DATA/merkle/level-1   the hash of every complete subtree of 16 leaves
//   DATA/merkle/level-k   ... of 16^k leaves (k up to 15)
//
// The tree is derived data: it trails the log (the signer brings it up to the
// head before each checkpoint, a proof route before a proof) and is rebuilt
// from the log when it does not agree with it. Roots that get signed come
// from leaves read from the log, never from the files alone: open checks the
// files against the last signed root and the unsigned leaves against the log.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "events/env.h"
#include "events/event_log.h"
#include "events/merkle.h"
#include "events/status.h"

namespace accountable {

namespace merkle_tree_format {
inline constexpr std::string_view kMagic = "ACCTMRK1";
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 16;  // magic, version u32, level u32
inline constexpr unsigned kTileHeight = 4;  // level-k holds subtrees of 2^(4k) leaves
inline constexpr unsigned kLevels = 16;     // 2^64 leaves
}  // namespace merkle_tree_format

std::string merkle_dir(const std::string& data_dir);  // DATA/merkle
std::string merkle_level_path(const std::string& data_dir, unsigned level);  // DATA/merkle/level-<k>
std::string merkle_level_header(unsigned level);  // the 16 bytes every level file starts with

// A tree size and its root, as a signed checkpoint states them.
struct TreeHead {
  uint64_t size = 0;
  Hash256 root{};
};

// What open found and did.
struct MerkleOpenReport {
  uint64_t leaves_on_disk = 0;   // usable leaves found in the files
  uint64_t leaves_kept = 0;      // of those, kept after the checks
  uint64_t leaves_appended = 0;  // read from the log to reach its head
  bool rebuilt = false;          // the files did not agree with the log or the signed root
  std::string why_rebuilt;
};

class MerkleTree {
 public:
  // Opens (or creates) DATA/merkle/ and brings it to the log's head.
  // `signed_heads`: the signed tree heads, by size. The files are kept up to
  // the largest signed size they reach whose root they give; the rest is
  // recomputed from the log (all of it when none vouches for them). If the
  // log does not give the last signed root, or is shorter than its size, open
  // fails with kCorruption: the log is not the one that was signed, and
  // nothing may be signed over it (acct verify says where).
  static Result<std::unique_ptr<MerkleTree>> open(Env* env, const std::string& data_dir, const EventLog& log,
                                                  const std::vector<TreeHead>& signed_heads,
                                                  MerkleOpenReport* report = nullptr);
  ~MerkleTree();
  MerkleTree(const MerkleTree&) = delete;
  MerkleTree& operator=(const MerkleTree&) = delete;

  // Appends the leaves of the log's events after size(), up to its durable head.
  Status catch_up(const EventLog& log);
  // fdatasyncs the files. Not needed for correctness (open recomputes what a
  // crash lost); it keeps that recomputation short.
  Status sync();

  uint64_t size() const;
  TreeHead head() const;  // size() and its root
  Result<Hash256> root_at(uint64_t size) const;
  Result<Hash256> leaf(uint64_t index) const;
  Result<std::vector<Hash256>> inclusion_proof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash256>> consistency_proof(uint64_t from, uint64_t to) const;

 private:
  MerkleTree(Env* env, std::string data_dir);
  struct Level {
    std::unique_ptr<WritableFile> writer;
    std::unique_ptr<RandomAccessFile> reader;
    uint64_t count = 0;   // hashes in the file
    std::string pending;  // hashes appended since the last flush
  };
  Status open_levels(MerkleOpenReport* report);
  Status reset_levels();  // every file back to its header: the rebuild
  Status truncate_to(uint64_t size);
  Status append_from_log(const EventLog& log, uint64_t limit_position);
  Status flush();
  Result<Hash256> node(unsigned level, uint64_t index) const;  // caller holds mu_
  Result<Hash256> stored(unsigned file_level, uint64_t index, size_t count, std::vector<Hash256>* out) const;
  merkle::NodeReader reader() const;

  Env* env_;
  std::string data_dir_;
  mutable std::shared_mutex mu_;  // readers shared; catch_up and open exclusive
  std::vector<Level> levels_;
  merkle::CompactRange edge_;  // the tree at size(): leaves from the log
  Status failed_;              // a failed write: the files are not trusted until reopened
};

}  // namespace accountable
