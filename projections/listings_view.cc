#include "projections/listings_view.h"

#include <boost/json.hpp>
#include <cctype>

#include "projections/row_cache.h"
#include "projections/view_codec.h"
#include "schema/stream_names.h"

namespace accountable {

namespace {

const std::pair<std::string_view, std::string_view> kListingStatements[] = {
    {"enroll", "INSERT OR REPLACE INTO listing_partner(partner_id, partner_name, suspended) VALUES (?1, ?2, 0)"},
    {"suspend", "UPDATE listing_partner SET suspended = ?2 WHERE partner_id = ?1"},
    {"save_profile",
     "INSERT INTO listing_profile(partner_id, region, details, published, published_at) VALUES (?1, ?2, ?3, 0, 0) "
     "ON CONFLICT(partner_id, region) DO UPDATE SET details = excluded.details"},
    {"publish", "UPDATE listing_profile SET published = ?3, published_at = ?4 WHERE partner_id = ?1 AND region = ?2"},
    {"add_location",
     "INSERT OR REPLACE INTO listing_location(partner_id, region, location_id, city, state, country) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
    {"remove_location", "DELETE FROM listing_location WHERE partner_id = ?1 AND region = ?2 AND location_id = ?3"},
    {"fts_delete", "DELETE FROM listing_fts WHERE rowid = ?1"},
    {"fts_insert",
     "INSERT INTO listing_fts(rowid, partner_name, description, industries, offerings, places) "
     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
    // The queries sync() runs: prepared once, not per event (parsing them was
    // most of the listings' build).
    {"profile_row",
     "SELECT p.id, p.details, p.published, COALESCE(n.partner_name, ''), COALESCE(n.suspended, 0) "
     "FROM listing_profile p LEFT JOIN listing_partner n ON n.partner_id = p.partner_id "
     "WHERE p.partner_id = ?1 AND p.region = ?2"},
    {"profile_places",
     "SELECT city, state, country FROM listing_location WHERE partner_id = ?1 AND region = ?2 ORDER BY location_id"},
    {"partner_regions", "SELECT region FROM listing_profile WHERE partner_id = ?1 ORDER BY region"},
};

// Resets a prepared query however its reader leaves.
struct ResetOnExit {
  Statement& s;
  ~ResetOnExit() { s.reset(); }
};

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

}  // namespace

Result<std::string> fts_query_of(std::string_view q) {
  std::string out;
  size_t words = 0;
  for (size_t i = 0; i < q.size();) {
    if (!is_word_byte(static_cast<unsigned char>(q[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < q.size() && is_word_byte(static_cast<unsigned char>(q[j]))) ++j;
    if (++words > 16) break;  // the first 16 words are searched (docs/views.md)
    if (!out.empty()) out += ' ';
    // Letters and digits only, so the quoted term needs no escaping; a prefix
    // term, so "micro" finds "Microsoft".
    out += '"';
    out.append(q.substr(i, j - i));
    out += "\"*";
    i = j;
  }
  return out;
}

std::vector<std::string> ListingsView::schema() const {
  return {
      "CREATE TABLE listing_partner(partner_id TEXT PRIMARY KEY, partner_name TEXT NOT NULL, "
      "suspended INTEGER NOT NULL) WITHOUT ROWID",
      // The rowid is the FTS row's: a rowid table on purpose.
      "CREATE TABLE listing_profile(id INTEGER PRIMARY KEY, partner_id TEXT NOT NULL, region TEXT NOT NULL, "
      "details TEXT NOT NULL, published INTEGER NOT NULL, published_at INTEGER NOT NULL, "
      "UNIQUE(partner_id, region))",
      "CREATE TABLE listing_location(partner_id TEXT NOT NULL, region TEXT NOT NULL, location_id TEXT NOT NULL, "
      "city TEXT NOT NULL, state TEXT NOT NULL, country TEXT NOT NULL, "
      "PRIMARY KEY(partner_id, region, location_id)) WITHOUT ROWID",
      // One row per listed profile (rowid = listing_profile.id); the columns'
      // weights are in search().
      "CREATE VIRTUAL TABLE listing_fts USING fts5(partner_name, description, industries, offerings, places, "
      "tokenize = 'unicode61 remove_diacritics 2')",
  };
}

Status ListingsView::prepare(Db& db) {
  db_ = &db;
  for (const auto& [key, sql] : kListingStatements) {
    auto s = db.prepare(sql);
    if (!s) return s.status();
    statements_[std::string(key)] = std::move(*s);
  }
  return Status::ok();
}

Status ListingsView::run(std::string_view key, const std::function<void(Statement&)>& bind) {
  auto it = statements_.find(key);
  if (it == statements_.end()) return Status(StatusCode::kInternal, "no statement " + std::string(key));
  bind(*it->second);
  return it->second->run();
}

Status ListingsView::apply(const ViewEvent& event) {
  const RecordedEvent& r = event.record();
  // The type before the stream's id: parsing the partner id of every partner
  // event was a fifth of this view's apply in a build.
  const bool partner_event =
      r.type == PartnerEnrolled::kType || r.type == PartnerSuspended::kType || r.type == PartnerReinstated::kType;
  if (r.stream.starts_with(kPartnerStreamPrefix) && !partner_event) return Status::ok();  // none a listing shows
  if (auto partner = partner_event ? partner_of_stream(r.stream) : std::nullopt) {
    auto decoded = event.decoded();
    if (!decoded) return decoded.status();
    if (*decoded == nullptr) return Status::ok();
    const std::string id = partner->to_string();
    if (const auto* x = std::get_if<PartnerEnrolled>(*decoded)) {
      return run("enroll", [&](Statement& s) { s.bind_text(1, id).bind_text(2, x->partner_name); });
    }
    const bool suspended = std::holds_alternative<PartnerSuspended>(**decoded);
    ACCT_RETURN_IF_ERROR(run("suspend", [&](Statement& s) { s.bind_text(1, id).bind_int(2, suspended ? 1 : 0); }));
    return sync_partner(id);
  }
  auto profile = business_profile_of_stream(r.stream);
  if (!profile) return Status::ok();
  auto decoded = event.decoded();
  if (!decoded) return decoded.status();
  if (*decoded == nullptr) return Status::ok();
  const std::string partner = profile->first.to_string();
  const std::string& region = profile->second;
  const DomainEvent& e = **decoded;
  if (const auto* created = std::get_if<BusinessProfileCreated>(&e)) {
    ACCT_RETURN_IF_ERROR(run("save_profile", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, details_text(created->details));
    }));
  } else if (const auto* updated = std::get_if<BusinessProfileUpdated>(&e)) {
    ACCT_RETURN_IF_ERROR(run("save_profile", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, details_text(updated->details));
    }));
  } else if (const auto* published = std::get_if<BusinessProfilePublished>(&e)) {
    ACCT_RETURN_IF_ERROR(run("publish", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_int(3, 1).bind_time(4, published->at);
    }));
  } else if (std::holds_alternative<BusinessProfileUnpublished>(e)) {
    ACCT_RETURN_IF_ERROR(run("publish", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_int(3, 0).bind_int(4, 0);
    }));
  } else if (const auto* added = std::get_if<ProfileLocationAdded>(&e)) {
    // City, state and country only: the street and the phone stay out of a public view.
    ACCT_RETURN_IF_ERROR(run("add_location", [&](Statement& s) {
      s.bind_text(1, partner)
          .bind_text(2, region)
          .bind_text(3, added->location_id.to_string())
          .bind_text(4, added->address.city)
          .bind_text(5, added->address.state)
          .bind_text(6, added->address.country);
    }));
  } else if (const auto* removed = std::get_if<ProfileLocationRemoved>(&e)) {
    ACCT_RETURN_IF_ERROR(run("remove_location", [&](Statement& s) {
      s.bind_text(1, partner).bind_text(2, region).bind_text(3, removed->location_id.to_string());
    }));
  } else {
    return Status::ok();
  }
  return sync(partner, region);
}

