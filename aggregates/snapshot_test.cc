// Snapshots are a cache: a state loaded from snapshot + tail must equal the
// state replayed from every event, over many random command histories; and a
// snapshot that cannot be trusted is ignored.
#include "aggregates/snapshot_store.h"

#include <gtest/gtest.h>

#include <random>

#include "aggregates/engine.h"
#include "aggregates/state_codec.h"
#include "aggregates/testing/fixtures.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

using testing::at;

Result<EmailFingerprint> test_fingerprint(const PartnerId& partner, std::string_view email) {
  return EmailFingerprint("fp:" + partner.to_string() + ":" + std::string(email));
}

struct SnapshotWorld {
  FaultInjectionEnv env;
  FixedClock clock{at("2026-03-02T12:00:00Z")};
  std::unique_ptr<EventLog> log;
  std::unique_ptr<SnapshotStore> snapshots;
  std::unique_ptr<Engine> engine;
  PartnerId partner;
  UserId admin;
  std::vector<UserId> users;
  std::vector<LocationId> locations;
  uint64_t counter = 0;
  int succeeded = 0;

  // The engine's in-memory state cache is off unless asked for: these tests
  // are about the snapshot files (aggregates/state_cache_test.cc has the cache's).
  explicit SnapshotWorld(uint64_t snapshot_every, size_t state_cache_entries = 0) {
    LogOptions options;
    options.data_dir = "/data";
    options.env = &env;
    log = std::move(EventLog::open(options).value());
    snapshots = std::move(SnapshotStore::open(&env, "/data").value());
    EngineOptions eo;
    eo.clock = &clock;
    eo.fingerprint = test_fingerprint;
    eo.snapshots = snapshots.get();
    eo.snapshot_every = snapshot_every;
    eo.state_cache_entries = state_cache_entries;
    engine = std::make_unique<Engine>(*log, eo);
    auto enrolled = run(testing::op(), testing::enroll_command());
    partner = PartnerId(enrolled.value().created_ids.at(0).bytes());
    admin = UserId(enrolled.value().created_ids.at(1).bytes());
  }

  Result<CommandOutcome> run(const Principal& actor, Command command) {
    CommandRequest r;
    r.id = CommandId::random();
    r.digest[0] = static_cast<unsigned char>(++counter);
    r.command = std::move(command);
    auto out = engine->execute(actor, r);
    if (out) ++succeeded;
    return out;
  }

  Principal as_admin() const { return PartnerUser{partner, admin, {}, true}; }

  // One random command of a small realistic mix; refusals are part of the mix.
  void random_step(std::mt19937& rng) {
    auto pick_user = [&]() { return users.empty() ? admin : users[rng() % users.size()]; };
    static constexpr Role kRoles[] = {Role::kBillingAdmin, Role::kAccountAdmin, Role::kSalesAgent,
                                      Role::kAdminAgent, Role::kIncentivesUser, Role::kReferralAdmin};
    const std::string n = std::to_string(rng() % 1000);
    switch (rng() % 8) {
      case 0: {
        CreateUser c{partner, testing::contact("U" + n, "User", "u" + std::to_string(counter) + "@contoso.com"), {}};
        auto out = run(as_admin(), c);
        if (out) users.push_back(UserId(out->created_ids.at(0).bytes()));
        break;
      }
      case 1:
        run(as_admin(), AssignRole{partner, pick_user(), kRoles[rng() % 6]}).status().ignore();
        break;
      case 2:
        run(as_admin(), RemoveRole{partner, pick_user(), kRoles[rng() % 6]}).status().ignore();
        break;
      case 3:
        run(as_admin(), UpdateSupportProfile{partner, SupportProfile{"s" + n + "@contoso.com", "+1 425 555 01" + n,
                                                                     "https://contoso.com/" + n}})
            .status()
            .ignore();
        break;
      case 4: {
        auto out = run(as_admin(), AddLocation{partner, testing::address("US"), "77" + n});
        if (out) locations.push_back(LocationId(out->created_ids.at(0).bytes()));
        break;
      }
      case 5:
        if (!locations.empty()) {
          run(as_admin(), RemoveLocation{partner, locations[rng() % locations.size()]}).status().ignore();
        }
        break;
      case 6:
        run(as_admin(), DeactivateUser{partner, pick_user()}).status().ignore();
        break;
      default:
        run(as_admin(), RestoreUser{partner, pick_user()}).status().ignore();
        break;
    }
  }

  template <class State>
  void expect_load_equals_replay(const std::string& stream) {
    auto loaded = engine->load<State>(stream);
    auto replayed = engine->replay<State>(stream);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    ASSERT_TRUE(replayed.is_ok()) << replayed.status().to_string();
    EXPECT_EQ(loaded->version, log->stream_version(stream)) << stream;
    EXPECT_EQ(encode_state(*loaded), encode_state(*replayed)) << stream;
  }

