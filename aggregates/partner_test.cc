#include "aggregates/partner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "schema/country_rules.h"
#include "aggregates/rule_errors.h"
#include "aggregates/validation.h"
#include "aggregates/testing/expect.h"

namespace accountable {
namespace {

using namespace accountable::testing;  // NOLINT: test helpers only

// ---- EnrollPartner ----------------------------------------------------------------

TEST(EnrollPartner, CreatesPartnerAndFirstGlobalAdminAtomically) {
  World w(at("2026-03-02T12:00:00Z"));
  auto d = w.decide(op(), enroll_command());
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  ASSERT_EQ(d->writes.size(), 2u);
  for (const StreamWrite& write : d->writes) EXPECT_EQ(write.expected.kind(), ExpectedVersion::Kind::kNoStream);
  ASSERT_TRUE(w.store.append(*d).is_ok());
  PartnerId p = w.last_id<PartnerId>(0);
  UserId admin = w.last_id<UserId>(1);
  PartnerState s = w.partner_state(p);
  EXPECT_TRUE(s.enrolled);
  EXPECT_EQ(s.country, "US");
  EXPECT_EQ(s.billing_currency, "USD");
  EXPECT_EQ(s.active_global_admins, std::set<UserId>{admin});
  EXPECT_EQ(s.users.at(admin), fake_fingerprint("ada@contoso.com"));
  EXPECT_EQ(s.legal.primary_contact.subject, contact_subject(p, "legal-primary"));
  UserState u = w.user_state(admin);
  EXPECT_EQ(u.roles, std::set<Role>{Role::kGlobalAdmin});
  EXPECT_TRUE(u.must_change_password);
  EXPECT_EQ(u.profile.subject, user_subject(admin));
  auto events = w.store.read(user_stream(admin));
  ASSERT_EQ(events.size(), 3u);
  const auto& password = std::get<PasswordSet>(events[2]);
  EXPECT_EQ(password.reason, PasswordReason::kCreated);
  EXPECT_EQ(password.by, "operator:platform");
}

TEST(EnrollPartner, ValidatesEveryField) {
  World w(at("2026-03-02T12:00:00Z"));
  auto with = [](auto mutate) {
    EnrollPartner c = enroll_command();
    mutate(c);
    return c;
  };
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.admin.first_name = ""; })), "admin.first_name"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.admin.last_name = std::string(51, 'x'); })),
                         "admin.last_name"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.admin.email = "not-an-email"; })), "admin.email"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.admin.phone = "call me"; })), "admin.phone"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.partner_name = ""; })), "partner_name"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.mpn_id = "12ab"; })), "mpn_id"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.company_name = ""; })), "legal.company_name"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.line1 = ""; })), "legal.address.line1"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.line1 = std::string(201, 'a'); })),
                         "legal.address.line1"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.line2 = std::string(201, 'a'); })),
                         "legal.address.line2"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.city = ""; })), "legal.address.city"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.state = "WAS"; })), "legal.address.state"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.country = "USA"; })),
                         "legal.address.country"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.country = "XX"; })),
                         "legal.address.country"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.address.country = "us"; })),
                         "legal.address.country"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.primary_contact.first_name = std::string(51, 'x'); })),
                         "legal.primary_contact.first_name"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.approver_email = "x"; })), "legal.approver_email"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.legal.approver_address.country = ""; })),
                         "legal.approver_address.country"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.tenant_id = "tenant"; })), "tenant_id"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.default_domain = "Contoso"; })), "default_domain"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.language = "EN"; })), "language"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.culture = "en_US"; })), "culture"));
  EXPECT_TRUE(is_invalid(run(w, op(), with([](auto& c) { c.billing_currency = "usd"; })), "billing_currency"));
  EXPECT_EQ(w.store.total_events(), 0u);
}

TEST(EnrollPartner, BillingCurrencyFollowsTheCountry) {
  World w(at("2026-03-02T12:00:00Z"));
  EnrollPartner de = enroll_command("de@contoso.de", "DE");
  de.billing_currency = "USD";
  Status wrong = run(w, op(), de);
  EXPECT_TRUE(is_rule(wrong, rule::kBillingCurrencyFollowsCountry));
  EXPECT_EQ(wrong.field(), "billing_currency");
  EXPECT_NE(wrong.message().find("DE is billed in EUR"), std::string::npos) << wrong.message();
  EXPECT_EQ(w.store.total_events(), 0u);

  EnrollPartner given = enroll_command("gb@contoso.co.uk", "GB");
  given.billing_currency = "GBP";
  Enrolled gb = enroll(w, given);
  EXPECT_EQ(w.partner_state(gb.partner).billing_currency, "GBP");
  Enrolled jp = enroll(w, enroll_command("jp@contoso.jp", "JP"));  // none given: derived
  EXPECT_EQ(w.partner_state(jp.partner).billing_currency, "JPY");
}

TEST(CountryRules, EveryCountryHasABillingCurrency) {
  std::vector<std::string_view> countries = all_countries();
  EXPECT_EQ(countries.size(), 249u);  // ISO 3166-1 officially assigned alpha-2 codes
  EXPECT_TRUE(std::is_sorted(countries.begin(), countries.end()));
  for (std::string_view c : countries) {
    EXPECT_TRUE(check_currency(billing_currency_of(c), "c").is_ok()) << c;
  }
  EXPECT_EQ(billing_currency_of("US"), "USD");
  EXPECT_EQ(billing_currency_of("FR"), "EUR");
  EXPECT_EQ(billing_currency_of("XX"), "");
  EXPECT_TRUE(in_european_union("GR"));
  EXPECT_EQ(vat_prefix("GR"), "EL");
  EXPECT_FALSE(in_european_union("GB"));
  EXPECT_EQ(vat_prefix("GB"), "");
}

TEST(EnrollPartner, LimitsCountCharactersNotBytes) {
  World w(at("2026-03-02T12:00:00Z"));
  EnrollPartner c = enroll_command();
  std::string fifty;
  for (int i = 0; i < 50; ++i) fifty += "\xC3\xA9";  // "é", 2 bytes each
  c.admin.first_name = fifty;
  EXPECT_TRUE(run(w, op(), c).is_ok());
}

