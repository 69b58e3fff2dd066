// Personal data is sealed per data subject in the log and in snapshots, and
// PurgeUser erases it from every replay while the log still verifies.
#include <gtest/gtest.h>

#include "aggregates/engine.h"
#include "aggregates/key_store.h"
#include "aggregates/testing/fixtures.h"
#include "aggregates/testing/folder_bytes.h"
#include "aggregates/testing/sealed_engine.h"
#include "events/log_verify.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

constexpr char kEmail[] = "sam.confidential@contoso.com";
constexpr char kLastName[] = "Zyxwvutsrq";

// snapshot_every 2: snapshots are written, and must be sealed too.
struct SealedWorld : testing::SealedEngine {
  SealedWorld() : SealedEngine(/*snapshot_every=*/2) {}
};

TEST(PersonalData, IsSealedInTheLogAndInSnapshotsAndReadableWithTheKey) {
  SealedWorld w;
  auto created = w.run(w.as_admin(), CreateUser{w.partner, testing::contact("Sam", kLastName, kEmail), {}});
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const UserId sam(created->created_ids.at(0).bytes());
  ASSERT_TRUE(w.run(w.as_admin(), AssignRole{w.partner, sam, Role::kSalesAgent}).is_ok());
  ASSERT_TRUE(w.run(w.as_admin(), AssignRole{w.partner, sam, Role::kIncentivesUser}).is_ok());
  ASSERT_TRUE(w.env.file_exists(w.snapshots->path_of(user_stream(sam)))) << "no snapshot: the test would prove less";

  auto user = w.engine->load<UserState>(user_stream(sam));
  ASSERT_TRUE(user.is_ok()) << user.status().to_string();
  EXPECT_EQ(user->profile.value.email, kEmail);
  EXPECT_EQ(user->profile.value.last_name, kLastName);

  const std::string everything = testing::all_bytes(&w.env, "/data");
  for (const char* secret : {kEmail, kLastName, "ada@contoso.com", "pat@contoso.com"}) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << secret << " is in the data folder in clear";
  }
}

// A partner enrolled without a billing profile has an empty, subject-less
// billing contact; its snapshots must still be written (they were refused as
// "a data subject must have 1..80 bytes", so every load replayed the stream).
TEST(PersonalData, APartnerWithAnUnfilledContactSlotIsSnapshotted) {
  SealedWorld w;
  for (int i = 0; i < 3; ++i) {
    SupportProfile support{"s" + std::to_string(i) + "@contoso.com", "+1 425 555 0100", ""};
    ASSERT_TRUE(w.run(w.as_admin(), UpdateSupportProfile{w.partner, support}).is_ok());
  }
  const std::string stream = partner_stream(w.partner);
  auto replayed = w.engine->replay<PartnerState>(stream);
  ASSERT_TRUE(replayed.is_ok()) << replayed.status().to_string();
  ASSERT_TRUE(replayed->billing.primary_contact.subject.empty()) << "the test needs an unfilled slot";
  ASSERT_TRUE(w.env.file_exists(w.snapshots->path_of(stream))) << "the partner's snapshot was not written";
  auto loaded = w.engine->load<PartnerState>(stream);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->version, replayed->version);
  EXPECT_EQ(loaded->support, replayed->support);
  EXPECT_EQ(loaded->legal, replayed->legal);
}

TEST(PersonalData, PurgeErasesItFromEveryReplayAndTheLogStillVerifies) {
  SealedWorld w;
  auto created = w.run(w.as_admin(), CreateUser{w.partner, testing::contact("Sam", kLastName, kEmail), {}});
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  const UserId sam(created->created_ids.at(0).bytes());
  ASSERT_TRUE(w.run(w.as_admin(), DeactivateUser{w.partner, sam}).is_ok());
  w.clock.advance_days(31);
  const CommandId purge_id = CommandId::random();
  auto purged = w.run(w.as_admin(), PurgeUser{w.partner, sam}, purge_id);
  ASSERT_TRUE(purged.is_ok()) << purged.status().to_string();
  EXPECT_TRUE(w.keys->destroyed(user_subject(sam)));

  // Replaying the user's events: UserCreated's personal data now reads as erased.
  auto events = w.log->read_stream(user_stream(sam), StreamVersion(1), 100);
  ASSERT_TRUE(events.is_ok());
  bool saw_created = false;
  {
    PersonalDataScope sealed(w.cipher.get());
    for (const RecordedEvent& e : events->events) {
      auto decoded = decode_event(e.type, e.schema_version, e.payload);
      ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
      if (const auto* c = std::get_if<UserCreated>(&*decoded)) {
        saw_created = true;
        EXPECT_TRUE(c->profile.erased);
        EXPECT_TRUE(c->profile.value.email.empty());
      }
    }
  }
  EXPECT_TRUE(saw_created);
  auto replayed = w.engine->replay<UserState>(user_stream(sam));
  ASSERT_TRUE(replayed.is_ok()) << replayed.status().to_string();
  EXPECT_TRUE(replayed->profile.value.email.empty());
  EXPECT_EQ(replayed->status, UserStatus::kPurged);

  // A retried purge answers from the first; the key stays destroyed.
  auto again = w.run(w.as_admin(), PurgeUser{w.partner, sam}, purge_id);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(again->duplicate);

  // Nothing was rewritten: the hash chain still verifies.
  w.log.reset();
  auto report = verify_log(&w.env, "/data");
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->ok()) << report->problem->reason;
}

}  // namespace
}  // namespace accountable
