#include "aggregates/state_json.h"

#include <algorithm>
#include <boost/json.hpp>

#include "schema/json_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

// Sub-values are rendered through event_to_json of an event that carries them,
// so a state reads with exactly the spellings of the events that built it.
json::value field_of(const DomainEvent& event, const char* name) { return event_to_json(event).as_object().at(name); }

json::value address_json(const Address& a) { return field_of(LocationAdded{LocationId(), a, ""}, "address"); }
json::value time_json(Timestamp t) { return json::value(format_timestamp(t)); }
json::value fingerprint_json(const EmailFingerprint& f) {
  return field_of(PartnerUserAdded{UserId(), f}, "email_fingerprint");
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

bool is_erased_value(const json::value& v) { return v.is_object() && v.get_object().contains("erased"); }

void diff_into(const json::value& before, const json::value& after, const std::string& path,
               std::vector<FieldChange>* out, bool top) {
  if (before.is_object() && after.is_object() && !is_erased_value(before) && !is_erased_value(after)) {
    const json::object& b = before.get_object();
    const json::object& a = after.get_object();
    std::vector<std::string> keys;
    for (const auto& kv : b) keys.emplace_back(kv.key());
    for (const auto& kv : a) {
      if (!b.contains(kv.key())) keys.emplace_back(kv.key());
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& k : keys) {
      if (top && k == "version") continue;
      const json::value* bv = b.if_contains(k);
      const json::value* av = a.if_contains(k);
      const std::string sub = path.empty() ? k : path + "." + k;
      if (bv && av) {
        diff_into(*bv, *av, sub, out, false);
      } else {
        out->push_back(FieldChange{sub, bv ? *bv : json::value(), av ? *av : json::value()});
      }
    }
    return;
  }
  if (before != after) out->push_back(FieldChange{path, before, after});
}

}  // namespace

json::object state_to_json(const PartnerState& s) {
  json::object o;
  o["partner_id"] = s.partner_id.to_string();
  o["version"] = s.version.value();
  o["partner_name"] = s.partner_name;
  o["mpn_id"] = s.mpn_id;
  json::array corrections;
  for (const auto& c : s.mpn_id_corrections) {
    corrections.push_back(json::object{{"previous_mpn_id", c.previous_mpn_id}, {"mpn_id", c.mpn_id},
                                       {"reason", c.reason}, {"at", time_json(c.at)}});
  }
  o["mpn_id_corrections"] = std::move(corrections);
  o["country"] = s.country;
  o["billing_currency"] = s.billing_currency;
  o["legal"] = field_of(LegalProfileUpdated{s.legal}, "legal");
  o["support"] = field_of(SupportProfileUpdated{s.support}, "support");
  o["billing"] = field_of(BillingProfileUpdated{s.billing}, "billing");
  o["organization"] = field_of(OrganizationProfileUpdated{s.organization}, "organization");
  json::value vetting = event_to_json(VettingStatusChanged{s.vetting_status, s.vetting_sub_status});
  o["vetting"] = json::object{{"status", vetting.at("status")}, {"sub_status", vetting.at("sub_status")}};
  json::object locations;
  for (const auto& [id, l] : s.locations) {
    locations[id.to_string()] = json::object{{"address", address_json(l.address)}, {"mpn_id", l.mpn_id}};
  }
  o["locations"] = std::move(locations);
  json::object exemptions;
  for (const auto& [id, e] : s.tax_exemptions) {
    exemptions[id.to_string()] = json::object{{"jurisdiction", e.jurisdiction},
                                              {"certificate_ref", e.certificate_ref},
                                              {"valid_from", time_json(e.valid_from)},
                                              {"expires_on", time_json(e.expires_on)},
                                              {"revoked", e.revoked}};
  }
  o["tax_exemptions"] = std::move(exemptions);
  o["suspended"] = s.suspended;
  o["pinned_offers"] = strings(s.pinned_offers);
  json::object grants;
  for (const auto& [id, g] : s.auditor_grants) {
    grants[id.to_string()] =
        json::object{{"auditor_email", field_of(AuditorAccessIssued{id, g.auditor_email, {}, {}}, "auditor_email")},
                     {"valid_from", time_json(g.valid_from)},
                     {"valid_until", time_json(g.valid_until)},
                     {"revoked_at", g.revoked_at ? time_json(*g.revoked_at) : json::value()}};
  }
  o["auditor_grants"] = std::move(grants);
  o["agreement_accepted_at"] = s.agreement_accepted_at ? time_json(*s.agreement_accepted_at) : json::value();
  o["agreement_version"] = s.agreement_version;
  o["accepted_tax_id"] = s.accepted_tax_id;
  o["authorized_regions"] = strings(std::vector<std::string>(s.authorized_regions.begin(), s.authorized_regions.end()));
  o["competencies"] = strings(s.competencies);
  o["endorsements"] = strings(s.endorsements);
  json::object users;
  for (const auto& [id, fp] : s.users) users[id.to_string()] = fingerprint_json(fp);
  o["users"] = std::move(users);
  json::array admins;
  for (const UserId& id : s.active_global_admins) admins.emplace_back(id.to_string());
  o["active_global_admins"] = std::move(admins);
  return o;
}

json::object state_to_json(const UserState& s) {
  json::object o;
  o["user_id"] = s.user_id.to_string();
  o["partner_id"] = s.partner_id.to_string();
  o["version"] = s.version.value();
  // Purge clears the profile in the state: it reads as erased, like the events.
  o["profile"] = s.status == UserStatus::kPurged ? json::value(json::object{{"erased", true}})
                                                 : field_of(UserProfileUpdated{s.profile, {}}, "profile");
  o["email_fingerprint"] = fingerprint_json(s.email_fingerprint);
  json::array roles;
  for (Role r : s.roles) roles.emplace_back(role_json_name(r));
  o["roles"] = std::move(roles);
  o["status"] = user_status_name(s.status);
  // Kept after a restore, like the state: the start of the last deactivation.
  o["deactivated_at"] = s.deactivated_at.micros == 0 ? json::value() : time_json(s.deactivated_at);
  o["must_change_password"] = s.must_change_password;
  return o;
}

json::object state_to_json(const BusinessProfileState& s) {
  json::object o;
  o["partner_id"] = s.partner_id.to_string();
  o["region"] = s.region;
  o["version"] = s.version.value();
  o["details"] = field_of(BusinessProfileUpdated{s.details}, "details");
  json::object locations;
  for (const auto& [id, l] : s.locations) {
    locations[id.to_string()] = json::object{{"address", address_json(l.address)}, {"phone", l.phone}};
  }
  o["locations"] = std::move(locations);
  o["published"] = s.published;
  return o;
}

std::vector<FieldChange> diff_json(const json::value& before, const json::value& after) {
  std::vector<FieldChange> out;
  diff_into(before, after, "", &out, true);
  return out;
}

json::object change_to_json(const FieldChange& c) {
  return json::object{{"path", c.path}, {"before", c.before}, {"after", c.after}};
}

}  // namespace accountable