TEST(EnrollPartner, NeedsTheHandlersFingerprintAndIds) {
  World w(at("2026-03-02T12:00:00Z"));
  auto no_fp = decide(PartnerState{}, enroll_command(), CommandContext::make(op(), w.clock, {}, {}));
  EXPECT_EQ(no_fp.status().code(), StatusCode::kInternal);
  auto no_ids = decide(PartnerState{}, enroll_command(), CommandContext::make(op(), w.clock, {}, "fp"));
  EXPECT_EQ(no_ids.status().code(), StatusCode::kInternal);
}

// ---- profiles ---------------------------------------------------------------------

TEST(UpdateLegalProfile, SendsProfileBackToVerification) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SetVettingStatus{r.p.partner, VettingStatus::kAuthorized, VettingSubStatus::kDecision})
                  .is_ok());
  LegalProfileInput l = legal("US");
  l.company_name = "Contoso Holdings";
  ASSERT_TRUE(run(r.w, r.admin(), UpdateLegalProfile{r.p.partner, l}).is_ok());
  PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_EQ(s.legal.company_name, "Contoso Holdings");
  EXPECT_EQ(s.vetting_status, VettingStatus::kPending);
}

TEST(UpdateLegalProfile, CountryCannotChange) {
  RichWorld r;
  Status s = run(r.w, r.admin(), UpdateLegalProfile{r.p.partner, legal("CA")});
  EXPECT_TRUE(is_rule(s, rule::kLegalCountryImmutable));
  EXPECT_EQ(s.field(), "legal.address.country");
}

TEST(UpdateLegalProfile, Validates) {
  RichWorld r;
  LegalProfileInput l = legal("US");
  l.address.state = "ABC";
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateLegalProfile{r.p.partner, l}), "legal.address.state"));
}

TEST(UpdateSupportProfile, HappyPathAndValidation) {
  RichWorld r;
  SupportProfile ok{"help@contoso.com", "+1 800 555 0199", "https://contoso.com/support"};
  ASSERT_TRUE(run(r.w, r.admin(), UpdateSupportProfile{r.p.partner, ok}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).support, ok);
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateSupportProfile{r.p.partner, {"", "", ""}}), "support.email"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateSupportProfile{r.p.partner, {"a@b.com", "x", ""}}),
                         "support.phone"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateSupportProfile{r.p.partner, {"a@b.com", "", "ftp://x"}}),
                         "support.website"));
}

BillingProfileInput billing() {
  return BillingProfileInput{"Contoso Ltd", address("US"), contact("Bo", "Bill", "bo@contoso.com"), "PO-7", "US-1"};
}

TEST(UpdateBillingProfile, HappyPathByBillingAdmin) {
  RichWorld r;
  Principal billing_admin =
      r.w.user(create_user(r.w, r.admin(), r.p.partner, "ba@contoso.com", {Role::kBillingAdmin}));
  ASSERT_TRUE(run(r.w, billing_admin, UpdateBillingProfile{r.p.partner, billing(), "USD"}).is_ok());
  PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_EQ(s.billing.purchase_order_number, "PO-7");
  EXPECT_EQ(s.billing.primary_contact.subject, contact_subject(r.p.partner, "billing-primary"));
}

TEST(UpdateBillingProfile, CurrencyCannotChange) {
  RichWorld r;
  Status s = run(r.w, r.admin(), UpdateBillingProfile{r.p.partner, billing(), "EUR"});
  EXPECT_TRUE(is_rule(s, rule::kBillingCurrencyImmutable));
  EXPECT_EQ(s.field(), "billing_currency");
}

TEST(UpdateBillingProfile, Validates) {
  RichWorld r;
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateBillingProfile{r.p.partner, billing(), "dollars"}),
                         "billing_currency"));
  BillingProfileInput b = billing();
  b.primary_contact.last_name = "";
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateBillingProfile{r.p.partner, b, "USD"}),
                         "billing.primary_contact.last_name"));
  b = billing();
  b.tax_id = std::string(31, '1');
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateBillingProfile{r.p.partner, b, "USD"}), "billing.tax_id"));
}

TEST(UpdateOrganizationProfile, KeepsTenantIdAndValidates) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), UpdateOrganizationProfile{r.p.partner, "contoso.com", "it@contoso.com", "fr", "fr-fr"})
                  .is_ok());
  PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_EQ(s.organization.culture, "fr-fr");
  EXPECT_EQ(s.organization.tenant_id, enroll_command().tenant_id);
  EXPECT_TRUE(is_invalid(
      run(r.w, r.admin(), UpdateOrganizationProfile{r.p.partner, "contoso.com", "it@contoso.com", "fr", "french"}),
      "culture"));
  EXPECT_TRUE(is_invalid(
      run(r.w, r.admin(), UpdateOrganizationProfile{r.p.partner, "contoso", "it@contoso.com", "fr", "fr-fr"}),
      "default_domain"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), UpdateOrganizationProfile{r.p.partner, "contoso.com", "", "fr", "fr-fr"}),
                         "email"));
}

// ---- locations ----------------------------------------------------------------------

TEST(AddLocation, HappyPathByAccountAdmin) {
  RichWorld r;
  Principal account_admin =
      r.w.user(create_user(r.w, r.admin(), r.p.partner, "aa@contoso.com", {Role::kAccountAdmin}));
  ASSERT_TRUE(run(r.w, account_admin, AddLocation{r.p.partner, address("US"), "2222222"}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).locations.size(), 2u);
}

TEST(AddLocation, MustBeInTenantCountry) {
  RichWorld r;
  Status s = run(r.w, r.admin(), AddLocation{r.p.partner, address("DE"), "2222222"});
  EXPECT_TRUE(is_rule(s, rule::kLocationInTenantCountry));
  EXPECT_EQ(s.field(), "address.country");
}

TEST(AddLocation, ValidatesAndRefusesDuplicateMpnId) {
  RichWorld r;
  Address a = address("US");
  a.line1 = std::string(201, 'x');
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), AddLocation{r.p.partner, a, "2222222"}), "address.line1"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), AddLocation{r.p.partner, address("US"), ""}), "mpn_id"));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), AddLocation{r.p.partner, address("US"), "7654321"}), StatusCode::kConflict,
                      "mpn_id"));
}

TEST(RemoveLocation, HappyPathAndNotFound) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), RemoveLocation{r.p.partner, r.location}).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).locations.empty());
  EXPECT_TRUE(is_code(run(r.w, r.admin(), RemoveLocation{r.p.partner, r.location}), StatusCode::kNotFound,
                      "location_id"));
}

