#include "aggregates/key_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "aggregates/testing/folder_bytes.h"
#include "aggregates/testing/store_ids.h"
#include "testing/fault_env.h"

namespace accountable {
namespace {

using testing::all_bytes;
using testing::kData;
using testing::partner_n;

const std::string kAlice = "user:6f1c2d3e-0000-4000-8000-000000000001";
const std::string kBob = "user:6f1c2d3e-0000-4000-8000-000000000002";
const std::string kAliceFile = "/data/keys/subjects/user%3A6f1c2d3e-0000-4000-8000-000000000001.key";

std::string as_string(const KeyStore::Key& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); }

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.create_dir(kData).is_ok());
    reopen();
  }
  void reopen() {
    store_.reset();
    auto s = KeyStore::open(&env_, kData);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    store_ = std::move(*s);
  }
  std::string seal(const std::string& subject, std::string_view plain, std::string_view ad = "ad") {
    auto c = store_->seal(subject, plain, ad);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return c.is_ok() ? *c : std::string();
  }

  FaultInjectionEnv env_;
  std::unique_ptr<KeyStore> store_;
};

TEST_F(KeyStoreTest, SealOpenRoundTripWithARandomNonce) {
  const std::string a = seal(kAlice, "Alice Example");
  const std::string b = seal(kAlice, "Alice Example");
  EXPECT_EQ(KeyStore::kNonceBytes + 13 + KeyStore::kTagBytes, a.size());
  EXPECT_NE(a, b) << "same nonce twice";
  EXPECT_NE(a.substr(0, KeyStore::kNonceBytes), b.substr(0, KeyStore::kNonceBytes));
  EXPECT_EQ(std::string::npos, a.find("Alice")) << "plaintext visible in the sealed value";
  for (const auto& sealed : {a, b}) {
    auto plain = store_->open(kAlice, sealed, "ad");
    ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
    EXPECT_EQ("Alice Example", *plain);
  }
  auto empty = store_->open(kAlice, seal(kAlice, ""), "ad");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ("", *empty);
}

TEST_F(KeyStoreTest, KeysArePerSubjectAndStable) {
  auto a1 = store_->key_for(kAlice, true);
  auto a2 = store_->key_for(kAlice, true);
  auto b = store_->key_for(kBob, true);
  ASSERT_TRUE(a1.is_ok() && a2.is_ok() && b.is_ok());
  EXPECT_EQ(*a1, *a2);
  EXPECT_NE(*a1, *b);
  EXPECT_EQ(StatusCode::kNotFound, store_->key_for("user:nobody", false).status().code());
  EXPECT_FALSE(env_.file_exists("/data/keys/subjects/user%3Anobody.key")) << "create=false created a key";
  // Bob's key does not open Alice's data.
  EXPECT_EQ(StatusCode::kCorruption, store_->open(kBob, seal(kAlice, "secret"), "ad").status().code());
}

TEST_F(KeyStoreTest, TamperingIsDetected) {
  const std::string sealed = seal(kAlice, "alice@example.com", "UserCreated/1");
  // A flipped bit anywhere: nonce, ciphertext or tag.
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = store_->open(kAlice, bad, "UserCreated/1");
    EXPECT_EQ(StatusCode::kCorruption, r.status().code()) << "byte " << i;
  }
  EXPECT_EQ(StatusCode::kCorruption, store_->open(kAlice, sealed, "UserCreated/2").status().code())
      << "associated data not authenticated";
  EXPECT_EQ(StatusCode::kCorruption, store_->open(kAlice, sealed.substr(0, 39), "UserCreated/1").status().code());
  EXPECT_EQ(StatusCode::kCorruption,
            store_->open(kAlice, sealed.substr(0, sealed.size() - 1), "UserCreated/1").status().code());
  EXPECT_EQ(StatusCode::kCorruption, store_->open(kAlice, "", "UserCreated/1").status().code());
  EXPECT_TRUE(store_->open(kAlice, sealed, "UserCreated/1").is_ok());
}

