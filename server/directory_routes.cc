// The public partner directory (issue 22, item 5): GET /v1/directory/profiles
// answers anyone, without a token, from the `listings` view (published
// business profiles only, no personal data), rate-limited per client address
// and per node (RateLimiter: 429 / 503 with Retry-After).
#include <boost/json.hpp>

#include "projections/view_json.h"
#include "server/api.h"
#include "server/api_replies.h"
#include "server/shard_positions.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

// A text filter: at most `max` characters (code points), no control characters.
Result<std::string> text_param(const ApiRequest& req, const std::string& key, size_t max) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return std::string();
  size_t characters = 0;
  for (unsigned char c : it->second) {
    if (c < 0x20 || c == 0x7f) return invalid_argument("has a control character", key);
    if ((c & 0xC0) != 0x80) ++characters;
  }
  if (characters > max) return invalid_argument("at most " + std::to_string(max) + " characters", key);
  return it->second;
}

}  // namespace

void Api::add_directory_routes() {
  router_.add(http::verb::get, "/v1/directory/profiles", bind(&Api::get_directory_profiles));
}

ApiReply Api::get_directory_profiles(const ApiRequest& req) {
  const auto verdict = directory_limiter_->take(req.client_address, RateLimiter::Clock::now());
  if (verdict.refusal != RateLimiter::Refusal::kNone) {
    const std::string seconds = std::to_string((verdict.wait.count() + 999) / 1000);
    const bool global = verdict.refusal == RateLimiter::Refusal::kGlobal;
    ApiReply r = reply_with_status(
        Status(StatusCode::kBusy, std::string("too many directory searches ") +
                                      (global ? "on this server" : "from this address") + "; retry in " + seconds +
                                      " s"),
        global ? http::status::service_unavailable : http::status::too_many_requests);
    r.response.set(http::field::retry_after, seconds);
    return r;
  }
  if (!queries_) return reply_error(Status(StatusCode::kBusy, "the views are not running"));
  ListingQuery q;
  for (auto [key, out, max] : {std::tuple{"region", &q.region, size_t{32}}, std::tuple{"industry", &q.industry, size_t{100}},
                               std::tuple{"product", &q.product, size_t{100}}, std::tuple{"q", &q.q, size_t{200}}}) {
    auto v = text_param(req, key, max);
    if (!v) return reply_error(v.status());
    *out = std::move(*v);
  }
  // Deep pages are bounded: a search reads at most 25 x 100 = 2,500 listings.
  auto limit = query_u64(req, "limit", 20, 1, 100);
  if (!limit) return reply_error(limit.status());
  auto page = query_u64(req, "page", 1, 1, 25);
  if (!page) return reply_error(page.status());
  q.limit = *limit;
  q.page = *page;
  if (req.first_rows > 0) {
    q.limit = req.first_rows;
    q.page = 1;
  }
  QueryOptions options;
  options.wait = options_.min_position_wait;
  if (auto it = req.query.find("min_position"); it != req.query.end()) {
    auto mp = position_for(it->second, options_.shard);
    if (!mp) return reply_error(mp.status());
    if (*mp) {
      if (Status s = check_position_written(views_->log(), **mp); !s.is_ok()) return reply_error(s);
      options.min_position = GlobalPosition(**mp);
    }
  }
  return reply_result(queries_->listings(q, options));
}

}  // namespace accountable
