#include "aggregates/credential_store.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aggregates/testing/folder_bytes.h"
#include "aggregates/testing/store_ids.h"
#include "events/crc32c.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

using testing::kData;
using testing::partner_n;
using testing::user_n;

constexpr const char* kCredFile = "/data/secrets/credentials";

CredentialStoreOptions fast_options(const Clock* clock = nullptr) {
  CredentialStoreOptions o;
  o.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  o.memlimit = crypto_pwhash_MEMLIMIT_MIN;
  o.clock = clock;
  return o;
}

using testing::all_bytes;

class CredentialStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(0, sodium_init() < 0 ? -1 : 0);
    ASSERT_TRUE(env_.create_dir(kData).is_ok());
    reopen();
  }

  void reopen() {
    store_.reset();
    auto s = CredentialStore::open(&env_, kData, fast_options(&clock_));
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(*s);
  }

  std::string issue(const PartnerId& p, const UserId& u) {
    auto pw = store_->issue_temporary_password(p, u);
    EXPECT_TRUE(pw.is_ok()) << pw.status().to_string();
    return pw.is_ok() ? *pw : std::string();
  }

  FixedClock clock_{Timestamp{1'700'000'000'000'000}};
  FaultInjectionEnv env_;
  std::unique_ptr<CredentialStore> store_;
};

TEST_F(CredentialStoreTest, TemporaryPasswordShapeAndMustChange) {
  const std::string pw = issue(partner_n(1), user_n(1));
  ASSERT_EQ(CredentialStore::kTemporaryPasswordLength, pw.size());
  for (char c : pw) EXPECT_NE(std::string_view::npos, CredentialStore::kTemporaryAlphabet.find(c)) << c;
  for (char ambiguous : std::string("0Oo1lI")) EXPECT_EQ(std::string::npos, pw.find(ambiguous));

  auto v = store_->verify(partner_n(1), user_n(1), pw);
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_TRUE(v->must_change);
  EXPECT_EQ(clock_.now(), v->set_at);
}

TEST_F(CredentialStoreTest, TemporaryPasswordsDifferEachTimeAndOnlyTheLatestVerifies) {
  std::set<std::string> seen;
  std::vector<std::string> issued;
  for (int i = 0; i < 20; ++i) {
    issued.push_back(issue(partner_n(1), user_n(1)));
    seen.insert(issued.back());
  }
  EXPECT_EQ(issued.size(), seen.size());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), issued.back()).is_ok());
  for (size_t i = 0; i + 1 < issued.size(); ++i) {
    EXPECT_EQ(StatusCode::kUnauthenticated, store_->verify(partner_n(1), user_n(1), issued[i]).status().code()) << i;
  }
}

TEST_F(CredentialStoreTest, SetPasswordClearsMustChangeAndReplacesTheOldPassword) {
  const std::string temp = issue(partner_n(1), user_n(1));
  clock_.advance_days(1);
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(1), "correct horse battery").is_ok());

  auto v = store_->verify(partner_n(1), user_n(1), "correct horse battery");
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_FALSE(v->must_change);
  EXPECT_EQ(clock_.now(), v->set_at);
  EXPECT_EQ(StatusCode::kUnauthenticated, store_->verify(partner_n(1), user_n(1), temp).status().code());
}

TEST_F(CredentialStoreTest, WrongPasswordAndUnknownUserGiveTheSameError) {
  const std::string pw = issue(partner_n(1), user_n(1));
  const Status wrong = store_->verify(partner_n(1), user_n(1), pw + "x").status();
  const Status unknown_user = store_->verify(partner_n(1), user_n(2), pw).status();
  const Status other_partner = store_->verify(partner_n(2), user_n(1), pw).status();
  const Status empty = store_->verify(partner_n(1), user_n(1), "").status();
  for (const Status& s : {wrong, unknown_user, other_partner, empty}) {
    EXPECT_EQ(StatusCode::kUnauthenticated, s.code());
    EXPECT_EQ(wrong.message(), s.message());
    EXPECT_EQ(wrong.field(), s.field());
    EXPECT_EQ(std::string::npos, s.to_string().find(pw));
  }
}

