#include "events/checkpoint_signer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace accountable {
namespace {

// How often the thread looks at the head. The count rule is therefore met
// within this delay, not at exactly N events; close() never waits for it.
constexpr std::chrono::milliseconds kPoll{100};
constexpr int kPublishRetryPolls = 10;
constexpr std::chrono::seconds kTreeSyncEvery{60};

Timestamp system_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()};
}

}  // namespace

CheckpointSigner::CheckpointSigner(CheckpointSignerOptions options, const EventLog* log)
    : options_(std::move(options)), env_(options_.env ? options_.env : posix_env()), log_(log) {}

Result<std::unique_ptr<CheckpointSigner>> CheckpointSigner::open(const CheckpointSignerOptions& options,
                                                                 const EventLog* log) {
  if (options.data_dir.empty()) return invalid_argument("a data folder is required", "data_dir");
  if (log == nullptr) return invalid_argument("the signer needs an open log", "log");
  std::unique_ptr<CheckpointSigner> signer(new CheckpointSigner(options, log));
  auto key = SigningKey::open_or_create(signer->env_, options.data_dir);
  if (!key) return key.status();
  signer->key_ = std::move(*key);
  auto file = CheckpointFile::open(signer->env_, options.data_dir);
  if (!file) return file.status();
  signer->file_ = std::move(*file);
  if (signer->file_->truncated_bytes_at_open() > 0) {
    spdlog::warn("signed checkpoints: cut a torn last record ({} bytes) from {}",
                 signer->file_->truncated_bytes_at_open(), checkpoints_path(options.data_dir));
  }
  const auto [head, hash] = log->head_and_hash();
  if (options.merkle_tree) {
    // The tree checkpoints say what the tree must hold; a note that does not
    // parse is damage the whole signer stops on (verify names it).
    std::vector<TreeHead> signed_heads;
    for (const std::string& note : signer->file_->tree_notes()) {
      auto c = parse_tree_checkpoint(note);
      if (!c) {
        signer->tree_failed_ = corruption(checkpoints_path(options.data_dir) +
                                          ": a tree checkpoint does not parse: " + c.status().message());
        break;
      }
      signed_heads.push_back(c->head());
      signer->origin_ = c->body.origin;
      signer->latest_tree_ = *c;
    }
    std::stable_sort(signed_heads.begin(), signed_heads.end(),
                     [](const TreeHead& a, const TreeHead& b) { return a.size < b.size; });
    if (signer->tree_failed_.is_ok()) {
      MerkleOpenReport report;
      auto tree = MerkleTree::open(signer->env_, options.data_dir, *log, signed_heads, &report);
      if (tree) {
        signer->tree_ = std::move(*tree);
        if (report.rebuilt) spdlog::warn("merkle tree: rebuilt ({}), {} leaves", report.why_rebuilt, head.value());
      } else {
        signer->tree_failed_ = tree.status();
      }
    }
    if (!signer->tree_failed_.is_ok()) {
      // The process still serves; nothing more is signed over a log that is
      // not the signed one (or a tree that cannot be kept).
      signer->failed_ = signer->tree_failed_;
      spdlog::error("signed checkpoints: signing stopped: {}", signer->tree_failed_.to_string());
    }
  }
  if (!signer->file_->checkpoints().empty()) {
    const SignedCheckpoint& last = signer->file_->checkpoints().back();
    signer->last_position_ = last.position;
    signer->last_hash_ = last.head_hash;
    if (last.position > head.value()) {
      spdlog::error("signed checkpoints: position {} was signed but the log ends at {}; `acct verify` will report "
                    "it missing",
                    last.position, head.value());
    }
  }
  signer->last_time_ = signer->now();
  // Events committed since the last signature (a crash before the next one was
  // due) are signed now, so a process that keeps crashing early still signs.
  const uint64_t tree_signed = signer->latest_tree_ ? signer->latest_tree_->body.tree_size : 0;
  if (signer->failed_.is_ok() && (head.value() > signer->last_position_ || (signer->tree_ && head.value() > tree_signed))) {
    std::lock_guard lock(signer->mu_);
    // A failure is logged by sign_locked and stops signing, as in the loop;
    // the log itself is not affected, so the process still opens.
    (void)signer->sign_locked(true);
  }
  spdlog::info("signed checkpoints: key {}, {} checkpoint(s), every {} events or {} s", public_key_text(signer->public_key()),
               signer->file_->checkpoints().size(), options.every_events, options.every.count());
  signer->publish_waiting();
  if (options.background) signer->thread_ = std::thread([s = signer.get()] { s->loop(); });
  return signer;
}

CheckpointSigner::~CheckpointSigner() {
  Status s = close();
  if (!s.is_ok()) spdlog::error("signed checkpoints: {}", s.to_string());
}

Timestamp CheckpointSigner::now() const { return options_.clock ? options_.clock() : system_now(); }

uint64_t CheckpointSigner::last_signed_position() const {
  std::lock_guard lock(mu_);
  return last_position_;
}

uint64_t CheckpointSigner::checkpoints_written() const {
  std::lock_guard lock(mu_);
  return written_;
}

