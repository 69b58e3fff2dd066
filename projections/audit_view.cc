#include "projections/audit_view.h"

#include <algorithm>
#include <boost/json.hpp>

#include "aggregates/command_json.h"
#include "projections/view_codec.h"

namespace accountable {

namespace json = boost::json;

namespace {

// Every entry query reads these, in this order, from audit_event e joined to
// its stream s and actor a.
constexpr std::string_view kEntrySelect =
    "SELECT e.position, e.recorded_at, s.name, e.stream_version, a.name, e.command_id, e.correlation_id, "
    "e.causation_id, e.event_type, e.schema_version, e.payload FROM audit_event e "
    "JOIN audit_stream s ON s.stream_key = e.stream_key JOIN audit_actor a ON a.actor_key = e.actor_key "
    "WHERE e.partner_key = (SELECT partner_key FROM audit_partner WHERE partner_id = ?1) ";

template <class Id>
Id id_of_blob(const std::string& bytes) {
  if (bytes.size() != 16) return Id();
  return Id::from_bytes(reinterpret_cast<const unsigned char*>(bytes.data()));
}

template <class Id>
std::string_view blob_of(const Id& id) {
  return std::string_view(reinterpret_cast<const char*>(id.bytes().data()), id.bytes().size());
}

void add_legal(std::vector<PersonalField>* out, std::string_view top, const LegalProfile& l) {
  out->push_back({{top, "primary_contact"}, l.primary_contact.subject, l.primary_contact.erased});
  out->push_back({{top, "approver_email"}, l.approver_email.subject, l.approver_email.erased});
}

Result<AuditPage> run_page(Db& db, PersonalDataCipher* cipher, Statement& s, size_t limit) {
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
    AuditEntry e;
    e.position = GlobalPosition(static_cast<uint64_t>(s.column_int(0)));
    e.recorded_at = s.column_time(1);
    e.stream = s.column_text(2);
    e.stream_version = StreamVersion(static_cast<uint64_t>(s.column_int(3)));
    e.actor = s.column_text(4);
    e.command_id = id_of_blob<CommandId>(s.column_blob(5));
    // NULL: the same as the command id (the usual case, stored once).
    e.correlation_id = s.column_is_null(6) ? CorrelationId(e.command_id.bytes()) : id_of_blob<CorrelationId>(s.column_blob(6));
    e.causation_id = s.column_is_null(7) ? CausationId(e.command_id.bytes()) : id_of_blob<CausationId>(s.column_blob(7));
    e.event_type = s.column_text(8);
    e.schema_version = static_cast<uint16_t>(s.column_int(9));
    const std::string payload = s.column_blob(10);
    auto fields = audit_fields(e.event_type, e.schema_version, payload, is_erased);
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
      "CREATE TABLE audit_stream(stream_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
      "CREATE TABLE audit_actor(actor_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
      // One row per event of a partner's streams; the payload as in the log.
      // correlation_id and causation_id are NULL when equal to command_id.
      "CREATE TABLE audit_event("
      "position INTEGER PRIMARY KEY, partner_key INTEGER NOT NULL, recorded_at INTEGER NOT NULL, "
      "stream_key INTEGER NOT NULL, stream_version INTEGER NOT NULL, actor_key INTEGER NOT NULL, "
      "command_id BLOB NOT NULL, correlation_id BLOB, causation_id BLOB, event_type TEXT NOT NULL, "
      "schema_version INTEGER NOT NULL, payload BLOB NOT NULL)",
      // Data subjects purged so far: their values read "erased" whatever the key store says.
      "CREATE TABLE erased_subject(subject TEXT PRIMARY KEY, erased_at INTEGER NOT NULL, "
      "position INTEGER NOT NULL) WITHOUT ROWID",
  };
}

std::vector<std::string> AuditView::indexes() const {
  return {
      // Entries are (partner_key, position) and (partner_key, recorded_at, position):
      // an index entry ends with the row's key.
      "CREATE INDEX audit_event_by_partner ON audit_event(partner_key)",
      "CREATE INDEX audit_event_by_time ON audit_event(partner_key, recorded_at)",
  };
}

Status AuditView::prepare_names(Db& db, Names& names, const std::string& table, const std::string& key_column,
                                const std::string& name_column) {
  auto select = db.prepare("SELECT " + key_column + " FROM " + table + " WHERE " + name_column + " = ?1");
  if (!select) return select.status();
  auto insert = db.prepare("INSERT INTO " + table + "(" + name_column + ") VALUES (?1)");
  if (!insert) return insert.status();
  names.table = table;
  names.key_column = key_column;
  names.select = std::move(*select);
  names.insert = std::move(*insert);
  return Status::ok();
}

Result<int64_t> AuditView::key_of(Names& names, std::string_view name) {
  auto it = names.cached.find(name);
  if (it != names.cached.end()) return it->second;
  names.select->bind_text(1, name);
  auto found = names.select->step();
  if (!found) {
    names.select->reset();
    return found.status();
  }
  int64_t key = 0;
  if (*found) {
    key = names.select->column_int(0);
    names.select->reset();
  } else {
    names.select->reset();
    names.insert->bind_text(1, name);
    ACCT_RETURN_IF_ERROR(names.insert->run());
    key = sqlite3_last_insert_rowid(db_->handle());
  }
  names.cached.emplace(std::string(name), key);
  return key;
}

Status AuditView::prepare(Db& db) {
  db_ = &db;
  ACCT_RETURN_IF_ERROR(prepare_names(db, partners_, "audit_partner", "partner_key", "partner_id"));
  ACCT_RETURN_IF_ERROR(prepare_names(db, streams_, "audit_stream", "stream_key", "name"));
  ACCT_RETURN_IF_ERROR(prepare_names(db, actors_, "audit_actor", "actor_key", "name"));
  auto insert = db.prepare(
      "INSERT INTO audit_event(position, partner_key, recorded_at, stream_key, stream_version, actor_key, command_id, "
      "correlation_id, causation_id, event_type, schema_version, payload) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!insert) return insert.status();
  auto erased = db.prepare(
      "INSERT OR IGNORE INTO erased_subject(subject, erased_at, position) VALUES (?1, ?2, ?3)");
  if (!erased) return erased.status();
  insert_event_ = std::move(*insert);
  insert_erased_ = std::move(*erased);
  return Status::ok();
}

void AuditView::abort_batch() {
  for (Names* n : {&partners_, &streams_, &actors_}) n->cached.clear();
}

Status AuditView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  if (r.partner.empty()) return Status::ok();  // operator streams (the catalog) belong to no partner
  auto partner = key_of(partners_, r.partner);
  if (!partner) return partner.status();
  auto stream = key_of(streams_, r.stream);
  if (!stream) return stream.status();
  auto actor = key_of(actors_, r.actor);
  if (!actor) return actor.status();
  const auto position = static_cast<int64_t>(r.position.value());
  insert_event_->bind_int(1, position)
      .bind_int(2, *partner)
      .bind_time(3, r.recorded_at)
      .bind_int(4, *stream)
      .bind_int(5, static_cast<int64_t>(r.version.value()))
      .bind_int(6, *actor)
      .bind_blob(7, blob_of(r.command_id));
  if (r.correlation_id.bytes() == r.command_id.bytes()) {
    insert_event_->bind_null(8);
  } else {
    insert_event_->bind_blob(8, blob_of(r.correlation_id));
  }
  if (r.causation_id.bytes() == r.command_id.bytes()) {
    insert_event_->bind_null(9);
  } else {
    insert_event_->bind_blob(9, blob_of(r.causation_id));
  }
  insert_event_->bind_text(10, r.type).bind_int(11, r.schema_version).bind_blob(12, r.payload);
  ACCT_RETURN_IF_ERROR(insert_event_->run());
  if (r.type == UserPurged::kType) {
    if (auto user = user_of_stream(r.stream)) {
      insert_erased_->bind_text(1, user_subject(*user)).bind_time(2, r.recorded_at).bind_int(3, position);
      ACCT_RETURN_IF_ERROR(insert_erased_->run());
    }
  }
  return Status::ok();
}

Result<AuditPage> AuditView::page(Db& db, PersonalDataCipher* cipher, const PartnerId& partner, GlobalPosition from,
                                  size_t limit) {
  limit = std::min(limit, kMaxAuditPage);
  auto s = db.prepare(std::string(kEntrySelect) + "AND e.position >= ?2 ORDER BY e.position LIMIT ?3");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string())
      .bind_int(2, static_cast<int64_t>(from.value()))
      .bind_int(3, static_cast<int64_t>(limit));
  return run_page(db, cipher, **s, limit);
}

Result<AuditPage> AuditView::between(Db& db, PersonalDataCipher* cipher, const PartnerId& partner,
                                     Timestamp from_time, Timestamp to_time, GlobalPosition from, size_t limit) {
  limit = std::min(limit, kMaxAuditPage);
  auto s = db.prepare(std::string(kEntrySelect) +
                      "AND e.recorded_at >= ?2 AND e.recorded_at < ?3 AND e.position >= ?4 ORDER BY e.position LIMIT ?5");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string())
      .bind_time(2, from_time)
      .bind_time(3, to_time)
      .bind_int(4, static_cast<int64_t>(from.value()))
      .bind_int(5, static_cast<int64_t>(limit));
  return run_page(db, cipher, **s, limit);
}

}  // namespace accountable
