// Writes real records and commits with the production writer (EventLog) and
// cuts them into seeds for fuzz_log_decoder (tests/fuzz/corpus/log_decoder/):
//   make_log_seeds <out dir> [<golden dir>]
// Payloads are the golden event payloads when the folder is given.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/log_scanner.h"
#include "tests/fuzz/fuzz_log_common.h"

namespace fs = std::filesystem;
using namespace accountable;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_seed(const fs::path& dir, const std::string& name, fuzz::LogMode mode, std::string_view bytes) {
  std::ofstream out(dir / name, std::ios::binary);
  const char m = static_cast<char>(mode);
  out.write(&m, 1);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

NewEvent event(std::string type, uint16_t version, std::string payload) {
  return NewEvent{EventId::random(), std::move(type), version, std::move(payload)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: make_log_seeds <out dir> [<golden dir>]\n");
    return 2;
  }
  const fs::path out_dir = argv[1];
  fs::create_directories(out_dir);
  std::vector<std::pair<std::string, std::string>> payloads;  // (type, bytes) of *.v1.bin
  if (argc > 2) {
    for (const auto& entry : fs::directory_iterator(argv[2])) {
      const std::string name = entry.path().filename().string();
      const auto dot = name.find(".v1.bin");
      if (dot != std::string::npos) payloads.emplace_back(name.substr(0, dot), slurp(entry.path()));
    }
    std::sort(payloads.begin(), payloads.end());
  }
  if (payloads.empty()) payloads.emplace_back("Happened", "payload");

  const fs::path data = fs::temp_directory_path() / ("acct-fuzz-seeds-" + std::to_string(::getpid()));
  fs::remove_all(data);
  {
    LogOptions options;
    options.data_dir = data.string();
    auto log = EventLog::open(options);
    if (!log) {
      std::fprintf(stderr, "open: %s\n", log.status().to_string().c_str());
      return 1;
    }
    // A few commit shapes: one event; several events of one stream; two
    // streams with a partner; a check-only stream next to a written one.
    const std::string partner = "9b2f6c1e-3d4a-4f5b-8c6d-7e8f90a1b2c3";
    size_t next_payload = 0;
    auto take = [&] { return payloads[next_payload++ % payloads.size()]; };
    for (int shape = 0; shape < 4; ++shape) {
      CommitRequest r;
      r.command_id = CommandId::random();
      r.correlation_id = CorrelationId::random();
      r.causation_id = CausationId::random();
      r.actor = shape == 0 ? "operator" : "user:0f0e0d0c-0b0a-4908-8706-050403020100";
      StreamAppend a;
      a.stream = "partner-" + partner;
      a.partner = shape >= 2 ? partner : "";
      for (int i = 0; i < (shape == 1 ? 3 : 1); ++i) {
        auto [type, bytes] = take();
        a.events.push_back(event(type, 1, bytes));
      }
      r.streams.push_back(std::move(a));
      if (shape == 2) {
        StreamAppend b;
        b.stream = "user-0f0e0d0c-0b0a-4908-8706-050403020100";
        b.partner = partner;
        auto [type, bytes] = take();
        b.events.push_back(event(type, 2, bytes));
        r.streams.push_back(std::move(b));
      }
      if (shape == 3) {
        StreamAppend c;
        c.stream = "catalog";
        c.expected = ExpectedVersion::no_stream();
        r.streams.push_back(std::move(c));
      }
      auto done = (*log)->append(std::move(r));
      if (!done) {
        std::fprintf(stderr, "append: %s\n", done.status().to_string().c_str());
        return 1;
      }
    }
    if (Status s = (*log)->close(); !s.is_ok()) {
      std::fprintf(stderr, "close: %s\n", s.to_string().c_str());
      return 1;
    }
  }
  auto segments = list_segments(posix_env(), (data / "log").string());
  if (!segments || segments->empty()) {
    std::fprintf(stderr, "no segment written\n");
    return 1;
  }
  const std::string segment = slurp((*segments)[0].path);
  write_seed(out_dir, "segment", fuzz::kSegment, segment);
  size_t commits = 0, records = 0;
  ScanState state;
  scan_commits(segment, log_format::kSegmentHeaderSize, state, [&](const ScanCommit& c) {
    std::string_view frame = std::string_view(segment).substr(c.offset, c.size);
    const std::string n = std::to_string(commits++);
    write_seed(out_dir, "commit-" + n, fuzz::kCommitRaw, frame);
    write_seed(out_dir, "commit-fixed-" + n, fuzz::kCommitFixedCrc, frame);
    write_seed(out_dir, "commit-nocrc-" + n, fuzz::kCommitNoCrc, frame);
    for (const ScanRecord& r : c.records) write_seed(out_dir, "record-" + std::to_string(records++), fuzz::kRecord, r.bytes);
    return Status::ok();
  });
  fs::remove_all(data);
  std::printf("make_log_seeds: %zu commits, %zu records, 1 segment in %s\n", commits, records, out_dir.c_str());
  return commits > 0 ? 0 : 1;
}
