#include "projections/profile_view.h"

#include <algorithm>

#include "projections/view_codec.h"
#include "schema/stream_names.h"

namespace accountable {

namespace {

constexpr std::string_view kPartnerColumns =
    "partner_name, mpn_id, country, billing_currency, enrolled_at, "                                  // 0-4
    "legal_company_name, legal_address, legal_contact, legal_contact_erased, legal_approver_email, "  // 5-9
    "legal_approver_email_erased, legal_approver_address, vetting_status, vetting_sub_status, "       // 10-13
    "support_email, support_phone, support_website, "                                                 // 14-16
    "billing_set, billing_company_name, billing_address, billing_contact, billing_contact_erased, "   // 17-21
    "billing_purchase_order_number, billing_tax_id, "                                                  // 22-23
    "organization_tenant_id, organization_default_domain, organization_email, organization_language, "  // 24-27
    "organization_culture, suspended, suspension_reason, suspension_days_overdue, suspension_note, "  // 28-32
    "suspended_at, reinstated_at, changed_at, agreement_accepted_at, agreement_version, "             // 33-37
    "accepted_tax_id, authorized_regions, competencies, endorsements";                                 // 38-41

// The SQL of every statement apply() uses, by key.
const std::pair<std::string_view, std::string_view> kProfileStatements[] = {
    {"add_location",
     "INSERT OR REPLACE INTO partner_location(partner_id, location_id, address, mpn_id) VALUES (?1, ?2, ?3, ?4)"},
    {"remove_location", "DELETE FROM partner_location WHERE partner_id = ?1 AND location_id = ?2"},
    {"file_exemption",
     "INSERT OR REPLACE INTO tax_exemption(partner_id, exemption_id, jurisdiction, certificate_ref, valid_from, "
     "expires_on, filed_at, revoked, revoked_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, '')"},
    {"revoke_exemption",
     "UPDATE tax_exemption SET revoked = 1, revoked_reason = ?3 WHERE partner_id = ?1 AND exemption_id = ?2"},
    {"create_profile",
     "INSERT OR REPLACE INTO business_profile(partner_id, region, details, published, changed_at) "
     "VALUES (?1, ?2, ?3, 0, ?4)"},
    {"update_profile",
     "UPDATE business_profile SET details = ?3, changed_at = ?4 WHERE partner_id = ?1 AND region = ?2"},
    {"publish_profile",
     "UPDATE business_profile SET published = ?3, changed_at = ?4 WHERE partner_id = ?1 AND region = ?2"},
    {"touch_profile", "UPDATE business_profile SET changed_at = ?3 WHERE partner_id = ?1 AND region = ?2"},
    {"add_profile_location",
     "INSERT OR REPLACE INTO business_profile_location(partner_id, region, location_id, address, phone) "
     "VALUES (?1, ?2, ?3, ?4, ?5)"},
    {"remove_profile_location",
     "DELETE FROM business_profile_location WHERE partner_id = ?1 AND region = ?2 AND location_id = ?3"},
};

// Columns of partner_profile in the cache, in the order of kPartnerColumnNames.
enum PartnerColumn {
  kPartnerId, kPartnerName, kMpnId, kCountry, kBillingCurrency, kEnrolledAt, kLegalCompanyName, kLegalAddress,
  kLegalContact, kLegalContactErased, kLegalApproverEmail, kLegalApproverEmailErased, kLegalApproverAddress,
  kVettingStatus, kVettingSubStatus, kSupportEmail, kSupportPhone, kSupportWebsite, kBillingSet, kBillingCompanyName,
  kBillingAddress, kBillingContact, kBillingContactErased, kBillingPurchaseOrderNumber, kBillingTaxId,
  kOrganizationTenantId, kOrganizationDefaultDomain, kOrganizationEmail, kOrganizationLanguage, kOrganizationCulture,
  kSuspended, kSuspensionReason, kSuspensionDaysOverdue, kSuspensionNote, kSuspendedAt, kReinstatedAt,
  kAgreementAcceptedAt, kAgreementVersion, kAcceptedTaxId, kAuthorizedRegions, kCompetencies, kEndorsements,
  kChangedAt, kChangedPosition, kPartnerColumnCount
};
const std::vector<std::string> kPartnerColumnNames = {
    "partner_id", "partner_name", "mpn_id", "country", "billing_currency", "enrolled_at", "legal_company_name",
    "legal_address", "legal_contact", "legal_contact_erased", "legal_approver_email", "legal_approver_email_erased",
    "legal_approver_address", "vetting_status", "vetting_sub_status", "support_email", "support_phone",
    "support_website", "billing_set", "billing_company_name", "billing_address", "billing_contact",
    "billing_contact_erased", "billing_purchase_order_number", "billing_tax_id", "organization_tenant_id",
    "organization_default_domain", "organization_email", "organization_language", "organization_culture",
    "suspended", "suspension_reason", "suspension_days_overdue", "suspension_note", "suspended_at", "reinstated_at",
    "agreement_accepted_at", "agreement_version", "accepted_tax_id", "authorized_regions", "competencies",
    "endorsements", "changed_at", "changed_position"};

SqlValue text(std::string_view v) { return std::string(v); }
SqlValue flag(bool b) { return int64_t{b ? 1 : 0}; }

// A personal contact as JSON (NULL when erased) and its erased flag.
void set_contact(RowCache::Row& row, int column, const PersonalContact& c) {
  row.values[column] = c.erased ? SqlValue() : text(contact_text(c.value));
  row.values[column + 1] = flag(c.erased);
}

void set_legal(RowCache::Row& row, const LegalProfile& l) {
  row.values[kLegalCompanyName] = l.company_name;
  row.values[kLegalAddress] = address_text(l.address);
  set_contact(row, kLegalContact, l.primary_contact);
  row.values[kLegalApproverEmail] = l.approver_email.erased ? SqlValue() : text(l.approver_email.value);
  row.values[kLegalApproverEmailErased] = flag(l.approver_email.erased);
  row.values[kLegalApproverAddress] = address_text(l.approver_address);
}

void set_organization(RowCache::Row& row, const OrganizationProfile& o) {
  row.values[kOrganizationTenantId] = o.tenant_id;
  row.values[kOrganizationDefaultDomain] = o.default_domain;
  row.values[kOrganizationEmail] = o.email;
  row.values[kOrganizationLanguage] = o.language;
  row.values[kOrganizationCulture] = o.culture;
}

Result<Address> address_column(const Statement& s, int index) {
  if (s.column_is_null(index)) return Address{};
  return address_from_text(s.column_text(index));
}

Result<PersonalContact> contact_column(const Statement& s, int index, std::string subject) {
  PersonalContact c;
  c.subject = std::move(subject);
  c.erased = s.column_int(index + 1) != 0;
  if (!c.erased && !s.column_is_null(index)) {
    auto value = contact_from_text(s.column_text(index));
    if (!value) return value.status();
    c.value = std::move(*value);
  }
  return c;
}

template <class T>
Result<std::vector<T>> collect(Db& db, std::string_view sql, const std::function<void(Statement&)>& bind,
                               const std::function<Result<T>(const Statement&)>& read) {
  auto s = db.prepare(sql);
  if (!s) return s.status();
  bind(**s);
  std::vector<T> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) break;
    auto item = read(**s);
    if (!item) return item.status();
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

std::string_view exemption_state_name(ExemptionState s) {
  switch (s) {
    case ExemptionState::kActive: return "active";
    case ExemptionState::kExpired: return "expired";
    case ExemptionState::kRevoked: return "revoked";
    case ExemptionState::kNotYetValid: return "not_yet_valid";
  }
  return "unknown";
}

ExemptionState exemption_state(bool revoked, Timestamp valid_from, Timestamp expires_on, Timestamp date) {
  if (revoked) return ExemptionState::kRevoked;
  if (!(date < expires_on)) return ExemptionState::kExpired;
  if (date < valid_from) return ExemptionState::kNotYetValid;
  return ExemptionState::kActive;
}

std::vector<std::string> ProfileView::schema() const {
  return {
      // One row per enrolled partner. Addresses and contacts are JSON objects;
      // personal columns are NULL when erased (*_erased = 1).
      "CREATE TABLE partner_profile("
      "partner_id TEXT PRIMARY KEY, partner_name TEXT NOT NULL, mpn_id TEXT NOT NULL, country TEXT NOT NULL, "
      "billing_currency TEXT NOT NULL, enrolled_at INTEGER NOT NULL, "
      "legal_company_name TEXT NOT NULL, legal_address TEXT NOT NULL, legal_contact TEXT, "
      "legal_contact_erased INTEGER NOT NULL, legal_approver_email TEXT, legal_approver_email_erased INTEGER NOT NULL, "
      "legal_approver_address TEXT NOT NULL, vetting_status TEXT NOT NULL, vetting_sub_status TEXT NOT NULL, "
      "support_email TEXT NOT NULL, support_phone TEXT NOT NULL, support_website TEXT NOT NULL, "
      "billing_set INTEGER NOT NULL, billing_company_name TEXT NOT NULL, billing_address TEXT NOT NULL, "
      "billing_contact TEXT, billing_contact_erased INTEGER NOT NULL, billing_purchase_order_number TEXT NOT NULL, "
      "billing_tax_id TEXT NOT NULL, organization_tenant_id TEXT NOT NULL, organization_default_domain TEXT NOT NULL, "
      "organization_email TEXT NOT NULL, organization_language TEXT NOT NULL, organization_culture TEXT NOT NULL, "
      "suspended INTEGER NOT NULL, suspension_reason TEXT, suspension_days_overdue INTEGER, suspension_note TEXT, "
      "suspended_at INTEGER, reinstated_at INTEGER, "
      "agreement_accepted_at INTEGER, agreement_version TEXT NOT NULL, accepted_tax_id TEXT NOT NULL, "
      "authorized_regions TEXT NOT NULL, competencies TEXT NOT NULL, endorsements TEXT NOT NULL, "
      "changed_at INTEGER NOT NULL, changed_position INTEGER NOT NULL) WITHOUT ROWID",
      "CREATE TABLE partner_location(partner_id TEXT NOT NULL, location_id TEXT NOT NULL, address TEXT NOT NULL, "
      "mpn_id TEXT NOT NULL, PRIMARY KEY(partner_id, location_id)) WITHOUT ROWID",
      "CREATE TABLE tax_exemption(partner_id TEXT NOT NULL, exemption_id TEXT NOT NULL, jurisdiction TEXT NOT NULL, "
      "certificate_ref TEXT NOT NULL, valid_from INTEGER NOT NULL, expires_on INTEGER NOT NULL, "
      "filed_at INTEGER NOT NULL, revoked INTEGER NOT NULL, revoked_reason TEXT NOT NULL, "
      "PRIMARY KEY(partner_id, exemption_id)) WITHOUT ROWID",
      "CREATE TABLE pinned_offer(partner_id TEXT NOT NULL, rank INTEGER NOT NULL, offer_id TEXT NOT NULL, "
      "PRIMARY KEY(partner_id, rank)) WITHOUT ROWID",
      "CREATE TABLE business_profile(partner_id TEXT NOT NULL, region TEXT NOT NULL, details TEXT NOT NULL, "
      "published INTEGER NOT NULL, changed_at INTEGER NOT NULL, PRIMARY KEY(partner_id, region)) WITHOUT ROWID",
      "CREATE TABLE business_profile_location(partner_id TEXT NOT NULL, region TEXT NOT NULL, "
      "location_id TEXT NOT NULL, address TEXT NOT NULL, phone TEXT NOT NULL, "
      "PRIMARY KEY(partner_id, region, location_id)) WITHOUT ROWID",
  };
}

std::vector<std::string> ProfileView::indexes() const {
  // The expiring list (ProfileView::expiring) walks certificates in force by expiry.
  return {"CREATE INDEX tax_exemption_expiry ON tax_exemption(expires_on, partner_id, exemption_id) WHERE revoked = 0"};
}

ProfileView::ProfileView() : partners_("partner_profile", kPartnerColumnNames) {}

Status ProfileView::prepare(Db& db) {
  ACCT_RETURN_IF_ERROR(partners_.prepare(db));
  for (const auto& [key, sql] : kProfileStatements) {
    auto s = db.prepare(sql);
    if (!s) return s.status();
    statements_[std::string(key)] = std::move(*s);
  }
  auto select = db.prepare("SELECT offer_id FROM pinned_offer WHERE partner_id = ?1 ORDER BY rank");
  auto remove = db.prepare("DELETE FROM pinned_offer WHERE partner_id = ?1");
  auto insert = db.prepare("INSERT INTO pinned_offer(partner_id, rank, offer_id) VALUES (?1, ?2, ?3)");
  for (const auto* st : {&select, &remove, &insert}) {
    if (!*st) return st->status();
  }
  select_pins_ = std::move(*select);
  delete_pins_ = std::move(*remove);
  insert_pin_ = std::move(*insert);
  return Status::ok();
}

Status ProfileView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

Status ProfileView::begin_batch() {
  if (whole_build_) return Status::ok();
  partners_.clear();
  pins_.clear();
  return Status::ok();
}

Status ProfileView::finish_batch() {
  // A build keeps every partner in memory and writes each once, in key order, at its end.
  if (whole_build_ && partners_.size() + pins_.size() < build_max_held_rows_) return Status::ok();
  return flush();
}

Status ProfileView::finish_build() { return flush(); }

Status ProfileView::flush() {
  std::vector<std::pair<const std::string*, const Pins*>> dirty;
  for (const auto& [partner, pins] : pins_) {
    if (pins.dirty) dirty.emplace_back(&partner, &pins);
  }
  std::sort(dirty.begin(), dirty.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (const auto& [partner, pins] : dirty) {
    delete_pins_->bind_text(1, *partner);
    ACCT_RETURN_IF_ERROR(delete_pins_->run());
    for (size_t i = 0; i < pins->offers.size(); ++i) {
      insert_pin_->bind_text(1, *partner).bind_int(2, static_cast<int64_t>(i)).bind_text(3, pins->offers[i]);
      ACCT_RETURN_IF_ERROR(insert_pin_->run());
    }
  }
  pins_.clear();
  return partners_.flush();
}

Result<ProfileView::Pins*> ProfileView::pins_of(const std::string& partner) {
  auto it = pins_.find(partner);
  if (it != pins_.end()) return &it->second;
  Pins pins;
  select_pins_->bind_text(1, partner);
  while (true) {
    auto row = select_pins_->step();
    if (!row) {
      select_pins_->reset();
      return row.status();
    }
    if (!*row) break;
    pins.offers.push_back(select_pins_->column_text(0));
  }
  select_pins_->reset();
  return &(pins_[partner] = std::move(pins));
}

Status ProfileView::run(std::string_view key, const std::function<void(Statement&)>& bind) {
  auto it = statements_.find(key);
  if (it == statements_.end()) return Status(StatusCode::kInternal, "no statement " + std::string(key));
  bind(*it->second);
  return it->second->run();
}

Status ProfileView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  if (auto partner = uuid_after(r.stream, kPartnerStreamPrefix);
      partner && r.stream.size() == kPartnerStreamPrefix.size() + partner->size()) {
    auto decoded = event.decoded();
    if (!decoded) return decoded.status();
    return apply_partner(event, std::string(*partner), *decoded);
  }
  auto profile = business_profile_of_stream(r.stream);
  if (!profile) return Status::ok();
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  if (*decoded == nullptr) return Status::ok();
  return apply_business_profile(event, profile->first, profile->second, **decoded);
}

Status ProfileView::apply_partner(const ViewEvent& event, const std::string& partner, const DomainEvent* e) {
  const RecordedEvent& r = event.record();
  const auto position = static_cast<int64_t>(r.position.value());
  if (e != nullptr) {
    if (const auto* x = std::get_if<PartnerEnrolled>(e)) {
      std::vector<SqlValue> v(kPartnerColumnCount);
      v[kPartnerId] = partner;
      v[kPartnerName] = x->partner_name;
      v[kMpnId] = x->mpn_id;
      v[kCountry] = x->legal.address.country;
      v[kBillingCurrency] = x->billing_currency;
      v[kEnrolledAt] = x->enrolled_at.micros;
      v[kVettingStatus] = text(enum_text(VettingStatus::kNone));
      v[kVettingSubStatus] = text(enum_text(VettingSubStatus::kNone));
      for (int c : {kSupportEmail, kSupportPhone, kSupportWebsite, kBillingCompanyName, kBillingPurchaseOrderNumber,
                    kBillingTaxId, kAgreementVersion, kAcceptedTaxId}) {
        v[c] = std::string();
      }
      v[kBillingAddress] = std::string();
      v[kBillingSet] = flag(false);
      v[kBillingContactErased] = flag(false);
      v[kSuspended] = flag(false);
      for (int c : {kAuthorizedRegions, kCompetencies, kEndorsements}) v[c] = std::string("[]");
      v[kChangedAt] = r.recorded_at.micros;
      v[kChangedPosition] = position;
      RowCache::Row& row = partners_.insert(std::move(v));
      set_legal(row, x->legal);
      set_organization(row, x->organization);
      pins_[partner] = Pins{{}, false};
      return Status::ok();
    }
  }
  auto found = partners_.find(partner);
  if (!found) return found.status();
  RowCache::Row* row = *found;
  if (row == nullptr) return Status::ok();  // events of a partner the view never saw enrolled
  // Any event of the partner's stream changes the profile's last-change time.
  row->dirty = true;
  row->values[kChangedAt] = r.recorded_at.micros;
  row->values[kChangedPosition] = position;
  if (e == nullptr) return Status::ok();
  return std::visit(
      [&](const auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        auto& v = row->values;
        if constexpr (std::is_same_v<T, LegalProfileUpdated>) {
          set_legal(*row, x.legal);
        } else if constexpr (std::is_same_v<T, VettingStatusChanged>) {
          v[kVettingStatus] = text(enum_text(x.status));
          v[kVettingSubStatus] = text(enum_text(x.sub_status));
        } else if constexpr (std::is_same_v<T, SupportProfileUpdated>) {
          v[kSupportEmail] = x.support.email;
          v[kSupportPhone] = x.support.phone;
          v[kSupportWebsite] = x.support.website;
        } else if constexpr (std::is_same_v<T, BillingProfileUpdated>) {
          v[kBillingSet] = flag(true);
          v[kBillingCompanyName] = x.billing.company_name;
          v[kBillingAddress] = address_text(x.billing.address);
          set_contact(*row, kBillingContact, x.billing.primary_contact);
          v[kBillingPurchaseOrderNumber] = x.billing.purchase_order_number;
          v[kBillingTaxId] = x.billing.tax_id;
        } else if constexpr (std::is_same_v<T, OrganizationProfileUpdated>) {
          set_organization(*row, x.organization);
        } else if constexpr (std::is_same_v<T, PartnerSuspended>) {
          v[kSuspended] = flag(true);
          v[kSuspensionReason] = text(enum_text(x.reason));
          v[kSuspensionDaysOverdue] = int64_t{x.days_overdue};
          v[kSuspensionNote] = x.note;
          v[kSuspendedAt] = x.at.micros;
        } else if constexpr (std::is_same_v<T, PartnerReinstated>) {
          v[kSuspended] = flag(false);
          for (int c : {kSuspensionReason, kSuspensionDaysOverdue, kSuspensionNote, kSuspendedAt}) v[c] = SqlValue();
          v[kReinstatedAt] = x.at.micros;
        } else if constexpr (std::is_same_v<T, ResellerAgreementAccepted>) {
          // The first acceptance is kept: it started the US tax-document window.
          if (sql_is_null(v[kAgreementAcceptedAt])) v[kAgreementAcceptedAt] = x.at.micros;
          v[kAgreementVersion] = x.agreement_version;
        } else if constexpr (std::is_same_v<T, TaxIdAccepted>) {
          v[kAcceptedTaxId] = x.tax_id;
        } else if constexpr (std::is_same_v<T, MpnIdCorrected>) {
          v[kMpnId] = x.mpn_id;
        } else if constexpr (std::is_same_v<T, AuthorizedRegionsSet>) {
          std::vector<std::string> regions = x.regions;
          std::sort(regions.begin(), regions.end());
          regions.erase(std::unique(regions.begin(), regions.end()), regions.end());
          v[kAuthorizedRegions] = string_list_text(regions);
        } else if constexpr (std::is_same_v<T, EarnedTagsSet>) {
          v[kCompetencies] = string_list_text(x.competencies);
          v[kEndorsements] = string_list_text(x.endorsements);
        } else if constexpr (std::is_same_v<T, LocationAdded>) {
          return run("add_location", [&](Statement& s) {
            s.bind_text(1, partner).bind_text(2, x.location_id.to_string()).bind_text(3, address_text(x.address)).bind_text(4, x.mpn_id);
          });
        } else if constexpr (std::is_same_v<T, LocationRemoved>) {
          return run("remove_location",
                     [&](Statement& s) { s.bind_text(1, partner).bind_text(2, x.location_id.to_string()); });
        } else if constexpr (std::is_same_v<T, TaxExemptionFiled>) {
          return run("file_exemption", [&](Statement& s) {
            s.bind_text(1, partner)
                .bind_text(2, x.exemption_id.to_string())
                .bind_text(3, x.jurisdiction)
                .bind_text(4, x.certificate_ref)
                .bind_time(5, x.valid_from)
                .bind_time(6, x.expires_on)
                .bind_time(7, x.filed_at);
          });
        } else if constexpr (std::is_same_v<T, TaxExemptionRevoked>) {
          return run("revoke_exemption", [&](Statement& s) {
            s.bind_text(1, partner).bind_text(2, x.exemption_id.to_string()).bind_text(3, x.reason);
          });
        } else if constexpr (std::is_same_v<T, OfferPinned> || std::is_same_v<T, OfferUnpinned> ||
                             std::is_same_v<T, PinsReordered>) {
          auto pins = pins_of(partner);
          if (!pins) return pins.status();
          if constexpr (std::is_same_v<T, OfferPinned>) {
            (*pins)->offers.push_back(x.offer_id);
          } else if constexpr (std::is_same_v<T, OfferUnpinned>) {
            std::erase((*pins)->offers, x.offer_id);
          } else {
            (*pins)->offers = x.offer_ids;
          }
          (*pins)->dirty = true;
        }
        // Directory and auditor events of the partner stream: only the change time.
        return Status::ok();
      },
      *e);
}

Status ProfileView::apply_business_profile(const ViewEvent& event, const PartnerId& partner_id,
                                           const std::string& region, const DomainEvent& e) {
  const std::string partner = partner_id.to_string();
  const Timestamp at = event.record().recorded_at;
  if (const auto* created = std::get_if<BusinessProfileCreated>(&e)) {
    return run("create_profile", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, details_text(created->details)).bind_time(4, at);
    });
  }
  if (const auto* updated = std::get_if<BusinessProfileUpdated>(&e)) {
    return run("update_profile", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, details_text(updated->details)).bind_time(4, at);
    });
  }
  if (std::holds_alternative<BusinessProfilePublished>(e) || std::holds_alternative<BusinessProfileUnpublished>(e)) {
    const bool published = std::holds_alternative<BusinessProfilePublished>(e);
    return run("publish_profile", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_int(3, published ? 1 : 0).bind_time(4, at);
    });
  }
  if (const auto* added = std::get_if<ProfileLocationAdded>(&e)) {
    ACCT_RETURN_IF_ERROR(run("add_profile_location", [&](Statement& s) {
      s.bind_text(1, partner)
          .bind_text(2, region)
          .bind_text(3, added->location_id.to_string())
          .bind_text(4, address_text(added->address))
          .bind_text(5, added->phone);
    }));
  } else if (const auto* removed = std::get_if<ProfileLocationRemoved>(&e)) {
    ACCT_RETURN_IF_ERROR(run("remove_profile_location", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, removed->location_id.to_string());
    }));
  }
  return run("touch_profile", [&](Statement& s) { s.bind_text(1, partner).bind_text(2, region).bind_time(3, at); });
}