TEST_F(KeyStoreTest, ReopenAndPowerLossKeepAcknowledgedKeys) {
  const std::string a = seal(kAlice, "Alice");
  const auto secret_fp = store_->email_fingerprint(partner_n(1), "a@b.c");
  ASSERT_TRUE(secret_fp.is_ok());
  reopen();
  ASSERT_TRUE(store_->open(kAlice, a, "ad").is_ok());
  const std::string b = seal(kBob, "Bob");  // created after the reopen
  store_.reset();
  env_.drop_unsynced_data();
  reopen();
  auto pa = store_->open(kAlice, a, "ad");
  auto pb = store_->open(kBob, b, "ad");
  ASSERT_TRUE(pa.is_ok()) << pa.status().to_string();
  ASSERT_TRUE(pb.is_ok()) << pb.status().to_string();
  EXPECT_EQ("Alice", *pa);
  EXPECT_EQ("Bob", *pb);
  auto fp = store_->email_fingerprint(partner_n(1), "a@b.c");
  ASSERT_TRUE(fp.is_ok());
  EXPECT_EQ(*secret_fp, *fp) << "the partner secret changed across a power loss";
}

TEST_F(KeyStoreTest, FreshFolderSurvivesPowerLoss) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir("/fresh").is_ok());
  std::string sealed;
  {
    auto s = KeyStore::open(&env, "/fresh");
    ASSERT_TRUE(s.is_ok());
    auto c = (*s)->seal(kAlice, "x", "");
    ASSERT_TRUE(c.is_ok());
    sealed = *c;
  }
  env.drop_unsynced_data();
  auto s = KeyStore::open(&env, "/fresh");
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_TRUE((*s)->open(kAlice, sealed, "").is_ok());
}

TEST_F(KeyStoreTest, FailedKeyWriteIsReportedAndNothingIsKept) {
  env_.fail_syncs(1);
  auto r = store_->seal(kAlice, "x", "");
  EXPECT_EQ(StatusCode::kIOError, r.status().code());
  EXPECT_EQ(StatusCode::kNotFound, store_->key_for(kAlice, false).status().code())
      << "a key that was not durable was handed out";
}

TEST_F(KeyStoreTest, DestroyIsCryptoShreddingAndSurvivesReopenAndPowerLoss) {
  const std::string sealed = seal(kAlice, "Alice Example");
  const std::string bob_sealed = seal(kBob, "Bob Example");
  auto key = store_->key_for(kAlice, false);
  ASSERT_TRUE(key.is_ok());
  ASSERT_NE(std::string::npos, all_bytes(&env_, kData).find(as_string(*key))) << "scan does not see key files";

  ASSERT_TRUE(store_->destroy(kAlice).is_ok());
  auto check_erased = [&] {
    EXPECT_TRUE(store_->destroyed(kAlice));
    auto opened = store_->open(kAlice, sealed, "ad");
    EXPECT_EQ(StatusCode::kNotFound, opened.status().code());
    EXPECT_NE(std::string::npos, opened.status().message().find("was erased")) << opened.status().message();
    EXPECT_EQ(StatusCode::kRuleViolated, store_->key_for(kAlice, true).status().code());
    EXPECT_EQ(StatusCode::kNotFound, store_->key_for(kAlice, false).status().code());
    EXPECT_EQ(StatusCode::kRuleViolated, store_->seal(kAlice, "new data", "ad").status().code());
    // Other subjects are untouched.
    EXPECT_FALSE(store_->destroyed(kBob));
    auto bob = store_->open(kBob, bob_sealed, "ad");
    ASSERT_TRUE(bob.is_ok());
    EXPECT_EQ("Bob Example", *bob);
    // The key bytes are nowhere in the data folder.
    EXPECT_EQ(std::string::npos, all_bytes(&env_, kData).find(as_string(*key)));
  };
  check_erased();
  EXPECT_TRUE(store_->destroy(kAlice).is_ok()) << "destroy is idempotent";
  reopen();
  check_erased();
  store_.reset();
  env_.drop_unsynced_data();
  reopen();
  check_erased();
}

TEST_F(KeyStoreTest, DestroyingASubjectWithoutAKeyStillBlocksItsCreation) {
  ASSERT_TRUE(store_->destroy(kBob).is_ok());
  EXPECT_TRUE(store_->destroyed(kBob));
  EXPECT_EQ(StatusCode::kRuleViolated, store_->key_for(kBob, true).status().code());
  reopen();
  EXPECT_EQ(StatusCode::kRuleViolated, store_->key_for(kBob, true).status().code());
}

