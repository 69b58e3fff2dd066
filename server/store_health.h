// What clients and /healthz may learn about the data folder's stores
// (docs/http-api.md, "Health and a full disk").
//
//  - public_message(): a status message with every path of a registered data
//    folder replaced by the name of the store the file belongs to (and, for
//    I/O failures, any other absolute path by "a server file"), so that no
//    error body ever names a server path. Every error response goes through it.
//  - StoreHealth: per store of a data folder, its free space and its last I/O
//    failure that reached a client; /healthz reports it.
//
// One registry per process: every shard's data folder registers itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "events/status.h"

namespace accountable {

// The store a file belongs to, from its path relative to the data folder:
// "log", "index", "keys", "credentials", "tokens", "views", "snapshots",
// "tree", "signatures", "security_log", "operator_token", or "data" for anything else.
std::string_view store_of_relative_path(std::string_view relative);

// The stores /healthz reports, with the folder (relative to DATA) whose file
// system holds each.
struct StoreFolder {
  std::string_view store;
  std::string_view folder;
};
const std::vector<StoreFolder>& store_folders();

class StoreHealth {
 public:
  using Clock = std::chrono::steady_clock;
  static StoreHealth& process();

  // Remembers a data folder (made absolute) so that its paths are recognized;
  // forgets its earlier failures (the folder was opened again).
  void register_data_folder(const std::string& dir);
  // The message a client may read (see above).
  std::string public_message(const Status& s) const;
  // A status's failure, if it is an I/O failure naming a file of a registered
  // data folder, counts against that file's store.
  void note_failure(const Status& s);
  // A write request succeeded: full-disk failures no longer count (the disk
  // took writes again). Other I/O failures count for their whole window.
  void note_write_success();

  struct Report {
    std::string store;
    uint64_t free_bytes = 0;
    bool low_on_space = false;  // free_bytes < min_free_bytes
    std::string last_error;     // public message; "" when none in `recent`
    double seconds_since_error = 0;
    bool degraded = false;  // low on space, or a failure within `recent`
  };
  // The stores of `data_dir`, each with its folder's free space (statvfs).
  std::vector<Report> report(const std::string& data_dir, uint64_t min_free_bytes,
                             std::chrono::seconds recent) const;

 private:
  struct Failure {
    std::string data_dir, store, message;
    Clock::time_point at;
    bool no_space = false;
  };
  // The registered folder `path` lies in, and the path relative to it.
  bool split(std::string_view path, std::string* data_dir, std::string* relative) const;

  mutable std::mutex mu_;
  std::vector<std::string> data_dirs_;  // absolute, without a trailing '/'
  std::vector<Failure> failures_;       // the latest per (data_dir, store)
  bool any_failure_ = false;            // a fast path for note_write_success
};

}  // namespace accountable
