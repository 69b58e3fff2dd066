// TEST ONLY. An in-memory event store with the log's contract: per-stream
// versions, and an all-or-nothing append of a Decision with expected versions.
// Events are stored encoded (encode_event) and decoded on read, so every
// scenario also exercises the codec.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregates/context.h"
#include "schema/domain_events.h"

namespace accountable::testing {

// The log's rule for an expected version (kept here so the harness needs only the header).
inline bool expectation_met(const ExpectedVersion& e, StreamVersion current) {
  switch (e.kind()) {
    case ExpectedVersion::Kind::kAny: return true;
    case ExpectedVersion::Kind::kNoStream: return current.value() == 0;
    case ExpectedVersion::Kind::kStreamExists: return current.value() != 0;
    case ExpectedVersion::Kind::kExact: return current == e.version();
  }
  return false;
}

class InMemoryStore {
 public:
  StreamVersion version(const std::string& stream) const {
    auto it = streams_.find(stream);
    return StreamVersion(it == streams_.end() ? 0 : it->second.size());
  }

  // Appends every write or none. kWrongExpectedVersion names the first stream
  // whose version differs from the expected one.
  Status append(const Decision& d) {
    if (d.writes.empty()) return invalid_argument("a decision without writes", "writes");
    std::set<std::string> seen;
    for (const StreamWrite& w : d.writes) {
      if (w.events.empty()) return invalid_argument("a write without events", w.stream);
      if (!seen.insert(w.stream).second) return invalid_argument("a stream written twice", w.stream);
      if (!expectation_met(w.expected, version(w.stream))) {
        return Status(StatusCode::kWrongExpectedVersion,
                      "stream is at version " + std::to_string(version(w.stream).value()), w.stream);
      }
    }
    for (const StreamWrite& w : d.writes) {
      for (const DomainEvent& e : w.events) streams_[w.stream].push_back(encode_event(e));
    }
    return Status::ok();
  }

  std::vector<DomainEvent> read(const std::string& stream) const {
    std::vector<DomainEvent> out;
    auto it = streams_.find(stream);
    if (it == streams_.end()) return out;
    for (const EncodedEvent& e : it->second) {
      auto decoded = decode_event(e.type, e.schema_version, e.bytes);
      if (!decoded) throw std::runtime_error("stored event does not decode: " + decoded.status().to_string());
      out.push_back(std::move(decoded).value());
    }
    return out;
  }

  template <class State>
  State load(const std::string& stream) const {
    State s;
    for (const DomainEvent& e : read(stream)) s = evolve(std::move(s), e);
    return s;
  }

  size_t total_events() const {
    size_t n = 0;
    for (const auto& [name, events] : streams_) n += events.size();
    return n;
  }

 private:
  std::map<std::string, std::vector<EncodedEvent>> streams_;
};

}  // namespace accountable::testing
