// The views' benchmark: how long rebuilding every view from ~1,000,000 domain
// events takes, and what one event costs. A program that prints figures;
// nothing here asserts a speed. `acct bench --workload views` is meant to
// call bench_views(); tests use the workload generator for volume.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "schema/personal_data.h"

namespace accountable {

// A synthetic partner-account history: the operator's catalog (200 offers,
// a usage-based price list per month of 2026 for US, GB and DE, 200 rows
// each), then partners enrolling and living (users created, edited, given and
// stripped of roles, deactivated, restored, purged; profiles, locations, tax
// exemptions, pins, business profiles, suspensions), about 150 events per
// partner, 200 partners active at a time. Events are real domain events,
// personal data sealed with `cipher` (purged users' keys destroyed after
// their commit), appended in commits of about `events_per_commit` events.
struct WorkloadOptions {
  uint64_t events = 1'000'000;
  uint64_t seed = 1;
  size_t partners_at_once = 200;
};
struct WorkloadStats {
  uint64_t events = 0;
  uint64_t commits = 0;
  uint64_t partners = 0;
  uint64_t users = 0;
  uint64_t purged_users = 0;
  std::map<std::string, uint64_t> by_type;
};
Result<WorkloadStats> generate_view_workload(EventLog& log, PersonalDataCipher* cipher, const WorkloadOptions& options);

// Per-subject keys held in memory only, with the key store's construction
// (XChaCha20-Poly1305, the subject as associated data; erase() forgets the key
// for good). For benchmarks and tests: the real KeyStore writes and fsyncs a
// file per subject, which would time the key store rather than the views.
std::unique_ptr<PersonalDataCipher> make_memory_cipher();

struct ViewBenchOptions {
  std::string data_dir;  // works in DATA/views-bench, fresh (removed afterwards unless keep)
  uint64_t events = 1'000'000;
  uint64_t seed = 1;
  bool keep = false;
  bool per_view = true;  // also rebuild each view alone (blue/green), timed
  size_t build_batch_events = 0;  // 0: ViewSetOptions' default
  size_t apply_threads = 0;       // 0: ViewSetOptions' default (one per core)
};

// Each figure is wall-clock seconds, and the process's CPU seconds over the
// same span (all threads): on a shared machine the CPU time is the steadier
// measure of the work done.
struct ViewBenchResult {
  uint64_t events = 0;
  double load_seconds = 0;         // generating and appending the workload
  double scan_seconds = 0;         // reading $all, no decoding
  double decode_seconds = 0;       // reading and decoding every event (personal data opened)
  double build_all_seconds = 0;    // building all five views from position 0 in one pass
  double build_all_cpu_seconds = 0;
  double per_event_us = 0;         // build_all_seconds / events
  std::map<std::string, double> view_seconds;   // each view rebuilt alone
  std::map<std::string, double> view_cpu_seconds;
  std::map<std::string, uint64_t> view_bytes;   // each view's file size
  WorkloadStats workload;
};

// Runs the benchmark and prints one JSON line per figure on stdout.
Result<ViewBenchResult> bench_views(const ViewBenchOptions& options);

}  // namespace accountable