TEST_F(KeyStoreTest, DamagedKeyFileFailsOpenWithCorruption) {
  seal(kAlice, "x");
  store_.reset();
  const std::string good = env_.contents(kAliceFile);
  ASSERT_FALSE(good.empty());
  for (uint64_t off = 0; off < good.size(); ++off) {
    ASSERT_TRUE(env_.write_file_atomically(kAliceFile, good).is_ok());
    ASSERT_TRUE(env_.corrupt_byte(kAliceFile, off, 0x04).is_ok());
    auto s = KeyStore::open(&env_, kData);
    ASSERT_FALSE(s.is_ok()) << "flipped byte " << off << " went unnoticed";
    EXPECT_EQ(StatusCode::kCorruption, s.status().code());
    EXPECT_NE(std::string::npos, s.status().message().find(kAliceFile)) << s.status().message();
    EXPECT_NE(std::string::npos, s.status().message().find("at offset")) << s.status().message();
  }
  // A valid record under the wrong name (a file copied or renamed by hand).
  ASSERT_TRUE(env_.write_file_atomically(kAliceFile, good).is_ok());
  ASSERT_TRUE(env_.write_file_atomically("/data/keys/subjects/user%3Aother.key", good).is_ok());
  auto s = KeyStore::open(&env_, kData);
  EXPECT_EQ(StatusCode::kCorruption, s.status().code());
  ASSERT_TRUE(env_.remove_file("/data/keys/subjects/user%3Aother.key").is_ok());
  reopen();
}

TEST_F(KeyStoreTest, StaleTemporaryFilesAreRemovedAtOpen) {
  seal(kAlice, "x");
  store_.reset();
  const std::string tmp = kAliceFile + ".tmp";
  ASSERT_TRUE(env_.write_file_atomically(tmp, env_.contents(kAliceFile)).is_ok());
  reopen();
  EXPECT_FALSE(env_.file_exists(tmp));
  EXPECT_TRUE(store_->key_for(kAlice, false).is_ok());
}

TEST_F(KeyStoreTest, SubjectNamesAreValidatedAndEscapedIntoSafeFileNames) {
  EXPECT_EQ("user%3Aabc.key", KeyStore::subject_file_name("user:abc"));
  EXPECT_EQ("%2E%2E%2Fx.key", KeyStore::subject_file_name("../x"));
  EXPECT_EQ("a%25b.key", KeyStore::subject_file_name("a%b"));  // '%' itself is escaped: injective
  EXPECT_NE(KeyStore::subject_file_name("a%3Ab"), KeyStore::subject_file_name("a:b"));
  for (const std::string& bad : {std::string(), std::string("has space"), std::string(81, 'x'), std::string("t\tab")}) {
    EXPECT_EQ(StatusCode::kInvalidArgument, store_->key_for(bad, true).status().code()) << bad;
    EXPECT_EQ(StatusCode::kInvalidArgument, store_->destroy(bad).code()) << bad;
  }
  const std::string slot = "contact:6f1c2d3e-0000-4000-8000-000000000009:billing/../x";
  seal(slot, "y");
  EXPECT_TRUE(env_.file_exists(
      "/data/keys/subjects/contact%3A6f1c2d3e-0000-4000-8000-000000000009%3Abilling%2F%2E%2E%2Fx.key"));
  reopen();
  EXPECT_TRUE(store_->key_for(slot, false).is_ok());
}

TEST_F(KeyStoreTest, EmailFingerprintIsNormalizedKeyedAndPerPartner) {
  auto fp = [&](unsigned char partner, std::string_view email) {
    auto r = store_->email_fingerprint(partner_n(partner), email);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : KeyStore::Fingerprint{};
  };
  const auto base = fp(1, "alice@example.com");
  EXPECT_EQ(base, fp(1, "Alice@Example.COM"));
  EXPECT_EQ(base, fp(1, "  alice@example.com\t\n"));
  EXPECT_NE(base, fp(1, "alice@example.org"));
  EXPECT_NE(base, fp(1, "al ice@example.com")) << "inner whitespace is significant";
  EXPECT_NE(base, fp(2, "alice@example.com")) << "partners share a secret";
  EXPECT_NE(base, KeyStore::Fingerprint{});
  EXPECT_EQ(StatusCode::kInvalidArgument, store_->email_fingerprint(partner_n(1), " \t ").status().code());

  auto bytes = store_->email_fingerprint_bytes(partner_n(1), "ALICE@example.com ");
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(base.data()), base.size()), *bytes);

  reopen();
  EXPECT_EQ(base, fp(1, "alice@example.com")) << "the partner secret changed across a reopen";
  // The plain address is not stored anywhere.
  EXPECT_EQ(std::string::npos, all_bytes(&env_, kData).find("alice@example.com"));
}

