// Domain events: the typed payloads that the aggregates write to the log.
//
// Contract:
//  - Every event struct has a stable `kType` name and a `kSchemaVersion`. Both go
//    into the log's envelope; the payload bytes are cereal PortableBinary.
//  - A payload never changes meaning for a given (type, version). A schema change
//    bumps the version, keeps the old struct as `<Name>V<n>` and registers an
//    upcaster (see decode_event).
//  - Personal data (people's names, emails, phones, personal addresses) is held
//    only inside `Personal<T>`, which names its data subject; it is sealed with
//    that subject's key when a PersonalDataScope is installed (the engine always
//    does), see schema/personal_data.h.
//  - Events never carry passwords, password hashes, tokens or plain emails used
//    for uniqueness (uniqueness uses `email_fingerprint`, a keyed hash).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <sstream>

#include "events/status.h"
#include "events/types.h"
#include "schema/bounded_binary_archive.h"
#include "schema/personal_data.h"

namespace accountable {

// ---- ids ---------------------------------------------------------------------

struct PartnerIdTag {};
struct UserIdTag {};
struct LocationIdTag {};
struct ExemptionIdTag {};
struct AuditorGrantIdTag {};
using PartnerId = Id128<PartnerIdTag>;
using UserId = Id128<UserIdTag>;
using LocationId = Id128<LocationIdTag>;
using ExemptionId = Id128<ExemptionIdTag>;
using AuditorGrantId = Id128<AuditorGrantIdTag>;

// Keyed hash (per-partner secret) of a normalized email, computed by the handler.
// Opaque bytes; equal fingerprints mean equal emails within one partner.
using EmailFingerprint = std::string;

template <class Archive, class Tag>
void save(Archive& ar, const Id128<Tag>& id) {
  ar(id.bytes());
}
template <class Archive, class Tag>
void load(Archive& ar, Id128<Tag>& id) {
  typename Id128<Tag>::Bytes b{};
  ar(b);
  id = Id128<Tag>(b);
}
template <class Archive>
void serialize(Archive& ar, Timestamp& t) {
  ar(t.micros);
}

// ---- personal data -------------------------------------------------------------

namespace personal_detail {
// A value's own PortableBinary bytes: what Personal<T> seals, and what
// encode_event writes for a whole event.
template <class T>
std::string to_bytes(const T& value) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(value);
  }
  return std::move(out).str();
}
// Decoded with the bounded archive (schema/bounded_binary_archive.h): these
// bytes come from a payload, so a forged length or bool byte is refused with a
// cereal::Exception (from_bytes in domain_events.cc makes it kCorruption).
template <class T>
T from_bytes(std::string_view bytes) {
  T value{};
  BoundedBinaryInputArchive ar(bytes);
  ar(value);
  return value;
}
}  // namespace personal_detail

// A value that is personal data of one data subject. The codec seals `value`
// with the subject's key; destroying that key erases the value everywhere.
//
// Wire form (schema 2 of the events that hold it; schema/personal_data.h):
//   subject, kind u8, bytes   kind 1: sealed with the subject's key (the log)
//                             kind 0: the value in clear (no cipher installed:
//                                     tests and golden fixtures only)
// Schema 1 wrote (subject, value) in clear; its upcasters read it.
template <class T>
struct Personal {
  std::string subject;  // see the *_subject() functions below
  T value{};
  bool erased = false;  // the subject's key was destroyed: `value` is empty for good
  friend bool operator==(const Personal&, const Personal&) = default;