std::string expiring_cursor_text(const ExpiringCursor& c) {
  return std::to_string(c.expires_on.micros) + "." + c.partner_id.to_string() + "." + c.exemption_id.to_string();
}

Result<ExpiringCursor> parse_expiring_cursor(std::string_view text) {
  auto bad = [] { return invalid_argument("must be the `next` of a previous page", "after"); };
  const size_t first = text.find('.');
  const size_t second = first == std::string_view::npos ? first : text.find('.', first + 1);
  if (second == std::string_view::npos) return bad();
  const std::string_view micros = text.substr(0, first);
  if (micros.empty() || micros.size() > 18 ||
      micros.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad();
  }
  auto partner = PartnerId::parse(text.substr(first + 1, second - first - 1));
  auto exemption = ExemptionId::parse(text.substr(second + 1));
  if (!partner || !exemption) return bad();
  return ExpiringCursor{Timestamp{std::stoll(std::string(micros))}, *partner, *exemption};
}

Result<ExpiringPage> ProfileView::expiring(Db& db, const ExpiringQuery& q) {
  if (q.limit == 0) return invalid_argument("must be at least 1", "limit");
  // Keyset paging over the partial index; one row more than the page tells
  // whether another page follows.
  std::string sql =
      "SELECT t.partner_id, p.partner_name, t.exemption_id, t.jurisdiction, t.certificate_ref, t.valid_from, "
      "t.expires_on, EXISTS(SELECT 1 FROM tax_exemption n WHERE n.partner_id = t.partner_id "
      "AND n.jurisdiction = t.jurisdiction AND n.revoked = 0 AND n.exemption_id <> t.exemption_id "
      "AND n.valid_from <= t.expires_on AND n.expires_on > t.expires_on) "
      "FROM tax_exemption t JOIN partner_profile p ON p.partner_id = t.partner_id "
      "WHERE t.revoked = 0 AND t.expires_on > ?1 AND t.expires_on <= ?2";
  if (q.partner) sql += " AND t.partner_id = ?3";
  if (q.after) sql += " AND (t.expires_on, t.partner_id, t.exemption_id) > (?4, ?5, ?6)";
  sql += " ORDER BY t.expires_on, t.partner_id, t.exemption_id LIMIT ?7";
  auto s = db.prepare(sql);
  if (!s) return s.status();
  Statement& st = **s;
  st.bind_time(1, q.from).bind_time(2, q.until);
  if (q.partner) st.bind_text(3, q.partner->to_string());
  if (q.after) {
    st.bind_time(4, q.after->expires_on)
        .bind_text(5, q.after->partner_id.to_string())
        .bind_text(6, q.after->exemption_id.to_string());
  }
  st.bind_int(7, static_cast<int64_t>(q.limit) + 1);
  ExpiringPage page;
  page.from = q.from;
  page.until = q.until;
  while (true) {
    auto row = st.step();
    if (!row) return row.status();
    if (!*row) break;
    auto partner = PartnerId::parse(st.column_text(0));
    auto exemption = ExemptionId::parse(st.column_text(2));
    if (!partner || !exemption) return Status(StatusCode::kCorruption, "tax_exemption: a stored id is not a UUID");
    if (page.items.size() == q.limit) {
      const ExpiringExemption& last = page.items.back();
      page.next = ExpiringCursor{last.expires_on, last.partner_id, last.exemption_id};
      break;
    }
    ExpiringExemption x;
    x.partner_id = *partner;
    x.partner_name = st.column_text(1);
    x.exemption_id = *exemption;
    x.jurisdiction = st.column_text(3);
    x.certificate_ref = st.column_text(4);
    x.valid_from = st.column_time(5);
    x.expires_on = st.column_time(6);
    x.state = exemption_state(false, x.valid_from, x.expires_on, q.from);
    x.covered_after_expiry = st.column_int(7) != 0;
    page.items.push_back(std::move(x));
  }
  return page;
}

