// ClusterNode against the real broker of scripts/test (ACCT_KAFKA_BOOTSTRAP;
// one broker, so replication factor 1 here: tests/kafka/cluster.sh runs the
// three-broker cluster). Each test has a cluster name, so topics of its own.
#include "cluster/cluster_node.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/replication_message.h"
#include "cluster/shard_map.h"
#include "consumers/testing/kafka_testing.h"
#include "testing/log_test_util.h"
#include "testing/wait.h"

namespace accountable::cluster {
namespace {

using namespace std::chrono_literals;
using accountable::testing::wait_until;

ClusterKey test_key(unsigned char fill = 7) {
  ClusterKey k;
  k.fill(fill);
  return k;
}

// The stores outside the log, as a map: what was applied, what waits to ship.
class FakeSecrets final : public SecretStores {
 public:
  std::vector<SecretRecord> unshipped() override {
    std::lock_guard lock(mu);
    std::vector<SecretRecord> out;
    for (const auto& [k, v] : waiting) out.emplace_back(k, v);
    return out;
  }
  void shipped(const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu);
    for (const auto& k : keys) waiting.erase(k);
  }
  Status apply(const SecretRecord& r) override {
    std::lock_guard lock(mu);
    applied[r.key] = r.plaintext;
    order.push_back(r.key);
    return Status::ok();
  }
  void reconcile(const std::set<std::string>& keys) override {
    std::lock_guard lock(mu);
    reconciled = keys;
  }
  std::optional<std::optional<std::string>> get(const std::string& k) {
    std::lock_guard lock(mu);
    auto it = applied.find(k);
    if (it == applied.end()) return std::nullopt;
    return it->second;
  }
  std::mutex mu;
  std::map<std::string, std::string> waiting;
  std::map<std::string, std::optional<std::string>> applied;
  std::vector<std::string> order;
  std::set<std::string> reconciled;
};

// One node: its own data folder and log, the log's batches going through the node.
struct Node {
  std::string dir;
  std::unique_ptr<ClusterNode> node;
  std::unique_ptr<EventLog> log;
  FakeSecrets secrets;

  bool keep_dir = false;
  // How many of the next commits take the path of a lost answer (a timeout
  // after Kafka took the transaction).
  std::atomic<int> answers_to_lose{0};

