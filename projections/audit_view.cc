#include "projections/audit_view.h"

#include <algorithm>
#include <boost/json.hpp>

#include "projections/view_codec.h"
#include "schema/json_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

// Every entry query finds positions in audit_event; the entry itself is read
// from the log at that position.
constexpr std::string_view kPositionSelect =
    "SELECT e.position FROM audit_event e "
    "WHERE e.partner_key = (SELECT partner_key FROM audit_partner WHERE partner_id = ?1) ";

void add_legal(std::vector<PersonalField>* out, std::string_view top, const LegalProfile& l) {
  out->push_back({{top, "primary_contact"}, l.primary_contact.subject, l.primary_contact.erased});
  out->push_back({{top, "approver_email"}, l.approver_email.subject, l.approver_email.erased});
}

Result<AuditPage> run_page(Db& db, const EventLog& log, PersonalDataCipher* cipher, Statement& s, size_t limit) {
  PersonalDataScope scope(cipher);
  auto erased_query = db.prepare("SELECT 1 FROM erased_subject WHERE subject = ?1");
  if (!erased_query) return erased_query.status();
  Statement& erased = **erased_query;
  Status lookup_error;
  auto is_erased = [&](const std::string& subject) {
    erased.bind_text(1, subject);
    auto row = erased.step();
    erased.reset();
    if (!row) {
      lookup_error = row.status();
      return true;  // unknown: show nothing personal
    }
    return *row;
  };
  AuditPage page;
  while (true) {
    auto row = s.step();
    if (!row) return row.status();
    if (!*row) break;
    const GlobalPosition position(static_cast<uint64_t>(s.column_int(0)));
    // The view never leads the log (its checkpoint is an event of this log,
    // checked at open), so the event is there.
    auto read = log.read_all(position, 1);
    if (!read) return read.status();
    if (read->events.empty() || read->events.front().position != position) {
      return corruption(db.path() + ": the log has no event at position " + std::to_string(position.value()));
    }
    const RecordedEvent& r = read->events.front();
    AuditEntry e;
    e.position = r.position;
    e.recorded_at = r.recorded_at;
    e.stream = std::string(r.stream);
    e.stream_version = r.version;
    e.actor = std::string(r.actor);
    e.command_id = r.command_id;
    e.correlation_id = r.correlation_id;
    e.causation_id = r.causation_id;
    e.event_type = std::string(r.type);
    e.schema_version = r.schema_version;
    auto fields = audit_fields(e.event_type, e.schema_version, r.payload, is_erased);
    if (!fields) return fields.status();
    ACCT_RETURN_IF_ERROR(lookup_error);
    e.fields = std::move(*fields);
    page.entries.push_back(std::move(e));
  }
  if (page.entries.size() == limit && limit > 0) page.next = page.entries.back().position.next();
  return page;
}

}  // namespace

std::vector<PersonalField> personal_fields(const DomainEvent& event) {
  std::vector<PersonalField> out;
  std::visit(
      [&out](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, PartnerEnrolled> || std::is_same_v<T, LegalProfileUpdated>) {
          add_legal(&out, "legal", e.legal);
        } else if constexpr (std::is_same_v<T, BillingProfileUpdated>) {
          out.push_back({{"billing", "primary_contact"}, e.billing.primary_contact.subject,
                         e.billing.primary_contact.erased});
        } else if constexpr (std::is_same_v<T, AuditorAccessIssued>) {
          out.push_back({{"auditor_email"}, e.auditor_email.subject, e.auditor_email.erased});
        } else if constexpr (std::is_same_v<T, UserCreated> || std::is_same_v<T, UserProfileUpdated>) {
          out.push_back({{"profile"}, e.profile.subject, e.profile.erased});
        }
      },
      event);
  return out;
}

Result<json::value> audit_fields(std::string_view type, uint16_t schema_version, std::string_view payload,
                                 const std::function<bool(const std::string&)>& is_erased) {
  auto decoded = decode_event(type, schema_version, payload);
  if (!decoded) {
    if (decoded.status().code() == StatusCode::kNotFound && decoded.status().field() == "type") return json::value();
    return decoded.status();
  }
  json::value fields = event_to_json(*decoded);
  for (const PersonalField& p : personal_fields(*decoded)) {
    if (!p.erased && !is_erased(p.subject)) continue;
    json::value* at = &fields;
    for (size_t i = 0; i + 1 < p.path.size() && at != nullptr; ++i) {
      at = at->is_object() ? at->get_object().if_contains(json::string_view(p.path[i].data(), p.path[i].size()))
                           : nullptr;
    }
    if (at != nullptr && at->is_object()) {
      at->get_object()[json::string_view(p.path.back().data(), p.path.back().size())] = "erased";
    }
  }
  return fields;
}

std::vector<std::string> AuditView::schema() const {
  return {
      "CREATE TABLE audit_partner(partner_key INTEGER PRIMARY KEY, partner_id TEXT NOT NULL UNIQUE)",
      // One row per event of a partner's streams: where to find it in the log
      // (the entry is read from there). Both queries read one range of the key
      // (a partner's positions) and filter on recorded_at in the row: no index.
      "CREATE TABLE audit_event(partner_key INTEGER NOT NULL, position INTEGER NOT NULL, "
      "recorded_at INTEGER NOT NULL, PRIMARY KEY(partner_key, position)) WITHOUT ROWID",
      // Data subjects purged so far: their values read "erased" whatever the key store says.
      "CREATE TABLE erased_subject(subject TEXT PRIMARY KEY, erased_at INTEGER NOT NULL, "
      "position INTEGER NOT NULL) WITHOUT ROWID",
  };
}

