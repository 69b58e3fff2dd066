#include "events/envelope.h"

namespace accountable {

bool ExpectedVersion::matches(StreamVersion current) const {
  switch (kind_) {
    case Kind::kAny: return true;
    case Kind::kNoStream: return current.value() == 0;
    case Kind::kStreamExists: return current.value() > 0;
    case Kind::kExact: return current == version_;
  }
  return false;
}

std::string ExpectedVersion::to_string() const {
  switch (kind_) {
    case Kind::kAny: return "any";
    case Kind::kNoStream: return "no_stream";
    case Kind::kStreamExists: return "stream_exists";
    case Kind::kExact: return std::to_string(version_.value());
  }
  return "?";
}

}  // namespace accountable
