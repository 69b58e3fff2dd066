// The log with its index in runs: checkpoints write the recent events as runs
// and merge them; reads, expected versions and command ids see every layer;
// open uses the runs the checkpoint names and nothing else.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "events/event_log.h"
#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::all_events;
using testing::fault_options;
using testing::make_commit;
using testing::make_event;
using testing::open_log;


// Every stream read through the index (forward, backward, in pages) equals
// the $all scan grouped by stream.
void expect_index_agrees_with_log(const EventLog& log) {
  auto all = log.read_all(GlobalPosition(1), 1'000'000);
  ASSERT_TRUE(all.is_ok());
  std::map<std::string, std::vector<uint64_t>> by_stream;  // positions, version order
  for (const auto& e : all->events) {
    auto& positions = by_stream[std::string(e.stream)];
    ASSERT_EQ(e.version.value(), positions.size() + 1) << e.stream;
    positions.push_back(e.position.value());
  }
  EXPECT_EQ(log.stats().streams, by_stream.size());
  for (const auto& [stream, positions] : by_stream) {
    ASSERT_EQ(log.stream_version(stream), StreamVersion(positions.size())) << stream;
    std::vector<uint64_t> forward;
    for (uint64_t from = 1; from <= positions.size(); from += 7) {  // pages of 7 cross the runs' borders
      auto page = log.read_stream(stream, StreamVersion(from), 7);
      ASSERT_TRUE(page.is_ok()) << page.status().to_string();
      for (const auto& e : page->events) forward.push_back(e.position.value());
    }
    EXPECT_EQ(forward, positions) << stream;
    auto backward = log.read_stream(stream, StreamVersion(0), 1'000'000, Direction::kBackward);
    ASSERT_TRUE(backward.is_ok());
    std::vector<uint64_t> reversed;
    for (const auto& e : backward->events) reversed.push_back(e.position.value());
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(reversed, positions) << stream;
  }
  EXPECT_EQ(log.read_stream("no-such-stream", StreamVersion(1), 10)->events.size(), 0u);
}

std::set<std::string> index_files(FaultInjectionEnv* env) {
  auto names = env->list_dir("/data/index");
  EXPECT_TRUE(names.is_ok());
  return names.is_ok() ? std::set<std::string>(names->begin(), names->end()) : std::set<std::string>{};
}

// Appends `n` commits over 40 streams (some to two streams at once), keeping
// each request so that a test can retry it.
void append_mixed(EventLog* log, std::mt19937* rng, int n, std::vector<CommitRequest>* sent) {
  for (int i = 0; i < n; ++i) {
    CommitRequest r = make_commit("s" + std::to_string((*rng)() % 40), ExpectedVersion::any(), 1 + (*rng)() % 2);
    if ((*rng)() % 5 == 0) {
      StreamAppend extra;
      extra.stream = "x" + std::to_string((*rng)() % 3);
      extra.events.push_back(make_event("Other", "extra"));
      r.streams.push_back(extra);
    }
    auto result = log->append(r);
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
    sent->push_back(std::move(r));
  }
}

TEST(LogIndexRuns, ManyCheckpointsKeepFewRunsAndEveryLayerIsRead) {
  FaultInjectionEnv env;
  std::mt19937 rng(17);
  std::vector<CommitRequest> sent;
  std::vector<std::string> before;
  uint64_t streams = 0;
  {
    auto log = open_log(fault_options(&env));
    for (int round = 0; round < 40; ++round) {
      append_mixed(log.get(), &rng, 60, &sent);
      ASSERT_TRUE(log->write_checkpoint().is_ok());
      // Runs merge as they go: a few, never one per checkpoint.
      EXPECT_LE(log->stats().index_runs, 6u) << "round " << round;
    }
    append_mixed(log.get(), &rng, 25, &sent);  // a tail only in memory
    EXPECT_GE(log->stats().index_runs, 1u);
    // The checkpoint names every run file in the folder, and nothing else is there.
    std::set<std::string> files = index_files(&env);
    EXPECT_EQ(files.count("checkpoint"), 1u);
    EXPECT_EQ(files.size(), log->stats().index_runs + 1);
    expect_index_agrees_with_log(*log);
    // Retries of commands from every layer are recognized, and append nothing.
    const GlobalPosition head = log->head();
    for (size_t i : {size_t{0}, size_t{1}, sent.size() / 3, sent.size() / 2, sent.size() - 30, sent.size() - 1}) {
      auto again = log->append(sent[i]);
      ASSERT_TRUE(again.is_ok()) << i;
      EXPECT_TRUE(again->duplicate) << i;
    }
    EXPECT_EQ(log->head(), head);
    // Expected versions see the runs: an exact expectation of the stream's version holds, one less is refused.
    const StreamVersion v = log->stream_version("s7");
    ASSERT_GT(v.value(), 20u);
    EXPECT_FALSE(log->append(make_commit("s7", ExpectedVersion::exact(StreamVersion(v.value() - 1)))).is_ok());
    ASSERT_TRUE(log->append(make_commit("s7", ExpectedVersion::exact(v))).is_ok());
    before = all_events(*log);
    streams = log->stats().streams;
  }
  auto log = open_log(fault_options(&env));
  EXPECT_TRUE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(log->stats().events_scanned_at_open, 0u);
  EXPECT_EQ(log->stats().streams, streams);
  EXPECT_EQ(all_events(*log), before);
  expect_index_agrees_with_log(*log);
  auto again = log->append(sent[3]);
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again->duplicate);
}

