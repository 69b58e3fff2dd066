#include "server/store_health.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace accountable {
namespace {

TEST(StoreHealth, FilesAreNamedByTheirStore) {
  EXPECT_EQ(store_of_relative_path("keys/partners/0b7e.secret.tmp"), "keys");
  EXPECT_EQ(store_of_relative_path("secrets/credentials.tmp"), "credentials");
  EXPECT_EQ(store_of_relative_path("secrets/tokens"), "tokens");
  EXPECT_EQ(store_of_relative_path("log/seg-00000000000000000001.log"), "log");
  EXPECT_EQ(store_of_relative_path("index/checkpoint"), "index");
  EXPECT_EQ(store_of_relative_path("views/directory.db"), "views");
  EXPECT_EQ(store_of_relative_path("snapshots/partner-x.snap"), "snapshots");
  EXPECT_EQ(store_of_relative_path("merkle/level-0"), "tree");
  EXPECT_EQ(store_of_relative_path("signatures/checkpoints"), "signatures");
  EXPECT_EQ(store_of_relative_path("operator.token"), "operator_token");
  EXPECT_EQ(store_of_relative_path("LOCK"), "data");
}

TEST(StoreHealth, NoPublicMessageNamesAServerPath) {
  StoreHealth& h = StoreHealth::process();
  const std::string dir = "/srv/acct-store-health-test/data";
  h.register_data_folder(dir);
  h.register_data_folder(dir + "/shard-1");
  const Status full(StatusCode::kNoSpace,
                    "write " + dir + "/keys/partners/0b7e.secret.tmp: No space left on device");
  EXPECT_EQ(h.public_message(full), "write the keys store's file: No space left on device");
  const Status shard(StatusCode::kIOError, "fdatasync " + dir + "/shard-1/log/seg-1.log: Input/output error");
  EXPECT_EQ(h.public_message(shard), "fdatasync the log store's file: Input/output error");
  const Status poisoned(StatusCode::kPoisoned, "the log refuses writes after a failed write or fsync (write " + dir +
                                                   "/log/seg-1.log: No space left on device); restart");
  EXPECT_EQ(h.public_message(poisoned).find(dir), std::string::npos) << h.public_message(poisoned);
  EXPECT_NE(h.public_message(poisoned).find("(write the log store's file: No space"), std::string::npos);
  // Another absolute path in an I/O failure is not shown either.
  EXPECT_EQ(h.public_message(Status(StatusCode::kIOError, "open /etc/acct/tls.key: Permission denied")),
            "open a server file: Permission denied");
  // Route paths in ordinary errors stay.
  EXPECT_EQ(h.public_message(Status(StatusCode::kNotFound, "no route for /v1/nothing")), "no route for /v1/nothing");
  EXPECT_EQ(h.public_message(Status(StatusCode::kInvalidArgument, "method not allowed on /healthz")),
            "method not allowed on /healthz");
}

TEST(StoreHealth, AFailureMarksItsStoreDegradedForAWhile) {
  StoreHealth& h = StoreHealth::process();
  const std::string dir = std::filesystem::temp_directory_path() / ("acct-store-health-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir + "/keys");
  h.register_data_folder(dir);
  h.note_failure(Status(StatusCode::kNoSpace, "write " + dir + "/keys/p.secret.tmp: No space left on device"));
  // A failure of another kind, or naming no data file, marks nothing.
  h.note_failure(Status(StatusCode::kRuleViolated, "write " + dir + "/views/x.db: nope"));
  h.note_failure(Status(StatusCode::kIOError, "write /elsewhere/x: Input/output error"));
  bool keys_seen = false;
  for (const auto& r : h.report(dir, /*min_free_bytes=*/0, std::chrono::seconds(60))) {
    if (r.store == "keys") {
      keys_seen = true;
      EXPECT_TRUE(r.degraded);
      EXPECT_EQ(r.last_error, "write the keys store's file: No space left on device");
      EXPECT_GT(r.free_bytes, 0u);
    } else {
      EXPECT_FALSE(r.degraded) << r.store << ": " << r.last_error;
    }
  }
  EXPECT_TRUE(keys_seen);
  // Past the window the store is fine again; with a floor above the free space, every store is low.
  for (const auto& r : h.report(dir, 0, std::chrono::seconds(-1))) EXPECT_FALSE(r.degraded) << r.store;
  for (const auto& r : h.report(dir, UINT64_MAX, std::chrono::seconds(-1))) {
    EXPECT_TRUE(r.low_on_space) << r.store;
    EXPECT_TRUE(r.degraded) << r.store;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace accountable
