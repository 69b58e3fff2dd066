// THE spellings of the domain's enums in every text form: the JSON of
// commands and events (schema/json_codec.h), the views' columns and query
// parameters (projections/view_codec.h, the HTTP API), exports and Kafka
// messages. docs/commands.md lists them; nothing else spells them.
//
// snake_case, except the price-list change codes ("ADD", "CHG", "DEL",
// "UNC") and the customer sizes ("1-9", ..., "1000+").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "schema/domain_events.h"

namespace accountable {

template <class E>
struct EnumName {
  E value;
  std::string_view name;
};

// Specialised below, one table per enum.
template <class E>
struct EnumNames;

#define ACCT_ENUM_NAMES(E, ...)                            \
  template <>                                              \
  struct EnumNames<E> {                                    \
    static constexpr EnumName<E> kNames[] = {__VA_ARGS__}; \
  }

ACCT_ENUM_NAMES(Role, {Role::kGlobalAdmin, "global_admin"}, {Role::kUserManagementAdmin, "user_management_admin"},
                {Role::kBillingAdmin, "billing_admin"}, {Role::kAccountAdmin, "account_admin"},
                {Role::kMpnPartnerAdmin, "mpn_partner_admin"}, {Role::kAdminAgent, "admin_agent"},
                {Role::kSalesAgent, "sales_agent"}, {Role::kHelpdeskAgent, "helpdesk_agent"},
                {Role::kIncentivesAdmin, "incentives_admin"}, {Role::kIncentivesUser, "incentives_user"},
                {Role::kReferralAdmin, "referral_admin"}, {Role::kBusinessProfileAdmin, "business_profile_admin"});
ACCT_ENUM_NAMES(VettingStatus, {VettingStatus::kNone, "none"}, {VettingStatus::kPending, "pending"},
                {VettingStatus::kAuthorized, "authorized"}, {VettingStatus::kRejected, "rejected"});
ACCT_ENUM_NAMES(VettingSubStatus, {VettingSubStatus::kNone, "none"}, {VettingSubStatus::kEntry, "entry"},
                {VettingSubStatus::kEmailOwnership, "email_ownership"},
                {VettingSubStatus::kEmailDomain, "email_domain"},
                {VettingSubStatus::kEmploymentVerification, "employment_verification"},
                {VettingSubStatus::kDecision, "decision"}, {VettingSubStatus::kOther, "other"},
                {VettingSubStatus::kBusinessVerification, "business_verification"});
ACCT_ENUM_NAMES(SuspensionReason, {SuspensionReason::kBillingOverdue, "billing_overdue"},
                {SuspensionReason::kAbuse, "abuse"}, {SuspensionReason::kProviderIssue, "provider_issue"});
ACCT_ENUM_NAMES(PasswordReason, {PasswordReason::kCreated, "created"}, {PasswordReason::kReset, "reset"},
                {PasswordReason::kChanged, "changed"});
ACCT_ENUM_NAMES(Segment, {Segment::kEnterprise, "enterprise"}, {Segment::kSmallBusiness, "small_business"},
                {Segment::kGovernment, "government"});
ACCT_ENUM_NAMES(LicenseAgreementType, {LicenseAgreementType::kCorporate, "corporate"},
                {LicenseAgreementType::kGovernment, "government"}, {LicenseAgreementType::kAcademic, "academic"});
ACCT_ENUM_NAMES(SecondaryLicenseType, {SecondaryLicenseType::kNonSpecific, "non_specific"},
                {SecondaryLicenseType::kAddOn, "add_on"}, {SecondaryLicenseType::kTrial, "trial"});
ACCT_ENUM_NAMES(EndCustomerType, {EndCustomerType::kCorporate, "corporate"},
                {EndCustomerType::kGovernment, "government"}, {EndCustomerType::kFaculty, "faculty"},
                {EndCustomerType::kStudent, "student"});
ACCT_ENUM_NAMES(BillingModel, {BillingModel::kLicenseBased, "license_based"},
                {BillingModel::kUsageBased, "usage_based"});
ACCT_ENUM_NAMES(ChangeCode, {ChangeCode::kAdd, "ADD"}, {ChangeCode::kChg, "CHG"}, {ChangeCode::kDel, "DEL"},
                {ChangeCode::kUnc, "UNC"});
ACCT_ENUM_NAMES(LogoFormat, {LogoFormat::kGif, "gif"}, {LogoFormat::kJpg, "jpg"}, {LogoFormat::kPng, "png"});
ACCT_ENUM_NAMES(CustomerSize, {CustomerSize::k1To9, "1-9"}, {CustomerSize::k10To49, "10-49"},
                {CustomerSize::k50To249, "50-249"}, {CustomerSize::k250To999, "250-999"},
                {CustomerSize::k1000Plus, "1000+"});
#undef ACCT_ENUM_NAMES

// An enum with a table above.
template <class T>
concept NamedEnum = std::is_enum_v<T> && requires { EnumNames<T>::kNames; };

// The spelling of a value; empty for a value outside the table.
template <NamedEnum E>
std::string_view enum_name(E value) {
  for (const auto& n : EnumNames<E>::kNames) {
    if (n.value == value) return n.name;
  }
  return {};
}

// The value spelled `name`; nullopt for any other text.
template <NamedEnum E>
std::optional<E> enum_from_name(std::string_view name) {
  for (const auto& n : EnumNames<E>::kNames) {
    if (n.name == name) return n.value;
  }
  return std::nullopt;
}

// The spellings for an error message: "a", "b", "c" (quoted, comma separated).
template <NamedEnum E>
std::string enum_choices() {
  std::string out;
  for (const auto& n : EnumNames<E>::kNames) {
    if (!out.empty()) out += ", ";
    // Appended piece by piece: gcc 12 at -O3 warns falsely (-Wrestrict) on "x" + std::string.
    out += '"';
    out += n.name;
    out += '"';
  }
  return out;
}

}  // namespace accountable
