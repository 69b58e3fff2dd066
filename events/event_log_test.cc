// Behaviour of the event log: appends, expectations, idempotency, reads,
// segments, the index and its checkpoint. Crash and fault tests are in
// log_fault_test.cc.
#include "events/event_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include "events/log_format.h"
#include "events/subscription.h"
#include "testing/fault_env.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

using testing::all_events;
using testing::fault_options;
using testing::make_commit;
using testing::make_event;
using testing::open_log;


TEST(EventLog, AppendAssignsGaplessPositionsAndStreamVersions) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  auto a = log->append(make_commit("partner-1", ExpectedVersion::no_stream(), 2));
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  EXPECT_EQ(a->first_position, GlobalPosition(1));
  EXPECT_EQ(a->last_position, GlobalPosition(2));
  ASSERT_EQ(a->streams.size(), 1u);
  EXPECT_EQ(a->streams[0].first_version, StreamVersion(1));
  EXPECT_EQ(a->streams[0].last_version, StreamVersion(2));
  auto b = log->append(make_commit("user-7", ExpectedVersion::no_stream()));
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->first_position, GlobalPosition(3));
  EXPECT_EQ(b->streams[0].first_version, StreamVersion(1));
  EXPECT_EQ(log->head(), GlobalPosition(3));
  EXPECT_EQ(log->stream_version("partner-1"), StreamVersion(2));
  EXPECT_EQ(log->stream_version("nobody"), StreamVersion(0));
}

TEST(EventLog, ReadsAStreamForwardAndBackwardWithALimit) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any(), 5)).is_ok());
  ASSERT_TRUE(log->append(make_commit("other", ExpectedVersion::any(), 1)).is_ok());
  auto fwd = log->read_stream("s", StreamVersion(2), 2);
  ASSERT_TRUE(fwd.is_ok());
  ASSERT_EQ(fwd->events.size(), 2u);
  EXPECT_EQ(fwd->events[0].version, StreamVersion(2));
  EXPECT_EQ(fwd->events[1].version, StreamVersion(3));
  EXPECT_EQ(fwd->events[1].payload, "s#2");
  auto back = log->read_stream("s", StreamVersion(0), 3, Direction::kBackward);
  ASSERT_TRUE(back.is_ok());
  ASSERT_EQ(back->events.size(), 3u);
  EXPECT_EQ(back->events[0].version, StreamVersion(5));
  EXPECT_EQ(back->events[2].version, StreamVersion(3));
  auto none = log->read_stream("missing", StreamVersion(1), 10);
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->events.empty());
}

TEST(EventLog, EnvelopeRoundTripsEveryField) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest r = make_commit("partner-42", ExpectedVersion::no_stream(), 1, "42", "PartnerEnrolled");
  r.actor = "user:42/u-1";
  r.streams[0].events[0].schema_version = 3;
  const CommitRequest copy = r;
  ASSERT_TRUE(log->append(std::move(r)).is_ok());
  auto read = log->read_stream("partner-42", StreamVersion(1), 1);
  ASSERT_TRUE(read.is_ok());
  ASSERT_EQ(read->events.size(), 1u);
  const RecordedEvent& e = read->events[0];
  EXPECT_EQ(e.position, GlobalPosition(1));
  EXPECT_EQ(e.stream, "partner-42");
  EXPECT_EQ(e.version, StreamVersion(1));
  EXPECT_EQ(e.event_id, copy.streams[0].events[0].id);
  EXPECT_EQ(e.type, "PartnerEnrolled");
  EXPECT_EQ(e.schema_version, 3);
  EXPECT_EQ(e.command_id, copy.command_id);
  EXPECT_EQ(e.correlation_id, copy.correlation_id);
  EXPECT_EQ(e.causation_id, copy.causation_id);
  EXPECT_EQ(e.actor, "user:42/u-1");
  EXPECT_EQ(e.partner, "42");
  EXPECT_EQ(e.payload, copy.streams[0].events[0].payload);
  EXPECT_EQ(e.prev_hash, Hash256{});
  EXPECT_EQ(e.hash, log->head_hash());
  EXPECT_GT(e.recorded_at.micros, 0);
}

