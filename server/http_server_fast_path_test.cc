// HttpServer's fast path (Route::fast): a route that answers later, from
// another thread, without a worker thread waiting for it (commands and their
// fsync, server/command_routes.cc). Here with a router of test routes.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "server/http_server.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using http_test::Reply;
using http_test::send_request;

ApiReply text(const std::string& body) { return ApiReply{json_response(http::status::ok, body), nullptr}; }

class FastPath : public ::testing::Test {
 protected:
  // A server of one worker whose queue takes `max_queued` requests (0: none,
  // every request that needs a worker is refused with 503).
  void start(size_t max_queued) {
    router_.add(http::verb::get, "/worker", [this](const ApiRequest&) {
      worker_ran_.fetch_add(1);
      return text("\"from a worker\"");
    });
    // /fast answers through run_on, after the fast handler has returned.
    router_.add(
        http::verb::get, "/fast", [](const ApiRequest&) { return text("\"from a worker\""); },
        [](const ApiRequest&, const JobRunner& run_on, ReplyFn reply) {
          run_on([reply = std::move(reply)] { reply(text("\"later\"")); });
          return true;
        });
    router_.add(
        http::verb::get, "/declines", [](const ApiRequest&) { return text("\"from a worker\""); },
        [](const ApiRequest&, const JobRunner&, ReplyFn) { return false; });
    router_.add(
        http::verb::get, "/throws", [](const ApiRequest&) { return text("\"from a worker\""); },
        [](const ApiRequest&, const JobRunner&, ReplyFn) -> bool { throw std::runtime_error("boom"); });
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.workers = 1;
    options.max_queued_requests = max_queued;
    server_ = std::make_unique<HttpServer>(options, router_);
    ASSERT_TRUE(server_->start().is_ok());
  }
  void TearDown() override {
    if (server_) server_->stop(std::chrono::milliseconds(2000));
  }
  Reply get(const std::string& target) { return send_request(server_->port(), http::verb::get, target); }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> worker_ran_{0};
};

TEST_F(FastPath, AnswersWhenTheWorkerPoolTakesNothing) {
  start(0);
  Reply refused = get("/worker");
  EXPECT_EQ(refused.status, 503u) << "the pool takes nothing: " << refused.body;
  EXPECT_EQ(worker_ran_.load(), 0);
  for (int i = 0; i < 5; ++i) {
    Reply fast = get("/fast");
    EXPECT_EQ(fast.status, 200u) << fast.body;
    EXPECT_EQ(fast.body, "\"later\"");
  }
  // A declined fast path needs a worker like any other request.
  EXPECT_EQ(get("/declines").status, 503u);
}

TEST_F(FastPath, ADeclinedRequestTakesTheRoutesHandler) {
  start(16);
  Reply r = get("/declines");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "\"from a worker\"");
  EXPECT_EQ(get("/worker").status, 200u);
  EXPECT_EQ(worker_ran_.load(), 1);
}

TEST_F(FastPath, AThrowingFastPathIsAnsweredOnce500AndTheServerServesOn) {
  start(16);
  Reply r = get("/throws");
  EXPECT_EQ(r.status, 500u) << r.body;
  EXPECT_NE(r.body.find("internal error"), std::string::npos) << r.body;
  EXPECT_EQ(get("/fast").status, 200u);
}

// The job gate (read-shared by every hand-off and answer): once stop() closed
// it, a command still in flight runs its later work where it finishes and its
// answer is dropped, with nothing posted into the stopped io_context.
TEST_F(FastPath, AfterStopLaterWorkRunsOnTheCallersThreadAndTheAnswerIsDropped) {
  std::mutex mu;
  std::condition_variable arrived;
  JobRunner held_run_on;
  ReplyFn held_reply;
  router_.add(
      http::verb::get, "/held", [](const ApiRequest&) { return text("\"from a worker\""); },
      [&](const ApiRequest&, const JobRunner& run_on, ReplyFn reply) {
        std::lock_guard lock(mu);
        held_run_on = run_on;
        held_reply = std::move(reply);
        arrived.notify_all();
        return true;
      });
  start(16);
  Reply answer;
  std::thread client([&] { answer = get("/held"); });
  bool held = false;
  {
    std::unique_lock lock(mu);
    held = arrived.wait_for(lock, std::chrono::seconds(30), [&] { return held_reply != nullptr; });
  }
  EXPECT_TRUE(held);
  server_->stop(std::chrono::milliseconds(0));  // the request is still in flight
  if (held) {
    std::thread::id ran_on;
    held_run_on([&] { ran_on = std::this_thread::get_id(); });
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    held_reply(text("\"too late\""));  // dropped
  }
  held_run_on = nullptr;
  held_reply = nullptr;  // the session it holds goes before the io_context
  server_.reset();       // closes the connection: the client's read ends
  client.join();
  EXPECT_EQ(answer.status, 0u) << answer.body;
}

}  // namespace
}  // namespace accountable
