#include "server/api.h"

#include <boost/json.hpp>
#include <charconv>

#include "aggregates/roles.h"
#include "events/subscription.h"
#include "schema/json_codec.h"
#include "server/api_replies.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

namespace {

// Server-Sent Events over a log subscription: `id` is the position, so a
// client resumes with Last-Event-ID.
class EventStream final : public ResponseStream {
 public:
  // `still_allowed` re-checks the caller (token, user, permission) before each
  // batch is sent: a token revoked or expired, or a user deactivated, ends the stream.
  EventStream(const EventLog& log, GlobalPosition from, AllFilter filter, PersonalDataCipher* cipher,
              std::function<Status()> still_allowed)
      : subscription_(log, from, std::move(filter), 256), cipher_(cipher), still_allowed_(std::move(still_allowed)) {}
  std::string content_type() const override { return "text/event-stream"; }
  std::optional<std::string> next(std::chrono::milliseconds wait) override {
    if (ended_) return std::nullopt;
    auto batch = subscription_.next(wait);
    if (Status s = still_allowed_(); !s.is_ok()) {
      ended_ = true;
      return "event: error\ndata: " + json::serialize(json::object{{"error", error_object(s)}}) + "\n\n";
    }
    if (!batch) {
      return "event: error\ndata: " + json::serialize(json::object{{"error", error_object(batch.status())}}) + "\n\n";
    }
    if (batch->events.empty()) {
      // Quiet: a comment now and then keeps proxies from closing the stream and
      // lets the server notice a client that went away.
      if (++quiet_rounds_ % 15 == 0) return std::string(": keep-alive\n\n");
      return std::string();
    }
    quiet_rounds_ = 0;
    std::string out;
    for (const RecordedEvent& e : batch->events) {
      out += "id: " + std::to_string(e.position.value()) + "\nevent: " + std::string(e.type) + "\ndata: " +
             json::serialize(recorded_event_json(e, cipher_)) + "\n\n";
    }
    return out;
  }

 private:
  Subscription subscription_;
  PersonalDataCipher* cipher_;
  std::function<Status()> still_allowed_;
  unsigned quiet_rounds_ = 0;
  bool ended_ = false;
};

}  // namespace

void Api::add_event_routes() {
  router_.add(http::verb::get, "/v1/streams/{stream}", bind(&Api::get_stream));
  router_.add(http::verb::get, "/v1/events", bind_shard(&Api::get_events));
  router_.add(http::verb::get, "/v1/events/subscribe", bind_shard(&Api::subscribe));
}

ApiReply Api::get_stream(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  const std::string& stream = req.path_params.at("stream");
  if (Status s = validate_stream_id(stream, "stream"); !s.is_ok()) return reply_error(s);
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  auto batch = stack_.log().read_stream(stream, StreamVersion(*from), *limit);
  if (!batch) return reply_error(batch.status());
  const Status absent(StatusCode::kNotFound, "no stream " + stream, "stream");
  const std::optional<PartnerId> own = own_partner(*who);
  auto may_read = [&](const RecordedEvent& e) -> Status {
    Status s = authorize_partner_events(*who, e.partner);
    // Another tenant's stream reads as absent, not as forbidden.
    if (!s.is_ok() && s.code() == StatusCode::kForbidden && !e.partner.empty() && own &&
        own->to_string() != e.partner) {
      return absent;
    }
    return s;
  };
  if (batch->events.empty()) {
    // A page past the end is authorized on the stream's first event, so that it
    // tells a caller without access nothing (not even that the stream exists).
    auto first = stack_.log().read_stream(stream, StreamVersion(1), 1);
    if (!first) return reply_error(first.status());
    if (first->events.empty()) return reply_error(absent);
    if (Status s = may_read(first->events.front()); !s.is_ok()) return reply_error(s);
  }
  json::array events;
  for (const RecordedEvent& e : batch->events) {
    if (Status s = may_read(e); !s.is_ok()) return reply_error(s);
    events.push_back(recorded_event_json(e, &stack_.cipher()));
  }
  return reply_json(json::object{{"stream", stream},
                                 {"version", stack_.log().stream_version(stream).value()},
                                 {"events", std::move(events)}});
}

ApiReply Api::get_events(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  AllFilter filter;
  if (auto t = req.query.find("type"); t != req.query.end()) filter.types.push_back(t->second);
  if (auto p = req.query.find("partner"); p != req.query.end()) filter.partner = p->second;
  if (Status s = restrict_to_own_partner(*who, &filter.partner); !s.is_ok()) return reply_error(s);
  auto batch = stack_.log().read_all(GlobalPosition(*from), *limit, filter);
  if (!batch) return reply_error(batch.status());
  json::array events;
  for (const RecordedEvent& e : batch->events) events.push_back(recorded_event_json(e, &stack_.cipher()));
  return reply_json(json::object{{"events", std::move(events)},
                                 {"next", batch->next_position.value()},
                                 {"end_of_log", batch->end_of_log},
                                 {"head", stack_.log().head().value()}});
}

ApiReply Api::subscribe(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  uint64_t start = *from;
  if (auto last = req.http.find("Last-Event-ID"); last != req.http.end()) {
    uint64_t id = 0;
    std::string_view v = last->value();
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    if (ec != std::errc() || end != v.data() + v.size() || id >= (UINT64_MAX >> 1)) {
      return reply_error(invalid_argument("Last-Event-ID must be a position", "Last-Event-ID"));
    }
    start = id + 1;
  }
  AllFilter filter;
  if (auto p = req.query.find("partner"); p != req.query.end()) filter.partner = p->second;
  if (Status s = restrict_to_own_partner(*who, &filter.partner); !s.is_ok()) return reply_error(s);
  // The stream outlives this request: the caller is checked again before each
  // batch, from the same Authorization value (kept in memory only, wiped).
  auto authorization = std::make_shared<WipedString>(std::string(req.http[http::field::authorization]));
  auto still_allowed = [this, authorization, partner = filter.partner]() -> Status {
    HttpRequest probe;
    probe.set(http::field::authorization, authorization->value);
    const ApiRequest again{probe, "", {}, {}, ""};
    auto current = caller(again);
    if (!current) return current.status();
    std::string asked = partner;
    return restrict_to_own_partner(*current, &asked);
  };
  ApiReply r{json_response(http::status::ok, ""), nullptr};
  r.stream = std::make_shared<EventStream>(stack_.log(), GlobalPosition(start), std::move(filter), &stack_.cipher(),
                                           std::move(still_allowed));
  return r;
}

}  // namespace accountable