  template <class Archive>
  void save(Archive& ar) const {
    if (legacy_personal_format()) {
      ar(subject, value);
      return;
    }
    std::string plain = personal_detail::to_bytes(value);
    // A slot never filled (a state's billing contact before the first
    // UpdateBillingProfile) has no subject and holds nothing: nothing to seal.
    if (subject.empty() && value == T{}) {
      ar(subject, uint8_t{0}, plain);
      return;
    }
    if (PersonalDataCipher* cipher = current_personal_cipher()) {
      auto sealed = cipher->seal(subject, plain);
      if (!sealed) throw PersonalDataError(sealed.status());
      ar(subject, uint8_t{1}, *sealed);
    } else {
      ar(subject, uint8_t{0}, plain);
    }
  }
  template <class Archive>
  void load(Archive& ar) {
    if (legacy_personal_format()) {
      ar(subject, value);
      return;
    }
    uint8_t kind = 0;
    std::string bytes;
    ar(subject, kind, bytes);
    erased = false;
    if (kind == 0) {
      value = personal_detail::from_bytes<T>(bytes);
    } else if (kind == 1) {
      PersonalDataCipher* cipher = current_personal_cipher();
      if (cipher == nullptr) throw PersonalDataError(Status(StatusCode::kInternal, "sealed personal data, no key store"));
      auto plain = cipher->open(subject, bytes);
      if (plain) {
        value = personal_detail::from_bytes<T>(*plain);
      } else if (plain.status().code() == StatusCode::kNotFound) {
        value = T{};
        erased = true;
      } else {
        throw PersonalDataError(plain.status());
      }
    } else {
      throw PersonalDataError(corruption("personal data of an unknown kind " + std::to_string(kind)));
    }
  }
};

// Data-subject ids. A user is their own subject; a partner's contacts are subjects
// scoped to the partner and the contact's slot.
std::string user_subject(const UserId& id);                                  // "user:<uuid>"
std::string contact_subject(const PartnerId& partner, std::string_view slot);  // "contact:<uuid>:<slot>"
std::string auditor_subject(const AuditorGrantId& grant);                   // "auditor:<uuid>"

// ---- value types shared by events and commands ----------------------------------

// A business address (not personal data: it is a company's address).
struct Address {
  std::string line1, line2, city, state, postal_code, country, region;
  friend bool operator==(const Address&, const Address&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(line1, line2, city, state, postal_code, country, region);
  }
};

// A person's contact details; always wrapped in Personal<> inside events.
struct ContactDetails {
  std::string first_name, last_name, email, phone;
  friend bool operator==(const ContactDetails&, const ContactDetails&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(first_name, last_name, email, phone);
  }
};
using PersonalContact = Personal<ContactDetails>;

struct LegalProfile {
  std::string company_name;
  Address address;
  PersonalContact primary_contact;
  Personal<std::string> approver_email;
  Address approver_address;
  friend bool operator==(const LegalProfile&, const LegalProfile&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(company_name, address, primary_contact, approver_email, approver_address);
  }
};

// Company support contact points (a shared mailbox and switchboard, not a person).
struct SupportProfile {
  std::string email, phone, website;
  friend bool operator==(const SupportProfile&, const SupportProfile&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(email, phone, website);
  }
};

struct BillingProfile {
  std::string company_name;
  Address address;
  PersonalContact primary_contact;
  std::string purchase_order_number;
  std::string tax_id;  // VAT id in the EU
  friend bool operator==(const BillingProfile&, const BillingProfile&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(company_name, address, primary_contact, purchase_order_number, tax_id);
  }
};

struct OrganizationProfile {
  std::string tenant_id, default_domain, email, language, culture;
  friend bool operator==(const OrganizationProfile&, const OrganizationProfile&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tenant_id, default_domain, email, language, culture);
  }
};

// Numeric values of every enum below are part of the stored format: append only.
enum class VettingStatus : uint8_t { kNone = 0, kPending = 1, kAuthorized = 2, kRejected = 3 };
enum class VettingSubStatus : uint8_t {
  kNone = 0,
  kEntry = 1,
  kEmailOwnership = 2,
  kEmailDomain = 3,
  kEmploymentVerification = 4,
  kDecision = 5,
  kOther = 6,
  kBusinessVerification = 7,
};
enum class SuspensionReason : uint8_t { kBillingOverdue = 0, kAbuse = 1, kProviderIssue = 2 };

