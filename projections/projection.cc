#include "projections/projection.h"

#include "projections/audit_view.h"
#include "projections/catalog_view.h"
#include "projections/directory_view.h"
#include "projections/pricing_view.h"
#include "projections/profile_view.h"

namespace accountable {

Result<const DomainEvent*> ViewEvent::decoded() const {
  if (!tried_) {
    tried_ = true;
    auto event = decode_event(record_.type, record_.schema_version, record_.payload);
    if (event) {
      event_ = std::make_unique<DomainEvent>(std::move(event).value());
    } else if (event.status().code() != StatusCode::kNotFound || event.status().field() != "type") {
      // Unknown (type, version) pairs are skipped; anything else is a real failure.
      error_ = Status(event.status().code(), "event at position " + std::to_string(record_.position.value()) + " (" +
                                                 std::string(record_.type) + " v" +
                                                 std::to_string(record_.schema_version) +
                                                 "): " + event.status().message());
    }
  }
  if (!error_.is_ok()) return error_;
  return static_cast<const DomainEvent*>(event_.get());
}

namespace {

template <class View>
ProjectionDefinition definition() {
  return ProjectionDefinition{std::string(View::kName), View::kVersion, [] { return std::make_unique<View>(); }};
}

}  // namespace

const std::vector<ProjectionDefinition>& builtin_projections() {
  static const std::vector<ProjectionDefinition> kViews = {
      definition<CatalogView>(), definition<PricingView>(), definition<DirectoryView>(), definition<ProfileView>(),
      definition<AuditView>(),
  };
  return kViews;
}

}  // namespace accountable
