#include "bench/log_bench.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "bench/bench_report.h"
#include "bench/cluster_bench.h"
#include "bench/domain_bench.h"
#include "bench/http_bench.h"
#include "bench/crc_bench.h"
#include "bench/proof_bench.h"
#include "bench/signin_bench.h"
#include "bench/relay_bench.h"
#include "bench/view_bench.h"
#include "events/env.h"
#include "events/checkpoint_signer.h"
#include "events/event_log.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/preallocated_file.h"

namespace accountable::bench {

std::string random_payload(std::mt19937_64& rng, size_t bytes) {
  std::string p(bytes, '\0');
  for (size_t i = 0; i < p.size(); i += 8) {
    const uint64_t r = rng();
    std::memcpy(p.data() + i, &r, std::min<size_t>(8, p.size() - i));
  }
  return p;
}

CommitRequest one_stream_commit(const std::string& stream, ExpectedVersion expected, int events, std::mt19937_64& rng,
                                size_t payload_bytes) {
  CommitRequest r;
  r.command_id = CommandId::random();
  r.correlation_id = CorrelationId::random();
  r.causation_id = CausationId::random();
  r.actor = "bench";
  StreamAppend s;
  s.stream = stream;
  s.expected = expected;
  s.partner = "p-bench";
  for (int i = 0; i < events; ++i) {
    s.events.push_back(NewEvent{EventId::random(), "BenchEvent", 1, random_payload(rng, payload_bytes)});
  }
  r.streams.push_back(std::move(s));
  return r;
}

double log_bytes(const std::string& dir) {
  // The scanner's end of the last good commit: exact, whatever a record's last byte is.
  auto segments = list_segments(posix_env(), (std::filesystem::path(dir) / "log").string());
  if (!segments) return 0;
  uint64_t total = 0;
  ScanState state;
  for (size_t i = 0; i < segments->size(); ++i) {
    auto image = SegmentImage::load(posix_env(), (*segments)[i].path);
    if (!image) continue;
    state.zero_tail_ends = zero_tail_allowed(image->bytes(), i + 1 == segments->size());
    total += scan_commits(image->bytes(), log_format::kSegmentHeaderSize, state,
                          [](const ScanCommit&) { return Status::ok(); })
                 .end_offset;
  }
  return static_cast<double>(total);
}

namespace {

// A log, and with signed_tree the signer that `acct serve` runs beside it.
struct BenchLog {
  std::unique_ptr<EventLog> log;
  std::unique_ptr<CheckpointSigner> signer;
  EventLog* operator->() const { return log.get(); }
  ~BenchLog() {
    if (signer) (void)signer->close();  // before the log
  }
  BenchLog() = default;
  BenchLog(BenchLog&&) = default;
};

Result<BenchLog> open_log(const std::string& dir, bool signed_tree = false) {
  LogOptions options;
  options.data_dir = dir;
  auto log = EventLog::open(options);
  if (!log) return log.status();
  BenchLog out;
  out.log = std::move(*log);
  if (signed_tree) {
    CheckpointSignerOptions signer_options;  // serve's cadence: every 10,000 events or 60 s
    signer_options.data_dir = dir;
    auto signer = CheckpointSigner::open(signer_options, out.log.get());
    if (!signer) return signer.status();
    out.signer = std::move(*signer);
  }
  return out;
}

std::string name_of(const char* workload, const BenchOptions& o) {
  return o.signed_tree ? std::string(workload) + "+tree" : std::string(workload);
}

#define BENCH_TRY(expr)                                     \
  do {                                                      \
    auto bench_status_ = (expr);                            \
    if (!bench_status_.is_ok()) return bench_status_.status(); \
  } while (0)

Status w1(const BenchOptions& o) {
  Workspace ws(o, name_of("W1", o));
  auto log = open_log(ws.dir(), o.signed_tree);
  if (!log) return log.status();
  const uint64_t n = o.events ? o.events : 10'000;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> versions(1000, 0);
  Figure f{name_of("W1", o), n, 0, {}, {}};
  f.latencies_us.reserve(n);
  // Requests are built before the clock starts: the figure is the log's.
  std::vector<CommitRequest> requests;
  for (uint64_t i = 0; i < n; ++i) {
    const size_t s = i % versions.size();
    requests.push_back(one_stream_commit("w1-" + std::to_string(s), ExpectedVersion::exact(StreamVersion(versions[s])), 1, rng));
    versions[s] += 1;
  }
  const auto start = Clock::now();
  for (CommitRequest& req : requests) {
    const auto t0 = Clock::now();
    BENCH_TRY((*log)->append(std::move(req)));
    f.latencies_us.push_back(micros_between(t0, Clock::now()));
  }
  f.seconds = seconds_since(start);
  print(f);
  return Status::ok();
}

Status w2(const BenchOptions& o) {
  Workspace ws(o, name_of("W2", o));
  auto log = open_log(ws.dir(), o.signed_tree);
  if (!log) return log.status();
  constexpr int kThreads = 16;
  const uint64_t n = o.events ? o.events : 20'000;
  constexpr uint64_t kStreams = 10'000;
  std::vector<std::vector<double>> lat(kThreads);
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  // Thread t owns streams t, t+16, ...: exact expectations never collide.
  std::vector<std::vector<CommitRequest>> requests(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    std::mt19937_64 rng(100 + t);
    std::map<uint64_t, uint64_t> versions;
    for (uint64_t i = t; i < n; i += kThreads) {
      const uint64_t s = (i * 7919) % kStreams / kThreads * kThreads + t;
      requests[t].push_back(one_stream_commit("w2-" + std::to_string(s), ExpectedVersion::exact(StreamVersion(versions[s])), 1, rng));
      versions[s] += 1;
    }
  }
  const uint64_t switches_before = process_context_switches();
  const double cpu_before = process_cpu_seconds();
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (CommitRequest& req : requests[t]) {
        const auto t0 = Clock::now();
        auto r = (*log)->append(std::move(req));
        lat[t].push_back(micros_between(t0, Clock::now()));
        if (!r) {
          std::lock_guard lock(failure_mu);
          failure = r.status().to_string();
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  if (failed) return Status(StatusCode::kInternal, "W2: " + failure);
  Figure f{name_of("W2", o), n, seconds_since(start), {}, {}};
  for (auto& v : lat) f.latencies_us.insert(f.latencies_us.end(), v.begin(), v.end());
  const LogStats stats = (*log)->stats();
  f.extra.emplace_back("fsyncs", static_cast<double>(stats.fsyncs));
  f.extra.emplace_back("commits_per_fsync", static_cast<double>(stats.commits_appended) / std::max<uint64_t>(stats.fsyncs, 1));
  // A synchronous appender sleeps once per commit at least (until its batch's
  // fdatasync): 1 is the floor. Thread starts and joins are counted too.
  f.extra.emplace_back("context_switches_per_commit",
                       static_cast<double>(process_context_switches() - switches_before) / static_cast<double>(n));
  f.extra.emplace_back("cpu_us_per_commit", (process_cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(n));
  print(f);
  return Status::ok();
}

Status w3(const BenchOptions& o) {
  Workspace ws(o, name_of("W3", o));
  auto log = open_log(ws.dir(), o.signed_tree);
  if (!log) return log.status();
  const uint64_t n = o.events ? o.events : 100'000;
  std::mt19937_64 rng(3);
  Figure f{name_of("W3", o), 0, 0, {}, {}};
  std::vector<CommitRequest> requests;
  for (uint64_t version = 0; version < n; version += 100) {
    requests.push_back(one_stream_commit("w3", ExpectedVersion::exact(StreamVersion(version)), 100, rng));
  }
  const auto start = Clock::now();
  for (CommitRequest& req : requests) {
    const auto t0 = Clock::now();
    BENCH_TRY((*log)->append(std::move(req)));
    f.latencies_us.push_back(micros_between(t0, Clock::now()));
    f.events += 100;
  }
  f.seconds = seconds_since(start);
  f.extra.emplace_back("bytes_per_event", log_bytes(ws.dir()) / static_cast<double>(std::max<uint64_t>(f.events, 1)));
  print(f);
  return Status::ok();
}

Status w4(const BenchOptions& o) {
  Workspace ws(o, "W4");
  auto log = open_log(ws.dir());
  if (!log) return log.status();
  std::mt19937_64 rng(4);
  for (int i = 0; i < 10; ++i) BENCH_TRY((*log)->append(one_stream_commit("w4", ExpectedVersion::any(), 100, rng)));
  const uint64_t reads = o.events ? std::max<uint64_t>(o.events / 1000, 1) : 1000;
  Figure f{"W4", 0, 0, {}, {}};
  uint64_t checksum = 0;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < reads; ++i) {
    const auto t0 = Clock::now();
    auto batch = (*log)->read_stream("w4", StreamVersion(1), 1000);
    if (!batch) return batch.status();
    f.latencies_us.push_back(micros_between(t0, Clock::now()));
    f.events += batch->events.size();
    checksum += batch->events.back().version.value();  // keeps the read from being optimised away
  }
  f.seconds = seconds_since(start);
  f.extra.emplace_back("reads", static_cast<double>(reads));
  f.extra.emplace_back("bytes_per_event", log_bytes(ws.dir()) / 1000.0);
  f.extra.emplace_back("checksum", static_cast<double>(checksum));
  print(f);
  return Status::ok();
}

Status w5(const BenchOptions& o) {
  Workspace ws(o, "W5");
  auto log = open_log(ws.dir());
  if (!log) return log.status();
  const uint64_t n = o.events ? o.events : 1'000'000;
  std::mt19937_64 rng(5);
  const auto load_start = Clock::now();
  for (uint64_t loaded = 0; loaded < n; loaded += 1000) {
    const int batch = static_cast<int>(std::min<uint64_t>(1000, n - loaded));
    BENCH_TRY((*log)->append(one_stream_commit("w5-" + std::to_string(loaded / 1000 % 1000), ExpectedVersion::any(),
                                               batch, rng)));
  }
  const double load_seconds = seconds_since(load_start);
  Figure f{"W5", 0, 0, {}, {}};
  uint64_t checksum = 0;
  const auto start = Clock::now();
  // One pass over everything, commit CRCs checked (ReadOptions default).
  ACCT_RETURN_IF_ERROR((*log)->scan_all(GlobalPosition(1), AllFilter{}, [&](const RecordedEvent& e) {
    checksum += e.payload.size();  // touch every event, so the scan is not optimised away
    ++f.events;
    return true;
  }));
  f.seconds = seconds_since(start);
  f.extra.emplace_back("payload_bytes", static_cast<double>(checksum));
  f.extra.emplace_back("bytes_per_event", log_bytes(ws.dir()) / static_cast<double>(std::max<uint64_t>(f.events, 1)));
  f.extra.emplace_back("load_seconds", load_seconds);
  print(f);
  return Status::ok();
}

Status w6(const BenchOptions& o) {
  Workspace ws(o, "W6");
  auto log = open_log(ws.dir());
  if (!log) return log.status();
  constexpr uint64_t kStreams = 1000;
  const uint64_t rounds = o.events ? std::max<uint64_t>(o.events / kStreams, 1) : 5;
  std::atomic<uint64_t> conflicts{0}, committed{0};
  std::vector<std::vector<double>> lat(2);
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(60 + t);
      for (uint64_t r = 0; r < rounds; ++r) {
        for (uint64_t s = 0; s < kStreams; ++s) {
          const std::string stream = "w6-" + std::to_string(s);
          const StreamVersion seen = (*log)->stream_version(stream);
          const auto t0 = Clock::now();
          auto result = (*log)->append(one_stream_commit(stream, ExpectedVersion::exact(seen), 1, rng));
          lat[t].push_back(micros_between(t0, Clock::now()));
          if (result.is_ok()) {
            committed++;
          } else if (result.status().code() == StatusCode::kWrongExpectedVersion) {
            conflicts++;
          } else {
            failed = true;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  if (failed) return Status(StatusCode::kInternal, "W6: an append failed for a reason other than a conflict");
  Figure f{"W6", committed.load(), seconds_since(start), {}, {}};
  for (auto& v : lat) f.latencies_us.insert(f.latencies_us.end(), v.begin(), v.end());
  // Count (stream, version) pairs that occur twice: must be zero.
  std::set<std::pair<std::string, uint64_t>> seen;
  uint64_t duplicates = 0;
  GlobalPosition from(1);
  while (true) {
    auto batch = (*log)->read_all(from, 65536);
    if (!batch) return batch.status();
    for (const auto& e : batch->events) duplicates += seen.emplace(std::string(e.stream), e.version.value()).second ? 0 : 1;
    from = batch->next_position;
    if (batch->end_of_log) break;
  }
  f.extra.emplace_back("conflicts", static_cast<double>(conflicts.load()));
  f.extra.emplace_back("duplicate_versions", static_cast<double>(duplicates));
  print(f);
  return Status::ok();
}

// Opening a large log: with the persisted index (only the tail after the
// checkpoint is read) and with the index deleted (a full, checked rebuild).
Status open_log_workload(const BenchOptions& o) {
  Workspace ws(o, "open");
  const uint64_t n = o.events ? o.events : 10'000'000;
  constexpr uint64_t kStreams = 100'000;
  std::mt19937_64 rng(9);
  const auto load_start = Clock::now();
  {
    auto log = open_log(ws.dir());
    if (!log) return log.status();
    uint64_t loaded = 0;
    for (uint64_t commit = 0; loaded < n; ++commit) {
      // Ten streams of up to 100 events per commit: 100,000 streams in all.
      CommitRequest r = one_stream_commit("open-" + std::to_string(commit * 10 % kStreams), ExpectedVersion::any(), 0, rng);
      r.streams.clear();
      for (uint64_t j = 0; j < 10 && loaded < n; ++j) {
        StreamAppend s;
        s.stream = "open-" + std::to_string((commit * 10 + j) % kStreams);
        s.partner = "p-bench";
        for (uint64_t e = 0; e < 100 && loaded < n; ++e, ++loaded) {
          s.events.push_back(NewEvent{EventId::random(), "BenchEvent", 1, random_payload(rng, 200)});
        }
        r.streams.push_back(std::move(s));
      }
      BENCH_TRY((*log)->append(std::move(r)));
    }
    ACCT_RETURN_IF_ERROR((*log)->close());
  }
  const double load_seconds = seconds_since(load_start);

  Figure f{"open", n, 0, {}, {}};
  LogStats with_index;
  // Memory: the peak RSS while the log is opened and held, measured from a
  // reset peak after the load's memory went back to the system.
  malloc_trim(0);
  const uint64_t rss_before = current_rss_bytes();
  const bool peak_was_reset = reset_peak_rss();
  uint64_t peak_open = 0, rss_open = 0;
  {
    const auto start = Clock::now();
    auto log = open_log(ws.dir());
    if (!log) return log.status();
    f.seconds = seconds_since(start);
    with_index = (*log)->stats();
    rss_open = current_rss_bytes();
    peak_open = peak_rss_bytes();
  }
  std::error_code size_ec;
  const double checkpoint_bytes =
      static_cast<double>(std::filesystem::file_size(std::filesystem::path(ws.dir()) / "index" / "checkpoint", size_ec));
  ACCT_RETURN_IF_ERROR(posix_env()->remove_file(join_path(join_path(ws.dir(), "index"), "checkpoint")));
  double rebuild_seconds = 0;
  {
    const auto start = Clock::now();
    auto log = open_log(ws.dir());
    if (!log) return log.status();
    rebuild_seconds = seconds_since(start);
    if ((*log)->stats().opened_from_checkpoint) return Status(StatusCode::kInternal, "open: the index was not rebuilt");
  }
  f.extra.emplace_back("from_checkpoint", with_index.opened_from_checkpoint ? 1 : 0);
  f.extra.emplace_back("rebuild_seconds", rebuild_seconds);
  f.extra.emplace_back("checkpoint_bytes", size_ec ? 0.0 : checkpoint_bytes);
  f.extra.emplace_back("index_run_bytes", static_cast<double>(with_index.index_run_bytes));
  f.extra.emplace_back("index_runs", static_cast<double>(with_index.index_runs));
  f.extra.emplace_back("streams", static_cast<double>(with_index.streams));
  f.extra.emplace_back("index_bytes_per_event", static_cast<double>(with_index.index_memory_bytes) / static_cast<double>(n));
  f.extra.emplace_back("load_seconds", load_seconds);
  print(f);

  Figure m{"memory", n, f.seconds, {}, {}};
  m.extra.emplace_back("streams", static_cast<double>(with_index.streams));
  m.extra.emplace_back("index_bytes_per_event", static_cast<double>(with_index.index_memory_bytes) / static_cast<double>(n));
  m.extra.emplace_back("rss_before_open_bytes", static_cast<double>(rss_before));
  m.extra.emplace_back("rss_open_bytes", static_cast<double>(rss_open));
  m.extra.emplace_back("peak_rss_open_bytes", static_cast<double>(peak_open));
  m.extra.emplace_back("peak_rss_growth_per_event",
                       static_cast<double>(peak_open > rss_before ? peak_open - rss_before : 0) / static_cast<double>(n));
  m.extra.emplace_back("peak_was_reset", peak_was_reset ? 1 : 0);
  print(m);
  return Status::ok();
}

// The machine's memory bandwidth, the limit of the read workloads: the best of
// 5 copies of 256 MiB (read + write counted, as in STREAM's copy).
Status memory_bandwidth() {
  constexpr size_t kBytes = 256u << 20;
  std::vector<char> from(kBytes, 1), to(kBytes, 0);
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    from[static_cast<size_t>(i) * 4096] = static_cast<char>(i);
    const auto start = Clock::now();
    std::memcpy(to.data(), from.data(), kBytes);
    best = std::min(best, seconds_since(start));
  }
  Figure f{"membw", kBytes, best, {}, {}};
  f.extra.emplace_back("bytes_per_s", 2.0 * kBytes / best);
  f.extra.emplace_back("check", static_cast<double>(to[4 * 4096]));  // the copy happened
  print(f);
  return Status::ok();
}

// The disk's own limits: fdatasync per 256-byte record, and records per second
// when 8, 64 or 512 records share one fdatasync.
Status disk(const BenchOptions& o) {
  Workspace ws(o, "disk");
  Env* env = posix_env();
  const std::string record(256, 'r');
  // `syncs` writes of `batch`, each followed by an fdatasync, as one figure.
  auto write_and_sync = [](WritableFile& file, const std::string& batch, uint64_t syncs, Figure f) -> Status {
    const auto start = Clock::now();
    for (uint64_t i = 0; i < syncs; ++i) {
      const auto t0 = Clock::now();
      ACCT_RETURN_IF_ERROR(file.append(batch));
      ACCT_RETURN_IF_ERROR(file.sync());
      f.latencies_us.push_back(micros_between(t0, Clock::now()));
    }
    f.seconds = seconds_since(start);
    print(f);
    return file.close();
  };
  const uint64_t n = o.events ? o.events : 3000;
  {
    auto file = env->new_writable_file(join_path(ws.dir(), "single"));
    if (!file) return file.status();
    ACCT_RETURN_IF_ERROR(write_and_sync(**file, record, n, Figure{"disk", n, 0, {}, {{"records_per_fsync", 1}}}));
  }
  {
    // The same, written over a zero-filled and synced file as the log's
    // preallocated segments are (docs/log-format.md): each fdatasync then
    // writes data alone, with no inode or journal commit. W1's limit.
    auto file = env->new_writable_file(join_path(ws.dir(), "zero-filled"));
    if (!file) return file.status();
    auto* zero_filled = dynamic_cast<PreallocatingFile*>(file->get());
    if (zero_filled == nullptr) return Status(StatusCode::kInternal, "disk: the Env cannot zero-fill a file");
    ACCT_RETURN_IF_ERROR(zero_filled->preallocate(n * record.size()));
    ACCT_RETURN_IF_ERROR((*file)->sync());
    ACCT_RETURN_IF_ERROR(
        write_and_sync(**file, record, n, Figure{"disk_zero_filled", n, 0, {}, {{"records_per_fsync", 1}}}));
  }
  for (int group : {8, 64, 512}) {
    auto file = env->new_writable_file(join_path(ws.dir(), "group" + std::to_string(group)));
    if (!file) return file.status();
    const uint64_t syncs = o.events ? std::max<uint64_t>(o.events / group, 10) : 500;
    std::string batch;
    for (int i = 0; i < group; ++i) batch += record;
    ACCT_RETURN_IF_ERROR(
        write_and_sync(**file, batch, syncs, Figure{"disk", syncs * group, 0, {}, {{"records_per_fsync", group}}}));
  }
  return memory_bandwidth();
}

Status views_workload(const BenchOptions& o) {
  ViewBenchOptions v;
  v.data_dir = o.data_dir;
  v.events = o.events ? o.events : 1'000'000;
  v.keep = o.keep_data;
  auto result = bench_views(v);  // prints its own lines
  return result.status();
}

// W1..W3 again with the signer and its tree running beside the log.
Status tree_workload(const BenchOptions& o) {
  BenchOptions with = o;
  with.signed_tree = true;
  ACCT_RETURN_IF_ERROR(w1(with));
  ACCT_RETURN_IF_ERROR(w2(with));
  return w3(with);
}

}  // namespace

const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names = {"disk",  "W1",       "W2",        "W3",       "W4",    "W5",
                                                 "W6",    "tree",     "open",      "aggregate", "commands",
                                                 "views", "http",     "proofs"};
  return names;
}

Status run_workload(const BenchOptions& options) {
  // `memory` is measured while `open` opens its log: the same run prints both lines.
  static const std::map<std::string, Status (*)(const BenchOptions&)> table = {
      {"disk", disk},        {"W1", w1},         {"W2", w2},          {"W3", w3},
      {"W4", w4},            {"W5", w5},         {"W6", w6},          {"open", open_log_workload},
      {"memory", open_log_workload}, {"aggregate", aggregate_workload}, {"commands", commands_workload},
      {"views", views_workload},     {"http", http_workload}, {"tree", tree_workload},
      {"proofs", proofs_workload}};
  if (options.workload == "all") {
    for (const std::string& name : workload_names()) {
      BenchOptions one = options;
      one.workload = name;
      ACCT_RETURN_IF_ERROR(run_workload(one));
    }
    return Status::ok();
  }
  // Not part of `all`: they need Kafka brokers (bench/relay_bench.h, bench/cluster_bench.h).
  if (options.workload == "relay") return relay_workload(options);
  if (options.workload == "cluster") return cluster_workload(options);
  // Not part of `all` either: a memory figure at production argon2id cost.
  if (options.workload == "signin") return signin_workload(options);
  // Nor one that measures a function rather than the engine.
  if (options.workload == "crc") return crc_workload(options);
  auto it = table.find(options.workload);
  if (it == table.end()) {
    return invalid_argument("unknown workload '" + options.workload +
                                "' (disk, W1..W6, tree, open, memory, aggregate, commands, views, http, proofs, crc, signin, all, relay, cluster)",
                            "workload");
  }
  return it->second(options);
}

}  // namespace accountable::bench