TEST(EventLog, ExpectedVersionKindsAreEnforced) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  EXPECT_EQ(log->append(make_commit("s", ExpectedVersion::stream_exists())).status().code(),
            StatusCode::kWrongExpectedVersion);
  ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::no_stream())).is_ok());
  EXPECT_EQ(log->append(make_commit("s", ExpectedVersion::no_stream())).status().code(),
            StatusCode::kWrongExpectedVersion);
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::stream_exists())).is_ok());
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(2)))).is_ok());
  auto stale = log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(2))));
  ASSERT_EQ(stale.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_NE(stale.status().message().find("stream 's': expected version 2, actual version 3"), std::string::npos)
      << stale.status().message();
  EXPECT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  EXPECT_EQ(log->stream_version("s"), StreamVersion(4));
}

// Pipelined commits (events/envelope.h, CommitLink): a commit decided on top
// of a queued one goes through only if that one was written as requested.
TEST(EventLog, ACommitAfterARefusedOneIsRefusedEvenWhenItsVersionsMatch) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::no_stream())).is_ok());
  // Refused: s is at 1. Its successor was decided as if it were written and
  // s were at 2; another writer's commit then puts s at 2 for real.
  CommitRequest first = make_commit("s", ExpectedVersion::exact(StreamVersion(0)));
  first.link = std::make_shared<CommitLink>();
  auto refused = log->append(first);
  ASSERT_EQ(refused.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(first.link->state.load(), CommitLink::kNotWritten);
  ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::exact(StreamVersion(1)))).is_ok());
  CommitRequest second = make_commit("s", ExpectedVersion::exact(StreamVersion(2)));
  second.after = first.link;
  auto after = log->append(second);
  ASSERT_EQ(after.status().code(), StatusCode::kWrongExpectedVersion) << "its expected version matches; its link does not";
  EXPECT_NE(after.status().message().find("decided after was not written"), std::string::npos)
      << after.status().message();
  EXPECT_EQ(log->stream_version("s"), StreamVersion(2));
}

TEST(EventLog, ACommitAfterAQueuedOneIsWrittenAfterIt) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest first = make_commit("s", ExpectedVersion::no_stream());
  first.link = std::make_shared<CommitLink>();
  std::promise<Result<CommitResult>> first_done;
  log->append_async(first, [&](Result<CommitResult> r) { first_done.set_value(std::move(r)); });
  // Queued after the first (in its batch or the next): decided on top of it.
  CommitRequest second = make_commit("s", ExpectedVersion::exact(StreamVersion(1)));
  second.after = first.link;
  second.link = std::make_shared<CommitLink>();
  auto after = log->append(second);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  auto before = first_done.get_future().get();
  ASSERT_TRUE(before.is_ok()) << before.status().to_string();
  EXPECT_LT(before->last_position, after->first_position);
  EXPECT_EQ(first.link->state.load(), CommitLink::kWritten);
  EXPECT_EQ(second.link->state.load(), CommitLink::kWritten);
}

TEST(EventLog, ACommitAnsweredAsADuplicateOrRefusedUpFrontIsNotWritten) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest original = make_commit("s", ExpectedVersion::no_stream());
  ASSERT_TRUE(log->append(original).is_ok());
  CommitRequest again = original;  // the same command id and content: answered from its first commit
  again.link = std::make_shared<CommitLink>();
  auto duplicate = log->append(again);
  ASSERT_TRUE(duplicate.is_ok()) << duplicate.status().to_string();
  EXPECT_TRUE(duplicate->duplicate);
  EXPECT_EQ(again.link->state.load(), CommitLink::kNotWritten) << "nothing it decided was written";
  CommitRequest invalid = make_commit("s", ExpectedVersion::any());
  invalid.command_id = CommandId();  // refused before the queue: no command id
  invalid.link = std::make_shared<CommitLink>();
  EXPECT_FALSE(log->append(invalid).is_ok());
  EXPECT_EQ(invalid.link->state.load(), CommitLink::kNotWritten);
  CommitRequest next = make_commit("s", ExpectedVersion::any());  // only its link can refuse it
  next.after = again.link;
  EXPECT_EQ(log->append(next).status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(log->stream_version("s"), StreamVersion(1));
}

