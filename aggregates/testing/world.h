// TEST ONLY. A scenario runner over InMemoryStore: loads the states a command
// needs (dispatch.h), builds the context from a FixedClock and deterministic
// ids, decides and appends — the shape of the future execute() handler.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "aggregates/dispatch.h"
#include "aggregates/testing/in_memory_store.h"

namespace accountable::testing {

// Stand-in for the keyed hash of a normalized email (the real one uses a partner secret).
inline EmailFingerprint fake_fingerprint(std::string email) {
  std::transform(email.begin(), email.end(), email.begin(), [](unsigned char c) { return std::tolower(c); });
  return "fp:" + email;
}

inline EmailFingerprint fingerprint_for(const Command& c) {
  if (const auto* e = std::get_if<EnrollPartner>(&c)) return fake_fingerprint(e->admin.email);
  if (const auto* u = std::get_if<CreateUser>(&c)) return fake_fingerprint(u->profile.email);
  if (const auto* p = std::get_if<UpdateUserProfile>(&c)) return fake_fingerprint(p->profile.email);
  return {};
}

struct LoadedStates {
  PartnerState partner;
  UserState user;
  BusinessProfileState profile;
  CatalogState catalog;
  DecideInputs inputs() const { return DecideInputs{partner, user, profile, catalog}; }
};

class World {
 public:
  explicit World(Timestamp start) : clock(start) {}

  FixedClock clock;
  InMemoryStore store;

  LoadedStates load(const Command& c) const {
    LoadedStates s;
    StateKeys k = state_keys(c);
    if (k.partner) s.partner = store.load<PartnerState>(partner_stream(*k.partner));
    if (k.user) s.user = store.load<UserState>(user_stream(*k.user));
    if (k.partner && k.region) s.profile = store.load<BusinessProfileState>(business_profile_stream(*k.partner, *k.region));
    if (k.catalog) s.catalog = store.load<CatalogState>(catalog_stream());
    return s;
  }

  // A context with 2 fresh deterministic ids; last_ids() tells which.
  CommandContext context(const Principal& actor, const Command& c) {
    last_ids_ = {next_id(), next_id()};
    return CommandContext::make(actor, clock, last_ids_, fingerprint_for(c));
  }
  const std::vector<GeneratedId>& last_ids() const { return last_ids_; }
  template <class Id>
  Id last_id(size_t i) const {
    return Id(last_ids_.at(i).bytes());
  }

  Result<Decision> decide(const Principal& actor, const Command& c) {
    LoadedStates s = load(c);
    return accountable::decide(c, s.inputs(), context(actor, c));
  }

  // decide + append; the status of whichever failed.
  Status execute(const Principal& actor, const Command& c) {
    auto d = decide(actor, c);
    if (!d) return d.status();
    return store.append(*d);
  }

  // The principal of a partner user as the handler would build it: from its stream.
  Principal user(const UserId& id) const { return principal_of(store.load<UserState>(user_stream(id))); }
  UserState user_state(const UserId& id) const { return store.load<UserState>(user_stream(id)); }
  PartnerState partner_state(const PartnerId& id) const { return store.load<PartnerState>(partner_stream(id)); }
  CatalogState catalog_state() const { return store.load<CatalogState>(catalog_stream()); }
  BusinessProfileState profile_state(const PartnerId& id, const std::string& region) const {
    return store.load<BusinessProfileState>(business_profile_stream(id, region));
  }

 private:
  GeneratedId next_id() {
    ++counter_;
    GeneratedId::Bytes b{};
    for (int i = 0; i < 8; ++i) b[15 - i] = static_cast<unsigned char>(counter_ >> (8 * i));
    b[6] = 0x40;  // looks like a v4 UUID; deterministic for tests
    b[8] = 0x80;
    return GeneratedId(b);
  }
  uint64_t counter_ = 0;
  std::vector<GeneratedId> last_ids_;
};

inline Principal op() { return Operator{"platform"}; }

}  // namespace accountable::testing
