// StateCache: the latest state the engine loaded or wrote for each stream, in
// memory, bounded (least recently used out). A load then reads only the events
// committed after the cached version, usually none: no snapshot file, no
// decode, no decryption. Like a snapshot it is a cache, never the truth: a
// state enters it only at a version that is committed, and the log's events
// after that version are always applied on top.
//
// It holds personal data in clear (in memory only); Engine::execute clears it
// when a purge commits, so nothing erased is served from here.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace accountable {

template <class State>
class StateCache {
 public:
  explicit StateCache(size_t capacity) : capacity_(capacity) {}

  // The cached state of `stream`, or null.
  std::shared_ptr<const State> get(const std::string& stream) {
    std::lock_guard lock(mu_);
    auto it = map_.find(stream);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second.position);
    return it->second.state;
  }

  // Keeps `state` unless a newer version of the stream is cached already.
  void put(const std::string& stream, std::shared_ptr<const State> state) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mu_);
    auto it = map_.find(stream);
    if (it != map_.end()) {
      if (it->second.state->version.value() < state->version.value()) it->second.state = std::move(state);
      order_.splice(order_.begin(), order_, it->second.position);
      return;
    }
    order_.push_front(stream);
    map_.emplace(stream, Entry{std::move(state), order_.begin()});
    if (map_.size() > capacity_) {
      map_.erase(order_.back());
      order_.pop_back();
    }
  }

  void clear() {
    std::lock_guard lock(mu_);
    map_.clear();
    order_.clear();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::shared_ptr<const State> state;
    std::list<std::string>::iterator position;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> order_;  // most recently used first
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace accountable
