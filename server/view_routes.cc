#include "server/api.h"

#include <boost/json.hpp>
#include <cctype>

#include "aggregates/context.h"
#include "aggregates/roles.h"
#include "aggregates/validation.h"
#include "projections/view_csv.h"
#include "projections/view_json.h"
#include "server/api_replies.h"
#include "server/shard_positions.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

// `format=csv`, or an Accept header that names text/csv (and no format=json).
Result<bool> wants_csv(const ApiRequest& req) {
  if (auto f = req.query.find("format"); f != req.query.end()) {
    if (f->second == "csv") return true;
    if (f->second == "json") return false;
    return invalid_argument("must be json or csv", "format");
  }
  auto accept = req.http.find(http::field::accept);
  return accept != req.http.end() && accept->value().find("text/csv") != boost::beast::string_view::npos;
}

// A download: the CSV body, named for the spreadsheet's title bar.
ApiReply reply_csv(std::string body, const std::string& file_name) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::server, "accountable");
  res.set(http::field::content_type, kCsvContentType);
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::content_disposition, "attachment; filename=\"" + file_name + "\"");
  res.body() = std::move(body);
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

// Letters, digits and '-' only: the name goes into a header.
std::string file_name_part(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
  return out;
}

// "YYYY-MM": the month of the lists in the answer, else of `date`.
std::string month_part(const std::vector<PriceListView>& lists, Timestamp date) {
  if (lists.empty()) return format_timestamp(date).substr(0, 7);
  return year_month_text(lists.front().list.year, lists.front().list.month);
}

}  // namespace

void Api::add_view_routes() {
  router_.add(http::verb::get, "/v1/partners/{id}/catalog", bind(&Api::get_catalog));
  router_.add(http::verb::get, "/v1/pricing/{market}/{currency}", bind(&Api::get_pricing));
  router_.add(http::verb::get, "/v1/pricing/{market}/{currency}/preview", bind(&Api::get_pricing_preview));
  router_.add(http::verb::get, "/v1/pricing/{market}/{currency}/diff", bind(&Api::get_pricing_diff));
  router_.add(http::verb::get, "/v1/pricing/{market}/{currency}/offers/{offer_id}", bind(&Api::get_offer_price));
  router_.add(http::verb::get, "/v1/pricing/{market}/{currency}/offers/{offer_id}/history",
              bind(&Api::get_offer_price_history));
  router_.add(http::verb::get, "/v1/partners/{id}/users", bind(&Api::get_users));
  router_.add(http::verb::get, "/v1/partners/{id}/profile", bind(&Api::get_profile));
  router_.add(http::verb::get, "/v1/partners/{id}/tax-exemptions/expiring", bind(&Api::get_expiring_tax_exemptions));
  router_.add(http::verb::get, "/v1/tax-exemptions/expiring", bind(&Api::get_expiring_tax_exemptions));
  router_.add(http::verb::post, "/v1/views/{name}/rebuild", bind(&Api::post_view_rebuild));
}

Result<Api::ViewRead> Api::view_read(const ApiRequest& req, bool reads_catalog) const {
  if (!queries_) return Status(StatusCode::kBusy, "the views are not running");
  auto who = caller(req);
  if (!who) return who.status();
  ViewRead read{std::move(*who), {}};
  read.options.wait = options_.min_position_wait;
  if (auto it = req.query.find("min_position"); it != req.query.end()) {
    // A position, or shard tokens: this shard's part (the catalog's: shard 0).
    auto mp = position_for(it->second, reads_catalog ? 0 : options_.shard);
    if (!mp) return mp.status();
    if (*mp) {
      const ViewSet* views = reads_catalog && options_.catalog_views ? options_.catalog_views : views_;
      if (views) ACCT_RETURN_IF_ERROR(check_position_written(views->log(), **mp));
      read.options.min_position = GlobalPosition(**mp);
    }
  }
  return read;
}