enum class Role : uint8_t {
  kGlobalAdmin = 0,
  kUserManagementAdmin = 1,
  kBillingAdmin = 2,
  kAccountAdmin = 3,
  kMpnPartnerAdmin = 4,
  kAdminAgent = 5,
  kSalesAgent = 6,
  kHelpdeskAgent = 7,
  kIncentivesAdmin = 8,
  kIncentivesUser = 9,
  kReferralAdmin = 10,
  kBusinessProfileAdmin = 11,
};
inline constexpr int kRoleCount = 12;

enum class PasswordReason : uint8_t { kCreated = 0, kReset = 1, kChanged = 2 };

enum class Segment : uint8_t { kEnterprise = 0, kSmallBusiness = 1, kGovernment = 2 };
enum class LicenseAgreementType : uint8_t { kCorporate = 0, kGovernment = 1, kAcademic = 2 };
enum class SecondaryLicenseType : uint8_t { kNonSpecific = 0, kAddOn = 1, kTrial = 2 };
enum class EndCustomerType : uint8_t { kCorporate = 0, kGovernment = 1, kFaculty = 2, kStudent = 3 };
enum class BillingModel : uint8_t { kLicenseBased = 0, kUsageBased = 1 };
enum class ChangeCode : uint8_t { kAdd = 0, kChg = 1, kDel = 2, kUnc = 3 };
enum class LogoFormat : uint8_t { kGif = 0, kJpg = 1, kPng = 2 };
enum class CustomerSize : uint8_t { k1To9 = 0, k10To49 = 1, k50To249 = 2, k250To999 = 3, k1000Plus = 4 };

struct Offer {
  std::string offer_id;
  std::string display_name;
  Segment segment = Segment::kEnterprise;
  LicenseAgreementType license_agreement_type = LicenseAgreementType::kCorporate;
  std::string purchase_unit;  // e.g. "1 Month"
  SecondaryLicenseType secondary_license_type = SecondaryLicenseType::kNonSpecific;
  std::vector<std::string> base_offer_ids;  // add-ons only: the offers they need
  EndCustomerType end_customer_type = EndCustomerType::kCorporate;
  BillingModel billing_model = BillingModel::kLicenseBased;
  friend bool operator==(const Offer&, const Offer&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer_id, display_name, segment, license_agreement_type, purchase_unit, secondary_license_type, base_offer_ids,
       end_customer_type, billing_model);
  }
};

// Prices are integers in millionths of the list's currency unit (no floating point).
struct PriceRow {
  ChangeCode change_code = ChangeCode::kAdd;
  Timestamp valid_from, valid_to;  // the offer can be ordered only inside [from, to]
  std::string offer_display_name, offer_id;
  LicenseAgreementType license_agreement_type = LicenseAgreementType::kCorporate;
  std::string purchase_unit;
  SecondaryLicenseType secondary_license_type = SecondaryLicenseType::kNonSpecific;
  EndCustomerType end_customer_type = EndCustomerType::kCorporate;
  int64_t list_price_micros = 0;
  int64_t erp_price_micros = 0;
  friend bool operator==(const PriceRow&, const PriceRow&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(change_code, valid_from, valid_to, offer_display_name, offer_id, license_agreement_type, purchase_unit,
       secondary_license_type, end_customer_type, list_price_micros, erp_price_micros);
  }
};

struct PriceList {
  std::string market;    // ISO 3166 alpha-2
  std::string currency;  // ISO 4217
  int32_t year = 0;
  int32_t month = 0;  // 1..12; the list is in effect for that calendar month (UTC)
  BillingModel billing_model = BillingModel::kLicenseBased;
  std::vector<PriceRow> rows;
  friend bool operator==(const PriceList&, const PriceList&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(market, currency, year, month, billing_model, rows);
  }
};