TEST(EventLog, AMultiStreamCommitWithOneFailedExpectationWritesNothing) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  ASSERT_TRUE(log->append(make_commit("b", ExpectedVersion::no_stream())).is_ok());
  CommitRequest r = make_commit("a", ExpectedVersion::no_stream());
  StreamAppend second;
  second.stream = "b";
  second.expected = ExpectedVersion::no_stream();  // wrong: b is at version 1
  second.events.push_back(make_event("Happened", "x"));
  r.streams.push_back(second);
  auto result = log->append(r);
  ASSERT_EQ(result.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_NE(result.status().message().find("stream 'b': expected version no_stream, actual version 1"),
            std::string::npos);
  EXPECT_EQ(result.status().field(), "streams[1].expected_version");
  EXPECT_EQ(log->head(), GlobalPosition(1));
  EXPECT_EQ(log->stream_version("a"), StreamVersion(0));

  r.streams[1].expected = ExpectedVersion::exact(StreamVersion(1));
  r.command_id = CommandId::random();
  auto ok = log->append(r);
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(ok->first_position, GlobalPosition(2));
  EXPECT_EQ(ok->last_position, GlobalPosition(3));
  EXPECT_EQ(log->stream_version("b"), StreamVersion(2));
}

TEST(EventLog, ACheckOnlyStreamGatesTheCommitAndWritesNothingToIt) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  ASSERT_TRUE(log->append(make_commit("guard", ExpectedVersion::no_stream())).is_ok());  // guard at version 1
  auto with_check = [](ExpectedVersion expected) {
    CommitRequest r = make_commit("data", ExpectedVersion::any());
    StreamAppend check;
    check.stream = "guard";
    check.expected = expected;
    r.streams.push_back(check);
    return r;
  };
  auto stale = log->append(with_check(ExpectedVersion::exact(StreamVersion(0))));
  ASSERT_EQ(stale.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(stale.status().field(), "streams[1].expected_version");
  EXPECT_EQ(log->head(), GlobalPosition(1));

  auto ok = log->append(with_check(ExpectedVersion::exact(StreamVersion(1))));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->first_position, GlobalPosition(2));
  ASSERT_EQ(ok->streams.size(), 1u);  // only the stream that was written
  EXPECT_EQ(ok->streams[0].stream, "data");
  EXPECT_EQ(log->stream_version("guard"), StreamVersion(1));
  EXPECT_EQ(log->head(), GlobalPosition(2));

  // A check needs an expectation, and a commit needs at least one event.
  EXPECT_EQ(log->append(with_check(ExpectedVersion::any())).status().field(), "streams[1].expected_version");
  CommitRequest only_checks = with_check(ExpectedVersion::exact(StreamVersion(1)));
  only_checks.streams.erase(only_checks.streams.begin());
  auto empty = log->append(only_checks);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().field(), "streams");
  EXPECT_EQ(log->head(), GlobalPosition(2));
}

TEST(EventLog, InvalidRequestsAreRefusedWithTheField) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest bad_stream = make_commit("../etc", ExpectedVersion::any());
  auto r1 = log->append(bad_stream);
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r1.status().field(), "streams[0].stream");
  CommitRequest nul = make_commit(std::string("a\0b", 3), ExpectedVersion::any());
  EXPECT_EQ(log->append(nul).status().code(), StatusCode::kInvalidArgument);
  CommitRequest no_id = make_commit("s", ExpectedVersion::any());
  no_id.command_id = CommandId();
  EXPECT_EQ(log->append(no_id).status().field(), "command_id");
  CommitRequest bad_type = make_commit("s", ExpectedVersion::any(), 1, "", "bad type");
  EXPECT_EQ(log->append(bad_type).status().field(), "streams[0].events[0].type");
  CommitRequest twice = make_commit("s", ExpectedVersion::any());
  twice.streams.push_back(twice.streams[0]);
  EXPECT_EQ(log->append(twice).status().field(), "streams[1].stream");
  CommitRequest huge = make_commit("s", ExpectedVersion::any());
  huge.streams[0].events[0].payload.assign(log_format::kMaxPayloadBytes + 1, 'x');
  EXPECT_EQ(log->append(huge).status().field(), "streams[0].events[0].payload");
  EXPECT_EQ(log->head(), GlobalPosition(0));
}

TEST(EventLog, ResubmittedCommandIdReturnsTheFirstResultAndAppendsNothing) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest r = make_commit("s", ExpectedVersion::no_stream(), 2);
  auto first = log->append(r);
  ASSERT_TRUE(first.is_ok());
  ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  r.streams[0].events[0].id = EventId::random();  // a retry may regenerate event ids
  auto again = log->append(r);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->first_position, first->first_position);
  EXPECT_EQ(again->last_position, first->last_position);
  EXPECT_EQ(again->streams[0].first_version, StreamVersion(1));
  EXPECT_EQ(again->streams[0].last_version, StreamVersion(2));
  EXPECT_EQ(log->head(), GlobalPosition(3));
}

