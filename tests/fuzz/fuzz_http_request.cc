// Fuzz target: the HTTP request path without sockets. Raw bytes go through
// Beast's request parser (with the server's limits), then what the server's
// session does with a request (server/http_server.cc, Session::handle): the
// target limit, parse_target (percent-decoding, query), Router::match, and the
// matched handler of the real Api (server/api.h) over a data folder set up
// once in a temporary folder (log, keys, credentials, tokens, views).
//
// Input: raw bytes of one or more pipelined HTTP/1.1 requests. The header
// "Authorization: Bearer OPERATOR" is replaced by the real operator token, so
// that the fuzzer reaches the handlers behind authentication too (commands
// are decided and written). State accumulates across inputs, like a server's.
// ACCT_FUZZ_HTTP_NO_HANDLERS=1 stops after the router (stateless).
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "events/sha256.h"
#include "projections/view_set.h"
#include "server/api.h"
#include "server/http_server.h"

namespace accountable {
namespace {

namespace beast = boost::beast;
namespace fs = std::filesystem;

constexpr size_t kBodyLimit = 64 * 1024;
constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr size_t kTargetLimit = 8 * 1024;
constexpr int kMaxRequestsPerInput = 4;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http_request: invariant violated: %s\n", what);
    std::abort();
  }
}

void die(const char* what, const Status& s) {
  std::fprintf(stderr, "fuzz_http_request: setup: %s: %s\n", what, s.to_string().c_str());
  std::abort();
}

// The server's parts over one temporary data folder, for the whole process.
struct World {
  std::string dir;
  std::unique_ptr<AccountStack> stack;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<ViewSet> views;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Api> api;
  std::string operator_token;
  bool handlers = true;

  World() {
    // This thread's SHA-256 context now, not first at exit (closing the stack
    // there signs the tree): one made after the thread's own destructors ran
    // would never be freed.
    (void)sha256("");
    handlers = std::getenv("ACCT_FUZZ_HTTP_NO_HANDLERS") == nullptr;
    spdlog::set_level(spdlog::level::warn);  // not a line per command
    dir = (fs::temp_directory_path() / ("acct-fuzz-http-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    AccountStackOptions options;
    options.data_dir = dir;
    options.credentials.opslimit = 1;  // argon2id at its minimum cost
    options.credentials.memlimit = 8192;
    auto s = AccountStack::open(options);
    if (!s) die("account stack", s.status());
    stack = std::move(*s);
    auto t = TokenStore::open(posix_env(), dir, SystemClock().now());
    if (!t) die("token store", t.status());
    tokens = std::move(*t);
    auto v = ViewSet::open(dir, stack->log(), &stack->cipher());
    if (!v) die("views", v.status());
    views = std::move(*v);
    if (Status st = views->start(); !st.is_ok()) die("views start", st);
    metrics = std::make_unique<Metrics>(stack->log());
    ApiOptions api_options;
    api_options.min_position_wait = std::chrono::milliseconds(1);  // read-your-writes waits stay short
    api = std::make_unique<Api>(*stack, *tokens, *metrics, views.get(), api_options);
    std::ifstream in(dir + "/operator.token");
    std::getline(in, operator_token);
    if (operator_token.empty()) die("operator token", Status(StatusCode::kInternal, "empty"));
  }

  ~World() {
    if (views) (void)views->stop();
    if (stack) (void)stack->close();
    api.reset();
    views.reset();
    tokens.reset();
    stack.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

World& world() {
  static World w;  // destroyed at exit: the data folder is removed
  return w;
}

// What Session::handle does with a parsed request.
void handle(World& w, HttpRequest& req) {
  if (req.target().size() > kTargetLimit) return;  // 414 before any parsing
  auto auth = req.find(http::field::authorization);
  if (auth != req.end() && auth->value() == "Bearer OPERATOR") {
    req.set(http::field::authorization, "Bearer " + w.operator_token);
  }
  std::string path;
  std::map<std::string, std::string> query;
  if (Status s = parse_target(req.target(), &path, &query); !s.is_ok()) {
    check(s.code() == StatusCode::kInvalidArgument, "parse_target refused with another code");
    (void)error_response(s, req.version(), req.keep_alive());
    return;
  }
  check(!path.empty() && path[0] == '/', "a parsed path does not start with '/'");
  auto match = w.api->router().match(req.method(), path);
  if (!match.route) {
    (void)error_response(Status(StatusCode::kNotFound, "no route for " + path), req.version(), req.keep_alive());
    return;
  }
  check(match.route->method == req.method(), "matched a route of another method");
  for (const auto& [name, value] : match.params) check(!value.empty(), "an empty path parameter");
  if (!w.handlers) return;
  ApiRequest api{req, std::move(path), std::move(match.params), std::move(query), "127.0.0.1"};
  ApiReply reply;
  try {
    reply = match.route->handler(api);
  } catch (const std::exception& e) {
    // The server answers 500; a handler that throws on some input is worth a look.
    std::fprintf(stderr, "fuzz_http_request: handler of %s threw: %s\n", match.route->pattern.c_str(), e.what());
    std::abort();
  }
  const unsigned status = reply.response.result_int();
  check(status >= 100 && status < 600, "a reply without a valid status");
  w.metrics->count_http(match.route->pattern, status);
  if (reply.stream) {
    // Server-Sent Events: take what is there without waiting, then drop the stream.
    (void)reply.stream->content_type();
    (void)reply.stream->next(std::chrono::milliseconds(0));
  }
}

void run_one(const uint8_t* data, size_t size) {
  World& w = world();
  beast::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < kMaxRequestsPerInput && !rest.empty(); ++i) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done() && !rest.empty()) {
      const size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      check(used <= rest.size(), "the parser consumed more than it was given");
      rest.remove_prefix(used);
      if (ec || used == 0) break;
    }
    if (ec == http::error::need_more || (!ec && !parser.is_done())) {
      ec = {};
      parser.put_eof(ec);  // the client closed: a body to the end of the stream, or an error
    }
    if (ec || !parser.is_done()) return;  // the server answers 400/413/431 and closes
    HttpRequest req = parser.release();
    handle(w, req);
    if (!req.keep_alive()) return;
  }
}

}  // namespace
}  // namespace accountable

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  accountable::world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  accountable::run_one(data, size);
  return 0;
}
