// Error constructors for the domain, on top of events/status.h.
//
// A refused rule says which rule: the message starts with the rule id
// ("last_global_admin: ..."), one of the ids below, so that callers and tests
// can match it without parsing prose.
#pragma once

#include <string>
#include <string_view>

#include "events/status.h"

namespace accountable {

namespace rule {
inline constexpr std::string_view kLegalCountryImmutable = "legal_country_immutable";
inline constexpr std::string_view kBillingCurrencyImmutable = "billing_currency_immutable";
inline constexpr std::string_view kLocationInTenantCountry = "location_in_tenant_country";
inline constexpr std::string_view kTaxExemptionExpired = "tax_exemption_expired";
inline constexpr std::string_view kTaxExemptionRevoked = "tax_exemption_revoked";
inline constexpr std::string_view kLastGlobalAdmin = "last_global_admin";
inline constexpr std::string_view kOneRolePerCategory = "one_role_per_category";
inline constexpr std::string_view kUserInactive = "user_inactive";
inline constexpr std::string_view kUserActive = "user_active";
inline constexpr std::string_view kRestoreWindow = "restore_within_30_days";
inline constexpr std::string_view kPurgeAfterWindow = "purge_after_30_days";
inline constexpr std::string_view kSuspendedCannotPin = "suspended_partner_cannot_pin";
inline constexpr std::string_view kMaxPins = "at_most_5_pinned_offers";
inline constexpr std::string_view kOfferOrderable = "pinned_offer_must_be_orderable";
inline constexpr std::string_view kMaxProfileLocations = "at_most_5_locations_per_region";
inline constexpr std::string_view kProductsInCatalog = "products_must_be_in_catalog";
inline constexpr std::string_view kProfilePublished = "profile_publication_state";
inline constexpr std::string_view kPartnerSuspended = "partner_suspension_state";
inline constexpr std::string_view kSuspensionBillingOverdue = "billing_suspension_needs_60_days_overdue";
inline constexpr std::string_view kOfferRetired = "offer_retired";
inline constexpr std::string_view kAddOnBaseOffers = "add_on_base_offers_must_exist";
inline constexpr std::string_view kPriceListPreview = "license_price_list_30_day_preview";
inline constexpr std::string_view kUsagePriceListCurrentMonth = "usage_price_list_current_month";
inline constexpr std::string_view kPriceListOffers = "price_list_offers_must_exist";
inline constexpr std::string_view kAuditorAccessWindow = "auditor_access_in_future";
inline constexpr std::string_view kAuditorAccessRevoked = "auditor_access_already_revoked";
inline constexpr std::string_view kMpnIdUnchanged = "mpn_id_unchanged";
inline constexpr std::string_view kBillingCurrencyFollowsCountry = "billing_currency_follows_country";
inline constexpr std::string_view kResellerAgreementRequired = "reseller_agreement_before_selling";
inline constexpr std::string_view kUsTaxDocumentsDue = "us_tax_documents_within_30_days";
inline constexpr std::string_view kEuVatIdAccepted = "eu_vat_id_accepted_before_selling";
inline constexpr std::string_view kTaxIdMatchesBilling = "accepted_tax_id_matches_billing_profile";
inline constexpr std::string_view kRegionAuthorized = "business_profile_in_authorized_region";
// Rules across the fields of one command (each field well-formed on its own,
// which is what a 400 and the API document's schemas are about).
inline constexpr std::string_view kValidityOrder = "valid_to_after_valid_from";
inline constexpr std::string_view kRenewalExpiresLater = "renewal_expires_after_the_renewed";
inline constexpr std::string_view kVatIdOfCountry = "eu_vat_id_of_the_partners_country";
inline constexpr std::string_view kReorderEachPin = "reorder_lists_each_pinned_offer_once";
inline constexpr std::string_view kReferralSizesNeeded = "referral_refusal_needs_target_sizes";
inline constexpr std::string_view kMarkReadNamesSome = "mark_read_names_up_to_or_ids";
}  // namespace rule

inline Status unauthenticated(std::string message) { return {StatusCode::kUnauthenticated, std::move(message)}; }
inline Status forbidden(std::string message, std::string field = {}) {
  return {StatusCode::kForbidden, std::move(message), std::move(field)};
}
inline Status conflict(std::string message, std::string field = {}) {
  return {StatusCode::kConflict, std::move(message), std::move(field)};
}
inline Status rule_violated(std::string_view rule_id, std::string message, std::string field = {}) {
  return {StatusCode::kRuleViolated, std::string(rule_id) + ": " + message, std::move(field)};
}
inline Status internal_error(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

}  // namespace accountable
