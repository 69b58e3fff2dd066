#include "events/tree_verify.h"

#include <algorithm>
#include <set>

#include "events/merkle_tree.h"
#include "events/types.h"

namespace accountable {
namespace {

namespace fmt_ = merkle_tree_format;

std::string hex(const Hash256& h) { return hex_encode(h.data(), h.size()); }

}  // namespace

// Reads one level file front to back, in chunks.
class TreeVerifier::FileReader {
 public:
  static std::unique_ptr<FileReader> open(Env* env, const std::string& path, unsigned level,
                                          std::optional<std::string>* problem) {
    if (!env->file_exists(path)) return nullptr;
    auto file = env->new_random_access_file(path);
    auto size = env->file_size(path);
    if (!file || !size) {
      *problem = path + ": cannot be read";
      return nullptr;
    }
    std::unique_ptr<FileReader> r(new FileReader());
    r->path_ = path;
    r->file_ = std::move(*file);
    const std::string expected = merkle_level_header(level);
    std::string head(fmt_::kHeaderSize, '\0');
    std::string_view got;
    if (*size < fmt_::kHeaderSize || !r->file_->read(0, fmt_::kHeaderSize, head.data(), &got).is_ok() ||
        got != expected) {
      *problem = path + ": bad header (the next open rebuilds the tree)";
      return nullptr;
    }
    r->count_ = (*size - fmt_::kHeaderSize) / 32;
    return r;
  }

  uint64_t count() const { return count_; }
  uint64_t read() const { return next_; }
  const std::string& path() const { return path_; }

  std::optional<Hash256> next() {
    if (next_ >= count_) return std::nullopt;
    if (pos_ == chunk_.size()) {
      const uint64_t n = std::min<uint64_t>(kChunk, count_ - next_);
      scratch_.resize(n * 32);
      std::string_view got;
      if (!file_->read(fmt_::kHeaderSize + next_ * 32, n * 32, scratch_.data(), &got).is_ok() || got.size() != n * 32) {
        count_ = next_;
        return std::nullopt;
      }
      chunk_.assign(got);
      pos_ = 0;
    }
    Hash256 h;
    std::copy(chunk_.begin() + static_cast<std::ptrdiff_t>(pos_), chunk_.begin() + static_cast<std::ptrdiff_t>(pos_ + 32),
              h.begin());
    pos_ += 32;
    ++next_;
    return h;
  }

