#include "projections/reader_pool.h"

namespace accountable {

Status ReaderPool::read(const std::function<Status(Db&)>& query) {
  Connection conn;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !closing_; });
    if (!serving_) return Status(StatusCode::kNotYet, path_ + ": no built view file to read yet");
    ++active_;
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;  // counted now; opened below, outside the lock
      conn.generation = generation_;
    }
  }
  auto finish = [&](Status s) {
    std::lock_guard lock(mu_);
    --active_;
    // A connection of an older generation never goes back to the pool.
    if (conn.db && conn.generation == generation_ && idle_.size() < max_idle_) {
      idle_.push_back(std::move(conn));
    } else {
      conn.db.reset();
      --open_;
    }
    if (active_ == 0) cv_.notify_all();
    return s;
  };
  if (!conn.db) {
    auto db = Db::open(path_, DbMode::kReadOnly);
    if (!db) return finish(db.status());
    conn.db = std::move(*db);
  }
  // One snapshot for every statement of the query.
  if (Status begun = conn.db->exec("BEGIN"); !begun.is_ok()) {
    conn.db.reset();
    return finish(begun);
  }
  Status result = query(*conn.db);
  if (Status ended = conn.db->exec("COMMIT"); !ended.is_ok()) {
    conn.db.reset();  // a connection in an unknown state is not reused
    if (result.is_ok()) result = ended;
  }
  return finish(result);
}

Status ReaderPool::exclusive(const std::function<Result<bool>()>& change) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !closing_; });  // one swap at a time
  closing_ = true;
  cv_.wait(lock, [&] { return active_ == 0; });
  open_ -= idle_.size();
  idle_.clear();  // closes them: nothing is open on the file now
  Result<bool> serving = change();
  ++generation_;
  serving_ = serving.is_ok() && *serving;
  closing_ = false;
  cv_.notify_all();
  return serving.status();
}

void ReaderPool::set_serving(bool serving) {
  std::lock_guard lock(mu_);
  serving_ = serving;
}

bool ReaderPool::serving() const {
  std::lock_guard lock(mu_);
  return serving_;
}

uint64_t ReaderPool::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

size_t ReaderPool::open_connections() const {
  std::lock_guard lock(mu_);
  return open_;
}

}  // namespace accountable