  void expect_all_equal() {
    expect_load_equals_replay<PartnerState>(partner_stream(partner));
    expect_load_equals_replay<UserState>(user_stream(admin));
    for (const UserId& u : users) expect_load_equals_replay<UserState>(user_stream(u));
  }
};

TEST(Snapshots, SnapshotPlusTailEqualsFullReplayOverRandomHistories) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    // Odd seeds: snapshots alone; even seeds: with the state cache in front of them.
    SnapshotWorld w(/*snapshot_every=*/3, /*state_cache_entries=*/seed % 2 == 0 ? 4096 : 0);
    std::mt19937 rng(seed);
    for (int step = 0; step < 120; ++step) {
      w.random_step(rng);
      if (step % 30 == 29) w.expect_all_equal();
    }
    w.expect_all_equal();
    // The test exercises something only if many commands committed and snapshots were written.
    EXPECT_GT(w.succeeded, 60) << "seed " << seed;
    EXPECT_TRUE(w.env.file_exists(w.snapshots->path_of(partner_stream(w.partner)))) << "seed " << seed;
  }
}

TEST(Snapshots, ADamagedSnapshotIsIgnoredAndTheStateRebuilt) {
  SnapshotWorld w(/*snapshot_every=*/2);
  std::mt19937 rng(11);
  for (int step = 0; step < 40; ++step) w.random_step(rng);
  const std::string path = w.snapshots->path_of(partner_stream(w.partner));
  ASSERT_TRUE(w.env.file_exists(path));
  ASSERT_TRUE(w.env.corrupt_byte(path, 40).is_ok());
  EXPECT_FALSE(w.snapshots->load(partner_stream(w.partner), StateSchema<PartnerState>::kVersion).has_value());
  w.expect_all_equal();
}

TEST(Snapshots, ASnapshotOfAnotherSchemaOrAheadOfTheLogIsIgnored) {
  SnapshotWorld w(/*snapshot_every=*/0);  // the engine writes none; the test does
  const std::string stream = partner_stream(w.partner);
  auto real = w.engine->replay<PartnerState>(stream);
  ASSERT_TRUE(real.is_ok());
  PartnerState forged = *real;
  forged.partner_name = "Forged";
  ASSERT_TRUE(w.snapshots->save(stream, StateSchema<PartnerState>::kVersion + 1, forged.version, encode_state(forged)).is_ok());
  EXPECT_EQ(w.engine->load<PartnerState>(stream)->partner_name, real->partner_name);
  forged.version = StreamVersion(forged.version.value() + 10);  // as if the log had been cut back
  ASSERT_TRUE(w.snapshots->save(stream, StateSchema<PartnerState>::kVersion, forged.version, encode_state(forged)).is_ok());
  EXPECT_EQ(w.engine->load<PartnerState>(stream)->partner_name, real->partner_name);
  // And a good one is used: a snapshot at the current version with a marker shows through.
  forged.version = real->version;
  ASSERT_TRUE(w.snapshots->save(stream, StateSchema<PartnerState>::kVersion, forged.version, encode_state(forged)).is_ok());
  EXPECT_EQ(w.engine->load<PartnerState>(stream)->partner_name, "Forged");
}

// Snapshot bytes are read from a file: a forged container length must be
// refused before anything is allocated for it (the bounded archive), and a
// bool byte other than 0 or 1 too.
TEST(Snapshots, AForgedLengthOrBoolByteInTheStateIsRefusedBeforeAllocating) {
  UserState u;
  u.exists = true;
  u.email_fingerprint = "MARKER-FINGERPRINT";
  const std::string good = encode_state(u);
  ASSERT_TRUE(decode_state<UserState>(good).is_ok());
  const size_t at_marker = good.find("MARKER-FINGERPRINT");
  ASSERT_NE(at_marker, std::string::npos);
  ASSERT_GE(at_marker, 8u);

  std::string forged = good;  // the u64 size tag before the string: 2^40 bytes
  const uint64_t huge = uint64_t{1} << 40;
  for (int i = 0; i < 8; ++i) forged[at_marker - 8 + i] = static_cast<char>((huge >> (8 * i)) & 0xff);
  auto refused = decode_state<UserState>(forged);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  EXPECT_NE(refused.status().message().find("exceeds the"), std::string::npos) << refused.status().to_string();

  std::string bad_bool = good;  // `exists` follows the u64 version (after the endianness byte)
  ASSERT_EQ(bad_bool[1 + 8], 1);
  bad_bool[1 + 8] = 7;
  auto refused_bool = decode_state<UserState>(bad_bool);
  ASSERT_FALSE(refused_bool.is_ok());
  EXPECT_NE(refused_bool.status().message().find("neither 0 nor 1"), std::string::npos)
      << refused_bool.status().to_string();

  auto trailing = decode_state<UserState>(good + "x");
  ASSERT_FALSE(trailing.is_ok());
  EXPECT_NE(trailing.status().message().find("after its end"), std::string::npos);
}

}  // namespace
}  // namespace accountable