Result<int64_t> AuditView::partner_key(std::string_view partner) {
  auto it = partners_.find(partner);
  if (it != partners_.end()) return it->second;
  select_partner_->bind_text(1, partner);
  auto found = select_partner_->step();
  if (!found) {
    select_partner_->reset();
    return found.status();
  }
  int64_t key = 0;
  if (*found) {
    key = select_partner_->column_int(0);
    select_partner_->reset();
  } else {
    select_partner_->reset();
    insert_partner_->bind_text(1, partner);
    ACCT_RETURN_IF_ERROR(insert_partner_->run());
    key = sqlite3_last_insert_rowid(db_->handle());
  }
  partners_.emplace(std::string(partner), key);
  return key;
}

Status AuditView::prepare(Db& db) {
  db_ = &db;
  auto select = db.prepare("SELECT partner_key FROM audit_partner WHERE partner_id = ?1");
  if (!select) return select.status();
  auto insert_partner = db.prepare("INSERT INTO audit_partner(partner_id) VALUES (?1)");
  if (!insert_partner) return insert_partner.status();
  auto insert = db.prepare("INSERT INTO audit_event(partner_key, position, recorded_at) VALUES (?1, ?2, ?3)");
  if (!insert) return insert.status();
  std::string many = "INSERT INTO audit_event(partner_key, position, recorded_at) VALUES (?, ?, ?)";
  for (size_t i = 1; i < kRowsPerInsert; ++i) many += ", (?, ?, ?)";
  auto insert_many = db.prepare(many);
  if (!insert_many) return insert_many.status();
  auto erased = db.prepare(
      "INSERT OR IGNORE INTO erased_subject(subject, erased_at, position) VALUES (?1, ?2, ?3)");
  if (!erased) return erased.status();
  insert_events_ = std::move(*insert_many);
  select_partner_ = std::move(*select);
  insert_partner_ = std::move(*insert_partner);
  insert_event_ = std::move(*insert);
  insert_erased_ = std::move(*erased);
  return Status::ok();
}

void AuditView::abort_batch() {
  partners_.clear();
  held_.clear();
  held_rows_ = 0;
}

Status AuditView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

Status AuditView::write_held() {
  std::array<int64_t, 3> rows[kRowsPerInsert];
  size_t n = 0;
  auto write = [&](Statement& s, size_t first, size_t count) {
    int p = 1;
    for (size_t i = first; i < first + count; ++i) {
      for (int64_t v : rows[i]) s.bind_int(p++, v);
    }
    return s.run();
  };
  for (size_t k = 0; k < held_.size(); ++k) {
    for (const auto& [position, recorded_at] : held_[k]) {
      rows[n++] = {static_cast<int64_t>(k) + 1, position, recorded_at};
      if (n == kRowsPerInsert) {
        ACCT_RETURN_IF_ERROR(write(*insert_events_, 0, n));
        n = 0;
      }
    }
  }
  for (size_t i = 0; i < n; ++i) ACCT_RETURN_IF_ERROR(write(*insert_event_, i, 1));
  held_.clear();
  held_rows_ = 0;
  return Status::ok();
}

// Past its bound, a build writes what it holds (a sorted run per partner) and goes on.
Status AuditView::finish_batch() { return held_rows_ >= rows_held_ ? write_held() : Status::ok(); }

Status AuditView::finish_build() { return write_held(); }

Status AuditView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  if (r.partner.empty()) return Status::ok();  // operator streams (the catalog) belong to no partner
  auto partner = partner_key(r.partner);
  if (!partner) return partner.status();
  const auto position = static_cast<int64_t>(r.position.value());
  if (whole_build_) {
    // Keys are 1, 2, ... in order of first appearance.
    const auto k = static_cast<size_t>(*partner - 1);
    if (k >= held_.size()) held_.resize(k + 1);
    held_[k].push_back({position, r.recorded_at.micros});
    ++held_rows_;
  } else {
    insert_event_->bind_int(1, *partner).bind_int(2, position).bind_time(3, r.recorded_at);
    ACCT_RETURN_IF_ERROR(insert_event_->run());
  }
  if (r.type == UserPurged::kType) {
    if (auto user = user_of_stream(r.stream)) {
      insert_erased_->bind_text(1, user_subject(*user)).bind_time(2, r.recorded_at).bind_int(3, position);
      ACCT_RETURN_IF_ERROR(insert_erased_->run());
    }
  }
  return Status::ok();
}

Result<AuditPage> AuditView::page(Db& db, const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                  GlobalPosition from, size_t limit) {
  limit = std::min(limit, kMaxAuditPage);
  auto s = db.prepare(std::string(kPositionSelect) + "AND e.position >= ?2 ORDER BY e.position LIMIT ?3");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string())
      .bind_int(2, static_cast<int64_t>(from.value()))
      .bind_int(3, static_cast<int64_t>(limit));
  return run_page(db, log, cipher, **s, limit);
}

Result<AuditPage> AuditView::between(Db& db, const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                     Timestamp from_time, Timestamp to_time, GlobalPosition from, size_t limit) {
  limit = std::min(limit, kMaxAuditPage);
  auto s = db.prepare(std::string(kPositionSelect) +
                      "AND e.recorded_at >= ?2 AND e.recorded_at < ?3 AND e.position >= ?4 ORDER BY e.position LIMIT ?5");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string())
      .bind_time(2, from_time)
      .bind_time(3, to_time)
      .bind_int(4, static_cast<int64_t>(from.value()))
      .bind_int(5, static_cast<int64_t>(limit));
  return run_page(db, log, cipher, **s, limit);
}

}  // namespace accountable
