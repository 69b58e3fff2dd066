#include "aggregates/partner.h"

#include <algorithm>

#include "schema/country_rules.h"
#include "aggregates/roles.h"
#include "aggregates/rule_errors.h"
#include "aggregates/validation.h"
#include "schema/enum_names.h"

namespace accountable {

namespace {

constexpr size_t kMaxPins = 5;
constexpr int64_t kUsTaxDocumentWindowMicros = 30LL * 24 * 3600 * 1'000'000;

// An EU VAT id: the member state's prefix, then 2 to 12 upper-case letters or digits.
Status check_vat_id(std::string_view tax_id, std::string_view country, const std::string& field) {
  std::string_view prefix = vat_prefix(country);
  bool ok = tax_id.size() >= prefix.size() + 2 && tax_id.size() <= prefix.size() + 12 &&
            tax_id.substr(0, prefix.size()) == prefix;
  for (size_t i = prefix.size(); ok && i < tax_id.size(); ++i) {
    char c = tax_id[i];
    ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }
  if (!ok) {
    return rule_violated(rule::kVatIdOfCountry, "must be a VAT id of " + std::string(country) + ": " + std::string(prefix) +
                                " then 2 to 12 upper-case letters or digits",
                            field);
  }
  return Status::ok();
}

Status check_legal(const LegalProfileInput& l, const std::string& prefix) {
  ACCT_RETURN_IF_ERROR(check_field(l.company_name, field_rule<LegalProfileInput>("company_name"), prefix + ".company_name"));
  ACCT_RETURN_IF_ERROR(check_address(l.address, prefix + ".address"));
  ACCT_RETURN_IF_ERROR(check_contact(l.primary_contact, prefix + ".primary_contact"));
  ACCT_RETURN_IF_ERROR(check_field(l.approver_email, field_rule<LegalProfileInput>("approver_email"), prefix + ".approver_email"));
  ACCT_RETURN_IF_ERROR(check_address(l.approver_address, prefix + ".approver_address"));
  return Status::ok();
}

LegalProfile to_legal(const LegalProfileInput& l, const PartnerId& p) {
  return LegalProfile{l.company_name, l.address, PersonalContact{contact_subject(p, "legal-primary"), l.primary_contact},
                      Personal<std::string>{contact_subject(p, "legal-approver"), l.approver_email},
                      l.approver_address};
}

Decision partner_write(const PartnerState& s, std::vector<DomainEvent> events) {
  return Decision{{StreamWrite{partner_stream(s.partner_id), expect_version_of(s.version), std::move(events)}}};
}

}  // namespace

bool exemption_applies(const TaxExemption& e, Timestamp now) {
  return !e.revoked && e.valid_from <= now && now < e.expires_on;
}

namespace blocker {
// The codes of the steps PinOffer does not enforce (those it does are rule ids).
inline constexpr std::string_view kVettingNotAuthorized = "vetting_not_authorized";
inline constexpr std::string_view kNoAuthorizedRegion = "no_authorized_region";
inline constexpr std::string_view kSupportDetailsMissing = "support_details_missing";
inline constexpr std::string_view kBillingContactMissing = "billing_primary_contact_missing";
inline constexpr std::string_view kLegalContactMissing = "legal_primary_contact_missing";
}  // namespace blocker

const std::vector<std::string_view>& sale_blocker_codes() {
  static const std::vector<std::string_view> kCodes = {
      rule::kSuspendedCannotPin,        rule::kResellerAgreementRequired, rule::kUsTaxDocumentsDue,
      rule::kEuVatIdAccepted,           blocker::kVettingNotAuthorized,   blocker::kNoAuthorizedRegion,
      blocker::kSupportDetailsMissing,  blocker::kBillingContactMissing,  blocker::kLegalContactMissing};
  return kCodes;
}

namespace {
bool contact_missing(const PersonalContact& c) {
  return c.erased || c.value.first_name.empty() || c.value.last_name.empty() || c.value.email.empty();
}
}  // namespace

std::vector<SaleBlocker> sale_blockers(const PartnerState& s, Timestamp now) {
  std::vector<SaleBlocker> out;
  auto add = [&out](std::string_view code, std::string message, std::string_view clears_with, bool refuses,
                    std::optional<Timestamp> due_at = std::nullopt) {
    out.push_back(SaleBlocker{code, std::move(message), clears_with, refuses, due_at});
  };
  // Choice (DOMAIN.md): pinning starts something that sells, so it is refused while suspended.
  if (s.suspended) add(rule::kSuspendedCannotPin, "a suspended partner cannot pin offers", "ReinstatePartner", true);
  if (!s.agreement_accepted_at) {
    add(rule::kResellerAgreementRequired,
        "the reseller agreement must be accepted (AcceptResellerAgreement) before selling", "AcceptResellerAgreement",
        true);
  }
  if (s.country == "US") {
    const bool on_file = std::any_of(s.tax_exemptions.begin(), s.tax_exemptions.end(), [&](const auto& entry) {
      return !entry.second.revoked && now < entry.second.expires_on;
    });
    if (!on_file && !s.agreement_accepted_at) {
      add(rule::kUsTaxDocumentsDue,
          "US tax documents are due within 30 days of accepting the reseller agreement; file a tax exemption "
          "certificate (FileTaxExemption)",
          "FileTaxExemption", false);
    } else if (!on_file) {
      const Timestamp due{s.agreement_accepted_at->micros + kUsTaxDocumentWindowMicros};
      const bool overdue = now >= due;
      add(rule::kUsTaxDocumentsDue,
          std::string(overdue ? "US tax documents were due" : "US tax documents are due") +
              " within 30 days of accepting the reseller agreement (accepted " +
              format_timestamp(*s.agreement_accepted_at) + ", due " + format_timestamp(due) +
              "); file a tax exemption certificate (FileTaxExemption)",
          "FileTaxExemption", overdue, due);
    }
  }
  if (in_european_union(s.country) && (s.billing.tax_id.empty() || s.billing.tax_id != s.accepted_tax_id)) {
    // The tax id itself is not in the message: only who manages billing reads it.
    if (s.billing.tax_id.empty()) {
      add(rule::kEuVatIdAccepted,
          "a partner in the EU needs an accepted VAT id before selling: the billing profile has no VAT id "
          "(UpdateBillingProfile, then the operator's AcceptTaxId)",
          "UpdateBillingProfile", true);
    } else {
      add(rule::kEuVatIdAccepted,
          "a partner in the EU needs an accepted VAT id before selling: the billing profile's VAT id is not "
          "accepted yet (the operator's AcceptTaxId)",
          "AcceptTaxId", true);
    }
  }
  if (s.vetting_status != VettingStatus::kAuthorized) {
    add(blocker::kVettingNotAuthorized,
        "the partner is not vetted: its vetting status is " + std::string(enum_name(s.vetting_status)) +
            (s.vetting_sub_status == VettingSubStatus::kNone ? ""
                                                              : " (" + std::string(enum_name(s.vetting_sub_status)) + ")"),
        "SetVettingStatus", false);
  }
  if (s.authorized_regions.empty()) {
    add(blocker::kNoAuthorizedRegion, "the partner is authorized in no region yet", "SetAuthorizedRegions", false);
  }
  if (s.support.email.empty()) {
    add(blocker::kSupportDetailsMissing,
        "the support profile (the email customers are sent to) is not filled in", "UpdateSupportProfile", false);
  }
  if (contact_missing(s.billing.primary_contact)) {
    add(blocker::kBillingContactMissing, "the billing profile has no primary contact", "UpdateBillingProfile", false);
  }
  if (contact_missing(s.legal.primary_contact)) {
    add(blocker::kLegalContactMissing, "the legal profile has no primary contact", "UpdateLegalProfile", false);
  }
  return out;
}

Status may_sell(const PartnerState& s, Timestamp now, const std::string& field) {
  for (const SaleBlocker& b : sale_blockers(s, now)) {
    if (b.refuses_pin_offer) return rule_violated(b.code, b.message, field);
  }
  return Status::ok();
}

Status require_partner(const PartnerState& s, const PartnerId& id) {
  if (!s.enrolled || s.partner_id != id) return not_found("partner " + id.to_string() + " is not enrolled", "partner_id");
  return Status::ok();
}

PartnerState evolve(PartnerState s, const DomainEvent& event) {
  s.version = s.version.next();
  std::visit(
      [&s](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, PartnerEnrolled>) {
          s.enrolled = true;
          s.partner_id = e.partner_id;
          s.partner_name = e.partner_name;
          s.mpn_id = e.mpn_id;
          s.legal = e.legal;
          s.country = e.legal.address.country;
          s.organization = e.organization;
          s.billing_currency = e.billing_currency;
        } else if constexpr (std::is_same_v<T, LegalProfileUpdated>) {
          s.legal = e.legal;
        } else if constexpr (std::is_same_v<T, VettingStatusChanged>) {
          s.vetting_status = e.status;
          s.vetting_sub_status = e.sub_status;
        } else if constexpr (std::is_same_v<T, SupportProfileUpdated>) {
          s.support = e.support;
        } else if constexpr (std::is_same_v<T, BillingProfileUpdated>) {
          s.billing = e.billing;
        } else if constexpr (std::is_same_v<T, OrganizationProfileUpdated>) {
          s.organization = e.organization;
        } else if constexpr (std::is_same_v<T, LocationAdded>) {
          s.locations[e.location_id] = PartnerLocation{e.address, e.mpn_id};
        } else if constexpr (std::is_same_v<T, LocationRemoved>) {
          s.locations.erase(e.location_id);
        } else if constexpr (std::is_same_v<T, TaxExemptionFiled>) {
          s.tax_exemptions[e.exemption_id] =
              TaxExemption{e.jurisdiction, e.certificate_ref, e.valid_from, e.expires_on, false};
        } else if constexpr (std::is_same_v<T, TaxExemptionRevoked>) {
          s.tax_exemptions[e.exemption_id].revoked = true;
        } else if constexpr (std::is_same_v<T, PartnerSuspended>) {
          s.suspended = true;
        } else if constexpr (std::is_same_v<T, PartnerReinstated>) {
          s.suspended = false;
        } else if constexpr (std::is_same_v<T, OfferPinned>) {
          s.pinned_offers.push_back(e.offer_id);
        } else if constexpr (std::is_same_v<T, OfferUnpinned>) {
          std::erase(s.pinned_offers, e.offer_id);
        } else if constexpr (std::is_same_v<T, PinsReordered>) {
          s.pinned_offers = e.offer_ids;
        } else if constexpr (std::is_same_v<T, AuditorAccessIssued>) {
          s.auditor_grants[e.grant_id] = AuditorGrant{e.auditor_email, e.valid_from, e.valid_until, std::nullopt};
        } else if constexpr (std::is_same_v<T, MpnIdCorrected>) {
          s.mpn_id = e.mpn_id;
          s.mpn_id_corrections.push_back(MpnIdCorrection{e.previous_mpn_id, e.mpn_id, e.reason, e.at});
        } else if constexpr (std::is_same_v<T, AuditorAccessRevoked>) {
          s.auditor_grants[e.grant_id].revoked_at = e.at;
        } else if constexpr (std::is_same_v<T, PartnerUserAdded> || std::is_same_v<T, PartnerUserEmailChanged>) {
          s.users.set(e.user_id, e.email_fingerprint);
        } else if constexpr (std::is_same_v<T, PartnerUserRemoved>) {
          s.users.erase(e.user_id);
          s.active_global_admins.erase(e.user_id);
        } else if constexpr (std::is_same_v<T, GlobalAdminActivated>) {
          s.active_global_admins.insert(e.user_id);
        } else if constexpr (std::is_same_v<T, GlobalAdminDeactivated>) {
          s.active_global_admins.erase(e.user_id);
        } else if constexpr (std::is_same_v<T, ResellerAgreementAccepted>) {
          if (!s.agreement_accepted_at) s.agreement_accepted_at = e.at;
          s.agreement_version = e.agreement_version;
        } else if constexpr (std::is_same_v<T, TaxIdAccepted>) {
          s.accepted_tax_id = e.tax_id;
        } else if constexpr (std::is_same_v<T, AuthorizedRegionsSet>) {
          s.authorized_regions = std::set<std::string>(e.regions.begin(), e.regions.end());
        } else if constexpr (std::is_same_v<T, EarnedTagsSet>) {
          s.competencies = e.competencies;
          s.endorsements = e.endorsements;
        }
      },
      event);
  return s;
}

