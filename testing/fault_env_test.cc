#include "testing/fault_env.h"

#include "events/preallocated_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace accountable {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(env_.create_dir("/db").is_ok()); }

  // Creates `path` with `data`, syncs it and its folder: fully durable.
  void write_durable(const std::string& path, std::string_view data) {
    auto f = env_.new_writable_file(path);
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    ASSERT_TRUE((*f)->append(data).is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
    ASSERT_TRUE((*f)->close().is_ok());
    ASSERT_TRUE(env_.sync_dir(parent_dir(path)).is_ok());
  }

  std::unique_ptr<WritableFile> open_existing(const std::string& path) {
    auto f = env_.reopen_writable_file(path);
    EXPECT_TRUE(f.is_ok()) << f.status().to_string();
    return f.is_ok() ? std::move(*f) : nullptr;
  }

  FaultInjectionEnv env_;
};

std::string read_all(const RandomAccessFile& file, uint64_t offset, size_t n) {
  std::string scratch(n, '\0');
  std::string_view got;
  const Status s = file.read(offset, n, scratch.data(), &got);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return std::string(got);
}

TEST_F(FaultEnvTest, UnsyncedDataIsDroppedOnPowerLoss) {
  write_durable("/db/f", "synced|");
  auto f = open_existing("/db/f");
  ASSERT_TRUE(f->append("unsynced").is_ok());
  EXPECT_EQ("synced|unsynced", env_.contents("/db/f"));
  EXPECT_EQ(7u, env_.synced_size("/db/f"));
  f.reset();  // the store is closed before the simulated power loss
  env_.drop_unsynced_data();
  EXPECT_EQ("synced|", env_.contents("/db/f"));
}

// Writes over synced zeros (a preallocated tail): a power loss restores the
// zeros; a torn one keeps some 512-byte sectors of the new bytes.
TEST_F(FaultEnvTest, UnsyncedWritesOverPreallocatedZerosAreUndoneOnPowerLoss) {
  for (std::optional<uint64_t> seed : {std::optional<uint64_t>(), std::optional<uint64_t>(3)}) {
    write_durable("/db/p", "head");
    auto f = open_existing("/db/p");
    auto* p = dynamic_cast<PreallocatingFile*>(f.get());
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->preallocate(4 + 2048).is_ok());
    EXPECT_EQ(f->size(), 4u);
    ASSERT_TRUE(f->sync().is_ok());
    ASSERT_TRUE(f->append(std::string(2048, 'x')).is_ok());  // in place: the file does not grow
    EXPECT_EQ(env_.contents("/db/p"), "head" + std::string(2048, 'x'));
    f.reset();
    if (seed) {
      env_.drop_unsynced_data_torn(*seed);
    } else {
      env_.drop_unsynced_data();
    }
    const std::string after = env_.contents("/db/p");
    ASSERT_EQ(after.size(), 4u + 2048);
    EXPECT_EQ(after.substr(0, 4), "head");
    for (size_t sector = 0; sector < 4; ++sector) {  // whole sectors: all new or all zeros
      const std::string bytes = after.substr(std::max<size_t>(4, sector * 512), 512 - (sector == 0 ? 4 : 0));
      const bool kept = bytes.find_first_not_of('x') == std::string::npos;
      const bool undone = bytes.find_first_not_of('\0') == std::string::npos;
      EXPECT_TRUE(kept || undone) << "sector " << sector;
      if (!seed) {
        EXPECT_TRUE(undone);
      }
    }
  }
}

TEST_F(FaultEnvTest, SyncedDataSurvivesPowerLoss) {
  write_durable("/db/f", "part one,");
  auto f = open_existing("/db/f");
  ASSERT_TRUE(f->append("part two").is_ok());
  ASSERT_TRUE(f->sync().is_ok());
  f.reset();
  env_.drop_unsynced_data();
  EXPECT_EQ("part one,part two", env_.contents("/db/f"));
  auto r = env_.new_random_access_file("/db/f");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ("part two", read_all(**r, 9, 100));
}

