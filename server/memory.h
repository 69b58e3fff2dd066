// The memory of `acct serve` by owner, read at every scrape of /metrics
// (docs/http-api.md, "Metrics"; docs/memory.md):
//   acct_memory_bytes{owner}          bytes held: the process's resident heap
//                                     and mapped files, malloc's in-use and
//                                     free-but-held bytes, SQLite's, the log's index
//   acct_memory_entries{owner}        entries held by the keyed stores and caches
//   acct_memory_entries_limit{owner}  the most a bounded one may hold
// Summed over the shards of a node.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "server/metrics.h"

namespace accountable {

class AccountStack;
class TokenStore;

struct ShardMemory {
  AccountStack* stack = nullptr;
  const TokenStore* tokens = nullptr;
};

// `shards` must outlive the scrapes (the server stops before they close).
void expose_memory(Metrics& metrics, std::vector<ShardMemory> shards);

// The process-wide figures, for tests and the gauges: RssAnon and RssFile of
// /proc/self/status, mallinfo2's in-use (arenas and mmapped chunks) and free
// bytes, and what SQLite holds (sqlite_memory_in_use(), projections/sqlite_db.h).
struct ProcessMemory {
  double rss_anon = 0, rss_file = 0, malloc_in_use = 0, malloc_free = 0, sqlite = 0;
};
ProcessMemory process_memory();

// glibc keeps up to 8 malloc arenas per core, one per thread that met a busy
// one; each keeps the chunks freed in it for its own threads. Our workers'
// transient allocations (states and maps copied per command) then leave free
// memory spread over many arenas. Called before any thread starts; 0 leaves
// glibc's default.
//
// `mmap_threshold_bytes` fixes glibc's mmap threshold (M_MMAP_THRESHOLD; 0
// leaves it dynamic). glibc raises a dynamic threshold to the size of each
// mapped block freed (up to 32 MiB), so after one large transient buffer (the
// credential file read and rewritten whole on a change: O(users)) every later
// one comes from the heap and leaves a hole there that malloc_trim cannot
// always give back. Fixed, blocks from this size on are mapped and unmapped.
void configure_malloc(int arenas, size_t mmap_threshold_bytes);

// Every `log_interval`, each log's release_mapped_pages(): reads of streams
// not in the state cache touch pages all over the log, about 1 MiB a second
// under the soak's load, so the released pages come back quickly. Every
// `malloc_interval`, malloc_trim(0): the free pages inside every arena go back
// to the kernel. 0 turns either off. The logs must outlive the trimmer; the
// destructor stops it.
class MemoryTrimmer {
 public:
  MemoryTrimmer(std::vector<const EventLog*> logs, std::chrono::milliseconds malloc_interval,
                std::chrono::milliseconds log_interval);
  ~MemoryTrimmer();
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;
  // Both now, on the caller's thread.
  void trim_now() const;
  uint64_t rounds() const;  // malloc trims done

 private:
  void release_logs() const;
  const std::vector<const EventLog*> logs_;
  const std::chrono::milliseconds malloc_interval_, log_interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  mutable uint64_t rounds_ = 0;
  std::thread thread_;
};

}  // namespace accountable