  // `folder`: an existing data folder (kept afterwards); empty: a new one.
  Node(const std::string& brokers, const std::string& name, const std::string& id, ClusterKey key = test_key(),
       const std::string& folder = "",
       std::function<void(uint32_t, const SealedBatch&)> before_apply = {}) {
    char tmpl[] = "/tmp/acct-cluster-test.XXXXXX";
    keep_dir = !folder.empty();
    dir = keep_dir ? folder : mkdtemp(tmpl);
    ClusterOptions o;
    o.node_id = id;
    o.brokers = brokers;
    o.advertise = "http://127.0.0.1:1/" + id;
    o.name = name;
    o.events_topic = name + ".events";
    o.events_partitions = 3;
    o.replication_factor = 1;
    o.min_insync_replicas = 1;
    o.cluster_key = key;
    o.resume_dir = dir + "/cluster";
    o.before_apply_for_test = std::move(before_apply);
    o.lose_commit_answer_for_test = [this](uint32_t) {
      int left = answers_to_lose.load();
      while (left > 0 && !answers_to_lose.compare_exchange_weak(left, left - 1)) {
      }
      return left > 0;
    };
    node = std::make_unique<ClusterNode>(o);
    LogOptions lo;
    lo.data_dir = dir;
    lo.replicator = node->replicator(0);
    lo.max_batch_bytes = 4u << 20;
    auto opened = EventLog::open(lo);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    if (opened) log = std::move(*opened);
    node->attach(0, log.get(), nullptr, &secrets);
  }
  ~Node() {
    node->stop();
    if (log) log->close().ignore();
    std::error_code ec;
    if (!keep_dir) std::filesystem::remove_all(dir, ec);
  }
  ShardRole role() const { return node->status().shard.at(0).role; }
};

std::string bootstrap() {
  auto b = testing::kafka_bootstrap();
  EXPECT_TRUE(b.is_ok()) << b.status().to_string();
  return b.is_ok() ? *b : "";
}

// A producer with the node's shard-0 transactional id, after its
// init_transactions: from then on the node's producer is fenced.
Result<kafka::Handle> fence(const std::string& brokers, const ClusterNode& node) {
  kafka::Properties fp{{"bootstrap.servers", brokers}, {"transactional.id", node.options().transactional_id(0)}};
  auto conf = kafka::make_conf(fp);
  if (!conf) return conf.status();
  auto fencer = kafka::make_client(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!fencer) return fencer.status();
  kafka::Error e(rd_kafka_init_transactions(fencer->get(), 30000));
  if (e) return Status(StatusCode::kUnavailable, std::string("init_transactions: ") + rd_kafka_error_string(e.get()));
  return std::move(*fencer);
}

// Starts `node`, waits until it leads shard 0, and appends the domain events
// of `history` through it.
::testing::AssertionResult lead_with_history(Node& node, const testing::PopulateOptions& history) {
  if (Status s = node.node->start(); !s.is_ok()) return ::testing::AssertionFailure() << "start: " << s.to_string();
  if (!wait_until([&] { return node.role() == ShardRole::kLeader; }, 60s)) {
    return ::testing::AssertionFailure() << "no lead within 60 s (" << shard_role_name(node.role()) << ")";
  }
  auto written = testing::populate(*node.log, history, nullptr);
  if (!written) return ::testing::AssertionFailure() << "populate: " << written.status().to_string();
  return ::testing::AssertionSuccess();
}

// What a fenced leader's appender hears. The fence surfaces either while the
// transaction's records go out (then nothing can have landed: "nothing was
// written") or in commit_transaction, which cannot tell a fence before the
// commit from one after a commit whose answer was lost ("may have landed").
// Either is honest; which one depends on timing.
void expect_not_written_or_unknown(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) {
    EXPECT_NE(s.message().find("nothing was written"), std::string::npos) << s.message();
  } else {
    EXPECT_EQ(s.code(), StatusCode::kOutcomeUnknown) << s.to_string();
    EXPECT_NE(s.message().find("may have landed"), std::string::npos) << s.message();
  }
}

// A sealed batch that owns its frames (SealedBatch only views them).
struct KeptBatch {
  std::string frames;
  SealedBatch sealed;  // its `frames` is set by batch()
  SealedBatch batch() const {
    SealedBatch b = sealed;
    b.frames = frames;
    return b;
  }
};

// The batch a leader at `node`'s head would seal next for a one-event commit
// on `stream`: sealed by a copy of its log, whose replicator keeps the batch
// and refuses it (so nothing is written there). Call while nothing appends.
Result<KeptBatch> seal_next_batch(const Node& node, const std::string& stream = "catalog") {
  const std::string copy = node.dir + "-copy";
  std::error_code ec;
  std::filesystem::remove_all(copy, ec);
  std::filesystem::create_directories(copy);
  std::filesystem::copy(node.dir + "/log", copy + "/log", std::filesystem::copy_options::recursive);
  KeptBatch kept;
  bool sealed = false;
  {
    LogOptions lo;
    lo.data_dir = copy;
    lo.replicator = [&](const SealedBatch& batch) {
      kept.frames = std::string(batch.frames);
      kept.sealed = batch;
      kept.sealed.frames = {};
      sealed = true;
      return Status(StatusCode::kUnavailable, "kept by the test");
    };
    auto scratch = EventLog::open(lo);
    if (!scratch) return scratch.status();
    auto appended = (*scratch)->append(accountable::testing::make_commit(stream, ExpectedVersion::any()));
    (*scratch)->close().ignore();
    if (appended.is_ok()) return Status(StatusCode::kInternal, "the copy wrote the batch it was to keep");
  }
  std::filesystem::remove_all(copy, ec);
  if (!sealed) return Status(StatusCode::kInternal, "the copy sealed no batch");
  return kept;
}

