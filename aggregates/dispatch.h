// One entry for any Command: which states a decision reads, and the decision.
// The handler (execute) loads the streams named by state_keys(), passes empty
// states for those that do not exist, and appends the Decision's writes.
#pragma once

#include <optional>
#include <string>
#include <tuple>

#include "aggregates/business_profile.h"
#include "aggregates/catalog.h"
#include "aggregates/context.h"
#include "aggregates/partner.h"
#include "aggregates/user.h"
#include "schema/commands.h"

namespace accountable {

struct StateKeys {
  std::optional<PartnerId> partner;  // partner-<id>
  std::optional<UserId> user;        // user-<id>
  std::optional<std::string> region;  // bizprofile-<partner>-<region>
  bool catalog = false;              // catalog
};
StateKeys state_keys(const Command& command);

// ---- THE aggregates ------------------------------------------------------------
// Their states, in one list: the engine loads, caches, snapshots and updates
// each of them by this list (aggregates/engine.cc names none). Adding an
// aggregate: its state here, its stream below, its member in DecideInputs
// (same order), its decide() overloads in dispatch.cc.
using AggregateStates = std::tuple<PartnerState, UserState, BusinessProfileState, CatalogState>;

// The stream a command's decision reads the state from; nullopt: it does not read it.
template <class State>
std::optional<std::string> aggregate_stream(const StateKeys& keys);
template <>
inline std::optional<std::string> aggregate_stream<PartnerState>(const StateKeys& keys) {
  if (!keys.partner) return std::nullopt;
  return partner_stream(*keys.partner);
}
template <>
inline std::optional<std::string> aggregate_stream<UserState>(const StateKeys& keys) {
  if (!keys.user) return std::nullopt;
  return user_stream(*keys.user);
}
template <>
inline std::optional<std::string> aggregate_stream<BusinessProfileState>(const StateKeys& keys) {
  if (!keys.partner || !keys.region) return std::nullopt;
  return business_profile_stream(*keys.partner, *keys.region);
}
template <>
inline std::optional<std::string> aggregate_stream<CatalogState>(const StateKeys& keys) {
  if (!keys.catalog) return std::nullopt;
  return catalog_stream();
}

// The states a decision reads, in the order of AggregateStates.
struct DecideInputs {
  const PartnerState& partner;
  const UserState& user;
  const BusinessProfileState& profile;
  const CatalogState& catalog;
};
inline DecideInputs decide_inputs(const AggregateStates& states) {
  return std::apply([](const auto&... s) { return DecideInputs{s...}; }, states);
}

Result<Decision> decide(const Command& command, const DecideInputs& in, const CommandContext& ctx);

}  // namespace accountable
