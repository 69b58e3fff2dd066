#include "server/api.h"

#include <boost/json.hpp>

#include "server/api_replies.h"
#include "server/openapi_yaml.h"
#include "server/store_health.h"

namespace accountable {

using namespace api;  // NOLINT: the shared replies and parsers

void Api::add_operation_routes() {
  router_.add(http::verb::get, "/healthz", bind(&Api::get_health));
  router_.add(http::verb::get, "/metrics", bind(&Api::get_metrics));
  router_.add(http::verb::get, "/v1/openapi.yaml", bind(&Api::get_openapi));
}

ApiReply Api::get_health(const ApiRequest&) {
  bool healthy = true;
  json::object log{{"head", stack_.log().head().value()}};
  const Status log_health = stack_.log().health();
  log["writable"] = log_health.is_ok();
  if (!log_health.is_ok()) {
    // e.g. poisoned after a failed fsync: reads go on, writes are refused
    log["error"] = StoreHealth::process().public_message(log_health);
    healthy = false;
  }
  json::object health{{"log", std::move(log)}};
  // Each store of the data folder: free space, and a recent I/O failure.
  json::object stores;
  for (const StoreHealth::Report& r :
       StoreHealth::process().report(stack_.data_dir(), options_.min_free_bytes, options_.store_error_window)) {
    json::object o{{"status", r.degraded ? "degraded" : "ok"}, {"free_bytes", r.free_bytes}};
    if (r.low_on_space) o["low_on_space"] = true;
    if (!r.last_error.empty()) {
      o["error"] = r.last_error;
      o["seconds_since_error"] = r.seconds_since_error;
    }
    if (r.degraded) healthy = false;
    stores[r.store] = std::move(o);
  }
  if (options_.security_log) {
    const SecurityLogStats s = options_.security_log->stats();
    if (s.poisoned || s.failing) {
      json::object& o = stores["security_log"].is_object() ? stores["security_log"].as_object()
                                                           : stores["security_log"].emplace_object();
      o["status"] = "degraded";
      o["error"] = s.poisoned ? "an fsync failed: nothing more is recorded until a restart"
                              : "records are not being written (" + s.last_error + ")";
      healthy = false;
    }
  }
  health["stores"] = std::move(stores);
  if (views_) {
    json::array views;
    for (const ViewStatus& v : views_->lag()) {
      json::object o{{"name", v.name}, {"position", v.position.value()}, {"lag", v.lag}, {"serving", v.serving}};
      if (!v.error.is_ok()) {
        o["error"] = StoreHealth::process().public_message(v.error);
        healthy = false;
      }
      views.push_back(std::move(o));
    }
    health["views"] = std::move(views);
  }
  for (const HealthContributor& c : health_) c(health, &healthy);
  health["status"] = healthy ? "ok" : "degraded";
  return reply_json(health, healthy ? http::status::ok : http::status::service_unavailable);
}

ApiReply Api::get_metrics(const ApiRequest&) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics_.render();
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

ApiReply Api::get_openapi(const ApiRequest&) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "application/yaml");
  res.body() = std::string(openapi_yaml());
  res.prepare_payload();
  return ApiReply{std::move(res), nullptr};
}

}  // namespace accountable
