// WorkPool: a fixed set of threads running blocking jobs (commands wait for an
// fsync; view queries may wait for min_position) off the network threads, with
// a bounded queue: when it is full, try_post() refuses at once and the caller
// answers 503 instead of letting work pile up.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace accountable {

class WorkPool {
 public:
  WorkPool(size_t threads, size_t max_queued);
  ~WorkPool();  // runs what is queued, then joins
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // False when the queue is full or the pool is stopping (the job is not run).
  bool try_post(std::function<void()> job);
  // Finishes queued jobs and joins the threads; later try_post() calls fail.
  void stop();
  size_t queued() const;

 private:
  void run();
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace accountable
