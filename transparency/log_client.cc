#include "transparency/log_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace accountable {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr uint64_t kMaxBody = 4u << 20;

}  // namespace

Result<LogClient> LogClient::create(const std::string& base_url, std::optional<uint32_t> shard,
                                    std::chrono::milliseconds timeout) {
  const std::string scheme = "http://";
  if (base_url.rfind(scheme, 0) != 0) {
    return invalid_argument("expected http://host:port[/prefix] (https: put a TLS proxy in front)", "log");
  }
  std::string rest = base_url.substr(scheme.size());
  LogClient c;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    c.prefix_ = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!c.prefix_.empty() && c.prefix_.back() == '/') c.prefix_.pop_back();
  }
  const size_t colon = rest.rfind(':');
  if (rest.empty() || colon == 0) return invalid_argument("no host in " + base_url, "log");
  c.host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  c.port_ = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  if (c.port_.empty() || c.port_.find_first_not_of("0123456789") != std::string::npos) {
    return invalid_argument("bad port in " + base_url, "log");
  }
  c.shard_ = shard;
  c.timeout_ = timeout;
  return c;
}

std::string LogClient::url(const std::string& path_and_query) const {
  std::string target = prefix_ + path_and_query;
  if (shard_) target += (path_and_query.find('?') == std::string::npos ? "?" : "&") + std::string("shard=") +
                        std::to_string(*shard_);
  return target;
}

Result<HttpAnswer> LogClient::request(bool post, const std::string& target, const std::string& body,
                                      const std::string& content_type, const std::string& bearer_token) const {
  const std::string where = "http://" + host_ + ":" + port_ + target;
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{post ? http::verb::post : http::verb::get, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, "acct-transparency");
  if (!bearer_token.empty()) req.set(http::field::authorization, "Bearer " + bearer_token);
  if (post) {
    req.set(http::field::content_type, content_type);
    req.body() = body;
  }
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  // Asynchronous steps, so that one deadline bounds the whole exchange
  // (tcp_stream's timeout covers only asynchronous operations).
  beast::error_code failure;
  bool done = false;
  stream.expires_after(timeout_);
  resolver.async_resolve(host_, port_, [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) {
      failure = ec;
      return;
    }
    stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) {
        failure = ec2;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec3, size_t) {
        if (ec3) {
          failure = ec3;
          return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code ec4, size_t) {
          failure = ec4;
          done = !ec4;
        });
      });
    });
  });
  // The resolver has no deadline of its own: the run is bounded too.
  io.run_for(timeout_ + std::chrono::seconds(1));
  if (!io.stopped()) {
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
    io.run_for(std::chrono::seconds(1));
    return Status(StatusCode::kUnavailable, where + ": no answer within " + std::to_string(timeout_.count()) + " ms");
  }
  if (!done) return Status(StatusCode::kUnavailable, where + ": " + failure.message());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  HttpAnswer answer;
  answer.status = parser.get().result_int();
  answer.body = std::move(parser.get().body());
  return answer;
}

Result<HttpAnswer> LogClient::get(const std::string& path_and_query, const std::string& bearer_token) const {
  return request(false, url(path_and_query), "", "", bearer_token);
}

Result<HttpAnswer> LogClient::post(const std::string& path, const std::string& body,
                                   const std::string& content_type) const {
  return request(true, url(path), body, content_type, "");
}

Result<std::string> LogClient::get_ok(const std::string& path_and_query, const std::string& bearer_token) const {
  auto answer = get(path_and_query, bearer_token);
  if (!answer) return answer.status();
  if (answer->status != 200) {
    return Status(StatusCode::kUnavailable, "GET " + url(path_and_query) + " answered " +
                                                std::to_string(answer->status) + ": " + answer->body.substr(0, 300));
  }
  return std::move(answer->body);
}

}  // namespace accountable
