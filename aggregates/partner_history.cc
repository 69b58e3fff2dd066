#include "aggregates/partner_history.h"

#include <boost/json.hpp>

#include "schema/stream_names.h"

namespace accountable {

namespace json = boost::json;

namespace {

constexpr size_t kUuidLength = 36;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::optional<UserId> user_of(std::string_view stream) {
  if (!starts_with(stream, kUserStreamPrefix)) return std::nullopt;
  auto id = UserId::parse(stream.substr(kUserStreamPrefix.size()));
  if (!id) return std::nullopt;
  return *id;
}

// "bizprofile-<partner uuid>-<region>" -> region.
std::optional<std::string> region_of(std::string_view stream) {
  if (!starts_with(stream, kBusinessProfileStreamPrefix)) return std::nullopt;
  std::string_view rest = stream.substr(kBusinessProfileStreamPrefix.size());
  if (rest.size() < kUuidLength + 2 || rest[kUuidLength] != '-') return std::nullopt;
  return std::string(rest.substr(kUuidLength + 1));
}

Status at_position(const PartnerEvent& e, const Status& s) {
  return Status(s.code(), "position " + std::to_string(e.position.value()) + " (" + e.type + " v" +
                              std::to_string(e.schema_version) + " on " + e.stream + "): " + s.message());
}

// The JSON of the aggregate an event's stream holds; an empty object while the
// stream has no events, so that its first event shows every field as new.
json::value stream_json(const PartnerStates& s, const std::string& stream) {
  if (starts_with(stream, kPartnerStreamPrefix)) {
    return s.partner ? json::value(state_to_json(*s.partner)) : json::object();
  }
  if (auto user = user_of(stream)) {
    auto it = s.users.find(*user);
    return it == s.users.end() ? json::value(json::object()) : json::value(state_to_json(it->second));
  }
  if (auto region = region_of(stream)) {
    auto it = s.business_profiles.find(*region);
    return it == s.business_profiles.end() ? json::value(json::object()) : json::value(state_to_json(it->second));
  }
  return json::object();
}

std::string actor_name(const PartnerStates& s, const std::string& actor, const std::set<std::string>& purged) {
  constexpr std::string_view kUser = "user:";
  if (!starts_with(actor, kUser)) return {};
  auto id = UserId::parse(std::string_view(actor).substr(kUser.size()));
  if (!id) return {};
  auto it = s.users.find(*id);
  if (it == s.users.end()) return {};
  const UserState& u = it->second;
  if (u.profile.erased || u.status == UserStatus::kPurged || purged.count(user_subject(*id))) return "erased";
  const ContactDetails& c = u.profile.value;
  return c.first_name + " " + c.last_name + " <" + c.email + ">";
}

std::string compact(const json::value& v) { return json::serialize(v); }

}  // namespace

// ---- reading ---------------------------------------------------------------------------

Result<PartnerLog> read_partner_log(const EventLog& log, const PartnerId& partner) {
  PartnerLog out;
  out.head = log.head();
  if (out.head.value() > 0) {
    // The hash of the head record itself, read back (not head_hash(), which
    // may already be past `head` if a commit lands in between).
    auto last = log.read_all(out.head, 1);
    if (!last) return last.status();
    if (last->events.empty()) return Status(StatusCode::kInternal, "the head record could not be read");
    out.head_hash = last->events.front().hash;
  }
  AllFilter filter;
  filter.partner = partner.to_string();
  Status scanned = log.scan_all(GlobalPosition(1), filter, [&](const RecordedEvent& r) {
    if (r.position > out.head) return false;
    PartnerEvent e;
    e.position = r.position;
    e.stream = std::string(r.stream);
    e.version = r.version;
    e.event_id = r.event_id;
    e.type = std::string(r.type);
    e.schema_version = r.schema_version;
    e.command_id = r.command_id;
    e.correlation_id = r.correlation_id;
    e.causation_id = r.causation_id;
    e.actor = std::string(r.actor);
    e.recorded_at = r.recorded_at;
    e.partner = std::string(r.partner);
    e.payload = std::string(r.payload);
    e.hash = r.hash;
    if (e.type == UserPurged::kType) {
      if (auto user = user_of(e.stream)) out.purged_subjects.insert(user_subject(*user));
    }
    out.events.push_back(std::move(e));
    return true;
  });
  ACCT_RETURN_IF_ERROR(scanned);
  if (out.events.empty()) return not_found("the log has no events of partner " + partner.to_string(), "partner");
  return out;
}

Result<std::string> ErasingCipher::seal(const std::string& subject, std::string_view plaintext) {
  if (inner_ == nullptr) return Status(StatusCode::kInternal, "no key store");
  return inner_->seal(subject, plaintext);
}

Result<std::string> ErasingCipher::open(const std::string& subject, std::string_view sealed) {
  if (erased_.count(subject)) return not_found(subject + " was erased");
  if (inner_ == nullptr) return Status(StatusCode::kInternal, "sealed personal data, no key store");
  return inner_->open(subject, sealed);
}

Status ErasingCipher::erase(const std::string& subject) {
  erased_.insert(subject);
  return inner_ == nullptr ? Status::ok() : inner_->erase(subject);
}

// ---- state as of -----------------------------------------------------------------------

Status apply_partner_event(PartnerStates* states, const PartnerEvent& e) {
  auto decoded = decode_event(e.type, e.schema_version, e.payload);
  if (!decoded) return at_position(e, decoded.status());
  if (starts_with(e.stream, kPartnerStreamPrefix)) {
    if (!states->partner) states->partner = PartnerState{};
    *states->partner = evolve(std::move(*states->partner), *decoded);
  } else if (auto user = user_of(e.stream)) {
    UserState& u = states->users[*user];
    u = evolve(std::move(u), *decoded);
  } else if (auto region = region_of(e.stream)) {
    BusinessProfileState& p = states->business_profiles[*region];
    p = evolve(std::move(p), *decoded);
  } else {
    return at_position(e, corruption("a stream of the partner that holds no aggregate known here"));
  }
  states->last_position = e.position;
  states->last_recorded_at = e.recorded_at;
  return Status::ok();
}

Result<PartnerStates> partner_state_as_of(const PartnerLog& log, PersonalDataCipher* cipher, const AsOf& at) {
  if (!at.position && !at.time) return invalid_argument("give a position or a time", "as_of");
  if (at.position && *at.position > log.head) {
    return invalid_argument("position " + std::to_string(at.position->value()) + " is beyond the log's head (" +
                                std::to_string(log.head.value()) + ")",
                            "at_position");
  }
  ErasingCipher erasing(cipher, log.purged_subjects);
  PersonalDataScope scope(&erasing);
  PartnerStates states;
  for (const PartnerEvent& e : log.events) {
    if (at.position && e.position > *at.position) break;
    if (at.time && e.recorded_at > *at.time) break;
    ACCT_RETURN_IF_ERROR(apply_partner_event(&states, e));
  }
  return states;
}

Result<PartnerStates> partner_state_as_of(const EventLog& log, PersonalDataCipher* cipher, const PartnerId& partner,
                                          const AsOf& at) {
  auto read = read_partner_log(log, partner);
  if (!read) return read.status();
  return partner_state_as_of(*read, cipher, at);
}

json::object partner_aggregates_json(const PartnerStates& s) {
  json::object users;
  for (const auto& [id, u] : s.users) users[id.to_string()] = state_to_json(u);
  json::object profiles;
  for (const auto& [region, p] : s.business_profiles) profiles[region] = state_to_json(p);
  return json::object{{"partner", s.partner ? json::value(state_to_json(*s.partner)) : json::value()},
                      {"users", std::move(users)},
                      {"business_profiles", std::move(profiles)}};
}

json::object partner_states_json(const PartnerId& partner, const PartnerStates& s, const AsOf& at) {
  json::object o;
  o["partner_id"] = partner.to_string();
  o["as_of"] = json::object{{"position", at.position ? json::value(at.position->value()) : json::value()},
                            {"time", at.time ? json::value(format_timestamp(*at.time)) : json::value()}};
  o["last_event"] = s.last_position.value() == 0
                        ? json::value()
                        : json::value(json::object{{"position", s.last_position.value()},
                                                   {"recorded_at", format_timestamp(s.last_recorded_at)}});
  for (auto& [key, value] : partner_aggregates_json(s)) o[key] = std::move(value);
  return o;
}

// ---- timeline ---------------------------------------------------------------------------

std::string command_type_of(const std::vector<const PartnerEvent*>& commit) {
  // The event that only one command writes, in an order where a command's own
  // event comes before the side events it shares with others (EnrollPartner
  // writes UserCreated; UpdateLegalProfile writes VettingStatusChanged;
  // CreateUser writes RoleAssigned).
  static constexpr std::pair<std::string_view, std::string_view> kPrimary[] = {
      {"PartnerEnrolled", "EnrollPartner"},
      {"UserCreated", "CreateUser"},
      {"LegalProfileUpdated", "UpdateLegalProfile"},
      {"VettingStatusChanged", "SetVettingStatus"},
      {"SupportProfileUpdated", "UpdateSupportProfile"},
      {"BillingProfileUpdated", "UpdateBillingProfile"},
      {"OrganizationProfileUpdated", "UpdateOrganizationProfile"},
      {"LocationAdded", "AddLocation"},
      {"LocationRemoved", "RemoveLocation"},
      {"TaxExemptionFiled", "FileTaxExemption"},
      {"TaxExemptionRevoked", "RevokeTaxExemption"},
      {"PartnerSuspended", "SuspendPartner"},
      {"PartnerReinstated", "ReinstatePartner"},
      {"OfferPinned", "PinOffer"},
      {"OfferUnpinned", "UnpinOffer"},
      {"PinsReordered", "ReorderPins"},
      {"AuditorAccessIssued", "IssueAuditorAccess"},
      {"AuditorAccessRevoked", "RevokeAuditorAccess"},
      {"MpnIdCorrected", "CorrectMpnId"},
      {"ResellerAgreementAccepted", "AcceptResellerAgreement"},
      {"TaxIdAccepted", "AcceptTaxId"},
      {"AuthorizedRegionsSet", "SetAuthorizedRegions"},
      {"EarnedTagsSet", "SetEarnedTags"},
      {"UserProfileUpdated", "UpdateUserProfile"},
      {"RoleAssigned", "AssignRole"},
      {"RoleRemoved", "RemoveRole"},
      {"UserDeactivated", "DeactivateUser"},
      {"UserRestored", "RestoreUser"},
      {"UserPurged", "PurgeUser"},
      {"NotificationsRead", "MarkNotificationsRead"},
      {"BusinessProfileCreated", "CreateBusinessProfile"},
      {"BusinessProfileUpdated", "UpdateBusinessProfile"},
      {"ProfileLocationAdded", "AddProfileLocation"},
      {"ProfileLocationRemoved", "RemoveProfileLocation"},
      {"BusinessProfilePublished", "PublishBusinessProfile"},
      {"BusinessProfileUnpublished", "UnpublishBusinessProfile"},
  };
  // RenewTaxExemption: the only command that revokes and files in one commit.
  auto has = [&](std::string_view type) {
    return std::any_of(commit.begin(), commit.end(), [&](const PartnerEvent* e) { return e->type == type; });
  };
  if (has(TaxExemptionRevoked::kType) && has(TaxExemptionFiled::kType)) return "RenewTaxExemption";
  for (const auto& [event, command] : kPrimary) {
    for (const PartnerEvent* e : commit) {
      if (e->type == event) return std::string(command);
    }
  }
  // PasswordSet alone: its reason tells a reset from a change (it holds no personal data).
  for (const PartnerEvent* e : commit) {
    if (e->type != PasswordSet::kType) continue;
    auto decoded = decode_event(e->type, e->schema_version, e->payload);
    if (!decoded) continue;
    if (const auto* p = std::get_if<PasswordSet>(&*decoded)) {
      if (p->reason == PasswordReason::kReset) return "ResetPassword";
      if (p->reason == PasswordReason::kChanged) return "ChangePassword";
      return "CreateUser";
    }
  }
  return {};
}

Result<std::vector<HistoryLine>> partner_history(const PartnerLog& log, PersonalDataCipher* cipher,
                                                 const HistoryOptions& options) {
  ErasingCipher erasing(cipher, log.purged_subjects);
  PersonalDataScope scope(&erasing);
  PartnerStates states;
  std::vector<HistoryLine> lines;
  const auto& events = log.events;
  for (size_t begin = 0; begin < events.size();) {
    if (events[begin].position > options.to_position) break;
    size_t end = begin + 1;
    while (end < events.size() && events[end].command_id == events[begin].command_id) ++end;
    std::vector<const PartnerEvent*> commit;
    for (size_t i = begin; i < end; ++i) commit.push_back(&events[i]);
    const std::string command_type = command_type_of(commit);
    for (const PartnerEvent* e : commit) {
      const bool shown = e->position >= options.from_position && e->position <= options.to_position &&
                         e->recorded_at >= options.from_time && e->recorded_at < options.to_time;
      json::value before = shown ? stream_json(states, e->stream) : json::value();
      ACCT_RETURN_IF_ERROR(apply_partner_event(&states, *e));
      if (!shown) continue;
      HistoryLine line;
      line.position = e->position;
      line.recorded_at = e->recorded_at;
      line.stream = e->stream;
      line.stream_version = e->version;
      line.actor = e->actor;
      line.actor_name = actor_name(states, e->actor, log.purged_subjects);
      line.command_id = e->command_id;
      line.command_type = command_type;
      line.event_type = e->type;
      line.schema_version = e->schema_version;
      line.changes = diff_json(before, stream_json(states, e->stream));
      lines.push_back(std::move(line));
    }
    begin = end;
  }
  return lines;
}

Result<std::vector<HistoryLine>> partner_history(const EventLog& log, PersonalDataCipher* cipher,
                                                 const PartnerId& partner, const HistoryOptions& options) {
  auto read = read_partner_log(log, partner);
  if (!read) return read.status();
  return partner_history(*read, cipher, options);
}

json::object history_line_json(const HistoryLine& line) {
  json::array changes;
  for (const FieldChange& c : line.changes) changes.push_back(change_to_json(c));
  return json::object{{"position", line.position.value()},
                      {"recorded_at", format_timestamp(line.recorded_at)},
                      {"stream", line.stream},
                      {"stream_version", line.stream_version.value()},
                      {"actor", line.actor},
                      {"actor_name", line.actor_name.empty() ? json::value() : json::value(line.actor_name)},
                      {"command_id", line.command_id.to_string()},
                      {"command_type", line.command_type},
                      {"event_type", line.event_type},
                      {"schema_version", line.schema_version},
                      {"changes", std::move(changes)}};
}

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string history_csv_header() {
  return "position,recorded_at,stream,stream_version,actor,actor_name,command_id,command_type,event_type,"
         "schema_version,changes";
}

std::string history_csv_row(const HistoryLine& line) {
  json::array changes;
  for (const FieldChange& c : line.changes) changes.push_back(change_to_json(c));
  const std::string fields[] = {std::to_string(line.position.value()),
                                format_timestamp(line.recorded_at),
                                line.stream,
                                std::to_string(line.stream_version.value()),
                                line.actor,
                                line.actor_name,
                                line.command_id.to_string(),
                                line.command_type,
                                line.event_type,
                                std::to_string(line.schema_version),
                                compact(changes)};
  std::string out;
  for (const std::string& f : fields) {
    if (!out.empty()) out += ',';
    out += csv_field(f);
  }
  return out;
}

std::string history_table_row(const HistoryLine& line) {
  // Appends, not `"lit" + std::string`: gcc 12 -O3 gives a false -Wrestrict on that.
  std::string out = "#";
  out += std::to_string(line.position.value());
  out += "  ";
  out += format_timestamp(line.recorded_at);
  out += "  ";
  out += line.actor;
  if (!line.actor_name.empty()) {
    out += " (";
    out += line.actor_name;
    out += ")";
  }
  out += "  ";
  out += line.command_type.empty() ? std::string("?") : line.command_type;
  out += " ";
  out += line.command_id.to_string();
  out += "  ";
  out += line.event_type;
  out += " on ";
  out += line.stream;
  out += " v";
  out += std::to_string(line.stream_version.value());
  out += "\n";
  for (const FieldChange& c : line.changes) {
    out += "    ";
    out += c.path;
    out += ": ";
    out += compact(c.before);
    out += " -> ";
    out += compact(c.after);
    out += "\n";
  }
  return out;
}

}  // namespace accountable
