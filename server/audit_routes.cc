#include "server/api.h"

#include <boost/json.hpp>
#include <map>

#include "aggregates/partner_export.h"
#include "aggregates/partner_history.h"
#include "aggregates/state_json.h"
#include "projections/view_json.h"
#include "server/api_replies.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

void Api::add_audit_routes() {
  router_.add(http::verb::get, "/v1/partners/{id}/history", bind(&Api::get_history));
  router_.add(http::verb::get, "/v1/partners/{id}/state", bind(&Api::get_state));
  router_.add(http::verb::get, "/v1/partners/{id}/export", bind(&Api::get_export));
}

ApiReply Api::get_history(const ApiRequest& req) {
  auto read = view_read(req);
  if (!read) return reply_error(read.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  if (req.query.count("from_time") || req.query.count("to_time")) {
    auto from_time = query_time(req, "from_time", Timestamp{0});
    if (!from_time) return reply_error(from_time.status());
    auto to_time = query_time(req, "to_time", Timestamp{INT64_MAX});
    if (!to_time) return reply_error(to_time.status());
    return reply_history(
        queries_->timeline_between(read->who, *partner, *from_time, *to_time, GlobalPosition(*from), *limit, read->options), *partner);
  }
  return reply_history(queries_->timeline(read->who, *partner, GlobalPosition(*from), *limit, read->options), *partner);
}

// The view's page, each entry with what it changed: command_type, actor_name
// and changes, from the states before and after the event replayed from the
// log (aggregates/partner_history.h). The view is never ahead of the log.
ApiReply Api::reply_history(const Result<AuditPage>& page, const PartnerId& partner) const {
  if (!page) return reply_error(page.status());
  json::value out = to_json(*page);
  if (page->entries.empty()) return reply_json(out);
  HistoryOptions options;
  options.from_position = page->entries.front().position;
  options.to_position = page->entries.back().position;
  auto lines = partner_history(stack_.log(), &stack_.cipher(), partner, options);
  if (!lines) return reply_error(lines.status());
  std::map<uint64_t, const HistoryLine*> by_position;
  for (const HistoryLine& l : *lines) by_position[l.position.value()] = &l;
  for (json::value& entry : out.at("entries").as_array()) {
    auto it = by_position.find(entry.at("position").to_number<uint64_t>());
    if (it == by_position.end()) continue;
    json::object line = history_line_json(*it->second);
    json::object& e = entry.as_object();
    for (const char* key : {"command_type", "actor_name", "changes"}) e[key] = std::move(line[key]);
  }
  return reply_json(out);
}

// The partner's aggregates as of a time or a position, replayed from the log
// (not the views: the answer is what the log proves). Same permission as the history.
ApiReply Api::get_state(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (Status s = authorize(*who, Permission::kReadAuditHistory, *partner); !s.is_ok()) return reply_error(s);
  // as_of, at_position, both (the earlier point) or neither (the head).
  AsOf point;
  if (req.query.count("as_of")) {
    auto t = query_time(req, "as_of", Timestamp{});
    if (!t) return reply_error(t.status());
    point.time = *t;
  }
  const uint64_t head = stack_.log().head().value();
  if (req.query.count("at_position")) {
    auto n = query_u64(req, "at_position", 0, 0, UINT64_MAX >> 1);
    if (!n) return reply_error(n.status());
    if (*n > head) {
      return reply_error(not_found("position " + std::to_string(*n) + " is beyond the log's head (" +
                                       std::to_string(head) + ")",
                                   "at_position"));
    }
    point.position = GlobalPosition(*n);
  } else if (!point.time) {
    point.position = GlobalPosition(head);
  }
  auto states = partner_state_as_of(stack_.log(), &stack_.cipher(), *partner, point);
  if (!states) return reply_error(states.status());
  return reply_json(partner_states_json(*partner, *states, point));
}

// The partner's export (docs/audit.md, "Exports"): what `acct export` writes,
// every event of the partner with its envelope and a trailer tied to the
// latest signed checkpoint, for the auditor's own tools and `acct
// verify-export`. Replayed from the log, not the views. Same permission as
// the history; the whole partner in one answer (its size is the partner's).
ApiReply Api::get_export(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  auto partner = path_partner(req);
  if (!partner) return reply_error(partner.status());
  if (Status s = authorize(*who, Permission::kReadAuditHistory, *partner); !s.is_ok()) return reply_error(s);
  ExportFormat format = ExportFormat::kJsonl;
  if (auto f = req.query.find("format"); f != req.query.end()) {
    if (f->second == "csv") {
      format = ExportFormat::kCsv;
    } else if (f->second != "jsonl") {
      return reply_error(Status(StatusCode::kInvalidArgument, "must be jsonl or csv", "format"));
    }
  }
  auto log = read_partner_log(stack_.log(), *partner);
  if (!log) return reply_error(log.status());
  auto lines = export_partner(*log, &stack_.cipher(), posix_env(), stack_.data_dir(), *partner, format);
  if (!lines) return reply_error(lines.status());
  HttpResponse res{http::status::ok, 11};
  const bool csv = format == ExportFormat::kCsv;
  res.set(http::field::content_type, csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
  res.set(http::field::content_disposition, "attachment; filename=\"partner-" + partner->to_string() + "-export." +
                                                (csv ? "csv" : "jsonl") + "\"");
  res.set(http::field::cache_control, "no-store");
  size_t bytes = 0;
  for (const std::string& l : *lines) bytes += l.size() + 1;
  res.body().reserve(bytes);
  for (const std::string& l : *lines) {
    res.body() += l;
    res.body() += '\n';
  }
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

}  // namespace accountable