// ---- tax exemptions -------------------------------------------------------------

TEST(FileTaxExemption, AppliesUntilItExpires) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(),
                  FileTaxExemption{r.p.partner, "OR", "cert-or", at("2026-03-01T00:00:00Z"),
                                   at("2026-04-01T00:00:00Z")})
                  .is_ok());
  ExemptionId id = r.w.last_id<ExemptionId>(0);
  PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_TRUE(exemption_applies(s.tax_exemptions.at(id), r.w.clock.now()));
  EXPECT_FALSE(exemption_applies(s.tax_exemptions.at(id), at("2026-04-01T00:00:00Z")));
  EXPECT_FALSE(exemption_applies(s.tax_exemptions.at(id), at("2026-02-28T00:00:00Z")));
}

TEST(FileTaxExemption, RefusesExpiredCertificateAndBadDates) {
  RichWorld r;
  Status expired = run(r.w, r.admin(),
                       FileTaxExemption{r.p.partner, "OR", "c", at("2025-01-01T00:00:00Z"), at("2026-03-01T00:00:00Z")});
  EXPECT_TRUE(is_rule(expired, rule::kTaxExemptionExpired));
  Status backwards = run(r.w, r.admin(),
                         FileTaxExemption{r.p.partner, "OR", "c", at("2027-01-01T00:00:00Z"), at("2026-06-01T00:00:00Z")});
  EXPECT_TRUE(is_rule(backwards, rule::kValidityOrder));
  EXPECT_EQ(backwards.field(), "expires_on");
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(),
                             FileTaxExemption{r.p.partner, "", "c", at("2026-01-01T00:00:00Z"),
                                              at("2027-01-01T00:00:00Z")}),
                         "jurisdiction"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(),
                             FileTaxExemption{r.p.partner, "OR", "", at("2026-01-01T00:00:00Z"),
                                              at("2027-01-01T00:00:00Z")}),
                         "certificate_ref"));
}

TEST(RevokeTaxExemption, RevokedNoLongerAppliesAndCannotBeRevokedTwice) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), RevokeTaxExemption{r.p.partner, r.exemption, "superseded"}).is_ok());
  EXPECT_FALSE(exemption_applies(r.w.partner_state(r.p.partner).tax_exemptions.at(r.exemption), r.w.clock.now()));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), RevokeTaxExemption{r.p.partner, r.exemption, ""}),
                      rule::kTaxExemptionRevoked));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), RevokeTaxExemption{r.p.partner, ExemptionId(), ""}), StatusCode::kNotFound,
                      "exemption_id"));
}

// Renewal: the old certificate is revoked and the new one filed in one commit
// (one stream version), the new one keeps the jurisdiction.
TEST(RenewTaxExemption, RevokesTheOldAndFilesTheNewInOneCommit) {
  RichWorld r;
  const auto before = r.w.partner_state(r.p.partner);
  ASSERT_TRUE(run(r.w, r.admin(),
                  RenewTaxExemption{r.p.partner, r.exemption, "cert-2027", at("2026-12-15T00:00:00Z"),
                                    at("2028-01-01T00:00:00Z")})
                  .is_ok());
  const ExemptionId renewed = r.w.last_id<ExemptionId>(0);
  ASSERT_NE(renewed, r.exemption);
  const auto after = r.w.partner_state(r.p.partner);
  EXPECT_EQ(after.version.value(), before.version.value() + 2);  // two events, one command
  EXPECT_TRUE(after.tax_exemptions.at(r.exemption).revoked);
  const TaxExemption& next = after.tax_exemptions.at(renewed);
  EXPECT_FALSE(next.revoked);
  EXPECT_EQ(next.jurisdiction, "WA");
  EXPECT_EQ(next.certificate_ref, "cert-2027");
  EXPECT_EQ(next.valid_from, at("2026-12-15T00:00:00Z"));
  EXPECT_TRUE(exemption_applies(next, at("2027-06-01T00:00:00Z")));
  // The old one cannot be renewed twice; the new one can be renewed in turn.
  EXPECT_TRUE(is_rule(run(r.w, r.admin(),
                          RenewTaxExemption{r.p.partner, r.exemption, "again", at("2026-12-15T00:00:00Z"),
                                            at("2029-01-01T00:00:00Z")}),
                      rule::kTaxExemptionRevoked));
}

TEST(RenewTaxExemption, RefusesBadInputAndWritesNothing) {
  RichWorld r;
  const auto before = r.w.partner_state(r.p.partner).version;
  auto renew = [&](ExemptionId id, std::string ref, const char* from, const char* until) {
    return run(r.w, r.admin(), RenewTaxExemption{r.p.partner, id, std::move(ref), at(from), at(until)});
  };
  EXPECT_TRUE(is_code(renew(ExemptionId(), "c", "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z"), StatusCode::kNotFound,
                      "exemption_id"));
  EXPECT_TRUE(is_invalid(renew(r.exemption, "", "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z"), "certificate_ref"));
  EXPECT_TRUE(is_invalid(renew(r.exemption, std::string(201, 'c'), "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z"),
                         "certificate_ref"));
  EXPECT_TRUE(is_rule(renew(r.exemption, "c", "2028-02-01T00:00:00Z", "2028-01-01T00:00:00Z"), rule::kValidityOrder));
  // Not later than the certificate it replaces (2027-01-01).
  EXPECT_TRUE(
      is_rule(renew(r.exemption, "c", "2026-06-01T00:00:00Z", "2026-12-31T00:00:00Z"), rule::kRenewalExpiresLater));
  EXPECT_TRUE(is_code(run(r.w, r.w.user(r.target),
                          RenewTaxExemption{r.p.partner, r.exemption, "c", at("2026-12-01T00:00:00Z"),
                                            at("2028-01-01T00:00:00Z")}),
                      StatusCode::kForbidden));
  EXPECT_EQ(r.w.partner_state(r.p.partner).version, before);
}

TEST(RenewTaxExemption, AnExpiredCertificateMayBeRenewedButNotIntoThePast) {
  RichWorld r;
  r.w.clock.set(at("2027-02-01T00:00:00Z"));  // the WA certificate expired on 2027-01-01
  EXPECT_TRUE(is_rule(run(r.w, r.admin(),
                          RenewTaxExemption{r.p.partner, r.exemption, "late", at("2027-01-01T00:00:00Z"),
                                            at("2027-01-15T00:00:00Z")}),
                      rule::kTaxExemptionExpired));
  EXPECT_TRUE(run(r.w, r.admin(),
                  RenewTaxExemption{r.p.partner, r.exemption, "late", at("2027-01-01T00:00:00Z"),
                                    at("2028-01-01T00:00:00Z")})
                  .is_ok());
}