Result<bool> CheckpointSigner::sign_if_due() {
  std::lock_guard lock(mu_);
  return sign_locked(false);
}

Result<bool> CheckpointSigner::sign_now() {
  std::lock_guard lock(mu_);
  return sign_locked(true);
}

Result<bool> CheckpointSigner::sign_locked(bool force) {
  if (!failed_.is_ok()) return failed_;
  if (!file_) return Status(StatusCode::kInternal, "the signer is closed");
  const auto [head, hash] = log_->head_and_hash();
  // Moved: another position, or the same position with another hash (a log
  // cut back by recovery and written again).
  const bool chain_moved = head.value() != 0 && !(head.value() == last_position_ && hash == last_hash_);
  const uint64_t tree_signed = latest_tree_ ? latest_tree_->body.tree_size : 0;
  const bool tree_moved = tree_ != nullptr && head.value() > tree_signed;
  if (!chain_moved && !tree_moved) return false;
  const Timestamp t = now();
  if (!force) {
    const uint64_t since = std::min(last_position_, tree_signed);
    const bool by_count = options_.every_events > 0 && head.value() >= since + options_.every_events;
    const bool by_time = options_.every.count() > 0 &&
                         t.micros - last_time_.micros >=
                             std::chrono::duration_cast<std::chrono::microseconds>(options_.every).count();
    if (!by_count && !by_time) return false;
  }
  if (chain_moved) {
    SignedCheckpoint c;
    c.position = head.value();
    c.head_hash = hash;
    c.recorded_at_micros = t.micros;
    key_->sign(&c);
    if (Status s = file_->append(c); !s.is_ok()) {
      // A failed append may have left a partial record: stop, like the log's
      // poisoning; the next open cuts it off.
      failed_ = s;
      spdlog::error("signed checkpoints: stopped after a failed write: {}", s.to_string());
      return s;
    }
    last_position_ = c.position;
    last_hash_ = c.head_hash;
  }
  if (tree_moved) {
    if (Status s = sign_tree_locked(t); !s.is_ok()) {
      failed_ = s;
      spdlog::error("signed checkpoints: stopped: {}", s.to_string());
      return s;
    }
  }
  last_time_ = t;
  written_ += 1;
  return true;
}

Status CheckpointSigner::sign_tree_locked(Timestamp t) {
  if (Status s = tree_->catch_up(*log_); !s.is_ok()) {
    tree_failed_ = s;
    return s;
  }
  // The root signed comes from leaves read from the log, not from the files:
  // they are synced only now and then (open recomputes what a crash lost),
  // so that a signature costs no fsync of the tree's sixteen files.
  if (std::chrono::steady_clock::now() >= next_tree_sync_) {
    if (Status s = tree_->sync(); !s.is_ok()) {
      tree_failed_ = s;
      return s;
    }
    next_tree_sync_ = std::chrono::steady_clock::now() + kTreeSyncEvery;
  }
  const TreeHead head = tree_->head();
  if (head.size == 0 || (latest_tree_ && head.size <= latest_tree_->body.tree_size)) return Status::ok();
  if (origin_.empty()) {
    auto first = log_->read_all(GlobalPosition(1), 1);
    if (!first) return first.status();
    if (first->events.empty()) return Status(StatusCode::kInternal, "the log has a head but no first record");
    origin_ = log_origin(first->events[0].hash);
  }
  TreeCheckpoint c = sign_tree_checkpoint(origin_, head, t, *key_);
  if (Status s = file_->append_tree_note(c.note); !s.is_ok()) return s;
  latest_tree_ = c;
  std::lock_guard queue_lock(queue_mu_);
  if (!options_.publishers.empty()) {
    if (unpublished_.size() >= options_.max_unpublished) {
      unpublished_.pop_front();
      publish_stats_.dropped += 1;
      spdlog::error("checkpoint publishing: {} checkpoints wait; the oldest was dropped unpublished",
                    options_.max_unpublished);
    }
    unpublished_.push_back(std::move(c));
  }
  return Status::ok();
}

void CheckpointSigner::publish_waiting() {
  std::lock_guard pass(pass_mu_);
  // Every publisher must take a checkpoint before the next is tried, so that
  // each destination receives them in order. The queue is locked only to
  // look and to pop: the signer appends meanwhile.
  for (;;) {
    std::optional<TreeCheckpoint> next;
    {
      std::lock_guard lock(queue_mu_);
      if (unpublished_.empty()) return;
      next = unpublished_.front();
    }
    for (const CheckpointPublisher& p : options_.publishers) {
      if (Status s = p.publish(*next); !s.is_ok()) {
        std::lock_guard lock(queue_mu_);
        publish_stats_.failures += 1;
        spdlog::warn("checkpoint publishing: {} refused tree size {}: {} (tried again later)", p.name,
                     next->body.tree_size, s.to_string());
        return;
      }
    }
    std::lock_guard lock(queue_mu_);
    // Still the front unless the bounded queue dropped it meanwhile.
    if (!unpublished_.empty() && unpublished_.front().body.tree_size == next->body.tree_size) unpublished_.pop_front();
    publish_stats_.published += 1;
  }
}

