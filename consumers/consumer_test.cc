// The consumer library and the example service against the REAL broker
// (ACCT_KAFKA_BOOTSTRAP): handler-then-store, deduplication, commits on
// revocation, and the partner directory end to end. Bounded waits only.
#include "consumers/consumer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <thread>

#include "consumers/examples/partner_directory.h"
#include "consumers/relay.h"
#include "consumers/testing/kafka_testing.h"

namespace accountable {
namespace {

using namespace std::chrono_literals;
using testing::TempLog;

class ConsumerKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = testing::kafka_bootstrap();
    ASSERT_TRUE(b.is_ok()) << b.status().message();  // fails, never skips
    brokers_ = *b;
    ASSERT_TRUE(log_.status().is_ok()) << log_.status().to_string();
    name_ = testing::unique_name(::testing::UnitTest::GetInstance()->current_test_info()->name());
    topic_ = name_;
  }

  // Fills the log and relays it to the test's topic; returns the head.
  uint64_t publish(uint64_t events, int partners) {
    testing::PopulateOptions p;
    p.events = events;
    p.partners = partners;
    auto n = testing::populate(log_.log(), p, log_.cipher());
    EXPECT_TRUE(n.is_ok()) << n.status().to_string();
    RelayOptions o;
    o.brokers = brokers_;
    o.topic = topic_;
    o.stop_at_head = true;
    Relay relay(log_.log(), log_.cipher(), o);
    EXPECT_TRUE(relay.start().is_ok());
    EXPECT_TRUE(relay.wait(300s));
    relay.stop();
    EXPECT_EQ(RelayState::kFinished, relay.status().state) << relay.status().last_error;
    return log_.log().head().value();
  }

  ConsumerOptions options(const std::string& group) const {
    ConsumerOptions o;
    o.brokers = brokers_;
    o.group_id = group;
    o.topic = topic_;
    return o;
  }

  std::unique_ptr<EventConsumer> open(ConsumerOptions o, EventConsumer::Handler h) {
    auto c = EventConsumer::open(std::move(o), std::move(h));
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? std::move(*c) : nullptr;
  }

  std::string brokers_;
  std::string name_;
  std::string topic_;
  TempLog log_;
};

TEST_F(ConsumerKafkaTest, TheOffsetIsStoredOnlyAfterTheHandlerSucceeded) {
  const uint64_t head = publish(300, 20);
  const uint64_t poison = head / 2;
  const std::string group = name_ + ".g";

  std::set<uint64_t> handled_a;
  int poison_calls = 0;
  auto a = open(options(group), [&](const ConsumedEvent& e) {
    if (e.position.value() == poison) {
      ++poison_calls;
      return Status(StatusCode::kInternal, "the downstream database is down");
    }
    handled_a.insert(e.position.value());
    return Status::ok();
  });
  ASSERT_NE(nullptr, a);
  Status failed;
  for (int i = 0; i < 300 && failed.is_ok(); ++i) {  // bounded: 300 polls of at most 200 ms
    auto n = a->poll(200ms);
    if (!n) failed = n.status();
  }
  ASSERT_FALSE(failed.is_ok()) << "the failing handler was never reached";
  EXPECT_NE(std::string::npos, failed.message().find("position " + std::to_string(poison))) << failed.to_string();
  EXPECT_NE(std::string::npos, failed.message().find("the downstream database is down"));
  // The failed event comes again (seek back); other partitions go on meanwhile.
  Status again;
  for (int i = 0; i < 300 && again.is_ok(); ++i) {
    auto n = a->poll(200ms);
    if (!n) again = n.status();
  }
  ASSERT_FALSE(again.is_ok()) << "the failed event was not delivered again";
  EXPECT_EQ(2, poison_calls);
  EXPECT_EQ(0u, handled_a.count(poison));
  EXPECT_EQ(2u, a->stats().handler_failures);
  ASSERT_TRUE(a->close().is_ok());

  // A new member of the group resumes at the failed event on its partition
  // and never sees what the first one handled.
  std::set<uint64_t> handled_b;
  std::map<int32_t, uint64_t> first_per_partition;
  int32_t poison_partition = -1;
  auto b = open(options(group), [&](const ConsumedEvent& e) {
    handled_b.insert(e.position.value());
    first_per_partition.emplace(e.partition, e.position.value());
    if (e.position.value() == poison) poison_partition = e.partition;
    return Status::ok();
  });
  ASSERT_NE(nullptr, b);
  for (int i = 0; i < 600 && handled_a.size() + handled_b.size() < head; ++i) {
    auto n = b->poll(200ms);
    ASSERT_TRUE(n.is_ok()) << n.status().to_string();
  }
  ASSERT_TRUE(b->close().is_ok());
  for (uint64_t p : handled_b) {
    EXPECT_EQ(0u, handled_a.count(p)) << "position " << p << " handled by both members";
  }
  EXPECT_EQ(head, handled_a.size() + handled_b.size()) << "every event handled once by the group";
  ASSERT_GE(poison_partition, 0) << "the failed event was never delivered again";
  EXPECT_EQ(poison, first_per_partition[poison_partition])
      << "the partition did not resume exactly at the event whose handler failed";
}