TEST(LogIndexRuns, RunFilesTheCheckpointDoesNotNameAreRemovedAtOpen) {
  FaultInjectionEnv env;
  std::mt19937 rng(2);
  std::vector<CommitRequest> sent;
  {
    auto log = open_log(fault_options(&env));
    append_mixed(log.get(), &rng, 50, &sent);
  }
  const std::set<std::string> named = index_files(&env);
  // As if a process died after writing a run (or half of one) but before the checkpoint named it.
  ASSERT_TRUE(env.write_file_atomically("/data/index/" + run_file_name(51, 90), "not a run").is_ok());
  ASSERT_TRUE(env.write_file_atomically("/data/index/" + run_file_name(91, 99) + ".tmp", "half").is_ok());
  auto log = open_log(fault_options(&env));
  EXPECT_TRUE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(index_files(&env), named);
  expect_index_agrees_with_log(*log);
}

TEST(LogIndexRuns, ADamagedRunIsNotTrustedAndTheIndexIsRebuiltFromTheLog) {
  FaultInjectionEnv env;
  std::mt19937 rng(4);
  std::vector<CommitRequest> sent;
  std::vector<std::string> before;
  {
    auto log = open_log(fault_options(&env));
    for (int i = 0; i < 3; ++i) {
      append_mixed(log.get(), &rng, 40, &sent);
      ASSERT_TRUE(log->write_checkpoint().is_ok());
    }
    before = all_events(*log);
  }
  std::string run;
  for (const std::string& name : index_files(&env)) {
    if (name.rfind("run-", 0) == 0) run = name;
  }
  ASSERT_FALSE(run.empty());
  ASSERT_TRUE(env.corrupt_byte("/data/index/" + run, 200).is_ok());
  {
    auto log = open_log(fault_options(&env));
    EXPECT_FALSE(log->stats().opened_from_checkpoint);
    EXPECT_EQ(log->stats().index_runs, 0u);
    EXPECT_EQ(all_events(*log), before);
    expect_index_agrees_with_log(*log);
    EXPECT_EQ(index_files(&env).count(run), 0u) << "the damaged run is removed";
  }
  // Closing wrote new runs from the rebuilt index: the next open uses them.
  auto log = open_log(fault_options(&env));
  EXPECT_TRUE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(all_events(*log), before);
}

TEST(LogIndexRuns, AFailedRunWriteKeepsTheEventsAndTheNextCheckpointWritesThem) {
  FaultInjectionEnv env;
  std::mt19937 rng(6);
  std::vector<CommitRequest> sent;
  std::vector<std::string> before;
  {
    auto log = open_log(fault_options(&env));
    append_mixed(log.get(), &rng, 40, &sent);
    ASSERT_TRUE(log->write_checkpoint().is_ok());
    append_mixed(log.get(), &rng, 40, &sent);
    env.fail_syncs(1);  // the new run's sync
    EXPECT_FALSE(log->write_checkpoint().is_ok());
    EXPECT_TRUE(log->health().is_ok()) << "an index run is not the log: appends go on";
    append_mixed(log.get(), &rng, 40, &sent);
    expect_index_agrees_with_log(*log);
    ASSERT_TRUE(log->write_checkpoint().is_ok());
    expect_index_agrees_with_log(*log);
    before = all_events(*log);
  }
  auto log = open_log(fault_options(&env));
  EXPECT_TRUE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(log->stats().events_scanned_at_open, 0u);
  EXPECT_EQ(all_events(*log), before);
  expect_index_agrees_with_log(*log);
}

TEST(LogIndexRuns, TheCheckpointerWritesRunsEveryNEvents) {
  FaultInjectionEnv env;
  LogOptions options = fault_options(&env);
  options.checkpoint_every_events = 100;
  std::mt19937 rng(8);
  std::vector<CommitRequest> sent;
  auto log = open_log(options);
  append_mixed(log.get(), &rng, 400, &sent);
  // The background checkpointer catches up (bounded wait: 2,000 x 5 ms).
  LogStats stats = log->stats();
  for (int i = 0; i < 2000 && stats.index_runs == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stats = log->stats();
  }
  ASSERT_GE(stats.index_runs, 1u);
  EXPECT_GT(stats.index_run_bytes, 0u);
  expect_index_agrees_with_log(*log);
}

}  // namespace
}  // namespace accountable
