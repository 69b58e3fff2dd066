// The views' benchmark (projections/view_bench.h) and a small check that its
// workload is a valid history. The benchmark itself is a program that prints
// figures, not a test: it is DISABLED_ and asserts no speed. Run it in a
// Release build:
//   projections_test --gtest_also_run_disabled_tests --gtest_filter='ViewBench.DISABLED_*'
// (ACCT_VIEWS_BENCH_EVENTS overrides the event count, ACCT_VIEWS_BENCH_DIR the scratch folder,
// ACCT_VIEWS_BENCH_BATCH the build batch, ACCT_VIEWS_BENCH_THREADS the apply threads).
#include "projections/view_bench.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "projections/testing/view_world.h"

namespace accountable {
namespace {

TEST(ViewBench, TheWorkloadIsAHistoryEveryViewCanApply) {
  testing::TempDir dir;
  auto memory_cipher = make_memory_cipher();
  PersonalDataCipher& cipher = *memory_cipher;
  LogOptions options;
  options.data_dir = dir.path();
  auto log = EventLog::open(options).value();
  WorkloadOptions w;
  w.events = 3000;
  w.partners_at_once = 30;
  auto stats = generate_view_workload(*log, &cipher, w);
  ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
  EXPECT_GE(stats->events, 3000u);
  EXPECT_EQ(stats->events, log->head().value());
  EXPECT_GT(stats->partners, 0u);
  EXPECT_GT(stats->by_type.size(), 20u) << "most event types appear";
  auto views = ViewSet::open(dir.path(), *log, &cipher).value();
  ASSERT_TRUE(views->catch_up().is_ok());
  for (const ViewStatus& v : views->lag()) {
    EXPECT_EQ(v.position, log->head()) << v.name;
    EXPECT_TRUE(v.error.is_ok()) << v.name;
  }
}

TEST(ViewBench, DISABLED_RebuildOneMillionEvents) {
  ViewBenchOptions options;
  const char* events = std::getenv("ACCT_VIEWS_BENCH_EVENTS");
  const char* where = std::getenv("ACCT_VIEWS_BENCH_DIR");
  options.events = events ? std::strtoull(events, nullptr, 10) : 1'000'000;
  if (const char* batch = std::getenv("ACCT_VIEWS_BENCH_BATCH")) options.build_batch_events = std::strtoull(batch, nullptr, 10);
  if (const char* threads = std::getenv("ACCT_VIEWS_BENCH_THREADS")) options.apply_threads = std::strtoull(threads, nullptr, 10);
  std::unique_ptr<testing::TempDir> scratch;
  if (where) {
    options.data_dir = where;
  } else {
    scratch = std::make_unique<testing::TempDir>();
    options.data_dir = scratch->path();
  }
  auto result = bench_views(options);
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
}

}  // namespace
}  // namespace accountable
