// A small blocking HTTP/1.1 client for the tools that watch a log from
// outside (acct witness, acct audit watch, acct proof --log): GET and POST
// against a log's base URL, with a time limit and a body limit. Plain http
// only (put TLS in front with a proxy; docs/witness.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "events/status.h"

namespace accountable {

struct HttpAnswer {
  unsigned status = 0;
  std::string body;
};

class LogClient {
 public:
  // `base_url`: "http://host:port" or "http://host:port/prefix". `shard`:
  // added as ?shard= to every request when set (a cluster node with S > 1).
  static Result<LogClient> create(const std::string& base_url, std::optional<uint32_t> shard = std::nullopt,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // `path_and_query` starts with '/'. A transport failure is kUnavailable
  // naming the URL; any HTTP status is an answer.
  Result<HttpAnswer> get(const std::string& path_and_query, const std::string& bearer_token = "") const;
  Result<HttpAnswer> post(const std::string& path, const std::string& body, const std::string& content_type) const;

  // GET that must answer 200: otherwise kUnavailable with the status and the body's error.
  Result<std::string> get_ok(const std::string& path_and_query, const std::string& bearer_token = "") const;

  std::string url(const std::string& path_and_query) const;

 private:
  Result<HttpAnswer> request(bool post, const std::string& target, const std::string& body,
                             const std::string& content_type, const std::string& bearer_token) const;
  std::string host_;
  std::string port_;
  std::string prefix_;
  std::optional<uint32_t> shard_;
  std::chrono::milliseconds timeout_{};
};

}  // namespace accountable
