#include "events/log_verify.h"

#include <algorithm>
#include <unordered_map>

#include "events/log_format.h"
#include "events/log_scanner.h"

namespace accountable {

namespace {

// The scanner reports problems as text; classify them here so that the CLI
// can name a flipped byte (CRC) apart from bytes changed with their CRCs
// recomputed (hash chain).
void classify(VerifyProblem* p) {
  if (p->reason.rfind("hash mismatch at position ", 0) == 0 || p->reason.rfind("hash chain broken at position ", 0) == 0) {
    p->kind = VerifyProblem::Kind::kHashChain;
  } else if (p->reason.find("CRC mismatch") != std::string::npos) {
    p->kind = VerifyProblem::Kind::kCrc;
  }
}

}  // namespace

Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyProgress& progress) {
  VerifyOptions options;
  options.progress = progress;
  return verify_log(env, data_dir, options);
}

Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyOptions& options) {
  const VerifyProgress& progress = options.progress;
  std::vector<uint64_t> wanted = options.hashes_at;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  size_t next_wanted = 0;
  const std::string log_dir = join_path(data_dir, "log");
  if (!env->file_exists(log_dir)) return not_found("no log in " + data_dir + " (missing " + log_dir + ")");
  auto segments = list_segments(env, log_dir);
  if (!segments) return segments.status();

  uint64_t total_bytes = 0;
  for (const SegmentFile& f : *segments) {
    auto size = env->file_size(f.path);
    if (!size) return size.status();
    total_bytes += *size;
  }

  VerifyReport report;
  ScanState state;
  std::unordered_map<std::string, uint64_t> versions;
  for (size_t i = 0; i < segments->size(); ++i) {
    const SegmentFile& f = (*segments)[i];
    const bool last = i + 1 == segments->size();
    auto image = last ? SegmentImage::copy(env, f.path) : SegmentImage::load(env, f.path);
    if (!image) return image.status();
    const std::string_view bytes = image->bytes();
    report.segments += 1;
    auto fail = [&](uint64_t offset, GlobalPosition position, std::string reason) {
      report.problem = VerifyProblem{f.name, offset, position, std::move(reason)};
    };
    auto header = record_codec::parse_segment_header(bytes);
    if (!header) {
      fail(0, state.next_position, header.status().message());
      break;
    }
    if (*header != f.base) {
      fail(0, state.next_position, "segment header names base position " + std::to_string(header->value()));
      break;
    }
    if (bytes.size() > log_format::kSegmentHeaderSize && f.base != state.next_position) {
      fail(0, state.next_position,
           "position gap: the segment starts at " + std::to_string(f.base.value()) + ", expected " +
               std::to_string(state.next_position.value()));
      break;
    }
    auto check_versions = [&](const ScanCommit& commit) -> Status {
      for (const ScanRecord& r : commit.records) {
        uint64_t& v = versions[std::string(r.event.stream)];
        if (r.event.version.value() != v + 1) {
          return corruption("stream '" + std::string(r.event.stream) + "' version gap at position " +
                            std::to_string(r.event.position.value()) + ": expected version " + std::to_string(v + 1) +
                            ", found " + std::to_string(r.event.version.value()));
        }
        v += 1;
        const uint64_t position = r.event.position.value();
        while (next_wanted < wanted.size() && wanted[next_wanted] < position) ++next_wanted;
        if (next_wanted < wanted.size() && wanted[next_wanted] == position) report.hashes_at[position] = r.event.hash;
        if (options.on_record) options.on_record(r.event);
      }
      // Progress inside a segment too (segments are large): every 4,096 commits.
      if (progress && (state.commits + 1) % 4096 == 0) {
        progress(report.bytes + commit.offset + commit.size, total_bytes, state.events + commit.records.size());
      }
      return Status::ok();
    };
    state.zero_tail_ends = zero_tail_allowed(bytes, last);
    ScanResult result = scan_commits(bytes, log_format::kSegmentHeaderSize, state, check_versions);
    report.bytes += result.end_offset;
    if (result.problem) {
      const ScanProblem& p = *result.problem;
      VerifyProblem found{f.name, p.offset, p.position, p.reason};
      if (last && !later_commit_proves_durable(bytes, p.offset, state.last_good())) {
        report.torn_tail = found;  // open would cut it off: it was never acknowledged
      } else {
        report.problem = found;
      }
      break;
    }
    if (progress) progress(report.bytes, total_bytes, state.events);
  }
  report.commits = state.commits;
  report.events = state.events;
  report.streams = versions.size();
  report.head = state.last_good();
  report.head_hash = state.chain;
  if (report.problem) classify(&*report.problem);
  if (report.torn_tail) classify(&*report.torn_tail);
  return report;
}

SignatureReport check_signatures(const VerifyReport& log, const std::vector<SignedCheckpoint>& checkpoints,
                                 const PublicKey& public_key, const std::string& checkpoints_file) {
  SignatureReport out;
  out.checkpoints = checkpoints.size();
  const uint64_t head = log.head.value();
  if (checkpoints.empty() && head > 0) {
    out.problem = SignatureProblem{SignatureProblem::Kind::kNoCheckpoints, 0, 0,
                                   "no signed checkpoint in " + checkpoints_file + ": nothing proves that the " +
                                       std::to_string(head) + " events of the log were not rewritten"};
  }
  auto fail = [&](SignatureProblem::Kind kind, uint64_t index, uint64_t position, std::string message) {
    out.failed += 1;
    if (!out.problem) out.problem = SignatureProblem{kind, index, position, std::move(message)};
  };
  for (size_t i = 0; i < checkpoints.size(); ++i) {
    const SignedCheckpoint& c = checkpoints[i];
    const uint64_t n = i + 1;
    const std::string where = "checkpoint " + std::to_string(n) + " (position " + std::to_string(c.position) + ")";
    if (!signature_valid(c, public_key)) {
      fail(SignatureProblem::Kind::kBadSignature, n, c.position,
           "bad signature at " + where + ": not signed by the private key of " + public_key_text(public_key));
      continue;
    }
    if (c.position > head) {
      if (!log.ok()) {
        out.not_checked += 1;  // the log failed first; that failure is the one to report
        continue;
      }
      fail(SignatureProblem::Kind::kMissing, n, c.position,
           "signed position " + std::to_string(c.position) + " is missing (log ends at " + std::to_string(head) +
               "): " + where + " covers events the log no longer has");
      continue;
    }
    auto found = log.hashes_at.find(c.position);
    if (found == log.hashes_at.end()) {
      out.not_checked += 1;  // position 0 or not asked for: nothing to compare
      continue;
    }
    if (found->second != c.head_hash) {
      std::string message = "signature mismatch at " + where + ": the log's hash there is " +
                            hex_encode(found->second.data(), found->second.size()) + ", the signed one is " +
                            hex_encode(c.head_hash.data(), c.head_hash.size()) +
                            "; the chain was rewritten at or before position " + std::to_string(c.position);
      if (out.verified > 0 && !out.problem) {
        message += ", after position " + std::to_string(out.last_verified_position);
      }
      fail(SignatureProblem::Kind::kMismatch, n, c.position, std::move(message));
      continue;
    }
    out.verified += 1;
    out.last_verified_position = std::max(out.last_verified_position, c.position);
  }
  if (head > out.last_verified_position) out.unsigned_events = head - out.last_verified_position;
  return out;
}

}  // namespace accountable
