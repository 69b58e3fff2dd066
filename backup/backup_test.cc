// take_backup and restore_backup on real folders: a copy taken while a writer
// appends, a torn tail cut, purges never undone, refusals that write nothing,
// and the round trip through restore, verify and AccountStack::open.
#include "backup/backup.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/account_stack.h"
#include "backup/manifest.h"
#include "backup/restore.h"
#include "events/log_format.h"
#include "events/log_scanner.h"
#include "events/log_verify.h"
#include "events/tree_verify.h"
#include "events/signed_checkpoint.h"
#include "schema/domain_events.h"
#include "testing/log_test_util.h"

namespace accountable {
namespace {

namespace fs = std::filesystem;
using testing::make_commit;

const PartnerId kPartner = *PartnerId::parse("6f1c0e52-3a4b-4c5d-8e9f-0a1b2c3d4e5f");

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/backup_test.XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(tmpl));
    root_ = tmpl;
    data_ = root_ + "/data";
    dest_ = root_ + "/backup";
    restored_ = root_ + "/restored";
  }
  void TearDown() override {
    stack_.reset();
    fs::remove_all(root_);
  }

  void open_stack(uint64_t sign_every_events = 10'000) {
    AccountStackOptions o;
    o.data_dir = data_;
    o.credentials.opslimit = crypto_pwhash_OPSLIMIT_MIN;
    o.credentials.memlimit = crypto_pwhash_MEMLIMIT_MIN;
    o.sign_every_events = sign_every_events;
    auto s = AccountStack::open(o);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    stack_ = std::move(*s);
  }

  void append(int commits, const std::string& stream = "stream-a", const std::string& type = "Happened",
              const std::string& partner = "") {
    for (int i = 0; i < commits; ++i) {
      auto r = stack_->log().append(make_commit(stream, ExpectedVersion::any(), 2, partner, type));
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    }
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  // A one-segment log's bytes up to its last commit, without the zero-filled
  // tail the writer keeps after it (docs/log-format.md, "Preallocated segments").
  static std::string commits_of(const std::string& path) {
    std::string bytes = read(path);
    ScanState state;
    state.zero_tail_ends = zero_tail_allowed(bytes, /*last_segment=*/true);
    bytes.resize(scan_commits(bytes, log_format::kSegmentHeaderSize, state, nullptr).end_offset);
    return bytes;
  }
  std::string last_segment(const std::string& dir) const {
    std::string last;
    for (const auto& e : fs::directory_iterator(dir + "/log")) last = std::max(last, e.path().string());
    return last;
  }

  Result<BackupReport> backup(std::function<void()> hook = {}) {
    BackupOptions o;
    o.data_dir = data_;
    o.dest_dir = dest_;
    o.after_log_copied = std::move(hook);
    return take_backup(o);
  }
  Result<RestoreReport> restore() {
    RestoreOptions o;
    o.backup_dir = dest_;
    o.data_dir = restored_;
    return restore_backup(o);
  }

  std::string root_, data_, dest_, restored_;
  std::unique_ptr<AccountStack> stack_;
};