TEST(EventLog, CommandIdIdempotencyHoldsAcrossRestartsWithAndWithoutTheIndex) {
  FaultInjectionEnv env;
  CommitRequest r = make_commit("s", ExpectedVersion::no_stream());
  {
    auto log = open_log(fault_options(&env));
    ASSERT_TRUE(log->append(r).is_ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(log->append(make_commit("t", ExpectedVersion::any())).is_ok());
  }
  for (bool drop_index : {false, true}) {
    if (drop_index) {
      ASSERT_TRUE(env.remove_file("/data/index/checkpoint").is_ok());
    }
    auto log = open_log(fault_options(&env));
    auto again = log->append(r);
    ASSERT_TRUE(again.is_ok());
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(again->first_position, GlobalPosition(1));
    EXPECT_EQ(log->head(), GlobalPosition(51));
  }
}

TEST(EventLog, SameCommandIdWithDifferentContentIsAConflict) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  CommitRequest r = make_commit("s", ExpectedVersion::no_stream());
  ASSERT_TRUE(log->append(r).is_ok());
  r.streams[0].events[0].payload = "something else";
  auto again = log->append(r);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(again.status().field(), "command_id");
  EXPECT_EQ(log->head(), GlobalPosition(1));
}

TEST(EventLog, ReadAllFiltersByTypeStreamPrefixAndPartnerAndPages) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  for (int i = 0; i < 10; ++i) {
    const std::string partner = i % 2 == 0 ? "p1" : "p2";
    ASSERT_TRUE(log->append(make_commit("user-" + partner + "-" + std::to_string(i), ExpectedVersion::any(), 1,
                                        partner, i % 3 == 0 ? "UserCreated" : "RoleAssigned"))
                    .is_ok());
  }
  auto all = log->read_all(GlobalPosition(0), 100);
  ASSERT_TRUE(all.is_ok());
  EXPECT_EQ(all->events.size(), 10u);
  EXPECT_TRUE(all->end_of_log);

  AllFilter by_partner;
  by_partner.partner = "p2";
  auto p2 = log->read_all(GlobalPosition(1), 100, by_partner);
  ASSERT_TRUE(p2.is_ok());
  EXPECT_EQ(p2->events.size(), 5u);
  for (const auto& e : p2->events) EXPECT_EQ(e.partner, "p2");

  AllFilter by_type;
  by_type.types = {"UserCreated"};
  auto created = log->read_all(GlobalPosition(1), 100, by_type);
  ASSERT_TRUE(created.is_ok());
  EXPECT_EQ(created->events.size(), 4u);  // i = 0, 3, 6, 9

  AllFilter by_prefix;
  by_prefix.stream_prefix = "user-p1-";
  auto p1 = log->read_all(GlobalPosition(1), 2, by_prefix);
  ASSERT_TRUE(p1.is_ok());
  ASSERT_EQ(p1->events.size(), 2u);
  EXPECT_FALSE(p1->end_of_log);
  auto rest = log->read_all(p1->next_position, 100, by_prefix);
  ASSERT_TRUE(rest.is_ok());
  EXPECT_EQ(rest->events.size(), 3u);
  EXPECT_GT(rest->events[0].position, p1->events[1].position);

  auto past = log->read_all(GlobalPosition(11), 10);
  ASSERT_TRUE(past.is_ok());
  EXPECT_TRUE(past->events.empty());
  EXPECT_TRUE(past->end_of_log);
}

