#include "projections/projection.h"

namespace accountable {

Result<const DomainEvent*> ViewEvent::decoded() const {
  if (!tried_) {
    tried_ = true;
    auto event = decode_event(record_.type, record_.schema_version, record_.payload);
    if (event) {
      event_.emplace(std::move(event).value());
    } else if (event.status().code() != StatusCode::kNotFound || event.status().field() != "type") {
      // Unknown (type, version) pairs are skipped; anything else is a real failure.
      error_ = Status(event.status().code(), "event at position " + std::to_string(record_.position.value()) + " (" +
                                                 std::string(record_.type) + " v" +
                                                 std::to_string(record_.schema_version) +
                                                 "): " + event.status().message());
    }
  }
  if (!error_.is_ok()) return error_;
  return event_ ? &*event_ : nullptr;
}

}  // namespace accountable
