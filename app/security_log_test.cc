// The security log's files (app/security_log.h, docs/security-log.md): chained
// records that survive a restart, a torn tail cut off, a changed or removed
// record caught by verify, failed writes counted and announced, a failed
// fsync stopping the writer, and retention by size.
#include "app/security_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "events/coding.h"
#include "events/crc32c.h"
#include "testing/fault_env.h"
#include "testing/scratch_dir.h"

namespace accountable {
namespace {

namespace json = boost::json;
using coding::append_u32;
using coding::get_u32;

SecurityEvent sign_in(const std::string& partner, const std::string& address, const std::string& outcome = "ok") {
  return SecurityEvent{"sign_in", outcome, "user:u-" + address, partner, "s-" + address, address, ""};
}

std::string str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

class SecurityLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<SecurityLog> open(SecurityLogOptions options = {}) {
    auto log = SecurityLog::open(posix_env(), dir_, &clock_, options);
    EXPECT_TRUE(log.is_ok()) << log.status().to_string();
    return log.is_ok() ? std::move(*log) : nullptr;
  }
  // A log in the in-memory file system, whose writes and syncs the test fails.
  std::unique_ptr<SecurityLog> open_in(FaultInjectionEnv& env, const std::string& dir) {
    EXPECT_TRUE(env.create_dir(dir).is_ok());
    auto opened = SecurityLog::open(&env, dir, &clock_);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return opened.is_ok() ? std::move(*opened) : nullptr;
  }
  std::vector<json::object> all() {
    auto page = SecurityLog::read(posix_env(), SecurityLog::folder(dir_), 1, 100'000);
    EXPECT_TRUE(page.is_ok()) << page.status().to_string();
    return page.is_ok() ? page->records : std::vector<json::object>{};
  }
  SecurityLog::Verification verify() {
    auto v = SecurityLog::verify(posix_env(), SecurityLog::folder(dir_));
    EXPECT_TRUE(v.is_ok()) << v.status().to_string();
    return v.is_ok() ? *v : SecurityLog::Verification{};
  }
  std::vector<std::string> files() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(SecurityLog::folder(dir_))) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  testing::ScratchDir scratch_{"acct-seclog"};
  const std::string dir_ = scratch_.path();
  FixedClock clock_{Timestamp{1'700'000'000'000'000}};
};

TEST_F(SecurityLogTest, RecordsAreChainedAndSurviveARestart) {
  {
    auto log = open();
    log->record(sign_in("p1", "10.0.0.1"));
    log->record(SecurityEvent{"sign_out", "ok", "user:u", "p1", "s1", "10.0.0.1", ""});
    log->record(SecurityEvent{"operator_token_used", "ok", "operator:http", "", "", "127.0.0.1", "GET /v1/events"});
    ASSERT_TRUE(log->flush().is_ok());
    EXPECT_EQ(log->stats().written, 3u);
  }
  {
    auto log = open();
    log->record(sign_in("p2", "10.0.0.2", "failed"));
  }  // the destructor writes what is queued
  std::vector<json::object> r = all();
  ASSERT_EQ(r.size(), 4u);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i].at("seq").to_number<uint64_t>(), i + 1);
  EXPECT_EQ(str(r[0], "kind"), "sign_in");
  EXPECT_EQ(str(r[0], "client_address"), "10.0.0.1");
  EXPECT_EQ(str(r[0], "at"), format_timestamp(clock_.now()));
  EXPECT_EQ(str(r[0], "prev"), std::string(64, '0'));
  EXPECT_EQ(str(r[2], "detail"), "GET /v1/events");
  EXPECT_FALSE(r[2].contains("partner")) << "empty fields are left out";
  EXPECT_EQ(str(r[3], "outcome"), "failed");
  const SecurityLog::Verification v = verify();
  EXPECT_EQ(v.damage, "");
  EXPECT_EQ(v.records, 4u);
  EXPECT_TRUE(v.chain_starts_at_genesis);

