// HttpServer with a TLS context, against a Beast/OpenSSL client on 127.0.0.1:
// keep-alive and Server-Sent Events over TLS, old protocols and weak ciphers
// refused (each checked to work against a permissive server first, so that a
// refusal is the server's), a new context for new connections only, an
// in-flight request finishing across stop() (over TLS and plain HTTP), and a
// peer that never answers close_notify not keeping its connection.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "server/http_server.h"
#include "server/testing/test_certs.h"
#include "server/tls_context.h"
#include "testing/scratch_dir.h"

namespace accountable {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

// Three events, then the end of the stream.
class ThreeEvents final : public ResponseStream {
 public:
  std::string content_type() const override { return "text/event-stream"; }
  std::optional<std::string> next(std::chrono::milliseconds) override {
    if (sent_ == 3) return std::nullopt;
    return "data: event-" + std::to_string(sent_++) + "\n\n";
  }

 private:
  int sent_ = 0;
};

// Runs the client's own io_context until its operations are done. Every
// operation is asynchronous on a tcp_stream with a deadline, so a server that
// never answers fails the test instead of hanging it.
inline void run_client(net::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

// One GET on `stream`; status 0 and the error if the exchange failed.
template <class Stream>
std::pair<unsigned, std::string> get_on(net::io_context& ioc, Stream& stream, beast::flat_buffer& buffer,
                                        const std::string& target, bool keep_alive) {
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(keep_alive);
  http::response<http::string_body> res;
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  http::async_write(stream, req, [&](beast::error_code e, size_t) {
    ec = e;
    if (!e) http::async_read(stream, buffer, res, [&](beast::error_code e2, size_t) { ec = e2; });
  });
  run_client(ioc);
  if (ec) return {0, ec.message()};
  return {res.result_int(), res.body()};
}

// A TLS client; `configure` adjusts its SSL_CTX (protocols, ciphers) before the handshake.
class TlsClient {
 public:
  explicit TlsClient(unsigned short port, const std::function<void(SSL_CTX*)>& configure = {})
      : ctx_(net::ssl::context::tls_client) {
    ctx_.set_verify_mode(net::ssl::verify_none);  // the tests compare serials instead
    if (configure) configure(ctx_.native_handle());
    stream_.emplace(ioc_, ctx_);
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(*stream_).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [this](beast::error_code ec) {
          ec_ = ec;
          if (!ec) stream_->async_handshake(net::ssl::stream_base::client, [this](beast::error_code e) { ec_ = e; });
        });
    run_client(ioc_);
  }
  const beast::error_code& handshake_error() const { return ec_; }

  // One request on this connection; status 0 if the exchange failed.
  std::pair<unsigned, std::string> get(const std::string& target, bool keep_alive = true) {
    return get_on(ioc_, *stream_, buffer_, target, keep_alive);
  }

  // Everything the server sends after the request, until it closes (bounded).
  std::string get_raw_until_close(const std::string& target) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    beast::get_lowest_layer(*stream_).expires_after(std::chrono::seconds(10));
    std::string got;
    char buf[4096];
    std::function<void(beast::error_code, size_t)> on_read = [&](beast::error_code ec, size_t n) {
      got.append(buf, n);
      if (!ec) stream_->async_read_some(net::buffer(buf), on_read);
    };
    net::async_write(*stream_, net::buffer(req), [&](beast::error_code ec, size_t) {
      if (!ec) stream_->async_read_some(net::buffer(buf), on_read);
    });
    run_client(ioc_);
    return got;
  }

  long peer_serial() {
    X509* x = SSL_get1_peer_certificate(stream_->native_handle());
    if (!x) return -1;
    const long serial = ASN1_INTEGER_get(X509_get0_serialNumber(x));
    X509_free(x);
    return serial;
  }
  std::string protocol() { return SSL_get_version(stream_->native_handle()); }

 private:
  net::io_context ioc_;
  net::ssl::context ctx_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  beast::error_code ec_;
};

