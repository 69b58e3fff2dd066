#include "events/env.h"

#include "events/preallocated_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace accountable {
namespace {

// A fresh folder under /tmp per test, removed afterwards.
class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/acct-env-test-XXXXXX";
    ASSERT_NE(nullptr, ::mkdtemp(tmpl));
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return join_path(dir_, name); }

  void write(const std::string& name, std::string_view data) {
    auto f = env_->new_writable_file(path(name));
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    ASSERT_TRUE((*f)->append(data).is_ok());
    ASSERT_TRUE((*f)->close().is_ok());
  }

  Env* env_ = posix_env();
  std::string dir_;
};

std::string read_all(const RandomAccessFile& file, uint64_t offset, size_t n) {
  std::string scratch(n, '\0');
  std::string_view got;
  const Status s = file.read(offset, n, scratch.data(), &got);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  return std::string(got);
}

TEST(EnvPaths, ParentDir) {
  EXPECT_EQ("/a/b", parent_dir("/a/b/c"));
  EXPECT_EQ("/a", parent_dir("/a/b/"));
  EXPECT_EQ("/", parent_dir("/a"));
  EXPECT_EQ("/", parent_dir("/"));
  EXPECT_EQ(".", parent_dir("file"));
  EXPECT_EQ(".", parent_dir(""));
  EXPECT_EQ("a", parent_dir("a/b"));
  EXPECT_EQ("a", parent_dir("a//b"));
}

TEST(EnvPaths, JoinPath) {
  EXPECT_EQ("/a/b", join_path("/a", "b"));
  EXPECT_EQ("/a/b", join_path("/a/", "b"));
  EXPECT_EQ("/b", join_path("/", "b"));
  EXPECT_EQ("b", join_path("", "b"));
}

TEST_F(PosixEnvTest, CreateDirsMakesEveryMissingLevelAndNamesTheOneInTheWay) {
  const std::string deep = path("a/b/c");
  ASSERT_TRUE(create_dirs(env_, deep).is_ok());
  EXPECT_TRUE(std::filesystem::is_directory(deep));
  EXPECT_TRUE(create_dirs(env_, deep).is_ok());  // already there
  write("file", "x");
  const Status blocked = create_dirs(env_, path("file/d/e"));
  EXPECT_FALSE(blocked.is_ok());
  EXPECT_NE(blocked.to_string().find(path("file/d")), std::string::npos) << blocked.to_string();
}

TEST_F(PosixEnvTest, WriteSyncReadRoundTrip) {
  auto f = env_->new_writable_file(path("seg-1.log"));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_TRUE((*f)->append("hello ").is_ok());
  ASSERT_TRUE((*f)->append("world").is_ok());
  EXPECT_EQ(11u, (*f)->size());
  ASSERT_TRUE((*f)->sync().is_ok());
  ASSERT_TRUE((*f)->close().is_ok());
  ASSERT_TRUE((*f)->close().is_ok());  // idempotent
  EXPECT_FALSE((*f)->append("x").is_ok());

  EXPECT_TRUE(env_->file_exists(path("seg-1.log")));
  auto size = env_->file_size(path("seg-1.log"));
  ASSERT_TRUE(size.is_ok());
  EXPECT_EQ(11u, *size);
  auto content = env_->read_file(path("seg-1.log"));
  ASSERT_TRUE(content.is_ok());
  EXPECT_EQ("hello world", *content);
  ASSERT_TRUE(env_->sync_dir(dir_).is_ok());
}

TEST_F(PosixEnvTest, NewWritableFileTruncatesExistingFile) {
  write("f", "old content");
  write("f", "new");
  EXPECT_EQ("new", *env_->read_file(path("f")));
}

TEST_F(PosixEnvTest, ReopenWritableFileAppendsAtEnd) {
  write("f", "abc");
  auto f = env_->reopen_writable_file(path("f"));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(3u, (*f)->size());
  ASSERT_TRUE((*f)->append("def").is_ok());
  EXPECT_EQ(6u, (*f)->size());
  ASSERT_TRUE((*f)->sync().is_ok());
  EXPECT_EQ("abcdef", *env_->read_file(path("f")));
}

