#include "projections/view_registry.h"

#include "projections/audit_view.h"
#include "projections/catalog_view.h"
#include "projections/directory_view.h"
#include "projections/listings_view.h"
#include "projections/notifications_view.h"
#include "projections/pricing_view.h"
#include "projections/profile_view.h"

namespace accountable {

namespace {

template <class View>
ProjectionDefinition definition() {
  return ProjectionDefinition{std::string(View::kName), View::kVersion, [] { return std::make_unique<View>(); }};
}

}  // namespace

const std::vector<ProjectionDefinition>& builtin_projections() {
  static const std::vector<ProjectionDefinition> kViews = {
      definition<CatalogView>(), definition<PricingView>(), definition<DirectoryView>(), definition<ProfileView>(),
      definition<AuditView>(),   definition<ListingsView>(), definition<NotificationsView>(),
  };
  return kViews;
}

}  // namespace accountable
