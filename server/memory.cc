#include "server/memory.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
// From the ASan runtime (sanitizer/allocator_interface.h, which GCC does not install).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
extern "C" size_t __sanitizer_get_free_bytes();
#endif

#include "app/account_stack.h"
#include "app/token_store.h"
#include "projections/sqlite_db.h"

namespace accountable {

ProcessMemory process_memory() {
  ProcessMemory m;
  if (std::FILE* f = std::fopen("/proc/self/status", "re")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long kib = 0;
      if (std::sscanf(line, "RssAnon: %llu kB", &kib) == 1) m.rss_anon = static_cast<double>(kib) * 1024;
      if (std::sscanf(line, "RssFile: %llu kB", &kib) == 1) m.rss_file = static_cast<double>(kib) * 1024;
    }
    std::fclose(f);
  }
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizer build allocates through ASan, not glibc: its own figures
  // (freed blocks wait in its quarantine, counted in neither).
  m.malloc_in_use = static_cast<double>(__sanitizer_get_current_allocated_bytes());
  m.malloc_free = static_cast<double>(__sanitizer_get_free_bytes());
#else
  // Every arena's figures (glibc sums them); chunks of 128 KiB and more are
  // mmapped one by one (hblkhd) and go back to the kernel when freed.
  const struct mallinfo2 mi = mallinfo2();
  m.malloc_in_use = static_cast<double>(mi.uordblks + mi.hblkhd);
  m.malloc_free = static_cast<double>(mi.fordblks);
#endif
  m.sqlite = static_cast<double>(sqlite_memory_in_use());
  return m;
}

void configure_malloc(int arenas, size_t mmap_threshold_bytes) {
  if (arenas > 0) mallopt(M_ARENA_MAX, arenas);
  if (mmap_threshold_bytes > 0) mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold_bytes));
}

MemoryTrimmer::MemoryTrimmer(std::vector<const EventLog*> logs, std::chrono::milliseconds malloc_interval,
                             std::chrono::milliseconds log_interval)
    : logs_(std::move(logs)), malloc_interval_(malloc_interval), log_interval_(log_interval) {
  using std::chrono::milliseconds;
  const bool mallocs = malloc_interval_.count() > 0, logs_on = log_interval_.count() > 0;
  if (!mallocs && !logs_on) return;  // off
  const milliseconds tick = !mallocs ? log_interval_ : !logs_on ? malloc_interval_ : std::min(malloc_interval_, log_interval_);
  thread_ = std::thread([this, tick, mallocs, logs_on] {
    auto next_malloc = std::chrono::steady_clock::now() + malloc_interval_;
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, tick, [this] { return stopping_; })) {
      lock.unlock();
      if (logs_on) release_logs();
      if (mallocs && std::chrono::steady_clock::now() >= next_malloc) {
        malloc_trim(0);
        next_malloc = std::chrono::steady_clock::now() + malloc_interval_;
        std::lock_guard count(mu_);
        ++rounds_;
      }
      lock.lock();
    }
  });
}

void MemoryTrimmer::release_logs() const {
  for (const EventLog* log : logs_) log->release_mapped_pages();
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MemoryTrimmer::trim_now() const {
  malloc_trim(0);
  release_logs();
  std::lock_guard lock(mu_);
  ++rounds_;
}

uint64_t MemoryTrimmer::rounds() const {
  std::lock_guard lock(mu_);
  return rounds_;
}

void expose_memory(Metrics& metrics, std::vector<ShardMemory> shards) {
  metrics.add_gauge("acct_memory_bytes", "Bytes held, by owner (docs/memory.md).", [shards] {
    const ProcessMemory m = process_memory();
    double index = 0;
    for (const ShardMemory& s : shards) index += static_cast<double>(s.stack->log().stats().index_memory_bytes);
    return std::vector<std::pair<std::string, double>>{
        {"owner=\"rss_anon\"", m.rss_anon},           {"owner=\"rss_file\"", m.rss_file},
        {"owner=\"malloc_in_use\"", m.malloc_in_use}, {"owner=\"malloc_free\"", m.malloc_free},
        {"owner=\"sqlite\"", m.sqlite},               {"owner=\"log_index\"", index}};
  });
  metrics.add_gauge("acct_memory_entries", "Entries held in memory, by owner (docs/memory.md).", [shards] {
    double keys = 0, credentials = 0, states = 0, tokens = 0;
    for (const ShardMemory& s : shards) {
      keys += static_cast<double>(s.stack->keys().subjects_in_memory());
      credentials += static_cast<double>(s.stack->credentials().entries_in_memory());
      states += static_cast<double>(s.stack->engine().cached_states());
      tokens += static_cast<double>(s.tokens->size());
    }
    return std::vector<std::pair<std::string, double>>{{"owner=\"key_store\"", keys},
                                                       {"owner=\"credentials\"", credentials},
                                                       {"owner=\"state_cache\"", states},
                                                       {"owner=\"tokens\"", tokens}};
  });
  metrics.add_gauge("acct_memory_entries_limit", "The most entries a bounded owner may hold (docs/memory.md).",
                    [shards] {
                      double keys = 0, credentials = 0, states = 0;
                      for (const ShardMemory& s : shards) {
                        keys += static_cast<double>(s.stack->keys().max_cached_subjects());
                        credentials += static_cast<double>(s.stack->credentials().max_cached_credentials());
                        states += static_cast<double>(s.stack->engine().cached_states_limit());
                      }
                      return std::vector<std::pair<std::string, double>>{{"owner=\"key_store\"", keys},
                                                                         {"owner=\"credentials\"", credentials},
                                                                         {"owner=\"state_cache\"", states}};
                    });
}

}  // namespace accountable
