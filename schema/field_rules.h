// The syntax rules of command fields: lengths, kinds (email, country, ...),
// number ranges and list sizes. One home for each: the aggregates' decide()
// checks a field with `field_rule<T>("name")` (aggregates/validation.h), and the
// JSON Schemas of docs/openapi.yaml are generated from the same entries
// (schema/json_codec.cc), so what the document promises is what decide() does.
//
// A field's rule is keyed by the struct that holds it and its JSON name; a
// list's items are keyed "name[]". Rules that need state (an offer that must
// exist, a VAT id of the partner's country, valid_to after valid_from) stay in
// decide(), and are answered 404 or 422 (docs/http-api.md).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "schema/commands.h"

namespace accountable {

enum class FieldKind : uint8_t {
  kText,         // min..max Unicode code points
  kEmail,        // one '@', a dotted domain after it, no spaces or controls; at most 254
  kPhone,        // digits, spaces, + - ( ) . ; at most 32; may be empty
  kUrl,          // empty, or http(s)://..., at most 2048
  kLinkedInUrl,  // empty, or https://www.linkedin.com/company/...
  kCountry,      // ISO 3166-1 alpha-2, officially assigned
  kCurrency,     // 3 upper-case letters
  kMpnId,        // 1-10 digits
  kUuid,         // xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex, either case)
  kDomainName,   // a-z 0-9 - . ; dotted; 1-253
  kLanguage,     // 2-3 lower-case letters
  kCulture,      // en-us
  kRegion,       // a-z 0-9 - ; 1-32
  kOfferId,      // A-Z a-z 0-9 - ; 1-64
  kNotificationId,  // schema/notification_ids.h: "1234", or "tax.<exemption id>.<micros>"
  kNumber,       // an integer in min..max
  kList,         // min..max items (max INT64_MAX: no bound; see `unique`); the items have a rule "name[]"
};

struct FieldRule {
  std::string_view name;
  FieldKind kind = FieldKind::kText;
  int64_t min = 0;
  int64_t max = 0;
  bool empty_ok = false;  // a kind's value may also be "" (then the field is unset)
  bool unique = false;    // kList: no item twice
};

// FieldRules<T>::kRules lists T's rules; types without rules have none.
template <class T>
struct FieldRules {
  static constexpr std::span<const FieldRule> kRules{};
};

namespace field_rules_detail {
using K = FieldKind;
inline constexpr FieldRule kAddress[] = {
    {"line1", K::kText, 1, 200}, {"line2", K::kText, 0, 200},       {"city", K::kText, 1, 100},
    {"state", K::kText, 0, 2},   {"postal_code", K::kText, 0, 20}, {"country", K::kCountry},
    {"region", K::kText, 0, 100},
};
inline constexpr FieldRule kContact[] = {
    {"first_name", K::kText, 1, 50}, {"last_name", K::kText, 1, 50}, {"email", K::kEmail}, {"phone", K::kPhone}};
inline constexpr FieldRule kLegal[] = {{"company_name", K::kText, 1, 200}, {"approver_email", K::kEmail}};
inline constexpr FieldRule kBilling[] = {
    {"company_name", K::kText, 1, 200}, {"purchase_order_number", K::kText, 0, 50}, {"tax_id", K::kText, 0, 30}};
inline constexpr FieldRule kSupport[] = {{"email", K::kEmail}, {"phone", K::kPhone}, {"website", K::kUrl}};
inline constexpr FieldRule kOffer[] = {{"offer_id", K::kOfferId},
                                       {"display_name", K::kText, 1, 200},
                                       {"purchase_unit", K::kText, 1, 50},
                                       {"base_offer_ids", K::kList, 0, INT64_MAX},
                                       {"base_offer_ids[]", K::kOfferId}};
inline constexpr FieldRule kPriceRow[] = {{"offer_id", K::kOfferId},
                                          {"offer_display_name", K::kText, 1, 200},
                                          {"purchase_unit", K::kText, 1, 50},
                                          {"list_price_micros", K::kNumber, 0, INT64_MAX},
                                          {"erp_price_micros", K::kNumber, 0, INT64_MAX}};
inline constexpr FieldRule kPriceList[] = {{"market", K::kCountry},
                                           {"currency", K::kCurrency},
                                           {"year", K::kNumber, 2000, 2100},
                                           {"month", K::kNumber, 1, 12},
                                           {"rows", K::kList, 1, INT64_MAX}};
inline constexpr FieldRule kLogo[] = {{"width_px", K::kNumber, 1, 300}, {"image_ref", K::kText, 1, 500}};
inline constexpr FieldRule kDetails[] = {
    {"description", K::kText, 0, 2500},   {"website", K::kUrl},
    {"linkedin_url", K::kLinkedInUrl},    {"industry_focus", K::kList, 0, 5},
    {"industry_focus[]", K::kText, 1, 100}, {"products", K::kList, 0, 20},
    {"products[]", K::kText, 1, 100},     {"service_types", K::kList, 0, 20},
    {"service_types[]", K::kText, 1, 100}, {"skills", K::kList, 0, 20},
    {"skills[]", K::kText, 1, 100},
};
inline constexpr FieldRule kEnroll[] = {{"partner_name", K::kText, 1, 200}, {"mpn_id", K::kMpnId},
                                        {"tenant_id", K::kUuid},            {"default_domain", K::kDomainName},
                                        {"language", K::kLanguage},         {"culture", K::kCulture},
                                        {"billing_currency", K::kCurrency, 0, 0, /*empty_ok=*/true}};
inline constexpr FieldRule kCurrencyOnly[] = {{"billing_currency", K::kCurrency}};
inline constexpr FieldRule kOrganization[] = {{"default_domain", K::kDomainName},
                                              {"email", K::kEmail},
                                              {"language", K::kLanguage},
                                              {"culture", K::kCulture}};
inline constexpr FieldRule kMpnOnly[] = {{"mpn_id", K::kMpnId}};
inline constexpr FieldRule kFileExemption[] = {{"jurisdiction", K::kText, 1, 100}, {"certificate_ref", K::kText, 1, 200}};
inline constexpr FieldRule kCertificateOnly[] = {{"certificate_ref", K::kText, 1, 200}};
inline constexpr FieldRule kOptionalReason[] = {{"reason", K::kText, 0, 500}};
inline constexpr FieldRule kRequiredReason[] = {{"reason", K::kText, 1, 500}};
inline constexpr FieldRule kCorrectMpn[] = {{"mpn_id", K::kMpnId}, {"reason", K::kText, 1, 500}};
inline constexpr FieldRule kSuspend[] = {{"note", K::kText, 0, 1000}};
inline constexpr FieldRule kAuditor[] = {{"auditor_email", K::kEmail}};
inline constexpr FieldRule kAgreement[] = {{"agreement_version", K::kText, 1, 32}};
inline constexpr FieldRule kTaxId[] = {{"tax_id", K::kText, 1, 30}};
inline constexpr FieldRule kRegions[] = {{"regions", K::kList, 0, 50, false, /*unique=*/true},
                                         {"regions[]", K::kRegion}};
inline constexpr FieldRule kEarnedTags[] = {{"competencies", K::kList, 0, 50, false, true},
                                            {"competencies[]", K::kText, 1, 100},
                                            {"endorsements", K::kList, 0, 50, false, true},
                                            {"endorsements[]", K::kText, 1, 100}};
inline constexpr FieldRule kCreateUser[] = {{"roles", K::kList, 0, INT64_MAX, false, /*unique=*/true}};
inline constexpr FieldRule kMarkRead[] = {{"up_to", K::kNumber, 0, INT64_MAX},
                                          {"ids", K::kList, 0, static_cast<int64_t>(kMaxNotificationIds), false, true},
                                          {"ids[]", K::kNotificationId}};
inline constexpr FieldRule kOfferIdOnly[] = {{"offer_id", K::kOfferId}};
inline constexpr FieldRule kOwnProfile[] = {
    {"first_name", K::kText, 1, 50}, {"last_name", K::kText, 1, 50}, {"phone", K::kPhone}};
inline constexpr FieldRule kRegionOnly[] = {{"region", K::kRegion}};
inline constexpr FieldRule kProfileLocation[] = {{"region", K::kRegion}, {"phone", K::kPhone}};
}  // namespace field_rules_detail

#define ACCT_FIELD_RULES(Type, table)                                      \
  template <>                                                              \
  struct FieldRules<Type> {                                                \
    static constexpr std::span<const FieldRule> kRules{field_rules_detail::table}; \
  }

ACCT_FIELD_RULES(Address, kAddress);
ACCT_FIELD_RULES(ContactDetails, kContact);
ACCT_FIELD_RULES(LegalProfileInput, kLegal);
ACCT_FIELD_RULES(BillingProfileInput, kBilling);
ACCT_FIELD_RULES(SupportProfile, kSupport);
ACCT_FIELD_RULES(Offer, kOffer);
ACCT_FIELD_RULES(PriceRow, kPriceRow);
ACCT_FIELD_RULES(PriceList, kPriceList);
ACCT_FIELD_RULES(Logo, kLogo);
ACCT_FIELD_RULES(BusinessProfileDetails, kDetails);
ACCT_FIELD_RULES(EnrollPartner, kEnroll);
ACCT_FIELD_RULES(UpdateBillingProfile, kCurrencyOnly);
ACCT_FIELD_RULES(UpdateOrganizationProfile, kOrganization);
ACCT_FIELD_RULES(AddLocation, kMpnOnly);
ACCT_FIELD_RULES(FileTaxExemption, kFileExemption);
ACCT_FIELD_RULES(RenewTaxExemption, kCertificateOnly);
ACCT_FIELD_RULES(RevokeTaxExemption, kOptionalReason);
ACCT_FIELD_RULES(RevokeAuditorAccess, kRequiredReason);
ACCT_FIELD_RULES(CorrectMpnId, kCorrectMpn);
ACCT_FIELD_RULES(SuspendPartner, kSuspend);
ACCT_FIELD_RULES(IssueAuditorAccess, kAuditor);
ACCT_FIELD_RULES(AcceptResellerAgreement, kAgreement);
ACCT_FIELD_RULES(AcceptTaxId, kTaxId);
ACCT_FIELD_RULES(SetAuthorizedRegions, kRegions);
ACCT_FIELD_RULES(SetEarnedTags, kEarnedTags);
ACCT_FIELD_RULES(CreateUser, kCreateUser);
ACCT_FIELD_RULES(MarkNotificationsRead, kMarkRead);
ACCT_FIELD_RULES(PinOffer, kOfferIdOnly);
ACCT_FIELD_RULES(RetireOffer, kOfferIdOnly);
ACCT_FIELD_RULES(UpdateOwnProfile, kOwnProfile);
ACCT_FIELD_RULES(CreateBusinessProfile, kRegionOnly);
ACCT_FIELD_RULES(UpdateBusinessProfile, kRegionOnly);
ACCT_FIELD_RULES(RemoveProfileLocation, kRegionOnly);
ACCT_FIELD_RULES(PublishBusinessProfile, kRegionOnly);
ACCT_FIELD_RULES(UnpublishBusinessProfile, kRegionOnly);
ACCT_FIELD_RULES(AddProfileLocation, kProfileLocation);

#undef ACCT_FIELD_RULES

// T's rule for `name`; a name T has no rule for does not compile.
template <class T>
consteval FieldRule field_rule(std::string_view name) {
  for (const FieldRule& r : FieldRules<T>::kRules) {
    if (r.name == name) return r;
  }
  throw "no field rule of this name for this type";  // not a constant expression: a compile error
}

// T's rule for `name`, or null (the JSON Schema generator).
template <class T>
const FieldRule* find_field_rule(std::string_view name) {
  for (const FieldRule& r : FieldRules<T>::kRules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace accountable
