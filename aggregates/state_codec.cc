#include "aggregates/state_codec.h"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>

#include "schema/bounded_binary_archive.h"

namespace accountable {

// Field lists of the state structs: every field, in declaration order.
template <class Archive, class Tag>
void save(Archive& ar, const StrongU64<Tag>& v) {
  ar(v.value());
}
template <class Archive, class Tag>
void load(Archive& ar, StrongU64<Tag>& v) {
  uint64_t raw = 0;
  ar(raw);
  v = StrongU64<Tag>(raw);
}
template <class Archive>
void serialize(Archive& ar, PartnerLocation& l) {
  ar(l.address, l.mpn_id);
}
template <class Archive>
void serialize(Archive& ar, TaxExemption& e) {
  ar(e.jurisdiction, e.certificate_ref, e.valid_from, e.expires_on, e.revoked);
}
template <class Archive>
void serialize(Archive& ar, AuditorGrant& g) {
  ar(g.auditor_email, g.valid_from, g.valid_until, g.revoked_at);
}
template <class Archive>
void serialize(Archive& ar, MpnIdCorrection& c) {
  ar(c.previous_mpn_id, c.mpn_id, c.reason, c.at);
}
template <class Archive>
void serialize(Archive& ar, PartnerState& s) {
  ar(s.version, s.enrolled, s.partner_id, s.partner_name, s.mpn_id, s.country, s.billing_currency, s.legal, s.support,
     s.billing, s.organization, s.vetting_status, s.vetting_sub_status, s.locations, s.tax_exemptions, s.suspended,
     s.pinned_offers, s.auditor_grants, s.users, s.active_global_admins, s.agreement_accepted_at,
     s.agreement_version, s.accepted_tax_id, s.authorized_regions, s.competencies, s.endorsements, s.mpn_id_corrections);
}
template <class Archive>
void serialize(Archive& ar, UserState& s) {
  ar(s.version, s.exists, s.user_id, s.partner_id, s.profile, s.email_fingerprint, s.roles, s.status,
     s.deactivated_at, s.must_change_password);
}
template <class Archive>
void serialize(Archive& ar, ProfileLocation& l) {
  ar(l.address, l.phone);
}
template <class Archive>
void serialize(Archive& ar, BusinessProfileState& s) {
  ar(s.version, s.exists, s.partner_id, s.region, s.details, s.locations, s.published);
}
template <class Archive>
void serialize(Archive& ar, CatalogOffer& o) {
  ar(o.offer, o.retired);
}
template <class Archive>
void serialize(Archive& ar, PublishedPriceList& p) {
  ar(p.list, p.published_at);
}
template <class Archive>
void serialize(Archive& ar, CatalogState& s) {
  ar(s.version, s.offers, s.price_lists);
}

template <class State>
std::string encode_state(const State& state) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(state);
  }
  return out.str();
}

template <class State>
Result<State> decode_state(std::string_view bytes) {
  // Snapshot bytes come from a file: the bounded archive refuses a forged
  // length before a container resizes to it, and a bool byte other than 0/1.
  State state;
  try {
    BoundedBinaryInputArchive ar(bytes);
    ar(state);
    if (ar.remaining() != 0) {
      return corruption(std::string(StateSchema<State>::kName) + " has " + std::to_string(ar.remaining()) +
                        " bytes after its end");
    }
  } catch (const std::exception& e) {
    return corruption(std::string(StateSchema<State>::kName) + " does not decode: " + e.what());
  }
  return state;
}

template std::string encode_state(const PartnerState&);
template std::string encode_state(const UserState&);
template std::string encode_state(const BusinessProfileState&);
template std::string encode_state(const CatalogState&);
template Result<PartnerState> decode_state<PartnerState>(std::string_view);
template Result<UserState> decode_state<UserState>(std::string_view);
template Result<BusinessProfileState> decode_state<BusinessProfileState>(std::string_view);
template Result<CatalogState> decode_state<CatalogState>(std::string_view);

}  // namespace accountable