Result<Decision> decide(const PartnerState& s, const EnrollPartner& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, EnrollPartner::kName, std::nullopt));
  ACCT_RETURN_IF_ERROR(check_contact(c.admin, "admin"));
  ACCT_RETURN_IF_ERROR(check_field(c.partner_name, field_rule<EnrollPartner>("partner_name"), "partner_name"));
  ACCT_RETURN_IF_ERROR(check_field(c.mpn_id, field_rule<EnrollPartner>("mpn_id"), "mpn_id"));
  ACCT_RETURN_IF_ERROR(check_legal(c.legal, "legal"));
  ACCT_RETURN_IF_ERROR(check_field(c.tenant_id, field_rule<EnrollPartner>("tenant_id"), "tenant_id"));
  ACCT_RETURN_IF_ERROR(check_field(c.default_domain, field_rule<EnrollPartner>("default_domain"), "default_domain"));
  ACCT_RETURN_IF_ERROR(check_field(c.language, field_rule<EnrollPartner>("language"), "language"));
  ACCT_RETURN_IF_ERROR(check_field(c.culture, field_rule<EnrollPartner>("culture"), "culture"));
  // DOMAIN.md: the billing currency follows the country. Empty: derived from it.
  const std::string currency(billing_currency_of(c.legal.address.country));
  if (!c.billing_currency.empty()) {
    ACCT_RETURN_IF_ERROR(check_field(c.billing_currency, field_rule<EnrollPartner>("billing_currency"), "billing_currency"));
    if (c.billing_currency != currency) {
      return rule_violated(rule::kBillingCurrencyFollowsCountry,
                           "the billing currency follows the country: a partner in " + c.legal.address.country +
                               " is billed in " + currency + " (got " + c.billing_currency + ")",
                           "billing_currency");
    }
  }
  if (ctx.email_fingerprint.empty()) return internal_error("the handler supplied no email fingerprint");
  auto partner_id = ctx.id<PartnerId>(0);
  if (!partner_id) return partner_id.status();
  auto admin_id = ctx.id<UserId>(1);
  if (!admin_id) return admin_id.status();
  if (s.version.value() != 0) return conflict("the partner is already enrolled", "partner_id");

  PartnerEnrolled enrolled;
  enrolled.partner_id = *partner_id;
  enrolled.partner_name = c.partner_name;
  enrolled.mpn_id = c.mpn_id;
  enrolled.legal = to_legal(c.legal, *partner_id);
  enrolled.organization = OrganizationProfile{c.tenant_id, c.default_domain, "", c.language, c.culture};
  enrolled.billing_currency = currency;
  enrolled.enrolled_at = ctx.now;

  Decision d;
  d.writes.push_back(StreamWrite{partner_stream(*partner_id),
                                 ExpectedVersion::no_stream(),
                                 {enrolled, PartnerUserAdded{*admin_id, ctx.email_fingerprint},
                                  GlobalAdminActivated{*admin_id}}});
  d.writes.push_back(StreamWrite{
      user_stream(*admin_id),
      ExpectedVersion::no_stream(),
      {UserCreated{*admin_id, *partner_id, PersonalContact{user_subject(*admin_id), c.admin}, ctx.email_fingerprint},
       RoleAssigned{Role::kGlobalAdmin}, PasswordSet{PasswordReason::kCreated, principal_id(ctx.actor), true}}});
  return d;
}