  // Paging and the partner filter.
  auto page = SecurityLog::read(posix_env(), SecurityLog::folder(dir_), 2, 1);
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->records.size(), 1u);
  EXPECT_EQ(page->records[0].at("seq").to_number<uint64_t>(), 2u);
  EXPECT_EQ(page->next, 3u);
  EXPECT_FALSE(page->end);
  auto p2 = SecurityLog::read(posix_env(), SecurityLog::folder(dir_), 1, 10,
                              [](const json::object& o) { return str(o, "partner") == "p2"; });
  ASSERT_TRUE(p2.is_ok());
  ASSERT_EQ(p2->records.size(), 1u);
  EXPECT_EQ(str(p2->records[0], "principal"), "user:u-10.0.0.2");
  EXPECT_TRUE(p2->end);
}

TEST_F(SecurityLogTest, ATornTailIsCutOffAtStartAndTheChainGoesOn) {
  {
    auto log = open();
    for (int i = 0; i < 3; ++i) log->record(sign_in("p1", "10.0.0." + std::to_string(i)));
  }
  const std::string file = files().back();
  const auto intact = std::filesystem::file_size(file);
  {
    std::ofstream out(file, std::ios::app | std::ios::binary);
    out << std::string("\x40\x00\x00\x00\x01\x02", 6) << "{\"seq\":4";  // a record cut mid-append
  }
  auto log = open();
  EXPECT_EQ(std::filesystem::file_size(file), intact);
  log->record(sign_in("p1", "10.0.0.9"));
  ASSERT_TRUE(log->flush().is_ok());
  std::vector<json::object> r = all();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[3].at("seq").to_number<uint64_t>(), 4u);
  EXPECT_EQ(verify().damage, "");
}

// Rewrites the file with record `index` (0-based) replaced by `payload`
// (framed with a correct CRC), or removed when `payload` is empty.
void forge(const std::string& path, size_t index, const std::string& payload) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out = bytes.substr(0, 8);
  size_t off = 8;
  for (size_t i = 0; off < bytes.size(); ++i) {
    const uint32_t len = get_u32(bytes.data() + off);
    if (i != index) {
      out += bytes.substr(off, 8 + len);
    } else if (!payload.empty()) {
      append_u32(&out, static_cast<uint32_t>(payload.size()));
      append_u32(&out, crc32c::mask(crc32c::value(payload.data(), payload.size())));
      out += payload;
    }
    off += 8 + len;
  }
  std::ofstream(path, std::ios::binary | std::ios::trunc) << out;
}

