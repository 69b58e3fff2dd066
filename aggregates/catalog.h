// The catalog aggregate (stream "catalog"): the operator's offers and price
// lists. Read by the partner (pins) and business-profile (products) decisions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "aggregates/context.h"
#include "schema/commands.h"

namespace accountable {

struct CatalogOffer {
  Offer offer;
  bool retired = false;
};

struct PublishedPriceList {
  PriceList list;
  Timestamp published_at;
};

struct CatalogState {
  StreamVersion version;
  std::map<std::string, CatalogOffer> offers;  // by offer id
  std::vector<PublishedPriceList> price_lists;
};

CatalogState evolve(CatalogState state, const DomainEvent& event);

Result<Decision> decide(const CatalogState& s, const PublishOffer& c, const CommandContext& ctx);
Result<Decision> decide(const CatalogState& s, const UpdateOffer& c, const CommandContext& ctx);
Result<Decision> decide(const CatalogState& s, const RetireOffer& c, const CommandContext& ctx);
Result<Decision> decide(const CatalogState& s, const PublishPriceList& c, const CommandContext& ctx);

// [start, end) of a price list's calendar month, UTC.
Timestamp month_start(int year, int month);
Timestamp month_end(int year, int month);

// An offer can be ordered in `market` at `now` when it exists, is not retired,
// and a price list for that market in effect now has a non-DEL row for it whose
// [valid_from, valid_to] contains now. kNotFound (unknown offer) or
// kRuleViolated (pinned_offer_must_be_orderable) otherwise; `field` is given.
Status check_orderable(const CatalogState& s, const std::string& offer_id, const std::string& market, Timestamp now,
                       const std::string& field);

// The offer exists and is not retired (a "vendor product").
bool is_live_offer(const CatalogState& s, const std::string& offer_id);

}  // namespace accountable