// ---- operator: vetting, suspension, auditors ---------------------------------------

TEST(SetVettingStatus, HappyPathValidationAndNotFound) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SetVettingStatus{r.p.partner, VettingStatus::kRejected, VettingSubStatus::kEmailDomain})
                  .is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).vetting_sub_status, VettingSubStatus::kEmailDomain);
  EXPECT_TRUE(is_invalid(run(r.w, op(), SetVettingStatus{r.p.partner, static_cast<VettingStatus>(9), {}}), "status"));
  EXPECT_TRUE(is_invalid(
      run(r.w, op(), SetVettingStatus{r.p.partner, VettingStatus::kPending, static_cast<VettingSubStatus>(8)}),
      "sub_status"));
  EXPECT_TRUE(is_code(run(r.w, op(), SetVettingStatus{PartnerId(), VettingStatus::kPending, {}}),
                      StatusCode::kNotFound, "partner_id"));
}

TEST(SuspendPartner, BillingReasonNeedsMoreThan60DaysOverdue) {
  RichWorld r;
  EXPECT_TRUE(is_rule(run(r.w, op(), SuspendPartner{r.p.partner, SuspensionReason::kBillingOverdue, 60, ""}),
                      rule::kSuspensionBillingOverdue));
  ASSERT_TRUE(run(r.w, op(), SuspendPartner{r.p.partner, SuspensionReason::kBillingOverdue, 61, ""}).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).suspended);
  EXPECT_TRUE(is_rule(run(r.w, op(), SuspendPartner{r.p.partner, SuspensionReason::kAbuse, 0, ""}),
                      rule::kPartnerSuspended));
  EXPECT_TRUE(is_invalid(run(r.w, op(), SuspendPartner{r.other.partner, static_cast<SuspensionReason>(7), 0, ""}),
                         "reason"));
}

TEST(SuspendPartner, SuspendedPartnerCannotPinButKeepsManaging) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SuspendPartner{r.p.partner, SuspensionReason::kProviderIssue, 0, ""}).is_ok());
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-2"}), rule::kSuspendedCannotPin));
  EXPECT_TRUE(run(r.w, r.admin(), UnpinOffer{r.p.partner, "offer-1"}).is_ok());
  EXPECT_TRUE(run(r.w, r.admin(), UpdateSupportProfile{r.p.partner, {"h@contoso.com", "", ""}}).is_ok());
  EXPECT_TRUE(run(r.w, r.admin(), CreateUser{r.p.partner, contact("N", "U", "nu@contoso.com"), {}}).is_ok());
  EXPECT_TRUE(run(r.w, r.admin(), PublishBusinessProfile{r.p.partner, "emea"}).is_ok());
}

TEST(ReinstatePartner, ReinstatedPartnerPinsAgain) {
  RichWorld r;
  EXPECT_TRUE(is_rule(run(r.w, op(), ReinstatePartner{r.p.partner}), rule::kPartnerSuspended));
  ASSERT_TRUE(run(r.w, op(), ReinstatePartner{r.other.partner}).is_ok());
  EXPECT_FALSE(r.w.partner_state(r.other.partner).suspended);
  EXPECT_TRUE(run(r.w, r.w.user(r.other.admin), PinOffer{r.other.partner, "offer-2"}).is_ok());
}

TEST(IssueAuditorAccess, HoldsTheAuditorEmailAsPersonalData) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), IssueAuditorAccess{r.p.partner, "a2@audit.example", at("2026-04-01T00:00:00Z")}).is_ok());
  AuditorGrantId id = r.w.last_id<AuditorGrantId>(0);
  AuditorGrant g = r.w.partner_state(r.p.partner).auditor_grants.at(id);
  EXPECT_EQ(g.auditor_email.subject, auditor_subject(id));
  EXPECT_EQ(g.auditor_email.value, "a2@audit.example");
  EXPECT_TRUE(is_rule(run(r.w, op(), IssueAuditorAccess{r.p.partner, "a@audit.example", at("2026-03-01T00:00:00Z")}),
                      rule::kAuditorAccessWindow));
  EXPECT_TRUE(is_invalid(run(r.w, op(), IssueAuditorAccess{r.p.partner, "nope", at("2026-04-01T00:00:00Z")}),
                         "auditor_email"));
}

TEST(RevokeAuditorAccess, EndsTheGrantOnceAndOnlyWhileItIsOpen) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), IssueAuditorAccess{r.p.partner, "a2@audit.example", at("2026-04-01T00:00:00Z")}).is_ok());
  const AuditorGrantId id = r.w.last_id<AuditorGrantId>(0);
  const Timestamp now = r.w.clock.now();
  EXPECT_TRUE(auditor_grant_open(r.w.partner_state(r.p.partner).auditor_grants.at(id), now));

  // Only the operator revokes; a Global admin of the partner may not.
  EXPECT_TRUE(is_code(run(r.w, r.admin(), RevokeAuditorAccess{r.p.partner, id, "ended"}), StatusCode::kForbidden));
  EXPECT_TRUE(is_invalid(run(r.w, op(), RevokeAuditorAccess{r.p.partner, id, ""}), "reason"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), RevokeAuditorAccess{r.p.partner, id, std::string(501, 'x')}), "reason"));
  EXPECT_TRUE(is_code(run(r.w, op(), RevokeAuditorAccess{r.p.partner, AuditorGrantId::random(), "ended"}),
                      StatusCode::kNotFound, "grant_id"));

  ASSERT_TRUE(run(r.w, op(), RevokeAuditorAccess{r.p.partner, id, "engagement ended early"}).is_ok());
  const AuditorGrant g = r.w.partner_state(r.p.partner).auditor_grants.at(id);
  ASSERT_TRUE(g.revoked_at.has_value());
  EXPECT_EQ(*g.revoked_at, now);
  EXPECT_FALSE(auditor_grant_open(g, now));
  EXPECT_TRUE(is_rule(run(r.w, op(), RevokeAuditorAccess{r.p.partner, id, "again"}), rule::kAuditorAccessRevoked));

  // A grant past its valid_until has ended already: nothing to revoke.
  ASSERT_TRUE(run(r.w, op(), IssueAuditorAccess{r.p.partner, "a3@audit.example", at("2026-04-01T00:00:00Z")}).is_ok());
  const AuditorGrantId later = r.w.last_id<AuditorGrantId>(0);
  r.w.clock.set(at("2026-04-01T00:00:00Z"));
  EXPECT_FALSE(auditor_grant_open(r.w.partner_state(r.p.partner).auditor_grants.at(later), r.w.clock.now()));
  EXPECT_TRUE(is_rule(run(r.w, op(), RevokeAuditorAccess{r.p.partner, later, "late"}), rule::kAuditorAccessWindow));
}

