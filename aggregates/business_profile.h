// The business (marketing) profile aggregate: one stream per partner and region
// ("bizprofile-<partner>-<region>"), so "one profile per region" holds by the
// stream's existence, and the 5-location limit by its version.
#pragma once

#include <map>
#include <string>

#include "aggregates/catalog.h"
#include "aggregates/context.h"
#include "aggregates/partner.h"
#include "schema/commands.h"

namespace accountable {

inline constexpr size_t kMaxProfileLocations = 5;

struct ProfileLocation {
  Address address;
  std::string phone;
};

struct BusinessProfileState {
  StreamVersion version;
  bool exists = false;
  PartnerId partner_id;
  std::string region;
  BusinessProfileDetails details;
  std::map<LocationId, ProfileLocation> locations;
  bool published = false;
};

BusinessProfileState evolve(BusinessProfileState state, const DomainEvent& event);

Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const CatalogState& catalog,
                        const CreateBusinessProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const CatalogState& catalog,
                        const UpdateBusinessProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const AddProfileLocation& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const RemoveProfileLocation& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const PublishBusinessProfile& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& p, const BusinessProfileState& s, const UnpublishBusinessProfile& c,
                        const CommandContext& ctx);

}  // namespace accountable
