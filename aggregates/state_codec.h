// Serialization of aggregate states, for snapshots (aggregates/snapshot_store.h).
// A state's bytes are cereal PortableBinary of its struct. Bump the state's
// kStateSchema below whenever a state struct changes shape: snapshots of an
// older schema are then ignored and the state is rebuilt from its events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aggregates/business_profile.h"
#include "aggregates/catalog.h"
#include "aggregates/partner.h"
#include "aggregates/user.h"
#include "events/status.h"

namespace accountable {

template <class State>
struct StateSchema;
template <>
struct StateSchema<PartnerState> {
  // v2: selling prerequisites, regions, earned tags; v3: grant revocation; v4: MPN id corrections
  static constexpr uint32_t kVersion = 4;
  static constexpr std::string_view kName = "PartnerState";
};
template <>
struct StateSchema<UserState> {
  static constexpr uint32_t kVersion = 1;
  static constexpr std::string_view kName = "UserState";
};
template <>
struct StateSchema<BusinessProfileState> {
  static constexpr uint32_t kVersion = 1;
  static constexpr std::string_view kName = "BusinessProfileState";
};
template <>
struct StateSchema<CatalogState> {
  static constexpr uint32_t kVersion = 1;
  static constexpr std::string_view kName = "CatalogState";
};

template <class State>
std::string encode_state(const State& state);
// kCorruption when the bytes do not parse exactly.
template <class State>
Result<State> decode_state(std::string_view bytes);

}  // namespace accountable
