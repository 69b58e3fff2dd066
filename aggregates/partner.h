// The partner aggregate (stream "partner-<id>"): the company's profiles,
// locations, tax exemptions, vetting, suspension, catalog pins, auditor grants,
// and the user DIRECTORY that guards cross-user invariants:
//  - `users` maps every non-purged user to its email fingerprint (email unique
//    within the partner); copies of the state share it (aggregates/shared_map.h);
//  - `active_global_admins` is never left empty (last Global admin rule).
// Any decision that could break one of these writes to this stream and so
// expects its version; two such decisions cannot both commit.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregates/catalog.h"
#include "aggregates/context.h"
#include "aggregates/shared_map.h"
#include "schema/commands.h"

namespace accountable {

struct PartnerLocation {
  Address address;
  std::string mpn_id;
};

struct TaxExemption {
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp valid_from, expires_on;
  bool revoked = false;
};
// An exemption applies within [valid_from, expires_on) unless revoked.
bool exemption_applies(const TaxExemption& e, Timestamp now);

struct AuditorGrant {
  Personal<std::string> auditor_email;
  Timestamp valid_from, valid_until;
  std::optional<Timestamp> revoked_at;  // RevokeAuditorAccess: ended before valid_until
};
// The grant lets its auditor in at `now`: issued, not revoked, not past valid_until.
bool auditor_grant_open(const AuditorGrant& g, Timestamp now);

// A correction of the partner network (MPN) id (CorrectMpnId), oldest first.
struct MpnIdCorrection {
  std::string previous_mpn_id, mpn_id, reason;
  Timestamp at;
};

struct PartnerState {
  StreamVersion version;
  bool enrolled = false;
  PartnerId partner_id;
  std::string partner_name, mpn_id;
  std::vector<MpnIdCorrection> mpn_id_corrections;
  std::string country;  // of the legal address at enrollment; never changes
  std::string billing_currency;
  LegalProfile legal;
  SupportProfile support;
  BillingProfile billing;
  OrganizationProfile organization;
  VettingStatus vetting_status = VettingStatus::kNone;
  VettingSubStatus vetting_sub_status = VettingSubStatus::kNone;
  std::map<LocationId, PartnerLocation> locations;
  std::map<ExemptionId, TaxExemption> tax_exemptions;
  bool suspended = false;
  std::vector<std::string> pinned_offers;  // in display order, at most 5
  std::map<AuditorGrantId, AuditorGrant> auditor_grants;
  // Selling prerequisites (see may_sell()).
  std::optional<Timestamp> agreement_accepted_at;  // the FIRST acceptance: starts the US tax-document window
  std::string agreement_version;                   // the latest accepted
  std::string accepted_tax_id;                     // holds while billing.tax_id equals it
  // Set by the operator.
  std::set<std::string> authorized_regions;
  std::vector<std::string> competencies, endorsements;  // earned tags
  // Directory.
  SharedMap<UserId, EmailFingerprint> users;  // shared between versions of the state until one changes it
  std::set<UserId> active_global_admins;
};

PartnerState evolve(PartnerState state, const DomainEvent& event);

// Writes the partner stream and the first admin's user stream, both "no stream".
Result<Decision> decide(const PartnerState& s, const EnrollPartner& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const UpdateLegalProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const UpdateSupportProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const UpdateBillingProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const UpdateOrganizationProfile& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const AddLocation& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const RemoveLocation& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const FileTaxExemption& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const RevokeTaxExemption& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const RenewTaxExemption& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const SetVettingStatus& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const SuspendPartner& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const ReinstatePartner& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const IssueAuditorAccess& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const AcceptResellerAgreement& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const AcceptTaxId& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const SetAuthorizedRegions& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const SetEarnedTags& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const RevokeAuditorAccess& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const CorrectMpnId& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const CatalogState& catalog, const PinOffer& c,
                        const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const UnpinOffer& c, const CommandContext& ctx);
Result<Decision> decide(const PartnerState& s, const ReorderPins& c, const CommandContext& ctx);

// One thing that keeps a partner from selling (GET /v1/partners/{id}/readiness).
struct SaleBlocker {
  std::string_view code;         // stable; when `refuses_pin_offer`, the rule id of PinOffer's refusal
  std::string message;           // no personal data, no tax id: any user of the partner with a role reads it
  std::string_view clears_with;  // the command that clears it
  bool refuses_pin_offer = false;  // PinOffer is refused (422 with `code`) while it stands
  std::optional<Timestamp> due_at;  // US tax documents: the end of the 30 days (once the agreement is accepted)
};

// EVERY blocker of the partner at `now`, in this order (docs/http-api.md,
// "Readiness"): suspension; the reseller agreement; US tax documents (a
// certificate on file, not revoked, not expired: refuses once 30 days have
// passed since the first acceptance, listed as due before); an EU partner's
// accepted VAT id; then what the program asks for that PinOffer does not
// enforce: vetting authorized, at least one authorized region, support
// details, the billing profile's primary contact, the legal primary contact.
std::vector<SaleBlocker> sale_blockers(const PartnerState& s, Timestamp now);

// Every code sale_blockers() may give, in its order.
const std::vector<std::string_view>& sale_blocker_codes();

// May the partner start something that sells (pin an offer)? kRuleViolated
// with the first blocker of sale_blockers() that refuses PinOffer (its code
// is the rule id), naming `field`. One function, so the readiness list and
// PinOffer's refusals cannot drift.
Status may_sell(const PartnerState& s, Timestamp now, const std::string& field);
// kNotFound unless `s` is the enrolled partner `id`.
Status require_partner(const PartnerState& s, const PartnerId& id);

}  // namespace accountable
