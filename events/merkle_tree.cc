#include "events/merkle_tree.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "events/coding.h"
#include "events/types.h"

namespace accountable {
namespace {

namespace fmt_ = merkle_tree_format;

constexpr uint64_t kFlushEvery = 1 << 16;  // leaves between writes while catching up

// Leaves a subtree of file level k stands for: 256^k.
uint64_t leaves_per_entry(unsigned file_level) { return uint64_t{1} << (fmt_::kTileHeight * file_level); }

std::string hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

}  // namespace

std::string merkle_dir(const std::string& data_dir) { return join_path(data_dir, "merkle"); }

std::string merkle_level_path(const std::string& data_dir, unsigned level) {
  return join_path(merkle_dir(data_dir), "level-" + std::to_string(level));
}

std::string merkle_level_header(unsigned level) {
  std::string h(fmt_::kMagic);
  coding::append_u32(&h, fmt_::kVersion);
  coding::append_u32(&h, level);
  return h;
}

MerkleTree::MerkleTree(Env* env, std::string data_dir) : env_(env), data_dir_(std::move(data_dir)) {}

MerkleTree::~MerkleTree() {
  std::unique_lock lock(mu_);
  if (failed_.is_ok()) (void)flush();
  for (Level& l : levels_) {
    if (l.writer) (void)l.writer->close();
  }
}

Result<std::unique_ptr<MerkleTree>> MerkleTree::open(Env* env, const std::string& data_dir, const EventLog& log,
                                                     const std::vector<TreeHead>& signed_heads,
                                                     MerkleOpenReport* report) {
  MerkleOpenReport local;
  MerkleOpenReport& r = report ? *report : local;
  r = {};
  std::unique_ptr<MerkleTree> tree(new MerkleTree(env, data_dir));
  std::unique_lock lock(tree->mu_);
  if (Status s = env->create_dir(merkle_dir(data_dir)); !s.is_ok()) return s;
  if (Status s = tree->open_levels(&r); !s.is_ok()) return s;

  const uint64_t head = log.head().value();
  const std::optional<TreeHead> last =
      signed_heads.empty() ? std::nullopt : std::optional<TreeHead>(signed_heads.back());
  if (last && last->size > head) {
    return corruption("the log ends at position " + std::to_string(head) + ", below the signed tree size " +
                      std::to_string(last->size) + ": signed events are missing (run acct verify)");
  }
  // Keep what the largest signed root the files reach vouches for (the files
  // are not synced at every signature: a crash may cost their tail);
  // everything after it is recomputed from the log.
  const uint64_t on_disk = std::min(r.leaves_on_disk, head);
  const TreeHead* vouched = nullptr;
  for (auto it = signed_heads.rbegin(); it != signed_heads.rend(); ++it) {
    if (it->size <= on_disk) {
      vouched = &*it;
      break;
    }
  }
  std::string why = r.why_rebuilt;  // damage open_levels found
  if (!why.empty()) {
    // Already reset: nothing in the files is kept.
  } else if (vouched == nullptr) {
    why = on_disk == 0 ? "" : "no signed tree head within the " + std::to_string(on_disk) + " leaves of the files";
  } else {
    if (Status s = tree->truncate_to(vouched->size); !s.is_ok()) return s;
    auto edge = merkle::CompactRange::from_nodes(vouched->size, tree->reader());
    if (edge && edge->root() == vouched->root) {
      tree->edge_ = std::move(*edge);
      r.leaves_kept = vouched->size;
    } else {
      why = edge ? "the files' root at the signed tree size " + std::to_string(vouched->size) + " is not the signed root"
                 : edge.status().to_string();
    }
  }
  if (r.leaves_kept == 0) {
    if (!why.empty()) {
      r.rebuilt = true;
      r.why_rebuilt = why;
      spdlog::warn("merkle tree: rebuilding {} from the log: {}", merkle_dir(data_dir), why);
    }
    if (Status s = tree->reset_levels(); !s.is_ok()) return s;
  }
  if (Status s = tree->append_from_log(log, head); !s.is_ok()) return s;
  r.leaves_appended = tree->edge_.size() - r.leaves_kept;
  if (tree->edge_.size() != head) {
    return corruption("the log's scan ended at " + std::to_string(tree->edge_.size()) + ", not at its head " +
                      std::to_string(head));
  }
  // The last signed root must be the log's: it was recomputed from the log
  // wherever the files could not vouch for it.
  if (last && last->size > r.leaves_kept) {
    auto root = merkle::root(last->size, tree->reader());
    if (!root) return root.status();
    if (*root != last->root) {
      return corruption("the log's tree at size " + std::to_string(last->size) + " has root " + hex(*root) +
                        ", the signed root is " + hex(last->root) +
                        ": the log is not the one that was signed (run acct verify)");
    }
  }
  return tree;
}

Status MerkleTree::open_levels(MerkleOpenReport* report) {
  levels_.resize(fmt_::kLevels);
  std::vector<uint64_t> counts(fmt_::kLevels, 0);
  std::string damage;  // why the files cannot be used at all
  std::string missing;
  for (unsigned k = 0; k < fmt_::kLevels; ++k) {
    const std::string path = merkle_level_path(data_dir_, k);
    if (!env_->file_exists(path)) {
      if (missing.empty()) missing = path;
      auto w = env_->new_writable_file(path);
      if (!w) return w.status();
      if (Status s = (*w)->append(merkle_level_header(k)); !s.is_ok()) return s;
      if (Status s = (*w)->close(); !s.is_ok()) return s;
      continue;
    }
    auto size = env_->file_size(path);
    if (!size) return size.status();
    std::string head(fmt_::kHeaderSize, '\0');
    if (*size >= fmt_::kHeaderSize) {
      auto file = env_->new_random_access_file(path);
      if (!file) return file.status();
      std::string_view got;
      if (Status s = (*file)->read(0, fmt_::kHeaderSize, head.data(), &got); !s.is_ok()) return s;
      head.assign(got);
    }
    if (head != merkle_level_header(k)) {
      if (damage.empty()) damage = path + " has no valid header";
      continue;
    }
    counts[k] = (*size - fmt_::kHeaderSize) / 32;
  }
  // A file gone while others hold hashes is damage too (a first open has none).
  if (damage.empty() && !missing.empty() && std::any_of(counts.begin(), counts.end(), [](uint64_t c) { return c > 0; })) {
    damage = missing + " is missing";
  }
  // Leaves whose every level agrees: level k holds exactly floor(n / 16^k).
  uint64_t n = counts[0];
  for (unsigned k = 1; k < fmt_::kLevels; ++k) {
    const uint64_t per = leaves_per_entry(k);
    if (counts[k] < n / per) n = std::min(n, (counts[k] + 1) * per - 1);
  }
  report->leaves_on_disk = damage.empty() ? n : 0;
  report->why_rebuilt = damage;
  for (unsigned k = 0; k < fmt_::kLevels; ++k) levels_[k].count = counts[k];
  if (!damage.empty()) return reset_levels();
  return Status::ok();
}

Status MerkleTree::reset_levels() {
  for (unsigned k = 0; k < fmt_::kLevels; ++k) {
    Level& l = levels_[k];
    if (l.writer) (void)l.writer->close();
    l = Level{};
    const std::string path = merkle_level_path(data_dir_, k);
    auto w = env_->new_writable_file(path);
    if (!w) return w.status();
    if (Status s = (*w)->append(merkle_level_header(k)); !s.is_ok()) return s;
    l.writer = std::move(*w);
    auto reader = env_->new_random_access_file(path);
    if (!reader) return reader.status();
    l.reader = std::move(*reader);
  }
  edge_ = merkle::CompactRange();
  return Status::ok();
}

Status MerkleTree::truncate_to(uint64_t size) {
  for (unsigned k = 0; k < fmt_::kLevels; ++k) {
    Level& l = levels_[k];
    if (l.writer) (void)l.writer->close();
    l.writer.reset();
    l.reader.reset();
    l.pending.clear();
    const std::string path = merkle_level_path(data_dir_, k);
    const uint64_t count = size / leaves_per_entry(k);
    if (l.count > count) {
      if (Status s = env_->truncate_file(path, fmt_::kHeaderSize + count * 32); !s.is_ok()) return s;
    }
    l.count = std::min(l.count, count);
    auto w = env_->reopen_writable_file(path);
    if (!w) return w.status();
    l.writer = std::move(*w);
    auto reader = env_->new_random_access_file(path);
    if (!reader) return reader.status();
    l.reader = std::move(*reader);
  }
  return Status::ok();
}

Status MerkleTree::append_from_log(const EventLog& log, uint64_t limit_position) {
  if (edge_.size() >= limit_position) return Status::ok();
  Status inner;
  uint64_t since_flush = 0;
  auto on_complete = [this](unsigned level, uint64_t, const Hash256& h) {
    if (level % fmt_::kTileHeight != 0) return;
    const unsigned k = level / fmt_::kTileHeight;
    if (k < fmt_::kLevels) levels_[k].pending.append(reinterpret_cast<const char*>(h.data()), h.size());
  };
  Status scanned = log.scan_all(GlobalPosition(edge_.size() + 1), AllFilter{}, [&](const RecordedEvent& e) {
    if (e.position.value() > limit_position) return false;
    if (e.position.value() != edge_.size() + 1) {
      inner = corruption("merkle tree: the log's scan gave position " + std::to_string(e.position.value()) +
                         " after leaf " + std::to_string(edge_.size()));
      return false;
    }
    edge_.append(merkle::leaf_hash(e.hash), on_complete);
    if (++since_flush == kFlushEvery) {
      since_flush = 0;
      inner = flush();
      if (!inner.is_ok()) return false;
    }
    return true;
  });
  if (!inner.is_ok()) return inner;
  if (!scanned.is_ok()) return scanned;
  return flush();
}

Status MerkleTree::flush() {
  for (Level& l : levels_) {
    if (l.pending.empty()) continue;
    if (Status s = l.writer->append(l.pending); !s.is_ok()) {
      failed_ = s;
      spdlog::error("merkle tree: stopped after a failed write: {}", s.to_string());
      return s;
    }
    l.count += l.pending.size() / 32;
    l.pending.clear();
  }
  return Status::ok();
}

Status MerkleTree::catch_up(const EventLog& log) {
  std::unique_lock lock(mu_);
  if (!failed_.is_ok()) return failed_;
  return append_from_log(log, log.head().value());
}

Status MerkleTree::sync() {
  std::unique_lock lock(mu_);
  if (!failed_.is_ok()) return failed_;
  for (Level& l : levels_) {
    if (Status s = l.writer->sync(); !s.is_ok()) {
      failed_ = s;
      return s;
    }
  }
  return Status::ok();
}

uint64_t MerkleTree::size() const {
  std::shared_lock lock(mu_);
  return edge_.size();
}

TreeHead MerkleTree::head() const {
  std::shared_lock lock(mu_);
  return TreeHead{edge_.size(), edge_.root()};
}

Result<Hash256> MerkleTree::stored(unsigned file_level, uint64_t index, size_t count, std::vector<Hash256>* out) const {
  const Level& l = levels_[file_level];
  if (index + count > l.count) {
    return Status(StatusCode::kInternal, "merkle tree: level " + std::to_string(file_level) + " has " +
                                             std::to_string(l.count) + " hashes, asked for " +
                                             std::to_string(index + count));
  }
  std::string scratch(count * 32, '\0');
  std::string_view got;
  if (Status s = l.reader->read(fmt_::kHeaderSize + index * 32, count * 32, scratch.data(), &got); !s.is_ok()) {
    return s;
  }
  if (got.size() != count * 32) {
    return corruption("merkle tree: " + merkle_level_path(data_dir_, file_level) + " ends early at hash " +
                      std::to_string(index + got.size() / 32));
  }
  out->resize(count);
  for (size_t i = 0; i < count; ++i) std::memcpy((*out)[i].data(), got.data() + i * 32, 32);
  return (*out)[0];
}

Result<Hash256> MerkleTree::node(unsigned level, uint64_t index) const {
  const unsigned file_level = level / fmt_::kTileHeight;
  const unsigned below = level % fmt_::kTileHeight;
  if (file_level >= fmt_::kLevels) return Status(StatusCode::kInternal, "merkle tree: level out of range");
  // One read of up to 256 hashes, folded up to the level asked for.
  std::vector<Hash256> hashes;
  auto first = stored(file_level, index << below, size_t{1} << below, &hashes);
  if (!first) return first.status();
  for (unsigned step = 0; step < below; ++step) {
    for (size_t i = 0; i < hashes.size() / 2; ++i) hashes[i] = merkle::node_hash(hashes[2 * i], hashes[2 * i + 1]);
    hashes.resize(hashes.size() / 2);
  }
  return hashes[0];
}

merkle::NodeReader MerkleTree::reader() const {
  return [this](unsigned level, uint64_t index) { return node(level, index); };
}

Result<Hash256> MerkleTree::root_at(uint64_t size) const {
  std::shared_lock lock(mu_);
  if (size > edge_.size()) {
    return invalid_argument("tree size " + std::to_string(size) + " is beyond the tree (" +
                                std::to_string(edge_.size()) + " leaves)",
                            "tree_size");
  }
  if (size == edge_.size()) return edge_.root();
  return merkle::root(size, reader());
}

Result<Hash256> MerkleTree::leaf(uint64_t index) const {
  std::shared_lock lock(mu_);
  if (index >= edge_.size()) return invalid_argument("no leaf " + std::to_string(index), "position");
  return node(0, index);
}

Result<std::vector<Hash256>> MerkleTree::inclusion_proof(uint64_t index, uint64_t size) const {
  std::shared_lock lock(mu_);
  if (size > edge_.size()) {
    return invalid_argument("tree size " + std::to_string(size) + " is beyond the tree (" +
                                std::to_string(edge_.size()) + " leaves)",
                            "tree_size");
  }
  return merkle::inclusion_proof(index, size, reader());
}

Result<std::vector<Hash256>> MerkleTree::consistency_proof(uint64_t from, uint64_t to) const {
  std::shared_lock lock(mu_);
  if (to > edge_.size()) {
    return invalid_argument("tree size " + std::to_string(to) + " is beyond the tree (" +
                                std::to_string(edge_.size()) + " leaves)",
                            "to");
  }
  return merkle::consistency_proof(from, to, reader());
}

}  // namespace accountable
