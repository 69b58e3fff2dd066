// Router: (method, path pattern) -> handler. Patterns are literal segments and
// `{name}` parameters ("/v1/partners/{id}/catalog"); a parameter matches one
// non-empty segment. The route table is data so that the OpenAPI test can check
// every route is documented (docs/openapi.yaml).
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/status.h"

namespace accountable {

namespace http = boost::beast::http;

using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// A long-lived response (Server-Sent Events): after the headers, the session
// asks for the next chunk until nullopt; next() may block up to `wait`.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual std::string content_type() const = 0;
  virtual std::optional<std::string> next(std::chrono::milliseconds wait) = 0;
};

struct ApiRequest {
  const HttpRequest& http;
  std::string path;                                  // decoded path, no query
  std::map<std::string, std::string> path_params;    // percent-decoded
  std::map<std::string, std::string> query;          // percent-decoded; a repeated key keeps the last
  std::string client_address;                        // the TCP peer's IP address ("" when unknown)
  // Set by a cluster's shard router only (never from the wire): a directory
  // search answers its first `first_rows` rows, for the router to merge pages.
  size_t first_rows = 0;
};

struct ApiReply {
  HttpResponse response;
  std::shared_ptr<ResponseStream> stream;  // set: response holds only the status and headers
};

using RouteHandler = std::function<ApiReply(const ApiRequest&)>;

// A route's fast path, for a request that would otherwise hold a worker
// thread while it waits (a command and its fsync). Called on a network
// thread, it must not block: it returns false to decline (the request then
// takes the route's handler on the worker pool, as if there were no fast
// path), or true and calls `reply` exactly once, from any thread. Work it
// continues later goes to `run_on` (the network threads).
using ReplyFn = std::function<void(ApiReply)>;
using JobRunner = std::function<void(std::function<void()>)>;
using AsyncRouteHandler = std::function<bool(const ApiRequest&, const JobRunner& run_on, ReplyFn reply)>;

struct Route {
  http::verb method;
  std::string pattern;
  RouteHandler handler;
  AsyncRouteHandler fast;  // optional
};

class Router {
 public:
  void add(http::verb method, std::string pattern, RouteHandler handler, AsyncRouteHandler fast = {});

  struct Match {
    const Route* route = nullptr;  // null: no route
    bool path_known = false;        // the path matched another method's route (405, not 404)
    std::vector<http::verb> allowed;  // then: the methods whose routes match the path (the Allow header)
    std::map<std::string, std::string> params;
  };
  Match match(http::verb method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Splits "path?query" and percent-decodes. kInvalidArgument for bad escapes,
// NUL bytes and invalid UTF-8 (field "path" or "query.<key>").
Status parse_target(std::string_view target, std::string* path, std::map<std::string, std::string>* query);
Result<std::string> percent_decode(std::string_view s, const std::string& field);

}  // namespace accountable
