#include "server/api.h"

#include <boost/json.hpp>

#include "aggregates/roles.h"
#include "server/api_replies.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

// The security log (app/security_log.h, docs/security-log.md): the operator
// reads all of it; a partner's Global admin and its auditor read the lines of
// their partner (the audit history's permission). Each node keeps its own.
void Api::add_security_routes() {
  router_.add(http::verb::get, "/v1/security-log", bind(&Api::get_security_log));
  router_.add(http::verb::get, "/v1/partners/{id}/security-log", bind(&Api::get_security_log));
}

ApiReply Api::get_security_log(const ApiRequest& req) {
  auto who = caller(req);
  if (!who) return reply_error(who.status());
  std::optional<PartnerId> partner;
  if (req.path_params.count("id")) {
    auto id = path_partner(req);
    if (!id) return reply_error(id.status());
    partner = *id;
  }
  if (partner) {
    if (Status s = authorize(*who, Permission::kReadAuditHistory, *partner); !s.is_ok()) return reply_error(s);
  } else if (!std::holds_alternative<Operator>(*who)) {
    return reply_error(Status(StatusCode::kForbidden,
                              "the whole security log is the operator's; read /v1/partners/{id}/security-log",
                              "actor"));
  }
  if (!options_.security_log) return reply_error(Status(StatusCode::kNotFound, "this server keeps no security log"));
  auto from = query_u64(req, "from", 1, 1, UINT64_MAX >> 1);
  if (!from) return reply_error(from.status());
  auto limit = query_u64(req, "limit", options_.default_read_limit, 1, options_.max_read_limit);
  if (!limit) return reply_error(limit.status());
  // What was recorded before this request is on disk first (bounded wait).
  (void)options_.security_log->flush(std::chrono::milliseconds(2000));
  std::function<bool(const json::object&)> keep;
  if (partner) {
    keep = [p = partner->to_string()](const json::object& o) {
      const json::value* v = o.if_contains("partner");
      return v != nullptr && v->is_string() && v->as_string() == p;
    };
  }
  auto page = SecurityLog::read(options_.security_log->env(), options_.security_log->dir(), *from, *limit, keep);
  if (!page) return reply_error(page.status());
  json::array records;
  for (json::object& o : page->records) records.push_back(std::move(o));
  return reply_json(json::object{{"records", std::move(records)}, {"next", page->next}, {"end", page->end}});
}

}  // namespace accountable