TEST(KeyStorePosixTest, RoundTripAndDestroyInARealFolder) {
  char tmpl[] = "/tmp/key_store_test.XXXXXX";
  ASSERT_NE(nullptr, ::mkdtemp(tmpl));
  const std::string dir = tmpl;
  std::string a, b;
  KeyStore::Fingerprint fp{};
  {
    auto s = KeyStore::open(posix_env(), dir);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto ca = (*s)->seal(kAlice, "Alice", "ad");
    auto cb = (*s)->seal(kBob, "Bob", "ad");
    auto f = (*s)->email_fingerprint(partner_n(1), "x@y.z");
    ASSERT_TRUE(ca.is_ok() && cb.is_ok() && f.is_ok());
    a = *ca, b = *cb, fp = *f;
    ASSERT_TRUE((*s)->destroy(kBob).is_ok());
  }
  {
    auto s = KeyStore::open(posix_env(), dir);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    auto pa = (*s)->open(kAlice, a, "ad");
    ASSERT_TRUE(pa.is_ok());
    EXPECT_EQ("Alice", *pa);
    EXPECT_EQ(StatusCode::kNotFound, (*s)->open(kBob, b, "ad").status().code());
    EXPECT_EQ(StatusCode::kRuleViolated, (*s)->key_for(kBob, true).status().code());
    auto f = (*s)->email_fingerprint(partner_n(1), "X@Y.Z");
    ASSERT_TRUE(f.is_ok());
    EXPECT_EQ(fp, *f);
  }
  std::filesystem::remove_all(dir);
}

// ---- replication (cluster mode) ------------------------------------------------

struct Published {
  std::vector<SecretRecord> records;
  Status answer = Status::ok();
  SecretPublisher publisher() {
    return [this](const std::vector<SecretRecord>& r) {
      if (answer.is_ok()) records.insert(records.end(), r.begin(), r.end());
      return answer;
    };
  }
};

TEST_F(KeyStoreTest, InAClusterNewKeysWaitToShipWithTheNextBatch) {
  const std::string before = seal(kBob, "made before replication");  // a single node's key: not tracked
  Published published;
  store_->enable_replication(published.publisher());
  EXPECT_TRUE(store_->unshipped_records().empty());
  seal(kAlice, "Alice");
  ASSERT_TRUE(store_->email_fingerprint(partner_n(1), "a@example.com").is_ok());
  auto records = store_->unshipped_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, KeyStore::subject_record_key(kAlice));
  EXPECT_EQ(records[1].key, KeyStore::partner_record_key(partner_n(1)));
  EXPECT_TRUE(published.records.empty()) << "new keys go with a batch, not on their own";

  // Another node applies them and opens what this one sealed.
  FaultInjectionEnv other_env;
  ASSERT_TRUE(other_env.create_dir(kData).is_ok());
  auto other = KeyStore::open(&other_env, kData);
  ASSERT_TRUE(other.is_ok());
  for (const SecretRecord& r : records) ASSERT_TRUE((*other)->apply_replicated(r).is_ok()) << r.key;
  const std::string sealed = seal(kAlice, "Alice again");
  auto opened = (*other)->open(kAlice, sealed, "ad");
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, "Alice again");
  EXPECT_EQ(*(*other)->email_fingerprint(partner_n(1), "A@example.com"),
            *store_->email_fingerprint(partner_n(1), "a@example.com"));

  store_->mark_shipped({records[0].key});
  ASSERT_EQ(store_->unshipped_records().size(), 1u);
  // At start, every key the cluster lacks ships again (Bob's, from before).
  store_->reconcile({KeyStore::subject_record_key(kAlice)});
  auto again = store_->unshipped_records();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].key, KeyStore::subject_record_key(kBob));
  EXPECT_EQ(again[1].key, KeyStore::partner_record_key(partner_n(1)));
  EXPECT_FALSE(before.empty());
}