TEST(EventLog, SegmentsRollAtTheConfiguredSizeAndReadsCrossThem) {
  FaultInjectionEnv env;
  LogOptions options = fault_options(&env);
  options.segment_bytes = 8 * 1024;
  auto log = open_log(options);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  auto names = env.list_dir("/data/log");
  ASSERT_TRUE(names.is_ok());
  EXPECT_GT(names->size(), 3u);
  std::vector<std::string> sorted = *names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted.front(), "seg-00000000000000000001.log");
  for (const std::string& name : sorted) EXPECT_LE(env.contents("/data/log/" + name).size(), 8u * 1024);
  auto all = log->read_all(GlobalPosition(1), 1000);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->events.size(), 200u);
  for (size_t i = 0; i < all->events.size(); ++i) EXPECT_EQ(all->events[i].position, GlobalPosition(i + 1));
  auto mid = log->read_all(GlobalPosition(150), 10);
  ASSERT_TRUE(mid.is_ok());
  ASSERT_EQ(mid->events.size(), 10u);
  EXPECT_EQ(mid->events[0].position, GlobalPosition(150));
  auto stream = log->read_stream("s", StreamVersion(190), 100);
  ASSERT_TRUE(stream.is_ok());
  EXPECT_EQ(stream->events.size(), 11u);
}

TEST(EventLog, ReopenLoadsTheIndexCheckpointAndScansOnlyTheTail) {
  FaultInjectionEnv env;
  std::vector<std::string> before;
  {
    auto log = open_log(fault_options(&env));
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->append(make_commit("s" + std::to_string(i % 7), ExpectedVersion::any())).is_ok());
    before = all_events(*log);
  }
  auto log = open_log(fault_options(&env));
  LogStats stats = log->stats();
  EXPECT_TRUE(stats.opened_from_checkpoint);
  EXPECT_EQ(stats.events_scanned_at_open, 0u);
  EXPECT_EQ(all_events(*log), before);
  EXPECT_EQ(log->stream_version("s3"), StreamVersion(14));
  ASSERT_TRUE(log->append(make_commit("s3", ExpectedVersion::exact(StreamVersion(14)))).is_ok());
}

TEST(EventLog, ATailWrittenAfterTheCheckpointIsScannedOnOpen) {
  FaultInjectionEnv env;
  LogOptions crashing = fault_options(&env);
  crashing.checkpoint_on_close = false;  // as if the process died
  {
    auto log = open_log(crashing);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
    ASSERT_TRUE(log->write_checkpoint().is_ok());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  }
  auto log = open_log(fault_options(&env));
  EXPECT_TRUE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(log->stats().events_scanned_at_open, 5u);
  EXPECT_EQ(log->head(), GlobalPosition(25));
  EXPECT_EQ(log->stream_version("s"), StreamVersion(25));
}

TEST(EventLog, AMissingOrDamagedIndexIsRebuiltFromTheLog) {
  FaultInjectionEnv env;
  std::vector<std::string> before;
  {
    auto log = open_log(fault_options(&env));
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(log->append(make_commit("s" + std::to_string(i % 4), ExpectedVersion::any())).is_ok());
    before = all_events(*log);
  }
  ASSERT_TRUE(env.corrupt_byte("/data/index/checkpoint", 100).is_ok());
  {
    auto log = open_log(fault_options(&env));
    EXPECT_FALSE(log->stats().opened_from_checkpoint);
    EXPECT_EQ(log->stats().events_scanned_at_open, 30u);
    EXPECT_EQ(all_events(*log), before);
  }
  ASSERT_TRUE(env.remove_file("/data/index/checkpoint").is_ok());
  auto log = open_log(fault_options(&env));
  EXPECT_FALSE(log->stats().opened_from_checkpoint);
  EXPECT_EQ(all_events(*log), before);
  EXPECT_EQ(log->stream_version("s1"), StreamVersion(8));
}

// The index (loaded from its checkpoint, or rebuilt) agrees with the log:
// every stream read through the index equals the $all scan grouped by stream.
TEST(EventLog, IndexAndLogAgree) {
  FaultInjectionEnv env;
  LogOptions options = fault_options(&env);
  options.segment_bytes = 16 * 1024;
  std::mt19937 rng(7);
  {
    auto log = open_log(options);
    for (int i = 0; i < 300; ++i) {
      CommitRequest r = make_commit("s" + std::to_string(rng() % 13), ExpectedVersion::any(), 1 + rng() % 3);
      if (rng() % 4 == 0) {
        StreamAppend extra;
        extra.stream = "x" + std::to_string(rng() % 5);
        extra.events.push_back(make_event("Other", "extra"));
        r.streams.push_back(extra);
      }
      ASSERT_TRUE(log->append(r).is_ok());
    }
  }
  for (bool rebuilt : {false, true}) {
    if (rebuilt) {
      ASSERT_TRUE(env.remove_file("/data/index/checkpoint").is_ok());
    }
    auto log = open_log(options);
    auto all = log->read_all(GlobalPosition(1), 100000);
    ASSERT_TRUE(all.is_ok());
    std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> by_stream;  // (version, position)
    for (const auto& e : all->events) by_stream[std::string(e.stream)].emplace_back(e.version.value(), e.position.value());
    for (const auto& [stream, expected] : by_stream) {
      EXPECT_EQ(log->stream_version(stream), StreamVersion(expected.size()));
      auto read = log->read_stream(stream, StreamVersion(1), 100000);
      ASSERT_TRUE(read.is_ok());
      ASSERT_EQ(read->events.size(), expected.size()) << stream;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(read->events[i].version.value(), i + 1);
        EXPECT_EQ(expected[i].first, i + 1);
        EXPECT_EQ(read->events[i].position.value(), expected[i].second);
      }
    }
  }
}

