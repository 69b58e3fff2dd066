// One entry for any Command: which states a decision reads, and the decision.
// The handler (execute) loads the streams named by state_keys(), passes empty
// states for those that do not exist, and appends the Decision's writes.
#pragma once

#include <optional>
#include <string>

#include "aggregates/business_profile.h"
#include "aggregates/catalog.h"
#include "schema/commands.h"
#include "aggregates/context.h"
#include "aggregates/partner.h"
#include "aggregates/user.h"

namespace accountable {

struct StateKeys {
  std::optional<PartnerId> partner;  // partner-<id>
  std::optional<UserId> user;        // user-<id>
  std::optional<std::string> region;  // bizprofile-<partner>-<region>
  bool catalog = false;              // catalog
};
StateKeys state_keys(const Command& command);

struct DecideInputs {
  const PartnerState& partner;
  const UserState& user;
  const BusinessProfileState& profile;
  const CatalogState& catalog;
};

Result<Decision> decide(const Command& command, const DecideInputs& in, const CommandContext& ctx);

}  // namespace accountable
