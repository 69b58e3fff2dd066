#include "projections/row_cache.h"

#include <algorithm>

namespace accountable {

RowCache::RowCache(std::string table, std::vector<std::string> columns, std::vector<std::string> immutable)
    : table_(std::move(table)), columns_(std::move(columns)) {
  for (size_t i = 1; i < columns_.size(); ++i) {
    if (std::find(immutable.begin(), immutable.end(), columns_[i]) == immutable.end()) mutable_.push_back(i);
  }
}

Status RowCache::prepare(Db& db) {
  std::string names, params;
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (i > 0) {
      names += ", ";
      params += ", ";
    }
    names += columns_[i];
    params += '?';
    params += std::to_string(i + 1);
  }
  auto select = db.prepare("SELECT " + names + " FROM " + table_ + " WHERE " + columns_[0] + " = ?1");
  if (!select) return select.status();
  auto insert = db.prepare("INSERT INTO " + table_ + "(" + names + ") VALUES (" + params + ")");
  if (!insert) return insert.status();
  std::string sets;
  for (size_t i : mutable_) {
    if (!sets.empty()) sets += ", ";
    sets += columns_[i];
    sets += " = ?";
    sets += std::to_string(i + 1);
  }
  auto update = db.prepare("UPDATE " + table_ + " SET " + sets + " WHERE " + columns_[0] + " = ?1");
  if (!update) return update.status();
  select_ = std::move(*select);
  insert_ = std::move(*insert);
  update_ = std::move(*update);
  return Status::ok();
}

int RowCache::column(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Result<RowCache::Row*> RowCache::find(std::string_view key) {
  return find_cached_or_stored(rows_, *select_, key, [&](const Statement& s) {
    auto row = std::make_unique<Row>();
    row->stored = true;
    row->values.resize(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
      const int c = static_cast<int>(i);
      switch (s.column_type(c)) {
        case SQLITE_NULL: break;
        case SQLITE_INTEGER: row->values[i] = s.column_int(c); break;
        default: row->values[i] = s.column_text(c); break;
      }
    }
    return row;
  });
}

RowCache::Row& RowCache::insert(std::vector<SqlValue> values) {
  auto row = std::make_unique<Row>();
  row->values = std::move(values);
  row->values.resize(columns_.size());
  row->dirty = true;
  Row& out = *row;
  auto& slot = rows_[std::get<std::string>(out.values[0])];
  out.stored = slot && slot->stored;  // replacing a stored row: still an UPDATE
  slot = std::move(row);
  return out;
}

Status RowCache::flush() {
  std::vector<std::pair<const std::string*, Row*>> dirty;
  dirty.reserve(rows_.size());
  for (auto& [key, row] : rows_) {
    if (row && row->dirty) dirty.emplace_back(&key, row.get());
  }
  std::sort(dirty.begin(), dirty.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  for (auto [key, row] : dirty) {
    Statement& s = row->stored ? *update_ : *insert_;
    for (size_t i = 0; i < row->values.size(); ++i) {
      // An UPDATE has no parameter for an immutable column.
      if (row->stored && i > 0 && !std::binary_search(mutable_.begin(), mutable_.end(), i)) continue;
      bind_sql_value(s, static_cast<int>(i + 1), row->values[i]);
    }
    ACCT_RETURN_IF_ERROR(s.run());
  }
  rows_.clear();
  return Status::ok();
}

}  // namespace accountable