 private:
  static constexpr uint64_t kChunk = 32768;  // hashes per read (1 MiB)
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t count_ = 0;
  uint64_t next_ = 0;
  std::string chunk_;
  size_t pos_ = 0;
  std::string scratch_;
};

TreeVerifier::TreeVerifier(Env* env, std::string data_dir, std::vector<std::string> notes,
                           std::vector<std::string> cosigned, std::vector<std::string> external)
    : env_(env),
      data_dir_(std::move(data_dir)),
      notes_(std::move(notes)),
      cosigned_(std::move(cosigned)),
      external_(std::move(external)) {
  for (const auto* list : {&notes_, &cosigned_, &external_}) {
    for (const std::string& n : *list) {
      if (auto c = parse_tree_checkpoint(n)) roots_at_[c->body.tree_size] = std::nullopt;
    }
  }
  files_.resize(fmt_::kLevels);
  if (env_->file_exists(merkle_dir(data_dir_))) {
    for (unsigned k = 0; k < fmt_::kLevels; ++k) {
      files_[k] = FileReader::open(env_, merkle_level_path(data_dir_, k), k,
                                   &file_problem_);
      if (files_[k]) files_present_ = true;
    }
  }
}

TreeVerifier::~TreeVerifier() = default;

void TreeVerifier::on_record(const RecordedEvent& e) {
  if (!first_hash_) first_hash_ = e.hash;
  range_.append(merkle::leaf_hash(e.hash), [this](unsigned level, uint64_t index, const Hash256& h) {
    if (level % fmt_::kTileHeight != 0 || file_problem_) return;
    FileReader* f = files_[level / fmt_::kTileHeight].get();
    if (f == nullptr) return;
    auto stored = f->next();
    if (!stored) return;  // the files trail the log: the next open appends the rest
    if (*stored != h) {
      file_problem_ = f->path() + ": hash " + std::to_string(index) + " (byte offset " +
                      std::to_string(fmt_::kHeaderSize + index * 32) +
                      ") differs from the tree recomputed from the log (the next open rebuilds the tree)";
    }
  });
  auto wanted = roots_at_.find(range_.size());
  if (wanted != roots_at_.end()) wanted->second = range_.root();
}

TreeVerifyReport TreeVerifier::finish(const VerifyReport& log, const PublicKey& log_key,
                                      const std::vector<NoteVerifierKey>& witness_keys, uint64_t quorum) {
  TreeVerifyReport out;
  out.files_present = files_present_;
  out.file_problem = file_problem_;
  out.file_leaves = files_[0] ? files_[0]->count() : 0;
  const uint64_t head = log.head.value();
  if (log.ok() && !out.file_problem && files_[0] && files_[0]->count() > head) {
    out.file_problem = files_[0]->path() + " holds " + std::to_string(files_[0]->count()) +
                       " leaves but the log has only " + std::to_string(head) +
                       " events: the log was cut back after the tree was written";
  }
  const std::string origin = first_hash_ ? log_origin(*first_hash_) : std::string();

  // The log's own tree checkpoints, then those kept outside the folder.
  out.checkpoints = notes_.size();
  out.external = external_.size();
  auto fail = [&](std::string message) {
    out.failed += 1;
    if (!out.problem) out.problem = std::move(message);
  };
  for (size_t i = 0; i < notes_.size() + external_.size(); ++i) {
    const bool outside = i >= notes_.size();
    const std::string& text = outside ? external_[i - notes_.size()] : notes_[i];
    const std::string where = outside ? "the checkpoint kept outside the folder (" +
                                            std::to_string(i - notes_.size() + 1) + ")"
                                      : "tree checkpoint " + std::to_string(i + 1);
    auto c = parse_tree_checkpoint(text);
    if (!c) {
      fail(where + " does not parse: " + c.status().message());
      continue;
    }
    const uint64_t size = c->body.tree_size;
    const std::string named = where + " (tree size " + std::to_string(size) + ")";
    if (Status s = check_tree_checkpoint(*c, log_key); !s.is_ok()) {
      fail("bad signature at " + named + ": " + s.message());
      continue;
    }
    if (!origin.empty() && c->body.origin != origin) {
      fail(named + " names the log " + c->body.origin + ", but this log is " + origin +
           " (its first record was rewritten, or the checkpoint belongs to another log)");
      continue;
    }
    if (size > head) {
      if (log.ok()) {
        fail("signed tree size " + std::to_string(size) + " is missing (log ends at " + std::to_string(head) +
             "): " + named + " covers events the log no longer has");
      }
      continue;
    }
    const auto& root = roots_at_[size];
    if (!root) continue;  // beyond a failure of the log itself
    if (*root != c->body.root) {
      fail("root mismatch at " + named + ": the log's tree root there is " + hex(*root) + ", the signed one is " +
           hex(c->body.root) + "; an event at or before position " + std::to_string(size) + " was rewritten");
      continue;
    }
    if (outside) {
      // The log still gives it; its own file must still hold it too, or the
      // file was cut back (or rewritten) after the checkpoint left it.
      if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) {
        fail("the checkpoints file has no copy of " + named + ": it was cut back or rewritten after that checkpoint "
             "was published");
        continue;
      }
      out.external_verified += 1;
      continue;
    }
    out.verified += 1;
    if (size >= out.last_verified_size) {
      out.last_verified_size = size;
      out.last_verified_root = c->body.root;
    }
  }