// A preallocated segment reopened (O_APPEND) at its last commit: appends go
// over the zeros, never after them.
TEST_F(PosixEnvTest, AppendsGoOverPreallocatedZerosAfterAReopen) {
  constexpr uint64_t kLength = (3u << 20) + 5;  // several 1 MiB pieces of zeros
  {
    auto f = env_->new_writable_file(path("seg"));
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    auto* p = dynamic_cast<PreallocatingFile*>(f->get());
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE((*f)->append("head").is_ok());
    ASSERT_TRUE(p->preallocate(kLength).is_ok());
    EXPECT_EQ((*f)->size(), 4u);
    EXPECT_EQ(p->allocated(), kLength);
    ASSERT_TRUE((*f)->append("-one").is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
    ASSERT_TRUE((*f)->close().is_ok());
  }
  EXPECT_EQ(*env_->file_size(path("seg")), kLength);
  {
    auto f = env_->reopen_writable_file(path("seg"));
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    auto* p = dynamic_cast<PreallocatingFile*>(f->get());
    ASSERT_NE(p, nullptr);
    EXPECT_FALSE(p->set_append_point(kLength + 1).is_ok());
    ASSERT_TRUE(p->set_append_point(8).is_ok());
    ASSERT_TRUE((*f)->append("-two").is_ok());
    EXPECT_EQ((*f)->size(), 12u);
    ASSERT_TRUE((*f)->sync().is_ok());
    ASSERT_TRUE((*f)->close().is_ok());
  }
  EXPECT_EQ(*env_->file_size(path("seg")), kLength);
  auto r = env_->new_random_access_file(path("seg"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(read_all(**r, 0, 16), std::string("head-one-two") + std::string(4, '\0'));
  EXPECT_EQ(read_all(**r, kLength - 3, 3), std::string(3, '\0'));
}

// A cut-off append (a full disk) is undone with truncate(); the next append
// must follow the cut, with no hole of zeros where the cut bytes were.
TEST_F(PosixEnvTest, AnAppendAfterATruncateFollowsTheCut) {
  for (bool reopened : {false, true}) {
    write("t", "");
    auto f = reopened ? env_->reopen_writable_file(path("t")) : env_->new_writable_file(path("t"));
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    ASSERT_TRUE((*f)->append("abcdef").is_ok());
    ASSERT_TRUE((*f)->truncate(3).is_ok());
    EXPECT_EQ(3u, (*f)->size());
    ASSERT_TRUE((*f)->append("XY").is_ok());
    ASSERT_TRUE((*f)->sync().is_ok());
    EXPECT_EQ("abcXY", *env_->read_file(path("t"))) << (reopened ? "reopened" : "new");
    EXPECT_FALSE((*f)->truncate(10).is_ok());  // never grows
  }
}

TEST_F(PosixEnvTest, ReopenMissingFileIsNotFound) {
  auto f = env_->reopen_writable_file(path("missing"));
  ASSERT_FALSE(f.is_ok());
  EXPECT_EQ(StatusCode::kNotFound, f.status().code());
}

TEST_F(PosixEnvTest, ErrorsNameOperationPathAndErrno) {
  auto f = env_->new_random_access_file(path("missing"));
  ASSERT_FALSE(f.is_ok());
  EXPECT_EQ(StatusCode::kNotFound, f.status().code());
  EXPECT_EQ("open " + path("missing") + ": No such file or directory", f.status().message());

  auto w = env_->new_writable_file(path("no-such-dir/f"));
  ASSERT_FALSE(w.is_ok());
  EXPECT_NE(std::string::npos, w.status().message().find(path("no-such-dir/f")));

  const Status s = env_->remove_file(path("missing"));
  EXPECT_EQ("unlink " + path("missing") + ": No such file or directory", s.message());
}

TEST_F(PosixEnvTest, ListDirSkipsDotEntries) {
  write("a", "1");
  write("b", "2");
  ASSERT_TRUE(env_->create_dir(path("sub")).is_ok());
  auto names = env_->list_dir(dir_);
  ASSERT_TRUE(names.is_ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "sub"}), *names);
}

TEST_F(PosixEnvTest, CreateDirIsOkIfItExists) {
  ASSERT_TRUE(env_->create_dir(path("sub")).is_ok());
  ASSERT_TRUE(env_->create_dir(path("sub")).is_ok());
  write("file", "x");
  EXPECT_FALSE(env_->create_dir(path("file")).is_ok());  // exists, but not as a folder
}

TEST_F(PosixEnvTest, FilesAndFoldersArePrivateToTheOwner) {
  write("secret", "k");
  ASSERT_TRUE(env_->write_file_atomically(path("atomic"), "k").is_ok());
  ASSERT_TRUE(env_->create_dir(path("sub")).is_ok());
  namespace fs = std::filesystem;
  for (const char* name : {"secret", "atomic"}) {
    EXPECT_EQ(fs::status(path(name)).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write)
        << name;
  }
  EXPECT_EQ(fs::status(path("sub")).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(PosixEnvTest, RenameAndRemove) {
  write("a", "content");
  ASSERT_TRUE(env_->rename_file(path("a"), path("b")).is_ok());
  EXPECT_FALSE(env_->file_exists(path("a")));
  EXPECT_EQ("content", *env_->read_file(path("b")));
  ASSERT_TRUE(env_->remove_file(path("b")).is_ok());
  EXPECT_FALSE(env_->file_exists(path("b")));
}

TEST_F(PosixEnvTest, TruncateFileShortensIt) {
  write("f", "0123456789");
  ASSERT_TRUE(env_->truncate_file(path("f"), 4).is_ok());
  EXPECT_EQ("0123", *env_->read_file(path("f")));
}

TEST_F(PosixEnvTest, WriteFileAtomicallyReplacesContent) {
  ASSERT_TRUE(env_->write_file_atomically(path("META"), "version 1").is_ok());
  EXPECT_EQ("version 1", *env_->read_file(path("META")));
  ASSERT_TRUE(env_->write_file_atomically(path("META"), "v2").is_ok());
  EXPECT_EQ("v2", *env_->read_file(path("META")));
  EXPECT_FALSE(env_->file_exists(path("META.tmp")));
}

TEST_F(PosixEnvTest, ReadFileOfEmptyAndLargeFiles) {
  write("empty", "");
  EXPECT_EQ("", *env_->read_file(path("empty")));
  const std::string big(200 * 1024 + 17, 'x');
  write("big", big);
  EXPECT_EQ(big, *env_->read_file(path("big")));
}

// flock locks belong to the open file description, so a second open + flock in
// the same process conflicts just like another process would.
TEST_F(PosixEnvTest, LockFileTwiceInSameProcessFailsWithLockedNamingThePid) {
  const std::string lock_path = path("LOCK");
  auto first = env_->lock_file(lock_path);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(std::to_string(::getpid()) + "\n", *env_->read_file(lock_path));

  auto second = env_->lock_file(lock_path);
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(StatusCode::kLocked, second.status().code());
  EXPECT_EQ("data folder is in use by pid " + std::to_string(::getpid()) + " (lock file " + lock_path + ")",
            second.status().message());

  first->reset();  // releases the lock
  auto third = env_->lock_file(lock_path);
  EXPECT_TRUE(third.is_ok()) << third.status().to_string();
}

TEST_F(PosixEnvTest, EmptyFileIsReadableAndSeesLaterAppends) {
  auto w = env_->new_writable_file(path("f"));
  ASSERT_TRUE(w.is_ok());
  auto r = env_->new_random_access_file(path("f"));  // nothing to map
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ("", read_all(**r, 0, 10));
  ASSERT_TRUE((*w)->append("abc").is_ok());
  EXPECT_EQ("abc", read_all(**r, 0, 10));  // past the (empty) mapping: pread
}

TEST_F(PosixEnvTest, RandomAccessSeesAppendedDataAfterReopen) {
  write("f", "first");
  auto w = env_->reopen_writable_file(path("f"));
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->append("+second").is_ok());
  auto r = env_->new_random_access_file(path("f"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ("first+second", read_all(**r, 0, 100));
}

TEST_F(PosixEnvTest, RandomAccessSeesGrowthWithinMapHint) {
  auto w = env_->new_writable_file(path("f"));
  ASSERT_TRUE(w.is_ok());
  ASSERT_TRUE((*w)->append("head").is_ok());
  auto r = env_->new_random_access_file(path("f"), 1 << 20);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE((*r)->zero_copy());
  EXPECT_EQ("head", read_all(**r, 0, 100));  // the cached size is 4 now

  const std::string more(10000, 'm');
  ASSERT_TRUE((*w)->append(more).is_ok());
  std::string scratch(20000, '\0');
  std::string_view got;
  ASSERT_TRUE((*r)->read(4, 20000, scratch.data(), &got).is_ok());
  EXPECT_EQ(more, got);
  // Served from the mapping, not from scratch.
  EXPECT_FALSE(got.data() >= scratch.data() && got.data() < scratch.data() + scratch.size());
}

TEST_F(PosixEnvTest, RandomAccessReadsPastTheMappingIntoScratch) {
  write("f", "small");
  auto r = env_->new_random_access_file(path("f"));  // maps one page
  ASSERT_TRUE(r.is_ok());
  auto w = env_->reopen_writable_file(path("f"));
  ASSERT_TRUE(w.is_ok());
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::string tail;
  for (size_t i = 0; i < page + 1000; ++i) tail += static_cast<char>('a' + i % 26);
  ASSERT_TRUE((*w)->append(tail).is_ok());

  std::string scratch(tail.size(), '\0');
  std::string_view got;
  ASSERT_TRUE((*r)->read(5, tail.size(), scratch.data(), &got).is_ok());
  EXPECT_EQ(tail, got);
  EXPECT_EQ(scratch.data(), got.data());
  EXPECT_EQ("small" + tail.substr(0, 10), read_all(**r, 0, 15));  // still inside the mapping
}

TEST_F(PosixEnvTest, ReadingPastEofReturnsShort) {
  write("f", "0123456789");
  auto r = env_->new_random_access_file(path("f"), 1 << 16);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ("789", read_all(**r, 7, 100));
  EXPECT_EQ("", read_all(**r, 10, 5));
  EXPECT_EQ("", read_all(**r, 1 << 20, 5));  // past the mapping and the file
  EXPECT_EQ("", read_all(**r, UINT64_MAX - 2, 5));  // no overflow
}

}  // namespace
}  // namespace accountable

namespace accountable {
namespace {

uint64_t rss_file_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "RssFile: %llu kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

// docs/memory.md: the log's segments are read through a memory map, and every
// page read stays in the process's RSS until released. release_resident()
// gives the pages back, and the bytes read before and after are the same.
TEST_F(PosixEnvTest, ReleaseResidentDropsTheMappedPagesAndReadsStayTheSame) {
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7919) % 26);
  write("mapped", data);
  auto file = env_->new_random_access_file(path("mapped"));
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  ASSERT_TRUE((*file)->zero_copy());
  std::string_view whole;
  ASSERT_TRUE((*file)->read(0, data.size(), nullptr, &whole).is_ok());
  ASSERT_EQ(whole.size(), data.size());
  const uint64_t before = rss_file_kib();
  EXPECT_TRUE(whole == data);  // touches every page
  const uint64_t touched = rss_file_kib();
  (*file)->release_resident();
  const uint64_t released = rss_file_kib();
  // 8 MiB were mapped in, and (nearly) all of them are given back.
  EXPECT_GE(touched, before + 6 * 1024) << "reading did not map the pages in";
  EXPECT_LE(released + 6 * 1024, touched) << "release_resident kept the pages";
  EXPECT_TRUE(whole == data) << "the pointer read before the release reads other bytes";
  EXPECT_EQ(read_all(**file, 4096 * 3 + 5, 100), data.substr(4096 * 3 + 5, 100));
}

}  // namespace
}  // namespace accountable