TEST_F(CredentialStoreTest, SetPasswordEnforcesLengthInCharacters) {
  auto check_refused = [&](const std::string& pw) {
    const Status s = store_->set_password(partner_n(1), user_n(1), pw);
    EXPECT_EQ(StatusCode::kInvalidArgument, s.code()) << pw;
    EXPECT_EQ("new", s.field());
    if (!pw.empty()) {
      EXPECT_EQ(std::string::npos, s.to_string().find(pw)) << "the error echoes the password";
    }
  };
  check_refused("");
  check_refused(std::string(11, 'a'));
  check_refused(std::string(129, 'a'));
  // 11 code points but 22 bytes: still too short.
  std::string e_acute;
  for (int i = 0; i < 11; ++i) e_acute += "\xC3\xA9";
  check_refused(e_acute);
  check_refused(std::string(12, 'a') + "\xC3");           // truncated UTF-8
  check_refused(std::string(12, 'a') + "\xED\xA0\x80");   // a UTF-16 surrogate
  check_refused(std::string(12, 'a') + "\xC0\xAF");       // overlong '/'
  EXPECT_FALSE(store_->contains(partner_n(1), user_n(1))) << "a refused password stored something";

  EXPECT_TRUE(store_->set_password(partner_n(1), user_n(1), std::string(12, 'a')).is_ok());
  EXPECT_TRUE(store_->set_password(partner_n(1), user_n(1), std::string(128, 'b')).is_ok());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), std::string(128, 'b')).is_ok());
  // 128 code points of 2 bytes each are fine.
  std::string long_utf8;
  for (int i = 0; i < 128; ++i) long_utf8 += "\xC3\xA9";
  EXPECT_TRUE(store_->set_password(partner_n(1), user_n(1), long_utf8).is_ok());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), long_utf8).is_ok());
}

TEST_F(CredentialStoreTest, ReopenKeepsEveryUserFlagAndTime) {
  const std::string temp = issue(partner_n(1), user_n(1));
  const Timestamp t1 = clock_.now();
  clock_.advance_days(3);
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(2), "a long enough password").is_ok());
  ASSERT_TRUE(store_->set_password(partner_n(2), user_n(1), "another long password").is_ok());
  reopen();

  EXPECT_EQ(3u, store_->size());
  auto v1 = store_->verify(partner_n(1), user_n(1), temp);
  ASSERT_TRUE(v1.is_ok());
  EXPECT_TRUE(v1->must_change);
  EXPECT_EQ(t1, v1->set_at);
  auto v2 = store_->verify(partner_n(1), user_n(2), "a long enough password");
  ASSERT_TRUE(v2.is_ok());
  EXPECT_FALSE(v2->must_change);
  EXPECT_EQ(clock_.now(), v2->set_at);
  EXPECT_TRUE(store_->verify(partner_n(2), user_n(1), "another long password").is_ok());
  EXPECT_FALSE(store_->verify(partner_n(2), user_n(1), "a long enough password").is_ok());
}

TEST_F(CredentialStoreTest, PowerLossAfterAnAcknowledgedChangeKeepsIt) {
  const std::string temp = issue(partner_n(1), user_n(1));
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(2), "survives power loss").is_ok());
  store_.reset();
  env_.drop_unsynced_data();
  reopen();
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), temp).is_ok());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(2), "survives power loss").is_ok());
}

TEST_F(CredentialStoreTest, PowerLossRightAfterOpenOnAFreshFolderKeepsLaterChanges) {
  // The secrets folder itself must be durable, not only the file in it.
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/fresh").is_ok());
  std::string pw;
  {
    auto s = CredentialStore::open(&env, "/fresh", fast_options());
    ASSERT_TRUE(s.is_ok());
    auto issued = (*s)->issue_temporary_password(partner_n(1), user_n(1));
    ASSERT_TRUE(issued.is_ok());
    pw = *issued;
  }
  env.drop_unsynced_data();
  auto s = CredentialStore::open(&env, "/fresh", fast_options());
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_TRUE((*s)->verify(partner_n(1), user_n(1), pw).is_ok());
}

