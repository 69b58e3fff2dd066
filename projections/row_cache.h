// RowCache: a batch-local write-back cache of one table's rows, by key.
//
// A projection that updates the same row many times per batch (a user's
// stream touches its directory row with every event) reads the row once,
// changes it in memory, and writes it once at the end of the batch, inside the
// batch's transaction, before the checkpoint. Rebuilding from position 0 then
// costs about one write per row and batch instead of one per event.
//
// Values are NULL, integers or text, in the table's column order; the first
// `key_columns` columns are the primary key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "projections/sqlite_db.h"

namespace accountable {

using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// The cached row of `key` in `rows` (a map of unique_ptr rows, looked up by
// string_view), else the stored one read through `select` (which takes the
// key as ?1) and built by `load(select)`, and cached either way: nullptr, also
// cached, when the table has none. A hit allocates nothing.
template <typename Rows, typename Load>
Result<typename Rows::mapped_type::pointer> find_cached_or_stored(Rows& rows, Statement& select, std::string_view key,
                                                                  Load load) {
  auto it = rows.find(key);
  if (it != rows.end()) return it->second.get();
  select.bind_text(1, key);
  auto found = select.step();
  if (!found) {
    select.reset();
    return found.status();
  }
  typename Rows::mapped_type row;
  if (*found) row = load(static_cast<const Statement&>(select));
  select.reset();
  auto* out = row.get();
  rows.emplace(std::string(key), std::move(row));
  return out;
}

class RowCache {
 public:
  struct Row {
    std::vector<SqlValue> values;
    bool dirty = false;
    bool stored = false;  // the table has it: written back with UPDATE, not INSERT
  };

  // `immutable`: columns never changed after the row is inserted (the key
  // and indexed ones): an UPDATE leaves them, and so their indexes, alone.
  RowCache(std::string table, std::vector<std::string> columns, std::vector<std::string> immutable = {});
  Status prepare(Db& db);

  // The row whose (single-column) key is `key`: from the cache, else read
  // from the table; nullptr when there is none. A hit allocates nothing.
  Result<Row*> find(std::string_view key);
  // A new row (replacing any cached one); values[0] is the key.
  Row& insert(std::vector<SqlValue> values);
  // Column index by name; columns are fixed at construction.
  int column(std::string_view name) const;

  // Writes every dirty row (INSERT, or UPDATE of its mutable columns) in key
  // order, so the B-tree is filled left to right, and empties the cache.
  Status flush();
  void clear() { rows_.clear(); }
  size_t size() const { return rows_.size(); }

 private:
  const std::string table_;
  const std::vector<std::string> columns_;
  std::vector<size_t> mutable_;  // column indexes an UPDATE sets
  std::unique_ptr<Statement> select_, insert_, update_;
  // Looked up by string_view: an event's key is a view into its stream name.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  // Absent rows are cached too (nullopt), so a miss reads the table once per batch.
  std::unordered_map<std::string, std::unique_ptr<Row>, KeyHash, std::equal_to<>> rows_;
};

// Small helpers for SqlValue.
inline void bind_sql_value(Statement& s, int index, const SqlValue& v) {
  if (const auto* n = std::get_if<int64_t>(&v)) {
    s.bind_int(index, *n);
  } else if (const auto* t = std::get_if<std::string>(&v)) {
    s.bind_text(index, *t);
  } else {
    s.bind_null(index);
  }
}
inline int64_t sql_int(const SqlValue& v) { return std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : 0; }
inline std::string sql_text(const SqlValue& v) {
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : std::string();
}
inline bool sql_is_null(const SqlValue& v) { return std::holds_alternative<std::monostate>(v); }

}  // namespace accountable
