// One's own notifications (issue 22, item 7; projections/notifications_view.h):
//   GET  /v1/me/notifications            the feed, newest first, keyset-paged
//   POST /v1/me/notifications/read       MarkNotificationsRead, through the command pipeline
//   GET  /v1/me/notifications/subscribe  Server-Sent Events: new notifications as the view applies them
// Partner users only: the operator and auditors have no feed (403).
#include <boost/json.hpp>

#include "projections/notifications_view.h"
#include "schema/notification_ids.h"
#include "server/api.h"
#include "server/api_replies.h"
#include "server/shard_positions.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

constexpr uint64_t kMaxNotificationPage = 100;

json::object notification_json(const Notification& n) {
  json::error_code ec;
  json::value details = json::parse(n.details, ec);
  if (ec || !details.is_object()) details = json::object{};
  return json::object{{"id", n.id},
                      {"kind", n.kind},
                      {"at", format_timestamp(n.at)},
                      {"partner_id", n.partner_id.to_string()},
                      {"read", n.read},
                      {"details", std::move(details)}};
}

json::array notifications_json(const std::vector<Notification>& items) {
  json::array out;
  for (const Notification& n : items) out.push_back(notification_json(n));
  return out;
}

// A log notification's id, as a cursor (`after`) or a resume point (Last-Event-ID).
Result<uint64_t> position_of_id(std::string_view text, const std::string& field) {
  // At most 18 digits (a log position; the API document's pattern says so).
  auto position = text.size() <= 18 ? log_notification_position(text) : std::nullopt;
  if (!position) {
    return invalid_argument("must be the id of a notification of the log (a position, such as \"1234\")", field);
  }
  return *position;
}

Status only_known_parameters(const ApiRequest& req, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : req.query) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid_argument("is not a parameter of this route", key);
    }
  }
  return Status::ok();
}

// New notifications of one user, as the view applies them. `id` is the
// notification's id, so a client resumes with Last-Event-ID.
class NotificationStream final : public ResponseStream {
 public:
  // `reader` answers the caller with current rights (token, user, roles), or
  // why the stream must end; asked before each round.
  NotificationStream(const ViewSet& views, const ViewQueries& queries, uint64_t cursor,
                     std::function<Result<Principal>()> reader)
      : views_(views), queries_(queries), cursor_(cursor), reader_(std::move(reader)) {}
  std::string content_type() const override { return "text/event-stream"; }
  std::optional<std::string> next(std::chrono::milliseconds wait) override {
    if (ended_) return std::nullopt;
    // Sleeps until the view applies something past what the last query saw, or `wait`.
    if (!more_ && !views_.wait_for(NotificationsView::kName, GlobalPosition(checked_ + 1),
                                   std::chrono::steady_clock::now() + wait)
                       .is_ok()) {
      return quiet();
    }
    // Read before the query: whatever the view applies after this, the next round sees.
    auto seen = views_.status(NotificationsView::kName);
    if (!seen) return end(seen.status());
    checked_ = seen->position.value();
    // The caller's rights now: a revoked token or a deactivated user ends the stream.
    auto who = reader_();
    if (!who) return end(who.status());
    auto items = queries_.notifications_after(*who, cursor_, kBatch);
    if (!items) return end(items.status());
    more_ = items->size() == kBatch;
    if (items->empty()) return quiet();
    quiet_rounds_ = 0;
    std::string out;
    for (const Notification& n : *items) {
      out += "id: " + n.id + "\nevent: " + n.kind + "\ndata: " + json::serialize(notification_json(n)) + "\n\n";
      cursor_ = n.position;
    }
    return out;
  }

 private:
  static constexpr size_t kBatch = 100;
  std::string end(const Status& s) {
    ended_ = true;
    return "event: error\ndata: " + json::serialize(json::object{{"error", error_object(s)}}) + "\n\n";
  }
  std::string quiet() {
    // A comment now and then keeps proxies from closing the stream.
    if (++quiet_rounds_ % 15 == 0) return ": keep-alive\n\n";
    return std::string();
  }

  const ViewSet& views_;
  const ViewQueries& queries_;
  uint64_t cursor_;       // the last position sent (or skipped: before the stream began)
  uint64_t checked_ = 0;  // the view's position before the last query
  std::function<Result<Principal>()> reader_;
  unsigned quiet_rounds_ = 0;
  bool more_ = true;  // the first round reads at once (a resume may have some waiting)
  bool ended_ = false;
};

}  // namespace

void Api::add_notification_routes() {
  router_.add(http::verb::get, "/v1/me/notifications", bind(&Api::get_my_notifications));
  router_.add(http::verb::post, "/v1/me/notifications/read", bind(&Api::post_my_notifications_read));
  router_.add(http::verb::get, "/v1/me/notifications/subscribe", bind(&Api::subscribe_my_notifications));
}