PublishStats CheckpointSigner::publish_stats() const {
  std::lock_guard lock(queue_mu_);
  PublishStats out = publish_stats_;
  out.waiting = unpublished_.size();
  return out;
}

Result<const MerkleTree*> CheckpointSigner::tree_at_head() {
  std::lock_guard lock(mu_);
  if (!tree_failed_.is_ok()) return tree_failed_;
  if (!tree_) return Status(StatusCode::kUnavailable, "this log keeps no Merkle tree");
  if (Status s = tree_->catch_up(*log_); !s.is_ok()) {
    tree_failed_ = s;
    return s;
  }
  return static_cast<const MerkleTree*>(tree_.get());
}

Result<size_t> CheckpointSigner::add_cosigned(const std::string& note, const std::vector<NoteVerifierKey>& trusted) {
  if (note.size() > signed_checkpoint_format::kMaxNoteBytes) {
    return invalid_argument("a cosigned checkpoint of at most " +
                                std::to_string(signed_checkpoint_format::kMaxNoteBytes) + " bytes",
                            "body");
  }
  auto parsed = parse_signed_note(note);
  if (!parsed) return invalid_argument(parsed.status().message(), "body");
  size_t valid = 0;
  for (const NoteVerifierKey& key : trusted) {
    const NoteSignatureResult r = check_note_signature(*parsed, key);
    if (r.check == NoteSignatureCheck::kBad) {
      return invalid_argument("the cosignature of witness " + key.name + " does not verify", "body");
    }
    if (r.check == NoteSignatureCheck::kValid) ++valid;
  }
  if (valid == 0) return invalid_argument("no cosignature by a witness this log trusts (serve --witness-key)", "body");
  std::lock_guard lock(mu_);
  if (!file_) return Status(StatusCode::kUnavailable, "the signer is closed");
  bool ours = false;  // witnesses cosign recent checkpoints: look from the newest
  const auto& notes = file_->tree_notes();
  for (auto it = notes.rbegin(); it != notes.rend() && !ours; ++it) {
    auto mine = parse_signed_note(*it);
    ours = mine && mine->text == parsed->text;
  }
  if (!ours) return not_found("this log signed no checkpoint with that text", "body");
  for (const std::string& kept : file_->cosigned_notes()) {
    if (kept == note) return valid;
  }
  if (Status s = file_->append_cosigned_note(note); !s.is_ok()) {
    failed_ = s;
    spdlog::error("signed checkpoints: stopped after a failed write: {}", s.to_string());
    return s;
  }
  return valid;
}

std::vector<std::string> CheckpointSigner::cosigned_notes() const {
  std::lock_guard lock(mu_);
  return file_ ? file_->cosigned_notes() : std::vector<std::string>{};
}

std::optional<TreeCheckpoint> CheckpointSigner::tree_checkpoint_at(uint64_t tree_size) const {
  std::lock_guard lock(mu_);
  if (!file_) return std::nullopt;
  const auto& notes = file_->tree_notes();
  for (auto it = notes.rbegin(); it != notes.rend(); ++it) {
    auto c = parse_tree_checkpoint(*it);
    if (c && c->body.tree_size == tree_size) return *c;
    if (c && c->body.tree_size < tree_size) break;  // sizes only grow along the file
  }
  return std::nullopt;
}

Status CheckpointSigner::tree_status() const {
  std::lock_guard lock(mu_);
  return tree_failed_;
}

std::optional<TreeCheckpoint> CheckpointSigner::latest_tree_checkpoint() const {
  std::lock_guard lock(mu_);
  return latest_tree_;
}

void CheckpointSigner::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, kPoll, [&] { return stopping_; });
    if (stopping_) break;
    auto signed_now = sign_locked(false);
    if (!signed_now) break;  // logged in sign_locked; close() reports it again
    // Publish what was just signed, and retry what waits once a second.
    if (*signed_now || ++polls_since_publish_ >= kPublishRetryPolls) {
      polls_since_publish_ = 0;
      lock.unlock();
      publish_waiting();
      lock.lock();
    }
  }
}

Status CheckpointSigner::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::ok();
    closed_ = true;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status result;
  {
    std::lock_guard lock(mu_);
    if (file_) {
      auto final_sign = sign_locked(true);  // the final head, so a clean shutdown leaves nothing unsigned
      if (!final_sign) result = final_sign.status();
      Status closed = file_->close();
      if (result.is_ok()) result = closed;
      file_.reset();
    }
    if (tree_ && tree_failed_.is_ok()) {
      if (Status s = tree_->sync(); !s.is_ok()) spdlog::warn("merkle tree: sync at close: {}", s.to_string());
    }
    tree_.reset();
  }
  // The final checkpoint leaves too (each publisher bounds its own wait);
  // what still waits is said, since this process will not retry it.
  publish_waiting();
  if (const PublishStats p = publish_stats(); p.waiting > 0) {
    spdlog::error("checkpoint publishing: {} tree checkpoint(s) not published at close", p.waiting);
  }
  return result;
}

}  // namespace accountable