Result<Decision> decide(const PartnerState& s, const UpdateLegalProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateLegalProfile::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_legal(c.legal, "legal"));
  if (c.legal.address.country != s.country) {
    return rule_violated(rule::kLegalCountryImmutable,
                         "the legal address country cannot change after enrollment (enrolled in " + s.country + ")",
                         "legal.address.country");
  }
  // Choice (DOMAIN.md): any legal-profile change sends the profile back to verification.
  return partner_write(s, {LegalProfileUpdated{to_legal(c.legal, s.partner_id)},
                           VettingStatusChanged{VettingStatus::kPending, VettingSubStatus::kNone}});
}

Result<Decision> decide(const PartnerState& s, const UpdateSupportProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateSupportProfile::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.support.email, field_rule<SupportProfile>("email"), "support.email"));
  ACCT_RETURN_IF_ERROR(check_field(c.support.phone, field_rule<SupportProfile>("phone"), "support.phone"));
  ACCT_RETURN_IF_ERROR(check_field(c.support.website, field_rule<SupportProfile>("website"), "support.website"));
  return partner_write(s, {SupportProfileUpdated{c.support}});
}

Result<Decision> decide(const PartnerState& s, const UpdateBillingProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateBillingProfile::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  const BillingProfileInput& b = c.billing;
  ACCT_RETURN_IF_ERROR(check_field(b.company_name, field_rule<BillingProfileInput>("company_name"), "billing.company_name"));
  ACCT_RETURN_IF_ERROR(check_address(b.address, "billing.address"));
  ACCT_RETURN_IF_ERROR(check_contact(b.primary_contact, "billing.primary_contact"));
  ACCT_RETURN_IF_ERROR(check_field(b.purchase_order_number, field_rule<BillingProfileInput>("purchase_order_number"), "billing.purchase_order_number"));
  ACCT_RETURN_IF_ERROR(check_field(b.tax_id, field_rule<BillingProfileInput>("tax_id"), "billing.tax_id"));
  if (in_european_union(s.country) && !b.tax_id.empty()) {
    ACCT_RETURN_IF_ERROR(check_vat_id(b.tax_id, s.country, "billing.tax_id"));
  }
  ACCT_RETURN_IF_ERROR(check_field(c.billing_currency, field_rule<UpdateBillingProfile>("billing_currency"), "billing_currency"));
  if (c.billing_currency != s.billing_currency) {
    return rule_violated(rule::kBillingCurrencyImmutable,
                         "the billing currency follows the country and cannot change (it is " + s.billing_currency +
                             "; a new tenant is needed)",
                         "billing_currency");
  }
  BillingProfile profile{b.company_name, b.address,
                         PersonalContact{contact_subject(s.partner_id, "billing-primary"), b.primary_contact},
                         b.purchase_order_number, b.tax_id};
  return partner_write(s, {BillingProfileUpdated{std::move(profile)}});
}

