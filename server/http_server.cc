#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <optional>
#include <type_traits>

#include "app/command_pipeline.h"
#include "server/store_health.h"

namespace accountable {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

unsigned http_status_for(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kForbidden: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict:
    case StatusCode::kWrongExpectedVersion: return 409;
    case StatusCode::kRuleViolated: return 422;
    case StatusCode::kNotYet: return 503;  // the view has not reached min_position yet: retry shortly
    case StatusCode::kBusy:
    case StatusCode::kPoisoned:
    case StatusCode::kLocked:
    case StatusCode::kUnavailable:     // cluster: no leader or Kafka unreachable; nothing written
    case StatusCode::kOutcomeUnknown:  // cluster: a commit that may have landed; retry with its command id
    case StatusCode::kNoSpace: return 503;  // a full disk: nothing of the request was written
    default: return 500;
  }
}

HttpResponse json_response(http::status status, std::string body, unsigned version, bool keep_alive) {
  HttpResponse res{status, version};
  res.set(http::field::server, "accountable");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse error_response(const Status& s, unsigned version, bool keep_alive) {
  // No error body names a server path; a failing store is remembered for /healthz.
  StoreHealth::process().note_failure(s);
  boost::json::object body{
      {"error", error_object(Status(s.code(), StoreHealth::process().public_message(s), s.field()))}};
  HttpResponse res = json_response(static_cast<http::status>(http_status_for(s.code())),
                                   boost::json::serialize(body), version, keep_alive);
  if (s.code() == StatusCode::kUnauthenticated) res.set(http::field::www_authenticate, "Bearer");
  // Every 503 is a "not now": say when to come back (a caller may set a longer
  // one). A full disk is not freed in a second.
  if (res.result() == http::status::service_unavailable) {
    res.set(http::field::retry_after, s.code() == StatusCode::kNoSpace ? "30" : "1");
  }
  return res;
}

// ---- session ----------------------------------------------------------------------

// What the server and the listener need of a session, whatever its stream.
class HttpServer::Session {
 public:
  virtual ~Session() = default;
  virtual void run() = 0;
  // From another thread: close if idle (waiting for a request); a busy session
  // closes after its response because the server is stopping.
  virtual void shutdown_if_idle() = 0;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection: plain HTTP (PlainStream) or HTTPS (TlsStream). The HTTP
// handling is the same; TLS adds the handshake first and close_notify last.
template <class Stream>
class HttpServer::StreamSession final : public HttpServer::Session,
                                        public std::enable_shared_from_this<HttpServer::StreamSession<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  StreamSession(tcp::socket&& socket, HttpServer& server)
    requires(!kTls)
      : stream_(std::move(socket)), server_(server) {
    note_peer();
  }
  // The session holds its context: a reload replaces the server's, not this one.
  StreamSession(tcp::socket&& socket, std::shared_ptr<net::ssl::context> context, HttpServer& server)
    requires(kTls)
      : tls_context_(std::move(context)), stream_(std::move(socket), *tls_context_), server_(server) {
    note_peer();
  }
  ~StreamSession() override { server_.connections_.fetch_sub(1); }

  void run() override { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&StreamSession::start, shared_self())); }

  void shutdown_if_idle() override {
    net::post(stream_.get_executor(), [self = shared_self()] {
      if (self->busy_ || self->closing_) return;
      if constexpr (kTls) {
        // Idle after a handshake means a read is pending: cancel it and its
        // handler closes (close_notify), rather than shut down under a read.
        if (self->handshake_done_) return self->lowest().cancel();
      }
      self->close();
    });
  }

 private:
  std::shared_ptr<StreamSession> shared_self() { return this->shared_from_this(); }
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void note_peer() {
    beast::error_code ec;
    const tcp::endpoint peer = lowest().socket().remote_endpoint(ec);
    if (!ec) client_address_ = peer.address().to_string();
  }

  void start() {
    if constexpr (kTls) {
      // A client that connects and says nothing is bounded like a slow request.
      lowest().expires_after(server_.options_.limits.read_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              beast::bind_front_handler(&StreamSession::on_handshake, shared_self()));
    } else {
      do_read();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      // A plain-HTTP client, an old protocol or a weak cipher: OpenSSL's reason, no data.
      spdlog::debug("tls: handshake with {} failed: {}", client_address_, ec.message());
      return close_socket();
    }
    handshake_done_ = true;
    do_read();
  }

  void do_read() {
    if (server_.stopping_.load()) return close();
    parser_.emplace();
    parser_->body_limit(server_.options_.limits.body_bytes);
    parser_->header_limit(static_cast<uint32_t>(server_.options_.limits.header_bytes));
    // The idle timeout runs until the first byte; Beast has no hook there, so
    // the read timeout (shorter) bounds a whole request once it started via
    // the header callback below.
    lowest().expires_after(first_request_ ? server_.options_.limits.read_timeout : server_.options_.limits.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&StreamSession::on_header, shared_self()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    // The header arrived: the rest of the request must come within the read timeout.
    lowest().expires_after(server_.options_.limits.read_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&StreamSession::on_read, shared_self()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return send_error_and_close(Status(StatusCode::kInvalidArgument, "the request body is larger than " +
                                                                            std::to_string(server_.options_.limits.body_bytes) +
                                                                            " bytes"),
                                  http::status::payload_too_large);
    }
    if (ec == http::error::header_limit) {
      return send_error_and_close(Status(StatusCode::kInvalidArgument,
                                         "the request headers are larger than " +
                                             std::to_string(server_.options_.limits.header_bytes) + " bytes"),
                                  http::status::request_header_fields_too_large);
    }
    send_error_and_close(Status(StatusCode::kInvalidArgument, "malformed HTTP request: " + ec.message()),
                         http::status::bad_request);
  }

  // The request's target, parsed and matched to a route once (on the
  // network thread), for the fast path and then, if it declines, the worker.
  struct Routed {
    Status target;  // not OK: the target does not parse (no match then)
    std::string path;
    std::map<std::string, std::string> query;
    Router::Match match;
  };
  Routed route() const {
    Routed r;
    r.target = parse_target(request_->target(), &r.path, &r.query);
    if (r.target.is_ok()) r.match = server_.router_.match(request_->method(), r.path);
    return r;
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    // The handler may take long (a min_position wait): no timer runs while it
    // does; write() arms the write timeout.
    lowest().expires_never();
    first_request_ = false;
    busy_ = true;
    server_.busy_.fetch_add(1);
    request_ = std::make_shared<HttpRequest>(parser_->release());
    if (request_->target().size() > server_.options_.limits.target_bytes) {
      route_name_ = "unmatched";
      return write(error_response(Status(StatusCode::kInvalidArgument,
                                         "the request target is longer than " +
                                             std::to_string(server_.options_.limits.target_bytes) + " bytes",
                                         "path"),
                                  request_->version(), false),
                   http::status::uri_too_long);
    }
    auto routed = std::make_shared<Routed>(route());
    if (answer_on_network_thread(*routed)) return;
    auto self = shared_self();
    const bool queued = server_.workers_->try_post([self, routed] {
      ApiReply reply = self->handle(std::move(*routed));
      net::post(self->stream_.get_executor(), [self, reply = std::move(reply)]() mutable {
        self->respond(std::move(reply));
      });
    });
    if (!queued) {
      route_name_ = "unmatched";
      write(error_response(Status(StatusCode::kBusy, "the server is busy; retry later"), request_->version(), false),
            http::status::service_unavailable);
    }
  }

  // A route with a fast path (a command) starts here, on the network thread,
  // and its reply comes back through the strand; no worker thread waits for
  // it. False: the worker pool takes the request (no fast path, or declined;
  // a bad target is answered there too).
  bool answer_on_network_thread(Routed& routed) {
    const HttpRequest& req = *request_;
    const Route* route = routed.match.route;
    if (!routed.target.is_ok() || route == nullptr || !route->fast) return false;
    route_name_ = route->pattern;
    // A copy: a declined request takes the worker pool with `routed` intact.
    ApiRequest api{req, routed.path, routed.match.params, routed.query, client_address_};
    auto self = shared_self();
    auto replied = std::make_shared<std::atomic<bool>>(false);  // one answer per request, whatever happens
    // The later work runs on this session's strand, so the answer written
    // from it needs no further hand-off (dispatch runs it in place there).
    // Past stop() (the gate closed) the answer is dropped: the io_context
    // may be gone, and the connection is closing anyway.
    ReplyFn reply = [self, replied, gate = server_.job_gate_](ApiReply r) {
      if (replied->exchange(true)) return spdlog::error("http: a second reply to one request was dropped");
      std::shared_lock lock(gate->mu);
      if (!gate->open) return;
      net::dispatch(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->respond(self->fitted(std::move(r)));
      });
    };
    JobRunner run_on = [gate = server_.job_gate_, strand = stream_.get_executor()](std::function<void()> job) {
      std::shared_lock lock(gate->mu);
      if (gate->open) {
        net::post(strand, std::move(job));
        return;
      }
      lock.unlock();
      job();
    };
    try {
      return route->fast(api, run_on, reply);
    } catch (const std::exception& e) {
      // Not handed to the worker pool: the fast path may have started the command.
      spdlog::error("handler of {} threw: {}", route_name_, e.what());
      reply(ApiReply{error_response(Status(StatusCode::kInternal, "internal error"), req.version(), false), nullptr});
      return true;
    }
  }

  // The reply as this request asked: its HTTP version, and no keep-alive if
  // the client did not want it.
  ApiReply fitted(ApiReply reply) const {
    reply.response.version(request_->version());
    if (!request_->keep_alive()) reply.response.keep_alive(false);
    return reply;
  }

  // On a worker thread.
  ApiReply handle(Routed routed) {
    const HttpRequest& req = *request_;
    std::string& path = routed.path;
    Router::Match& match = routed.match;
    if (!routed.target.is_ok()) {
      route_name_ = "unmatched";
      return ApiReply{error_response(routed.target, req.version(), req.keep_alive()), nullptr};
    }
    if (!match.route) {
      route_name_ = "unmatched";
      if (match.path_known) {
        HttpResponse res = error_response(Status(StatusCode::kInvalidArgument, "method not allowed on " + path),
                                          req.version(), req.keep_alive());
        res.result(http::status::method_not_allowed);
        // RFC 9110, 15.5.6: a 405 names the methods the resource supports.
        std::string allow;
        for (http::verb v : match.allowed) allow += (allow.empty() ? "" : ", ") + std::string(http::to_string(v));
        res.set(http::field::allow, allow);
        return ApiReply{std::move(res), nullptr};
      }
      return ApiReply{error_response(Status(StatusCode::kNotFound, "no route for " + path), req.version(),
                                     req.keep_alive()),
                      nullptr};
    }
    route_name_ = match.route->pattern;
    ApiRequest api{req, std::move(path), std::move(match.params), std::move(routed.query), client_address_};
    try {
      return fitted(match.route->handler(api));
    } catch (const std::exception& e) {
      spdlog::error("handler of {} threw: {}", route_name_, e.what());
      return ApiReply{error_response(Status(StatusCode::kInternal, "internal error"), req.version(), false), nullptr};
    }
  }

  void respond(ApiReply reply) {
    if (reply.stream) return start_stream(std::move(reply));
    const http::status status = reply.response.result();
    write(std::move(reply.response), status);
  }

  void write(HttpResponse res, http::status status) {
    res.result(status);
    // A write that succeeded: the disk takes writes again (server/store_health.h).
    if (request_ && request_->method() != http::verb::get && static_cast<unsigned>(status) / 100 == 2) {
      StoreHealth::process().note_write_success();
    }
    if (server_.stopping_.load()) res.keep_alive(false);
    if (server_.observer_) server_.observer_(route_name_, static_cast<unsigned>(status));
    response_ = std::make_shared<HttpResponse>(std::move(res));
    lowest().expires_after(server_.options_.limits.write_timeout);
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&StreamSession::on_write, shared_self(), response_->need_eof()));
  }

  void on_write(bool close_after, beast::error_code ec, std::size_t) {
    response_.reset();
    request_.reset();
    finish_request();
    if (ec || close_after) return close();
    do_read();
  }

  void finish_request() {
    if (busy_) {
      busy_ = false;
      server_.busy_.fetch_sub(1);
    }
  }

  void send_error_and_close(const Status& s, http::status status) {
    route_name_ = "unmatched";
    if (!busy_) {
      busy_ = true;
      server_.busy_.fetch_add(1);
    }
    write(error_response(s, 11, false), status);
  }

  // ---- Server-Sent Events ----
  void start_stream(ApiReply reply) {
    if (server_.observer_) server_.observer_(route_name_, static_cast<unsigned>(reply.response.result()));
    stream_source_ = std::move(reply.stream);
    std::string head = "HTTP/1.1 200 OK\r\nServer: accountable\r\nContent-Type: " + stream_source_->content_type() +
                       "\r\nCache-Control: no-store\r\nConnection: close\r\n";
    for (const auto& field : reply.response) {
      if (field.name() == http::field::content_type || field.name() == http::field::connection ||
          field.name() == http::field::server || field.name() == http::field::cache_control ||
          field.name() == http::field::content_length) {
        continue;
      }
      head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\r\n";
    }
    head += "\r\n";
    write_chunk(std::move(head));
  }

  void write_chunk(std::string chunk) {
    chunk_ = std::move(chunk);
    lowest().expires_after(server_.options_.limits.write_timeout);
    net::async_write(stream_, net::buffer(chunk_), beast::bind_front_handler(&StreamSession::on_chunk, shared_self()));
  }

  void on_chunk(beast::error_code ec, std::size_t) {
    if (ec || server_.stopping_.load()) return end_stream();
    auto self = shared_self();
    const bool queued = server_.streams_->try_post([self] {
      std::optional<std::string> next = self->stream_source_->next(std::chrono::milliseconds(1000));
      net::post(self->stream_.get_executor(), [self, next = std::move(next)]() mutable {
        if (!next) return self->end_stream();
        if (next->empty()) return self->on_chunk({}, 0);  // nothing new: ask again
        self->write_chunk(std::move(*next));
      });
    });
    if (!queued) end_stream();
  }

  void end_stream() {
    stream_source_.reset();
    finish_request();
    close();
  }

  void close() {
    finish_request();
    if (closing_) return;
    closing_ = true;
    if constexpr (kTls) {
      if (handshake_done_) {
        // close_notify, bounded: a peer that never answers does not keep the session.
        lowest().expires_after(kTlsShutdownTimeout);
        stream_.async_shutdown(beast::bind_front_handler(&StreamSession::on_tls_shutdown, shared_self()));
        return;
      }
    }
    close_socket();
  }

  void on_tls_shutdown(beast::error_code) { close_socket(); }

  void close_socket() {
    closing_ = true;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  std::shared_ptr<net::ssl::context> tls_context_;  // HTTPS: kept alive as long as the stream using it
  Stream stream_;
  HttpServer& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpRequest> request_;
  std::shared_ptr<HttpResponse> response_;
  std::shared_ptr<ResponseStream> stream_source_;
  std::string chunk_;
  std::string route_name_ = "unmatched";
  std::string client_address_;  // the peer's IP address, for the sign-in budgets
  bool busy_ = false;
  bool first_request_ = true;
  bool handshake_done_ = false;  // HTTPS: a close sends close_notify only after a handshake
  bool closing_ = false;
};

