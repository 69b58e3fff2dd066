// The engine's in-memory state cache (aggregates/state_cache.h): a load through
// it equals a full replay, sees what another writer committed to the same log,
// and serves no personal data once a purge committed; and one partner's
// concurrent commands all commit, without exhausting the retries.
#include "aggregates/state_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "aggregates/engine.h"
#include "aggregates/state_codec.h"
#include "aggregates/testing/fixtures.h"
#include "aggregates/testing/sealed_engine.h"

namespace accountable {
namespace {

struct Version {
  StreamVersion version;
};

TEST(StateCache, KeepsTheNewestVersionAndEvictsTheLeastRecentlyUsed) {
  StateCache<Version> cache(2);
  cache.put("a", std::make_shared<const Version>(Version{StreamVersion(3)}));
  cache.put("a", std::make_shared<const Version>(Version{StreamVersion(2)}));  // older: ignored
  ASSERT_NE(cache.get("a"), nullptr);
  EXPECT_EQ(cache.get("a")->version, StreamVersion(3));
  cache.put("b", std::make_shared<const Version>(Version{StreamVersion(1)}));
  ASSERT_NE(cache.get("a"), nullptr);  // "a" is now the most recently used
  cache.put("c", std::make_shared<const Version>(Version{StreamVersion(1)}));
  EXPECT_EQ(cache.get("b"), nullptr);
  EXPECT_NE(cache.get("a"), nullptr);
  EXPECT_NE(cache.get("c"), nullptr);
  cache.clear();
  EXPECT_EQ(cache.get("a"), nullptr);

  StateCache<Version> off(0);
  off.put("a", std::make_shared<const Version>(Version{StreamVersion(1)}));
  EXPECT_EQ(off.get("a"), nullptr);
}

// Two engines over one log: `engine`, and `other`, a second writer with its own cache.
struct CacheWorld : testing::SealedEngine {
  std::unique_ptr<Engine> other = make_engine();
  SupportProfile support(int n) const { return {"s" + std::to_string(n) + "@contoso.com", "+1 425 555 0100", ""}; }
};

TEST(StateCache, ALoadSeesWhatAnotherWriterCommittedAndEqualsAReplay) {
  CacheWorld w;
  const std::string stream = partner_stream(w.partner);
  ASSERT_TRUE(w.run(*w.engine, w.as_admin(), UpdateSupportProfile{w.partner, w.support(1)}).is_ok());
  auto cached = w.engine->load<PartnerState>(stream);  // now in the cache
  ASSERT_TRUE(cached.is_ok());
  // The other engine commits; the first engine's cache is now behind the log.
  ASSERT_TRUE(w.run(*w.other, w.as_admin(), UpdateSupportProfile{w.partner, w.support(2)}).is_ok());
  auto loaded = w.engine->load<PartnerState>(stream);
  auto replayed = w.engine->replay<PartnerState>(stream);
  ASSERT_TRUE(loaded.is_ok() && replayed.is_ok());
  EXPECT_EQ(loaded->version, w.log->stream_version(stream));
  EXPECT_GT(loaded->version, cached->version);
  EXPECT_EQ(loaded->support, w.support(2));
  EXPECT_EQ(encode_state(*loaded), encode_state(*replayed));  // no cipher installed: clear, comparable bytes
  // And a command decided through the stale cache still commits (on the tail).
  auto third = w.run(*w.engine, w.as_admin(), UpdateSupportProfile{w.partner, w.support(3)});
  ASSERT_TRUE(third.is_ok()) << third.status().to_string();
  EXPECT_EQ(third->attempts, 1);
}

TEST(StateCache, NoPersonalDataIsServedFromItAfterAPurge) {
  CacheWorld w;
  auto created = w.run(*w.engine, w.as_admin(), CreateUser{w.partner, testing::contact("Sam", "Secret", "sam@contoso.com"), {}});
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const UserId sam(created->created_ids.at(0).bytes());
  const std::string stream = user_stream(sam);
  ASSERT_TRUE(w.run(*w.engine, w.as_admin(), DeactivateUser{w.partner, sam}).is_ok());
  auto before = w.engine->load<UserState>(stream);
  ASSERT_TRUE(before.is_ok());
  ASSERT_EQ(before->profile.value.email, "sam@contoso.com") << "the cache held the clear value";
  w.clock.advance_days(31);
  ASSERT_TRUE(w.run(*w.engine, w.as_admin(), PurgeUser{w.partner, sam}).is_ok());
  auto after = w.engine->load<UserState>(stream);
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  EXPECT_TRUE(after->profile.value.email.empty());
  EXPECT_TRUE(after->profile.value.last_name.empty());
  EXPECT_EQ(after->status, UserStatus::kPurged);
}

TEST(StateCache, OnePartnersConcurrentCommandsAllCommitWithoutRetries) {
  CacheWorld w;
  constexpr int kThreads = 8, kEach = 10;
  std::atomic<int> failures{0}, retries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto out = w.run(*w.engine, w.as_admin(), UpdateSupportProfile{w.partner, w.support(t * 100 + i)});
        if (!out) {
          failures++;
        } else {
          retries += out->attempts - 1;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(retries.load(), 0) << "commands of one partner in one engine should queue, not race";
  auto state = w.engine->replay<PartnerState>(partner_stream(w.partner));
  ASSERT_TRUE(state.is_ok());
  // Enrolment's events plus one SupportProfileUpdated per command.
  auto enrolled_only = w.log->read_stream(partner_stream(w.partner), StreamVersion(1), 1000);
  ASSERT_TRUE(enrolled_only.is_ok());
  size_t updates = 0;
  for (const RecordedEvent& e : enrolled_only->events) updates += e.type == "SupportProfileUpdated" ? 1 : 0;
  EXPECT_EQ(updates, static_cast<size_t>(kThreads * kEach));
}

// The bound of docs/memory.md: however many streams pass, the cache holds at
// most its capacity, the most recently used ones; the engine reports both.
TEST(StateCache, HoldsAtMostItsCapacityMostRecentlyUsedFirst) {
  StateCache<Version> cache(8);
  for (int i = 0; i < 1000; ++i) {
    cache.put("user-" + std::to_string(i), std::make_shared<const Version>(Version{StreamVersion(1)}));
    EXPECT_LE(cache.size(), 8u);
    if (i == 500) {
      ASSERT_NE(cache.get("user-495"), nullptr);  // used: outlives the ones put after it
    }
  }
  EXPECT_EQ(cache.size(), 8u);
  EXPECT_EQ(cache.capacity(), 8u);
  EXPECT_NE(cache.get("user-999"), nullptr);
  EXPECT_NE(cache.get("user-992"), nullptr);
  EXPECT_EQ(cache.get("user-991"), nullptr);
  EXPECT_EQ(cache.get("user-0"), nullptr);
}

TEST(StateCache, TheEnginesCachesStayWithinTheirBoundAndLoadsStayRight) {
  CacheWorld w;
  EngineOptions eo;
  eo.clock = &w.clock;
  eo.fingerprint = [&w](const PartnerId& p, std::string_view email) { return w.keys->email_fingerprint_bytes(p, email); };
  eo.cipher = w.cipher.get();
  eo.state_cache_entries = 3;
  auto small = std::make_unique<Engine>(*w.log, eo);
  std::vector<UserId> users;
  for (int i = 0; i < 12; ++i) {
    auto created = w.run(*small, w.as_admin(),
                         CreateUser{w.partner, testing::contact("U", std::to_string(i), "u" + std::to_string(i) + "@contoso.com"), {}});
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    users.emplace_back(created->created_ids.at(0).bytes());
    EXPECT_LE(small->cached_states(), small->cached_states_limit());
  }
  EXPECT_EQ(small->cached_states_limit(), 3u * std::tuple_size_v<AggregateStates>);
  for (const UserId& u : users) {
    auto loaded = small->load<UserState>(user_stream(u));
    auto replayed = small->replay<UserState>(user_stream(u));
    ASSERT_TRUE(loaded.is_ok() && replayed.is_ok());
    EXPECT_EQ(encode_state(*loaded), encode_state(*replayed));
  }
  EXPECT_LE(small->cached_states(), small->cached_states_limit());
}

}  // namespace
}  // namespace accountable