struct Logo {
  LogoFormat format = LogoFormat::kPng;
  uint32_t width_px = 0;
  std::string image_ref;  // where the image bytes live (blob store reference)
  friend bool operator==(const Logo&, const Logo&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(format, width_px, image_ref);
  }
};

struct BusinessProfileDetails {
  std::optional<Logo> logo;
  std::string description;
  std::string website;
  std::string linkedin_url;
  std::vector<std::string> industry_focus;
  std::vector<std::string> products;  // offer ids from the catalog
  std::vector<std::string> service_types;
  std::vector<std::string> skills;
  bool allow_vendor_endorsement = false;
  std::vector<CustomerSize> target_customer_sizes;
  bool refuse_referrals_outside_target_sizes = false;
  friend bool operator==(const BusinessProfileDetails&, const BusinessProfileDetails&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(logo, description, website, linkedin_url, industry_focus, products, service_types, skills,
       allow_vendor_endorsement, target_customer_sizes, refuse_referrals_outside_target_sizes);
  }
};

// ---- events ---------------------------------------------------------------------
// Stream of each event: P = partner-<id>, U = user-<id>, B = bizprofile-<id>-<region>,
// C = catalog. See docs/aggregates.md.

#define ACCT_EVENT(Name, Version) \
  static constexpr std::string_view kType = #Name; \
  static constexpr uint16_t kSchemaVersion = Version

// P. The partner account exists. The first Global admin is created in the same
// decision (UserCreated on its own stream, and the directory events below).
struct PartnerEnrolled {
  ACCT_EVENT(PartnerEnrolled, 2);  // v2: personal data sealed per subject
  PartnerId partner_id;
  std::string partner_name;  // partner network profile
  std::string mpn_id;
  LegalProfile legal;
  OrganizationProfile organization;
  std::string billing_currency;  // fixed for the life of the account
  Timestamp enrolled_at;
  friend bool operator==(const PartnerEnrolled&, const PartnerEnrolled&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(partner_id, partner_name, mpn_id, legal, organization, billing_currency, enrolled_at);
  }
};

// P. The legal address country never differs from the enrolled one.
struct LegalProfileUpdated {
  ACCT_EVENT(LegalProfileUpdated, 2);  // v2: personal data sealed per subject
  LegalProfile legal;
  friend bool operator==(const LegalProfileUpdated&, const LegalProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(legal);
  }
};

// P.
struct VettingStatusChanged {
  ACCT_EVENT(VettingStatusChanged, 1);
  VettingStatus status = VettingStatus::kNone;
  VettingSubStatus sub_status = VettingSubStatus::kNone;
  friend bool operator==(const VettingStatusChanged&, const VettingStatusChanged&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(status, sub_status);
  }
};

// P.
struct SupportProfileUpdated {
  ACCT_EVENT(SupportProfileUpdated, 1);
  SupportProfile support;
  friend bool operator==(const SupportProfileUpdated&, const SupportProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(support);
  }
};

// P. The billing currency is not part of it: it cannot change.
struct BillingProfileUpdated {
  ACCT_EVENT(BillingProfileUpdated, 2);  // v2: personal data sealed per subject
  BillingProfile billing;
  friend bool operator==(const BillingProfileUpdated&, const BillingProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(billing);
  }
};

// P. The tenant id is kept from enrollment.
struct OrganizationProfileUpdated {
  ACCT_EVENT(OrganizationProfileUpdated, 1);
  OrganizationProfile organization;
  friend bool operator==(const OrganizationProfileUpdated&, const OrganizationProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(organization);
  }
};

// P.
struct LocationAdded {
  ACCT_EVENT(LocationAdded, 1);
  LocationId location_id;
  Address address;
  std::string mpn_id;
  friend bool operator==(const LocationAdded&, const LocationAdded&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(location_id, address, mpn_id);
  }
};