// ---- listener ---------------------------------------------------------------------

class HttpServer::Listener : public std::enable_shared_from_this<HttpServer::Listener> {
 public:
  Listener(net::io_context& ioc, HttpServer& server) : ioc_(ioc), acceptor_(net::make_strand(ioc)), server_(server) {}

  Status open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(StatusCode::kIOError, "cannot listen on " + endpoint.address().to_string() + ":" +
                                              std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return Status::ok();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void run() { do_accept(); }
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (server_.stopping_.load()) {
        beast::error_code ignored;
        socket.close(ignored);
      } else if (server_.connections_.load() >= server_.options_.limits.max_connections) {
        // Over the cap: a short 503 written synchronously (the socket is fresh and
        // the answer small), then close. HTTPS: no handshake is spent on it, a close only.
        beast::error_code ignored;
        if (server_.tls()) {
          socket.close(ignored);
          if (server_.observer_) server_.observer_("unmatched", 503);
          return do_accept();
        }
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
            "Content-Length: 81\r\n\r\n{\"error\":{\"code\":\"busy\",\"message\":\"too many open connections; retry later\"}}\n";
        socket.non_blocking(true, ignored);
        socket.write_some(net::buffer(kBusy), ignored);
        socket.close(ignored);
        if (server_.observer_) server_.observer_("unmatched", 503);
      } else {
        server_.connections_.fetch_add(1);
        std::shared_ptr<Session> session;
        if (server_.tls()) {
          session = std::make_shared<StreamSession<TlsStream>>(std::move(socket), server_.tls_context(), server_);
        } else {
          session = std::make_shared<StreamSession<PlainStream>>(std::move(socket), server_);
        }
        {
          std::lock_guard lock(server_.sessions_mu_);
          std::erase_if(server_.sessions_, [](const auto& w) { return w.expired(); });
          server_.sessions_.insert(session);
        }
        session->run();
      }
    }
    do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  HttpServer& server_;
};