ApiReply Api::get_catalog(const ApiRequest& req) {
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  CatalogFilter filter;
  if (Status s = query_enum(req, "segment", &filter.segment); !s.is_ok()) return reply_error(s);
  if (Status s = query_enum(req, "billing_model", &filter.billing_model); !s.is_ok()) return reply_error(s);
  return reply_result(queries_->catalog(read->who, *partner, *date, filter, read->options));
}

// The market, currency and offer id of a pricing path, checked as the commands check them.
static Status check_pricing_path(const ApiRequest& req) {
  ACCT_RETURN_IF_ERROR(check_field(req.path_params.at("market"), field_rule<PriceList>("market"), "market"));
  ACCT_RETURN_IF_ERROR(check_field(req.path_params.at("currency"), field_rule<PriceList>("currency"), "currency"));
  if (auto offer = req.path_params.find("offer_id"); offer != req.path_params.end()) {
    return check_field(offer->second, field_rule<Offer>("offer_id"), "offer_id");
  }
  return Status::ok();
}

// The price lists of a market and currency: one route per answer, so that
// each has its own parameters (docs/openapi.yaml states them exactly).
ApiReply Api::get_pricing(const ApiRequest& req) {
  auto read = view_read(req, /*reads_catalog=*/true);
  if (!read) return reply_error(read.status());
  if (Status s = check_pricing_path(req); !s.is_ok()) return reply_error(s);
  const std::string& market = req.path_params.at("market");
  const std::string& currency = req.path_params.at("currency");
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  auto csv = wants_csv(req);
  if (!csv) return reply_error(csv.status());
  auto lists = queries_->price_list(read->who, market, *date, currency, read->options);
  if (!lists || !*csv) return reply_result(lists);
  return reply_csv(price_lists_csv(*lists), "price-list-" + file_name_part(market) + "-" + file_name_part(currency) +
                                                "-" + month_part(*lists, *date) + ".csv");
}

ApiReply Api::get_pricing_preview(const ApiRequest& req) {
  auto read = view_read(req, /*reads_catalog=*/true);
  if (!read) return reply_error(read.status());
  if (Status s = check_pricing_path(req); !s.is_ok()) return reply_error(s);
  const std::string& market = req.path_params.at("market");
  const std::string& currency = req.path_params.at("currency");
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  auto csv = wants_csv(req);
  if (!csv) return reply_error(csv.status());
  auto lists = queries_->price_list_preview(read->who, market, *date, currency, read->options);
  if (!lists || !*csv) return reply_result(lists);
  return reply_csv(price_lists_csv(*lists), "price-list-preview-" + file_name_part(market) + "-" +
                                                file_name_part(currency) + "-" + month_part(*lists, *date) + ".csv");
}

ApiReply Api::get_pricing_diff(const ApiRequest& req) {
  auto read = view_read(req, /*reads_catalog=*/true);
  if (!read) return reply_error(read.status());
  if (Status s = check_pricing_path(req); !s.is_ok()) return reply_error(s);
  const std::string& market = req.path_params.at("market");
  const std::string& currency = req.path_params.at("currency");
  auto from = parse_month(req, "from_month");
  if (!from) return reply_error(from.status());
  auto to = parse_month(req, "to_month");
  if (!to) return reply_error(to.status());
  auto csv = wants_csv(req);
  if (!csv) return reply_error(csv.status());
  auto diff = queries_->price_diff(read->who, market, currency, *from, *to, read->options);
  if (!diff || !*csv) return reply_result(diff);
  return reply_csv(price_diff_csv(*diff), "price-list-diff-" + file_name_part(market) + "-" +
                                              file_name_part(currency) + "-" +
                                              file_name_part(req.query.at("from_month")) + "-to-" +
                                              file_name_part(req.query.at("to_month")) + ".csv");
}

