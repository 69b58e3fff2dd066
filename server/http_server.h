// HttpServer: HTTP/1.1 on Boost.Asio + Beast, modeled on Beast's advanced server.
//
//  - A listener accepts on its own strand; each connection is a session with
//    its own strand (a tcp_stream on a strand executor).
//  - Limits, each answered with a 4xx or a closed connection, never a crash:
//    body (413), header block (431), request target (414), a read timeout that
//    covers the whole request (slowloris), an idle timeout between requests, a
//    cap on open connections (503 then close), and pipelining bounded to one
//    request in flight per connection (the next is read only after the
//    response is written; the socket buffer pushes back on the client).
//  - Handlers may block (a command waits for its fsync), so they run on a
//    bounded WorkPool, never on the network threads; a full pool answers 503.
//  - Server-Sent Events responses run on a separate, bounded pool of streams.
//  - stop(): stop accepting, let in-flight requests finish (bounded), close
//    idle connections, end streams, join.
//  - With a TLS context (options.tls, server/tls_context.h) every connection
//    is HTTPS (Beast's ssl_stream): the handshake is bounded by the read
//    timeout, the TLS shutdown (close_notify) by kTlsShutdownTimeout. A new
//    context (set_tls_context, SIGHUP) is used by the connections accepted
//    after it; open ones keep theirs. Without one, plain HTTP as before.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/router.h"
#include "server/work_pool.h"

namespace boost::asio::ssl {
class context;
}

namespace accountable {

struct HttpLimits {
  size_t body_bytes = 1 << 20;       // 1 MiB
  size_t header_bytes = 16 * 1024;  // the whole header block
  size_t target_bytes = 8 * 1024;   // the request target (URL)
  std::chrono::milliseconds read_timeout{15'000};  // one whole request, from its first byte
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{15'000};
  size_t max_connections = 1024;
  size_t max_streams = 32;  // concurrent Server-Sent Events responses
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: pick a free port (see port())
  size_t io_threads = 2;
  size_t workers = 32;          // blocking handler threads (commands in flight for group commit)
  size_t max_queued_requests = 4096;
  HttpLimits limits;
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: HTTPS only (server/tls_context.h)
};

// How long a closing HTTPS connection waits for the peer's close_notify.
inline constexpr std::chrono::milliseconds kTlsShutdownTimeout{2'000};

// Called after each response with the route pattern ("unmatched" if none) and status.
using AccessObserver = std::function<void(const std::string& route, unsigned status)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, const Router& router, AccessObserver observer = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. kIOError naming the address if the bind fails.
  Status start();
  // The bound port (after start()).
  unsigned short port() const { return bound_port_; }
  // Graceful: see the header comment. Waits at most `grace` for in-flight work.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000));

  size_t open_connections() const { return connections_.load(); }

  // HTTPS only (options.tls set): the context for connections accepted from
  // now on (a reloaded certificate). Open connections keep theirs.
  Status set_tls_context(std::shared_ptr<boost::asio::ssl::context> context);
  bool tls() const { return options_.tls != nullptr; }

  class Session;
  template <class Stream>
  class StreamSession;
  class Listener;

 private:
  friend class Session;
  friend class Listener;
  std::shared_ptr<boost::asio::ssl::context> tls_context() const;
  HttpServerOptions options_;
  const Router& router_;
  AccessObserver observer_;
  // Declared before ioc_: sessions destroyed with the io_context's pending
  // handlers still count themselves out of connections_.
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> busy_{0};  // requests being handled or written
  std::atomic<bool> stopping_{false};
  unsigned short bound_port_ = 0;
  std::mutex sessions_mu_;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions_;
  mutable std::mutex tls_mu_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  // the one new connections get
  bool started_ = false;
  bool stopped_ = false;
  boost::asio::io_context ioc_;
  // Keeps the network threads running until stop() is done with in-flight
  // work: once the acceptor is closed, a request whose handler is still
  // running has no pending I/O, and run() would return before its answer.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::shared_ptr<Listener> listener_;
  // Where a fast path's later work runs (Route::fast): its session's strand
  // on the network threads while the gate is open (start to stop); then on
  // the caller's thread, and its answer is dropped (a log's writer finishing
  // a command after the server stopped must not post into a dead
  // io_context). Shared: the log may outlive the server. Posters share the
  // lock (every answer and every hand-off takes it: an exclusive mutex made
  // the network threads and the log's writer wait for each other); only
  // stop() takes it alone.
  struct JobGate {
    std::shared_mutex mu;
    bool open = false;
  };
  std::shared_ptr<JobGate> job_gate_ = std::make_shared<JobGate>();
  std::vector<std::thread> threads_;
  std::unique_ptr<WorkPool> workers_;
  std::unique_ptr<WorkPool> streams_;
};

// A JSON error body {"error": {"code", "message", "field"?}} with the status
// that the code maps to (docs/http-api.md).
HttpResponse error_response(const Status& s, unsigned version = 11, bool keep_alive = true);
unsigned http_status_for(StatusCode code);
HttpResponse json_response(http::status status, std::string body, unsigned version = 11, bool keep_alive = true);

}  // namespace accountable