TEST_F(FaultEnvTest, UnsyncedFileCreationDisappearsWithoutSyncDir) {
  auto f = env_.new_writable_file("/db/new");
  ASSERT_TRUE(f.is_ok());
  ASSERT_TRUE((*f)->append("data").is_ok());
  ASSERT_TRUE((*f)->sync().is_ok());  // the bytes are durable, the name is not
  f->reset();
  env_.drop_unsynced_data();
  EXPECT_FALSE(env_.file_exists("/db/new"));
  EXPECT_TRUE(env_.list_dir("/db")->empty());
}

TEST_F(FaultEnvTest, SyncDirMakesCreationDurable) {
  auto f = env_.new_writable_file("/db/new");
  ASSERT_TRUE(f.is_ok());
  ASSERT_TRUE((*f)->append("data").is_ok());
  ASSERT_TRUE((*f)->sync().is_ok());
  ASSERT_TRUE(env_.sync_dir("/db").is_ok());
  f->reset();
  env_.drop_unsynced_data();
  EXPECT_EQ("data", env_.contents("/db/new"));
}

TEST_F(FaultEnvTest, UnsyncedRenameIsReverted) {
  write_durable("/db/a", "content");
  ASSERT_TRUE(env_.rename_file("/db/a", "/db/b").is_ok());
  EXPECT_FALSE(env_.file_exists("/db/a"));
  env_.drop_unsynced_data();
  EXPECT_EQ("content", env_.contents("/db/a"));
  EXPECT_FALSE(env_.file_exists("/db/b"));

  ASSERT_TRUE(env_.rename_file("/db/a", "/db/b").is_ok());
  ASSERT_TRUE(env_.sync_dir("/db").is_ok());
  env_.drop_unsynced_data();
  EXPECT_FALSE(env_.file_exists("/db/a"));
  EXPECT_EQ("content", env_.contents("/db/b"));
}

TEST_F(FaultEnvTest, RenameAcrossFoldersNeedsBothFoldersSynced) {
  ASSERT_TRUE(env_.create_dir("/db/archive").is_ok());
  write_durable("/db/a", "content");
  ASSERT_TRUE(env_.rename_file("/db/a", "/db/archive/a").is_ok());
  ASSERT_TRUE(env_.sync_dir("/db/archive").is_ok());  // only the new name is durable
  env_.drop_unsynced_data();
  EXPECT_TRUE(env_.file_exists("/db/a"));
  EXPECT_TRUE(env_.file_exists("/db/archive/a"));
}

TEST_F(FaultEnvTest, UnsyncedRemovalIsUndone) {
  write_durable("/db/f", "keep me");
  ASSERT_TRUE(env_.remove_file("/db/f").is_ok());
  EXPECT_FALSE(env_.file_exists("/db/f"));
  env_.drop_unsynced_data();
  EXPECT_EQ("keep me", env_.contents("/db/f"));

  ASSERT_TRUE(env_.remove_file("/db/f").is_ok());
  ASSERT_TRUE(env_.sync_dir("/db").is_ok());
  env_.drop_unsynced_data();
  EXPECT_FALSE(env_.file_exists("/db/f"));
}

TEST_F(FaultEnvTest, RecreatingAFileLosesTheOldContentAtOnce) {
  write_durable("/db/f", "old");
  auto f = env_.new_writable_file("/db/f");  // O_TRUNC: pessimistically durable
  ASSERT_TRUE(f.is_ok());
  ASSERT_TRUE((*f)->append("new").is_ok());
  f->reset();
  env_.drop_unsynced_data();
  EXPECT_TRUE(env_.file_exists("/db/f"));
  EXPECT_EQ("", env_.contents("/db/f"));
}

TEST_F(FaultEnvTest, TruncateFileIsDurable) {
  write_durable("/db/f", "0123456789");
  ASSERT_TRUE(env_.truncate_file("/db/f", 4).is_ok());
  env_.drop_unsynced_data();
  EXPECT_EQ("0123", env_.contents("/db/f"));
}

TEST_F(FaultEnvTest, WriteFileAtomicallyIsDurableWhenItReturns) {
  write_durable("/db/META", "v1");
  ASSERT_TRUE(env_.write_file_atomically("/db/META", "v2").is_ok());
  env_.drop_unsynced_data();
  EXPECT_EQ("v2", env_.contents("/db/META"));
  EXPECT_FALSE(env_.file_exists("/db/META.tmp"));
}

