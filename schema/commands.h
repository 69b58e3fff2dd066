// Every command of the domain, one struct each, and the Command variant.
//
// Field names are the JSON names; validation errors name them with dots and
// indexes ("legal.address.country", "details.products[2]"). Commands never carry
// secrets: a new password travels beside the command to the credential store.
// Ids of created things come from CommandContext::new_ids (index noted below).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schema/domain_events.h"

namespace accountable {

#define ACCT_COMMAND(Name) static constexpr std::string_view kName = #Name

// Plain inputs; the domain wraps personal fields into Personal<> with the right subject.
struct LegalProfileInput {
  std::string company_name;
  Address address;
  ContactDetails primary_contact;
  std::string approver_email;
  Address approver_address;
};

struct BillingProfileInput {
  std::string company_name;
  Address address;
  ContactDetails primary_contact;
  std::string purchase_order_number;
  std::string tax_id;
};

// ---- partner ----------------------------------------------------------------------

// new_ids[0]: partner id, new_ids[1]: first Global admin's user id.
// email_fingerprint: of admin.email.
struct EnrollPartner {
  ACCT_COMMAND(EnrollPartner);
  ContactDetails admin;  // the first Global admin; admin.email is the work email
  std::string partner_name;
  std::string mpn_id;
  LegalProfileInput legal;
  std::string tenant_id;  // UUID of the vendor tenant
  std::string default_domain;
  std::string language;  // "en"
  std::string culture;   // "en-us"
  std::string billing_currency;
};
struct UpdateLegalProfile {
  ACCT_COMMAND(UpdateLegalProfile);
  PartnerId partner_id;
  LegalProfileInput legal;
};
struct UpdateSupportProfile {
  ACCT_COMMAND(UpdateSupportProfile);
  PartnerId partner_id;
  SupportProfile support;
};
struct UpdateBillingProfile {
  ACCT_COMMAND(UpdateBillingProfile);
  PartnerId partner_id;
  BillingProfileInput billing;
  std::string billing_currency;  // must equal the enrolled one
};
struct UpdateOrganizationProfile {
  ACCT_COMMAND(UpdateOrganizationProfile);
  PartnerId partner_id;
  std::string default_domain, email, language, culture;
};
// new_ids[0]: location id.
struct AddLocation {
  ACCT_COMMAND(AddLocation);
  PartnerId partner_id;
  Address address;
  std::string mpn_id;
};
struct RemoveLocation {
  ACCT_COMMAND(RemoveLocation);
  PartnerId partner_id;
  LocationId location_id;
};
// new_ids[0]: exemption id.
struct FileTaxExemption {
  ACCT_COMMAND(FileTaxExemption);
  PartnerId partner_id;
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp valid_from, expires_on;
};
struct RevokeTaxExemption {
  ACCT_COMMAND(RevokeTaxExemption);
  PartnerId partner_id;
  ExemptionId exemption_id;
  std::string reason;
};
// new_ids[0]: the new certificate's exemption id. Files the new certificate
// and revokes the one it replaces in one commit, so no moment exists with both
// or neither; the jurisdiction is the renewed certificate's.
struct RenewTaxExemption {
  ACCT_COMMAND(RenewTaxExemption);
  PartnerId partner_id;
  ExemptionId exemption_id;  // the certificate being replaced
  std::string certificate_ref;
  Timestamp valid_from, expires_on;
};
// A Global admin accepts the reseller agreement on the company's behalf; it
// starts the 30-day window for US tax documents and is needed before selling.
struct AcceptResellerAgreement {
  ACCT_COMMAND(AcceptResellerAgreement);
  PartnerId partner_id;
  std::string agreement_version;  // e.g. "2019-10"
};

// ---- users ------------------------------------------------------------------------

// new_ids[0]: user id. email_fingerprint: of profile.email.
struct CreateUser {
  ACCT_COMMAND(CreateUser);
  PartnerId partner_id;
  ContactDetails profile;
  std::vector<Role> roles;  // may be empty: the user then cannot work until given one
};
// email_fingerprint: of profile.email.
struct UpdateUserProfile {
  ACCT_COMMAND(UpdateUserProfile);
  PartnerId partner_id;
  UserId user_id;
  ContactDetails profile;
};
struct AssignRole {
  ACCT_COMMAND(AssignRole);
  PartnerId partner_id;
  UserId user_id;
  Role role = Role::kGlobalAdmin;
};
struct RemoveRole {
  ACCT_COMMAND(RemoveRole);
  PartnerId partner_id;
  UserId user_id;
  Role role = Role::kGlobalAdmin;
};
struct ResetPassword {
  ACCT_COMMAND(ResetPassword);
  PartnerId partner_id;
  UserId user_id;
};
struct ChangePassword {  // one's own
  ACCT_COMMAND(ChangePassword);
  PartnerId partner_id;
  UserId user_id;
};
// A user changes their own name and phone (PATCH /v1/me); the email, which
// signs them in, stays a user manager's (UpdateUserProfile).
struct UpdateOwnProfile {
  ACCT_COMMAND(UpdateOwnProfile);
  PartnerId partner_id;
  UserId user_id;  // must be the actor's own
  std::string first_name, last_name;
  std::string phone;  // empty: none
};
// A user marks notifications of their own feed read (POST
// /v1/me/notifications/read; projections/notifications_view.h). Read state
// lives in the log like any other change: durable, audited, replicated.
struct MarkNotificationsRead {
  ACCT_COMMAND(MarkNotificationsRead);
  PartnerId partner_id;
  UserId user_id;                // must be the actor's own
  uint64_t up_to = 0;            // every notification of the log at or before this position; 0: none
  std::vector<std::string> ids;  // at most kMaxNotificationIds ids (GET /v1/me/notifications' "id")
};
inline constexpr size_t kMaxNotificationIds = 100;
struct DeactivateUser {
  ACCT_COMMAND(DeactivateUser);
  PartnerId partner_id;
  UserId user_id;
};
struct RestoreUser {
  ACCT_COMMAND(RestoreUser);
  PartnerId partner_id;
  UserId user_id;
};
struct PurgeUser {
  ACCT_COMMAND(PurgeUser);
  PartnerId partner_id;
  UserId user_id;
};

// ---- business profiles ----------------------------------------------------------

struct CreateBusinessProfile {
  ACCT_COMMAND(CreateBusinessProfile);
  PartnerId partner_id;
  std::string region;
  BusinessProfileDetails details;
};
struct UpdateBusinessProfile {
  ACCT_COMMAND(UpdateBusinessProfile);
  PartnerId partner_id;
  std::string region;
  BusinessProfileDetails details;
};
// new_ids[0]: location id.
struct AddProfileLocation {
  ACCT_COMMAND(AddProfileLocation);
  PartnerId partner_id;
  std::string region;
  Address address;
  std::string phone;
};
struct RemoveProfileLocation {
  ACCT_COMMAND(RemoveProfileLocation);
  PartnerId partner_id;
  std::string region;
  LocationId location_id;
};
struct PublishBusinessProfile {
  ACCT_COMMAND(PublishBusinessProfile);
  PartnerId partner_id;
  std::string region;
};
struct UnpublishBusinessProfile {
  ACCT_COMMAND(UnpublishBusinessProfile);
  PartnerId partner_id;
  std::string region;
};

// ---- catalog pins ---------------------------------------------------------------

struct PinOffer {
  ACCT_COMMAND(PinOffer);
  PartnerId partner_id;
  std::string offer_id;
};
struct UnpinOffer {
  ACCT_COMMAND(UnpinOffer);
  PartnerId partner_id;
  std::string offer_id;
};
struct ReorderPins {
  ACCT_COMMAND(ReorderPins);
  PartnerId partner_id;
  std::vector<std::string> offer_ids;  // a permutation of the pinned offers
};

// ---- operator -------------------------------------------------------------------

struct PublishOffer {
  ACCT_COMMAND(PublishOffer);
  Offer offer;
};
struct UpdateOffer {
  ACCT_COMMAND(UpdateOffer);
  Offer offer;
};
struct RetireOffer {
  ACCT_COMMAND(RetireOffer);
  std::string offer_id;
};
struct PublishPriceList {
  ACCT_COMMAND(PublishPriceList);
  PriceList price_list;
};
struct SetVettingStatus {
  ACCT_COMMAND(SetVettingStatus);
  PartnerId partner_id;
  VettingStatus status = VettingStatus::kNone;
  VettingSubStatus sub_status = VettingSubStatus::kNone;
};
struct SuspendPartner {
  ACCT_COMMAND(SuspendPartner);
  PartnerId partner_id;
  SuspensionReason reason = SuspensionReason::kAbuse;
  uint32_t days_overdue = 0;  // required (> 60) for kBillingOverdue
  std::string note;
};
struct ReinstatePartner {
  ACCT_COMMAND(ReinstatePartner);
  PartnerId partner_id;
};
// The operator accepts the tax id (VAT id in the EU) now on the billing profile.
struct AcceptTaxId {
  ACCT_COMMAND(AcceptTaxId);
  PartnerId partner_id;
  std::string tax_id;  // must equal the billing profile's tax id
};
// The operator sets the regions the partner is authorized in (one business
// profile per authorized region).
struct SetAuthorizedRegions {
  ACCT_COMMAND(SetAuthorizedRegions);
  PartnerId partner_id;
  std::vector<std::string> regions;
};
// The operator sets the earned tags shown on the partner's business profiles;
// the partner cannot type them in.
struct SetEarnedTags {
  ACCT_COMMAND(SetEarnedTags);
  PartnerId partner_id;
  std::vector<std::string> competencies;
  std::vector<std::string> endorsements;
};
// new_ids[0]: grant id.
struct IssueAuditorAccess {
  ACCT_COMMAND(IssueAuditorAccess);
  PartnerId partner_id;
  std::string auditor_email;
  Timestamp valid_until;
};

// Ends an auditor's access before its valid_until: the grant's tokens die at
// once, and its open SSE streams end at their next batch.
struct RevokeAuditorAccess {
  ACCT_COMMAND(RevokeAuditorAccess);
  PartnerId partner_id;
  AuditorGrantId grant_id;
  std::string reason;
};

// Corrects the partner network (MPN) id given at enrollment. The operator's:
// the id is the vendor's record of the partner, not something the partner
// types. The previous id stays in the history (MpnIdCorrected).
struct CorrectMpnId {
  ACCT_COMMAND(CorrectMpnId);
  PartnerId partner_id;
  std::string mpn_id;
  std::string reason;
};

#undef ACCT_COMMAND

using Command = std::variant<EnrollPartner, UpdateLegalProfile, UpdateSupportProfile, UpdateBillingProfile,
                             UpdateOrganizationProfile, AddLocation, RemoveLocation, FileTaxExemption,
                             RevokeTaxExemption, CreateUser, UpdateUserProfile, AssignRole, RemoveRole, ResetPassword,
                             ChangePassword, DeactivateUser, RestoreUser, PurgeUser, CreateBusinessProfile,
                             UpdateBusinessProfile, AddProfileLocation, RemoveProfileLocation, PublishBusinessProfile,
                             UnpublishBusinessProfile, PinOffer, UnpinOffer, ReorderPins, PublishOffer, UpdateOffer,
                             RetireOffer, PublishPriceList, SetVettingStatus, SuspendPartner, ReinstatePartner,
                             IssueAuditorAccess, AcceptResellerAgreement, AcceptTaxId, SetAuthorizedRegions,
                             SetEarnedTags, RevokeAuditorAccess, UpdateOwnProfile, CorrectMpnId,
                             RenewTaxExemption, MarkNotificationsRead>;

inline std::string_view command_name(const Command& c) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kName; }, c);
}

// Whether a command may arrive as JSON text (POST /v1/commands, `acct exec`):
// all but ChangePassword, whose new password must not travel inside a command
// (POST /v1/me/password carries it beside).
inline bool accepted_as_command_text(std::string_view name) { return name != ChangePassword::kName; }

}  // namespace accountable