TEST_F(KeyStoreTest, TheClustersKeyReplacesAnUnshippedOneButNeverADestroyedOne) {
  Published published;
  store_->enable_replication(published.publisher());
  seal(kAlice, "made here by a leader whose batch never committed");
  // The cluster's key for the same subject (another leader's).
  FaultInjectionEnv other_env;
  ASSERT_TRUE(other_env.create_dir(kData).is_ok());
  auto other = KeyStore::open(&other_env, kData);
  ASSERT_TRUE(other.is_ok());
  (*other)->enable_replication(published.publisher());
  const std::string sealed = (*other)->seal(kAlice, "the cluster's", "ad").value();
  auto theirs = (*other)->unshipped_records();
  ASSERT_EQ(theirs.size(), 1u);
  ASSERT_TRUE(store_->apply_replicated(theirs[0]).is_ok());
  EXPECT_TRUE(store_->unshipped_records().empty()) << "the cluster's version counts";
  EXPECT_EQ(store_->open(kAlice, sealed, "ad").value(), "the cluster's");
  reopen();  // durable
  EXPECT_EQ(store_->open(kAlice, sealed, "ad").value(), "the cluster's");

  // A destroyed subject stays destroyed, whatever arrives later.
  ASSERT_TRUE(store_->destroy(kAlice).is_ok());
  ASSERT_TRUE(store_->apply_replicated(theirs[0]).is_ok());
  EXPECT_TRUE(store_->destroyed(kAlice));
  EXPECT_EQ(store_->open(kAlice, sealed, "ad").status().code(), StatusCode::kNotFound);

  // Records that are not the store's, or lie about their key, change nothing.
  EXPECT_EQ(store_->apply_replicated(SecretRecord("credential/x/y", std::string("h"))).code(),
            StatusCode::kInvalidArgument);
  SecretRecord moved(KeyStore::subject_record_key(kBob), theirs[0].plaintext);
  EXPECT_EQ(store_->apply_replicated(moved).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->key_for(kBob, false).is_ok());
  SecretRecord damaged = theirs[0];
  (*damaged.plaintext)[12] ^= 1;
  EXPECT_EQ(store_->apply_replicated(damaged).code(), StatusCode::kCorruption);
}

TEST_F(KeyStoreTest, InAClusterADestroyIsPublishedFirstAndNotDoneWhenThatFails) {
  Published published;
  store_->enable_replication(published.publisher());
  const std::string sealed = seal(kAlice, "Alice");
  published.answer = Status(StatusCode::kUnavailable, "not the leader");
  Status refused = store_->destroy(kAlice);
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_FALSE(store_->destroyed(kAlice));
  EXPECT_TRUE(store_->open(kAlice, sealed, "ad").is_ok());

  published.answer = Status::ok();
  ASSERT_TRUE(store_->destroy(kAlice).is_ok());
  ASSERT_EQ(published.records.size(), 1u);
  EXPECT_EQ(published.records[0].key, KeyStore::subject_record_key(kAlice));
  // Another node destroys its copy when it applies the record.
  FaultInjectionEnv other_env;
  ASSERT_TRUE(other_env.create_dir(kData).is_ok());
  auto other = KeyStore::open(&other_env, kData);
  ASSERT_TRUE(other.is_ok());
  ASSERT_TRUE((*other)->apply_replicated(published.records[0]).is_ok());
  EXPECT_TRUE((*other)->destroyed(kAlice));
}

}  // namespace
}  // namespace accountable