TEST(EventLog, ASecondOpenOfTheSameFolderFailsNamingTheHolder) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  auto second = EventLog::open(fault_options(&env));
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
}

TEST(EventLog, ConcurrentAppendersShareFsyncsAndNeverDuplicateAVersion) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::atomic<int> conflicts{0};
  std::atomic<int> committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string stream = "race-" + std::to_string(i % 10);
        // Read, then append expecting what was read: racers collide.
        const StreamVersion seen = log->stream_version(stream);
        auto r = log->append(make_commit(stream, ExpectedVersion::exact(seen), 1, "", "T" + std::to_string(t)));
        if (r.is_ok()) {
          committed.fetch_add(1);
        } else if (r.status().code() == StatusCode::kWrongExpectedVersion) {
          conflicts.fetch_add(1);
        } else {
          ADD_FAILURE() << r.status().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(committed.load() + conflicts.load(), kThreads * kPerThread);
  EXPECT_EQ(log->head(), GlobalPosition(static_cast<uint64_t>(committed.load())));
  auto all = log->read_all(GlobalPosition(1), 100000);
  ASSERT_TRUE(all.is_ok());
  std::set<std::pair<std::string, uint64_t>> seen;
  for (const auto& e : all->events) {
    EXPECT_TRUE(seen.emplace(std::string(e.stream), e.version.value()).second) << "duplicate version";
  }
  const LogStats stats = log->stats();
  EXPECT_EQ(stats.commits_appended, static_cast<uint64_t>(committed.load()));
  EXPECT_LE(stats.fsyncs, stats.commits_appended);
}

TEST(EventLog, SubscriptionCatchesUpThenFollowsLiveCommits) {
  FaultInjectionEnv env;
  auto log = open_log(fault_options(&env));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any())).is_ok());
  Subscription sub(*log, GlobalPosition(3));
  auto first = sub.next(std::chrono::milliseconds(0));
  ASSERT_TRUE(first.is_ok());
  ASSERT_EQ(first->events.size(), 3u);
  EXPECT_EQ(first->events[0].position, GlobalPosition(3));
  EXPECT_TRUE(sub.caught_up());
  std::thread writer([&] { ASSERT_TRUE(log->append(make_commit("s", ExpectedVersion::any(), 2)).is_ok()); });
  std::vector<uint64_t> live;
  for (int tries = 0; tries < 100 && live.size() < 2; ++tries) {
    auto batch = sub.next(std::chrono::milliseconds(100));
    ASSERT_TRUE(batch.is_ok());
    for (const auto& e : batch->events) live.push_back(e.position.value());
  }
  writer.join();
  EXPECT_EQ(live, (std::vector<uint64_t>{6, 7}));
}

TEST(EventLog, AFullQueueAnswersBusyInsteadOfGrowing) {
  FaultInjectionEnv env;
  LogOptions options = fault_options(&env);
  options.max_queued_commits = 1;
  options.queue_wait = std::chrono::milliseconds(0);
  auto log = open_log(options);
  // Flood from several threads; every append either commits or is refused busy.
  std::atomic<int> ok{0}, busy{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto r = log->append(make_commit("s", ExpectedVersion::any()));
        if (r.is_ok()) {
          ok++;
        } else if (r.status().code() == StatusCode::kBusy) {
          busy++;
        } else {
          ADD_FAILURE() << r.status().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok + busy, 200);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(log->head(), GlobalPosition(static_cast<uint64_t>(ok.load())));
}

}  // namespace
}  // namespace accountable
