#include "events/log_scanner.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "events/coding.h"
#include "events/log_format.h"

namespace accountable {

using namespace log_format;

std::string segment_file_name(GlobalPosition base) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "seg-%020llu.log", static_cast<unsigned long long>(base.value()));
  return buf;
}

Result<std::vector<SegmentFile>> list_segments(Env* env, const std::string& log_dir) {
  auto names = env->list_dir(log_dir);
  if (!names) return names.status();
  std::vector<SegmentFile> out;
  for (const std::string& name : *names) {
    if (name.size() != 28 || name.rfind("seg-", 0) != 0 || name.substr(24) != ".log") continue;
    uint64_t base = 0;
    bool digits = true;
    for (size_t i = 4; i < 24; ++i) {
      if (name[i] < '0' || name[i] > '9') digits = false;
      base = base * 10 + static_cast<uint64_t>(name[i] - '0');
    }
    if (!digits) continue;
    out.push_back(SegmentFile{join_path(log_dir, name), name, GlobalPosition(base)});
  }
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) { return a.base < b.base; });
  return out;
}

Result<SegmentImage> SegmentImage::load(Env* env, const std::string& path) {
  auto size = env->file_size(path);
  if (!size) return size.status();
  auto file = env->new_random_access_file(path, *size);
  if (!file) return file.status();
  SegmentImage image;
  image.file_ = std::move(*file);
  if (image.file_->zero_copy()) {
    ACCT_RETURN_IF_ERROR(image.file_->read(0, *size, nullptr, &image.bytes_));
  } else {
    image.copy_.resize(*size);
    std::string_view got;
    ACCT_RETURN_IF_ERROR(image.file_->read(0, *size, image.copy_.data(), &got));
    if (got.data() != image.copy_.data()) std::memmove(image.copy_.data(), got.data(), got.size());
    image.copy_.resize(got.size());
    image.bytes_ = image.copy_;
  }
  if (image.bytes_.size() != *size) return io_error("short read of " + path);
  return image;
}

Result<SegmentImage> SegmentImage::copy(Env* env, const std::string& path) {
  auto bytes = env->read_file(path);
  if (!bytes) return bytes.status();
  SegmentImage image;
  image.copy_ = std::move(*bytes);
  image.bytes_ = image.copy_;
  return image;
}

Result<ScanCommit> decode_commit(std::string_view bytes, uint64_t offset, bool verify_crc) {
  auto frame = record_codec::parse_frame(bytes, verify_crc);
  if (!frame) {
    // Never trust the length after a CRC failure; but if the commit's records
    // still parse, say which one holds the damage.
    if (frame.status().message() == "CRC mismatch" && bytes.size() >= kFrameHeaderSize + kCommitHeaderSize) {
      const uint32_t length = coding::get_u32(bytes.data() + 4);
      if (length <= bytes.size() - kFrameHeaderSize && length >= kCommitHeaderSize) {
        std::string_view payload = bytes.substr(kFrameHeaderSize, length);
        size_t at = kCommitHeaderSize;
        while (at < payload.size()) {
          auto rec = record_codec::parse_frame(payload.substr(at));
          if (!rec) {
            GlobalPosition pos(payload.size() - at >= kFrameHeaderSize + 8
                                   ? coding::get_u64(payload.data() + at + kFrameHeaderSize)
                                   : 0);
            return corruption("CRC mismatch in the event record that claims position " +
                              std::to_string(pos.value()));
          }
          at += rec->frame_size;
        }
      }
    }
    return corruption("commit frame: " + frame.status().message());
  }
  if (frame->type != FrameType::kCommit) return corruption("expected a commit frame, found another frame type");
  auto header = record_codec::parse_commit_header(frame->payload);
  if (!header) return header.status();
  ScanCommit commit;
  commit.offset = offset;
  commit.size = frame->frame_size;
  commit.header = *header;
  commit.records.reserve(header->event_count);
  size_t at = kCommitHeaderSize;
  const std::string_view payload = frame->payload;
  for (uint32_t i = 0; i < header->event_count; ++i) {
    auto rec = record_codec::parse_frame(payload.substr(at), verify_crc);
    const uint64_t expected_position = header->first_position.value() + i;
    if (!rec) {
      return corruption("event record at position " + std::to_string(expected_position) + ": " +
                        rec.status().message());
    }
    if (rec->type != FrameType::kEvent) return corruption("commit holds a frame that is not an event record");
    auto event = record_codec::decode_record(rec->payload);
    if (!event) return event.status();
    if (event->position.value() != expected_position) {
      return corruption("event record says position " + std::to_string(event->position.value()) + ", expected " +
                        std::to_string(expected_position));
    }
    commit.records.push_back(ScanRecord{*event, offset + kFrameHeaderSize + at, rec->payload});
    at += rec->frame_size;
  }
  if (at != payload.size()) return corruption("commit frame has bytes after its last event record");
  return commit;
}