namespace accountable {
namespace {

std::string subject_n(int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "user:6f1c2d3e-0000-4000-8000-%012d", n);
  return buf;
}

// The bound of docs/memory.md: after many distinct subjects the store holds at
// most max_cached_subjects in memory, and a subject it no longer holds answers
// exactly as before, from its file: the same key, erased stays erased, no key
// is made over an existing one.
TEST(KeyStoreBoundTest, HoldsAtMostTheBoundAndAnswersFromTheFilesBeyondIt) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir(kData).is_ok());
  constexpr size_t kBound = 4;
  constexpr int kSubjects = 50;
  auto opened = KeyStore::open(&env, kData, kBound);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  KeyStore& store = **opened;
  std::vector<std::string> sealed;
  for (int i = 0; i < kSubjects; ++i) {
    auto s = store.seal(subject_n(i), "person " + std::to_string(i), "ad");
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    sealed.push_back(*s);
    EXPECT_LE(store.subjects_in_memory(), kBound);
  }
  ASSERT_TRUE(store.destroy(subject_n(0)).is_ok());
  const uint64_t reads_before = store.subject_file_reads();
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i < kSubjects; ++i) {
      auto plain = store.open(subject_n(i), sealed[i], "ad");
      ASSERT_TRUE(plain.is_ok()) << i << ": " << plain.status().to_string();
      EXPECT_EQ(*plain, "person " + std::to_string(i));
      // A key made again "on first use" would not open the old value: the file's is used.
      auto again = store.seal(subject_n(i), "again", "ad");
      ASSERT_TRUE(again.is_ok());
      EXPECT_EQ(*store.open(subject_n(i), *again, "ad"), "again");
      EXPECT_LE(store.subjects_in_memory(), kBound);
    }
    // Subject 0 was pushed out long ago; its tombstone is read back.
    EXPECT_TRUE(store.destroyed(subject_n(0)));
    EXPECT_EQ(store.open(subject_n(0), sealed[0], "ad").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store.key_for(subject_n(0), /*create=*/true).status().code(), StatusCode::kRuleViolated);
  }
  EXPECT_GT(store.subject_file_reads(), reads_before + kSubjects) << "the subjects were not read from their files";
  EXPECT_EQ(store.subjects_in_memory(), kBound);
  EXPECT_EQ(store.max_cached_subjects(), kBound);
  EXPECT_EQ(store.key_for(subject_n(kSubjects), /*create=*/false).status().code(), StatusCode::kNotFound);

  // Reopened with the same bound: every file is checked, `kBound` are held.
  opened->reset();
  auto reopened = KeyStore::open(&env, kData, kBound);
  ASSERT_TRUE(reopened.is_ok());
  EXPECT_EQ((*reopened)->subjects_in_memory(), kBound);
  for (int i = 1; i < kSubjects; ++i) EXPECT_EQ(*(*reopened)->open(subject_n(i), sealed[i], "ad"), "person " + std::to_string(i));
  EXPECT_TRUE((*reopened)->destroyed(subject_n(0)));
}

TEST(KeyStoreBoundTest, ReconcileAndShippingSeeTheSubjectsNotHeld) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir(kData).is_ok());
  auto opened = KeyStore::open(&env, kData, 2);
  ASSERT_TRUE(opened.is_ok());
  KeyStore& store = **opened;
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(store.seal(subject_n(i), "x", "ad").is_ok());
  ASSERT_TRUE(store.destroy(subject_n(5)).is_ok());
  store.enable_replication([](const std::vector<SecretRecord>&) { return Status::ok(); });
  store.reconcile({KeyStore::subject_record_key(subject_n(1))});
  auto records = store.unshipped_records();
  ASSERT_EQ(records.size(), 5u);  // 0, 2, 3, 4 (keys) and 5 (tombstone); not 1
  EXPECT_LE(store.subjects_in_memory(), 2u);
  FaultInjectionEnv other_env;
  ASSERT_TRUE(other_env.create_dir(kData).is_ok());
  auto other = KeyStore::open(&other_env, kData, 2);
  ASSERT_TRUE(other.is_ok());
  for (const SecretRecord& r : records) ASSERT_TRUE((*other)->apply_replicated(r).is_ok()) << r.key;
  for (int i : {0, 2, 3, 4}) {
    auto sealed = store.seal(subject_n(i), "shared", "ad");
    ASSERT_TRUE(sealed.is_ok());
    EXPECT_EQ(*(*other)->open(subject_n(i), *sealed, "ad"), "shared") << i;
  }
  EXPECT_TRUE((*other)->destroyed(subject_n(5)));
}

