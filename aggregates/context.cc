#include "aggregates/context.h"

#include <chrono>

#include "schema/stream_names.h"

namespace accountable {

Timestamp SystemClock::now() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count()};
}

CommandContext CommandContext::make(Principal actor, const Clock& clock, std::vector<GeneratedId> ids,
                                    EmailFingerprint fingerprint) {
  return CommandContext{std::move(actor), clock.now(), std::move(ids), std::move(fingerprint)};
}

const StreamWrite* Decision::find(const std::string& stream) const {
  for (const StreamWrite& w : writes) {
    if (w.stream == stream) return &w;
  }
  return nullptr;
}

std::string partner_stream(const PartnerId& id) { return std::string(kPartnerStreamPrefix) + id.to_string(); }
std::string user_stream(const UserId& id) { return std::string(kUserStreamPrefix) + id.to_string(); }
std::string business_profile_stream(const PartnerId& id, std::string_view region) {
  return std::string(kBusinessProfileStreamPrefix) + id.to_string() + "-" + std::string(region);
}
std::string catalog_stream() { return std::string(kCatalogStream); }

}  // namespace accountable