// The server's situation: the log is open (DATA/LOCK held) and a writer
// appends throughout. The copy verifies, with its signatures, and is a prefix
// of the live log (same hash at its head).
TEST_F(BackupTest, ACopyTakenWhileAWriterAppendsVerifiesAndIsAPrefixOfTheLog) {
  open_stack(/*sign_every_events=*/10);
  append(20);
  // Wait (bounded) for the signer's background thread to sign once.
  auto signed_count = [&] {
    auto c = read_signed_checkpoints(posix_env(), data_);
    return c.is_ok() ? c->size() : 0;
  };
  for (int i = 0; i < 100 && signed_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_GE(signed_count(), 1u) << "no checkpoint was signed";

  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::thread writer([&] {
    while (!stop.load() && appended.load() < 5000) {
      if (!stack_->log().append(make_commit("stream-b", ExpectedVersion::any(), 3)).is_ok()) return;
      appended.fetch_add(1);
    }
  });
  while (appended.load() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto report = backup();
  stop.store(true);
  writer.join();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_GT(appended.load(), 50) << "the writer did not run alongside the backup";

  const GlobalPosition head = report->manifest.head;
  EXPECT_GE(head.value(), 40u + 150u);
  EXPECT_LE(head, stack_->log().head());
  auto at_head = stack_->log().read_all(head, 1);
  ASSERT_TRUE(at_head.is_ok());
  ASSERT_EQ(1u, at_head->events.size());
  EXPECT_EQ(at_head->events[0].hash, report->manifest.head_hash) << "the copy is not a prefix of the live log";

  auto key = read_public_key_file(posix_env(), signing_pub_path(dest_));
  ASSERT_TRUE(key.is_ok()) << key.status().to_string();
  auto verified = verify_signed_log(posix_env(), dest_, *key);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_TRUE(verified->log.ok());
  EXPECT_TRUE(verified->signatures.ok()) << verified->signatures.problem->message;
  EXPECT_GE(verified->signatures.verified, 1u);
  EXPECT_EQ(head, verified->log.head);
  EXPECT_TRUE(fs::exists(dest_ + "/MANIFEST"));
  EXPECT_FALSE(fs::exists(dest_ + "/LOCK")) << "the backup must not look like a folder in use";
}

// A batch being written when the backup reads the tail: its bytes are cut at
// the last whole commit, in the copy only; the source is not touched.
TEST_F(BackupTest, ATornTailIsCutAtTheLastWholeCommitAndTheSourceIsLeftAlone) {
  open_stack();
  append(10);
  const GlobalPosition head = stack_->log().head();
  ASSERT_TRUE(stack_->close().is_ok());
  stack_.reset();
  const std::string seg = last_segment(data_);
  const std::string before = commits_of(seg);
  // Half of a real commit frame (the last one, copied), then nothing: what a
  // reader sees while write(2) is halfway through a batch.
  const std::string half = before.substr(before.size() - 200, 120);
  write(seg, before + half);

  auto report = backup();
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(head, report->manifest.head);
  EXPECT_EQ(half.size(), report->torn_bytes);
  const std::string copied = read(dest_ + "/log/" + fs::path(seg).filename().string());
  EXPECT_EQ(before, copied) << "the copy must end at the last whole commit";
  EXPECT_EQ(before + half, read(seg)) << "backup wrote into the source";
  auto verified = verify_log(posix_env(), dest_);
  ASSERT_TRUE(verified.is_ok());
  EXPECT_TRUE(verified->ok());
  EXPECT_FALSE(verified->torn_tail.has_value());
}

// Damage before the tail (a later commit proves the bad one was acknowledged)
// is not a torn tail: the backup refuses and writes no MANIFEST.
TEST_F(BackupTest, DamageBeforeTheTailIsRefusedAndNoManifestIsWritten) {
  open_stack();
  append(10);
  ASSERT_TRUE(stack_->close().is_ok());
  stack_.reset();
  const std::string seg = last_segment(data_);
  std::string bytes = commits_of(seg);
  bytes[bytes.size() / 2] ^= 0x10;
  write(seg, bytes);

  auto report = backup();
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(StatusCode::kCorruption, report.status().code());
  EXPECT_NE(std::string::npos, report.status().message().find(fs::path(seg).filename().string()))
      << report.status().message();
  EXPECT_NE(std::string::npos, report.status().message().find("incomplete copy without a MANIFEST"))
      << report.status().message();
  EXPECT_FALSE(fs::exists(dest_ + "/MANIFEST"));
  // And such a half-made backup is refused by restore.
  auto restored = restore();
  ASSERT_FALSE(restored.is_ok());
  EXPECT_NE(std::string::npos, restored.status().message().find("MANIFEST")) << restored.status().message();
  EXPECT_FALSE(fs::exists(restored_));
}

TEST_F(BackupTest, ANonEmptyDestinationIsRefusedAndNothingIsWritten) {
  open_stack();
  append(3);
  fs::create_directories(dest_);
  write(dest_ + "/notes.txt", "mine");
  auto report = backup();
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(StatusCode::kAlreadyExists, report.status().code());
  EXPECT_EQ("to", report.status().field());
  EXPECT_NE(std::string::npos, report.status().message().find(dest_)) << report.status().message();
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dest_)) entries.push_back(e.path().filename().string());
  EXPECT_EQ(std::vector<std::string>{"notes.txt"}, entries);
  EXPECT_EQ("mine", read(dest_ + "/notes.txt"));

  // An empty folder is fine, for backup and for restore.
  fs::remove(dest_ + "/notes.txt");
  ASSERT_TRUE(backup().is_ok());
  fs::create_directories(restored_);
  write(restored_ + "/LOCK", "1\n");
  auto restored = restore();
  ASSERT_FALSE(restored.is_ok());
  EXPECT_EQ("data", restored.status().field());
  EXPECT_FALSE(fs::exists(restored_ + "/log"));
  EXPECT_FALSE(fs::exists(restored_ + ".restoring"));
  fs::remove(restored_ + "/LOCK");
  EXPECT_TRUE(restore().is_ok());
}

