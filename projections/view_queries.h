// ViewQueries: the questions the portal, the server and the CLI ask the views,
// each authorized with the permission matrix (aggregates/roles.h) before it
// reads anything:
//
//   catalog, profile   kReadCatalog        any user of the partner with a role
//   pricing            kReadPriceLists     Global admin, Billing admin, Admin agent
//   directory          kReadUserDirectory  Global admin, User management admin, Account admin
//   audit timeline     kReadAuditHistory   Global admin; the operator; the partner's auditor
//   expiring tax certificates, a partner's   kManageBilling  Global admin, Billing admin
//   expiring tax certificates, every partner kVetPartners    the operator (who reviews tax documents)
//   the public directory (listings)          none            anyone: published profiles only
//   one's own notifications  kReadOwnNotifications  a partner user (their feed; what it holds
//                            follows their current roles: projections/notifications_view.h)
//
// The principal must be built from current state by the caller (a partner
// user's roles from its stream, as Engine::execute does): these methods trust it.
// The profile has no row of its own in DOMAIN.md's table; it is the partner's
// own account page, so it takes the catalog's "any user with a role".
//
// Read-your-writes: with `min_position` (e.g. the last_position of the
// caller's command), a query first waits until the view has applied that
// position, at most `wait`, else kNotYet naming both positions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "aggregates/principal.h"
#include "aggregates/roles.h"
#include "projections/audit_view.h"
#include "projections/catalog_view.h"
#include "projections/directory_view.h"
#include "projections/listings_view.h"
#include "projections/notifications_view.h"
#include "projections/pricing_view.h"
#include "projections/profile_view.h"
#include "projections/view_set.h"

namespace accountable {

// A user's feed: the log's notifications (paged) and the reminders derived
// when read (expiring tax certificates, for those who manage billing).
struct NotificationFeed {
  NotificationPage page;
  std::vector<Notification> reminders;  // soonest expiry first; only on the first page (no cursor)
  uint64_t unread_count = 0;            // the page's count plus the unread reminders
};
// Reminders of certificates expiring within this many days (not one a
// renewal filed ahead already covers).
inline constexpr int64_t kTaxReminderDays = 30;

struct QueryOptions {
  std::optional<GlobalPosition> min_position;
  std::chrono::milliseconds wait{2000};
};

class ViewQueries {
 public:
  // `catalog_views`: where the catalog's offers and the price lists are read
  // (a cluster with S > 1 shards keeps them in shard 0's views on this node;
  // docs/cluster.md). Null: in `views`.
  explicit ViewQueries(const ViewSet& views, const ViewSet* catalog_views = nullptr)
      : views_(views), catalog_views_(catalog_views != nullptr ? *catalog_views : views) {}

  // ---- catalog (kReadCatalog) ---------------------------------------------------
  Result<CatalogPage> catalog(const Principal& who, const PartnerId& partner, Timestamp date,
                              const CatalogFilter& filter = {}, const QueryOptions& options = {}) const;

  // ---- pricing (kReadPriceLists, on behalf of the principal's own partner) ------
  Result<std::optional<PriceQuote>> price(const Principal& who, const std::string& offer_id, const std::string& market,
                                          const std::string& currency, Timestamp date,
                                          const QueryOptions& options = {}) const;
  // Every list of the market in effect in the date's month (currency "" = any).
  Result<std::vector<PriceListView>> price_list(const Principal& who, const std::string& market, Timestamp date,
                                                const std::string& currency = "", const QueryOptions& options = {}) const;
  // The lists of the month after the date's.
  Result<std::vector<PriceListView>> price_list_preview(const Principal& who, const std::string& market,
                                                        Timestamp date, const std::string& currency = "",
                                                        const QueryOptions& options = {}) const;
  Result<std::vector<PriceQuote>> price_history(const Principal& who, const std::string& offer_id,
                                                const std::string& market = "", const std::string& currency = "",
                                                const QueryOptions& options = {}) const;
  Result<PriceDiff> price_diff(const Principal& who, const std::string& market, const std::string& currency,
                               YearMonth from, YearMonth to, const QueryOptions& options = {}) const;

  // ---- user directory (kReadUserDirectory) --------------------------------------
  Result<std::vector<DirectoryUser>> users(const Principal& who, const PartnerId& partner,
                                           std::optional<DirectoryStatus> status = std::nullopt,
                                           const QueryOptions& options = {}) const;
  Result<std::vector<DirectoryUser>> role_holders(const Principal& who, const PartnerId& partner, Role role,
                                                  const QueryOptions& options = {}) const;

  // ---- partner profile (kReadCatalog) -------------------------------------------
  Result<PartnerProfileView> profile(const Principal& who, const PartnerId& partner, Timestamp date,
                                     const QueryOptions& options = {}) const;

  // ---- expiring tax certificates -------------------------------------------------
  // A partner's (q.partner set: kManageBilling on it) or every partner's
  // (nullopt: kVetPartners, the operator).
  Result<ExpiringPage> expiring_tax_exemptions(const Principal& who, const ExpiringQuery& q,
                                               const QueryOptions& options = {}) const;
  // ---- the public partner directory (anyone: no principal, no personal data) ---
  Result<ListingPage> listings(const ListingQuery& q, const QueryOptions& options = {}) const;
  // ---- one's own notifications (kReadOwnNotifications; partner users only) -------
  // `who` must be a PartnerUser built from current state: its roles decide
  // what it reads (the price lists, the billing reminders).
  Result<NotificationFeed> notifications(const Principal& who, const NotificationQuery& q, Timestamp now,
                                         const QueryOptions& options = {}) const;
  // The log's notifications of `who` after `position`, oldest first (the SSE stream).
  Result<std::vector<Notification>> notifications_after(const Principal& who, uint64_t position, size_t limit) const;
  // ---- audit timeline (kReadAuditHistory) ---------------------------------------
  Result<AuditPage> timeline(const Principal& who, const PartnerId& partner, GlobalPosition from, size_t limit,
                             const QueryOptions& options = {}) const;
  Result<AuditPage> timeline_between(const Principal& who, const PartnerId& partner, Timestamp from_time,
                                     Timestamp to_time, GlobalPosition from, size_t limit,
                                     const QueryOptions& options = {}) const;

 private:
  template <class T, class Fn>
  Result<T> run(const Principal& who, Permission permission, const std::optional<PartnerId>& partner,
                std::string_view view, const QueryOptions& options, Fn&& query) const;
  template <class T, class Fn>
  Result<T> run_in(const ViewSet& set, const Principal& who, Permission permission,
                   const std::optional<PartnerId>& partner, std::string_view view, const QueryOptions& options,
                   Fn&& query) const;

  const ViewSet& views_;
  const ViewSet& catalog_views_;  // the catalog's offers and the price lists
};

}  // namespace accountable
