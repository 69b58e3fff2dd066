// The demo seed of `acct serve --demo`: a realistic partner (enrollment, users
// with different roles, a business profile, the operator's offers, this month's
// price list and a license-based preview, pins), run through the same
// CommandPipeline as the API. Only on an empty log.
//
// The demo admin's password is set to kDemoPassword (a documented, public demo
// value) so that the printed curl lines work; the other users' temporary
// passwords are discarded unseen.
#pragma once

#include <string>

#include "app/account_stack.h"
#include "app/token_store.h"

namespace accountable {

inline constexpr std::string_view kDemoPassword = "demo-password-2026";
inline constexpr std::string_view kDemoAdminEmail = "ada@contoso.example";

struct DemoInfo {
  PartnerId partner;
  UserId admin;
  GlobalPosition head;
  // With a token store: the token of a demo auditor of the partner (30 days),
  // for the console's auditor pages. A secret: the receiver stores it in a
  // 0600 file (write_demo_auditor_token) and wipes this copy.
  std::string auditor_token;
};

// `tokens` null: no auditor access is issued.
Result<DemoInfo> seed_demo(AccountStack& stack, Timestamp now, TokenStore* tokens = nullptr);

// DATA/demo-auditor.token (0600, fsynced), then wipes demo->auditor_token.
Status write_demo_auditor_token(DemoInfo* demo, const std::string& data_dir);
inline constexpr std::string_view kDemoAuditorTokenFile = "demo-auditor.token";

// How to open the console as the demo admin, operator and auditor, and curl
// lines that work against `base_url` as printed.
std::string demo_curl_lines(const DemoInfo& demo, const std::string& base_url, const std::string& data_dir);

}  // namespace accountable