void only_tls11(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");  // the client itself would refuse TLS 1.1 otherwise
}
void only_tls12_cbc_sha1(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0");
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(http::verb::get, "/ping", [](const ApiRequest&) {
      return ApiReply{json_response(http::status::ok, R"({"pong":true})"), nullptr};
    });
    router_.add(http::verb::get, "/slow", [this](const ApiRequest&) {
      slow_started_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return ApiReply{json_response(http::status::ok, R"({"slow":true})"), nullptr};
    });
    router_.add(http::verb::get, "/events", [](const ApiRequest&) {
      return ApiReply{json_response(http::status::ok, ""), std::make_shared<ThreeEvents>()};
    });
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(2000));
    server_.reset();
  }

  std::shared_ptr<net::ssl::context> context(const std::string& name, long serial) {
    tls_test::write_pair(dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key", name, serial);
    auto tls = make_tls_context({dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"});
    EXPECT_TRUE(tls.is_ok()) << tls.status().to_string();
    return tls.is_ok() ? tls->context : nullptr;
  }

  // A context that takes anything OpenSSL can do: the canary for the refusals.
  std::shared_ptr<net::ssl::context> permissive_context() {
    tls_test::write_pair(dir_ + "/lax.pem", dir_ + "/lax.key", "lax", 99);
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_VERSION);
    SSL_CTX_set_cipher_list(ctx->native_handle(), "ALL:@SECLEVEL=0");
    ctx->use_certificate_chain_file(dir_ + "/lax.pem");
    ctx->use_private_key_file(dir_ + "/lax.key", net::ssl::context::pem);
    return ctx;
  }

  void start(std::shared_ptr<net::ssl::context> tls) {
    HttpServerOptions options;
    options.port = 0;
    options.workers = 4;
    options.limits.read_timeout = std::chrono::milliseconds(2000);
    options.limits.idle_timeout = std::chrono::milliseconds(5000);
    options.tls = std::move(tls);
    server_ = std::make_unique<HttpServer>(options, router_);
    ASSERT_TRUE(server_->start().is_ok());
  }

  // Polls (bounded: 200 x 50 ms) until the server holds no connection.
  bool connections_drain() {
    for (int i = 0; i < 200 && server_->open_connections() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return server_->open_connections() == 0;
  }

  testing::ScratchDir scratch_{"acct-https"};
  const std::string dir_ = scratch_.path();
  std::atomic<bool> slow_started_{false};
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTlsTest, KeepAliveRequestsShareOneTlsConnection) {
  start(context("server", 1));
  TlsClient client(server_->port());
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  EXPECT_EQ(client.protocol(), "TLSv1.3");
  for (int i = 0; i < 3; ++i) {
    auto [status, body] = client.get("/ping");
    EXPECT_EQ(status, 200u) << body;
    EXPECT_EQ(body, R"({"pong":true})");
  }
  EXPECT_EQ(server_->open_connections(), 1u);  // the three went over one connection
}

TEST_F(HttpServerTlsTest, ServerSentEventsStreamOverTls) {
  start(context("server", 1));
  TlsClient client(server_->port());
  ASSERT_FALSE(client.handshake_error()) << client.handshake_error().message();
  const std::string got = client.get_raw_until_close("/events");
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  for (const char* event : {"data: event-0\n\n", "data: event-1\n\n", "data: event-2\n\n"}) {
    EXPECT_NE(got.find(event), std::string::npos) << got;
  }
}

TEST_F(HttpServerTlsTest, RefusesTls11AndCbcCiphersThatAPermissiveServerTakes) {
  // The canary: these clients can connect when the server lets them.
  start(permissive_context());
  {
    TlsClient old_protocol(server_->port(), only_tls11);
    ASSERT_FALSE(old_protocol.handshake_error()) << old_protocol.handshake_error().message();
    EXPECT_EQ(old_protocol.protocol(), "TLSv1.1");
    TlsClient weak_cipher(server_->port(), only_tls12_cbc_sha1);
    ASSERT_FALSE(weak_cipher.handshake_error()) << weak_cipher.handshake_error().message();
  }
  server_->stop(std::chrono::milliseconds(2000));
  server_.reset();

  start(context("server", 1));
  TlsClient old_protocol(server_->port(), only_tls11);
  EXPECT_TRUE(old_protocol.handshake_error());
  TlsClient weak_cipher(server_->port(), only_tls12_cbc_sha1);
  EXPECT_TRUE(weak_cipher.handshake_error());
  TlsClient tls12(server_->port(), [](SSL_CTX* ctx) { SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION); });
  ASSERT_FALSE(tls12.handshake_error()) << tls12.handshake_error().message();
  EXPECT_EQ(tls12.protocol(), "TLSv1.2");
  EXPECT_EQ(tls12.get("/ping").first, 200u);
}

TEST_F(HttpServerTlsTest, PlainHttpToTheTlsPortIsNotServed) {
  start(context("server", 1));
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
  stream.expires_after(std::chrono::seconds(10));
  http::request<http::string_body> req{http::verb::get, "/ping", 11};
  req.set(http::field::host, "127.0.0.1");
  beast::error_code ec;
  http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, ec);
  EXPECT_TRUE(ec) << "a plain HTTP request was answered: " << res.result_int();
  EXPECT_NE(ec, beast::error::timeout);  // closed by the server, not left hanging
}

