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

namespace accountable {

inline constexpr std::string_view kDemoPassword = "demo-password-2026";
inline constexpr std::string_view kDemoAdminEmail = "ada@contoso.example";

struct DemoInfo {
  PartnerId partner;
  UserId admin;
  GlobalPosition head;
};

Result<DemoInfo> seed_demo(AccountStack& stack, Timestamp now);

// curl lines that work against `base_url` as printed.
std::string demo_curl_lines(const DemoInfo& demo, const std::string& base_url, const std::string& data_dir);

}  // namespace accountable
