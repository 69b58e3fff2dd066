// A command that hands out a temporary password commits first and stores the
// password after. When the store never happens (the process stops between
// the two, the store fails, or the leader that committed dies), a retry of
// the same command by the same actor gets a new password (issue 20): the user
// is never left without one that somebody was given.
#include <gtest/gtest.h>

#include <filesystem>

#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

class PasswordGap : public ServerFixture {
 protected:
  // Makes the credentials file unwritable: its temporary file's name is taken
  // by a folder (root ignores permissions, a folder it cannot ignore).
  void block_the_credential_store() {
    std::filesystem::create_directories(dir_ + "/secrets/credentials.tmp/blocker");
  }
  void unblock_the_credential_store() { std::filesystem::remove_all(dir_ + "/secrets/credentials.tmp"); }

  static json::object create_user_command(const std::string& partner, const std::string& email) {
    return json::object{{"type", "CreateUser"},
                        {"command_id", CommandId::random().to_string()},
                        {"partner_id", partner},
                        {"profile", {{"first_name", "Gap"}, {"last_name", "User"}, {"email", email}, {"phone", ""}}},
                        {"roles", json::array{"sales_agent"}}};
  }
  Reply send(const std::string& token, const json::object& c) {
    return request(http::verb::post, "/v1/commands", json::serialize(c), token);
  }
};

TEST_F(PasswordGap, ARetryOfCreateUserWhosePasswordWasNeverStoredGetsANewOne) {
  auto [partner, admin, temp] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temp);
  const json::object create = create_user_command(partner, "gap@contoso.example");

  block_the_credential_store();
  Reply first = send(ada, create);
  ASSERT_EQ(first.status, 200u) << first.body;  // committed: the user exists
  const json::value first_body = first.json();
  EXPECT_FALSE(first_body.at("result").as_object().contains("temporary_password")) << first.body;
  EXPECT_TRUE(first_body.at("result").as_object().contains("temporary_password_error")) << first.body;
  const std::string user = std::string(first_body.at("result").at("user_id").as_string());

  unblock_the_credential_store();
  // Another admin of the partner retrying the same command gets no password.
  auto [uma_id, uma_temp] = create_user(ada, partner, "uma@contoso.example", {"user_management_admin"});
  const std::string uma = sign_in_and_change(partner, "uma@contoso.example", uma_temp);
  Reply stranger = send(uma, create);
  ASSERT_EQ(stranger.status, 200u) << stranger.body;
  EXPECT_TRUE(stranger.json().at("duplicate").as_bool());
  EXPECT_FALSE(stranger.json().at("result").as_object().contains("temporary_password")) << stranger.body;

  // The actor who issued it does.
  const uint64_t before = head();
  Reply retry = send(ada, create);
  ASSERT_EQ(retry.status, 200u) << retry.body;
  const json::value retry_body = retry.json();
  EXPECT_TRUE(retry_body.at("duplicate").as_bool());
  ASSERT_TRUE(retry_body.at("result").as_object().contains("temporary_password")) << retry.body;
  EXPECT_TRUE(retry_body.at("result").at("temporary_password_reissued").as_bool());
  EXPECT_EQ(std::string(retry_body.at("result").at("user_id").as_string()), user);
  EXPECT_EQ(head(), before);  // nothing new in the log
  const std::string password = std::string(retry_body.at("result").at("temporary_password").as_string());
  auto [token, signed_in] = sign_in(partner, "gap@contoso.example", password);
  EXPECT_EQ(signed_in.status, 200u) << signed_in.body;
  EXPECT_TRUE(signed_in.json().at("must_change_password").as_bool());

  // Once stored, a retry never replaces it.
  Reply again = send(ada, create);
  ASSERT_EQ(again.status, 200u) << again.body;
  EXPECT_FALSE(again.json().at("result").as_object().contains("temporary_password")) << again.body;
  auto [token2, still] = sign_in(partner, "gap@contoso.example", password);
  EXPECT_EQ(still.status, 200u) << still.body;
}

TEST_F(PasswordGap, ARetryOfResetPasswordWhosePasswordWasNeverStoredGetsANewOneAndTheOldOneDies) {
  auto [partner, admin, temp] = enroll();
  const std::string ada = sign_in_and_change(partner, "ada@contoso.example", temp);
  auto [user, user_temp] = create_user(ada, partner, "reset@contoso.example", {"sales_agent"});
  sign_in_and_change(partner, "reset@contoso.example", user_temp, "the-users-own-password");
  const json::object reset{{"type", "ResetPassword"},
                           {"command_id", CommandId::random().to_string()},
                           {"partner_id", partner},
                           {"user_id", user}};
  block_the_credential_store();
  Reply first = send(ada, reset);
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_FALSE(first.json().at("result").as_object().contains("temporary_password")) << first.body;
  unblock_the_credential_store();

  Reply retry = send(ada, reset);
  ASSERT_EQ(retry.status, 200u) << retry.body;
  ASSERT_TRUE(retry.json().at("result").as_object().contains("temporary_password")) << retry.body;
  const std::string password = std::string(retry.json().at("result").at("temporary_password").as_string());
  auto [old_token, old] = sign_in(partner, "reset@contoso.example", "the-users-own-password");
  EXPECT_EQ(old.status, 401u) << old.body;
  auto [new_token, fresh] = sign_in(partner, "reset@contoso.example", password);
  EXPECT_EQ(fresh.status, 200u) << fresh.body;
}

}  // namespace
}  // namespace accountable
