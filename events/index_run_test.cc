// Index runs: written from the in-memory index, merged, read back through the
// map, and refused when damaged.
#include "events/index_run.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "events/log_index.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

// What a run should hold: each stream's locations and each command's.
struct Expected {
  std::map<std::string, std::vector<uint64_t>> streams;
  std::multimap<uint64_t, uint64_t> commands;
};

void fill(MemIndex* mem, Expected* expected, std::mt19937* rng, int streams, int events, uint64_t* next_location) {
  for (int i = 0; i < events; ++i) {
    const std::string stream = "stream-" + std::to_string((*rng)() % streams);
    const uint64_t location = (*next_location)++;
    mem->add_event(stream, location);
    expected->streams[stream].push_back(location);
    const uint64_t fp = ((*rng)() | 1) * 0x9E3779B97F4A7C15ULL;
    mem->add_commit(fp, location);
    expected->commands.emplace(fp, location);
  }
}

void expect_run_holds(const IndexRun& run, const Expected& expected) {
  uint64_t total = 0;
  for (const auto& [stream, locations] : expected.streams) {
    const size_t entry = run.find_stream(stream, stream_hash(stream));
    ASSERT_NE(entry, SIZE_MAX) << stream;
    ASSERT_EQ(run.stream(entry).count, locations.size()) << stream;
    for (size_t i = 0; i < locations.size(); ++i) EXPECT_EQ(run.location(entry, i), locations[i]) << stream;
    total += locations.size();
  }
  EXPECT_EQ(run.location_count(), total);
  EXPECT_EQ(run.stream_count(), expected.streams.size());
  for (auto it = expected.commands.begin(); it != expected.commands.end();) {
    const auto range = expected.commands.equal_range(it->first);
    std::vector<uint64_t> want, got;
    for (auto r = range.first; r != range.second; ++r) want.push_back(r->second);
    run.for_each_command(it->first, [&](uint64_t location) { got.push_back(location); });
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << "fingerprint " << it->first;
    it = range.second;
  }
  EXPECT_EQ(run.command_count(), expected.commands.size());
  EXPECT_EQ(run.find_stream("not-a-stream", stream_hash("not-a-stream")), SIZE_MAX);
  size_t unknown = 0;
  run.for_each_command(12345, [&](uint64_t) { ++unknown; });
  EXPECT_EQ(unknown, 0u);
}

TEST(IndexRun, AWrittenRunFindsEveryStreamAndCommand) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/idx").is_ok());
  std::mt19937 rng(11);
  MemIndex mem;
  Expected expected;
  uint64_t location = 100;
  fill(&mem, &expected, &rng, 3000, 20000, &location);
  mem.add_commit(777, 1);  // one fingerprint twice: both are reported
  mem.add_commit(777, 2);
  expected.commands.emplace(777, 1);
  expected.commands.emplace(777, 2);
  const std::string path = "/idx/" + run_file_name(1, 20000);
  ASSERT_TRUE(write_run(&env, path, 1, 20000, {mem.sorted().get()}).is_ok());
  auto run = IndexRun::open(&env, path, 1, 20000);
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  expect_run_holds(**run, expected);
  EXPECT_FALSE(env.file_exists(path + ".tmp"));
}

TEST(IndexRun, AMergeKeepsEachStreamsLocationsInLogOrder) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/idx").is_ok());
  std::mt19937 rng(5);
  Expected expected;
  uint64_t location = 1;
  MemIndex older, newer;
  fill(&older, &expected, &rng, 50, 400, &location);
  newer.add_event("only-new", location);  // a stream the older part does not have
  expected.streams["only-new"].push_back(location++);
  fill(&newer, &expected, &rng, 80, 600, &location);
  ASSERT_TRUE(write_run(&env, "/idx/a", 1, 400, {older.sorted().get()}).is_ok());
  ASSERT_TRUE(write_run(&env, "/idx/b", 401, 1001, {newer.sorted().get()}).is_ok());
  auto a = IndexRun::open(&env, "/idx/a", 1, 400);
  auto b = IndexRun::open(&env, "/idx/b", 401, 1001);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ASSERT_TRUE(write_run(&env, "/idx/ab", 1, 1001, {a->get(), b->get()}).is_ok());
  auto ab = IndexRun::open(&env, "/idx/ab", 1, 1001);
  ASSERT_TRUE(ab.is_ok()) << ab.status().to_string();
  expect_run_holds(**ab, expected);
}