Result<Decision> decide(const PartnerState& s, const UpdateOrganizationProfile& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UpdateOrganizationProfile::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.default_domain, field_rule<UpdateOrganizationProfile>("default_domain"), "default_domain"));
  ACCT_RETURN_IF_ERROR(check_field(c.email, field_rule<UpdateOrganizationProfile>("email"), "email"));
  ACCT_RETURN_IF_ERROR(check_field(c.language, field_rule<UpdateOrganizationProfile>("language"), "language"));
  ACCT_RETURN_IF_ERROR(check_field(c.culture, field_rule<UpdateOrganizationProfile>("culture"), "culture"));
  return partner_write(s, {OrganizationProfileUpdated{
                              OrganizationProfile{s.organization.tenant_id, c.default_domain, c.email, c.language,
                                                  c.culture}}});
}

Result<Decision> decide(const PartnerState& s, const AddLocation& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, AddLocation::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_address(c.address, "address"));
  ACCT_RETURN_IF_ERROR(check_field(c.mpn_id, field_rule<AddLocation>("mpn_id"), "mpn_id"));
  if (c.address.country != s.country) {
    return rule_violated(rule::kLocationInTenantCountry,
                         "a location must be in the tenant's country (" + s.country + ")", "address.country");
  }
  for (const auto& [id, loc] : s.locations) {
    if (loc.mpn_id == c.mpn_id) return conflict("another location has MPN id " + c.mpn_id, "mpn_id");
  }
  auto id = ctx.id<LocationId>(0);
  if (!id) return id.status();
  return partner_write(s, {LocationAdded{*id, c.address, c.mpn_id}});
}