// Held keys are read under a shared lock while other threads evict, read
// files and destroy: every open still answers as the files say (run under
// the sanitizers in the test build).
TEST(KeyStoreBoundTest, ThreadsOpenSideBySideWhileSubjectsAreEvictedAndDestroyed) {
  FaultInjectionEnv env;
  ASSERT_TRUE(env.create_dir(kData).is_ok());
  constexpr size_t kBound = 4;
  constexpr int kSubjects = 12;
  auto opened = KeyStore::open(&env, kData, kBound);
  ASSERT_TRUE(opened.is_ok());
  KeyStore& store = **opened;
  std::vector<std::string> sealed;
  for (int i = 0; i < kSubjects; ++i) {
    auto s = store.seal(subject_n(i), "person " + std::to_string(i), "ad");
    ASSERT_TRUE(s.is_ok());
    sealed.push_back(*s);
  }
  std::atomic<int> wrong{0}, opened_zero{0}, erased_zero{0};
  auto reader = [&](int offset) {
    for (int round = 0; round < 200; ++round) {
      for (int k = 0; k < kSubjects; ++k) {
        const int i = (k + offset) % kSubjects;
        auto plain = store.open(subject_n(i), sealed[i], "ad");
        if (i == 0 && !plain.is_ok() && plain.status().code() == StatusCode::kNotFound) {
          ++erased_zero;
        } else if (!plain.is_ok() || *plain != "person " + std::to_string(i)) {
          ++wrong;
        } else if (i == 0) {
          ++opened_zero;
        }
      }
    }
  };
  std::thread first(reader, 0), second(reader, kSubjects / 2);
  // Meanwhile: new subjects push held ones out, and subject 0 is destroyed.
  for (int i = kSubjects; i < kSubjects + 40; ++i) {
    EXPECT_TRUE(store.seal(subject_n(i), "later", "ad").is_ok());
    if (i == kSubjects + 20) {
      EXPECT_TRUE(store.destroy(subject_n(0)).is_ok());
    }
  }
  first.join();
  second.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(opened_zero.load() + erased_zero.load(), 2 * 200);
  EXPECT_EQ(store.open(subject_n(0), sealed[0], "ad").status().code(), StatusCode::kNotFound);
  EXPECT_LE(store.subjects_in_memory(), kBound);
  for (int i = 1; i < kSubjects; ++i) {
    EXPECT_EQ(*store.open(subject_n(i), sealed[i], "ad"), "person " + std::to_string(i));
  }
}

std::string subject_file(int n) {
  return std::string(kData) + "/keys/subjects/" + KeyStore::subject_file_name(subject_n(n));
}

// Runs `read` on a thread that stops in its read of subject n's file, and
// `meanwhile` while it is stopped there; false when the read never came.
bool while_reading_the_file_of(FaultInjectionEnv& env, int n, const std::function<void()>& read,
                               const std::function<void()>& meanwhile) {
  env.stall_next_read(subject_file(n));
  std::thread reader(read);
  const bool stalled = env.wait_for_stalled_read(std::chrono::seconds(30));
  if (stalled) meanwhile();
  env.release_read_stall();
  reader.join();
  return stalled;
}

// A store that holds one subject, subject 1; subject 0 (sealed as "zero") is in its file only.
struct OneHeld {
  FaultInjectionEnv env;
  std::unique_ptr<KeyStore> store;
  std::string zero, one;  // sealed
  OneHeld() {
    EXPECT_TRUE(env.create_dir(kData).is_ok());
    auto opened = KeyStore::open(&env, kData, 1);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    if (!opened) return;
    auto sealed_zero = (*opened)->seal(subject_n(0), "zero", "ad");
    auto sealed_one = (*opened)->seal(subject_n(1), "one", "ad");
    EXPECT_TRUE(sealed_zero.is_ok() && sealed_one.is_ok());
    if (!sealed_zero || !sealed_one) return;
    zero = *sealed_zero;
    one = *sealed_one;
    store = std::move(*opened);
  }
};