TEST(CorrectMpnId, TheOperatorCorrectsTheIdAndTheHistoryKeepsEachPrevious) {
  RichWorld r;
  const std::string enrolled = r.w.partner_state(r.p.partner).mpn_id;
  // Only the operator; a Global admin of the partner may not.
  EXPECT_TRUE(is_code(run(r.w, r.admin(), CorrectMpnId{r.p.partner, "4099999", "typo"}), StatusCode::kForbidden));
  EXPECT_TRUE(is_invalid(run(r.w, op(), CorrectMpnId{r.p.partner, "40x9", "typo"}), "mpn_id"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), CorrectMpnId{r.p.partner, "12345678901", "typo"}), "mpn_id"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), CorrectMpnId{r.p.partner, "4099999", ""}), "reason"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), CorrectMpnId{r.p.partner, "4099999", std::string(501, 'x')}), "reason"));
  EXPECT_TRUE(is_code(run(r.w, op(), CorrectMpnId{PartnerId::random(), "4099999", "typo"}), StatusCode::kNotFound,
                      "partner_id"));
  EXPECT_TRUE(is_rule(run(r.w, op(), CorrectMpnId{r.p.partner, enrolled, "same"}), rule::kMpnIdUnchanged));
  EXPECT_TRUE(r.w.partner_state(r.p.partner).mpn_id_corrections.empty());

  const Timestamp first = r.w.clock.now();
  ASSERT_TRUE(run(r.w, op(), CorrectMpnId{r.p.partner, "4099999", "a typo at enrollment"}).is_ok());
  r.w.clock.set(at("2026-03-20T00:00:00Z"));
  ASSERT_TRUE(run(r.w, op(), CorrectMpnId{r.p.partner, "4088888", "merged accounts"}).is_ok());
  const PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_EQ(s.mpn_id, "4088888");
  ASSERT_EQ(s.mpn_id_corrections.size(), 2u);
  EXPECT_EQ(s.mpn_id_corrections[0].previous_mpn_id, enrolled);
  EXPECT_EQ(s.mpn_id_corrections[0].mpn_id, "4099999");
  EXPECT_EQ(s.mpn_id_corrections[0].reason, "a typo at enrollment");
  EXPECT_EQ(s.mpn_id_corrections[0].at, first);
  EXPECT_EQ(s.mpn_id_corrections[1].previous_mpn_id, "4099999");
  EXPECT_EQ(s.mpn_id_corrections[1].at, at("2026-03-20T00:00:00Z"));

  // An id a location holds names that location's account: refused.
  ASSERT_TRUE(run(r.w, r.admin(), AddLocation{r.p.partner, address("US"), "4077777"}).is_ok());
  EXPECT_TRUE(is_code(run(r.w, op(), CorrectMpnId{r.p.partner, "4077777", "typo"}), StatusCode::kConflict, "mpn_id"));
}

// ---- pins ------------------------------------------------------------------------------

TEST(PinOffer, PinsInOrderAndRefusesDuplicates) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-3"}).is_ok());
  ASSERT_TRUE(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-2"}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).pinned_offers, (std::vector<std::string>{"offer-1", "offer-3", "offer-2"}));
  EXPECT_TRUE(is_code(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-2"}), StatusCode::kConflict, "offer_id"));
  EXPECT_TRUE(is_invalid(run(r.w, r.admin(), PinOffer{r.p.partner, "bad id!"}), "offer_id"));
}

TEST(PinOffer, OfferMustExistAndBeOrderable) {
  RichWorld r;
  EXPECT_TRUE(is_code(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-404"}), StatusCode::kNotFound, "offer_id"));
  ASSERT_TRUE(run(r.w, op(), RetireOffer{"offer-3"}).is_ok());
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-3"}), rule::kOfferOrderable));
  ASSERT_TRUE(run(r.w, op(), PublishOffer{offer("offer-8")}).is_ok());  // in no price list
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-8"}), rule::kOfferOrderable));
  r.w.clock.set(at("2026-04-02T00:00:00Z"));  // the March price list no longer applies
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-2"}), rule::kOfferOrderable));
}

TEST(PinOffer, OrderableOnlyInsideTheRowsValidityAndMarket) {
  World w(at("2026-03-10T00:00:00Z"));
  Enrolled p = enroll(w);
  Enrolled de = enroll(w, enroll_command("de@contoso.de", "DE"));
  make_ready_to_sell(w, p);
  make_ready_to_sell(w, de);
  ASSERT_TRUE(run(w, op(), PublishOffer{offer("o-1")}).is_ok());
  PriceList l = price_list("US", 2026, 3, {});
  l.rows.push_back(row("o-1", at("2026-03-15T00:00:00Z"), at("2026-03-31T00:00:00Z")));
  ASSERT_TRUE(run(w, op(), PublishPriceList{l}).is_ok());
  EXPECT_TRUE(is_rule(run(w, w.user(p.admin), PinOffer{p.partner, "o-1"}), rule::kOfferOrderable));
  w.clock.set(at("2026-03-16T00:00:00Z"));
  EXPECT_TRUE(is_rule(run(w, w.user(de.admin), PinOffer{de.partner, "o-1"}), rule::kOfferOrderable));
  EXPECT_TRUE(run(w, w.user(p.admin), PinOffer{p.partner, "o-1"}).is_ok());
}

TEST(PinOffer, AtMostFive) {
  RichWorld r;
  for (const char* id : {"offer-4", "offer-5", "offer-6"}) ASSERT_TRUE(run(r.w, op(), PublishOffer{offer(id)}).is_ok());
  PriceList eur = price_list("US", 2026, 3, {"offer-4", "offer-5", "offer-6"});
  eur.currency = "EUR";
  ASSERT_TRUE(run(r.w, op(), PublishPriceList{eur}).is_ok());
  for (const char* id : {"offer-2", "offer-3", "offer-4", "offer-5"}) {
    ASSERT_TRUE(run(r.w, r.admin(), PinOffer{r.p.partner, id}).is_ok());
  }
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-6"}), rule::kMaxPins));
}

TEST(UnpinOffer, HappyPathAndNotPinned) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), UnpinOffer{r.p.partner, "offer-1"}).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).pinned_offers.empty());
  EXPECT_TRUE(is_code(run(r.w, r.admin(), UnpinOffer{r.p.partner, "offer-1"}), StatusCode::kNotFound, "offer_id"));
}

