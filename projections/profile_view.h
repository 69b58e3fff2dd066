// Everything a partner's profile page shows (view "profile"): the legal,
// support, billing, organization and partner-network profiles, vetting,
// suspension, locations, tax exemptions (with their state on a date), pinned
// offers, and the business (marketing) profile of each region.
//
// Personal data (the legal primary contact, the approver email, the billing
// primary contact) is stored decrypted, or NULL with an erased flag when the
// subject's key is gone. No command erases those subjects today; if one ever
// does, its event must overwrite them like UserPurged does in the directory.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "projections/projection.h"
#include "projections/row_cache.h"

namespace accountable {

// A tax exemption on a date: revoked wins; then expired (date >= expires_on);
// then not yet valid (date < valid_from); else active.
enum class ExemptionState : uint8_t { kActive, kExpired, kRevoked, kNotYetValid };
std::string_view exemption_state_name(ExemptionState s);  // "active", "expired", "revoked", "not_yet_valid"
ExemptionState exemption_state(bool revoked, Timestamp valid_from, Timestamp expires_on, Timestamp date);

struct PartnerLocationView {
  LocationId location_id;
  Address address;
  std::string mpn_id;
  friend bool operator==(const PartnerLocationView&, const PartnerLocationView&) = default;
};

struct TaxExemptionView {
  ExemptionId exemption_id;
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp valid_from, expires_on, filed_at;
  bool revoked = false;
  std::string revoked_reason;
  ExemptionState state = ExemptionState::kActive;  // on the query's date
  friend bool operator==(const TaxExemptionView&, const TaxExemptionView&) = default;
};

// A certificate that expires within a window (GET .../tax-exemptions/expiring):
// what a Billing admin renews (RenewTaxExemption). Not revoked; expires in
// (from, until]. Ordered by expires_on, then partner and exemption id.
struct ExpiringExemption {
  PartnerId partner_id;
  std::string partner_name;
  ExemptionId exemption_id;
  std::string jurisdiction;
  std::string certificate_ref;
  Timestamp valid_from, expires_on;
  ExemptionState state = ExemptionState::kActive;  // on `from`: active or not_yet_valid
  // Another certificate of the jurisdiction, not revoked, applies on expires_on
  // (one filed ahead): nothing lapses if this one expires.
  bool covered_after_expiry = false;
  friend bool operator==(const ExpiringExemption&, const ExpiringExemption&) = default;
};

// Keyset cursor of the expiring list: the last row of the page before.
struct ExpiringCursor {
  Timestamp expires_on;
  PartnerId partner_id;
  ExemptionId exemption_id;
};
std::string expiring_cursor_text(const ExpiringCursor& c);  // "<micros>.<partner>.<exemption>"
Result<ExpiringCursor> parse_expiring_cursor(std::string_view text);  // kInvalidArgument naming "after"

struct ExpiringQuery {
  std::optional<PartnerId> partner;  // nullopt: every partner (the operator's list)
  Timestamp from;                    // usually now
  Timestamp until;                   // from + the window
  size_t limit = 100;
  std::optional<ExpiringCursor> after;
};
struct ExpiringPage {
  Timestamp from, until;  // the query's window
  std::vector<ExpiringExemption> items;
  std::optional<ExpiringCursor> next;  // set when more rows may follow
};

struct SuspensionView {
  bool suspended = false;
  // The current suspension's details (meaningful while suspended).
  SuspensionReason reason = SuspensionReason::kAbuse;
  uint32_t days_overdue = 0;
  std::string note;
  std::optional<Timestamp> since;
  std::optional<Timestamp> last_reinstated_at;
  friend bool operator==(const SuspensionView&, const SuspensionView&) = default;
};

struct BusinessProfileLocationView {
  LocationId location_id;
  Address address;
  std::string phone;
  friend bool operator==(const BusinessProfileLocationView&, const BusinessProfileLocationView&) = default;
};

struct BusinessProfileView {
  std::string region;
  BusinessProfileDetails details;
  bool published = false;
  std::vector<BusinessProfileLocationView> locations;  // by location id
  Timestamp changed_at;
  friend bool operator==(const BusinessProfileView&, const BusinessProfileView&) = default;
};

struct PartnerProfileView {
  PartnerId partner_id;
  std::string partner_name;  // partner network profile
  std::string mpn_id;
  std::string country;  // of the legal address; never changes
  std::string billing_currency;
  Timestamp enrolled_at;
  LegalProfile legal;  // Personal<> fields: value, or erased
  VettingStatus vetting_status = VettingStatus::kNone;
  VettingSubStatus vetting_sub_status = VettingSubStatus::kNone;
  SupportProfile support;
  BillingProfile billing;  // all empty until the first UpdateBillingProfile
  OrganizationProfile organization;
  SuspensionView suspension;
  // Selling prerequisites and what the operator set (docs/aggregates.md).
  std::optional<Timestamp> agreement_accepted_at;  // the FIRST acceptance of the reseller agreement
  std::string agreement_version;                   // the latest accepted
  std::string accepted_tax_id;                     // accepted by the operator
  bool tax_id_accepted = false;                    // the billing profile's tax id is the accepted one
  std::vector<std::string> authorized_regions;     // sorted
  std::vector<std::string> competencies, endorsements;  // earned tags
  std::vector<PartnerLocationView> locations;     // by location id
  std::vector<TaxExemptionView> tax_exemptions;   // by exemption id
  std::vector<std::string> pinned_offers;          // in the partner's order
  std::vector<BusinessProfileView> business_profiles;  // by region
  Timestamp as_of;       // the date exemption states were computed for
  Timestamp changed_at;  // time of the last event of the partner's stream
  // JSON paths of the parts this reader may not see (withhold_profile_parts):
  // emptied here, and left out of the JSON.
  std::vector<std::string> withheld;
  friend bool operator==(const PartnerProfileView&, const PartnerProfileView&) = default;
};

// Least privilege on the profile read: the legal profile's contacts (personal
// data) only for who may update the legal profile; the billing contact, the
// tax ids and the tax exemptions only for who manages billing. Everything else
// is shown to any reader of the profile. `may_read_legal_contacts` and
// `may_read_billing_and_tax` come from the role matrix (view_queries.cc).
inline constexpr std::string_view kLegalContactParts[] = {"legal.primary_contact", "legal.approver_email",
                                                          "legal.approver_address"};
inline constexpr std::string_view kBillingAndTaxParts[] = {"billing.primary_contact", "billing.tax_id",
                                                           "selling.accepted_tax_id", "selling.tax_id_accepted",
                                                           "tax_exemptions"};
void withhold_profile_parts(PartnerProfileView& view, bool may_read_legal_contacts, bool may_read_billing_and_tax);

class ProfileView final : public Projection {
 public:
  static constexpr std::string_view kName = "profile";
  static constexpr int kVersion = 2;  // 2: tax_exemption_expiry index

