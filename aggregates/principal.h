// Who issues a command. The handler authenticates the caller and builds the
// principal from current state (a partner user's roles come from its stream).
#pragma once

#include <set>
#include <string>
#include <variant>

#include "schema/domain_events.h"

namespace accountable {

// No credentials were presented or they did not verify.
struct Anonymous {};

// A person of a partner company. Inactive (deactivated) users are not authenticated.
struct PartnerUser {
  PartnerId partner_id;
  UserId user_id;
  std::set<Role> roles;
  bool active = true;
};

// The platform operator (the vendor): catalog, price lists, vetting, suspension.
struct Operator {
  std::string name;
};

// An external auditor with read access to one partner's history; never writes.
struct Auditor {
  AuditorGrantId grant_id;
  PartnerId partner_id;
};

using Principal = std::variant<Anonymous, PartnerUser, Operator, Auditor>;

// Stable id of the actor for events and audit ("user:<uuid>", "operator:<name>", ...).
std::string principal_id(const Principal& p);

}  // namespace accountable