  // Witnesses: which sizes each key cosigned, checked against the log.
  out.witness_keys = witness_keys.size();
  out.quorum = quorum;
  if (witness_keys.empty()) return out;
  std::map<uint64_t, std::set<size_t>> cosigners;  // tree size -> witness keys that cosigned the log's root there
  for (const std::string& text : cosigned_) {
    auto c = parse_tree_checkpoint(text);
    auto note = parse_signed_note(text);
    if (!c || !note) {
      if (!out.witness_problem) out.witness_problem = "a cosigned checkpoint does not parse";
      continue;
    }
    for (size_t k = 0; k < witness_keys.size(); ++k) {
      const NoteSignatureResult r = check_note_signature(*note, witness_keys[k]);
      if (r.check == NoteSignatureCheck::kAbsent) continue;
      const std::string who = "witness " + witness_keys[k].name;
      if (r.check == NoteSignatureCheck::kBad) {
        if (!out.witness_problem) {
          out.witness_problem = who + "'s cosignature on tree size " + std::to_string(c->body.tree_size) +
                                " does not verify";
        }
        continue;
      }
      const uint64_t size = c->body.tree_size;
      if (size > head) {
        if (log.ok() && !out.witness_problem) {
          out.witness_problem = who + " cosigned tree size " + std::to_string(size) + " but the log ends at " +
                                std::to_string(head) + ": witnessed events are missing (rolled back)";
        }
        continue;
      }
      const auto& root = roots_at_[size];
      if (!root) continue;
      if (*root != c->body.root) {
        if (!out.witness_problem) {
          out.witness_problem = "the log's tree root at size " + std::to_string(size) + " is " + hex(*root) + ", but " +
                                who + " cosigned " + hex(c->body.root) +
                                ": the log was rewritten after it was witnessed";
        }
        continue;
      }
      cosigners[size].insert(k);
    }
  }
  for (const auto& [size, keys] : cosigners) {
    if (keys.size() >= quorum && size >= out.witnessed_size) {
      out.witnessed_size = size;
      out.witnessed_by = keys.size();
    }
  }
  if (out.witnessed_size == 0 && !out.witness_problem) {
    out.witness_problem = "no tree checkpoint is cosigned by " + std::to_string(quorum) + " of the " +
                          std::to_string(witness_keys.size()) + " witness key(s) given";
  }
  return out;
}

Result<SignedVerifyReport> verify_signed_log(Env* env, const std::string& data_dir, const PublicKey& public_key,
                                             const VerifyProgress& progress) {
  SignedVerifyOptions options;
  options.progress = progress;
  return verify_signed_log(env, data_dir, public_key, options);
}

Result<SignedVerifyReport> verify_signed_log(Env* env, const std::string& data_dir, const PublicKey& public_key,
                                             const SignedVerifyOptions& options) {
  SignedVerifyReport out;
  const std::string file = checkpoints_path(data_dir);
  CheckpointFileContents contents;
  std::optional<SignatureProblem> file_problem;
  auto read = read_checkpoints_file(env, data_dir);
  if (read) {
    contents = std::move(*read);
  } else if (read.status().code() == StatusCode::kCorruption) {
    file_problem = SignatureProblem{SignatureProblem::Kind::kCheckpointsFile, 0, 0,
                                    "the signed checkpoints are damaged: " + read.status().message()};
  } else if (read.status().code() != StatusCode::kNotFound) {
    return read.status();
  }
  TreeVerifier tree(env, data_dir, contents.tree_notes, contents.cosigned_notes, options.external_checkpoints);
  VerifyOptions log_options;
  log_options.progress = options.progress;
  log_options.on_record = [&tree](const RecordedEvent& e) { tree.on_record(e); };
  for (const SignedCheckpoint& c : contents.checkpoints) log_options.hashes_at.push_back(c.position);
  auto log = verify_log(env, data_dir, log_options);
  if (!log) return log.status();
  out.log = std::move(*log);
  out.signatures = check_signatures(out.log, contents.checkpoints, public_key, file);
  if (file_problem) {
    out.signatures.problem = file_problem;
    out.signatures.failed += 1;
  }
  const uint64_t quorum = options.witness_quorum > 0 ? options.witness_quorum : options.witness_keys.size();
  out.tree = tree.finish(out.log, public_key, options.witness_keys, quorum);
  return out;
}

}  // namespace accountable