TEST_F(FaultEnvTest, WriteFileAtomicallyKeepsOldContentWhenSyncFails) {
  write_durable("/db/META", "v1");
  env_.fail_syncs(1);
  const Status s = env_.write_file_atomically("/db/META", "v2");
  EXPECT_EQ(StatusCode::kIOError, s.code());
  EXPECT_EQ("v1", env_.contents("/db/META"));
  EXPECT_FALSE(env_.file_exists("/db/META.tmp"));
  env_.drop_unsynced_data();
  EXPECT_EQ("v1", env_.contents("/db/META"));
}

TEST_F(FaultEnvTest, FailedSyncKeepsDataNonDurable) {
  write_durable("/db/f", "");
  auto f = open_existing("/db/f");
  ASSERT_TRUE(f->append("payload").is_ok());
  const int calls_before = env_.sync_calls();
  env_.fail_syncs(1);
  const Status failed = f->sync();
  EXPECT_EQ(StatusCode::kIOError, failed.code());
  EXPECT_EQ("fdatasync /db/f: Input/output error", failed.message());
  EXPECT_EQ(0u, env_.synced_size("/db/f"));
  EXPECT_EQ(calls_before + 1, env_.sync_calls());
  f.reset();
  env_.drop_unsynced_data();
  EXPECT_EQ("", env_.contents("/db/f"));
}

TEST_F(FaultEnvTest, OnlyTheRequestedNumberOfSyncsFail) {
  write_durable("/db/f", "");
  auto f = open_existing("/db/f");
  ASSERT_TRUE(f->append("x").is_ok());
  env_.fail_syncs(2, ENOSPC);
  EXPECT_NE(std::string::npos, f->sync().message().find("No space left on device"));
  EXPECT_NE(std::string::npos, env_.sync_dir("/db").message().find("fsync /db: No space left on device"));
  EXPECT_TRUE(f->sync().is_ok());
  EXPECT_EQ(1u, env_.synced_size("/db/f"));
}

TEST_F(FaultEnvTest, FailedSyncDirKeepsCreationNonDurable) {
  auto f = env_.new_writable_file("/db/new");
  ASSERT_TRUE(f.is_ok());
  ASSERT_TRUE((*f)->sync().is_ok());
  env_.fail_syncs(1);
  EXPECT_EQ(StatusCode::kIOError, env_.sync_dir("/db").code());
  f->reset();
  env_.drop_unsynced_data();
  EXPECT_FALSE(env_.file_exists("/db/new"));
}

TEST_F(FaultEnvTest, CapacityWritesThePrefixThatFitsThenFailsWithEnospc) {
  write_durable("/db/a", "1234");
  env_.set_capacity(10);
  auto b = env_.new_writable_file("/db/b");
  ASSERT_TRUE(b.is_ok());
  const Status s = (*b)->append("abcdefghij");
  EXPECT_EQ(StatusCode::kNoSpace, s.code());
  EXPECT_EQ("write /db/b: No space left on device", s.message());
  EXPECT_EQ("abcdef", env_.contents("/db/b"));
  EXPECT_EQ(6u, (*b)->size());
  EXPECT_FALSE((*b)->append("z").is_ok());  // still full
  ASSERT_TRUE(env_.remove_file("/db/a").is_ok());
  EXPECT_TRUE((*b)->append("z").is_ok());  // room again
  EXPECT_EQ("abcdefz", env_.contents("/db/b"));
  // A failed append's prefix can be cut off again.
  ASSERT_TRUE((*b)->truncate(3).is_ok());
  EXPECT_EQ("abc", env_.contents("/db/b"));
  EXPECT_EQ(3u, (*b)->size());
  EXPECT_FALSE((*b)->truncate(4).is_ok());  // never grows
}

TEST_F(FaultEnvTest, ShortWriteKeepsAPrefixAndFailsWithEio) {
  write_durable("/db/f", "");
  auto f = open_existing("/db/f");
  env_.short_write_next(3);
  const Status s = f->append("abcdef");
  EXPECT_EQ(StatusCode::kIOError, s.code());
  EXPECT_EQ("write /db/f: Input/output error", s.message());
  EXPECT_EQ("abc", env_.contents("/db/f"));
  EXPECT_TRUE(f->append("XYZ").is_ok());  // only the next append was torn
  EXPECT_EQ("abcXYZ", env_.contents("/db/f"));
}