TEST_F(CredentialStoreTest, FailedWriteIsReportedAndChangesNothing) {
  const std::string temp = issue(partner_n(1), user_n(1));
  env_.fail_syncs(1);
  const Status s = store_->set_password(partner_n(1), user_n(1), "never acknowledged");
  EXPECT_EQ(StatusCode::kIOError, s.code()) << s.to_string();
  auto v = store_->verify(partner_n(1), user_n(1), temp);
  ASSERT_TRUE(v.is_ok()) << "the in-memory state moved on although the write failed";
  EXPECT_TRUE(v->must_change);
  EXPECT_FALSE(store_->verify(partner_n(1), user_n(1), "never acknowledged").is_ok());

  env_.fail_syncs(1);
  EXPECT_FALSE(store_->issue_temporary_password(partner_n(1), user_n(2)).is_ok());
  EXPECT_FALSE(store_->contains(partner_n(1), user_n(2)));

  // A failed erase leaves the credential in place (the change is undone in memory).
  env_.fail_syncs(1);
  EXPECT_FALSE(store_->erase(partner_n(1), user_n(1)).is_ok());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), temp).is_ok());

  store_.reset();
  env_.drop_unsynced_data();
  reopen();
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), temp).is_ok());
  EXPECT_EQ(1u, store_->size());
}

TEST_F(CredentialStoreTest, DamagedFileFailsOpenWithCorruptionNamingFileAndOffset) {
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(1), "password number one").is_ok());
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(2), "password number two").is_ok());
  store_.reset();
  const std::string good = env_.contents(kCredFile);
  ASSERT_GT(good.size(), 40u);

  // Every single byte, flipped, is detected: magic, version, count, records, checksum.
  for (uint64_t off = 0; off < good.size(); ++off) {
    ASSERT_TRUE(env_.write_file_atomically(kCredFile, good).is_ok());
    ASSERT_TRUE(env_.corrupt_byte(kCredFile, off, 0x10).is_ok());
    auto s = CredentialStore::open(&env_, kData, fast_options());
    ASSERT_FALSE(s.is_ok()) << "flipped byte " << off << " went unnoticed";
    EXPECT_EQ(StatusCode::kCorruption, s.status().code()) << off;
    EXPECT_NE(std::string::npos, s.status().message().find(kCredFile)) << s.status().message();
    EXPECT_NE(std::string::npos, s.status().message().find("at offset ")) << s.status().message();
  }
  // A flipped bit in the body is reported at the checksum's offset.
  ASSERT_TRUE(env_.write_file_atomically(kCredFile, good).is_ok());
  ASSERT_TRUE(env_.corrupt_byte(kCredFile, 20).is_ok());
  auto s = CredentialStore::open(&env_, kData, fast_options());
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(std::string::npos,
            s.status().message().find("checksum mismatch at offset " + std::to_string(good.size() - 4)))
      << s.status().message();

  // Truncated (every shorter prefix) and empty files are refused too.
  for (size_t len : {size_t{0}, size_t{7}, size_t{19}, good.size() / 2, good.size() - 1}) {
    ASSERT_TRUE(env_.write_file_atomically(kCredFile, good.substr(0, len)).is_ok());
    auto t = CredentialStore::open(&env_, kData, fast_options());
    EXPECT_EQ(StatusCode::kCorruption, t.status().code()) << len;
  }
  // And the intact file still opens.
  ASSERT_TRUE(env_.write_file_atomically(kCredFile, good).is_ok());
  reopen();
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(2), "password number two").is_ok());
}

