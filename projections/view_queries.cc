#include "projections/view_queries.h"

#include <boost/json.hpp>

#include "aggregates/context.h"
#include "schema/notification_ids.h"

namespace accountable {

// Price lists are the operator's, not a partner's: a partner user reads them
// on behalf of their own partner, an auditor of the partner it audits
// (own_partner, aggregates/roles.h).

template <class T, class Fn>
Result<T> ViewQueries::run(const Principal& who, Permission permission, const std::optional<PartnerId>& partner,
                           std::string_view view, const QueryOptions& options, Fn&& query) const {
  return run_in<T>(views_, who, permission, partner, view, options, std::forward<Fn>(query));
}

template <class T, class Fn>
Result<T> ViewQueries::run_in(const ViewSet& set, const Principal& who, Permission permission,
                              const std::optional<PartnerId>& partner, std::string_view view,
                              const QueryOptions& options, Fn&& query) const {
  // Authorize before anything else: a refused caller learns nothing, not even the view's lag.
  ACCT_RETURN_IF_ERROR(authorize(who, permission, partner));
  if (options.min_position) {
    ACCT_RETURN_IF_ERROR(set.wait_for(view, *options.min_position, std::chrono::steady_clock::now() + options.wait));
  }
  std::optional<T> out;
  ACCT_RETURN_IF_ERROR(set.read(view, [&](Db& db) -> Status {
    auto result = query(db);
    if (!result) return result.status();
    out = std::move(*result);
    return Status::ok();
  }));
  return std::move(*out);
}

Result<CatalogPage> ViewQueries::catalog(const Principal& who, const PartnerId& partner, Timestamp date,
                                         const CatalogFilter& filter, const QueryOptions& options) const {
  return run<CatalogPage>(who, Permission::kReadCatalog, partner, CatalogView::kName, options,
                          [&](Db& db) -> Result<CatalogPage> {
                            if (&catalog_views_ == &views_) return CatalogView::query(db, partner, date, filter);
                            // The partner's pins here, the offers in the shard that keeps the catalog.
                            std::optional<Result<CatalogPage>> page;
                            Status read = catalog_views_.read(CatalogView::kName, [&](Db& catalog_db) -> Status {
                              page = CatalogView::query(db, catalog_db, partner, date, filter);
                              return Status::ok();
                            });
                            if (!read.is_ok()) return read;
                            return std::move(*page);
                          });
}

Result<std::optional<PriceQuote>> ViewQueries::price(const Principal& who, const std::string& offer_id,
                                                     const std::string& market, const std::string& currency,
                                                     Timestamp date, const QueryOptions& options) const {
  return run_in<std::optional<PriceQuote>>(
      catalog_views_, who, Permission::kReadPriceLists, own_partner(who), PricingView::kName, options,
      [&](Db& db) { return PricingView::price(db, offer_id, market, currency, date); });
}

Result<std::vector<PriceListView>> ViewQueries::price_list(const Principal& who, const std::string& market,
                                                           Timestamp date, const std::string& currency,
                                                           const QueryOptions& options) const {
  return run_in<std::vector<PriceListView>>(
      catalog_views_, who, Permission::kReadPriceLists, own_partner(who), PricingView::kName, options,
      [&](Db& db) { return PricingView::current_list(db, market, date, currency); });
}

Result<std::vector<PriceListView>> ViewQueries::price_list_preview(const Principal& who, const std::string& market,
                                                                   Timestamp date, const std::string& currency,
                                                                   const QueryOptions& options) const {
  return run_in<std::vector<PriceListView>>(
      catalog_views_, who, Permission::kReadPriceLists, own_partner(who), PricingView::kName, options,
      [&](Db& db) { return PricingView::preview(db, market, date, currency); });
}

Result<std::vector<PriceQuote>> ViewQueries::price_history(const Principal& who, const std::string& offer_id,
                                                           const std::string& market, const std::string& currency,
                                                           const QueryOptions& options) const {
  return run_in<std::vector<PriceQuote>>(
      catalog_views_, who, Permission::kReadPriceLists, own_partner(who), PricingView::kName, options,
      [&](Db& db) { return PricingView::history(db, offer_id, market, currency); });
}

Result<PriceDiff> ViewQueries::price_diff(const Principal& who, const std::string& market, const std::string& currency,
                                          YearMonth from, YearMonth to, const QueryOptions& options) const {
  return run_in<PriceDiff>(catalog_views_, who, Permission::kReadPriceLists, own_partner(who), PricingView::kName,
                           options, [&](Db& db) { return PricingView::diff(db, market, currency, from, to); });
}

Result<std::vector<DirectoryUser>> ViewQueries::users(const Principal& who, const PartnerId& partner,
                                                      std::optional<DirectoryStatus> status,
                                                      const QueryOptions& options) const {
  return run<std::vector<DirectoryUser>>(who, Permission::kReadUserDirectory, partner, DirectoryView::kName, options,
                                         [&](Db& db) { return DirectoryView::users(db, partner, status); });
}

Result<std::vector<DirectoryUser>> ViewQueries::role_holders(const Principal& who, const PartnerId& partner, Role role,
                                                             const QueryOptions& options) const {
  return run<std::vector<DirectoryUser>>(who, Permission::kReadUserDirectory, partner, DirectoryView::kName, options,
                                         [&](Db& db) { return DirectoryView::holders(db, partner, role); });
}

Result<PartnerProfileView> ViewQueries::profile(const Principal& who, const PartnerId& partner, Timestamp date,
                                                const QueryOptions& options) const {
  auto view = run<PartnerProfileView>(who, Permission::kReadCatalog, partner, ProfileView::kName, options,
                                      [&](Db& db) { return ProfileView::query(db, partner, date); });
  if (!view) return view;
  // Who manages a part reads it (docs/http-api.md, "Profile").
  withhold_profile_parts(*view, authorize(who, Permission::kUpdateLegalProfile, partner).is_ok(),
                         authorize(who, Permission::kManageBilling, partner).is_ok());
  return view;
}

Result<ExpiringPage> ViewQueries::expiring_tax_exemptions(const Principal& who, const ExpiringQuery& q,
                                                          const QueryOptions& options) const {
  const Permission permission = q.partner ? Permission::kManageBilling : Permission::kVetPartners;
  return run<ExpiringPage>(who, permission, q.partner, ProfileView::kName, options,
                           [&](Db& db) { return ProfileView::expiring(db, q); });
}

namespace {

Result<NotificationReader> reader_of(const Principal& who) {
  const auto* user = std::get_if<PartnerUser>(&who);
  if (!user) return Status(StatusCode::kForbidden, "only partner users have notifications", "principal");
  ACCT_RETURN_IF_ERROR(authorize(who, Permission::kReadOwnNotifications, user->partner_id));
  return NotificationReader{user->partner_id, user->user_id,
                            authorize(who, Permission::kReadPriceLists, user->partner_id).is_ok()};
}

}  // namespace

Result<NotificationFeed> ViewQueries::notifications(const Principal& who, const NotificationQuery& q, Timestamp now,
                                                    const QueryOptions& options) const {
  auto reader = reader_of(who);
  if (!reader) return reader.status();
  NotificationFeed feed;
  auto page = run<NotificationPage>(who, Permission::kReadOwnNotifications, reader->partner_id,
                                    NotificationsView::kName, options,
                                    [&](Db& db) { return NotificationsView::feed(db, *reader, q); });
  if (!page) return page.status();
  feed.page = std::move(*page);
  feed.unread_count = feed.page.unread_count;
  if (!authorize(who, Permission::kManageBilling, reader->partner_id).is_ok()) return feed;
  ExpiringQuery expiring;
  expiring.partner = reader->partner_id;
  expiring.from = now;
  expiring.until = plus_days(now, kTaxReminderDays);
  expiring.limit = 100;  // a partner files a few certificates per jurisdiction
  auto certificates = run<ExpiringPage>(who, Permission::kManageBilling, reader->partner_id, ProfileView::kName,
                                        options, [&](Db& db) { return ProfileView::expiring(db, expiring); });
  if (!certificates) return certificates.status();
  std::vector<Notification> reminders;
  std::vector<std::string> ids;
  for (const ExpiringExemption& x : certificates->items) {
    if (x.covered_after_expiry) continue;  // renewed ahead: nothing to do
    Notification n;
    n.id = tax_notification_id(x.exemption_id, x.expires_on);
    n.kind = "tax_certificate_expiring";
    n.at = plus_days(x.expires_on, -kTaxReminderDays);  // when it entered the window
    n.partner_id = x.partner_id;
    n.details = boost::json::serialize(boost::json::object{{"exemption_id", x.exemption_id.to_string()},
                                                           {"jurisdiction", x.jurisdiction},
                                                           {"expires_on", format_timestamp(x.expires_on)}});
    ids.push_back(n.id);
    reminders.push_back(std::move(n));
  }
  auto read = run<std::set<std::string>>(who, Permission::kReadOwnNotifications, reader->partner_id,
                                         NotificationsView::kName, {},
                                         [&](Db& db) { return NotificationsView::marked_read(db, reader->user_id, ids); });
  if (!read) return read.status();
  for (Notification& n : reminders) {
    n.read = read->count(n.id) > 0;
    if (!n.read) ++feed.unread_count;
    if (!q.before && !(q.unread_only && n.read)) feed.reminders.push_back(std::move(n));
  }
  return feed;
}

Result<std::vector<Notification>> ViewQueries::notifications_after(const Principal& who, uint64_t position,
                                                                   size_t limit) const {
  auto reader = reader_of(who);
  if (!reader) return reader.status();
  return run<std::vector<Notification>>(
      who, Permission::kReadOwnNotifications, reader->partner_id, NotificationsView::kName, {},
      [&](Db& db) { return NotificationsView::after(db, *reader, position, limit); });
}

Result<ListingPage> ViewQueries::listings(const ListingQuery& q, const QueryOptions& options) const {
  // Nothing to authorize: the view holds only what a published profile shows.
  if (options.min_position) {
    ACCT_RETURN_IF_ERROR(views_.wait_for(ListingsView::kName, *options.min_position,
                                         std::chrono::steady_clock::now() + options.wait));
  }
  std::optional<ListingPage> out;
  ACCT_RETURN_IF_ERROR(views_.read(ListingsView::kName, [&](Db& db) -> Status {
    auto page = ListingsView::search(db, q);
    if (!page) return page.status();
    out = std::move(*page);
    return Status::ok();
  }));
  return std::move(*out);
}

Result<AuditPage> ViewQueries::timeline(const Principal& who, const PartnerId& partner, GlobalPosition from,
                                        size_t limit, const QueryOptions& options) const {
  return run<AuditPage>(who, Permission::kReadAuditHistory, partner, AuditView::kName, options,
                        [&](Db& db) { return AuditView::page(db, views_.log(), views_.cipher(), partner, from, limit); });
}

Result<AuditPage> ViewQueries::timeline_between(const Principal& who, const PartnerId& partner, Timestamp from_time,
                                                Timestamp to_time, GlobalPosition from, size_t limit,
                                                const QueryOptions& options) const {
  return run<AuditPage>(who, Permission::kReadAuditHistory, partner, AuditView::kName, options, [&](Db& db) {
    return AuditView::between(db, views_.log(), views_.cipher(), partner, from_time, to_time, from, limit);
  });
}

}  // namespace accountable