ApiReply Api::get_offer_price(const ApiRequest& req) {
  auto read = view_read(req, /*reads_catalog=*/true);
  if (!read) return reply_error(read.status());
  if (Status s = check_pricing_path(req); !s.is_ok()) return reply_error(s);
  const std::string& market = req.path_params.at("market");
  const std::string& currency = req.path_params.at("currency");
  const std::string& offer = req.path_params.at("offer_id");
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  auto quote = queries_->price(read->who, offer, market, currency, *date, read->options);
  if (!quote) return reply_error(quote.status());
  if (!quote->has_value()) {
    return reply_error(Status(StatusCode::kNotFound,
                              "no price for offer " + offer + " in " + market + "/" + currency + " on that date",
                              "offer_id"));
  }
  return reply_json(to_json(*quote));
}

ApiReply Api::get_offer_price_history(const ApiRequest& req) {
  auto read = view_read(req, /*reads_catalog=*/true);
  if (!read) return reply_error(read.status());
  if (Status s = check_pricing_path(req); !s.is_ok()) return reply_error(s);
  return reply_result(queries_->price_history(read->who, req.path_params.at("offer_id"), req.path_params.at("market"),
                                              req.path_params.at("currency"), read->options));
}

ApiReply Api::get_users(const ApiRequest& req) {
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (auto r = req.query.find("role"); r != req.query.end()) {
    const std::optional<Role> role = enum_from_name<Role>(r->second);
    if (!role) {
      return reply_error(invalid_argument("is not a role (e.g. " + std::string(enum_name(Role::kGlobalAdmin)) + ")", "role"));
    }
    return reply_result(queries_->role_holders(read->who, *partner, *role, read->options));
  }
  std::optional<DirectoryStatus> status;
  if (Status s = query_enum(req, "status", &status); !s.is_ok()) return reply_error(s);
  return reply_result(queries_->users(read->who, *partner, status, read->options));
}

ApiReply Api::get_profile(const ApiRequest& req) {
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  return reply_result(queries_->profile(read->who, *partner, *date, read->options));
}

// Certificates expiring within `within_days` (default 30) of `date` (default
// now), soonest first, `limit` per page (default 100) after the cursor `after`.
ApiReply Api::get_expiring_tax_exemptions(const ApiRequest& req) {
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  ExpiringQuery q;
  if (req.path_params.count("id")) {
    auto partner = path_partner(req);
    if (!partner) return reply_error(partner.status());
    q.partner = *partner;
  }
  auto date = query_time(req, "date", now());
  if (!date) return reply_error(date.status());
  auto days = query_u64(req, "within_days", 30, 1, 366);
  if (!days) return reply_error(days.status());
  auto limit = query_u64(req, "limit", 100, 1, 1000);
  if (!limit) return reply_error(limit.status());
  if (auto after = req.query.find("after"); after != req.query.end()) {
    auto cursor = parse_expiring_cursor(after->second);
    if (!cursor) return reply_error(cursor.status());
    q.after = *cursor;
  }
  q.from = *date;
  q.until = plus_days(*date, static_cast<int64_t>(*days));
  q.limit = *limit;
  return reply_result(queries_->expiring_tax_exemptions(read->who, q, read->options));
}

// Blue/green rebuild while the server serves: the old file answers queries
// until the new one has caught up and is swapped in. Operator only.
ApiReply Api::post_view_rebuild(const ApiRequest& req) {
  if (!views_) return reply_error(Status(StatusCode::kBusy, "the views are not running"));
  auto grant = authenticate(req);
  if (!grant) return reply_error(grant.status());
  const Principal who = grant->principal();
  if (Status s = authorize(who, Permission::kRebuildViews, own_partner(who)); !s.is_ok()) return reply_error(s);
  const std::string& name = req.path_params.at("name");
  if (Status s = views_->rebuild(name); !s.is_ok()) return reply_error(s);
  auto status = views_->status(name);
  if (!status) return reply_error(status.status());
  return reply_json(to_json(*status));
}

}  // namespace accountable
