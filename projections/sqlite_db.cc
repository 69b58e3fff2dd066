#include "projections/sqlite_db.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace accountable {

// ---- SQLite's allocator ---------------------------------------------------------

namespace {

// glibc's malloc, with the bytes in use counted in stripes (one cache line
// each) so that threads allocating side by side seldom share a counter.
struct alignas(64) ByteStripe {
  std::atomic<int64_t> bytes{0};
};
constexpr size_t kStripes = 16;
ByteStripe g_sqlite_bytes[kStripes];
std::atomic<bool> g_counting{false};

std::atomic<int64_t>& this_threads_stripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return g_sqlite_bytes[mine].bytes;
}

void* counted_malloc(int n) {
  void* p = std::malloc(static_cast<size_t>(n));
  if (p) this_threads_stripe().fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) {
  if (!p) return;
  this_threads_stripe().fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

void* counted_realloc(void* p, int n) {
  const auto before = static_cast<int64_t>(p ? malloc_usable_size(p) : 0);
  void* q = std::realloc(p, static_cast<size_t>(n));
  if (q) {
    this_threads_stripe().fetch_add(static_cast<int64_t>(malloc_usable_size(q)) - before, std::memory_order_relaxed);
  }
  return q;
}

int counted_size(void* p) { return p ? static_cast<int>(malloc_usable_size(p)) : 0; }
int round_up(int n) { return (n + 7) & ~7; }
int no_init(void*) { return SQLITE_OK; }
void no_shutdown(void*) {}

// Before SQLite's first use in the process; if something used it earlier, the
// calls are refused and SQLite keeps its own allocator and statistics.
void configure_sqlite() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const sqlite3_mem_methods kCounted = {counted_malloc, counted_free, counted_realloc, counted_size,
                                                 round_up,       no_init,      no_shutdown,     nullptr};
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &kCounted) != SQLITE_OK) return;
    g_counting = true;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

}  // namespace

uint64_t sqlite_memory_in_use() {
  if (!g_counting) return static_cast<uint64_t>(sqlite3_memory_used());
  int64_t total = 0;
  for (const ByteStripe& s : g_sqlite_bytes) total += s.bytes.load(std::memory_order_relaxed);
  return total > 0 ? static_cast<uint64_t>(total) : 0;
}

Status sqlite_status(int code, std::string message) {
  switch (code & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::ok();
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return corruption(std::move(message));
    case SQLITE_FULL:
      return Status(StatusCode::kNoSpace, std::move(message));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return io_error(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(StatusCode::kBusy, std::move(message));
    default:
      return Status(StatusCode::kInternal, std::move(message));
  }
}

// ---- Statement ------------------------------------------------------------------

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind_int(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view value) {
  // A zero-length blob must still be a blob, not NULL: SQLite wants a non-null pointer.
  static const char kEmpty = 0;
  int rc = sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_text_unowned(int index, std::string_view value) {
  // An empty view may have no pointer: SQLite would read NULL, not ''.
  static const char kEmpty = 0;
  int rc = sqlite3_bind_text64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(), SQLITE_STATIC,
                               SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_blob_unowned(int index, std::string_view value) {
  static const char kEmpty = 0;
  int rc = sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(), value.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind_optional_text(int index, const std::optional<std::string>& value) {
  return value ? bind_text(index, *value) : bind_null(index);
}

Status Statement::bind_status() const {
  if (bind_error_ == SQLITE_OK) return Status::ok();
  return sqlite_status(bind_error_, db_.path() + ": binding a parameter of \"" + std::string(sqlite3_sql(stmt_)) +
                                        "\": " + sqlite3_errstr(bind_error_));
}

Result<bool> Statement::step() {
  ACCT_RETURN_IF_ERROR(bind_status());
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_.error("running \"" + std::string(sqlite3_sql(stmt_)) + "\"");
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) {
      reset();
      return row.status();
    }
    if (!*row) break;
  }
  reset();
  return Status::ok();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);  // a parameter left unbound next time reads NULL, never a stale value
  bind_error_ = SQLITE_OK;
}

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }

std::string Statement::column_text(int index) const {
  const unsigned char* p = sqlite3_column_text(stmt_, index);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

std::string Statement::column_blob(int index) const {
  const void* p = sqlite3_column_blob(stmt_, index);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

int Statement::column_count() const { return sqlite3_column_count(stmt_); }
int Statement::column_type(int index) const { return sqlite3_column_type(stmt_, index); }

std::string Statement::column_literal(int index) const {
  switch (sqlite3_column_type(stmt_, index)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(column_int(index));
    case SQLITE_FLOAT: return std::to_string(sqlite3_column_double(stmt_, index));
    case SQLITE_BLOB: {
      const std::string b = column_blob(index);
      return "x'" + hex_encode(reinterpret_cast<const unsigned char*>(b.data()), b.size()) + "'";
    }
    default: {
      std::string out = "'";
      for (char c : column_text(index)) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
      }
      return out + "'";
    }
  }
}

// ---- Db -------------------------------------------------------------------------

Result<std::unique_ptr<Db>> Db::open(const std::string& path, DbMode mode) {
  configure_sqlite();
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  flags |= mode == DbMode::kReadOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path + ": cannot open: " + (handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
    sqlite3_close_v2(handle);
    return sqlite_status(rc, std::move(message));
  }
  // Readers may meet the writer's checkpoint for a moment; wait rather than fail.
  sqlite3_busy_timeout(handle, 5000);
  return std::unique_ptr<Db>(new Db(handle, path));
}

Db::~Db() { sqlite3_close_v2(db_); }

Status Db::error(std::string_view what) const {
  return sqlite_status(sqlite3_extended_errcode(db_),
                       path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

Status Db::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::ok();
  std::string why = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return sqlite_status(rc, path_ + ": running \"" + text + "\": " + why);
}

Result<std::unique_ptr<Statement>> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return error("preparing \"" + std::string(sql) + "\"");
  return std::unique_ptr<Statement>(new Statement(*this, stmt));
}

Result<int64_t> Db::query_int(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.status();
  auto row = (*stmt)->step();
  if (!row) return row.status();
  if (!*row) return not_found(path_ + ": \"" + std::string(sql) + "\" returned no row");
  return (*stmt)->column_int(0);
}

Result<std::string> Db::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.status();
  auto row = (*stmt)->step();
  if (!row) return row.status();
  if (!*row) return not_found(path_ + ": \"" + std::string(sql) + "\" returned no row");
  return (*stmt)->column_text(0);
}

}  // namespace accountable