// P.
struct LocationRemoved {
  ACCT_EVENT(LocationRemoved, 1);
  LocationId location_id;
  friend bool operator==(const LocationRemoved&, const LocationRemoved&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(location_id);
  }
};

// P. Schema v1, kept only to decode old payloads: it had no valid_from (the
// exemption applied from filing). Upcast sets valid_from = filed_at.
struct TaxExemptionFiledV1 {
  ACCT_EVENT(TaxExemptionFiled, 1);
  ExemptionId exemption_id;
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp expires_on;
  Timestamp filed_at;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(exemption_id, jurisdiction, certificate_ref, expires_on, filed_at);
  }
};

// P. Schema v2: applies within [valid_from, expires_on).
struct TaxExemptionFiled {
  ACCT_EVENT(TaxExemptionFiled, 2);
  ExemptionId exemption_id;
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp valid_from;
  Timestamp expires_on;
  Timestamp filed_at;
  friend bool operator==(const TaxExemptionFiled&, const TaxExemptionFiled&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(exemption_id, jurisdiction, certificate_ref, valid_from, expires_on, filed_at);
  }
};

// P.
struct TaxExemptionRevoked {
  ACCT_EVENT(TaxExemptionRevoked, 1);
  ExemptionId exemption_id;
  std::string reason;
  friend bool operator==(const TaxExemptionRevoked&, const TaxExemptionRevoked&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(exemption_id, reason);
  }
};

// P.
struct PartnerSuspended {
  ACCT_EVENT(PartnerSuspended, 1);
  SuspensionReason reason = SuspensionReason::kAbuse;
  uint32_t days_overdue = 0;  // billing reason only
  std::string note;
  Timestamp at;
  friend bool operator==(const PartnerSuspended&, const PartnerSuspended&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(reason, days_overdue, note, at);
  }
};

// P.
struct PartnerReinstated {
  ACCT_EVENT(PartnerReinstated, 1);
  Timestamp at;
  friend bool operator==(const PartnerReinstated&, const PartnerReinstated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// P. Appended at the end of the pin order.
struct OfferPinned {
  ACCT_EVENT(OfferPinned, 1);
  std::string offer_id;
  friend bool operator==(const OfferPinned&, const OfferPinned&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer_id);
  }
};

// P.
struct OfferUnpinned {
  ACCT_EVENT(OfferUnpinned, 1);
  std::string offer_id;
  friend bool operator==(const OfferUnpinned&, const OfferUnpinned&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer_id);
  }
};

// P. A permutation of the pinned offers.
struct PinsReordered {
  ACCT_EVENT(PinsReordered, 1);
  std::vector<std::string> offer_ids;
  friend bool operator==(const PinsReordered&, const PinsReordered&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer_ids);
  }
};

// P.
struct AuditorAccessIssued {
  ACCT_EVENT(AuditorAccessIssued, 2);  // v2: personal data sealed per subject
  AuditorGrantId grant_id;
  Personal<std::string> auditor_email;
  Timestamp valid_from, valid_until;
  friend bool operator==(const AuditorAccessIssued&, const AuditorAccessIssued&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(grant_id, auditor_email, valid_from, valid_until);
  }
};

// P. The grant ends before its valid_until (its tokens are revoked).
struct AuditorAccessRevoked {
  ACCT_EVENT(AuditorAccessRevoked, 1);
  AuditorGrantId grant_id;
  std::string reason;
  Timestamp at;
  friend bool operator==(const AuditorAccessRevoked&, const AuditorAccessRevoked&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(grant_id, reason, at);
  }
};

// P. The operator corrected the partner network (MPN) id: `previous_mpn_id`
// was in effect until `at`, `mpn_id` from then on.
struct MpnIdCorrected {
  ACCT_EVENT(MpnIdCorrected, 1);
  std::string previous_mpn_id;
  std::string mpn_id;
  std::string reason;
  Timestamp at;
  friend bool operator==(const MpnIdCorrected&, const MpnIdCorrected&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(previous_mpn_id, mpn_id, reason, at);
  }
};

