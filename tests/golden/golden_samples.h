// The fixed, deterministic sample of every event type that the golden fixtures
// hold (tests/golden/<Type>.v<N>.bin), shared by generate_golden.cc and
// golden_test.cc.
//
// RULES: a fixture is written once and never edited. When an event's schema
// changes, keep its old entry below (its bytes now come from the kept V<n>
// struct, and its `expected` is the upcast result), add an entry for the new
// version, and run the generator: it writes only the new file.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "schema/domain_events.h"

namespace accountable::golden {

struct Fixture {
  std::string type;
  uint16_t version;
  std::function<std::string()> encode;  // the payload bytes of this (type, version)
  DomainEvent expected;                 // what decode_event (and upcasting) must give
  std::string file_name() const { return type + ".v" + std::to_string(version) + ".bin"; }
};

namespace detail {

inline Timestamp ts(int64_t micros) { return Timestamp{micros}; }
// 2026-03-02T12:34:56.789012Z and friends, as fixed integers (no clock, no parsing).
inline constexpr int64_t kT = 1772454896789012LL;
inline constexpr int64_t kJan2026 = 1767225600000000LL;   // 2026-01-01T00:00:00Z
inline constexpr int64_t kJan2027 = 1798761600000000LL;   // 2027-01-01T00:00:00Z

template <class Id>
Id id(unsigned char seed) {
  typename Id::Bytes b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(seed + i);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return Id(b);
}
inline PartnerId pid() { return id<PartnerId>(0x10); }
inline UserId uid() { return id<UserId>(0x20); }
inline LocationId lid() { return id<LocationId>(0x30); }
inline ExemptionId eid() { return id<ExemptionId>(0x40); }
inline AuditorGrantId gid() { return id<AuditorGrantId>(0x50); }

inline Address address(const char* country) {
  return Address{"1 Main Street", "Suite 100", "Redmond", "WA", "98052", country, "West"};
}
inline LegalProfile legal() {
  return LegalProfile{"Contoso Ltd", address("US"),
                      PersonalContact{contact_subject(pid(), "legal-primary"),
                                      ContactDetails{"Pat", "Legal", "pat@contoso.com", "+1 425 555 0101"}},
                      Personal<std::string>{contact_subject(pid(), "legal-approver"), "approver@contoso.com"},
                      address("US")};
}
inline Offer offer() {
  return Offer{"addon-1", "Add-on 1", Segment::kSmallBusiness, LicenseAgreementType::kAcademic, "1 Month",
               SecondaryLicenseType::kAddOn, {"base-1", "base-2"}, EndCustomerType::kStudent,
               BillingModel::kUsageBased};
}
inline PriceList price_list() {
  PriceList l{"DE", "EUR", 2026, 5, BillingModel::kLicenseBased, {}};
  l.rows.push_back(PriceRow{ChangeCode::kChg, ts(kJan2026), ts(kJan2027), "Offer 1", "offer-1",
                            LicenseAgreementType::kGovernment, "1 Month", SecondaryLicenseType::kTrial,
                            EndCustomerType::kFaculty, 10'500'000, 12'000'000});
  l.rows.push_back(PriceRow{ChangeCode::kDel, ts(kJan2026), ts(kJan2026 + 1), "Offer 2", "offer-2",
                            LicenseAgreementType::kCorporate, "1 Year", SecondaryLicenseType::kNonSpecific,
                            EndCustomerType::kCorporate, 0, 1});
  return l;
}
inline BusinessProfileDetails details() {
  BusinessProfileDetails d;
  d.logo = Logo{LogoFormat::kJpg, 300, "blob:logo-1"};
  d.description = "Cloud reseller";
  d.website = "https://contoso.com";
  d.linkedin_url = "https://www.linkedin.com/company/contoso";
  d.industry_focus = {"Retail", "Health"};
  d.products = {"offer-1"};
  d.service_types = {"Consulting"};
  d.skills = {"Migration"};
  d.allow_vendor_endorsement = true;
  d.target_customer_sizes = {CustomerSize::k10To49, CustomerSize::k1000Plus};
  d.refuse_referrals_outside_target_sizes = true;
  return d;
}
inline PersonalContact person() {
  return PersonalContact{user_subject(uid()), ContactDetails{"Ada", "Lovelace", "ada@contoso.com", "+1 425 555 0100"}};
}
inline std::string fingerprint() { return std::string("\x00\xff\x10\x7f fp", 7); }

// The current-version sample of every event type (one per DomainEvent alternative).
inline std::vector<DomainEvent> current_samples() {
  return {
      PartnerEnrolled{pid(), "Contoso", "1234567", legal(),
                      OrganizationProfile{"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11", "contoso.onmicrosoft.com", "",
                                          "en", "en-us"},
                      "USD", ts(kT)},
      LegalProfileUpdated{legal()},
      VettingStatusChanged{VettingStatus::kAuthorized, VettingSubStatus::kBusinessVerification},
      SupportProfileUpdated{SupportProfile{"support@contoso.com", "+1 800 555 0100", "https://help.contoso.com"}},
      BillingProfileUpdated{BillingProfile{"Contoso Billing", address("US"),
                                           PersonalContact{contact_subject(pid(), "billing-primary"),
                                                           ContactDetails{"Bo", "Bill", "bo@contoso.com", ""}},
                                           "PO-7", "US-123"}},
      OrganizationProfileUpdated{
          OrganizationProfile{"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11", "contoso.com", "it@contoso.com", "fr", "fr-fr"}},
      LocationAdded{lid(), address("US"), "7654321"},
      LocationRemoved{lid()},
      TaxExemptionFiled{eid(), "WA", "cert-2026", ts(kJan2026), ts(kJan2027), ts(kT)},
      TaxExemptionRevoked{eid(), "superseded"},
      PartnerSuspended{SuspensionReason::kBillingOverdue, 75, "invoice 9", ts(kT)},
      PartnerReinstated{ts(kT)},
      OfferPinned{"offer-1"},
      OfferUnpinned{"offer-2"},
      PinsReordered{{"offer-3", "offer-1"}},
      AuditorAccessIssued{gid(), Personal<std::string>{auditor_subject(gid()), "audit@kpmg.example"}, ts(kT),
                          ts(kJan2027)},
      PartnerUserAdded{uid(), fingerprint()},
      PartnerUserEmailChanged{uid(), "fp-2"},
      PartnerUserRemoved{uid()},
      GlobalAdminActivated{uid()},
      GlobalAdminDeactivated{uid()},
      UserCreated{uid(), pid(), person(), fingerprint()},
      UserProfileUpdated{person(), "fp-3"},
      RoleAssigned{Role::kBusinessProfileAdmin},
      RoleRemoved{Role::kHelpdeskAgent},
      PasswordSet{PasswordReason::kReset, "operator:portal", true},
      UserDeactivated{ts(kT)},
      UserRestored{ts(kT + 1)},
      UserPurged{ts(kT + 2)},
      BusinessProfileCreated{pid(), "emea", details()},
      BusinessProfileUpdated{BusinessProfileDetails{}},
      ProfileLocationAdded{lid(), address("GB"), "+44 20 5555 0100"},
      ProfileLocationRemoved{lid()},
      BusinessProfilePublished{ts(kT)},
      BusinessProfileUnpublished{ts(kT + 3)},
      OfferPublished{offer()},
      OfferUpdated{Offer{"offer-1", "Offer 1", Segment::kGovernment, LicenseAgreementType::kGovernment, "1 Year",
                         SecondaryLicenseType::kNonSpecific, {}, EndCustomerType::kGovernment,
                         BillingModel::kLicenseBased}},
      OfferRetired{"offer-9", ts(kT)},
      PriceListPublished{price_list(), ts(kT)},
      ResellerAgreementAccepted{"2019-10", "user:6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11", ts(kT)},
      TaxIdAccepted{"DE123456789", ts(kT + 4)},
      AuthorizedRegionsSet{{"apac", "emea", "latam"}},
      EarnedTagsSet{{"Gold Cloud Platform", "Silver Security"}, {"Azure Expert MSP"}},
      AuditorAccessRevoked{gid(), "engagement ended early", ts(kT + 5)},
      MpnIdCorrected{"4012345", "4099999", "a typo at enrollment", ts(kT + 6)},
      NotificationsRead{42, {"17", "tax.9b1d4c2e-5f6a-4b7c-8d9e-0f1a2b3c4d5e.1798761600000000"}, ts(kT + 7)},
  };
}

}  // namespace detail

// Every fixture: the current version of every event type, then the kept older
// versions (with what they upcast to).
inline std::vector<Fixture> fixtures() {
  std::vector<Fixture> out;
  for (const DomainEvent& e : detail::current_samples()) {
    out.push_back(Fixture{std::string(event_type(e)), event_schema_version(e),
                          [e] { return encode_event(e).bytes; }, e});
  }
  // Schema 1 of the events that hold personal data wrote it in clear: the same
  // samples in that form, upcast to the current struct.
  for (const DomainEvent& e : detail::current_samples()) {
    if (event_schema_version(e) != 2 || std::holds_alternative<TaxExemptionFiled>(e)) continue;
    out.push_back(Fixture{std::string(event_type(e)), 1, [e] { return encode_event_schema_v1(e); }, e});
  }
  // TaxExemptionFiled v1 (no valid_from): upcast sets valid_from = filed_at.
  TaxExemptionFiledV1 v1{detail::eid(), "WA", "cert-2025", detail::ts(detail::kJan2027), detail::ts(detail::kT)};
  out.push_back(Fixture{"TaxExemptionFiled", 1, [v1] { return encode_tax_exemption_filed_v1(v1); },
                        TaxExemptionFiled{v1.exemption_id, v1.jurisdiction, v1.certificate_ref, v1.filed_at,
                                          v1.expires_on, v1.filed_at}});
  return out;
}

}  // namespace accountable::golden
