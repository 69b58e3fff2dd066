// The catalog as a partner sees it on a date (view "catalog").
//
// An offer is listed when it is orderable in the partner's market on the date
// (docs/aggregates.md): it is live (not retired) and a price list of that
// market whose month contains the date has a non-DEL row for it whose
// [valid_from, valid_to] contains the date. The market is the country of the
// partner's legal address, which never changes.
//
// The partner's pinned offers come first, in the partner's order, and are not
// repeated in the segment groups. A pinned offer that is not orderable on the
// date (retired, or no price in effect) is still shown among the pins, marked
// unavailable with the reason (docs/aggregates.md: "views show retired pins as
// unavailable"). The other offers are grouped by segment (enterprise, small
// business, government), each group sorted by display name then offer id.
// Filters (segment, billing model) apply to pins and groups alike.
//
// Retirement is the current state, whatever the date (as check_orderable).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace accountable {

struct CatalogFilter {
  std::optional<Segment> segment;
  std::optional<BillingModel> billing_model;
};

struct PinnedCatalogOffer {
  int rank = 0;  // 0-based position in the partner's order
  Offer offer;
  bool available = false;
  std::string unavailable_reason;  // "retired" or "not orderable on this date"; empty when available
  friend bool operator==(const PinnedCatalogOffer&, const PinnedCatalogOffer&) = default;
};

struct CatalogSegment {
  Segment segment = Segment::kEnterprise;
  std::vector<Offer> offers;
  friend bool operator==(const CatalogSegment&, const CatalogSegment&) = default;
};

struct CatalogPage {
  PartnerId partner_id;
  std::string market;
  Timestamp date;
  std::vector<PinnedCatalogOffer> pinned;
  std::vector<CatalogSegment> segments;  // only segments with offers, in enum order
  friend bool operator==(const CatalogPage&, const CatalogPage&) = default;
};

class CatalogView final : public Projection {
 public:
  static constexpr std::string_view kName = "catalog";
  static constexpr int kVersion = 1;

  std::string_view name() const override { return kName; }
  int version() const override { return kVersion; }
  std::vector<std::string> schema() const override;
  std::vector<std::string> indexes() const override;
  Status prepare(Db& db) override;
  Status apply(const ViewEvent& event) override;

  // kNotFound when the view has no such partner.
  static Result<CatalogPage> query(Db& db, const PartnerId& partner, Timestamp date, const CatalogFilter& filter);
  // The same with the partner's rows (market, pins) and the catalog's (offers,
  // price windows) in two views: a cluster with S > 1 shards keeps the catalog
  // in shard 0 (docs/cluster.md).
  static Result<CatalogPage> query(Db& partner_db, Db& catalog_db, const PartnerId& partner, Timestamp date,
                                   const CatalogFilter& filter);

 private:
  Status set_pins(const std::string& partner, const std::vector<std::string>& offers);
  Result<std::vector<std::string>> pins_of(const std::string& partner);

  std::unique_ptr<Statement> upsert_offer_, retire_offer_, insert_window_, insert_partner_;
  std::unique_ptr<Statement> select_pins_, delete_pins_, insert_pin_;
};

}  // namespace accountable
