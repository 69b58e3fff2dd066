// ListingsView: the public partner directory (issue 22, item 5; docs/views.md,
// "listings"): what a customer finds with GET /v1/directory/profiles. One
// listing per PUBLISHED business profile of a partner that is not suspended,
// with a SQLite FTS5 index over the partner's name, the description, the
// industries, products, services, skills and the locations' cities.
//
// It holds no personal data: the partner's name, the profile's public fields,
// and of each location only its city, state and country (no street, no phone).
// Drafts (unpublished profiles) are kept so that publishing lists them, but
// are never returned.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace accountable {

struct ListingLocation {
  std::string city, state, country;
  friend bool operator==(const ListingLocation&, const ListingLocation&) = default;
};

struct Listing {
  PartnerId partner_id;
  std::string partner_name;
  std::string region;
  BusinessProfileDetails details;  // the public fields (docs/views.md)
  std::vector<ListingLocation> locations;
  Timestamp published_at;
  double score = 0;  // FTS5 bm25 with q (lower is better); 0 without
  friend bool operator==(const Listing&, const Listing&) = default;
};

struct ListingQuery {
  std::string region;    // "" = any
  std::string industry;  // one of the profile's industry_focus ("" = any; ASCII case-insensitive)
  std::string product;   // an offer id of the profile's products ("" = any)
  std::string q;         // free text ("" = none): ranked by relevance
  size_t page = 1;       // 1-based
  size_t limit = 20;     // per page
};

struct ListingPage {
  std::vector<Listing> listings;
  bool more = false;  // a next page has at least one listing
};

// The free text as an FTS5 query: every word (letters and digits; other
// characters separate words) as a quoted prefix term, all required. Empty
// when q has no word. Words past the 16th are left out (a bounded query).
Result<std::string> fts_query_of(std::string_view q);

class ListingsView final : public Projection {
 public:
  static constexpr std::string_view kName = "listings";
  static constexpr int kVersion = 1;

  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  Status prepare(Db& db) override;
  Status apply(const ViewEvent& event) override;
  Status begin_build() override;
  Status finish_batch() override;
  Status finish_build() override;
  void abort_batch() override;
  // ~3.3 us a row
  uint64_t build_seal_nanos() const override { return (pending_.size() + pending_partners_.size()) * 3300; }

  static Result<ListingPage> search(Db& db, const ListingQuery& q);

 private:
  Status run(std::string_view key, const std::function<void(Statement&)>& bind);
  // Makes the profile's FTS row match its state: present iff published and
  // the partner is not suspended.
  // During a build, both only note what to sync: the FTS rows are written
  // once per profile at the end (finish_build), from the final rows, instead
  // of deleted and inserted again at each of its events.
  Status sync(const std::string& partner, const std::string& region);
  Status sync_partner(const std::string& partner);
  Status sync_now(const std::string& partner, const std::string& region);
  Result<std::vector<std::string>> regions_of(const std::string& partner);

  std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements_;
  Db* db_ = nullptr;
  bool whole_build_ = false;
  std::set<std::pair<std::string, std::string>> pending_;  // (partner, region) to sync at the build's end
  std::set<std::string> pending_partners_;                 // every region of these too
};

}  // namespace accountable