TEST_F(ConsumerKafkaTest, DuplicatesAreSkippedByStreamAndVersion) {
  // Messages of one stream written by a plain (at-least-once) producer:
  // v1, v2, v2 again, v1 again, v3.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(testing::append_event(log_.log(), "partner-x", "x", OfferPinned{"offer-" + std::to_string(i)},
                                      log_.cipher())
                    .is_ok());
  }
  auto batch = log_.log().read_all(GlobalPosition(1), 10);
  ASSERT_TRUE(batch.is_ok());
  std::vector<EventMessage> m;
  for (const RecordedEvent& e : batch->events) m.push_back(*make_event_message(e, log_.cipher()));
  ASSERT_EQ(3u, m.size());

  kafka::Properties p;
  p["bootstrap.servers"] = brokers_;
  auto conf = kafka::make_conf(p);
  ASSERT_TRUE(conf.is_ok());
  auto producer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  ASSERT_TRUE(producer.is_ok());
  ASSERT_TRUE(kafka::create_topics(producer->get(), {{topic_, 1, -1, {}}}, 30s).is_ok());
  for (int i : {0, 1, 1, 0, 2}) {
    ASSERT_EQ(RD_KAFKA_RESP_ERR_NO_ERROR,
              rd_kafka_producev(producer->get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                                RD_KAFKA_V_KEY(m[static_cast<size_t>(i)].key.data(), m[static_cast<size_t>(i)].key.size()),
                                RD_KAFKA_V_VALUE(m[static_cast<size_t>(i)].value.data(), m[static_cast<size_t>(i)].value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END));
  }
  ASSERT_EQ(RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_flush(producer->get(), 30000));

  std::vector<uint64_t> versions;
  auto c = open(options(name_ + ".g"), [&](const ConsumedEvent& e) {
    versions.push_back(e.version.value());
    return Status::ok();
  });
  ASSERT_NE(nullptr, c);
  for (int i = 0; i < 300 && c->stats().received < 5; ++i) ASSERT_TRUE(c->poll(200ms).is_ok());
  EXPECT_EQ((std::vector<uint64_t>{1, 2, 3}), versions);
  EXPECT_EQ(2u, c->stats().duplicates_skipped);
  ASSERT_TRUE(c->close().is_ok());

  // The skipped duplicates' offsets were stored too: the group is at the end.
  uint64_t received_after = 0;
  auto again = open(options(name_ + ".g"), [&](const ConsumedEvent&) { return Status::ok(); });
  ASSERT_NE(nullptr, again);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(again->poll(200ms).is_ok());
  received_after = again->stats().received;
  EXPECT_EQ(0u, received_after);
}

