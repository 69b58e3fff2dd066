// Every event through encode/decode, the v1 -> v2 upcast, and refusals of bad payloads.
#include "schema/domain_events.h"

#include <gtest/gtest.h>

#include <set>

#include "aggregates/partner.h"
#include "aggregates/testing/fixtures.h"

namespace accountable {
namespace {

using testing::at;

PartnerId pid() { return PartnerId(PartnerId::Bytes{1, 2, 3}); }
UserId uid() { return UserId(UserId::Bytes{4, 5, 6}); }

// One populated sample of every event type.
std::vector<DomainEvent> samples() {
  LegalProfile legal{"Contoso", testing::address(), PersonalContact{contact_subject(pid(), "legal-primary"),
                                                                    testing::contact("Pat", "Lee", "pat@c.com")},
                     Personal<std::string>{contact_subject(pid(), "legal-approver"), "ok@c.com"},
                     testing::address("CA")};
  BillingProfile billing{"Contoso", testing::address(),
                         PersonalContact{contact_subject(pid(), "billing-primary"), testing::contact("B", "C", "b@c.com")},
                         "PO-1", "VAT-1"};
  Offer add_on = testing::offer("add-on");
  add_on.secondary_license_type = SecondaryLicenseType::kAddOn;
  add_on.base_offer_ids = {"base-1", "base-2"};
  PriceList list = testing::price_list("DE", 2026, 5, {"o-1", "o-2"}, BillingModel::kLicenseBased);
  list.currency = "EUR";
  BusinessProfileDetails details = testing::profile_details();
  PersonalContact person{user_subject(uid()), testing::contact("Ada", "Lovelace", "ada@c.com")};
  Timestamp t = at("2026-03-02T12:34:56.789012Z");
  LocationId loc(LocationId::Bytes{9});
  ExemptionId ex(ExemptionId::Bytes{8});
  AuditorGrantId grant(AuditorGrantId::Bytes{7});
  return {
      PartnerEnrolled{pid(), "Contoso", "1234567", legal,
                      OrganizationProfile{"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11", "c.com", "it@c.com", "en", "en-us"},
                      "USD", t},
      LegalProfileUpdated{legal},
      VettingStatusChanged{VettingStatus::kAuthorized, VettingSubStatus::kBusinessVerification},
      SupportProfileUpdated{SupportProfile{"s@c.com", "+1 1", "https://c.com"}},
      BillingProfileUpdated{billing},
      OrganizationProfileUpdated{OrganizationProfile{"t", "c.com", "it@c.com", "fr", "fr-fr"}},
      LocationAdded{loc, testing::address(), "7654321"},
      LocationRemoved{loc},
      TaxExemptionFiled{ex, "WA", "cert", at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), t},
      TaxExemptionRevoked{ex, "superseded"},
      PartnerSuspended{SuspensionReason::kBillingOverdue, 75, "invoice 9", t},
      PartnerReinstated{t},
      OfferPinned{"o-1"},
      OfferUnpinned{"o-1"},
      PinsReordered{{"o-2", "o-1"}},
      AuditorAccessIssued{grant, Personal<std::string>{auditor_subject(grant), "aud@x.com"}, t, at("2027-01-01")},
      AuditorAccessRevoked{grant, "the engagement ended early", t},
      MpnIdCorrected{"4012345", "4099999", "a typo at enrollment", t},
      NotificationsRead{7, {"3", "5"}, t},
      PartnerUserAdded{uid(), std::string("\x00\xff\x10 fp", 6)},
      PartnerUserEmailChanged{uid(), "fp2"},
      PartnerUserRemoved{uid()},
      GlobalAdminActivated{uid()},
      GlobalAdminDeactivated{uid()},
      UserCreated{uid(), pid(), person, "fp"},
      UserProfileUpdated{person, "fp3"},
      RoleAssigned{Role::kBusinessProfileAdmin},
      RoleRemoved{Role::kHelpdeskAgent},
      PasswordSet{PasswordReason::kReset, "user:x", true},
      UserDeactivated{t},
      UserRestored{t},
      UserPurged{t},
      BusinessProfileCreated{pid(), "emea", details},
      BusinessProfileUpdated{BusinessProfileDetails{}},
      ProfileLocationAdded{loc, testing::address("FR"), "+33 1"},
      ProfileLocationRemoved{loc},
      BusinessProfilePublished{t},
      BusinessProfileUnpublished{t},
      OfferPublished{add_on},
      OfferUpdated{testing::offer("o-1")},
      OfferRetired{"o-1", t},
      PriceListPublished{list, t},
      ResellerAgreementAccepted{"2019-10", "user:x", t},
      TaxIdAccepted{"DE123456789", t},
      AuthorizedRegionsSet{{"emea", "na"}},
      EarnedTagsSet{{"Gold Cloud Platform"}, {"Azure Expert MSP"}},
  };
}

TEST(DomainEvents, EveryEventTypeRoundTrips) {
  std::set<size_t> covered;
  for (const DomainEvent& e : samples()) {
    covered.insert(e.index());
    EncodedEvent enc = encode_event(e);
    EXPECT_EQ(enc.type, event_type(e));
    EXPECT_EQ(enc.schema_version, event_schema_version(e));
    auto back = decode_event(enc.type, enc.schema_version, enc.bytes);
    ASSERT_TRUE(back.is_ok()) << enc.type << ": " << back.status().to_string();
    EXPECT_TRUE(*back == e) << enc.type << " changed through encode/decode";
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<DomainEvent>) << "a sample is missing for some event type";
}

TEST(DomainEvents, TypeNamesAreUniqueAndValid) {
  std::set<std::string_view> names;
  for (const DomainEvent& e : samples()) {
    EXPECT_TRUE(validate_event_type(event_type(e)).is_ok()) << event_type(e);
    EXPECT_TRUE(names.insert(event_type(e)).second) << "duplicate type " << event_type(e);
    EXPECT_GE(event_schema_version(e), 1u);
  }
}

TEST(DomainEvents, EncodingIsStable) {
  // PortableBinary is little-endian with fixed-width integers: same bytes every time.
  EncodedEvent a = encode_event(RoleAssigned{Role::kSalesAgent});
  EXPECT_EQ(a.bytes, std::string("\x01\x06", 2));  // cereal's endianness flag, then the role
  EXPECT_EQ(encode_event(samples()[0]).bytes, encode_event(samples()[0]).bytes);
}

TEST(DomainEvents, TaxExemptionFiledV1UpcastsToV2) {
  TaxExemptionFiledV1 v1;
  v1.exemption_id = ExemptionId(ExemptionId::Bytes{5});
  v1.jurisdiction = "WA";
  v1.certificate_ref = "cert-2019";
  v1.expires_on = at("2020-01-01T00:00:00Z");
  v1.filed_at = at("2019-03-04T05:06:07Z");
  std::string bytes = encode_tax_exemption_filed_v1(v1);
  auto decoded = decode_event("TaxExemptionFiled", 1, bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  const auto& v2 = std::get<TaxExemptionFiled>(*decoded);
  EXPECT_EQ(v2.exemption_id, v1.exemption_id);
  EXPECT_EQ(v2.jurisdiction, "WA");
  EXPECT_EQ(v2.certificate_ref, "cert-2019");
  EXPECT_EQ(v2.valid_from, v1.filed_at);
  EXPECT_EQ(v2.expires_on, v1.expires_on);
  EXPECT_EQ(v2.filed_at, v1.filed_at);
  EXPECT_EQ(TaxExemptionFiled::kSchemaVersion, 2u);
  // The upcast event drives evolve like a v2 one.
  PartnerState s = evolve(PartnerState{}, *decoded);
  EXPECT_EQ(s.tax_exemptions.at(v1.exemption_id).valid_from, v1.filed_at);
}

TEST(DomainEvents, RefusesUnknownTypesVersionsAndBadBytes) {
  EncodedEvent enc = encode_event(OfferPinned{"o-1"});
  EXPECT_EQ(decode_event("NoSuchEvent", 1, enc.bytes).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(decode_event("OfferPinned", 2, enc.bytes).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(decode_event("OfferPinned", 1, enc.bytes.substr(0, enc.bytes.size() - 1)).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(decode_event("OfferPinned", 1, enc.bytes + "x").status().code(), StatusCode::kCorruption);
  // v2 bytes read as v1 leave bytes over: refused, not misread.
  EncodedEvent v2 = encode_event(samples()[8]);
  ASSERT_EQ(v2.type, "TaxExemptionFiled");
  EXPECT_EQ(decode_event("TaxExemptionFiled", 1, v2.bytes).status().code(), StatusCode::kCorruption);
}

TEST(DomainEvents, PersonalDataIsWrappedWithItsSubject) {
  // Compile-time shape: the fields that hold people's data are Personal<>.
  static_assert(std::is_same_v<decltype(UserCreated::profile), PersonalContact>);
  static_assert(std::is_same_v<decltype(UserProfileUpdated::profile), PersonalContact>);
  static_assert(std::is_same_v<decltype(LegalProfile::primary_contact), PersonalContact>);
  static_assert(std::is_same_v<decltype(LegalProfile::approver_email), Personal<std::string>>);
  static_assert(std::is_same_v<decltype(BillingProfile::primary_contact), PersonalContact>);
  static_assert(std::is_same_v<decltype(AuditorAccessIssued::auditor_email), Personal<std::string>>);
  EXPECT_EQ(user_subject(uid()), "user:" + uid().to_string());
  EXPECT_EQ(contact_subject(pid(), "billing-primary"), "contact:" + pid().to_string() + ":billing-primary");
}

}  // namespace
}  // namespace accountable