// Fences `node` (a producer with its shard-0 transactional id) and commits
// `batch` to shard 0's partition in that producer's transaction.
Status commit_as_fencer(const std::string& brokers, const ClusterNode& node, const SealedBatch& batch) {
  auto fencer = fence(brokers, node);
  if (!fencer) return fencer.status();
  auto failed = [](const char* what, const kafka::Error& e) {
    return Status(StatusCode::kUnavailable, std::string(what) + ": " + rd_kafka_error_string(e.get()));
  };
  if (kafka::Error begin(rd_kafka_begin_transaction(fencer->get())); begin) return failed("begin_transaction", begin);
  const std::string topic = node.options().replication_topic();
  const std::string key = "0";
  const std::string value = encode_replication_value(batch, {});
  if (rd_kafka_resp_err_t err = rd_kafka_producev(
          fencer->get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_END)) {
    return Status(StatusCode::kUnavailable, std::string("produce: ") + rd_kafka_err2str(err));
  }
  if (kafka::Error commit(rd_kafka_commit_transaction(fencer->get(), 30000)); commit) {
    return failed("commit_transaction", commit);
  }
  return Status::ok();
}

TEST(ClusterNode, AFollowerHoldsTheLeadersCopyAndRedirectsWrites) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-follow");
  Node a(brokers, name, "a");
  ASSERT_TRUE(a.node->start().is_ok());
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s)) << shard_role_name(a.role());
  testing::PopulateOptions p;
  p.events = 300;
  p.partners = 5;
  ASSERT_TRUE(testing::populate(*a.log, p, nullptr).is_ok());

  // A node that starts later catches up before start() returns.
  Node b(brokers, name, "b");
  ASSERT_TRUE(b.node->start().is_ok());
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());
  EXPECT_EQ(b.role(), ShardRole::kFollower);

  // Then it follows.
  p.seed = 2;
  ASSERT_TRUE(testing::populate(*a.log, p, nullptr).is_ok());
  ASSERT_TRUE(wait_until([&] { return b.log->head() == a.log->head(); }, 60s));
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());

  // It takes no writes of its own, and names the leader.
  auto refused = b.log->append(testing::make_commit("catalog", ExpectedVersion::any()));
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(b.log->head(), a.log->head());
  auto target = b.node->command_target(0);
  ASSERT_TRUE(target.is_ok()) << target.status().to_string();
  ASSERT_TRUE(target->has_value());
  EXPECT_EQ(**target, "http://127.0.0.1:1/a");
  auto here = a.node->command_target(0);
  ASSERT_TRUE(here.is_ok());
  EXPECT_FALSE(here->has_value());

  // The downstream topic has every event once (the same transaction as the batches).
  auto messages = testing::read_topic(brokers, name + ".events", a.log->head().value(), 60s);
  ASSERT_TRUE(messages.is_ok()) << messages.status().to_string();
  EXPECT_EQ(messages->size(), a.log->head().value());
}