TEST(IndexRun, AnEmptyRunIsValid) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/idx").is_ok());
  MemIndex mem;
  ASSERT_TRUE(write_run(&env, "/idx/e", 1, 1, {mem.sorted().get()}).is_ok());
  auto run = IndexRun::open(&env, "/idx/e", 1, 1);
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  EXPECT_EQ((*run)->stream_count(), 0u);
  EXPECT_EQ((*run)->find_stream("s", stream_hash("s")), SIZE_MAX);
}

TEST(IndexRun, ADamagedOrMisplacedRunIsRefused) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/idx").is_ok());
  std::mt19937 rng(3);
  MemIndex mem;
  Expected expected;
  uint64_t location = 1;
  fill(&mem, &expected, &rng, 10, 100, &location);
  ASSERT_TRUE(write_run(&env, "/idx/r", 1, 100, {mem.sorted().get()}).is_ok());
  auto size = env.file_size("/idx/r");
  ASSERT_TRUE(size.is_ok());
  // Another range than the checkpoint names.
  auto wrong_range = IndexRun::open(&env, "/idx/r", 1, 99);
  ASSERT_FALSE(wrong_range.is_ok());
  EXPECT_NE(wrong_range.status().message().find("other positions"), std::string::npos);
  // Any flipped byte: header, tables, or the CRC itself.
  for (uint64_t offset : {uint64_t{3}, uint64_t{40}, uint64_t{80}, *size / 2, *size - 1}) {
    ASSERT_TRUE(env.corrupt_byte("/idx/r", offset).is_ok());
    auto run = IndexRun::open(&env, "/idx/r", 1, 100);
    EXPECT_FALSE(run.is_ok()) << "offset " << offset;
    if (!run.is_ok()) {
      EXPECT_EQ(run.status().code(), StatusCode::kCorruption) << run.status().to_string();
    }
    ASSERT_TRUE(env.corrupt_byte("/idx/r", offset).is_ok());  // flip it back
    EXPECT_TRUE(IndexRun::open(&env, "/idx/r", 1, 100).is_ok()) << "offset " << offset;
  }
  // Cut short.
  ASSERT_TRUE(env.truncate_file("/idx/r", *size - 9).is_ok());
  EXPECT_FALSE(IndexRun::open(&env, "/idx/r", 1, 100).is_ok());
  ASSERT_TRUE(env.truncate_file("/idx/r", 20).is_ok());
  EXPECT_FALSE(IndexRun::open(&env, "/idx/r", 1, 100).is_ok());
}

TEST(IndexRun, AFailedWriteLeavesNoRunBehind) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/idx").is_ok());
  std::mt19937 rng(9);
  MemIndex mem;
  Expected expected;
  uint64_t location = 1;
  fill(&mem, &expected, &rng, 10, 100, &location);
  env.fail_syncs(1);
  Status s = write_run(&env, "/idx/r", 1, 100, {mem.sorted().get()});
  EXPECT_FALSE(s.is_ok());
  EXPECT_FALSE(env.file_exists("/idx/r"));
  EXPECT_FALSE(env.file_exists("/idx/r.tmp"));
}

TEST(IndexRun, TheStreamHashIsStable) {
  // The hash orders the run's stream table on disk: it may never change.
  EXPECT_EQ(stream_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(stream_hash("partner-1"), 0x513c2bbd1560c48bULL);
  EXPECT_NE(stream_hash("partner-1"), stream_hash("partner-2"));
}

}  // namespace
}  // namespace accountable
