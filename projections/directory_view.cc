#include "projections/directory_view.h"

#include <algorithm>
#include <map>

#include "projections/view_codec.h"

namespace accountable {

namespace {

constexpr std::string_view kUserColumns =
    "u.user_id, u.partner_id, u.status, u.first_name, u.last_name, u.email, u.phone, u.erased, u.created_at, "
    "u.changed_at, u.deactivated_at, u.must_change_password, u.roles";

DirectoryUser user_from_row(const Statement& s) {
  DirectoryUser u;
  u.user_id = UserId::parse(s.column_text(0)).value();
  u.partner_id = PartnerId::parse(s.column_text(1)).value();
  u.status = enum_from_name<DirectoryStatus>(s.column_text(2)).value_or(DirectoryStatus::kActive);
  u.profile = ContactDetails{s.column_text(3), s.column_text(4), s.column_text(5), s.column_text(6)};
  u.erased = s.column_int(7) != 0;
  u.created_at = s.column_time(8);
  u.changed_at = s.column_time(9);
  if (!s.column_is_null(10)) u.deactivated_at = s.column_time(10);
  u.must_change_password = s.column_int(11) != 0;
  for (const std::string& name : string_list_from_text(s.column_text(12))) {
    if (auto role = enum_from_text<Role>(name)) u.roles.push_back(*role);
  }
  return u;
}

// Roles as stored: names in enum order.
std::string roles_text(const std::vector<Role>& roles) {
  std::vector<std::string> names;
  for (Role r : roles) names.emplace_back(enum_text(r));
  return string_list_text(names);
}

std::vector<Role> roles_of_text(const std::string& text) {
  std::vector<Role> out;
  for (const std::string& name : string_list_from_text(text)) {
    if (auto role = enum_from_text<Role>(name)) out.push_back(*role);
  }
  return out;
}

// Runs a user query.
Result<std::vector<DirectoryUser>> run_users(Statement& users) {
  std::vector<DirectoryUser> out;
  while (true) {
    auto row = users.step();
    if (!row) return row.status();
    if (!*row) break;
    out.push_back(user_from_row(users));
  }
  return out;
}

}  // namespace

std::string_view directory_status_name(DirectoryStatus s) { return enum_text(s); }

std::vector<std::string> DirectoryView::schema() const {
  return {
      // Personal columns are NULL once erased (erased = 1).
      "CREATE TABLE directory_user("
      "user_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, status TEXT NOT NULL, "
      "first_name TEXT, last_name TEXT, email TEXT, phone TEXT, erased INTEGER NOT NULL, "
      "created_at INTEGER NOT NULL, created_position INTEGER NOT NULL, "
      "changed_at INTEGER NOT NULL, changed_position INTEGER NOT NULL, "
      "deactivated_at INTEGER, must_change_password INTEGER NOT NULL DEFAULT 0, "
      "roles TEXT NOT NULL DEFAULT '[]') WITHOUT ROWID",
  };
}

std::vector<std::string> DirectoryView::indexes() const {
  return {
      "CREATE INDEX directory_user_by_partner ON directory_user(partner_id, created_position)",
      // The retention job's queue (inactive): the deactivated users by date.
      "CREATE INDEX directory_user_inactive ON directory_user(deactivated_at, user_id) WHERE status = 'inactive'",
  };
}

namespace {

// Column indexes of directory_user in the cache (the order of kUserColumnNames).
enum UserColumn {
  kUserId, kPartnerId, kStatus, kFirstName, kLastName, kEmail, kPhone, kErased, kCreatedAt, kCreatedPosition,
  kChangedAt, kChangedPosition, kDeactivatedAt, kMustChangePassword, kRoles, kUserColumnCount
};
const std::vector<std::string> kUserColumnNames = {
    "user_id",    "partner_id",       "status",     "first_name",       "last_name",      "email",
    "phone",      "erased",           "created_at", "created_position", "changed_at",     "changed_position",
    "deactivated_at", "must_change_password", "roles"};

// The profile's four values (NULL when erased) and the erased flag.
void set_profile(RowCache::Row& row, const PersonalContact& p) {
  if (p.erased) {
    for (int c : {kFirstName, kLastName, kEmail, kPhone}) row.values[c] = SqlValue();
  } else {
    row.values[kFirstName] = p.value.first_name;
    row.values[kLastName] = p.value.last_name;
    row.values[kEmail] = p.value.email;
    row.values[kPhone] = p.value.phone;
  }
  row.values[kErased] = int64_t{p.erased ? 1 : 0};
}

}  // namespace

// partner_id and created_position never change, and they are what the index holds.
DirectoryView::DirectoryView() : users_("directory_user", kUserColumnNames, {"partner_id", "created_position"}) {}

Status DirectoryView::prepare(Db& db) { return users_.prepare(db); }

Status DirectoryView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

Status DirectoryView::begin_batch() {
  if (!whole_build_) users_.clear();
  return Status::ok();
}

Status DirectoryView::finish_batch() {
  // A build keeps every user in memory and writes each once, in key order, at its end.
  if (whole_build_ && users_.size() < kMaxRowsHeldByABuild) return Status::ok();
  return users_.flush();
}

Status DirectoryView::finish_build() { return users_.flush(); }

Status DirectoryView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  auto user_text = uuid_after(r.stream, "user-");
  if (!user_text) return Status::ok();
  const std::string_view user = *user_text;  // no copy: most events only look their user up
  const auto position = static_cast<int64_t>(r.position.value());
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  const DomainEvent* e = *decoded;