// P. Directory: the user exists in the partner and claims this email fingerprint
// (until purged). Guards email uniqueness.
struct PartnerUserAdded {
  ACCT_EVENT(PartnerUserAdded, 1);
  UserId user_id;
  EmailFingerprint email_fingerprint;
  friend bool operator==(const PartnerUserAdded&, const PartnerUserAdded&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id, email_fingerprint);
  }
};

// P. Directory: the user's email changed; the old fingerprint is released.
struct PartnerUserEmailChanged {
  ACCT_EVENT(PartnerUserEmailChanged, 1);
  UserId user_id;
  EmailFingerprint email_fingerprint;
  friend bool operator==(const PartnerUserEmailChanged&, const PartnerUserEmailChanged&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id, email_fingerprint);
  }
};

// P. Directory: the user was purged; its fingerprint is released.
struct PartnerUserRemoved {
  ACCT_EVENT(PartnerUserRemoved, 1);
  UserId user_id;
  friend bool operator==(const PartnerUserRemoved&, const PartnerUserRemoved&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id);
  }
};

// P. Directory: the user is now an active Global admin (role granted, or restored).
struct GlobalAdminActivated {
  ACCT_EVENT(GlobalAdminActivated, 1);
  UserId user_id;
  friend bool operator==(const GlobalAdminActivated&, const GlobalAdminActivated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id);
  }
};

// P. Directory: the user no longer counts as an active Global admin. Never
// written when it would leave the partner with none.
struct GlobalAdminDeactivated {
  ACCT_EVENT(GlobalAdminDeactivated, 1);
  UserId user_id;
  friend bool operator==(const GlobalAdminDeactivated&, const GlobalAdminDeactivated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id);
  }
};

// U.
struct UserCreated {
  ACCT_EVENT(UserCreated, 2);  // v2: personal data sealed per subject
  UserId user_id;
  PartnerId partner_id;
  PersonalContact profile;  // subject: the user
  EmailFingerprint email_fingerprint;
  friend bool operator==(const UserCreated&, const UserCreated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(user_id, partner_id, profile, email_fingerprint);
  }
};

// U.
struct UserProfileUpdated {
  ACCT_EVENT(UserProfileUpdated, 2);  // v2: personal data sealed per subject
  PersonalContact profile;
  EmailFingerprint email_fingerprint;
  friend bool operator==(const UserProfileUpdated&, const UserProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(profile, email_fingerprint);
  }
};

// U.
struct RoleAssigned {
  ACCT_EVENT(RoleAssigned, 1);
  Role role = Role::kGlobalAdmin;
  friend bool operator==(const RoleAssigned&, const RoleAssigned&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(role);
  }
};

// U.
struct RoleRemoved {
  ACCT_EVENT(RoleRemoved, 1);
  Role role = Role::kGlobalAdmin;
  friend bool operator==(const RoleRemoved&, const RoleRemoved&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(role);
  }
};

// U. Only the fact: the password itself lives in the credential store.
struct PasswordSet {
  ACCT_EVENT(PasswordSet, 1);
  PasswordReason reason = PasswordReason::kCreated;
  std::string by;  // principal id of the actor, e.g. "user:<uuid>" or "operator:<name>"
  bool must_change_at_next_sign_in = true;
  friend bool operator==(const PasswordSet&, const PasswordSet&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(reason, by, must_change_at_next_sign_in);
  }
};

