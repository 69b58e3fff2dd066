// The relay against the REAL broker that scripts/test starts
// (ACCT_KAFKA_BOOTSTRAP). Every test uses topics of its own, so they run in
// parallel. Waits are bounded; nothing asserts a speed.
#include "consumers/relay.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <thread>

#include "consumers/testing/kafka_testing.h"
#include "testing/wait.h"

namespace accountable {
namespace {

using namespace std::chrono_literals;
using testing::TempLog;
using testing::wait_until;

class RelayKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = testing::kafka_bootstrap();
    ASSERT_TRUE(b.is_ok()) << b.status().message();  // fails, never skips: the suite needs its broker
    brokers_ = *b;
    ASSERT_TRUE(log_.status().is_ok()) << log_.status().to_string();
    topic_ = testing::unique_name(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  RelayOptions options() const {
    RelayOptions o;
    o.brokers = brokers_;
    o.topic = topic_;
    o.partitions = 6;
    return o;
  }

  // Runs a relay with stop_at_head until it finished (or failed), bounded.
  RelayStatus relay_once(TempLog& t, RelayOptions o, std::chrono::milliseconds timeout = 300s) {
    o.stop_at_head = true;
    Relay relay(t.log(), t.cipher(), o);
    EXPECT_TRUE(relay.start().is_ok());
    EXPECT_TRUE(relay.wait(timeout)) << "the relay did not finish in time: "
                                     << boost::json::serialize(relay_status_json(relay.status()));
    relay.stop();
    return relay.status();
  }

  uint64_t populate(TempLog& t, uint64_t events, int partners = 50, uint64_t seed = 1) {
    testing::PopulateOptions p;
    p.events = events;
    p.partners = partners;
    p.seed = seed;
    auto n = testing::populate(t.log(), p, t.cipher());
    EXPECT_TRUE(n.is_ok()) << n.status().to_string();
    return t.log().head().value();
  }

  testing::ExactlyOnceReport read_and_check(uint64_t head, std::vector<testing::TopicMessage>* out = nullptr) {
    auto messages = testing::read_topic(brokers_, topic_, head, 180s);
    EXPECT_TRUE(messages.is_ok()) << messages.status().to_string();
    if (!messages) return {};
    if (out) *out = *messages;
    return testing::check_exactly_once(*messages, head);
  }

  std::string brokers_;
  std::string topic_;
  TempLog log_;
};

TEST_F(RelayKafkaTest, HundredThousandEventsArriveOnceEachInOrderPerPartner) {
  const uint64_t head = populate(log_, 100'000, /*partners=*/500);
  ASSERT_GE(head, 100'000u);
  RelayStatus s = relay_once(log_, options(), 600s);
  ASSERT_EQ(RelayState::kFinished, s.state) << s.last_error;
  EXPECT_FALSE(s.fatal);
  EXPECT_EQ(head, s.checkpoint_position);
  EXPECT_EQ(head, s.events_published);
  EXPECT_EQ(0u, s.lag);
  EXPECT_GE(s.transactions_committed, head / options().max_batch_events) << "batches are bounded";

  std::vector<testing::TopicMessage> messages;
  testing::ExactlyOnceReport r = read_and_check(head, &messages);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(head, r.messages);
  std::set<int32_t> partitions;
  std::set<std::string> keys;
  for (const auto& m : messages) {
    partitions.insert(m.partition);
    keys.insert(m.key);
  }
  EXPECT_EQ(6u, partitions.size()) << "the keys spread over all 6 partitions";
  EXPECT_EQ(501u, keys.size()) << "500 partners and the catalog stream";
}

TEST_F(RelayKafkaTest, ARestartResumesAfterTheCheckpointInKafka) {
  const uint64_t first = populate(log_, 3000);
  RelayStatus s1 = relay_once(log_, options());
  ASSERT_EQ(RelayState::kFinished, s1.state) << s1.last_error;
  EXPECT_EQ(first, s1.events_published);

  const uint64_t second = populate(log_, 2000, 50, /*seed=*/2);
  ASSERT_GT(second, first);
  RelayStatus s2 = relay_once(log_, options());
  ASSERT_EQ(RelayState::kFinished, s2.state) << s2.last_error;
  EXPECT_EQ(second - first, s2.events_published) << "only what the first run did not publish";
  EXPECT_EQ(second, s2.checkpoint_position);

  testing::ExactlyOnceReport r = read_and_check(second);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(second, r.messages);
}

TEST_F(RelayKafkaTest, FollowsTheLogWhileCommandsAreAppended) {
  RelayOptions o = options();
  o.idle_wait = 50ms;
  Relay relay(log_.log(), log_.cipher(), o);
  ASSERT_TRUE(relay.start().is_ok());
  uint64_t head = 0;
  for (int round = 0; round < 5; ++round) {
    head = populate(log_, 400, 20, 10 + static_cast<uint64_t>(round));
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(wait_until([&] { return relay.status().checkpoint_position >= head; }, 120s))
      << boost::json::serialize(relay_status_json(relay.status()));
  RelayStatus s = relay.status();
  EXPECT_EQ(RelayState::kRunning, s.state);
  EXPECT_EQ(head, s.events_published);
  EXPECT_EQ(0u, s.lag);
  EXPECT_EQ(head, s.log_head);
  EXPECT_GT(s.publish_rate, 0.0) << "events were committed in the last 10 s";
  EXPECT_GE(s.transactions_committed, 1u);
  relay.stop();
  EXPECT_EQ(RelayState::kStopped, relay.status().state);

  testing::ExactlyOnceReport r = read_and_check(head);
  EXPECT_TRUE(r.ok()) << r.summary();
}

TEST_F(RelayKafkaTest, ANewerInstanceFencesTheOlderWhichStopsAsFatal) {
  RelayOptions o = options();
  o.idle_wait = 50ms;
  Relay older(log_.log(), log_.cipher(), o);
  ASSERT_TRUE(older.start().is_ok());
  uint64_t head = populate(log_, 1000);
  ASSERT_TRUE(wait_until([&] { return older.status().checkpoint_position >= head; }, 120s))
      << older.status().last_error;

  Relay newer(log_.log(), log_.cipher(), o);  // same transactional.id
  ASSERT_TRUE(newer.start().is_ok());
  ASSERT_TRUE(wait_until([&] { return newer.status().state == RelayState::kRunning; }, 120s))
      << newer.status().last_error;
  // The older one finds out at its next transaction.
  head = populate(log_, 1000, 50, 2);
  ASSERT_TRUE(wait_until([&] { return older.status().fatal; }, 120s))
      << "the fenced relay did not stop: " << boost::json::serialize(relay_status_json(older.status()));
  ASSERT_TRUE(older.wait(30s));
  RelayStatus fenced = older.status();
  EXPECT_EQ(RelayState::kFailed, fenced.state);
  EXPECT_TRUE(fenced.last_error.find("FENCED") != std::string::npos ||
              fenced.last_error.find("EPOCH") != std::string::npos)
      << fenced.last_error;

  // The log (and so the engine) takes commands as before.
  ASSERT_TRUE(testing::append_event(log_.log(), "catalog", "", OfferRetired{"offer-1", Timestamp{1}}, log_.cipher())
                  .is_ok());
  head = log_.log().head().value();
  ASSERT_TRUE(wait_until([&] { return newer.status().checkpoint_position >= head; }, 120s))
      << newer.status().last_error;
  newer.stop();
  testing::ExactlyOnceReport r = read_and_check(head);
  EXPECT_TRUE(r.ok()) << r.summary();
}

TEST_F(RelayKafkaTest, ACheckpointFromAnotherLogIsRefused) {
  const uint64_t head = populate(log_, 500);
  RelayStatus s = relay_once(log_, options());
  ASSERT_EQ(RelayState::kFinished, s.state) << s.last_error;
  ASSERT_EQ(head, s.checkpoint_position);

  TempLog other;  // same number of events, other contents
  ASSERT_TRUE(other.status().is_ok());
  populate(other, 600, 50, /*seed=*/99);
  RelayStatus refused = relay_once(other, options(), 120s);
  EXPECT_TRUE(refused.fatal);
  EXPECT_EQ(RelayState::kFailed, refused.state);
  EXPECT_NE(std::string::npos, refused.last_error.find("fed from another log")) << refused.last_error;
  EXPECT_EQ(0u, refused.events_published);

  TempLog shorter;
  ASSERT_TRUE(shorter.status().is_ok());
  populate(shorter, 100, 5, 7);
  refused = relay_once(shorter, options(), 120s);
  EXPECT_TRUE(refused.fatal);
  EXPECT_NE(std::string::npos, refused.last_error.find("the log ends at")) << refused.last_error;

  testing::ExactlyOnceReport r = read_and_check(head);
  EXPECT_TRUE(r.ok()) << "nothing was added to the topic: " << r.summary();
}

TEST_F(RelayKafkaTest, CreatesTheTopicsWithTheirSettings) {
  populate(log_, 100, 5);
  RelayOptions o = options();
  o.partitions = 3;
  RelayStatus s = relay_once(log_, o);
  ASSERT_EQ(RelayState::kFinished, s.state) << s.last_error;
  auto events = testing::topic_settings(brokers_, topic_);
  ASSERT_TRUE(events.is_ok()) << events.status().to_string();
  EXPECT_EQ("3", (*events)["partitions"]);
  EXPECT_EQ("delete", (*events)["cleanup.policy"]);
  auto cp = testing::topic_settings(brokers_, o.resolved_checkpoint_topic());
  ASSERT_TRUE(cp.is_ok()) << cp.status().to_string();
  EXPECT_EQ("1", (*cp)["partitions"]);
  EXPECT_EQ("compact", (*cp)["cleanup.policy"]);
}

}  // namespace
}  // namespace accountable