// Crypto-shredding is never undone by a backup:
//  - a key destroyed before the backup is a tombstone in the copy;
//  - a key destroyed while the backup runs (after the log was read) too,
//    because keys are read after the log;
//  - a UserPurged in the copied log whose key the source has not destroyed
//    yet (the after-commit effect had not run) is applied to the copy.
TEST_F(BackupTest, PurgedKeysStayDestroyedInTheCopy) {
  open_stack();
  const UserId before = UserId::random(), during = UserId::random(), committed = UserId::random(),
               kept = UserId::random();
  for (const UserId& u : {before, during, committed, kept}) {
    ASSERT_TRUE(stack_->keys().key_for(user_subject(u), true).is_ok());
    ASSERT_TRUE(stack_->credentials().issue_temporary_password(kPartner, u).is_ok());
  }
  append(2);
  ASSERT_TRUE(stack_->keys().destroy(user_subject(before)).is_ok());
  // The purge of `committed` is in the log; its key is still there.
  append(1, "user-" + committed.to_string(), std::string(UserPurged::kType), kPartner.to_string());

  auto report = backup([&] { ASSERT_TRUE(stack_->keys().destroy(user_subject(during)).is_ok()); });
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_EQ(1u, report->purges_applied);
  EXPECT_FALSE(stack_->keys().destroyed(user_subject(committed))) << "backup changed the source's key store";

  auto keys = KeyStore::open(posix_env(), dest_);
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  EXPECT_TRUE((*keys)->destroyed(user_subject(before)));
  EXPECT_TRUE((*keys)->destroyed(user_subject(during)));
  EXPECT_TRUE((*keys)->destroyed(user_subject(committed)));
  EXPECT_EQ(StatusCode::kRuleViolated, (*keys)->key_for(user_subject(committed), true).status().code());
  auto kept_key = (*keys)->key_for(user_subject(kept), false);
  ASSERT_TRUE(kept_key.is_ok());
  EXPECT_EQ(*stack_->keys().key_for(user_subject(kept), false), *kept_key);
  auto credentials = CredentialStore::open(posix_env(), dest_);
  ASSERT_TRUE(credentials.is_ok());
  EXPECT_EQ(3u, (*credentials)->size()) << "the purged user's credential must be erased in the copy";

  // The manifest lists the tombstone as it is in the copy (restore checks it).
  ASSERT_TRUE(restore().is_ok());
  auto restored_keys = KeyStore::open(posix_env(), restored_);
  ASSERT_TRUE(restored_keys.is_ok());
  EXPECT_TRUE((*restored_keys)->destroyed(user_subject(committed)));
}

TEST_F(BackupTest, RestoreGivesAFolderThatVerifiesAndOpens) {
  open_stack(/*sign_every_events=*/5);
  const UserId user = UserId::random();
  auto key = stack_->keys().key_for(user_subject(user), true);
  ASSERT_TRUE(key.is_ok());
  append(30);
  ASSERT_TRUE(stack_->close().is_ok());  // signs the head
  stack_.reset();

  auto taken = backup();
  ASSERT_TRUE(taken.is_ok()) << taken.status().to_string();
  auto restored = restore();
  ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
  EXPECT_EQ(taken->manifest.head, restored->manifest.head);
  EXPECT_EQ(taken->bytes, restored->bytes);
  EXPECT_FALSE(fs::exists(restored_ + ".restoring"));

  auto public_key = read_public_key_file(posix_env(), signing_pub_path(data_));
  ASSERT_TRUE(public_key.is_ok());
  auto verified = verify_signed_log(posix_env(), restored_, *public_key);
  ASSERT_TRUE(verified.is_ok());
  EXPECT_TRUE(verified->ok());
  EXPECT_EQ(60u, verified->log.head.value());
  EXPECT_EQ(60u, verified->signatures.last_verified_position) << "the final signature was not carried over";

  data_ = restored_;
  open_stack();
  EXPECT_EQ(60u, stack_->log().head().value());
  EXPECT_EQ(*key, *stack_->keys().key_for(user_subject(user), false));
  append(1);  // the restored folder takes new commits
  EXPECT_EQ(62u, stack_->log().head().value());
}