// Builds the same history in a fresh env and tears it with `seed`.
std::string torn_result(uint64_t seed, const std::string& synced, const std::string& unsynced) {
  FaultInjectionEnv env;
  EXPECT_TRUE(env.create_dir("/db").is_ok());
  {
    auto f = env.new_writable_file("/db/f");
    EXPECT_TRUE(f.is_ok());
    EXPECT_TRUE((*f)->append(synced).is_ok());
    EXPECT_TRUE((*f)->sync().is_ok());
    EXPECT_TRUE(env.sync_dir("/db").is_ok());
    EXPECT_TRUE((*f)->append(unsynced).is_ok());
  }
  env.drop_unsynced_data_torn(seed);
  return env.contents("/db/f");
}

TEST(FaultEnvTorn, TornDropKeepsAPrefixDeterministically) {
  const std::string synced = "durable header|";
  std::string unsynced;
  for (int i = 0; i < 1000; ++i) unsynced += static_cast<char>('a' + i % 26);

  int partial = 0, garbled = 0;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const std::string got = torn_result(seed, synced, unsynced);
    EXPECT_EQ(got, torn_result(seed, synced, unsynced)) << "seed " << seed;  // deterministic
    ASSERT_GE(got.size(), synced.size());
    ASSERT_LE(got.size(), synced.size() + unsynced.size());
    EXPECT_EQ(synced, got.substr(0, synced.size())) << "synced bytes are never torn";
    const std::string kept = got.substr(synced.size());
    size_t differing = 0;
    for (size_t i = 0; i < kept.size(); ++i) differing += kept[i] != unsynced[i];
    EXPECT_LE(differing, 4u);
    partial += kept.size() > 0 && kept.size() < unsynced.size();
    garbled += differing > 0;
  }
  EXPECT_GT(partial, 0);
  EXPECT_GT(garbled, 0);
  EXPECT_LT(garbled, 64);
}

TEST_F(FaultEnvTest, TornDropStillUndoesUnsyncedCreations) {
  auto f = env_.new_writable_file("/db/new");
  ASSERT_TRUE(f.is_ok());
  ASSERT_TRUE((*f)->append("data").is_ok());
  f->reset();
  env_.drop_unsynced_data_torn(7);
  EXPECT_FALSE(env_.file_exists("/db/new"));
}

TEST_F(FaultEnvTest, CorruptByteFlipsDurableAndCurrentContent) {
  write_durable("/db/f", "abcd");
  ASSERT_TRUE(env_.corrupt_byte("/db/f", 1).is_ok());
  EXPECT_EQ("accd", env_.contents("/db/f"));  // 'b' ^ 0x01
  ASSERT_TRUE(env_.corrupt_byte("/db/f", 3, 0x20).is_ok());
  EXPECT_EQ("accD", env_.contents("/db/f"));
  env_.drop_unsynced_data();
  EXPECT_EQ("accD", env_.contents("/db/f"));

  EXPECT_EQ(StatusCode::kInvalidArgument, env_.corrupt_byte("/db/f", 4).code());
  EXPECT_EQ(StatusCode::kNotFound, env_.corrupt_byte("/db/missing", 0).code());
}

TEST_F(FaultEnvTest, RandomAccessSeesLaterAppends) {
  write_durable("/db/f", "");
  auto r = env_.new_random_access_file("/db/f", 1 << 20);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE((*r)->zero_copy());
  EXPECT_EQ("", read_all(**r, 0, 10));
  auto f = open_existing("/db/f");
  ASSERT_TRUE(f->append("0123456789").is_ok());
  EXPECT_EQ("0123456789", read_all(**r, 0, 100));
  EXPECT_EQ("789", read_all(**r, 7, 100));  // short at the end of the file
  EXPECT_EQ("", read_all(**r, 10, 5));

  std::string scratch(4, '\0');
  std::string_view got;
  ASSERT_TRUE((*r)->read(2, 4, scratch.data(), &got).is_ok());
  EXPECT_EQ(scratch.data(), got.data());
  EXPECT_EQ("2345", got);
}

