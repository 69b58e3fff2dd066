// How a failed Status reaches a client: the HTTP status, the body's code and
// the Retry-After of every 503 (docs/http-api.md, "Every error body").
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/http_server.h"

namespace accountable {
namespace {

struct ErrorAnswer {
  unsigned status;
  std::string code;
  std::string retry_after;
};

ErrorAnswer error_answer_for(const Status& s) {
  const HttpResponse res = error_response(s);
  const boost::json::value body = boost::json::parse(res.body());
  return ErrorAnswer{res.result_int(), std::string(body.at("error").at("code").as_string()),
                     std::string(res[boost::beast::http::field::retry_after])};
}

TEST(ErrorResponse, AClusterCommitThatMayHaveLandedIsA503ThatSaysSo) {
  const ErrorAnswer unknown = error_answer_for(Status(StatusCode::kOutcomeUnknown, "the commit may have landed"));
  EXPECT_EQ(unknown.status, 503u);
  EXPECT_EQ(unknown.code, "outcome_unknown");
  EXPECT_EQ(unknown.retry_after, "1");

  const ErrorAnswer not_written = error_answer_for(Status(StatusCode::kUnavailable, "nothing was written"));
  EXPECT_EQ(not_written.status, 503u);
  EXPECT_EQ(not_written.code, "unavailable");
  EXPECT_EQ(not_written.retry_after, "1");
}

TEST(ErrorResponse, AFullDiskAsksForALongerWaitAndA4xxForNone) {
  const ErrorAnswer full = error_answer_for(Status(StatusCode::kNoSpace, "the log store is full"));
  EXPECT_EQ(full.status, 503u);
  EXPECT_EQ(full.code, "no_space");
  EXPECT_EQ(full.retry_after, "30");

  const ErrorAnswer bad = error_answer_for(Status(StatusCode::kInvalidArgument, "bad", "partner_id"));
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.code, "invalid_argument");
  EXPECT_EQ(bad.retry_after, "");
}

}  // namespace
}  // namespace accountable