TEST_F(BackupTest, ABackupThatDoesNotMatchItsManifestIsRefusedNamingTheFile) {
  open_stack();
  ASSERT_TRUE(stack_->keys().key_for(user_subject(UserId::random()), true).is_ok());
  append(5);
  ASSERT_TRUE(stack_->close().is_ok());
  stack_.reset();
  auto taken = backup();
  ASSERT_TRUE(taken.is_ok()) << taken.status().to_string();
  const std::string manifest = read(dest_ + "/MANIFEST");

  auto expect_refused = [&](const std::string& what, const std::string& names) {
    auto r = restore();
    ASSERT_FALSE(r.is_ok()) << what;
    EXPECT_EQ(StatusCode::kCorruption, r.status().code()) << what;
    EXPECT_NE(std::string::npos, r.status().message().find(names)) << what << ": " << r.status().message();
    EXPECT_FALSE(fs::exists(restored_)) << what << ": restore wrote into DIR";
    EXPECT_FALSE(fs::exists(restored_ + ".restoring")) << what;
  };

  // A flipped byte in a key file.
  std::string key_file;
  for (const auto& e : fs::directory_iterator(dest_ + "/keys/subjects")) key_file = e.path().string();
  const std::string key_bytes = read(key_file);
  std::string flipped = key_bytes;
  flipped[20] ^= 1;
  write(key_file, flipped);
  expect_refused("flipped key byte", "keys/subjects/" + fs::path(key_file).filename().string());
  write(key_file, key_bytes);

  // A segment cut short.
  const std::string seg = last_segment(dest_);
  const std::string seg_bytes = read(seg);
  write(seg, seg_bytes.substr(0, seg_bytes.size() - 1));
  expect_refused("short segment", "log/" + fs::path(seg).filename().string());
  write(seg, seg_bytes);

  // The manifest edited: another head, then a size.
  const std::string head = "\"head_position\":" + std::to_string(taken->manifest.head.value());
  ASSERT_NE(std::string::npos, manifest.find(head));
  std::string edited = manifest;
  edited.replace(edited.find(head), head.size(), "\"head_position\":3");
  write(dest_ + "/MANIFEST", edited);
  expect_refused("edited head", "MANIFEST");
  edited = manifest;
  edited.replace(edited.find("\"size\":"), 7, "\"size\":1");
  write(dest_ + "/MANIFEST", edited);
  expect_refused("edited size", "size");
  write(dest_ + "/MANIFEST", "{\"format\":\"accountable-backup\"");
  expect_refused("truncated manifest", "MANIFEST");

  // A file that the manifest does not list.
  write(dest_ + "/MANIFEST", manifest);
  write(dest_ + "/keys/subjects/extra.key", "x");
  expect_refused("unlisted file", "keys/subjects/extra.key");
  fs::remove(dest_ + "/keys/subjects/extra.key");

  // No manifest at all: a half-made backup.
  fs::remove(dest_ + "/MANIFEST");
  expect_refused("no manifest", "MANIFEST");

  write(dest_ + "/MANIFEST", manifest);
  EXPECT_TRUE(restore().is_ok()) << "the untouched backup must restore";
}

TEST(ManifestTest, RoundTripsAndRefusesPathsOutsideADataFolder) {
  Manifest m;
  m.created_at = Timestamp{1'700'000'000'000'000};
  m.source = "/srv/data";
  m.head = GlobalPosition(42);
  m.head_hash[0] = 0xab;
  m.files = {BackupFile{"keys/signing.key", 48, sha256("k")}, BackupFile{"log/seg-00000000000000000001.log", 900,
                                                                          sha256("s")}};
  auto parsed = parse_manifest(encode_manifest(m));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(m.head, parsed->head);
  EXPECT_EQ(m.head_hash, parsed->head_hash);
  ASSERT_EQ(2u, parsed->files.size());
  EXPECT_EQ(m.files[1].path, parsed->files[1].path);
  EXPECT_EQ(m.files[1].sha256, parsed->files[1].sha256);
  EXPECT_EQ(m.created_at, parsed->created_at);

  for (const char* path : {"LOCK", "../etc/passwd", "/etc/passwd", "log/../LOCK", "keys/subjects/a/b.key",
                           "index/checkpoint", "views/catalog.db", "keys/subjects/.key", "log/seg-1.log"}) {
    EXPECT_FALSE(is_backup_path(path)) << path;
    Manifest bad = m;
    bad.files = {BackupFile{path, 1, {}}};
    auto r = parse_manifest(encode_manifest(bad));
    ASSERT_FALSE(r.is_ok()) << path;
    EXPECT_EQ("files[0].path", r.status().field()) << path;
  }
  EXPECT_TRUE(is_backup_path("keys/subjects/user%3A6f1c0e52-3a4b-4c5d-8e9f-0a1b2c3d4e5f.key"));
  EXPECT_TRUE(is_backup_path("keys/partners/6f1c0e52-3a4b-4c5d-8e9f-0a1b2c3d4e5f.secret"));

  Manifest later = m;
  later.version = 2;
  auto r = parse_manifest(encode_manifest(later));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ("version", r.status().field());
}

}  // namespace
}  // namespace accountable