TEST_F(FaultEnvTest, HandlesAreInvalidatedByPowerLoss) {
  write_durable("/db/f", "abc");
  auto f = open_existing("/db/f");
  auto r = env_.new_random_access_file("/db/f");
  ASSERT_TRUE(r.is_ok());
  env_.drop_unsynced_data();

  const Status s = f->append("x");
  EXPECT_EQ(StatusCode::kIOError, s.code());
  EXPECT_EQ("write /db/f: file handle invalidated by simulated power loss", s.message());
  EXPECT_FALSE(f->sync().is_ok());
  EXPECT_TRUE(f->close().is_ok());  // a store can still shut down
  std::string scratch(3, '\0');
  std::string_view got;
  EXPECT_FALSE((*r)->read(0, 3, scratch.data(), &got).is_ok());
  EXPECT_EQ("abc", env_.contents("/db/f"));  // nothing leaked through the stale handle
}

TEST_F(FaultEnvTest, LockFileIsExclusiveInProcess) {
  auto first = env_.lock_file("/db/LOCK");
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(std::to_string(::getpid()) + "\n", env_.contents("/db/LOCK"));

  auto second = env_.lock_file("/db/LOCK");
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(StatusCode::kLocked, second.status().code());
  EXPECT_EQ("data folder is in use by pid " + std::to_string(::getpid()) + " (lock file /db/LOCK)",
            second.status().message());

  first->reset();
  EXPECT_TRUE(env_.lock_file("/db/LOCK").is_ok());
}

TEST_F(FaultEnvTest, PowerLossReleasesLocks) {
  auto old_holder = env_.lock_file("/db/LOCK");
  ASSERT_TRUE(old_holder.is_ok());
  env_.drop_unsynced_data();
  auto new_holder = env_.lock_file("/db/LOCK");
  ASSERT_TRUE(new_holder.is_ok()) << new_holder.status().to_string();
  old_holder->reset();  // the dead holder's release must not free the new lock
  EXPECT_EQ(StatusCode::kLocked, env_.lock_file("/db/LOCK").status().code());
}

TEST_F(FaultEnvTest, FilesNeedAnExistingFolder) {
  auto f = env_.new_writable_file("/nope/f");
  ASSERT_FALSE(f.is_ok());
  EXPECT_EQ(StatusCode::kNotFound, f.status().code());
  EXPECT_EQ("open /nope/f: No such file or directory", f.status().message());
  EXPECT_EQ(StatusCode::kNotFound, env_.create_dir("/nope/sub").code());
  EXPECT_EQ(StatusCode::kNotFound, env_.list_dir("/nope").status().code());
}

TEST_F(FaultEnvTest, ListDirNamesFilesAndFolders) {
  write_durable("/db/a", "1");
  write_durable("/db/b", "2");
  ASSERT_TRUE(env_.create_dir("/db/sub/").is_ok());
  write_durable("/db/sub/c", "3");
  auto names = env_.list_dir("/db");
  ASSERT_TRUE(names.is_ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "sub"}), *names);
  EXPECT_EQ((std::vector<std::string>{"db"}), *env_.list_dir("/"));
}

TEST_F(FaultEnvTest, ConcurrentAppendsAndReadsAreSafe) {
  constexpr int kRecords = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([this, t] {
      auto f = env_.new_writable_file("/db/f" + std::to_string(t));
      ASSERT_TRUE(f.is_ok());
      for (int i = 0; i < kRecords; ++i) {
        ASSERT_TRUE((*f)->append("record;").is_ok());
        if (i % 100 == 0) {
          ASSERT_TRUE((*f)->sync().is_ok());
        }
      }
    });
  }
  threads.emplace_back([this] {
    for (int i = 0; i < kRecords; ++i) {
      auto r = env_.new_random_access_file("/db/f0");
      if (!r.is_ok()) continue;  // not created yet
      std::string scratch(7, '\0');
      std::string_view got;
      ASSERT_TRUE((*r)->read(0, 7, scratch.data(), &got).is_ok());
      ASSERT_TRUE(got.empty() || got == "record;");
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(7u * kRecords, *env_.file_size("/db/f0"));
  EXPECT_EQ(7u * kRecords, *env_.file_size("/db/f1"));
}

}  // namespace
}  // namespace accountable
