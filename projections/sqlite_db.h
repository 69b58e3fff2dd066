// A thin RAII layer over SQLite: a connection (Db) and a prepared statement
// (Statement). Every SQLite error becomes a Status carrying SQLite's own
// message and the file's path; nothing here throws.
//
// A Db and its Statements are used by one thread at a time (connections are
// opened with SQLITE_OPEN_NOMUTEX); the view code keeps them apart per thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"
#include "events/types.h"

namespace accountable {

class Db;

class Statement {
 public:
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Text and blobs are copied.
  Statement& bind_int(int index, int64_t value);
  Statement& bind_text(int index, std::string_view value);
  Statement& bind_blob(int index, std::string_view value);
  Statement& bind_null(int index);
  // Not copied: the bytes must stay as they are until the statement is reset
  // (run() resets it). For bulk writes of rows held in memory.
  Statement& bind_text_unowned(int index, std::string_view value);
  Statement& bind_blob_unowned(int index, std::string_view value);
  Statement& bind_time(int index, Timestamp t) { return bind_int(index, t.micros); }
  Statement& bind_optional_text(int index, const std::optional<std::string>& value);

  // The next row: true when there is one, false when the statement is done.
  Result<bool> step();
  // Steps to the end (for statements that return no rows), then resets.
  Status run();
  // Back to the start with every parameter unbound.
  void reset();

  int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;  // "" for NULL
  std::optional<std::string> column_optional_text(int index) const;
  std::string column_blob(int index) const;
  Timestamp column_time(int index) const { return Timestamp{column_int(index)}; }
  bool column_is_null(int index) const;
  int column_count() const;
  int column_type(int index) const;  // SQLITE_INTEGER, SQLITE_TEXT, SQLITE_NULL, ...
  // The value as SQL-ish text: NULL, 12, 'text', x'0aff' (for dumps and tests).
  std::string column_literal(int index) const;

 private:
  friend class Db;
  Statement(Db& db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Status bind_status() const;

  Db& db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;  // the first failed bind, reported by step()/run()
};

// Bytes SQLite holds from malloc now, every connection's (the memory gauge of
// /metrics). SQLite's own statistics are off: they take one process-wide
// mutex on every allocation, on which the views' threads and the HTTP
// readers queued; SQLite allocates through a counting allocator instead,
// installed at the first Db::open.
uint64_t sqlite_memory_in_use();

enum class DbMode {
  kReadWrite,  // creates the file if missing
  kReadOnly,
};

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(const std::string& path, DbMode mode);
  ~Db();  // closes; statements must be gone first
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs one or more statements that return no rows we need (DDL, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<std::unique_ptr<Statement>> prepare(std::string_view sql);
  // Runs a query whose first row's first column is an integer (e.g. a pragma).
  Result<int64_t> query_int(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  // A Status for the last error of this connection: "<path>: <what>: <sqlite message>".
  Status error(std::string_view what) const;
  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// The Status for an SQLite result code: kCorruption for a damaged file,
// kNoSpace for a full disk, kIOError for the OS, kBusy for locks, kInternal otherwise.
Status sqlite_status(int code, std::string message);

}  // namespace accountable
