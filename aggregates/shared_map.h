#pragma once

// A std::map shared by the copies of a state until one of them changes it
// (copy on write).
//
// Why: the engine copies an aggregate's state for every command (the state
// cache keeps one version, the command decides on a copy, evolve makes the
// next). A partner's user directory has one entry per user; copied whole, it
// made every command of a partner O(users) in time and left O(users) of freed
// blocks per command in malloc's free lists (docs/memory.md). Shared, a copy
// of the state is O(1) for the directory; only the events that change it
// (a user added, removed, or their email changed) copy it once.
//
// Thread-safety: as for std::map. Copies on different threads may be read
// concurrently (the shared map is never changed while shared); a write goes
// to a map only this instance holds.
//
// Serialized exactly like the std::map it holds, so formats do not change.

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <utility>

namespace accountable {

template <class K, class V>
class SharedMap {
 public:
  using Map = std::map<K, V>;
  using const_iterator = typename Map::const_iterator;
  using value_type = typename Map::value_type;

  SharedMap() = default;

  const_iterator begin() const { return map().begin(); }
  const_iterator end() const { return map().end(); }
  const_iterator find(const K& key) const { return map().find(key); }
  size_t count(const K& key) const { return map().count(key); }
  const V& at(const K& key) const { return map().at(key); }
  size_t size() const { return map().size(); }
  bool empty() const { return map().empty(); }

  void set(const K& key, V value) { writable()[key] = std::move(value); }
  size_t erase(const K& key) { return count(key) ? writable().erase(key) : 0; }

  // Whether two copies still share one map (for tests of the sharing itself).
  bool shares_with(const SharedMap& other) const { return map_ != nullptr && map_ == other.map_; }

  friend bool operator==(const SharedMap& a, const SharedMap& b) { return a.map() == b.map(); }

  template <class Archive>
  void save(Archive& ar) const {
    ar(map());
  }
  template <class Archive>
  void load(Archive& ar) {
    auto loaded = std::make_shared<Map>();
    ar(*loaded);
    map_ = std::move(loaded);
  }

 private:
  const Map& map() const {
    static const Map kEmpty;
    return map_ ? *map_ : kEmpty;
  }
  // The map to change: this instance's own, copied first if another holds it.
  Map& writable() {
    if (!map_) {
      map_ = std::make_shared<Map>();
    } else if (map_.use_count() > 1) {
      map_ = std::make_shared<Map>(*map_);
    } else {
      // The last other holder may have let go on another thread just now: its
      // reads happen before our writes (use_count() is a relaxed load).
      std::atomic_thread_fence(std::memory_order_acquire);
    }
    return *map_;
  }

  std::shared_ptr<Map> map_;
};

}  // namespace accountable
