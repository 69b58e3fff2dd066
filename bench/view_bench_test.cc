// The views' benchmark (bench/view_bench.h), a small check that its workload
// is a valid history, and the view runner's rebuild under queries on a log of
// that workload (it needs volume, which only the generator makes). The benchmark itself is a program that prints
// figures, not a test: it is DISABLED_ and asserts no speed. Run it in a
// Release build:
//   bench_test --gtest_also_run_disabled_tests --gtest_filter='ViewBench.DISABLED_*'
// (ACCT_VIEWS_BENCH_EVENTS overrides the event count, ACCT_VIEWS_BENCH_DIR the scratch folder,
// ACCT_VIEWS_BENCH_BATCH the build batch, ACCT_VIEWS_BENCH_THREADS the apply threads).
#include "bench/view_bench.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "projections/testing/view_world.h"

namespace accountable {
namespace {

using testing::at;

constexpr auto kGenerous = std::chrono::seconds(60);  // only bounds a hang; never reached when it works

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

// A log of synthetic partner histories (keys in memory), for volume.
struct VolumeWorld {
  testing::TempDir dir;
  std::unique_ptr<PersonalDataCipher> cipher = make_memory_cipher();
  std::unique_ptr<EventLog> log;

  explicit VolumeWorld(uint64_t events) {
    LogOptions options;
    options.data_dir = dir.path();
    log = testing::must_value(EventLog::open(options), "log");
    WorkloadOptions w;
    w.events = events;
    w.partners_at_once = 40;
    testing::must_value(generate_view_workload(*log, cipher.get(), w), "workload");
  }
  std::vector<PartnerId> partners(size_t n) const {
    std::vector<PartnerId> out;
    auto batch = log->read_all(GlobalPosition(1), 5000);
    for (const RecordedEvent& e : batch.value().events) {
      if (e.type == PartnerEnrolled::kType && out.size() < n) out.push_back(PartnerId::parse(e.partner).value());
    }
    return out;
  }
};

TEST(ViewSet, ARebuildNeverShowsAQueryAnEmptyOrHalfBuiltView) {
  VolumeWorld v(10'000);
  ViewSetOptions options;
  options.batch_events = 512;  // many small steps: plenty of chances to expose a half-built file
  options.build_batch_events = 512;
  auto views = ViewSet::open(v.dir.path(), *v.log, v.cipher.get(), options).value();
  ASSERT_TRUE(views->catch_up().is_ok());
  ASSERT_TRUE(views->start().is_ok());
  const std::vector<PartnerId> partners = v.partners(3);
  ASSERT_EQ(partners.size(), 3u);
  const Timestamp date = at("2026-01-15T00:00:00Z");

  // What every query must keep answering: the log does not change meanwhile.
  auto ask = [&](const PartnerId& p, CatalogPage* catalog, std::vector<DirectoryUser>* users, AuditPage* audit) {
    Status s = views->read("catalog", [&](Db& db) {
      auto r = CatalogView::query(db, p, date, {});
      if (r) *catalog = *r;
      return r.status();
    });
    if (!s.is_ok()) return s;
    s = views->read("directory", [&](Db& db) {
      auto r = DirectoryView::users(db, p, std::nullopt);
      if (r) *users = *r;
      return r.status();
    });
    if (!s.is_ok()) return s;
    return views->read("audit", [&](Db& db) {
      auto r = AuditView::page(db, *v.log, v.cipher.get(), p, GlobalPosition(1), 50);
      if (r) *audit = *r;
      return r.status();
    });
  };
  struct Expected {
    CatalogPage catalog;
    std::vector<DirectoryUser> users;
    AuditPage audit;
  };
  std::vector<Expected> expected(partners.size());
  for (size_t i = 0; i < partners.size(); ++i) {
    ASSERT_TRUE(ask(partners[i], &expected[i].catalog, &expected[i].users, &expected[i].audit).is_ok());
    ASSERT_FALSE(expected[i].catalog.segments.empty());
    ASSERT_FALSE(expected[i].users.empty());
    ASSERT_FALSE(expected[i].audit.entries.empty());
  }

  std::atomic<bool> done{false};
  std::atomic<uint64_t> queries{0};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      for (uint64_t i = 0; i < 1'000'000 && !done.load(); ++i) {  // bounded, ends with the rebuilds
        const size_t k = (i + static_cast<uint64_t>(t)) % partners.size();
        Expected got;
        Status s = ask(partners[k], &got.catalog, &got.users, &got.audit);
        ++queries;
        if (!s.is_ok() || !(got.catalog == expected[k].catalog) || !(got.users == expected[k].users) ||
            got.audit.entries.size() != expected[k].audit.entries.size()) {
          ++failures;
          ADD_FAILURE() << "query " << i << " saw " << (s.is_ok() ? "different content" : s.to_string());
          return;
        }
      }
    });
  }
  for (const char* name : {"catalog", "directory", "audit", "catalog"}) {
    ASSERT_TRUE(views->rebuild(name).is_ok()) << name;
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(queries.load(), 0u);
  EXPECT_EQ(views->status("catalog")->rebuilds, 3u);  // the first build, then two
  ASSERT_TRUE(views->stop().is_ok());
}


}  // namespace
}  // namespace accountable