// A subject not held is read from its file with no lock held: meanwhile seal
// and open of the subjects held go on. (A rebuild over more data subjects
// than are held reads one file per subject; under the lock, every command's
// seal would wait for each read.)
TEST(KeyStoreBoundTest, ASubjectsFileIsReadWithNoLockHeld) {
  OneHeld s;
  ASSERT_NE(s.store, nullptr);
  Result<std::string> read_zero = Status(StatusCode::kInternal, "not run");
  bool answered = false;
  std::future<Result<std::string>> held;
  const bool stalled = while_reading_the_file_of(
      s.env, 0, [&] { read_zero = s.store->open(subject_n(0), s.zero, "ad"); },
      [&] {
        held = std::async(std::launch::async, [&] { return s.store->open(subject_n(1), s.one, "ad"); });
        answered = held.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
      });
  ASSERT_TRUE(stalled) << "the read of subject 0's file never came";
  EXPECT_TRUE(answered) << "an open of a held subject waited for another subject's file read";
  auto held_plain = held.get();
  ASSERT_TRUE(held_plain.is_ok()) << held_plain.status().to_string();
  EXPECT_EQ(*held_plain, "one");
  ASSERT_TRUE(read_zero.is_ok()) << read_zero.status().to_string();
  EXPECT_EQ(*read_zero, "zero");
}

// A file read outside the lock is not used when a file was written meanwhile:
// a tombstone written during the read is not undone by the key read before it.
TEST(KeyStoreBoundTest, ADestroyDuringAFileReadIsNotUndone) {
  OneHeld s;
  ASSERT_NE(s.store, nullptr);
  Result<std::string> read_zero = Status(StatusCode::kInternal, "not run");
  Status destroyed = Status(StatusCode::kInternal, "not run");
  bool another = false;
  const bool stalled = while_reading_the_file_of(
      s.env, 0, [&] { read_zero = s.store->open(subject_n(0), s.zero, "ad"); },
      [&] {
        // The reader holds subject 0's key file as it was: the subject is
        // destroyed, and pushed out of memory again by another subject.
        destroyed = s.store->destroy(subject_n(0));
        another = s.store->seal(subject_n(2), "two", "ad").is_ok();
      });
  ASSERT_TRUE(stalled) << "the read of subject 0's file never came";
  ASSERT_TRUE(destroyed.is_ok()) << destroyed.to_string();
  ASSERT_TRUE(another);
  EXPECT_EQ(read_zero.status().code(), StatusCode::kNotFound) << "the key read before the tombstone was used";
  EXPECT_EQ(s.store->open(subject_n(0), s.zero, "ad").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.store->destroyed(subject_n(0)));
}

// The same for a key made during the read: the read's "no file" is not used.
TEST(KeyStoreBoundTest, AKeyMadeDuringAFileReadIsFound) {
  OneHeld s;
  ASSERT_NE(s.store, nullptr);
  Result<KeyStore::Key> key_three = Status(StatusCode::kInternal, "not run");
  Result<std::string> three = Status(StatusCode::kInternal, "not run");
  bool another = false;
  const bool stalled = while_reading_the_file_of(
      s.env, 3, [&] { key_three = s.store->key_for(subject_n(3), /*create=*/false); },
      [&] {
        three = s.store->seal(subject_n(3), "three", "ad");          // makes subject 3's key
        another = s.store->seal(subject_n(2), "two", "ad").is_ok();  // and pushes it out
      });
  ASSERT_TRUE(stalled) << "the read of subject 3's file never came";
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  ASSERT_TRUE(another);
  ASSERT_TRUE(key_three.is_ok()) << "the read from before the key was made was used: "
                                 << key_three.status().to_string();
  auto key_now = s.store->key_for(subject_n(3), /*create=*/false);
  ASSERT_TRUE(key_now.is_ok());
  EXPECT_TRUE(*key_three == *key_now);
}

TEST(KeyStoreBoundTest, FileNamesMapBackToSubjects) {
  for (const std::string& s : {std::string("user:abc"), std::string("a%b/c.d"), kAlice, std::string("x")}) {
    EXPECT_EQ(KeyStore::subject_of_file_name(KeyStore::subject_file_name(s)), s);
  }
  EXPECT_FALSE(KeyStore::subject_of_file_name("user%3a.key"));  // lower-case hex is never made
  EXPECT_FALSE(KeyStore::subject_of_file_name("user%3.key"));
  EXPECT_FALSE(KeyStore::subject_of_file_name("user.secret"));
  EXPECT_FALSE(KeyStore::subject_of_file_name("a.b.key"));  // '.' would be escaped
}

}  // namespace
}  // namespace accountable