TEST(ClusterNode, AFencedLeaderWritesNothingThenLeadsAgain) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-fence");
  Node a(brokers, name, "a");
  testing::PopulateOptions p;
  p.events = 20;
  p.partners = 2;
  ASSERT_TRUE(lead_with_history(a, p));
  Node b(brokers, name, "b");
  ASSERT_TRUE(b.node->start().is_ok());
  const auto before = a.log->head_and_hash();
  ASSERT_EQ(b.log->head_and_hash(), before);

  // What a new leader does first: init_transactions with the shard's
  // transactional id. From then on the old producer is fenced.
  {
    auto fencer = fence(brokers, *a.node);
    ASSERT_TRUE(fencer.is_ok()) << fencer.status().to_string();
  }
  p.seed = 2;
  auto zombie = testing::populate(*a.log, p, nullptr);
  ASSERT_FALSE(zombie.is_ok());
  expect_not_written_or_unknown(zombie.status());
  EXPECT_EQ(a.log->head_and_hash(), before);
  EXPECT_TRUE(a.log->health().is_ok());

  // The group still gives it the shard: it takes the lead again (fencing the
  // fencer), reads to the end, and writes on from the same head.
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s)) << shard_role_name(a.role());
  p.seed = 3;
  auto again = testing::populate(*a.log, p, nullptr);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(a.log->head().value(), before.first.value() + *again);
  EXPECT_EQ(a.node->status().shard.at(0).leadership_changes, 2u);
  ASSERT_TRUE(wait_until([&] { return b.log->head() == a.log->head(); }, 60s));
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());
}

// A commit that Kafka took but whose answer was lost (a timeout) is neither
// acknowledged nor denied: the appender hears that its outcome is unknown.
// The node takes the lead again, finds the batch in its partition and applies
// it, and a retry with the same command id is answered from that commit.
TEST(ClusterNode, ACommitWhoseAnswerWasLostIsAnsweredUnknownAndFoundByItsRetry) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-lost");
  Node a(brokers, name, "a");
  testing::PopulateOptions p;
  p.events = 10;
  p.partners = 1;
  ASSERT_TRUE(lead_with_history(a, p));
  Node b(brokers, name, "b");
  ASSERT_TRUE(b.node->start().is_ok());
  const uint64_t before = a.log->head().value();

  Offer offer;
  offer.offer_id = "offer-lost-answer";
  offer.display_name = "Lost answer";
  offer.purchase_unit = "1 Month";
  const CommitRequest command = testing::event_commit("catalog", "", OfferUpdated{offer}, nullptr);
  a.answers_to_lose = 1;
  auto first = a.log->append(command);
  ASSERT_FALSE(first.is_ok());
  EXPECT_EQ(first.status().code(), StatusCode::kOutcomeUnknown) << first.status().to_string();
  EXPECT_NE(first.status().message().find("may have landed"), std::string::npos) << first.status().message();
  EXPECT_EQ(status_code_name(first.status().code()), "outcome_unknown");

  // It did land: the node leads again only once its copy holds it.
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s)) << shard_role_name(a.role());
  EXPECT_EQ(a.log->head().value(), before + 1);
  EXPECT_EQ(a.node->status().shard.at(0).leadership_changes, 2u);
  auto retried = a.log->append(command);
  ASSERT_TRUE(retried.is_ok()) << retried.status().to_string();
  EXPECT_TRUE(retried->duplicate);
  EXPECT_EQ(retried->first_position.value(), before + 1);
  EXPECT_EQ(retried->last_position.value(), before + 1);
  EXPECT_EQ(a.log->head().value(), before + 1);  // once, not twice

  // The follower holds the same history.
  ASSERT_TRUE(wait_until([&] { return b.log->head() == a.log->head(); }, 60s));
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());
}