  ProfileView();
  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  std::vector<std::string> indexes() const override;
  Status prepare(Db& db) override;
  Status begin_batch() override;
  Status apply(const ViewEvent& event) override;
  Status finish_batch() override;
  Status begin_build() override;
  Status finish_build() override;
  // ~8.5 us a partner
  uint64_t build_seal_nanos() const override { return whole_build_ ? (partners_.size() + pins_.size()) * 8500 : 0; }

  // kNotFound when the partner is not enrolled.
  static Result<PartnerProfileView> query(Db& db, const PartnerId& partner, Timestamp date);
  // Certificates expiring within the query's window (ExpiringQuery).
  static Result<ExpiringPage> expiring(Db& db, const ExpiringQuery& q);

  // A partner's pins during a batch, written back at its end.
  struct Pins {
    std::vector<std::string> offers;
    bool dirty = false;
  };

 private:
  Status apply_partner(const ViewEvent& event, const std::string& partner, const DomainEvent* e);
  Status apply_business_profile(const ViewEvent& event, const PartnerId& partner, const std::string& region,
                                const DomainEvent& e);
  Status run(std::string_view sql_key, const std::function<void(Statement&)>& bind);
  Result<Pins*> pins_of(const std::string& partner);
  // Writes the cached pins and partner rows, in key order, and empties the caches.
  Status flush();

  // The partner_profile row of each partner the batch touches (most events
  // of a partner stream only move changed_at).
  RowCache partners_;
  std::unordered_map<std::string, Pins> pins_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements_;
  std::unique_ptr<Statement> select_pins_, delete_pins_, insert_pin_;
  bool whole_build_ = false;  // the caches live across batches (a build from position 0)
};

}  // namespace accountable