Result<Decision> decide(const PartnerState& s, const RemoveLocation& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RemoveLocation::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  if (!s.locations.count(c.location_id)) return not_found("no such location", "location_id");
  return partner_write(s, {LocationRemoved{c.location_id}});
}

Result<Decision> decide(const PartnerState& s, const FileTaxExemption& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, FileTaxExemption::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.jurisdiction, field_rule<FileTaxExemption>("jurisdiction"), "jurisdiction"));
  ACCT_RETURN_IF_ERROR(check_field(c.certificate_ref, field_rule<FileTaxExemption>("certificate_ref"), "certificate_ref"));
  if (!(c.valid_from < c.expires_on)) return rule_violated(rule::kValidityOrder, "must be after valid_from", "expires_on");
  if (!(ctx.now < c.expires_on)) {
    return rule_violated(rule::kTaxExemptionExpired, "the certificate has already expired", "expires_on");
  }
  auto id = ctx.id<ExemptionId>(0);
  if (!id) return id.status();
  return partner_write(s, {TaxExemptionFiled{*id, c.jurisdiction, c.certificate_ref, c.valid_from, c.expires_on,
                                             ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const RevokeTaxExemption& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RevokeTaxExemption::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.reason, field_rule<RevokeTaxExemption>("reason"), "reason"));
  auto it = s.tax_exemptions.find(c.exemption_id);
  if (it == s.tax_exemptions.end()) return not_found("no such tax exemption", "exemption_id");
  if (it->second.revoked) {
    return rule_violated(rule::kTaxExemptionRevoked, "the tax exemption is already revoked", "exemption_id");
  }
  return partner_write(s, {TaxExemptionRevoked{c.exemption_id, c.reason}});
}

