#include "events/log_verify.h"

#include <unordered_map>

#include "events/log_format.h"
#include "events/log_scanner.h"

namespace accountable {

Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyProgress& progress) {
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
    auto image = SegmentImage::load(env, f.path);
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
      }
      return Status::ok();
    };
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
  return report;
}

}  // namespace accountable