TEST(ReorderPins, MustBeAPermutation) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, r.admin(), PinOffer{r.p.partner, "offer-2"}).is_ok());
  ASSERT_TRUE(run(r.w, r.admin(), ReorderPins{r.p.partner, {"offer-2", "offer-1"}}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).pinned_offers, (std::vector<std::string>{"offer-2", "offer-1"}));
  EXPECT_TRUE(is_rule(run(r.w, r.admin(), ReorderPins{r.p.partner, {"offer-2"}}), rule::kReorderEachPin, "offer_ids"));
  EXPECT_TRUE(
      is_rule(run(r.w, r.admin(), ReorderPins{r.p.partner, {"offer-2", "offer-2"}}), rule::kReorderEachPin, "offer_ids"));
  EXPECT_TRUE(
      is_rule(run(r.w, r.admin(), ReorderPins{r.p.partner, {"offer-2", "offer-3"}}), rule::kReorderEachPin, "offer_ids"));
}

// ---- selling prerequisites ----------------------------------------------------------

// A partner in `country` enrolled at 2026-03-02 and an offer orderable in its market all of March.
struct SellingWorld {
  World w{at("2026-03-02T00:00:00Z")};
  Enrolled p;
  explicit SellingWorld(const std::string& country = "US") {
    p = enroll(w, enroll_command("ada@contoso.example", country));
    must(w.execute(op(), PublishOffer{offer("o-1")}), "offer");
    PriceList l = price_list(country, 2026, 3, {"o-1"});
    l.currency = std::string(billing_currency_of(country));
    must(w.execute(op(), PublishPriceList{l}), "prices");
  }
  Principal admin() const { return w.user(p.admin); }
  Status pin() { return run(w, admin(), PinOffer{p.partner, "o-1"}); }
};

TEST(SellingPrerequisites, ResellerAgreementBeforeTheFirstPin) {
  SellingWorld s;
  Status refused = s.pin();
  EXPECT_TRUE(is_rule(refused, rule::kResellerAgreementRequired)) << refused.to_string();
  EXPECT_EQ(refused.field(), "partner_id");
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}).is_ok());
  EXPECT_TRUE(s.pin().is_ok());
}

TEST(AcceptResellerAgreement, RecordsWhoAndWhenAndRefusesTheSameVersionTwice) {
  SellingWorld s;
  s.w.clock.set(at("2026-03-05T00:00:00Z"));
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}).is_ok());
  EXPECT_TRUE(is_code(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}), StatusCode::kConflict,
                      "agreement_version"));
  EXPECT_TRUE(is_invalid(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, ""}), "agreement_version"));
  s.w.clock.set(at("2026-03-20T00:00:00Z"));
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2020-01"}).is_ok());
  PartnerState st = s.w.partner_state(s.p.partner);
  EXPECT_EQ(st.agreement_version, "2020-01");
  ASSERT_TRUE(st.agreement_accepted_at.has_value());
  EXPECT_EQ(*st.agreement_accepted_at, at("2026-03-05T00:00:00Z"));  // the window runs from the first acceptance
  auto events = s.w.store.read(partner_stream(s.p.partner));
  const auto* accepted = std::get_if<ResellerAgreementAccepted>(&events.back());
  ASSERT_NE(accepted, nullptr);
  EXPECT_EQ(accepted->accepted_by, principal_id(s.admin()));
}

TEST(SellingPrerequisites, UsTaxDocumentsWithin30DaysOfTheAgreement) {
  SellingWorld s;
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}).is_ok());  // 2026-03-02T00:00
  s.w.clock.set(at("2026-03-31T23:59:59Z"));  // day 30 not yet over
  ASSERT_TRUE(s.pin().is_ok());
  ASSERT_TRUE(run(s.w, s.admin(), UnpinOffer{s.p.partner, "o-1"}).is_ok());
  s.w.clock.set(at("2026-04-01T00:00:00Z"));  // exactly 30 days later: the documents are due
  must(s.w.execute(op(), PublishPriceList{price_list("US", 2026, 4, {"o-1"})}), "april prices");
  Status due = s.pin();
  EXPECT_TRUE(is_rule(due, rule::kUsTaxDocumentsDue)) << due.to_string();
  EXPECT_NE(due.message().find("2026-03-02T00:00:00"), std::string::npos) << due.message();

  ASSERT_TRUE(run(s.w, s.admin(), FileTaxExemption{s.p.partner, "WA", "cert-1", at("2026-04-01T00:00:00Z"),
                                                   at("2026-04-10T00:00:00Z")})
                  .is_ok());
  ExemptionId exemption = s.w.last_id<ExemptionId>(0);
  ASSERT_TRUE(s.pin().is_ok());
  ASSERT_TRUE(run(s.w, s.admin(), UnpinOffer{s.p.partner, "o-1"}).is_ok());
  s.w.clock.set(at("2026-04-10T00:00:00Z"));  // the certificate expired
  EXPECT_TRUE(is_rule(s.pin(), rule::kUsTaxDocumentsDue));
  s.w.clock.set(at("2026-04-05T00:00:00Z"));
  ASSERT_TRUE(run(s.w, s.admin(), RevokeTaxExemption{s.p.partner, exemption, "wrong state"}).is_ok());
  EXPECT_TRUE(is_rule(s.pin(), rule::kUsTaxDocumentsDue));  // a revoked certificate does not count
}

TEST(SellingPrerequisites, NoTaxDocumentWindowOutsideTheUs) {
  SellingWorld s("CA");
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}).is_ok());
  s.w.clock.set(at("2026-04-15T00:00:00Z"));
  PriceList april = price_list("CA", 2026, 4, {"o-1"});
  april.currency = "CAD";
  must(s.w.execute(op(), PublishPriceList{april}), "april prices");
  EXPECT_TRUE(s.pin().is_ok());
}