// ---- server -----------------------------------------------------------------------

HttpServer::HttpServer(HttpServerOptions options, const Router& router, AccessObserver observer)
    : options_(std::move(options)), router_(router), observer_(std::move(observer)), tls_context_(options_.tls) {}

Status HttpServer::set_tls_context(std::shared_ptr<net::ssl::context> context) {
  if (!tls()) return invalid_argument("this server speaks plain HTTP; it has no TLS context to replace");
  if (!context) return invalid_argument("no TLS context");
  std::lock_guard lock(tls_mu_);
  tls_context_ = std::move(context);
  return Status::ok();
}

std::shared_ptr<net::ssl::context> HttpServer::tls_context() const {
  std::lock_guard lock(tls_mu_);
  return tls_context_;
}

HttpServer::~HttpServer() { stop(std::chrono::milliseconds(0)); }

Status HttpServer::start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.address, ec);
  if (ec) return invalid_argument("not an IP address: " + options_.address, "listen");
  workers_ = std::make_unique<WorkPool>(options_.workers, options_.max_queued_requests);
  streams_ = std::make_unique<WorkPool>(options_.limits.max_streams, options_.limits.max_streams);
  listener_ = std::make_shared<Listener>(ioc_, *this);
  ACCT_RETURN_IF_ERROR(listener_->open(tcp::endpoint(address, options_.port)));
  bound_port_ = listener_->port();
  listener_->run();
  work_.emplace(ioc_.get_executor());
  job_gate_->open = true;
  for (size_t i = 0; i < std::max<size_t>(1, options_.io_threads); ++i) threads_.emplace_back([this] { ioc_.run(); });
  started_ = true;
  return Status::ok();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  listener_->close();
  {
    std::lock_guard lock(sessions_mu_);
    for (const auto& weak : sessions_) {
      if (auto s = weak.lock()) s->shutdown_if_idle();
    }
  }
  // In-flight requests finish (their responses say Connection: close).
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (busy_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (busy_.load() > 0) spdlog::warn("http: {} requests still in flight after the grace period", busy_.load());
  {
    // Later work of a command still in flight (past the grace period) runs
    // where it finishes; jobs already posted and not run are dropped with
    // the io_context (their connections are closing).
    std::lock_guard lock(job_gate_->mu);
    job_gate_->open = false;
  }
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  workers_->stop();
  streams_->stop();
}

}  // namespace accountable