ScanResult scan_commits(std::string_view segment, uint64_t offset, ScanState& state, const CommitVisitor& visit) {
  ScanResult result;
  result.end_offset = offset;
  while (offset < segment.size()) {
    // Only zeros from here on: preallocated space, the end of the log. A
    // commit torn in it leaves a non-zero byte somewhere, and fails below.
    if (state.zero_tail_ends && segment[offset] == 0 &&
        std::memcmp(segment.data() + offset, segment.data() + offset + 1, segment.size() - offset - 1) == 0) {
      result.zero_tail = segment.size() - offset;
      return result;
    }
    auto problem = [&](std::string reason) {
      result.problem = ScanProblem{offset, state.next_position, std::move(reason)};
      return result;
    };
    auto commit = decode_commit(segment.substr(offset), offset);
    if (!commit) return problem(commit.status().message());
    if (commit->header.first_position != state.next_position) {
      return problem("position gap: expected position " + std::to_string(state.next_position.value()) +
                     ", the commit starts at " + std::to_string(commit->header.first_position.value()));
    }
    // Hash chain: each record names the previous hash and hashes itself.
    for (const ScanRecord& r : commit->records) {
      if (r.event.prev_hash != state.chain) {
        result.problem = ScanProblem{offset, r.event.position,
                                     "hash chain broken at position " + std::to_string(r.event.position.value()) +
                                         ": its prev_hash is not the hash of position " +
                                         std::to_string(r.event.position.value() - 1)};
        return result;
      }
      if (record_codec::compute_record_hash(r.bytes) != r.event.hash) {
        result.problem = ScanProblem{offset, r.event.position,
                                     "hash mismatch at position " + std::to_string(r.event.position.value()) +
                                         ": the record's bytes do not match its hash (changed after writing)"};
        return result;
      }
      state.chain = r.event.hash;
    }
    Status visited = visit ? visit(*commit) : Status::ok();
    if (!visited.is_ok()) return problem(visited.message());
    state.next_position = GlobalPosition(commit->header.first_position.value() + commit->header.event_count);
    state.commits += 1;
    state.events += commit->header.event_count;
    offset += commit->size;
    result.end_offset = offset;
  }
  return result;
}

bool zero_tail_allowed(std::string_view segment, bool last_segment) {
  const std::optional<uint32_t> version = record_codec::segment_format_version(segment);
  return last_segment && version && *version >= kZeroTailFormatVersion;
}

bool later_commit_proves_durable(std::string_view segment, uint64_t from, GlobalPosition last_good) {
  for (uint64_t at = from + 1; at + kFrameHeaderSize + kCommitHeaderSize <= segment.size(); ++at) {
    // Cheap filters before the CRC: the type byte and a length that fits.
    if (static_cast<uint8_t>(segment[at + 8]) != static_cast<uint8_t>(FrameType::kCommit)) continue;
    const uint32_t length = coding::get_u32(segment.data() + at + 4);
    if (length < kCommitHeaderSize || length > segment.size() - at - kFrameHeaderSize) continue;
    auto frame = record_codec::parse_frame(segment.substr(at));
    if (!frame || frame->type != FrameType::kCommit) continue;
    auto header = record_codec::parse_commit_header(frame->payload);
    if (header && header->durable_before > last_good) return true;
  }
  return false;
}

}  // namespace accountable