TEST(SellingPrerequisites, EuPartnerNeedsAnAcceptedVatId) {
  SellingWorld s("DE");
  ASSERT_TRUE(run(s.w, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}).is_ok());
  EXPECT_TRUE(is_rule(s.pin(), rule::kEuVatIdAccepted));

  auto billing_with = [](std::string tax_id) {
    return BillingProfileInput{"Contoso GmbH", address("DE"), contact("Bo", "Bill", "bo@contoso.de"), "", tax_id};
  };
  for (const char* bad : {"123456789", "FR123456789", "DE1", "DE12345678901234", "de123456789", "DE 123456789"}) {
    EXPECT_TRUE(is_rule(run(s.w, s.admin(), UpdateBillingProfile{s.p.partner, billing_with(bad), "EUR"}),
                        rule::kVatIdOfCountry, "billing.tax_id"))
        << bad;
  }
  ASSERT_TRUE(run(s.w, s.admin(), UpdateBillingProfile{s.p.partner, billing_with("DE123456789"), "EUR"}).is_ok());
  Status pending = s.pin();
  EXPECT_TRUE(is_rule(pending, rule::kEuVatIdAccepted));
  // The refusal (and the readiness list) says what is missing without the tax id: only who manages billing reads it.
  EXPECT_NE(pending.message().find("not accepted yet"), std::string::npos) << pending.message();
  EXPECT_EQ(pending.message().find("DE123456789"), std::string::npos) << pending.message();

  EXPECT_TRUE(is_rule(run(s.w, op(), AcceptTaxId{s.p.partner, "DE999999999"}), rule::kTaxIdMatchesBilling));
  ASSERT_TRUE(run(s.w, op(), AcceptTaxId{s.p.partner, "DE123456789"}).is_ok());
  EXPECT_TRUE(is_code(run(s.w, op(), AcceptTaxId{s.p.partner, "DE123456789"}), StatusCode::kConflict, "tax_id"));
  ASSERT_TRUE(s.pin().is_ok());
  ASSERT_TRUE(run(s.w, s.admin(), UnpinOffer{s.p.partner, "o-1"}).is_ok());

  // A new VAT id needs a new acceptance.
  ASSERT_TRUE(run(s.w, s.admin(), UpdateBillingProfile{s.p.partner, billing_with("DE987654321"), "EUR"}).is_ok());
  EXPECT_TRUE(is_rule(s.pin(), rule::kEuVatIdAccepted));
}

TEST(SellingPrerequisites, GreekVatIdsStartWithEl) {
  SellingWorld s("GR");
  BillingProfileInput b{"Contoso AE", address("GR"), contact("Bo", "Bill", "bo@contoso.gr"), "", "GR123456789"};
  EXPECT_TRUE(
      is_rule(run(s.w, s.admin(), UpdateBillingProfile{s.p.partner, b, "EUR"}), rule::kVatIdOfCountry, "billing.tax_id"));
  b.tax_id = "EL123456789";
  EXPECT_TRUE(run(s.w, s.admin(), UpdateBillingProfile{s.p.partner, b, "EUR"}).is_ok());
}

// ---- sale blockers (GET /v1/partners/{id}/readiness) ------------------------------------------

std::vector<std::string> blocker_codes(const SellingWorld& s) {
  std::vector<std::string> out;
  for (const SaleBlocker& b : sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now())) out.emplace_back(b.code);
  return out;
}

const SaleBlocker* find_blocker(const std::vector<SaleBlocker>& all, std::string_view code) {
  for (const SaleBlocker& b : all) {
    if (b.code == code) return &b;
  }
  return nullptr;
}

// Every blocker at once, and each one cleared by running exactly the command it names.
TEST(SaleBlockers, ListsEveryBlockerAtOnceAndEachClearsWithTheCommandItNames) {
  SellingWorld s;
  EXPECT_EQ(blocker_codes(s),
            (std::vector<std::string>{"reseller_agreement_before_selling", "us_tax_documents_within_30_days",
                                      "vetting_not_authorized", "no_authorized_region", "support_details_missing",
                                      "billing_primary_contact_missing"}));
  // Clears `code` by running `c`, which must be the command the blocker names.
  auto clear = [&](std::string_view code, const Principal& actor, const Command& c) {
    const auto before = sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now());
    const SaleBlocker* b = find_blocker(before, code);
    ASSERT_NE(b, nullptr) << code;
    EXPECT_EQ(b->clears_with, command_name(c)) << code;
    EXPECT_FALSE(b->message.empty()) << code;
    ASSERT_TRUE(run(s.w, actor, c).is_ok()) << command_name(c);
    const auto after = sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now());
    EXPECT_EQ(find_blocker(after, code), nullptr) << code << " still stands after " << command_name(c);
    EXPECT_EQ(after.size(), before.size() - 1) << command_name(c) << " cleared more or less than " << code;
  };
  {
    const auto all = sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now());
    const SaleBlocker* tax = find_blocker(all, rule::kUsTaxDocumentsDue);
    ASSERT_NE(tax, nullptr);
    EXPECT_FALSE(tax->refuses_pin_offer) << "not due before the agreement";
    EXPECT_FALSE(tax->due_at.has_value());
  }
  clear(rule::kResellerAgreementRequired, s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"});
  {
    const auto all = sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now());
    const SaleBlocker* tax = find_blocker(all, rule::kUsTaxDocumentsDue);
    ASSERT_NE(tax, nullptr);
    EXPECT_FALSE(tax->refuses_pin_offer) << "within the 30 days";
    ASSERT_TRUE(tax->due_at.has_value());
    EXPECT_EQ(*tax->due_at, at("2026-04-01T00:00:00Z"));
  }
  clear(rule::kUsTaxDocumentsDue, s.admin(),
        FileTaxExemption{s.p.partner, "WA", "cert-1", at("2026-03-01T00:00:00Z"), at("2027-03-01T00:00:00Z")});
  clear("vetting_not_authorized", op(), SetVettingStatus{s.p.partner, VettingStatus::kAuthorized, VettingSubStatus::kDecision});
  clear("no_authorized_region", op(), SetAuthorizedRegions{s.p.partner, {"na"}});
  clear("support_details_missing", s.admin(), UpdateSupportProfile{s.p.partner, SupportProfile{"help@contoso.com", "", ""}});
  clear("billing_primary_contact_missing", s.admin(),
        UpdateBillingProfile{s.p.partner, BillingProfileInput{"Contoso Ltd", address("US"),
                                                              contact("Bo", "Bill", "bo@contoso.com"), "", ""},
                             "USD"});
  EXPECT_TRUE(blocker_codes(s).empty());
  EXPECT_TRUE(s.pin().is_ok());
  // A suspension is a blocker of its own, cleared by reinstating.
  ASSERT_TRUE(run(s.w, op(), SuspendPartner{s.p.partner, SuspensionReason::kAbuse, 0, "spam"}).is_ok());
  EXPECT_EQ(blocker_codes(s), std::vector<std::string>{"suspended_partner_cannot_pin"});
  clear(rule::kSuspendedCannotPin, op(), ReinstatePartner{s.p.partner});
  EXPECT_TRUE(blocker_codes(s).empty());
}