TEST_F(SecurityLogTest, VerifyCatchesAFlippedByteAChangedRecordAndARemovedOne) {
  {
    auto log = open();
    for (int i = 0; i < 4; ++i) log->record(sign_in("p1", "10.0.0." + std::to_string(i), i == 1 ? "failed" : "ok"));
  }
  const std::string file = files().back();
  const std::vector<json::object> original = all();
  std::ifstream in(file, std::ios::binary);
  const std::string pristine((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto restore = [&] { std::ofstream(file, std::ios::binary | std::ios::trunc) << pristine; };

  {  // a flipped byte: the record's checksum
    std::string bytes = pristine;
    bytes[bytes.size() - 5] ^= 0x20;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    EXPECT_NE(verify().damage.find("fails its checksum"), std::string::npos) << verify().damage;
    EXPECT_EQ(SecurityLog::read(posix_env(), SecurityLog::folder(dir_), 1, 10).status().code(),
              StatusCode::kCorruption);
  }
  restore();
  {  // the failed sign-in made to look accepted, with a correct checksum: the next record's prev no longer matches
    json::object changed = original[1];
    changed["outcome"] = "ok";
    forge(file, 1, json::serialize(changed));
    const std::string damage = verify().damage;
    EXPECT_NE(damage.find("record 3"), std::string::npos) << damage;
    EXPECT_NE(damage.find("prev does not match"), std::string::npos) << damage;
  }
  restore();
  {  // a record removed
    forge(file, 2, "");
    const std::string damage = verify().damage;
    EXPECT_NE(damage.find("follows record 2"), std::string::npos) << damage;
  }
  restore();
  EXPECT_EQ(verify().damage, "");
}

TEST_F(SecurityLogTest, AFailedWriteDropsAndCountsAndTheNextRecordSaysSo) {
  FaultInjectionEnv env;  // in memory: its folders start at "/"
  const std::string dir = "/data";
  std::unique_ptr<SecurityLog> log = open_in(env, dir);
  ASSERT_NE(log, nullptr);
  log->record(sign_in("p1", "10.0.0.1"));
  ASSERT_TRUE(log->flush().is_ok());
  const uint64_t used = env.contents(join_path(SecurityLog::folder(dir), "00000000000000000001.seclog")).size();
  env.set_capacity(used + 10);  // a full disk: no whole record fits
  log->record(sign_in("p1", "10.0.0.2"));
  log->record(sign_in("p1", "10.0.0.3"));
  ASSERT_TRUE(log->flush().is_ok());
  SecurityLogStats s = log->stats();
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.dropped, 2u);
  EXPECT_GE(s.write_failures, 1u);
  EXPECT_TRUE(s.failing);
  EXPECT_FALSE(s.poisoned);
  env.set_capacity(UINT64_MAX);  // space again
  log->record(sign_in("p1", "10.0.0.4"));
  ASSERT_TRUE(log->flush().is_ok());
  s = log->stats();
  EXPECT_FALSE(s.failing);
  EXPECT_EQ(s.written, 3u) << "the marker and the new record";
  auto page = SecurityLog::read(&env, SecurityLog::folder(dir), 1, 10);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  ASSERT_EQ(page->records.size(), 3u);
  EXPECT_EQ(str(page->records[1], "kind"), "records_dropped");
  EXPECT_EQ(str(page->records[1], "detail").rfind("2 records", 0), 0u) << str(page->records[1], "detail");
  EXPECT_EQ(str(page->records[2], "client_address"), "10.0.0.4");
  auto v = SecurityLog::verify(&env, SecurityLog::folder(dir));
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(v->damage, "") << "the partial write was cut off";
}

TEST_F(SecurityLogTest, AFailedFsyncStopsTheWriter) {
  FaultInjectionEnv env;  // in memory: its folders start at "/"
  const std::string dir = "/data";
  std::unique_ptr<SecurityLog> log = open_in(env, dir);
  ASSERT_NE(log, nullptr);
  env.fail_syncs(1);
  log->record(sign_in("p1", "10.0.0.1"));
  ASSERT_TRUE(log->flush().is_ok());
  EXPECT_TRUE(log->stats().poisoned);
  log->record(sign_in("p1", "10.0.0.2"));
  ASSERT_TRUE(log->flush().is_ok());
  const SecurityLogStats s = log->stats();
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.dropped, 2u);
  const std::string file = join_path(SecurityLog::folder(dir), "00000000000000000001.seclog");
  const size_t size = env.contents(file).size();
  log->record(sign_in("p1", "10.0.0.3"));
  ASSERT_TRUE(log->flush().is_ok());
  EXPECT_EQ(env.contents(file).size(), size) << "nothing is written after a failed fsync";
}

TEST_F(SecurityLogTest, RetentionKeepsTheTotalUnderItsBoundAndVerifyStillPasses) {
  SecurityLogOptions options;
  options.max_file_bytes = 1024;
  options.max_total_bytes = 4096;
  auto log = open(options);
  for (int i = 0; i < 200; ++i) {
    log->record(sign_in("p1", "10.0.0." + std::to_string(i % 250)));
    if (i % 5 == 4) {
      ASSERT_TRUE(log->flush().is_ok());
    }
  }
  ASSERT_TRUE(log->flush().is_ok());
  uint64_t total = 0;
  for (const std::string& f : files()) total += std::filesystem::file_size(f);
  // The bound holds for the closed files; the open one may add up to a file more.
  EXPECT_LE(total, options.max_total_bytes + options.max_file_bytes + 512);
  EXPECT_GT(files().size(), 1u);
  const SecurityLog::Verification v = verify();
  EXPECT_EQ(v.damage, "");
  EXPECT_FALSE(v.chain_starts_at_genesis) << "the oldest files were deleted";
  EXPECT_EQ(v.last_seq, 200u);
  EXPECT_GT(v.first_seq, 1u);
}

}  // namespace
}  // namespace accountable