// A node that takes the lead again must first hold every batch that the
// partition holds. Here another producer, with the shard's transactional id
// (so fencing the leader), commits the batch the leader would have sealed
// next, and the leader's reader is held before it applies that batch. Leading
// before the batch is in the copy would seal the next one at the same
// positions: a fork that the followers would find diverged.
TEST(ClusterNode, ALeaderLeadsAgainOnlyOnceItsCopyHoldsEveryCommittedBatch) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-catchup");
  std::mutex mu;
  std::condition_variable cv;
  GlobalPosition hold_at;  // the reader stops before applying the batch that starts here
  bool held = false;
  bool release = false;
  auto hold = [&](uint32_t, const SealedBatch& batch) {
    std::unique_lock lock(mu);
    if (hold_at.value() == 0 || batch.first != hold_at) return;
    held = true;
    cv.notify_all();
    cv.wait_for(lock, 120s, [&] { return release; });
  };
  Node a(brokers, name, "a", test_key(), "", hold);
  struct Release {  // before `a` stops, whatever happened
    std::mutex& mu;
    std::condition_variable& cv;
    bool& release;
    ~Release() {
      {
        std::lock_guard lock(mu);
        release = true;
      }
      cv.notify_all();
    }
  } release_at_exit{mu, cv, release};
  testing::PopulateOptions p;
  p.events = 20;
  p.partners = 2;
  ASSERT_TRUE(lead_with_history(a, p));

  // The batch a leader at a's head seals next.
  auto next = seal_next_batch(a);
  ASSERT_TRUE(next.is_ok()) << next.status().to_string();
  const SealedBatch sealed = next->batch();
  ASSERT_EQ(sealed.first, a.log->head().next());
  ASSERT_EQ(sealed.prev_hash, a.log->head_hash());
  {
    std::lock_guard lock(mu);
    hold_at = sealed.first;
  }

  // Fence a, and commit that batch in the fencer's transaction.
  Status committed = commit_as_fencer(brokers, *a.node, sealed);
  ASSERT_TRUE(committed.is_ok()) << committed.to_string();
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lock(mu);
    return held;
  }, 60s)) << "a's reader never reached the fencer's batch";

  // a learns at its next commit that it was fenced, and takes the lead
  // again: but not while its copy lacks the batch the partition holds.
  p.seed = 2;
  auto zombie = testing::populate(*a.log, p, nullptr);
  ASSERT_FALSE(zombie.is_ok());
  expect_not_written_or_unknown(zombie.status());
  EXPECT_FALSE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 10s))
      << "a leads while its copy ends before the partition's last batch";
  EXPECT_EQ(a.log->head().next(), sealed.first);

  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s)) << shard_role_name(a.role());
  EXPECT_EQ(a.log->head_and_hash(), std::make_pair(sealed.last, sealed.hash));
  p.seed = 3;
  auto again = testing::populate(*a.log, p, nullptr);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(a.log->head().value(), sealed.last.value() + *again);

  // A node that reads the whole partition holds the same history.
  Node b(brokers, name, "b");
  ASSERT_TRUE(b.node->start().is_ok());
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());
}

// The leader checks the batches it reads back as a follower does. Here a
// writer with the shard's transactional id commits a batch over positions
// the leader already holds, with other content: the leader's copy and the
// partition disagree from there, and the leader stops instead of leading on.
TEST(ClusterNode, ALeaderThatReadsAnotherHistoryOfPositionsItHoldsStops) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-fork");
  Node a(brokers, name, "a");
  testing::PopulateOptions p;
  p.events = 10;
  p.partners = 1;
  ASSERT_TRUE(lead_with_history(a, p));

  // Another history of the next position, and then a's own.
  auto forged = seal_next_batch(a, "forged");
  ASSERT_TRUE(forged.is_ok()) << forged.status().to_string();
  Offer offer;
  offer.offer_id = "offer-own";
  offer.display_name = "Own";
  offer.purchase_unit = "1 Month";
  auto own = a.log->append(testing::event_commit("catalog", "", OfferUpdated{offer}, nullptr));
  ASSERT_TRUE(own.is_ok()) << own.status().to_string();
  ASSERT_EQ(own->first_position, forged->batch().first);
  ASSERT_EQ(own->last_position, forged->batch().last);

  Status committed = commit_as_fencer(brokers, *a.node, forged->batch());
  ASSERT_TRUE(committed.is_ok()) << committed.to_string();
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kFailed; }, 60s)) << shard_role_name(a.role());
  const std::string error = a.node->status().shard.at(0).last_error;
  EXPECT_NE(error.find("differs from the cluster's"), std::string::npos) << error;
  EXPECT_EQ(a.log->head(), own->last_position);  // nothing of the other history was written
}

