// ReaderPool: read-only connections to one view's live file, and the gate
// that keeps queries and a file swap apart.
//
//  - read() runs a query in its own read transaction (one consistent snapshot
//    for all its statements) on a pooled connection; WAL lets it run while
//    the runner writes.
//  - exclusive() is the swap: it stops new queries at the gate, waits for the
//    running ones to finish, closes every pooled connection, runs the change
//    (close the writer, rename the rebuilt file over the live one, reopen), and
//    bumps the generation. Queries after it open fresh connections to the new
//    file. So a query sees the old file or the new one, never a half-built one,
//    and no connection is ever open on a file while it is renamed over (which
//    SQLite's WAL does not survive).
//  - The gate prefers the swap: once it waits, new queries queue behind it, so
//    a steady stream of queries cannot starve it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "projections/sqlite_db.h"

namespace accountable {

class ReaderPool {
 public:
  explicit ReaderPool(std::string path, size_t max_idle = 8) : path_(std::move(path)), max_idle_(max_idle) {}
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // kNotYet while there is no servable file (see set_serving).
  Status read(const std::function<Status(Db&)>& query);

  // Runs `change` with no query running and no connection open; `change`
  // returns whether a servable file exists afterwards.
  Status exclusive(const std::function<Result<bool>()>& change);

  // Without a swap: whether queries may run (e.g. a file of an older version
  // is closed for queries until its rebuild is swapped in).
  void set_serving(bool serving);
  bool serving() const;
  uint64_t generation() const;
  size_t open_connections() const;

 private:
  struct Connection {
    std::unique_ptr<Db> db;
    uint64_t generation = 0;
  };

  const std::string path_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool serving_ = false;
  bool closing_ = false;  // a swap waits or runs: new queries wait
  int active_ = 0;        // queries running
  size_t open_ = 0;       // connections open (idle + in use)
  uint64_t generation_ = 0;
  std::vector<Connection> idle_;
};

}  // namespace accountable
