#include "backup/backup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "aggregates/context.h"
#include "aggregates/credential_store.h"
#include "aggregates/key_store.h"
#include "app/token_store.h"
#include "backup/file_copy.h"
#include "events/data_layout.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/log_verify.h"
#include "events/tree_verify.h"
#include "events/record_codec.h"
#include "events/signed_checkpoint.h"
#include "schema/domain_events.h"

namespace accountable {

namespace {

struct PurgedUser {
  PartnerId partner;
  UserId user;
  friend auto operator<=>(const PurgedUser&, const PurgedUser&) = default;
};

// "user-<uuid>" -> the uuid.
std::optional<UserId> user_of_stream(std::string_view stream) {
  constexpr std::string_view kPrefix = "user-";
  if (stream.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  auto id = UserId::parse(stream.substr(kPrefix.size()));
  if (!id) return std::nullopt;
  return *id;
}

class BackupRun {
 public:
  BackupRun(Env* env, const BackupOptions& o) : env_(env), src_(o.data_dir), dest_(o.dest_dir) {}

  std::string src(const std::string& rel) const { return join_path(src_, rel); }
  std::string dest(const std::string& rel) const { return join_path(dest_, rel); }

  Status make_dest() {
    ACCT_RETURN_IF_ERROR(require_empty_or_missing(env_, dest_, "to"));
    const bool existed = env_->file_exists(dest_);
    ACCT_RETURN_IF_ERROR(env_->create_dir(dest_));
    if (!existed) ACCT_RETURN_IF_ERROR(env_->sync_dir(parent_dir(dest_)));
    for (const std::string& d : backup_dirs()) ACCT_RETURN_IF_ERROR(env_->create_dir(dest(d)));
    return Status::ok();
  }

  // A small file copied whole when the source has it (these are rewritten by
  // rename, so a read by name sees one complete version).
  Status copy_if_present(const std::string& rel) {
    if (!env_->file_exists(src(rel))) return Status::ok();
    auto bytes = env_->read_file(src(rel));
    if (bytes.status().code() == StatusCode::kNotFound) return Status::ok();  // removed meanwhile
    if (!bytes) return bytes.status();
    auto written = write_synced_file(env_, dest(rel), *bytes, rel);
    std::fill(bytes->begin(), bytes->end(), '\0');  // may be key material
    return written.status();
  }

  // The token store is a snapshot and a journal (events/record_journal.h). A
  // compaction between reading the two would pair a new snapshot with an old
  // journal, whose replay could bring back a token revoked in between: the
  // snapshot is read again after the journal, and the pair read again if it
  // changed. A record being appended as the journal is read is a torn tail,
  // which opening the copy cuts off.
  Status copy_token_store() {
    const std::string snapshot = "secrets/tokens", journal = "secrets/tokens.journal";
    auto read = [&](const std::string& rel) -> Result<std::optional<std::string>> {
      auto bytes = env_->read_file(src(rel));
      if (bytes.status().code() == StatusCode::kNotFound) return std::optional<std::string>();
      if (!bytes) return bytes.status();
      return std::optional<std::string>(std::move(*bytes));
    };
    for (int attempt = 0; attempt < 10; ++attempt) {
      auto before = read(snapshot);
      if (!before) return before.status();
      auto log = read(journal);
      if (!log) return log.status();
      auto after = read(snapshot);
      if (!after) return after.status();
      if (*before != *after) continue;
      if (*before) ACCT_RETURN_IF_ERROR(write_synced_file(env_, dest(snapshot), **before, snapshot).status());
      if (*log) ACCT_RETURN_IF_ERROR(write_synced_file(env_, dest(journal), **log, journal).status());
      return Status::ok();
    }
    return Status(StatusCode::kBusy, "the token store was compacted during each of 10 copies; run the backup again");
  }

  // Whole records only: a record the signer is appending right now is left out.
  Status copy_checkpoints() {
    const std::string rel = "signatures/checkpoints";
    if (!env_->file_exists(src(rel))) return Status::ok();
    auto bytes = env_->read_file(src(rel));
    if (!bytes) return bytes.status();
    auto parsed = parse_checkpoints_file(*bytes, src(rel));
    if (!parsed) return parsed.status();
    signed_positions_ = parsed->checkpoints.size();
    return write_synced_file(env_, dest(rel), std::string_view(*bytes).substr(0, parsed->valid_bytes), rel).status();
  }

  // Every segment up to its last good commit, checked by the log's scanner
  // (framing, both CRC levels, positions, the hash chain), as open would.
  Status copy_segments() {
    auto segments = list_segments(env_, src("log"));
    if (!segments) return segments.status();
    ScanState state;
    auto visit = [&](const ScanCommit& commit) -> Status {
      for (const ScanRecord& r : commit.records) {
        if (r.event.type != UserPurged::kType) continue;
        auto user = user_of_stream(r.event.stream);
        auto partner = PartnerId::parse(r.event.partner);
        if (user && partner) purged_.insert(PurgedUser{*partner, *user});
      }
      return Status::ok();
    };
    for (size_t i = 0; i < segments->size(); ++i) {
      const SegmentFile& f = (*segments)[i];
      const bool last = i + 1 == segments->size();
      auto image = last ? SegmentImage::copy(env_, f.path) : SegmentImage::load(env_, f.path);
      if (!image) return image.status();
      const std::string_view bytes = image->bytes();
      auto damaged = [&](uint64_t offset, const std::string& why) {
        return corruption("segment " + f.name + " offset " + std::to_string(offset) + ": " + why +
                          "; last good position " + std::to_string(state.last_good().value()) +
                          " (run acct verify on the data folder; nothing is backed up from a damaged log)");
      };
      auto header = record_codec::parse_segment_header(bytes);
      if (!header || *header != f.base) {
        if (last && !later_commit_proves_durable(bytes, 0, state.last_good())) {
          torn_bytes_ += bytes.size();  // a segment being created: it holds nothing yet
          break;
        }
        return damaged(0, header ? "its header names base position " + std::to_string(header->value())
                                 : header.status().message());
      }
      if (bytes.size() > log_format::kSegmentHeaderSize && f.base != state.next_position) {
        return damaged(0, "the segment starts at position " + std::to_string(f.base.value()) +
                              " but the log continues at " + std::to_string(state.next_position.value()));
      }
      state.zero_tail_ends = zero_tail_allowed(bytes, last);  // the copy ends at the last commit, without the zeros
      ScanResult result = scan_commits(bytes, log_format::kSegmentHeaderSize, state, visit);
      if (result.problem) {
        const ScanProblem& p = *result.problem;
        // The same torn-tail rule as recovery: bytes after a failed check are
        // never trusted, and only the end of the last segment may be cut.
        if (!last || later_commit_proves_durable(bytes, p.offset, state.last_good())) return damaged(p.offset, p.reason);
        torn_bytes_ += bytes.size() - p.offset;
      }
      if (last) {
        // What was read is made durable in the source too (fdatasync through a
        // descriptor of our own; nothing is written), so the copy never holds
        // a commit that a crash of the source machine could still take away.
        auto handle = env_->reopen_writable_file(f.path);
        if (!handle) return handle.status();
        ACCT_RETURN_IF_ERROR((*handle)->sync());
        ACCT_RETURN_IF_ERROR((*handle)->close());
      }
      const std::string rel = "log/" + f.name;
      auto written = write_synced_file(env_, dest(rel), bytes.substr(0, result.end_offset), rel);
      if (!written) return written.status();
      segment_files_.push_back(*written);
    }
    head_ = state.last_good();
    head_hash_ = state.chain;
    return Status::ok();
  }

  Status copy_store_dir(const std::string& rel_dir, std::string_view suffix) {
    if (!env_->file_exists(src(rel_dir))) return Status::ok();
    auto names = env_->list_dir(src(rel_dir));
    if (!names) return names.status();
    for (const std::string& name : *names) {
      const std::string rel = rel_dir + "/" + name;
      // *.tmp are writes never acknowledged (the stores delete them at open).
      if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) continue;
      if (!is_backup_path(rel)) continue;
      ACCT_RETURN_IF_ERROR(copy_if_present(rel));
    }
    return Status::ok();
  }

  // A UserPurged in the copied log whose key the copy still holds: the
  // server's after-commit effect had not run yet when the keys were read.
  // The copy gets what that effect does, through the stores themselves.
  // Opening the stores also checks every copied key and the credentials.
  Status apply_purges() {
    auto keys = KeyStore::open(env_, dest_);
    if (!keys) return keys.status();
    auto credentials = CredentialStore::open(env_, dest_);
    if (!credentials) return credentials.status();
    std::unique_ptr<TokenStore> tokens;
    if (!purged_.empty() && env_->file_exists(dest("secrets/tokens"))) {
      auto opened = TokenStore::open(env_, dest_, SystemClock().now());
      if (!opened) return opened.status();
      tokens = std::move(*opened);
    }
    for (const PurgedUser& p : purged_) {
      const std::string subject = user_subject(p.user);
      if (!(*keys)->destroyed(subject)) {
        ACCT_RETURN_IF_ERROR((*keys)->destroy(subject));
        purges_applied_ += 1;
        spdlog::info("backup: user {} is purged at or before position {}; its key is destroyed in the copy too",
                     p.user.to_string(), head_.value());
      }
      ACCT_RETURN_IF_ERROR((*credentials)->erase(p.partner, p.user));
      if (tokens) ACCT_RETURN_IF_ERROR(tokens->revoke_user(p.partner, p.user));
    }
    return Status::ok();
  }

  // `acct verify`'s checks on the copy: whole log, and the signatures under
  // the copied public key. A log with nothing signed yet passes, as in verify.
  Status verify_copy() {
    std::optional<PublicKey> key;
    if (env_->file_exists(signing_pub_path(dest_))) {
      auto k = read_public_key_file(env_, signing_pub_path(dest_));
      if (!k) return k.status();
      key = *k;
    } else if (signed_positions_ > 0) {
      return corruption("the data folder has signed checkpoints but no keys/signing.pub");
    }
    VerifyReport log;
    if (key) {
      auto report = verify_signed_log(env_, dest_, *key);
      if (!report) return report.status();
      const SignatureReport& s = report->signatures;
      if (!s.ok() && !(s.problem->kind == SignatureProblem::Kind::kNoCheckpoints && s.failed == 0)) {
        return corruption("the copy fails its signature check: " + s.problem->message);
      }
      log = std::move(report->log);
    } else {
      auto report = verify_log(env_, dest_);
      if (!report) return report.status();
      log = std::move(*report);
    }
    if (!log.ok()) {
      return corruption("the copy fails verify at " + log.problem->segment + " offset " +
                        std::to_string(log.problem->offset) + ": " + log.problem->reason);
    }
    if (log.torn_tail || log.head != head_ || log.head_hash != head_hash_) {
      return Status(StatusCode::kInternal, "the copy's head (" + std::to_string(log.head.value()) +
                                               ") is not the head that was copied (" +
                                               std::to_string(head_.value()) + ")");
    }
    return Status::ok();
  }

  // Every file now in the copy: the segments as written, the rest read back
  // (apply_purges may have rewritten some).
  Result<std::vector<BackupFile>> list_files() {
    std::vector<BackupFile> files = segment_files_;
    for (const std::string& d : backup_dirs()) {
      if (d == "log") continue;
      auto names = env_->list_dir(dest(d));
      if (!names) return names.status();
      for (const std::string& name : *names) {
        const std::string rel = d + "/" + name;
        if (!is_backup_path(rel)) continue;  // a sub-folder, or a store's leftover
        auto f = hash_file(env_, dest(rel), rel);
        if (!f) return f.status();
        files.push_back(*f);
      }
    }
    if (env_->file_exists(dest("operator.token"))) {
      auto f = hash_file(env_, dest("operator.token"), "operator.token");
      if (!f) return f.status();
      files.push_back(*f);
    }
    std::sort(files.begin(), files.end(), [](const BackupFile& a, const BackupFile& b) { return a.path < b.path; });
    return files;
  }

  Status sync_dirs() {
    for (const std::string& d : backup_dirs()) ACCT_RETURN_IF_ERROR(env_->sync_dir(dest(d)));
    return env_->sync_dir(dest_);
  }

  Env* env_;
  const std::string src_;
  const std::string dest_;
  std::vector<BackupFile> segment_files_;
  std::set<PurgedUser> purged_;
  GlobalPosition head_;
  Hash256 head_hash_{};
  uint64_t torn_bytes_ = 0;
  uint64_t purges_applied_ = 0;
  size_t signed_positions_ = 0;
};

}  // namespace

Result<BackupReport> take_backup(const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  Env* env = options.env ? options.env : posix_env();
  if (options.data_dir.empty()) return invalid_argument("no data folder given", "data");
  ACCT_RETURN_IF_ERROR(refuse_shard_parent(options.data_dir));  // back up each DATA/shard-<s> of a node with S > 1
  if (options.dest_dir.empty()) return invalid_argument("no destination given", "to");
  if (!env->file_exists(join_path(options.data_dir, "log"))) {
    return not_found("no log in " + options.data_dir + " (missing " + join_path(options.data_dir, "log") +
                         "): not a data folder",
                     "data");
  }
  BackupRun run(env, options);
  ACCT_RETURN_IF_ERROR(run.make_dest());  // refuses before writing anything
  auto copy = [&]() -> Result<BackupReport> {
    ACCT_RETURN_IF_ERROR(run.copy_if_present("keys/signing.key"));
    ACCT_RETURN_IF_ERROR(run.copy_if_present("keys/signing.pub"));
    ACCT_RETURN_IF_ERROR(run.copy_checkpoints());
    ACCT_RETURN_IF_ERROR(run.copy_segments());
    if (options.after_log_copied) options.after_log_copied();
    ACCT_RETURN_IF_ERROR(run.copy_store_dir("keys/subjects", ".key"));
    ACCT_RETURN_IF_ERROR(run.copy_store_dir("keys/partners", ".secret"));
    ACCT_RETURN_IF_ERROR(run.copy_if_present("secrets/credentials"));
    ACCT_RETURN_IF_ERROR(run.copy_token_store());
    ACCT_RETURN_IF_ERROR(run.copy_if_present("operator.token"));
    ACCT_RETURN_IF_ERROR(run.apply_purges());
    ACCT_RETURN_IF_ERROR(run.sync_dirs());
    ACCT_RETURN_IF_ERROR(run.verify_copy());

    BackupReport report;
    report.manifest.created_at = SystemClock().now();
    report.manifest.source = options.data_dir;
    report.manifest.head = run.head_;
    report.manifest.head_hash = run.head_hash_;
    auto files = run.list_files();
    if (!files) return files.status();
    report.manifest.files = std::move(*files);
    for (const BackupFile& f : report.manifest.files) report.bytes += f.size;
    report.torn_bytes = run.torn_bytes_;
    report.purges_applied = run.purges_applied_;
    // Last: its presence says every file above is complete and durable.
    ACCT_RETURN_IF_ERROR(env->write_file_atomically(join_path(options.dest_dir, std::string(kManifestName)),
                                                    encode_manifest(report.manifest)));
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };
  auto report = copy();
  if (!report) {
    const Status& s = report.status();
    return Status(s.code(),
                  s.message() + "; " + options.dest_dir + " holds an incomplete copy without a MANIFEST: remove it",
                  s.field());
  }
  return report;
}

}  // namespace accountable