TEST(ClusterNode, ANodeStartedWithAnotherShardCountIsRefused) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-shards");
  Node a(brokers, name, "a");
  ASSERT_TRUE(a.node->start().is_ok());
  ClusterOptions o = a.node->options();
  o.node_id = "b";
  o.shards = 2;
  ClusterNode b(o);
  Node scratch(brokers, testing::unique_name("ct-unused"), "scratch");  // a log to attach
  b.attach(0, scratch.log.get(), nullptr);
  b.attach(1, scratch.log.get(), nullptr);
  Status s = b.start();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.field(), "shards");
  EXPECT_NE(s.message().find("has 1 partitions, but the cluster has 2 shards"), std::string::npos) << s.message();
}

TEST(ClusterNode, ACopyAheadOfTheTopicIsRefused) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  // A single node's folder, then started as a node of a new cluster.
  char tmpl[] = "/tmp/acct-cluster-test.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    LogOptions lo;
    lo.data_dir = dir;
    auto log = EventLog::open(lo);
    ASSERT_TRUE(log.is_ok());
    ASSERT_TRUE((*log)->append(testing::make_commit("catalog", ExpectedVersion::any())).is_ok());
    ASSERT_TRUE((*log)->close().is_ok());
  }
  ClusterOptions o;
  o.node_id = "a";
  o.brokers = brokers;
  o.advertise = "http://127.0.0.1:1";
  o.name = testing::unique_name("ct-ahead");
  o.replication_factor = 1;
  o.min_insync_replicas = 1;
  o.events_topic = o.name + ".events";
  o.cluster_key = test_key();
  ClusterNode node(o);
  LogOptions lo;
  lo.data_dir = dir;
  lo.replicator = node.replicator(0);
  auto log = EventLog::open(lo);
  ASSERT_TRUE(log.is_ok());
  node.attach(0, log->get(), nullptr);
  Status s = node.start();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_NE(s.message().find("local copy is at position 1 but the cluster's replication topic ends at position 0"),
            std::string::npos)
      << s.message();
  node.stop();
  (*log)->close().ignore();
  std::filesystem::remove_all(dir);
}

