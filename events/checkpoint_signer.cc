#include "events/checkpoint_signer.h"

#include <spdlog/spdlog.h>

namespace accountable {
namespace {

// How often the thread looks at the head. The count rule is therefore met
// within this delay, not at exactly N events; close() never waits for it.
constexpr std::chrono::milliseconds kPoll{100};

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
  if (head.value() > signer->last_position_) {
    std::lock_guard lock(signer->mu_);
    // A failure is logged by sign_locked and stops signing, as in the loop;
    // the log itself is not affected, so the process still opens.
    (void)signer->sign_locked(true);
  }
  spdlog::info("signed checkpoints: key {}, {} checkpoint(s), every {} events or {} s", public_key_text(signer->public_key()),
               signer->file_->checkpoints().size(), options.every_events, options.every.count());
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
  if (head.value() == 0 || (head.value() == last_position_ && hash == last_hash_)) return false;
  const Timestamp t = now();
  if (!force) {
    const bool by_count = options_.every_events > 0 && head.value() >= last_position_ + options_.every_events;
    const bool by_time = options_.every.count() > 0 &&
                         t.micros - last_time_.micros >=
                             std::chrono::duration_cast<std::chrono::microseconds>(options_.every).count();
    if (!by_count && !by_time) return false;
  }
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
  last_time_ = t;
  written_ += 1;
  return true;
}

void CheckpointSigner::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, kPoll, [&] { return stopping_; });
    if (stopping_) break;
    auto signed_now = sign_locked(false);
    if (!signed_now) break;  // logged in sign_locked; close() reports it again
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
  std::lock_guard lock(mu_);
  Status result;
  if (file_) {
    auto final_sign = sign_locked(true);  // the final head, so a clean shutdown leaves nothing unsigned
    if (!final_sign) result = final_sign.status();
    Status closed = file_->close();
    if (result.is_ok()) result = closed;
    file_.reset();
  }
  return result;
}

}  // namespace accountable