Result<PartnerProfileView> ProfileView::query(Db& db, const PartnerId& partner_id, Timestamp date) {
  const std::string partner = partner_id.to_string();
  PartnerProfileView p;
  p.partner_id = partner_id;
  p.as_of = date;
  {
    auto s = db.prepare("SELECT " + std::string(kPartnerColumns) + " FROM partner_profile WHERE partner_id = ?1");
    if (!s) return s.status();
    (*s)->bind_text(1, partner);
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) return not_found("partner " + partner + " is not enrolled", "partner_id");
    const Statement& r = **s;
    p.partner_name = r.column_text(0);
    p.mpn_id = r.column_text(1);
    p.country = r.column_text(2);
    p.billing_currency = r.column_text(3);
    p.enrolled_at = r.column_time(4);
    p.legal.company_name = r.column_text(5);
    auto legal_address = address_column(r, 6);
    auto legal_contact = contact_column(r, 7, contact_subject(partner_id, "legal-primary"));
    auto approver_address = address_column(r, 11);
    for (const Status& st : {legal_address.status(), legal_contact.status(), approver_address.status()}) {
      if (!st.is_ok()) return st;
    }
    p.legal.address = *legal_address;
    p.legal.primary_contact = *legal_contact;
    p.legal.approver_email.subject = contact_subject(partner_id, "legal-approver");
    p.legal.approver_email.erased = r.column_int(10) != 0;
    if (!p.legal.approver_email.erased) p.legal.approver_email.value = r.column_text(9);
    p.legal.approver_address = *approver_address;
    p.vetting_status = enum_from_text<VettingStatus>(r.column_text(12)).value_or(VettingStatus::kNone);
    p.vetting_sub_status = enum_from_text<VettingSubStatus>(r.column_text(13)).value_or(VettingSubStatus::kNone);
    p.support = SupportProfile{r.column_text(14), r.column_text(15), r.column_text(16)};
    if (r.column_int(17) != 0) {
      p.billing.company_name = r.column_text(18);
      auto billing_address = address_column(r, 19);
      auto billing_contact = contact_column(r, 20, contact_subject(partner_id, "billing-primary"));
      if (!billing_address) return billing_address.status();
      if (!billing_contact) return billing_contact.status();
      p.billing.address = *billing_address;
      p.billing.primary_contact = *billing_contact;
      p.billing.purchase_order_number = r.column_text(22);
      p.billing.tax_id = r.column_text(23);
    }
    p.organization = OrganizationProfile{r.column_text(24), r.column_text(25), r.column_text(26), r.column_text(27),
                                         r.column_text(28)};
    p.suspension.suspended = r.column_int(29) != 0;
    if (p.suspension.suspended) {
      p.suspension.reason = enum_from_text<SuspensionReason>(r.column_text(30)).value_or(SuspensionReason::kAbuse);
      p.suspension.days_overdue = static_cast<uint32_t>(r.column_int(31));
      p.suspension.note = r.column_text(32);
      p.suspension.since = r.column_time(33);
    }
    if (!r.column_is_null(34)) p.suspension.last_reinstated_at = r.column_time(34);
    p.changed_at = r.column_time(35);
    if (!r.column_is_null(36)) p.agreement_accepted_at = r.column_time(36);
    p.agreement_version = r.column_text(37);
    p.accepted_tax_id = r.column_text(38);
    p.tax_id_accepted = !p.accepted_tax_id.empty() && p.accepted_tax_id == p.billing.tax_id;
    p.authorized_regions = string_list_from_text(r.column_text(39));
    p.competencies = string_list_from_text(r.column_text(40));
    p.endorsements = string_list_from_text(r.column_text(41));
  }
  auto bind_partner = [&](Statement& s) { s.bind_text(1, partner); };
  auto locations = collect<PartnerLocationView>(
      db, "SELECT location_id, address, mpn_id FROM partner_location WHERE partner_id = ?1 ORDER BY location_id",
      bind_partner, [](const Statement& s) -> Result<PartnerLocationView> {
        auto address = address_from_text(s.column_text(1));
        if (!address) return address.status();
        return PartnerLocationView{LocationId::parse(s.column_text(0)).value(), *address, s.column_text(2)};
      });
  if (!locations) return locations.status();
  p.locations = std::move(*locations);
  auto exemptions = collect<TaxExemptionView>(
      db,
      "SELECT exemption_id, jurisdiction, certificate_ref, valid_from, expires_on, filed_at, revoked, revoked_reason "
      "FROM tax_exemption WHERE partner_id = ?1 ORDER BY exemption_id",
      bind_partner, [date](const Statement& s) -> Result<TaxExemptionView> {
        TaxExemptionView x;
        x.exemption_id = ExemptionId::parse(s.column_text(0)).value();
        x.jurisdiction = s.column_text(1);
        x.certificate_ref = s.column_text(2);
        x.valid_from = s.column_time(3);
        x.expires_on = s.column_time(4);
        x.filed_at = s.column_time(5);
        x.revoked = s.column_int(6) != 0;
        x.revoked_reason = s.column_text(7);
        x.state = exemption_state(x.revoked, x.valid_from, x.expires_on, date);
        return x;
      });
  if (!exemptions) return exemptions.status();
  p.tax_exemptions = std::move(*exemptions);
  auto pins = collect<std::string>(
      db, "SELECT offer_id FROM pinned_offer WHERE partner_id = ?1 ORDER BY rank", bind_partner,
      [](const Statement& s) -> Result<std::string> { return s.column_text(0); });
  if (!pins) return pins.status();
  p.pinned_offers = std::move(*pins);
  auto profiles = collect<BusinessProfileView>(
      db, "SELECT region, details, published, changed_at FROM business_profile WHERE partner_id = ?1 ORDER BY region",
      bind_partner, [](const Statement& s) -> Result<BusinessProfileView> {
        auto details = details_from_text(s.column_text(1));
        if (!details) return details.status();
        BusinessProfileView b;
        b.region = s.column_text(0);
        b.details = std::move(*details);
        b.published = s.column_int(2) != 0;
        b.changed_at = s.column_time(3);
        return b;
      });
  if (!profiles) return profiles.status();
  p.business_profiles = std::move(*profiles);
  auto profile_locations = collect<std::pair<std::string, BusinessProfileLocationView>>(
      db,
      "SELECT region, location_id, address, phone FROM business_profile_location WHERE partner_id = ?1 "
      "ORDER BY region, location_id",
      bind_partner, [](const Statement& s) -> Result<std::pair<std::string, BusinessProfileLocationView>> {
        auto address = address_from_text(s.column_text(2));
        if (!address) return address.status();
        return std::make_pair(s.column_text(0), BusinessProfileLocationView{
                                                    LocationId::parse(s.column_text(1)).value(), *address, s.column_text(3)});
      });
  if (!profile_locations) return profile_locations.status();
  for (auto& [region, location] : *profile_locations) {
    for (BusinessProfileView& b : p.business_profiles) {
      if (b.region == region) b.locations.push_back(std::move(location));
    }
  }
  return p;
}

void withhold_profile_parts(PartnerProfileView& view, bool may_read_legal_contacts, bool may_read_billing_and_tax) {
  if (!may_read_legal_contacts) {
    view.legal.primary_contact = PersonalContact{};
    view.legal.approver_email = Personal<std::string>{};
    view.legal.approver_address = Address{};
    view.withheld.insert(view.withheld.end(), std::begin(kLegalContactParts), std::end(kLegalContactParts));
  }
  if (!may_read_billing_and_tax) {
    view.billing.primary_contact = PersonalContact{};
    view.billing.tax_id.clear();
    view.accepted_tax_id.clear();
    view.tax_id_accepted = false;
    view.tax_exemptions.clear();
    view.withheld.insert(view.withheld.end(), std::begin(kBillingAndTaxParts), std::end(kBillingAndTaxParts));
  }
}

}  // namespace accountable