TEST(ClusterNode, SecretsTravelSealedWithTheirBatchAndReachEveryNode) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-secrets");
  Node a(brokers, name, "a");
  a.secrets.waiting["key/user:made-before-start"] = "K0";  // a key of an earlier run, never shipped
  ASSERT_TRUE(a.node->start().is_ok()) << "start";
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s));

  // A key made for a command goes in the transaction of the batch that uses it.
  {
    std::lock_guard lock(a.secrets.mu);
    a.secrets.waiting["key/user:1"] = "K1";
  }
  testing::PopulateOptions p;
  p.events = 10;
  p.partners = 1;
  ASSERT_TRUE(testing::populate(*a.log, p, nullptr).is_ok());
  {
    std::lock_guard lock(a.secrets.mu);
    EXPECT_TRUE(a.secrets.waiting.empty()) << "shipped with the batch";
  }
  // A credential and a token revocation: published, Kafka first.
  ASSERT_TRUE(a.node->secret_publisher(0)({SecretRecord("credential/p/u", std::string("H1"))}).is_ok());
  ASSERT_TRUE(a.node->secret_publisher(0)({SecretRecord("token/t", std::nullopt)}).is_ok());
  // This run's own records are not applied again here: it made them itself.
  EXPECT_TRUE(a.secrets.applied.empty());

  // A node that starts later has every record before it serves, and was told
  // which record keys the cluster holds.
  Node b(brokers, name, "b");
  ASSERT_TRUE(b.node->start().is_ok());
  EXPECT_EQ(b.secrets.get("key/user:1"), std::optional<std::optional<std::string>>(std::string("K1")));
  EXPECT_EQ(b.secrets.get("key/user:made-before-start"), std::optional<std::optional<std::string>>(std::string("K0")));
  EXPECT_EQ(b.secrets.get("credential/p/u"), std::optional<std::optional<std::string>>(std::string("H1")));
  EXPECT_EQ(b.secrets.get("token/t"), std::make_optional(std::optional<std::string>()));  // a tombstone
  // Only key-store records are kept and reconciled (not credentials or tokens).
  EXPECT_EQ(b.secrets.reconciled, (std::set<std::string>{"key/user:1", "key/user:made-before-start"}));
  EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());

  // Then it follows: a batch is applied after the keys it names.
  {
    std::lock_guard lock(a.secrets.mu);
    a.secrets.waiting["key/user:2"] = "K2";
  }
  p.seed = 2;
  ASSERT_TRUE(testing::populate(*a.log, p, nullptr).is_ok());
  ASSERT_TRUE(wait_until([&] { return b.log->head() == a.log->head(); }, 60s));
  EXPECT_EQ(b.secrets.get("key/user:2"), std::optional<std::optional<std::string>>(std::string("K2")));

  // A follower publishes nothing.
  Status refused = b.node->secret_publisher(0)({SecretRecord("credential/p/u", std::string("H2"))});
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.to_string();

  // Nothing rests in Kafka in the clear.
  auto records = testing::read_topic(brokers, name + ".secrets", 5, 60s);
  ASSERT_TRUE(records.is_ok()) << records.status().to_string();
  ASSERT_GE(records->size(), 5u);
  for (const auto& m : *records) {
    EXPECT_EQ(m.key.rfind("0/", 0), 0u) << m.key;
    EXPECT_EQ(m.value.find("K1"), std::string::npos);
    EXPECT_EQ(m.value.find("H1"), std::string::npos);
    if (!m.value.empty()) {
      EXPECT_EQ(m.value.rfind("ACCTSEC1", 0), 0u);
    }
  }
  EXPECT_EQ(b.node->status().secrets_failed, false);
}

TEST(ClusterNode, ASecretSealedUnderAnotherKeyStopsTheSecretsReader) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-badkey");
  Node a(brokers, name, "a");
  ASSERT_TRUE(a.node->start().is_ok());
  ASSERT_TRUE(wait_until([&] { return a.role() == ShardRole::kLeader; }, 60s));
  ASSERT_TRUE(a.node->secret_publisher(0)({SecretRecord("credential/p/u", std::string("H1"))}).is_ok());
  // A node with another cluster key cannot open the record: it refuses to start.
  Node b(brokers, name, "b", test_key(9));
  Status s = b.node->start();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.to_string();
  EXPECT_NE(s.message().find("failed authentication"), std::string::npos) << s.message();
  EXPECT_TRUE(b.node->status().secrets_failed);
  EXPECT_TRUE(b.secrets.applied.empty());
}