TEST_F(CredentialStoreTest, StructuralDamageBehindAValidChecksumIsCorruptionToo) {
  CredentialStore::Map map;
  map[{partner_n(1), user_n(1)}] = CredentialStore::Entry{"$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", true, {}};
  std::string bytes = CredentialStore::encode(map);
  ASSERT_TRUE(CredentialStore::decode(bytes, "f").is_ok());

  auto reseal = [](std::string body) {  // recompute the trailer over an edited body
    std::string out = body.substr(0, body.size() - 4);
    uint32_t crc = crc32c::mask(crc32c::value(out.data(), out.size()));
    out.append(reinterpret_cast<const char*>(&crc), 4);
    return out;
  };
  std::string trailing = bytes.substr(0, bytes.size() - 4) + "x" + bytes.substr(bytes.size() - 4);
  auto r = CredentialStore::decode(reseal(trailing), "f");
  EXPECT_EQ(StatusCode::kCorruption, r.status().code());
  EXPECT_NE(std::string::npos, r.status().message().find("trailing bytes")) << r.status().message();

  std::string version = bytes;
  version[8] = 2;
  r = CredentialStore::decode(reseal(version), "f");
  EXPECT_NE(std::string::npos, r.status().message().find("unsupported version 2 at offset 8"))
      << r.status().message();

  std::string not_argon = bytes;
  not_argon[16 + 43 + 3] = 'X';  // inside "$argon2id$"
  r = CredentialStore::decode(reseal(not_argon), "f");
  EXPECT_NE(std::string::npos, r.status().message().find("not an argon2id hash")) << r.status().message();
}

TEST_F(CredentialStoreTest, EraseRemovesTheCredentialDurably) {
  const std::string pw = issue(partner_n(1), user_n(1));
  ASSERT_TRUE(store_->set_password(partner_n(1), user_n(2), "stays after purge").is_ok());
  ASSERT_TRUE(store_->erase(partner_n(1), user_n(1)).is_ok());
  EXPECT_EQ(StatusCode::kUnauthenticated, store_->verify(partner_n(1), user_n(1), pw).status().code());
  EXPECT_TRUE(store_->erase(partner_n(1), user_n(1)).is_ok()) << "erase is idempotent";
  store_.reset();
  env_.drop_unsynced_data();
  reopen();
  EXPECT_FALSE(store_->contains(partner_n(1), user_n(1)));
  EXPECT_EQ(StatusCode::kUnauthenticated, store_->verify(partner_n(1), user_n(1), pw).status().code());
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(2), "stays after purge").is_ok());
}

TEST_F(CredentialStoreTest, ConcurrentUsersAllEndUpStored) {
  constexpr int kThreads = 4;
  std::vector<std::string> pw(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto u = user_n(static_cast<unsigned char>(t));
      auto issued = store_->issue_temporary_password(partner_n(1), u);
      if (!issued) return;
      if (store_->verify(partner_n(1), u, *issued).is_ok()) pw[t] = *issued;
    });
  }
  for (auto& th : threads) th.join();
  reopen();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_FALSE(pw[t].empty()) << t;
    EXPECT_TRUE(store_->verify(partner_n(1), user_n(static_cast<unsigned char>(t)), pw[t]).is_ok()) << t;
  }
}

TEST_F(CredentialStoreTest, NoPlainPasswordOrHashInTheDataFolderOrTheLog) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  capture->set_level(spdlog::level::trace);
  spdlog::set_default_logger(capture);

  std::vector<std::string> passwords;
  for (unsigned char u = 0; u < 6; ++u) {
    passwords.push_back(issue(partner_n(u % 2), user_n(u)));
    passwords.push_back(issue(partner_n(u % 2), user_n(u)));  // a reset
  }
  ASSERT_TRUE(store_->set_password(partner_n(0), user_n(0), "chosen by the user 1").is_ok());
  passwords.push_back("chosen by the user 1");
  EXPECT_FALSE(store_->verify(partner_n(1), user_n(1), "wrong password guess").is_ok());
  passwords.push_back("wrong password guess");
  reopen();
  store_.reset();  // the destructor must not log secrets either
  spdlog::set_default_logger(previous);

  size_t files = 0;
  const std::string disk = all_bytes(&env_, kData, &files);
  ASSERT_GE(files, 1u);
  // The scan does read the store: the hashes are there...
  ASSERT_NE(std::string::npos, disk.find("$argon2id$"));
  for (const auto& pw : passwords) {
    EXPECT_EQ(std::string::npos, disk.find(pw)) << "a plain password is on disk";
    EXPECT_EQ(std::string::npos, log.str().find(pw)) << "a plain password is in the log";
  }
  // ...but never in the log, and the log did name the users.
  EXPECT_EQ(std::string::npos, log.str().find("$argon2id$")) << log.str();
  EXPECT_NE(std::string::npos, log.str().find(user_n(3).to_string())) << log.str();
}