Result<Decision> decide(const PartnerState& s, const RenewTaxExemption& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RenewTaxExemption::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  auto it = s.tax_exemptions.find(c.exemption_id);
  if (it == s.tax_exemptions.end()) return not_found("no such tax exemption", "exemption_id");
  const TaxExemption& old = it->second;
  if (old.revoked) {
    return rule_violated(rule::kTaxExemptionRevoked, "the tax exemption is already revoked; file a new one",
                         "exemption_id");
  }
  ACCT_RETURN_IF_ERROR(check_field(c.certificate_ref, field_rule<RenewTaxExemption>("certificate_ref"), "certificate_ref"));
  if (!(c.valid_from < c.expires_on)) return rule_violated(rule::kValidityOrder, "must be after valid_from", "expires_on");
  if (!(old.expires_on < c.expires_on)) {
    return rule_violated(rule::kRenewalExpiresLater, "must be after the renewed certificate's expires_on (" + format_timestamp(old.expires_on) +
                                ")",
                            "expires_on");
  }
  if (!(ctx.now < c.expires_on)) {
    return rule_violated(rule::kTaxExemptionExpired, "the certificate has already expired", "expires_on");
  }
  auto id = ctx.id<ExemptionId>(0);
  if (!id) return id.status();
  // Revoked first: a reader of the commit sees the old certificate end, then the new one begin.
  return partner_write(s, {TaxExemptionRevoked{c.exemption_id, "renewed by exemption " + id->to_string()},
                           TaxExemptionFiled{*id, old.jurisdiction, c.certificate_ref, c.valid_from, c.expires_on,
                                             ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const SetVettingStatus& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, SetVettingStatus::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  if (!enum_at_most(c.status, VettingStatus::kRejected)) return invalid_argument("unknown vetting status", "status");
  if (!enum_at_most(c.sub_status, VettingSubStatus::kBusinessVerification)) {
    return invalid_argument("unknown vetting sub-status", "sub_status");
  }
  return partner_write(s, {VettingStatusChanged{c.status, c.sub_status}});
}

Result<Decision> decide(const PartnerState& s, const SuspendPartner& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, SuspendPartner::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  if (!enum_at_most(c.reason, SuspensionReason::kProviderIssue)) {
    return invalid_argument("unknown suspension reason", "reason");
  }
  ACCT_RETURN_IF_ERROR(check_field(c.note, field_rule<SuspendPartner>("note"), "note"));
  if (s.suspended) return rule_violated(rule::kPartnerSuspended, "the partner is already suspended", "partner_id");
  if (c.reason == SuspensionReason::kBillingOverdue && c.days_overdue <= 60) {
    return rule_violated(rule::kSuspensionBillingOverdue,
                         "billing suspension needs more than 60 days overdue (got " + std::to_string(c.days_overdue) +
                             ")",
                         "days_overdue");
  }
  return partner_write(s, {PartnerSuspended{c.reason, c.days_overdue, c.note, ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const ReinstatePartner& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, ReinstatePartner::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  if (!s.suspended) return rule_violated(rule::kPartnerSuspended, "the partner is not suspended", "partner_id");
  return partner_write(s, {PartnerReinstated{ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const IssueAuditorAccess& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, IssueAuditorAccess::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.auditor_email, field_rule<IssueAuditorAccess>("auditor_email"), "auditor_email"));
  if (!(ctx.now < c.valid_until)) {
    return rule_violated(rule::kAuditorAccessWindow, "auditor access must end in the future", "valid_until");
  }
  auto id = ctx.id<AuditorGrantId>(0);
  if (!id) return id.status();
  return partner_write(
      s, {AuditorAccessIssued{*id, Personal<std::string>{auditor_subject(*id), c.auditor_email}, ctx.now,
                              c.valid_until}});
}

bool auditor_grant_open(const AuditorGrant& g, Timestamp now) {
  return !g.revoked_at && now < g.valid_until;
}

Result<Decision> decide(const PartnerState& s, const RevokeAuditorAccess& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, RevokeAuditorAccess::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.reason, field_rule<RevokeAuditorAccess>("reason"), "reason"));
  auto it = s.auditor_grants.find(c.grant_id);
  if (it == s.auditor_grants.end()) return not_found("no such auditor grant", "grant_id");
  if (it->second.revoked_at) {
    return rule_violated(rule::kAuditorAccessRevoked, "the auditor access is already revoked", "grant_id");
  }
  if (!(ctx.now < it->second.valid_until)) {
    return rule_violated(rule::kAuditorAccessWindow, "the auditor access has already ended", "grant_id");
  }
  return partner_write(s, {AuditorAccessRevoked{c.grant_id, c.reason, ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const CorrectMpnId& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, CorrectMpnId::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.mpn_id, field_rule<CorrectMpnId>("mpn_id"), "mpn_id"));
  ACCT_RETURN_IF_ERROR(check_field(c.reason, field_rule<CorrectMpnId>("reason"), "reason"));
  if (c.mpn_id == s.mpn_id) {
    return rule_violated(rule::kMpnIdUnchanged, "the partner's MPN id is already " + c.mpn_id, "mpn_id");
  }
  // As AddLocation: an MPN id names one account, the partner's or one location's.
  for (const auto& [id, loc] : s.locations) {
    if (loc.mpn_id == c.mpn_id) return conflict("location " + id.to_string() + " has MPN id " + c.mpn_id, "mpn_id");
  }
  return partner_write(s, {MpnIdCorrected{s.mpn_id, c.mpn_id, c.reason, ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const AcceptResellerAgreement& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, AcceptResellerAgreement::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.agreement_version, field_rule<AcceptResellerAgreement>("agreement_version"), "agreement_version"));
  if (s.agreement_accepted_at && s.agreement_version == c.agreement_version) {
    return conflict("agreement version " + c.agreement_version + " is already accepted", "agreement_version");
  }
  return partner_write(s, {ResellerAgreementAccepted{c.agreement_version, principal_id(ctx.actor), ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const AcceptTaxId& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, AcceptTaxId::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.tax_id, field_rule<AcceptTaxId>("tax_id"), "tax_id"));
  if (c.tax_id != s.billing.tax_id) {
    return rule_violated(rule::kTaxIdMatchesBilling,
                         "only the tax id on the billing profile can be accepted (it is " +
                             (s.billing.tax_id.empty() ? std::string("empty") : "'" + s.billing.tax_id + "'") + ")",
                         "tax_id");
  }
  if (s.accepted_tax_id == c.tax_id) return conflict("the tax id is already accepted", "tax_id");
  return partner_write(s, {TaxIdAccepted{c.tax_id, ctx.now}});
}

Result<Decision> decide(const PartnerState& s, const SetAuthorizedRegions& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, SetAuthorizedRegions::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_list(c.regions, field_rule<SetAuthorizedRegions>("regions"),
                                  field_rule<SetAuthorizedRegions>("regions[]"), "regions"));
  std::vector<std::string> regions = c.regions;
  std::sort(regions.begin(), regions.end());
  return partner_write(s, {AuthorizedRegionsSet{std::move(regions)}});
}

Result<Decision> decide(const PartnerState& s, const SetEarnedTags& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, SetEarnedTags::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_list(c.competencies, field_rule<SetEarnedTags>("competencies"),
                                  field_rule<SetEarnedTags>("competencies[]"), "competencies"));
  ACCT_RETURN_IF_ERROR(check_list(c.endorsements, field_rule<SetEarnedTags>("endorsements"),
                                  field_rule<SetEarnedTags>("endorsements[]"), "endorsements"));
  return partner_write(s, {EarnedTagsSet{c.competencies, c.endorsements}});
}

Result<Decision> decide(const PartnerState& s, const CatalogState& catalog, const PinOffer& c,
                        const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, PinOffer::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  ACCT_RETURN_IF_ERROR(check_field(c.offer_id, field_rule<PinOffer>("offer_id"), "offer_id"));
  ACCT_RETURN_IF_ERROR(may_sell(s, ctx.now, "partner_id"));
  if (std::find(s.pinned_offers.begin(), s.pinned_offers.end(), c.offer_id) != s.pinned_offers.end()) {
    return conflict("the offer is already pinned", "offer_id");
  }
  if (s.pinned_offers.size() >= kMaxPins) {
    return rule_violated(rule::kMaxPins, "at most 5 offers can be pinned", "offer_id");
  }
  ACCT_RETURN_IF_ERROR(check_orderable(catalog, c.offer_id, s.country, ctx.now, "offer_id"));
  return partner_write(s, {OfferPinned{c.offer_id}});
}

Result<Decision> decide(const PartnerState& s, const UnpinOffer& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, UnpinOffer::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  if (std::find(s.pinned_offers.begin(), s.pinned_offers.end(), c.offer_id) == s.pinned_offers.end()) {
    return not_found("the offer is not pinned", "offer_id");
  }
  return partner_write(s, {OfferUnpinned{c.offer_id}});
}

Result<Decision> decide(const PartnerState& s, const ReorderPins& c, const CommandContext& ctx) {
  ACCT_RETURN_IF_ERROR(authorize_command(ctx.actor, ReorderPins::kName, c.partner_id));
  ACCT_RETURN_IF_ERROR(require_partner(s, c.partner_id));
  auto wanted = c.offer_ids;
  auto pinned = s.pinned_offers;
  std::sort(wanted.begin(), wanted.end());
  std::sort(pinned.begin(), pinned.end());
  if (wanted != pinned) {
    return rule_violated(rule::kReorderEachPin, "must list each pinned offer exactly once", "offer_ids");
  }
  return partner_write(s, {PinsReordered{c.offer_ids}});
}

}  // namespace accountable