TEST(ClusterNode, ARestartedNodeReadsOnFromWhereItStoppedUnlessItsCopyDisagrees) {
  const std::string brokers = bootstrap();
  ASSERT_FALSE(brokers.empty());
  const std::string name = testing::unique_name("ct-resume");
  Node a(brokers, name, "a");
  testing::PopulateOptions p;
  p.events = 50;
  p.partners = 2;
  ASSERT_TRUE(lead_with_history(a, p));

  char tmpl[] = "/tmp/acct-cluster-test.XXXXXX";
  const std::string folder = mkdtemp(tmpl);
  uint64_t stopped_at = 0;
  {
    Node b(brokers, name, "b", test_key(), folder);
    ASSERT_TRUE(b.node->start().is_ok());
    EXPECT_EQ(b.node->status().shard.at(0).resumed_from, 0u) << "a new folder reads from the start";
    stopped_at = b.node->status().shard.at(0).applied_offset;
    ASSERT_GT(stopped_at, 0u);
  }  // stop() saves the resume point
  p.seed = 2;
  ASSERT_TRUE(testing::populate(*a.log, p, nullptr).is_ok());
  {
    Node b(brokers, name, "b", test_key(), folder);
    ASSERT_TRUE(b.node->start().is_ok());
    EXPECT_EQ(b.node->status().shard.at(0).resumed_from, stopped_at);
    EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash()) << "caught up from there";
  }
  // A resume point the copy does not back (here: a hash that is not its own)
  // is ignored: the reader starts over and still ends with the same copy.
  const std::string resume = folder + "/cluster/shard-0.resume";
  std::string text;
  {
    std::ifstream in(resume);
    std::getline(in, text);
  }
  ASSERT_EQ(text.rfind("ACCTRESUME1 ", 0), 0u) << text;
  text[text.size() - 1] = text.back() == '0' ? '1' : '0';
  {
    std::ofstream out(resume, std::ios::trunc);
    out << text << "\n";
  }
  {
    Node b(brokers, name, "b", test_key(), folder);
    ASSERT_TRUE(b.node->start().is_ok());
    EXPECT_EQ(b.node->status().shard.at(0).resumed_from, 0u);
    EXPECT_EQ(b.log->head_and_hash(), a.log->head_and_hash());
  }
  std::filesystem::remove_all(folder);
}

TEST(ShardMap, IsStableAndPutsOperatorStreamsInShardZero) {
  EXPECT_EQ(shard_of("", 8), 0u);
  EXPECT_EQ(shard_of("9a1b2c3d-4e5f-4a6b-8c7d-000000000001", 1), 0u);
  // Fixed values: a change of the hash would move partners between shards.
  EXPECT_EQ(shard_of("9a1b2c3d-4e5f-4a6b-8c7d-000000000001", 8), shard_of("9a1b2c3d-4e5f-4a6b-8c7d-000000000001", 8));
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 4000; ++i) counts[shard_of(PartnerId::random().to_string(), 4)] += 1;
  for (int c : counts) EXPECT_GT(c, 800);  // spread over every shard
}

TEST(ReplicationMessage, RoundTripsAndRefusesDamage) {
  SealedBatch b;
  b.first = GlobalPosition(5);
  b.last = GlobalPosition(7);
  b.prev_hash[0] = 1;
  b.hash[31] = 2;
  b.frames = "frames";
  const std::string value = encode_replication_value(b, {"0/key/user:1", "0/partner/p"});
  auto back = decode_replication_value(value);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->batch.first, b.first);
  EXPECT_EQ(back->batch.last, b.last);
  EXPECT_EQ(back->batch.prev_hash, b.prev_hash);
  EXPECT_EQ(back->batch.hash, b.hash);
  EXPECT_EQ(back->batch.frames, "frames");
  EXPECT_EQ(back->secrets, (std::vector<std::string>{"0/key/user:1", "0/partner/p"}));
  const std::string without_secrets = encode_replication_value(b, {});  // the frames point into it
  auto none = decode_replication_value(without_secrets);
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->secrets.empty());
  EXPECT_EQ(none->batch.frames, "frames");
  EXPECT_FALSE(decode_replication_value(value.substr(0, 20)).is_ok());
  EXPECT_FALSE(decode_replication_value(value.substr(0, 90)).is_ok());  // inside the secret keys
  std::string bad = value;
  bad[0] = 'X';
  EXPECT_FALSE(decode_replication_value(bad).is_ok());
  std::string many = value;
  many[80 + 8] = 100;  // 100 secret keys: runs past the end
  EXPECT_FALSE(decode_replication_value(many).is_ok());
  std::string backwards = value;
  backwards[8] = 9;  // first = 9 > last = 7
  EXPECT_FALSE(decode_replication_value(backwards).is_ok());
}

}  // namespace
}  // namespace accountable::cluster
