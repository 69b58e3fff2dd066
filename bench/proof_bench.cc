#include "bench/proof_bench.h"

#include <cstring>
#include <filesystem>
#include <random>

#include "bench/bench_report.h"
#include "bench/log_bench.h"
#include "events/event_log.h"
#include "events/merkle_tree.h"

namespace accountable::bench {
namespace {

constexpr int kProofs = 10'000;

uint64_t folder_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  return total;
}

}  // namespace

Status proofs_workload(const BenchOptions& o) {
  Workspace ws(o, "proofs");
  const uint64_t n = o.events ? o.events : 10'000'000;
  LogOptions log_options;
  log_options.data_dir = ws.dir();
  auto log = EventLog::open(log_options);
  if (!log) return log.status();
  // The log: commits of 1,000 small events over 1,000 streams.
  std::mt19937_64 rng(18);
  const auto load_start = Clock::now();
  for (uint64_t loaded = 0; loaded < n;) {
    const int events = static_cast<int>(std::min<uint64_t>(1000, n - loaded));
    auto appended = (*log)->append(
        one_stream_commit("proofs-" + std::to_string(loaded / 1000 % 1000), ExpectedVersion::any(), events, rng, 64));
    if (!appended) return appended.status();
    loaded += static_cast<uint64_t>(events);
  }
  const double load_seconds = seconds_since(load_start);

  // The tree, built from the log as the signer's first open builds it.
  const auto build_start = Clock::now();
  auto tree = MerkleTree::open(posix_env(), ws.dir(), **log, {});
  if (!tree) return tree.status();
  const double build_seconds = seconds_since(build_start);
  if ((*tree)->size() != n) return Status(StatusCode::kInternal, "the tree does not hold every event");
  Figure build{"proofs-build", n, build_seconds, {}, {{"log_load_seconds", load_seconds}}};
  print(build);

  const TreeHead head = (*tree)->head();
  std::vector<Hash256> leaves(kProofs);
  std::vector<uint64_t> positions(kProofs);
  for (int i = 0; i < kProofs; ++i) positions[i] = 1 + rng() % n;
  // Leaves read before the clock: what a client holds is the record's hash.
  for (int i = 0; i < kProofs; ++i) {
    auto leaf = (*tree)->leaf(positions[i] - 1);
    if (!leaf) return leaf.status();
    leaves[i] = *leaf;
  }
  Figure inclusion{"proofs-inclusion", kProofs, 0, {}, {}};
  std::vector<double> verify_us;
  std::vector<std::vector<Hash256>> proofs(kProofs);
  const auto inclusion_start = Clock::now();
  for (int i = 0; i < kProofs; ++i) {
    const auto t0 = Clock::now();
    auto proof = (*tree)->inclusion_proof(positions[i] - 1, n);
    if (!proof) return proof.status();
    inclusion.latencies_us.push_back(micros_between(t0, Clock::now()));
    proofs[i] = std::move(*proof);
  }
  inclusion.seconds = seconds_since(inclusion_start);
  for (int i = 0; i < kProofs; ++i) {
    const auto t0 = Clock::now();
    Status s = merkle::verify_inclusion(positions[i] - 1, n, leaves[i], proofs[i], head.root);
    verify_us.push_back(micros_between(t0, Clock::now()));
    if (!s.is_ok()) return s;
  }
  inclusion.extra = {{"tree_size", static_cast<double>(n)},
                     {"proof_hashes", static_cast<double>(proofs[0].size())},
                     {"verify_p50_us", percentile(verify_us, 0.50)},
                     {"verify_p99_us", percentile(verify_us, 0.99)}};
  print(inclusion);

  // Consistency: from a random older size to the whole tree.
  Figure consistency{"proofs-consistency", kProofs, 0, {}, {}};
  verify_us.clear();
  std::vector<uint64_t> froms(kProofs);
  std::vector<Hash256> from_roots(kProofs);
  for (int i = 0; i < kProofs / 10; ++i) {  // older roots cost a proof's reads: fewer of them
    froms[i] = 1 + rng() % n;
    auto r = (*tree)->root_at(froms[i]);
    if (!r) return r.status();
    from_roots[i] = *r;
  }
  const int consistency_count = kProofs / 10;
  consistency.events = consistency_count;
  const auto consistency_start = Clock::now();
  for (int i = 0; i < consistency_count; ++i) {
    const auto t0 = Clock::now();
    auto proof = (*tree)->consistency_proof(froms[i], n);
    if (!proof) return proof.status();
    consistency.latencies_us.push_back(micros_between(t0, Clock::now()));
    proofs[i] = std::move(*proof);
  }
  consistency.seconds = seconds_since(consistency_start);
  for (int i = 0; i < consistency_count; ++i) {
    const auto t0 = Clock::now();
    Status s = merkle::verify_consistency(froms[i], n, from_roots[i], head.root, proofs[i]);
    verify_us.push_back(micros_between(t0, Clock::now()));
    if (!s.is_ok()) return s;
  }
  consistency.extra = {{"tree_size", static_cast<double>(n)},
                       {"verify_p50_us", percentile(verify_us, 0.50)},
                       {"verify_p99_us", percentile(verify_us, 0.99)}};
  print(consistency);

  // What the tree adds on disk, beside the log's own bytes.
  const double tree_bytes = static_cast<double>(folder_bytes(std::filesystem::path(ws.dir()) / "merkle"));
  const double log_size = log_bytes(ws.dir());
  Figure bytes{"proofs-bytes", n, 0, {}, {}};
  bytes.extra = {{"tree_bytes_per_event", tree_bytes / static_cast<double>(n)},
                 {"log_bytes_per_event", log_size / static_cast<double>(n)}};
  print(bytes);
  tree->reset();
  return (*log)->close();
}

}  // namespace accountable::bench