TEST_F(ConsumerKafkaTest, RevokedPartitionsAreCommittedBeforeTheyMove) {
  const uint64_t head = publish(600, 30);
  const std::string group = name_ + ".g";
  ConsumerOptions o = options(group);
  o.commit_interval = std::chrono::hours(1);  // only revocation (and close) commits
  uint64_t handled_a = 0, handled_b = 0;
  auto a = open(o, [&](const ConsumedEvent&) {
    ++handled_a;
    return Status::ok();
  });
  ASSERT_NE(nullptr, a);
  for (int i = 0; i < 600 && handled_a < head; ++i) ASSERT_TRUE(a->poll(200ms).is_ok());
  ASSERT_EQ(head, handled_a);
  EXPECT_EQ(6u, a->stats().assigned.size());
  const uint64_t commits_before = a->stats().commits;

  auto b = open(o, [&](const ConsumedEvent&) {
    ++handled_b;
    return Status::ok();
  });
  ASSERT_NE(nullptr, b);
  // Both poll until the group is rebalanced (bounded).
  for (int i = 0; i < 300 && (b->stats().assigned.empty() || a->stats().assigned.size() == 6); ++i) {
    ASSERT_TRUE(a->poll(100ms).is_ok());
    ASSERT_TRUE(b->poll(100ms).is_ok());
  }
  ASSERT_FALSE(b->stats().assigned.empty()) << "the second member got no partition";
  EXPECT_GT(a->stats().commits, commits_before) << "no commit on revocation";
  for (int i = 0; i < 20; ++i) {  // give B the chance to (wrongly) read from the start
    ASSERT_TRUE(a->poll(100ms).is_ok());
    ASSERT_TRUE(b->poll(100ms).is_ok());
  }
  EXPECT_EQ(0u, handled_b) << "the second member handled events the first had handled";
  EXPECT_EQ(head, handled_a);
  ASSERT_TRUE(b->close().is_ok());
  ASSERT_TRUE(a->close().is_ok());
}

TEST_F(ConsumerKafkaTest, ThePartnerDirectoryExampleFollowsTheTopic) {
  const int partners = 20;
  const uint64_t head = publish(2000, partners);
  const std::string db = log_.dir() + "/directory.sqlite";
  auto dir = examples::PartnerDirectory::open(db);
  ASSERT_TRUE(dir.is_ok()) << dir.status().to_string();
  examples::PartnerDirectory& d = **dir;

  ConsumerOptions o = options(name_ + ".g");
  o.tracker = &d;
  auto c = open(o, [&](const ConsumedEvent& e) { return d.apply(e); });
  ASSERT_NE(nullptr, c);
  for (int i = 0; i < 600 && d.applied() < head; ++i) ASSERT_TRUE(c->poll(200ms).is_ok());
  ASSERT_EQ(head, d.applied());
  ASSERT_TRUE(c->close().is_ok());
  EXPECT_EQ(static_cast<uint64_t>(partners), *d.partner_count());
  EXPECT_EQ(head, *d.last_position());

  // One partner checked against its stream in the log.
  auto any = log_.log().read_all(GlobalPosition(1), 100);
  ASSERT_TRUE(any.is_ok());
  std::string partner;
  for (const RecordedEvent& e : any->events) {
    if (e.type == "PartnerEnrolled") {
      partner = std::string(e.partner);
      break;
    }
  }
  ASSERT_FALSE(partner.empty());
  auto stream = log_.log().read_stream("partner-" + partner, StreamVersion(1), 10000);
  ASSERT_TRUE(stream.is_ok());
  int64_t users = 0, locations = 0, pins = 0;
  bool vetted = false;
  for (const RecordedEvent& e : stream->events) {
    users += e.type == "PartnerUserAdded";
    locations += e.type == "LocationAdded";
    pins += e.type == "OfferPinned";
    vetted = vetted || e.type == "VettingStatusChanged";
  }
  auto row = d.find(partner);
  ASSERT_TRUE(row.is_ok() && row->has_value());
  const examples::DirectoryPartner& p = **row;
  EXPECT_EQ("US", p.country);
  EXPECT_EQ("USD", p.currency);
  EXPECT_EQ(0u, p.name.rfind("Partner ", 0)) << p.name;
  EXPECT_EQ(users, p.users);
  EXPECT_EQ(locations, p.locations);
  EXPECT_EQ(pins, p.pinned_offers);
  EXPECT_EQ(vetted ? "pending" : "none", p.vetting_status);
  EXPECT_EQ(stream->events.back().position.value(), p.updated_position);

  // Everything delivered again (a new group reads from the start): the
  // directory's own versions make each a duplicate; nothing is applied twice.
  const uint64_t applied = d.applied();
  ConsumerOptions ro = options(name_ + ".replay");
  ro.tracker = &d;
  auto replay = open(ro, [&](const ConsumedEvent& e) { return d.apply(e); });
  ASSERT_NE(nullptr, replay);
  for (int i = 0; i < 600 && replay->stats().received < head; ++i) ASSERT_TRUE(replay->poll(200ms).is_ok());
  EXPECT_EQ(head, replay->stats().duplicates_skipped);
  EXPECT_EQ(0u, replay->stats().handled);
  EXPECT_EQ(applied, d.applied());
  ASSERT_TRUE(replay->close().is_ok());
}

}  // namespace
}  // namespace accountable