TEST_F(HttpServerTlsTest, ANewContextServesNewConnectionsAndOpenOnesKeepTheirs) {
  start(context("first", 1));
  TlsClient before(server_->port());
  ASSERT_FALSE(before.handshake_error());
  EXPECT_EQ(before.peer_serial(), 1);
  EXPECT_EQ(before.get("/ping").first, 200u);

  ASSERT_TRUE(server_->set_tls_context(context("second", 2)).is_ok());
  TlsClient after(server_->port());
  ASSERT_FALSE(after.handshake_error());
  EXPECT_EQ(after.peer_serial(), 2);
  EXPECT_EQ(after.get("/ping").first, 200u);
  // The connection from before still works, on its first certificate.
  EXPECT_EQ(before.get("/ping").first, 200u);
  EXPECT_EQ(before.peer_serial(), 1);
}

TEST_F(HttpServerTlsTest, APlainServerHasNoContextToReplace) {
  start(nullptr);
  EXPECT_FALSE(server_->tls());
  EXPECT_FALSE(server_->set_tls_context(context("server", 1)).is_ok());
}

TEST_F(HttpServerTlsTest, AnInFlightRequestFinishesAcrossStop) {
  start(context("server", 1));
  TlsClient client(server_->port());
  ASSERT_FALSE(client.handshake_error());
  std::pair<unsigned, std::string> reply;
  std::thread request([&] { reply = client.get("/slow"); });
  // Stop while its handler runs (a bounded wait for it to start).
  for (int i = 0; i < 1000 && !slow_started_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(slow_started_);
  server_->stop(std::chrono::milliseconds(5000));
  request.join();
  EXPECT_EQ(reply.first, 200u) << reply.second;
  EXPECT_EQ(reply.second, R"({"slow":true})");
}

// The same over plain HTTP: before the work guard of HttpServer, closing the
// acceptor left the network threads nothing to wait on, and the answer of a
// request whose handler was still running was never written.
TEST_F(HttpServerTlsTest, AnInFlightPlainRequestFinishesAcrossStopToo) {
  start(nullptr);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code connected;
  stream.expires_after(std::chrono::seconds(10));
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()),
                       [&](beast::error_code ec) { connected = ec; });
  run_client(ioc);
  ASSERT_FALSE(connected) << connected.message();
  beast::flat_buffer buffer;
  std::pair<unsigned, std::string> reply;
  std::thread request([&] { reply = get_on(ioc, stream, buffer, "/slow", true); });
  for (int i = 0; i < 1000 && !slow_started_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(slow_started_);
  server_->stop(std::chrono::milliseconds(5000));
  request.join();
  EXPECT_EQ(reply.first, 200u) << reply.second;
}

TEST_F(HttpServerTlsTest, APeerThatNeverAnswersCloseNotifyDoesNotKeepItsConnection) {
  start(context("server", 1));
  TlsClient client(server_->port());
  ASSERT_FALSE(client.handshake_error());
  // Connection: close makes the server end the TLS session (close_notify) and
  // wait for ours, which never comes: kTlsShutdownTimeout ends the wait.
  EXPECT_EQ(client.get("/ping", false).first, 200u);
  EXPECT_TRUE(connections_drain()) << server_->open_connections() << " connection(s) still open";
}

}  // namespace
}  // namespace accountable