  if (e != nullptr) {
    if (const auto* created = std::get_if<UserCreated>(e)) {
      std::vector<SqlValue> values(kUserColumnCount);
      values[kUserId] = std::string(user);
      values[kPartnerId] = created->partner_id.to_string();
      values[kStatus] = std::string(directory_status_name(DirectoryStatus::kActive));
      values[kCreatedAt] = r.recorded_at.micros;
      values[kCreatedPosition] = position;
      values[kChangedAt] = r.recorded_at.micros;
      values[kChangedPosition] = position;
      values[kMustChangePassword] = int64_t{0};
      values[kRoles] = std::string("[]");
      set_profile(users_.insert(std::move(values)), created->profile);
      return Status::ok();
    }
  }
  auto found = users_.find(user);
  if (!found) return found.status();
  RowCache::Row* row = *found;
  if (row == nullptr) return Status::ok();  // events of a user the view never saw created
  // Any event of the user's stream is a change of the user.
  row->dirty = true;
  row->values[kChangedAt] = r.recorded_at.micros;
  row->values[kChangedPosition] = position;
  if (e == nullptr) return Status::ok();

  if (const auto* updated = std::get_if<UserProfileUpdated>(e)) {
    set_profile(*row, updated->profile);
  } else if (const auto* assigned = std::get_if<RoleAssigned>(e)) {
    std::vector<Role> roles = roles_of_text(sql_text(row->values[kRoles]));
    if (std::find(roles.begin(), roles.end(), assigned->role) == roles.end()) {
      roles.push_back(assigned->role);
      std::sort(roles.begin(), roles.end());
      row->values[kRoles] = roles_text(roles);
    }
  } else if (const auto* removed = std::get_if<RoleRemoved>(e)) {
    std::vector<Role> roles = roles_of_text(sql_text(row->values[kRoles]));
    std::erase(roles, removed->role);
    row->values[kRoles] = roles_text(roles);
  } else if (const auto* password = std::get_if<PasswordSet>(e)) {
    row->values[kMustChangePassword] = int64_t{password->must_change_at_next_sign_in ? 1 : 0};
  } else if (const auto* deactivated = std::get_if<UserDeactivated>(e)) {
    row->values[kStatus] = std::string(directory_status_name(DirectoryStatus::kInactive));
    row->values[kDeactivatedAt] = deactivated->at.micros;
  } else if (std::holds_alternative<UserRestored>(*e)) {
    row->values[kStatus] = std::string(directory_status_name(DirectoryStatus::kActive));
    row->values[kDeactivatedAt] = SqlValue();
  } else if (std::holds_alternative<UserPurged>(*e)) {
    row->values[kStatus] = std::string(directory_status_name(DirectoryStatus::kPurged));
    set_profile(*row, PersonalContact{"", {}, true});
    row->values[kRoles] = std::string("[]");
  }
  return Status::ok();
}

Result<std::vector<DirectoryUser>> DirectoryView::users(Db& db, const PartnerId& partner,
                                                        std::optional<DirectoryStatus> status) {
  auto s = db.prepare("SELECT " + std::string(kUserColumns) +
                      " FROM directory_user u WHERE u.partner_id = ?1 AND (?2 IS NULL OR u.status = ?2)"
                      " ORDER BY u.created_position");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string());
  if (status) (*s)->bind_text(2, directory_status_name(*status));
  return run_users(**s);
}

Result<std::vector<DirectoryUser>> DirectoryView::holders(Db& db, const PartnerId& partner, Role role) {
  auto all = users(db, partner, std::nullopt);
  if (!all) return all.status();
  std::vector<DirectoryUser> out;
  for (DirectoryUser& u : *all) {
    if (std::find(u.roles.begin(), u.roles.end(), role) != u.roles.end()) out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<InactiveUser>> DirectoryView::inactive(Db& db, size_t limit) {
  auto s = db.prepare(
      "SELECT partner_id, user_id, deactivated_at FROM directory_user WHERE status = 'inactive' "
      "ORDER BY deactivated_at, user_id LIMIT ?1");
  if (!s) return s.status();
  (*s)->bind_int(1, static_cast<int64_t>(std::min<size_t>(limit, 1'000'000'000)));
  std::vector<InactiveUser> out;
  while (true) {
    auto row = (*s)->step();
    if (!row) return row.status();
    if (!*row) break;
    auto partner = PartnerId::parse((*s)->column_text(0));
    auto user = UserId::parse((*s)->column_text(1));
    if (!partner || !user) return Status(StatusCode::kCorruption, "directory_user: a stored id is not a UUID");
    out.push_back(InactiveUser{*partner, *user, (*s)->column_time(2)});
  }
  return out;
}

Result<DirectoryUser> DirectoryView::user(Db& db, const PartnerId& partner, const UserId& user) {
  auto s = db.prepare("SELECT " + std::string(kUserColumns) +
                      " FROM directory_user u WHERE u.partner_id = ?1 AND u.user_id = ?2");
  if (!s) return s.status();
  (*s)->bind_text(1, partner.to_string()).bind_text(2, user.to_string());
  auto found = run_users(**s);
  if (!found) return found.status();
  if (found->empty()) {
    return not_found("no user " + user.to_string() + " in partner " + partner.to_string(), "user_id");
  }
  return std::move(found->front());
}

}  // namespace accountable
