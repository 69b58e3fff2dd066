// SQLite allocates through a counting allocator (sqlite_db.h): the memory
// gauge follows what a connection holds, and SQLite's own statistics are off.
#include "projections/sqlite_db.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "testing/scratch_dir.h"

namespace accountable {
namespace {

TEST(SqliteMemory, TheGaugeCountsWhatAConnectionHoldsAndDropsWhenItCloses) {
  testing::ScratchDir dir("sqlite-memory");
  const uint64_t before = sqlite_memory_in_use();
  {
    auto db = Db::open(dir.path() + "/t.db", DbMode::kReadWrite);
    ASSERT_TRUE(db.is_ok()) << db.status().to_string();
    ASSERT_TRUE((*db)->exec("PRAGMA cache_size = -8192; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)").is_ok());
    ASSERT_TRUE((*db)->exec("BEGIN").is_ok());
    auto insert = (*db)->prepare("INSERT INTO t(k, v) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.is_ok());
    for (int k = 0; k < 20000; ++k) {
      (*insert)->bind_int(1, k).bind_text(2, std::string(100, 'x'));
      ASSERT_TRUE((*insert)->run().is_ok());
    }
    ASSERT_TRUE((*db)->exec("COMMIT").is_ok());
    // About 2 MB of rows, held in the connection's page cache.
    EXPECT_GT(sqlite_memory_in_use(), before + 1'000'000);
    // SQLite's own counter is off: it no longer follows (its mutex was the cost).
    EXPECT_LT(static_cast<uint64_t>(sqlite3_memory_used()), 1'000'000u);
  }
  EXPECT_LT(sqlite_memory_in_use(), before + 200'000) << "the page cache went with the connection";
}

}  // namespace
}  // namespace accountable
