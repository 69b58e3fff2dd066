#include "events/record_journal.h"

#include <gtest/gtest.h>

#include <random>

#include "testing/fault_env.h"

namespace accountable {
namespace {

constexpr std::string_view kMagic = "TESTJRN1";

class RecordJournalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_dir("/db").is_ok()); }
  std::unique_ptr<RecordJournal> open(RecordJournal::Map* map, uint64_t* torn = nullptr) {
    auto j = RecordJournal::open(&env_, "/db/store", kMagic, map, torn);
    EXPECT_TRUE(j.is_ok()) << j.status().to_string();
    return j.is_ok() ? std::move(*j) : nullptr;
  }
  FaultInjectionEnv env_;
};

TEST_F(RecordJournalTest, ChangesSurviveAPowerLossOnceAppended) {
  RecordJournal::Map map;
  auto j = open(&map);
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->append({{"a", "1"}, {"b", "2"}}).is_ok());
  ASSERT_TRUE(j->append({{"a", std::nullopt}, {"c", "3"}}).is_ok());
  EXPECT_FALSE(env_.file_exists("/db/store")) << "an append never writes the snapshot";
  j.reset();
  env_.drop_unsynced_data();
  j = open(&map);
  EXPECT_EQ(map, (RecordJournal::Map{{"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(j->journal_records(), 4u);
}

TEST_F(RecordJournalTest, CompactionKeepsTheMapAndEmptiesTheJournal) {
  RecordJournal::Map map;
  auto j = open(&map);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(j->append({{"k" + std::to_string(i % 7), std::to_string(i)}}).is_ok());
  RecordJournal::Map live;
  for (int i = 43; i < 50; ++i) live["k" + std::to_string(i % 7)] = std::to_string(i);
  ASSERT_TRUE(j->compact(live).is_ok());
  EXPECT_EQ(j->journal_records(), 0u);
  ASSERT_TRUE(j->append({{"k0", std::nullopt}}).is_ok());
  j.reset();
  env_.drop_unsynced_data();
  j = open(&map);
  live.erase("k0");
  EXPECT_EQ(map, live);
}

TEST_F(RecordJournalTest, ACrashBetweenTheSnapshotAndTheNewJournalLosesNothing) {
  RecordJournal::Map map;
  auto j = open(&map);
  ASSERT_TRUE(j->append({{"x", "1"}, {"y", "2"}, {"x", std::nullopt}}).is_ok());
  // The snapshot is written as compact() would, but the journal is not reset.
  ASSERT_TRUE(env_.write_file_atomically("/db/store", RecordJournal::encode_snapshot(kMagic, {{"y", "2"}})).is_ok());
  j.reset();
  env_.drop_unsynced_data();
  j = open(&map);
  EXPECT_EQ(map, (RecordJournal::Map{{"y", "2"}}));
}

TEST_F(RecordJournalTest, ATornLastRecordIsCutOffAndNeverAcknowledged) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    FaultInjectionEnv env;
    ASSERT_TRUE(env.create_dir("/db").is_ok());
    RecordJournal::Map map;
    auto j = RecordJournal::open(&env, "/db/store", kMagic, &map);
    ASSERT_TRUE(j.is_ok());
    ASSERT_TRUE((*j)->append({{"acked", "yes"}}).is_ok());
    // Written but not synced, then the power goes: a random prefix survives, maybe garbled.
    env.fail_syncs(1);
    EXPECT_FALSE((*j)->append({{"unacked", std::string(300, 'v')}}).is_ok());
    j->reset();
    env.drop_unsynced_data_torn(seed);
    uint64_t torn = 0;
    auto again = RecordJournal::open(&env, "/db/store", kMagic, &map, &torn);
    ASSERT_TRUE(again.is_ok()) << "seed " << seed << ": " << again.status().to_string();
    EXPECT_EQ(map.at("acked"), "yes") << seed;
    // The unacknowledged record is either gone or whole; never half.
    if (map.count("unacked")) {
      EXPECT_EQ(map.at("unacked"), std::string(300, 'v')) << seed;
    }
    // And the store takes changes after the cut.
    ASSERT_TRUE((*again)->append({{"after", "1"}}).is_ok()) << seed;
  }
}

TEST_F(RecordJournalTest, ACorruptRecordBeforeOthersIsRefusedNotSkipped) {
  RecordJournal::Map map;
  auto j = open(&map);
  ASSERT_TRUE(j->append({{"first", "1"}}).is_ok());
  ASSERT_TRUE(j->append({{"revoked", std::nullopt}}).is_ok());
  ASSERT_TRUE(j->append({{"last", "3"}}).is_ok());
  j.reset();
  // A byte of the first record's payload (after the 8-byte magic and its 8-byte header).
  ASSERT_TRUE(env_.corrupt_byte("/db/store.journal", 8 + 8 + 2).is_ok());
  auto refused = RecordJournal::open(&env_, "/db/store", kMagic, &map);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  EXPECT_NE(refused.status().message().find("at offset 8"), std::string::npos) << refused.status().to_string();
}

TEST_F(RecordJournalTest, ADamagedSnapshotIsRefused) {
  ASSERT_TRUE(env_.write_file_atomically("/db/store", RecordJournal::encode_snapshot(kMagic, {{"a", "1"}})).is_ok());
  ASSERT_TRUE(env_.corrupt_byte("/db/store", 13).is_ok());
  RecordJournal::Map map;
  auto refused = RecordJournal::open(&env_, "/db/store", kMagic, &map);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("CRC mismatch"), std::string::npos);
}

TEST_F(RecordJournalTest, AFullDiskRefusesTheChangeAndTheNextOneWorksOnceThereIsRoom) {
  RecordJournal::Map map;
  auto j = open(&map);
  ASSERT_TRUE(j->append({{"a", "1"}}).is_ok());
  env_.set_capacity(env_.contents("/db/store.journal").size() + 10);
  const Status full = j->append({{"b", std::string(100, 'x')}});
  EXPECT_EQ(full.code(), StatusCode::kNoSpace);
  env_.set_capacity(UINT64_MAX);
  ASSERT_TRUE(j->append({{"c", "3"}}).is_ok());
  j.reset();
  j = open(&map);
  EXPECT_EQ(map, (RecordJournal::Map{{"a", "1"}, {"c", "3"}}));
}

TEST_F(RecordJournalTest, AFailedFsyncRefusesEveryLaterChange) {
  RecordJournal::Map map;
  auto j = open(&map);
  env_.fail_syncs(1);
  EXPECT_FALSE(j->append({{"a", "1"}}).is_ok());
  const Status later = j->append({{"b", "2"}});
  EXPECT_EQ(later.code(), StatusCode::kPoisoned);
}

}  // namespace
}  // namespace accountable