// PinOffer's refusal is the first blocker that refuses it, in every state
// (they share one function; this keeps it so).
TEST(SaleBlockers, PinOfferRefusesWithTheFirstBlockerThatRefusesIt) {
  struct Case {
    const char* what;
    std::string country;
    std::function<void(SellingWorld&)> setup;
  };
  const auto accept = [](SellingWorld& s) { must(s.w.execute(s.admin(), AcceptResellerAgreement{s.p.partner, "2019-10"}), "accept"); };
  const auto later = [](SellingWorld& s, const char* when, const std::string& market, const std::string& currency,
                        int month) {
    s.w.clock.set(at(when));
    PriceList l = price_list(market, 2026, month, {"o-1"});
    l.currency = currency;
    must(s.w.execute(op(), PublishPriceList{l}), "prices");
  };
  const std::vector<Case> cases = {
      {"US, nothing done", "US", [](SellingWorld&) {}},
      {"US, agreement accepted", "US", accept},
      {"US, 30 days after the agreement", "US", [&](SellingWorld& s) { accept(s); later(s, "2026-04-01T00:00:00Z", "US", "USD", 4); }},
      {"US, suspended after the window", "US",
       [&](SellingWorld& s) {
         accept(s);
         later(s, "2026-04-02T00:00:00Z", "US", "USD", 4);
         must(s.w.execute(op(), SuspendPartner{s.p.partner, SuspensionReason::kAbuse, 0, "spam"}), "suspend");
       }},
      {"DE, agreement, no VAT id", "DE", accept},
      {"DE, VAT id not accepted", "DE",
       [&](SellingWorld& s) {
         accept(s);
         must(s.w.execute(s.admin(), UpdateBillingProfile{s.p.partner,
                                                          BillingProfileInput{"Contoso GmbH", address("DE"),
                                                                              contact("Bo", "Bill", "bo@contoso.de"), "",
                                                                              "DE123456789"},
                                                          "EUR"}),
              "billing");
       }},
      {"DE, nothing done", "DE", [](SellingWorld&) {}},
      {"CA, agreement accepted", "CA", accept},
  };
  for (const Case& c : cases) {
    SellingWorld s(c.country);
    c.setup(s);
    const auto blockers = sale_blockers(s.w.partner_state(s.p.partner), s.w.clock.now());
    // Each code is a listed one, and they come in the listed order.
    const auto& known = sale_blocker_codes();
    auto last = known.begin();
    for (const SaleBlocker& b : blockers) {
      auto at_code = std::find(last, known.end(), b.code);
      EXPECT_NE(at_code, known.end()) << c.what << ": " << b.code << " unknown or out of order";
      last = at_code;
    }
    const SaleBlocker* first = nullptr;
    for (const SaleBlocker& b : blockers) {
      if (b.refuses_pin_offer) {
        first = &b;
        break;
      }
    }
    const Status pinned = s.pin();
    if (first) {
      EXPECT_TRUE(is_rule(pinned, first->code)) << c.what << ": " << pinned.to_string();
      EXPECT_NE(pinned.message().find(first->message), std::string::npos) << c.what;
    } else {
      EXPECT_TRUE(pinned.is_ok()) << c.what << ": " << pinned.to_string();
    }
  }
}

// ---- operator: regions and earned tags ----------------------------------------------------

TEST(SetAuthorizedRegions, ReplacesTheSetAndValidates) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {"na", "emea"}}).is_ok());
  EXPECT_EQ(r.w.partner_state(r.p.partner).authorized_regions, (std::set<std::string>{"emea", "na"}));
  EXPECT_TRUE(is_invalid(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {"emea", "EMEA"}}), "regions[1]"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {"emea", "emea"}}), "regions[1]"));
  EXPECT_TRUE(is_code(run(r.w, op(), SetAuthorizedRegions{PartnerId(), {"emea"}}), StatusCode::kNotFound,
                      "partner_id"));
  ASSERT_TRUE(run(r.w, op(), SetAuthorizedRegions{r.p.partner, {}}).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).authorized_regions.empty());
}

TEST(SetEarnedTags, OnlyTheOperatorSetsThemAndTheyReplace) {
  RichWorld r;
  ASSERT_TRUE(run(r.w, op(), SetEarnedTags{r.p.partner, {"Gold Cloud Platform"}, {"Azure Expert MSP"}}).is_ok());
  PartnerState s = r.w.partner_state(r.p.partner);
  EXPECT_EQ(s.competencies, std::vector<std::string>{"Gold Cloud Platform"});
  EXPECT_EQ(s.endorsements, std::vector<std::string>{"Azure Expert MSP"});
  EXPECT_TRUE(is_code(run(r.w, r.admin(), SetEarnedTags{r.p.partner, {"Self-declared"}, {}}), StatusCode::kForbidden));
  EXPECT_TRUE(is_invalid(run(r.w, op(), SetEarnedTags{r.p.partner, {""}, {}}), "competencies[0]"));
  EXPECT_TRUE(is_invalid(run(r.w, op(), SetEarnedTags{r.p.partner, {}, {"x", "x"}}), "endorsements[1]"));
  ASSERT_TRUE(run(r.w, op(), SetEarnedTags{r.p.partner, {}, {}}).is_ok());
  EXPECT_TRUE(r.w.partner_state(r.p.partner).competencies.empty());
}

}  // namespace
}  // namespace accountable