// Newest first: `limit` (1-100, default 20) log notifications before the
// cursor `after` (the last id of the page before); `unread=true` keeps the
// unread ones. Reminders (expiring tax certificates) come on the first page.
ApiReply Api::get_my_notifications(const ApiRequest& req) {
  if (Status s = only_known_parameters(req, {"unread", "limit", "after", "min_position"}); !s.is_ok()) {
    return reply_error(s);
  }
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  NotificationQuery q;
  if (auto it = req.query.find("unread"); it != req.query.end()) {
    if (it->second != "true" && it->second != "false") return reply_error(invalid_argument("must be true or false", "unread"));
    q.unread_only = it->second == "true";
  }
  auto limit = query_u64(req, "limit", 20, 1, kMaxNotificationPage);
  if (!limit) return reply_error(limit.status());
  q.limit = *limit;
  if (auto it = req.query.find("after"); it != req.query.end()) {
    auto position = position_of_id(it->second, "after");
    if (!position) return reply_error(position.status());
    q.before = *position;
  }
  auto feed = queries_->notifications(read->who, q, now(), read->options);
  if (!feed) return reply_error(feed.status());
  return reply_json(json::object{
      {"notifications", notifications_json(feed->page.items)},
      {"reminders", notifications_json(feed->reminders)},
      {"unread_count", feed->unread_count},
      {"next", feed->page.next ? json::value(log_notification_id(*feed->page.next)) : json::value(nullptr)}});
}

// {"up_to": <a notification id of the log, as a number or string>, "ids": [...]}:
// marks read every notification of the log at or before up_to, and each id named.
ApiReply Api::post_my_notifications_read(const ApiRequest& req) {
  if (auto elsewhere = route_write(req)) return std::move(*elsewhere);
  auto finish = [&](const Status& s) {
    metrics_.count_command(MarkNotificationsRead::kName, status_code_name(s.code()));
    return reply_error(s);
  };
  auto grant = authenticate(req);
  if (!grant) return finish(grant.status());
  if (grant->kind != TokenGrant::Kind::kUser) {
    return finish(Status(StatusCode::kForbidden, "only partner users have notifications; the operator and auditors have none"));
  }
  auto who = current_principal(*grant);
  if (!who) return finish(who.status());
  auto body = parse_body_object(req);
  if (!body) return finish(body.status());
  MarkNotificationsRead mark{grant->partner, grant->user, 0, {}};
  for (const auto& kv : *body) {
    const std::string key(kv.key());
    if (key == "up_to") {
      if (kv.value().is_string()) {
        auto position = position_of_id(kv.value().as_string(), "up_to");
        if (!position) return finish(position.status());
        mark.up_to = *position;
      } else if (kv.value().is_uint64() || (kv.value().is_int64() && kv.value().as_int64() >= 0)) {
        mark.up_to = kv.value().to_number<uint64_t>();
      } else {
        return finish(invalid_argument("must be a notification id of the log (a position)", key));
      }
    } else if (key == "ids") {
      if (!kv.value().is_array()) return finish(invalid_argument("must be an array of notification ids", key));
      const json::array& ids = kv.value().as_array();
      if (ids.size() > kMaxNotificationIds) {
        return finish(invalid_argument("at most " + std::to_string(kMaxNotificationIds) + " ids", key));
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_string()) return finish(invalid_argument("must be a string", "ids[" + std::to_string(i) + "]"));
        mark.ids.emplace_back(ids[i].as_string());
      }
    } else {
      return finish(invalid_argument("is not a field of POST /v1/me/notifications/read (up_to, ids)", key));
    }
  }
  auto reply = pipeline_.run(*who, ParsedCommand{CommandId::random(), mark});
  if (!reply) return finish(reply.status());
  metrics_.count_command(MarkNotificationsRead::kName, "ok");
  const uint64_t last = reply->outcome.last_position.value();
  // min_position: GET /v1/me/notifications with it shows the new read state.
  return reply_json(json::object{{"position", reply->outcome.first_position.value()},
                                 {"last_position", last},
                                 {"min_position", position_token(options_.shard, last)}});
}

// From now on (or after Last-Event-ID, a notification id of the log), each
// notification of the caller's feed as the view applies it. Reminders are
// not sent (they are derived from the date, not from events).
ApiReply Api::subscribe_my_notifications(const ApiRequest& req) {
  if (Status s = only_known_parameters(req, {}); !s.is_ok()) return reply_error(s);
  if (!views_ || !queries_) return reply_error(Status(StatusCode::kBusy, "the views are not running"));
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  if (!std::holds_alternative<PartnerUser>(*who)) {
    return reply_error(Status(StatusCode::kForbidden, "only partner users have notifications", "principal"));
  }
  // Authorized before anything is read: a refused caller learns nothing.
  if (Status s = authorize(*who, Permission::kReadOwnNotifications, own_partner(*who)); !s.is_ok()) {
    return reply_error(s);
  }
  uint64_t cursor = 0;
  if (auto last = req.http.find("Last-Event-ID"); last != req.http.end()) {
    auto position = position_of_id(std::string_view(last->value().data(), last->value().size()), "Last-Event-ID");
    if (!position) return reply_error(position.status());
    cursor = *position;
  } else {
    // "Now" is the log's durable head, not the view's position: a view that
    // lags must not send what was committed before the subscription as new.
    cursor = stack_.log().head().value();
  }
  auto authorization = std::make_shared<WipedString>(std::string(req.http[http::field::authorization]));
  auto reader = [this, authorization]() -> Result<Principal> {
    HttpRequest probe;
    probe.set(http::field::authorization, authorization->value);
    const ApiRequest again{probe, "", {}, {}, ""};
    return caller(again);
  };
  ApiReply r{json_response(http::status::ok, ""), nullptr};
  r.stream = std::make_shared<NotificationStream>(*views_, *queries_, cursor, std::move(reader));
  return r;
}

}  // namespace accountable