Status ListingsView::begin_build() {
  whole_build_ = true;
  return Status::ok();
}

// A failed batch of a build fails the build (the file is deleted): nothing to keep.
void ListingsView::abort_batch() {
  pending_.clear();
  pending_partners_.clear();
}

Status ListingsView::finish_batch() {
  // Bounded, as the rows other views hold (a few hundred bytes a pending profile).
  if (!whole_build_ || pending_.size() + pending_partners_.size() < build_max_held_rows_) return Status::ok();
  return finish_build();
}

Status ListingsView::finish_build() {
  for (const std::string& partner : pending_partners_) {
    auto regions = regions_of(partner);
    if (!regions) return regions.status();
    for (std::string& region : *regions) pending_.emplace(partner, std::move(region));
  }
  for (const auto& [partner, region] : pending_) ACCT_RETURN_IF_ERROR(sync_now(partner, region));
  pending_.clear();
  pending_partners_.clear();
  return Status::ok();
}

Status ListingsView::sync(const std::string& partner, const std::string& region) {
  if (whole_build_) {
    pending_.emplace(partner, region);
    return Status::ok();
  }
  return sync_now(partner, region);
}

Status ListingsView::sync_now(const std::string& partner, const std::string& region) {
  int64_t id = 0;
  std::string details_text_value, name;
  bool listed = false;
  {
    Statement& s = *statements_.find("profile_row")->second;
    ResetOnExit reset{s};
    s.bind_text(1, partner).bind_text(2, region);
    auto row = s.step();
    if (!row) return row.status();
    if (!*row) return Status::ok();
    id = s.column_int(0);
    details_text_value = s.column_text(1);
    listed = s.column_int(2) != 0 && s.column_int(4) == 0;
    name = s.column_text(3);
  }
  ACCT_RETURN_IF_ERROR(run("fts_delete", [&](Statement& st) { st.bind_int(1, id); }));
  if (!listed) return Status::ok();
  auto details = details_from_text(details_text_value);
  if (!details) return details.status();
  std::string places;
  {
    Statement& loc = *statements_.find("profile_places")->second;
    ResetOnExit reset{loc};
    loc.bind_text(1, partner).bind_text(2, region);
    while (true) {
      auto r = loc.step();
      if (!r) return r.status();
      if (!*r) break;
      for (int c = 0; c < 3; ++c) places += loc.column_text(c) + " ";
    }
  }
  std::vector<std::string> offerings = details->products;
  offerings.insert(offerings.end(), details->service_types.begin(), details->service_types.end());
  offerings.insert(offerings.end(), details->skills.begin(), details->skills.end());
  return run("fts_insert", [&](Statement& st) {
    st.bind_int(1, id)
        .bind_text(2, name)
        .bind_text(3, details->description)
        .bind_text(4, joined(details->industry_focus))
        .bind_text(5, joined(offerings))
        .bind_text(6, places);
  });
}