TEST(CredentialStorePosixTest, RoundTripInARealFolder) {
  char tmpl[] = "/tmp/credential_store_test.XXXXXX";
  ASSERT_NE(nullptr, ::mkdtemp(tmpl));
  const std::string dir = tmpl;
  std::string temp;
  {
    auto s = CredentialStore::open(posix_env(), dir, fast_options());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto issued = (*s)->issue_temporary_password(partner_n(1), user_n(1));
    ASSERT_TRUE(issued.is_ok());
    temp = *issued;
    ASSERT_TRUE((*s)->set_password(partner_n(1), user_n(2), "posix password one").is_ok());
  }
  {
    auto s = CredentialStore::open(posix_env(), dir, fast_options());
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto v = (*s)->verify(partner_n(1), user_n(1), temp);
    ASSERT_TRUE(v.is_ok());
    EXPECT_TRUE(v->must_change);
    EXPECT_TRUE((*s)->verify(partner_n(1), user_n(2), "posix password one").is_ok());
    const std::string disk = all_bytes(posix_env(), dir);
    EXPECT_NE(std::string::npos, disk.find("$argon2id$"));
    EXPECT_EQ(std::string::npos, disk.find(temp));
  }
  std::filesystem::remove_all(dir);
}

TEST_F(CredentialStoreTest, InAClusterEveryChangeIsPublishedFirstAndAppliesElsewhere) {
  std::vector<SecretRecord> published;
  Status answer = Status::ok();
  store_->enable_replication([&](const std::vector<SecretRecord>& r) {
    if (answer.is_ok()) published.insert(published.end(), r.begin(), r.end());
    return answer;
  });
  auto temporary = store_->issue_temporary_password(partner_n(1), user_n(1));
  ASSERT_TRUE(temporary.is_ok());
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].key, CredentialStore::record_key(partner_n(1), user_n(1)));
  ASSERT_TRUE(published[0].plaintext.has_value());
  EXPECT_EQ(published[0].plaintext->find(*temporary), std::string::npos) << "only the hash travels";

  // Another node's store takes the record and verifies the same password.
  FaultInjectionEnv other_env;
  ASSERT_TRUE(other_env.create_dir(kData).is_ok());
  auto other = CredentialStore::open(&other_env, kData, fast_options(&clock_));
  ASSERT_TRUE(other.is_ok());
  ASSERT_TRUE((*other)->apply_replicated(published[0]).is_ok());
  auto verified = (*other)->verify(partner_n(1), user_n(1), *temporary);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_TRUE(verified->must_change);

  // Publishing refused: the change is not made here either.
  answer = Status(StatusCode::kUnavailable, "not the leader");
  EXPECT_EQ(store_->set_password(partner_n(1), user_n(1), "a long new password").code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), *temporary).is_ok());
  EXPECT_EQ(store_->erase(partner_n(1), user_n(1)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store_->contains(partner_n(1), user_n(1)));
  // A publish whose outcome is unknown: not made here, and not called "not committed".
  answer = Status(StatusCode::kOutcomeUnknown, "commit_transaction timed out");
  const Status unknown = store_->set_password(partner_n(1), user_n(1), "a long new password");
  EXPECT_EQ(unknown.code(), StatusCode::kOutcomeUnknown);
  EXPECT_NE(unknown.message().find("may or may not be committed"), std::string::npos) << unknown.message();
  EXPECT_TRUE(store_->verify(partner_n(1), user_n(1), *temporary).is_ok());

  // Erased: a record without a value, which erases the other copy.
  answer = Status::ok();
  ASSERT_TRUE(store_->erase(partner_n(1), user_n(1)).is_ok());
  ASSERT_EQ(published.size(), 2u);
  EXPECT_FALSE(published[1].plaintext.has_value());
  ASSERT_TRUE((*other)->apply_replicated(published[1]).is_ok());
  EXPECT_FALSE((*other)->contains(partner_n(1), user_n(1)));

  // A record for another user's key is refused and changes nothing.
  SecretRecord moved(CredentialStore::record_key(partner_n(1), UserId::random()), published[0].plaintext);
  EXPECT_EQ((*other)->apply_replicated(moved).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*other)->size(), 0u);
}