// U. Restorable until at + 30 days; purgeable from then on.
struct UserDeactivated {
  ACCT_EVENT(UserDeactivated, 1);
  Timestamp at;
  friend bool operator==(const UserDeactivated&, const UserDeactivated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// U.
struct UserRestored {
  ACCT_EVENT(UserRestored, 1);
  Timestamp at;
  friend bool operator==(const UserRestored&, const UserRestored&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// U. The subject key is destroyed by the handler; earlier personal fields read as erased.
struct UserPurged {
  ACCT_EVENT(UserPurged, 1);
  Timestamp at;
  friend bool operator==(const UserPurged&, const UserPurged&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// U. The user marked notifications of their feed read (MarkNotificationsRead):
// every one at or before `up_to` (0: none) and those named in `ids`. The
// notifications view never lets `up_to` reach past this event's own position.
struct NotificationsRead {
  ACCT_EVENT(NotificationsRead, 1);
  uint64_t up_to = 0;
  std::vector<std::string> ids;
  Timestamp at;
  friend bool operator==(const NotificationsRead&, const NotificationsRead&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(up_to, ids, at);
  }
};

// B.
struct BusinessProfileCreated {
  ACCT_EVENT(BusinessProfileCreated, 1);
  PartnerId partner_id;
  std::string region;
  BusinessProfileDetails details;
  friend bool operator==(const BusinessProfileCreated&, const BusinessProfileCreated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(partner_id, region, details);
  }
};

// B.
struct BusinessProfileUpdated {
  ACCT_EVENT(BusinessProfileUpdated, 1);
  BusinessProfileDetails details;
  friend bool operator==(const BusinessProfileUpdated&, const BusinessProfileUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(details);
  }
};

// B. A location page; its address never changes (remove and add again).
struct ProfileLocationAdded {
  ACCT_EVENT(ProfileLocationAdded, 1);
  LocationId location_id;
  Address address;
  std::string phone;  // the office's phone, not a person's
  friend bool operator==(const ProfileLocationAdded&, const ProfileLocationAdded&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(location_id, address, phone);
  }
};

// B.
struct ProfileLocationRemoved {
  ACCT_EVENT(ProfileLocationRemoved, 1);
  LocationId location_id;
  friend bool operator==(const ProfileLocationRemoved&, const ProfileLocationRemoved&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(location_id);
  }
};

// B.
struct BusinessProfilePublished {
  ACCT_EVENT(BusinessProfilePublished, 1);
  Timestamp at;
  friend bool operator==(const BusinessProfilePublished&, const BusinessProfilePublished&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// B.
struct BusinessProfileUnpublished {
  ACCT_EVENT(BusinessProfileUnpublished, 1);
  Timestamp at;
  friend bool operator==(const BusinessProfileUnpublished&, const BusinessProfileUnpublished&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(at);
  }
};

// C.
struct OfferPublished {
  ACCT_EVENT(OfferPublished, 1);
  Offer offer;
  friend bool operator==(const OfferPublished&, const OfferPublished&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer);
  }
};

// C.
struct OfferUpdated {
  ACCT_EVENT(OfferUpdated, 1);
  Offer offer;
  friend bool operator==(const OfferUpdated&, const OfferUpdated&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer);
  }
};

// C. A retired offer can no longer be ordered, pinned or listed in a new price list.
struct OfferRetired {
  ACCT_EVENT(OfferRetired, 1);
  std::string offer_id;
  Timestamp at;
  friend bool operator==(const OfferRetired&, const OfferRetired&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(offer_id, at);
  }
};

// C.
struct PriceListPublished {
  ACCT_EVENT(PriceListPublished, 1);
  PriceList price_list;
  Timestamp published_at;
  friend bool operator==(const PriceListPublished&, const PriceListPublished&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(price_list, published_at);
  }
};

// P. A Global admin accepted the reseller agreement (the first acceptance
// starts the 30-day window for US tax documents).
struct ResellerAgreementAccepted {
  ACCT_EVENT(ResellerAgreementAccepted, 1);
  std::string agreement_version;
  std::string accepted_by;  // principal id ("user:<uuid>")
  Timestamp at;
  friend bool operator==(const ResellerAgreementAccepted&, const ResellerAgreementAccepted&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(agreement_version, accepted_by, at);
  }
};

// P. The operator accepted the billing profile's tax id (VAT id in the EU).
// The acceptance holds while the billing profile keeps that tax id.
struct TaxIdAccepted {
  ACCT_EVENT(TaxIdAccepted, 1);
  std::string tax_id;
  Timestamp at;
  friend bool operator==(const TaxIdAccepted&, const TaxIdAccepted&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(tax_id, at);
  }
};

// P. The whole set of regions the partner is authorized in (replaces the last).
struct AuthorizedRegionsSet {
  ACCT_EVENT(AuthorizedRegionsSet, 1);
  std::vector<std::string> regions;  // sorted, unique
  friend bool operator==(const AuthorizedRegionsSet&, const AuthorizedRegionsSet&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(regions);
  }
};

// P. Earned tags (competencies, endorsements), set by the operator only.
struct EarnedTagsSet {
  ACCT_EVENT(EarnedTagsSet, 1);
  std::vector<std::string> competencies;
  std::vector<std::string> endorsements;
  friend bool operator==(const EarnedTagsSet&, const EarnedTagsSet&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(competencies, endorsements);
  }
};

#undef ACCT_EVENT

// Every current event type. Append only (the index is not stored, names are).
using DomainEvent = std::variant<
    PartnerEnrolled, LegalProfileUpdated, VettingStatusChanged, SupportProfileUpdated, BillingProfileUpdated,
    OrganizationProfileUpdated, LocationAdded, LocationRemoved, TaxExemptionFiled, TaxExemptionRevoked,
    PartnerSuspended, PartnerReinstated, OfferPinned, OfferUnpinned, PinsReordered, AuditorAccessIssued,
    PartnerUserAdded, PartnerUserEmailChanged, PartnerUserRemoved, GlobalAdminActivated, GlobalAdminDeactivated,
    UserCreated, UserProfileUpdated, RoleAssigned, RoleRemoved, PasswordSet, UserDeactivated, UserRestored,
    UserPurged, BusinessProfileCreated, BusinessProfileUpdated, ProfileLocationAdded, ProfileLocationRemoved,
    BusinessProfilePublished, BusinessProfileUnpublished, OfferPublished, OfferUpdated, OfferRetired,
    PriceListPublished, ResellerAgreementAccepted, TaxIdAccepted, AuthorizedRegionsSet, EarnedTagsSet,
    AuditorAccessRevoked, MpnIdCorrected, NotificationsRead>;

// ---- codec ------------------------------------------------------------------------

struct EncodedEvent {
  std::string type;
  uint16_t schema_version = 0;  // as in the log envelope (NewEvent::schema_version)
  std::string bytes;  // cereal PortableBinary of the current struct
};

std::string_view event_type(const DomainEvent& event);
uint16_t event_schema_version(const DomainEvent& event);

// Seals personal data with the cipher of the current PersonalDataScope; throws
// PersonalDataError if sealing fails (callers that seal catch it).
EncodedEvent encode_event(const DomainEvent& event);

// Decodes a payload of any known (type, version). An older version goes through
// its upcaster to the current struct. Unknown type or version: kNotFound;
// bytes that do not parse exactly: kCorruption.
Result<DomainEvent> decode_event(std::string_view type, uint16_t schema_version, std::string_view bytes);

// Upcasting hook: maps the bytes of (type, from_version) to the current struct.
using Upcaster = Result<DomainEvent> (*)(std::string_view bytes);
struct UpcasterEntry {
  std::string_view type;
  uint16_t from_version;
  Upcaster upcast;
};
const std::vector<UpcasterEntry>& upcasters();

// The schema-1 payload of an event that holds personal data (clear form), for
// golden fixtures of the upcast.
std::string encode_event_schema_v1(const DomainEvent& event);

// Encodes the v1 payload of TaxExemptionFiled (for tests and golden fixtures).
std::string encode_tax_exemption_filed_v1(const TaxExemptionFiledV1& v1);

}  // namespace accountable