Result<std::vector<std::string>> ListingsView::regions_of(const std::string& partner) {
  std::vector<std::string> regions;
  Statement& s = *statements_.find("partner_regions")->second;
  ResetOnExit reset{s};
  s.bind_text(1, partner);
  while (true) {
    auto row = s.step();
    if (!row) return row.status();
    if (!*row) break;
    regions.push_back(s.column_text(0));
  }
  return regions;
}

Status ListingsView::sync_partner(const std::string& partner) {
  if (whole_build_) {
    pending_partners_.insert(partner);
    return Status::ok();
  }
  auto regions = regions_of(partner);
  if (!regions) return regions.status();
  for (const std::string& region : *regions) ACCT_RETURN_IF_ERROR(sync_now(partner, region));
  return Status::ok();
}

Result<ListingPage> ListingsView::search(Db& db, const ListingQuery& q) {
  auto fts = fts_query_of(q.q);
  if (!fts) return fts.status();
  const bool ranked = !fts->empty();
  // Listed profiles are exactly the FTS rows; bm25 weights: the name counts
  // most, then industries and offerings, then the description and places.
  std::string sql =
      "SELECT p.partner_id, n.partner_name, p.region, p.details, p.published_at, " +
      std::string(ranked ? "bm25(listing_fts, 10.0, 1.0, 4.0, 3.0, 2.0)" : "0") +
      " FROM listing_fts f JOIN listing_profile p ON p.id = f.rowid "
      "JOIN listing_partner n ON n.partner_id = p.partner_id WHERE 1";
  if (ranked) sql += " AND listing_fts MATCH ?1";
  if (!q.region.empty()) sql += " AND p.region = ?2";
  if (!q.industry.empty()) {
    sql += " AND EXISTS(SELECT 1 FROM json_each(p.details, '$.industry_focus') WHERE lower(value) = lower(?3))";
  }
  if (!q.product.empty()) sql += " AND EXISTS(SELECT 1 FROM json_each(p.details, '$.products') WHERE value = ?4)";
  sql += ranked ? " ORDER BY 6, p.partner_id, p.region" : " ORDER BY n.partner_name, p.partner_id, p.region";
  sql += " LIMIT ?5 OFFSET ?6";
  auto s = db.prepare(sql);
  if (!s) return s.status();
  Statement& st = **s;
  if (ranked) st.bind_text(1, *fts);
  st.bind_text(2, q.region).bind_text(3, q.industry).bind_text(4, q.product);
  st.bind_int(5, static_cast<int64_t>(q.limit) + 1).bind_int(6, static_cast<int64_t>((q.page - 1) * q.limit));
  ListingPage page;
  while (true) {
    auto row = st.step();
    if (!row) return row.status();
    if (!*row) break;
    if (page.listings.size() == q.limit) {
      page.more = true;
      break;
    }
    Listing l;
    auto partner = PartnerId::parse(st.column_text(0));
    if (!partner) return Status(StatusCode::kCorruption, "listing_profile: a stored partner id is not a UUID");
    l.partner_id = *partner;
    l.partner_name = st.column_text(1);
    l.region = st.column_text(2);
    auto details = details_from_text(st.column_text(3));
    if (!details) return details.status();
    l.details = std::move(*details);
    l.published_at = st.column_time(4);
    l.score = st.column_double(5);
    page.listings.push_back(std::move(l));
  }
  // Each listing's places (a page is at most `limit` listings).
  auto loc = db.prepare(
      "SELECT city, state, country FROM listing_location WHERE partner_id = ?1 AND region = ?2 ORDER BY location_id");
  if (!loc) return loc.status();
  for (Listing& l : page.listings) {
    (*loc)->reset();
    (*loc)->bind_text(1, l.partner_id.to_string()).bind_text(2, l.region);
    while (true) {
      auto row = (*loc)->step();
      if (!row) return row.status();
      if (!*row) break;
      l.locations.push_back(ListingLocation{(*loc)->column_text(0), (*loc)->column_text(1), (*loc)->column_text(2)});
    }
  }
  return page;
}

}  // namespace accountable