// The bound of docs/memory.md: after many users the store holds at most
// max_cached_credentials entries, and one it no longer holds behaves exactly
// as before, from the file: it verifies, changes, erases, and survives reopening.
TEST(CredentialStoreBoundTest, HoldsAtMostTheBoundAndAnswersFromTheFileBeyondIt) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir(kData).is_ok());
  FixedClock clock{Timestamp{1'700'000'000'000'000}};
  CredentialStoreOptions options = fast_options(&clock);
  constexpr size_t kBound = 3;
  constexpr int kUsers = 24;
  options.max_cached_credentials = kBound;
  auto opened = CredentialStore::open(&env, kData, options);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  CredentialStore& store = **opened;
  std::vector<std::string> passwords;
  for (int i = 0; i < kUsers; ++i) {
    auto pw = store.issue_temporary_password(partner_n(1), user_n(static_cast<unsigned char>(i)));
    ASSERT_TRUE(pw.is_ok()) << pw.status().to_string();
    passwords.push_back(*pw);
    EXPECT_LE(store.entries_in_memory(), kBound);
  }
  EXPECT_EQ(store.size(), static_cast<size_t>(kUsers));
  const uint64_t reads_before = store.file_reads();
  for (int i = 0; i < kUsers; ++i) {
    auto v = store.verify(partner_n(1), user_n(static_cast<unsigned char>(i)), passwords[i]);
    ASSERT_TRUE(v.is_ok()) << i << ": " << v.status().to_string();
    EXPECT_TRUE(v->must_change);
    EXPECT_FALSE(store.verify(partner_n(1), user_n(static_cast<unsigned char>(i)), "not the password").is_ok());
    EXPECT_LE(store.entries_in_memory(), kBound);
  }
  EXPECT_GE(store.file_reads(), reads_before + kUsers - kBound) << "the entries were not read from the file";
  // Changes to entries not held: the file keeps every other entry.
  ASSERT_TRUE(store.set_password(partner_n(1), user_n(0), "a chosen password 0").is_ok());
  ASSERT_TRUE(store.erase(partner_n(1), user_n(1)).is_ok());
  EXPECT_FALSE(store.contains(partner_n(1), user_n(1)));
  EXPECT_TRUE(store.contains(partner_n(1), user_n(2)));
  EXPECT_EQ(store.size(), static_cast<size_t>(kUsers - 1));
  EXPECT_FALSE(store.password_set_at(partner_n(1), user_n(1)));
  EXPECT_EQ(store.password_set_at(partner_n(1), user_n(5)), clock.now());

  opened->reset();
  auto reopened = CredentialStore::open(&env, kData, options);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  EXPECT_EQ((*reopened)->size(), static_cast<size_t>(kUsers - 1));
  EXPECT_EQ((*reopened)->entries_in_memory(), kBound);
  auto chosen = (*reopened)->verify(partner_n(1), user_n(0), "a chosen password 0");
  ASSERT_TRUE(chosen.is_ok());
  EXPECT_FALSE(chosen->must_change);
  EXPECT_FALSE((*reopened)->verify(partner_n(1), user_n(1), passwords[1]).is_ok());
  for (int i = 2; i < kUsers; ++i) {
    EXPECT_TRUE((*reopened)->verify(partner_n(1), user_n(static_cast<unsigned char>(i)), passwords[i]).is_ok()) << i;
  }
  auto map = CredentialStore::decode(*env.read_file(kCredFile), kCredFile);
  ASSERT_TRUE(map.is_ok()) << map.status().to_string();
  EXPECT_EQ(map->size(), static_cast<size_t>(kUsers - 1));
  EXPECT_EQ(CredentialStore::encode(*map), *env.read_file(kCredFile)) << "records out of order: not canonical";
  for (auto& [k, e] : *map) sodium_memzero(e.hash.data(), e.hash.size());
}

}  // namespace
}  // namespace accountable
