// The user directory of each partner (view "directory").
//
// One row per user ever created: status (active, inactive = deactivated,
// purged), the profile decrypted at apply time, roles (a JSON array in enum
// order: "who holds a role" reads one partner's users, which are few), when
// the user was created and when its stream last changed (any event of user-<id>).
//
// Personal data: names, email and phone are stored in clear so the directory
// can list them. When the subject's key is already destroyed at apply time
// (a rebuild after a purge), the values read as erased and nothing is stored;
// on UserPurged the stored values are overwritten with NULL and the row is
// marked erased (secure_delete=ON zeroes the freed bytes; the runner then
// truncates the WAL). Roles are cleared on purge, as in UserState.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "projections/projection.h"
#include "schema/enum_names.h"

namespace accountable {

enum class DirectoryStatus : uint8_t { kActive, kInactive, kPurged };
// Its spellings (columns, JSON, the ?status= parameter), in the table form of schema/enum_names.h.
template <>
struct EnumNames<DirectoryStatus> {
  static constexpr EnumName<DirectoryStatus> kNames[] = {
      {DirectoryStatus::kActive, "active"}, {DirectoryStatus::kInactive, "inactive"}, {DirectoryStatus::kPurged, "purged"}};
};
std::string_view directory_status_name(DirectoryStatus s);  // "unknown" outside the table

// A deactivated user as the retention job sees it (no personal data).
struct InactiveUser {
  PartnerId partner_id;
  UserId user_id;
  Timestamp deactivated_at;
  friend bool operator==(const InactiveUser&, const InactiveUser&) = default;
};

struct DirectoryUser {
  UserId user_id;
  PartnerId partner_id;
  DirectoryStatus status = DirectoryStatus::kActive;
  ContactDetails profile;  // empty when erased
  bool erased = false;     // the personal data is gone for good
  std::vector<Role> roles;  // in enum order
  Timestamp created_at;
  Timestamp changed_at;  // time of the last event of the user's stream
  std::optional<Timestamp> deactivated_at;  // while inactive, and kept once purged
  bool must_change_password = false;
  friend bool operator==(const DirectoryUser&, const DirectoryUser&) = default;
};

class DirectoryView final : public Projection {
 public:
  static constexpr std::string_view kName = "directory";
  static constexpr int kVersion = 2;  // 2: directory_user_inactive index

  DirectoryView();
  ~DirectoryView() override;
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
  // ~3.4 us a user: written, then in two indexes
  uint64_t build_seal_nanos() const override { return whole_build_ ? rows_.size() * 3400 : 0; }

  // The partner's users in creation order; `status` filters when given.
  static Result<std::vector<DirectoryUser>> users(Db& db, const PartnerId& partner,
                                                  std::optional<DirectoryStatus> status);
  // The users of the partner who hold `role`, in creation order.
  static Result<std::vector<DirectoryUser>> holders(Db& db, const PartnerId& partner, Role role);
  // kNotFound when the partner has no such user.
  static Result<DirectoryUser> user(Db& db, const PartnerId& partner, const UserId& user);
  // Every partner's deactivated (not purged) users, longest inactive first
  // (then by user id), at most `limit` (the retention job's queue).
  static Result<std::vector<InactiveUser>> inactive(Db& db, size_t limit);

 private:
  // One directory_user row in memory, typed (no generic values to allocate).
  struct Row;
  // The row of `user`: from the cache, else read from the table (cached,
  // also when absent: nullptr).
  Result<Row*> find(std::string_view user);
  Row& insert(std::string_view user);
  // Writes every dirty row (INSERT, or UPDATE of the mutable columns) in key order, and empties the cache.
  Status flush();

  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  // A batch-local write-back cache of rows by user id (a build keeps it across batches).
  std::unordered_map<std::string, std::unique_ptr<Row>, KeyHash, std::equal_to<>> rows_;
  std::unique_ptr<Statement> select_, insert_, insert_many_, update_;  // insert_many_: projections/bulk_insert.h
  bool whole_build_ = false;  // the cache lives across batches (a build from position 0)
};

}  // namespace accountable
