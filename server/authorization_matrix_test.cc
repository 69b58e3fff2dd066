// Every route of the router against every kind of principal, over real HTTP
// (issue 9). The expected status of each (route, principal) comes from ONE
// table below, derived from DOMAIN.md "What each role may do" and
// aggregates/roles.cc (kPermissionRules, kCommandPermissions), docs/http-api.md
// "Routes" and projections/view_queries.h. Adding a route to the router without
// a row here fails EveryRouteHasARow.
//
// Partner A is Contoso (every principal below but the last belongs to it, or
// holds no partner); partner B is Fabrikam, whose Global admin is the last
// column. A refused request (anything but 200) must not move the log head.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <functional>
#include <set>

#include "aggregates/roles.h"
#include "schema/json_codec.h"
#include "server/testing/http_test_client.h"

namespace accountable {
namespace {

using namespace http_test;

// The principals, in the table's column order.
enum P : size_t {
  kNoToken,
  kOperator,
  kGlobalAdmin,
  kUserManagementAdmin,
  kBillingAdmin,
  kAccountAdmin,
  kMpnPartnerAdmin,
  kAdminAgent,
  kSalesAgent,
  kHelpdeskAgent,
  kIncentivesAdmin,
  kIncentivesUser,
  kReferralAdmin,
  kBusinessProfileAdmin,
  kNoRole,        // an active user of A with no role
  kDeactivated,   // a user of A deactivated after signing in (its token was revoked then)
  kMustChange,    // a Global admin of A who has not changed the temporary password yet
  kAuditor,       // A's auditor (IssueAuditorAccess)
  kOtherPartner,  // B's Global admin
  kPrincipals
};

constexpr std::array<const char*, kPrincipals> kNames = {
    "no token",       "operator",       "Global admin",    "User management admin", "Billing admin",
    "Account admin",  "MPN partner admin", "Admin agent",  "Sales agent",           "Helpdesk agent",
    "Incentives admin", "Incentives user", "Referral admin", "Business profile admin", "user with no role",
    "deactivated user", "user with a temporary password", "A's auditor", "B's Global admin"};

// The partner roles of columns kGlobalAdmin..kBusinessProfileAdmin.
constexpr std::array<Role, 12> kRoleColumns = {
    Role::kGlobalAdmin,    Role::kUserManagementAdmin, Role::kBillingAdmin,   Role::kAccountAdmin,
    Role::kMpnPartnerAdmin, Role::kAdminAgent,         Role::kSalesAgent,     Role::kHelpdeskAgent,
    Role::kIncentivesAdmin, Role::kIncentivesUser,     Role::kReferralAdmin,  Role::kBusinessProfileAdmin};

struct Ids {
  std::string a, b;        // partner ids
  std::string a_admin;     // A's first Global admin
  std::string a_victim;    // a user of A with no role whose password the managers reset
  unsigned counter = 0;    // makes emails, MPN ids and offer ids unique
};

struct Req {
  std::string target;
  std::string body;  // POST only
};

using Codes = std::array<unsigned, kPrincipals>;

struct Row {
  http::verb method;
  const char* pattern;  // the router's pattern this row covers
  const char* what;
  std::function<Req(Ids&)> make;
  Codes expected;
  // Server-Sent Events (/v1/events/subscribe): only the status is read.
  bool stream() const {
    return std::string_view(pattern) == "/v1/events/subscribe" ||
           std::string_view(pattern) == "/v1/me/notifications/subscribe";
  }
};

std::string cmd(json::object c) {
  c["command_id"] = CommandId::random().to_string();
  return json::serialize(c);
}

// THE TABLE. Columns:
//   none  op | GA  UMA BA  AccA MPN AdmAg SalAg HlpAg IncA IncU RefA BPA | noRole deact mustChg | auditor otherGA
std::vector<Row> table() {
  using V = http::verb;
  const auto support = [](const std::string& partner) {
    return cmd(json::object{{"type", "UpdateSupportProfile"}, {"partner_id", partner},
                            {"support", {{"email", "help@contoso.example"}, {"phone", ""}, {"website", ""}}}});
  };
  return {
      // ---- commands (the engine authorizes with authorize_command) ----------------------------------------
      {V::post, "/v1/commands", "UpdateSupportProfile of A (Global admin)",
       [support](Ids& ids) { return Req{"/v1/commands", support(ids.a)}; },
       {401, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "CreateUser in A (Global admin, User management admin)",
       [](Ids& ids) {
         const std::string email = "new" + std::to_string(++ids.counter) + "@contoso.example";
         return Req{"/v1/commands",
                    cmd(json::object{{"type", "CreateUser"}, {"partner_id", ids.a},
                                     {"profile", {{"first_name", "N"}, {"last_name", "U"}, {"email", email}, {"phone", ""}}},
                                     {"roles", json::array{}}})};
       },
       {401, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "AddLocation to A (Global admin, Account admin)",
       [](Ids& ids) {
         return Req{"/v1/commands",
                    cmd(json::object{{"type", "AddLocation"}, {"partner_id", ids.a},
                                     {"address", {{"line1", "2 Side Street"}, {"line2", ""}, {"city", "Redmond"},
                                                  {"state", "WA"}, {"postal_code", "98052"}, {"country", "US"},
                                                  {"region", "West"}}},
                                     {"mpn_id", std::to_string(5000000 + ++ids.counter)}})};
       },
       {401, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "PinOffer of an unknown offer in A (Global admin, Admin agent, Sales agent: 422)",
       [](Ids& ids) {
         return Req{"/v1/commands",
                    cmd(json::object{{"type", "PinOffer"}, {"partner_id", ids.a}, {"offer_id", "no-such-offer"}})};
       },
       {401, 403, 422, 403, 403, 403, 403, 422, 422, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "ResetPassword of a user of A (Global admin, User management admin)",
       [](Ids& ids) {
         return Req{"/v1/commands",
                    cmd(json::object{{"type", "ResetPassword"}, {"partner_id", ids.a}, {"user_id", ids.a_victim}})};
       },
       {401, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "RevokeAuditorAccess of an unknown grant of A (the operator: 404)",
       [](Ids& ids) {
         return Req{"/v1/commands", cmd(json::object{{"type", "RevokeAuditorAccess"}, {"partner_id", ids.a},
                                                     {"grant_id", AuditorGrantId::random().to_string()},
                                                     {"reason", "matrix"}})};
       },
       {401, 404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "CorrectMpnId of A to the id it has (the operator: 422 mpn_id_unchanged)",
       [](Ids& ids) {
         return Req{"/v1/commands", cmd(json::object{{"type", "CorrectMpnId"}, {"partner_id", ids.a},
                                                     {"mpn_id", "1234567"}, {"reason", "matrix"}})};
       },
       {401, 422, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "PublishOffer (the operator)",
       [](Ids& ids) {
         json::object c = json::parse(R"({"type":"PublishOffer","offer":{"offer_id":"","display_name":"Offer",
             "segment":"enterprise","license_agreement_type":"corporate","purchase_unit":"1 Month",
             "secondary_license_type":"non_specific","base_offer_ids":[],"end_customer_type":"corporate",
             "billing_model":"usage_based"}})").as_object();
         c["offer"].as_object()["offer_id"] = "matrix-offer-" + std::to_string(++ids.counter);
         return Req{"/v1/commands", cmd(c)};
       },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::post, "/v1/commands", "UpdateSupportProfile of B (only B's Global admin)",
       [support](Ids& ids) { return Req{"/v1/commands", support(ids.b)}; },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::post, "/v1/commands", "ResetPassword of B's admin (nobody of A)",
       [](Ids& ids) {
         (void)ids;
         return Req{"/v1/commands", ""};  // filled in by the fixture (B's admin id): see make_b_reset
       },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      // ---- sessions and passwords --------------------------------------------------------------------------
      {V::post, "/v1/sessions", "sign-in of an unknown account",
       [](Ids& ids) {
         return Req{"/v1/sessions",
                    json::serialize(json::object{{"partner_id", ids.a},
                                                 {"email", "nobody" + std::to_string(++ids.counter) + "@contoso.example"},
                                                 {"password", "not-the-password"}})};
       },
       {401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401}},
      {V::post, "/v1/me/password", "change own password to a too short one (400 = authorized)",
       [](Ids&) { return Req{"/v1/me/password", R"({"old":"whatever-old-pw","new":"short"})"}; },
       {401, 403, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 401, 400, 403, 400}},
      // ---- sessions: a partner user's own; the auditor may sign out; the operator rotates ------------------
      {V::get, "/v1/me/sessions", "own sessions (any partner user, a temporary password too)",
       [](Ids&) { return Req{"/v1/me/sessions", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200, 403, 200}},
      {V::delete_, "/v1/me/sessions/{id}", "end a session that is not one's own (404 = authorized)",
       [](Ids&) { return Req{"/v1/me/sessions/" + SessionId::random().to_string(), ""}; },
       {401, 403, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 404, 403, 404}},
      // Run last of all (see EveryRouteAgainstEveryPrincipal): it ends every caller's session. B's admin's
      // token was revoked by the ResetPassword of B before it.
      {V::delete_, "/v1/sessions/current", "sign out (users and the auditor; the operator rotates instead)",
       [](Ids&) { return Req{"/v1/sessions/current", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200, 200, 401}},
      // ---- who am I: every principal reads itself (the operator and auditors: no user record) --------------
      {V::get, "/v1/me", "one's own record, roles and permissions (a temporary password too)",
       [](Ids&) { return Req{"/v1/me", ""}; },
       {401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200, 200, 200}},
      {V::patch, "/v1/me", "change one's own phone (partner users; not with a temporary password)",
       [](Ids&) { return Req{"/v1/me", R"({"phone":"+1 425 555 0100"})"}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 403, 403, 200}},
      // ---- one's own notifications: partner users only (the operator and auditors have no feed) -------------
      {V::get, "/v1/me/notifications", "one's own feed (not with a temporary password)",
       [](Ids&) { return Req{"/v1/me/notifications", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 403, 403, 200}},
      {V::post, "/v1/me/notifications/read", "mark one's own notifications read (MarkNotificationsRead)",
       [](Ids&) { return Req{"/v1/me/notifications/read", R"({"up_to":1})"}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 403, 403, 200}},
      {V::get, "/v1/me/notifications/subscribe", "SSE of one's own feed",
       [](Ids&) { return Req{"/v1/me/notifications/subscribe", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 403, 403, 200}},
      // ---- raw event reads ---------------------------------------------------------------------------------
      {V::get, "/v1/streams/{stream}", "A's partner stream (audit permission; another tenant: 404)",
       [](Ids& ids) { return Req{"/v1/streams/partner-" + ids.a, ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 404}},
      {V::get, "/v1/streams/{stream}", "the stream of A's admin",
       [](Ids& ids) { return Req{"/v1/streams/user-" + ids.a_admin, ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 404}},
      {V::get, "/v1/streams/{stream}", "A's partner stream past its end (must not reveal it to B)",
       [](Ids& ids) { return Req{"/v1/streams/partner-" + ids.a + "?from=100000", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 404}},
      {V::get, "/v1/streams/{stream}", "B's partner stream (A's people: 404)",
       [](Ids& ids) { return Req{"/v1/streams/partner-" + ids.b, ""}; },
       {401, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 403, 404, 200}},
      {V::get, "/v1/streams/{stream}", "the catalog stream (price-list permission)",
       [](Ids&) { return Req{"/v1/streams/catalog", ""}; },
       {401, 200, 200, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/streams/{stream}", "an unknown stream",
       [](Ids&) { return Req{"/v1/streams/partner-00000000-0000-4000-8000-000000000000", ""}; },
       {401, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401, 403, 404, 404}},
      {V::get, "/v1/events", "$all (own partner only, audit permission)", [](Ids&) { return Req{"/v1/events", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 200}},
      {V::get, "/v1/events", "$all of partner B",
       [](Ids& ids) { return Req{"/v1/events?partner=" + ids.b, ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/events/subscribe", "SSE of $all", [](Ids&) { return Req{"/v1/events/subscribe", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 200}},
      {V::get, "/v1/events/subscribe", "SSE of partner B",
       [](Ids& ids) { return Req{"/v1/events/subscribe?partner=" + ids.b, ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      // ---- views ---------------------------------------------------------------------------------------------
      {V::get, "/v1/partners/{id}/catalog", "A's catalog (any user of A with a role)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/catalog", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/catalog", "B's catalog",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/catalog", ""}; },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/pricing/{market}/{currency}", "the US price lists (Global admin, Billing admin, Admin agent)",
       [](Ids&) { return Req{"/v1/pricing/US/USD", ""}; },
       {401, 403, 200, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/pricing/{market}/{currency}/preview", "next month's US price lists",
       [](Ids&) { return Req{"/v1/pricing/US/USD/preview", ""}; },
       {401, 403, 200, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/pricing/{market}/{currency}/diff", "the diff of two US months",
       [](Ids&) { return Req{"/v1/pricing/US/USD/diff?from_month=2026-01&to_month=2026-02", ""}; },
       {401, 403, 200, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      // The fixture publishes no price list: who may read gets 404 (no price), the rest 403.
      {V::get, "/v1/pricing/{market}/{currency}/offers/{offer_id}", "an offer's US price",
       [](Ids&) { return Req{"/v1/pricing/US/USD/offers/azure-plan", ""}; },
       {401, 403, 404, 403, 404, 403, 403, 404, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 404}},
      {V::get, "/v1/pricing/{market}/{currency}/offers/{offer_id}/history", "an offer's US price history",
       [](Ids&) { return Req{"/v1/pricing/US/USD/offers/azure-plan/history", ""}; },
       {401, 403, 200, 403, 200, 403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/users", "A's directory (Global admin, User management admin, Account admin)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/users", ""}; },
       {401, 403, 200, 200, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/users", "B's directory",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/users?role=global_admin", ""}; },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/profile", "A's profile (any user of A with a role)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/profile", ""}; },
       {401, 403, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/profile", "B's profile",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/profile", ""}; },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/readiness", "A's sales readiness (any user of A with a role, the operator)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/readiness", ""}; },
       {401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/readiness", "B's sales readiness",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/readiness", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/tax-exemptions/expiring", "A's expiring tax certificates (Global admin, Billing admin)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/tax-exemptions/expiring", ""}; },
       {401, 403, 200, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/tax-exemptions/expiring", "B's expiring tax certificates",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/tax-exemptions/expiring", ""}; },
       {401, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/directory/profiles", "the public partner directory (anyone, a token or not)",
       [](Ids&) { return Req{"/v1/directory/profiles?q=contoso", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/v1/tax-exemptions/expiring", "every partner's expiring tax certificates (the operator)",
       [](Ids&) { return Req{"/v1/tax-exemptions/expiring", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/history", "A's audit timeline (Global admin, operator, A's auditor)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/history", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 403}},
      {V::get, "/v1/partners/{id}/history", "B's audit timeline",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/history?from_time=2000-01-01", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/security-log", "the whole security log (operator)",
       [](Ids&) { return Req{"/v1/security-log", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      {V::get, "/v1/partners/{id}/security-log", "A's security log lines (Global admin, operator, A's auditor)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/security-log", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 403}},
      {V::get, "/v1/partners/{id}/security-log", "B's security log lines",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/security-log?limit=5", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/state", "A's state as of a position (Global admin, operator, A's auditor)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/state?at_position=1", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 403}},
      {V::get, "/v1/partners/{id}/state", "B's state as of a time",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/state?as_of=2100-01-01", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::get, "/v1/partners/{id}/export", "A's export (Global admin, operator, A's auditor)",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.a + "/export", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 403}},
      {V::get, "/v1/partners/{id}/export", "B's export as CSV",
       [](Ids& ids) { return Req{"/v1/partners/" + ids.b + "/export?format=csv", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 200}},
      {V::post, "/v1/views/{name}/rebuild", "rebuild a view (operator)",
       [](Ids&) { return Req{"/v1/views/directory/rebuild", ""}; },
       {401, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 403, 403}},
      // ---- the Merkle tree (docs/witness.md): hashes are public, a record is read as its event ---------------
      {V::get, "/v1/checkpoints/latest", "the latest tree checkpoint (public)",
       [](Ids&) { return Req{"/v1/checkpoints/latest", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/v1/proofs/consistency", "a consistency proof (public)",
       [](Ids&) { return Req{"/v1/proofs/consistency?from=1&to=2", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/v1/proofs/inclusion", "the proof of A's first event (with its record: as /v1/events)",
       [](Ids&) { return Req{"/v1/proofs/inclusion?position=1&tree_size=2", ""}; },
       {401, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401, 403, 200, 403}},
      {V::post, "/v1/checkpoints/cosignatures", "a witness's cosignature (none trusted here)",
       [](Ids&) { return Req{"/v1/checkpoints/cosignatures", "not a note"}; },
       {403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403}},
      // ---- operations (public) -------------------------------------------------------------------------------
      {V::get, "/healthz", "health", [](Ids&) { return Req{"/healthz", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/metrics", "metrics", [](Ids&) { return Req{"/metrics", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/v1/openapi.yaml", "the contract", [](Ids&) { return Req{"/v1/openapi.yaml", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      // ---- the web console's files (public: the console asks the API for everything) ------------------
      {V::get, "/", "the console's page", [](Ids&) { return Req{"/", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
      {V::get, "/console/{asset}", "a console file", [](Ids&) { return Req{"/console/app.js", ""}; },
       {200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200}},
  };
}

class AuthorizationMatrix : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    auto [a, a_admin, a_temp] = enroll();
    auto [b, b_admin, b_temp] = enroll_fabrikam();
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    ids_.a = a;
    ids_.b = b;
    ids_.a_admin = a_admin;
    b_admin_ = b_admin;
    tokens_of_[kOperator] = operator_token_;
    tokens_of_[kGlobalAdmin] = sign_in_and_change(a, "ada@contoso.example", a_temp);
    tokens_of_[kOtherPartner] = sign_in_and_change(b, "gus@fabrikam.example", b_temp);
    const std::string& ada = tokens_of_[kGlobalAdmin];
    for (size_t i = 1; i < kRoleColumns.size(); ++i) {
      const std::string email = "role" + std::to_string(i) + "@contoso.example";
      auto [id, temp] = create_user(ada, a, email, {std::string(role_json_name(kRoleColumns[i]))});
      ASSERT_FALSE(id.empty()) << kNames[kGlobalAdmin + i];
      tokens_of_[kGlobalAdmin + i] = sign_in_and_change(a, email, temp);
    }
    {
      auto [id, temp] = create_user(ada, a, "norole@contoso.example", {});
      tokens_of_[kNoRole] = sign_in_and_change(a, "norole@contoso.example", temp);
    }
    {
      auto [id, temp] = create_user(ada, a, "gone@contoso.example", {"billing_admin"});
      tokens_of_[kDeactivated] = sign_in_and_change(a, "gone@contoso.example", temp);
      Reply d = command(ada, json::object{{"type", "DeactivateUser"}, {"partner_id", a}, {"user_id", id}});
      ASSERT_EQ(d.status, 200u) << d.body;
    }
    {
      auto [id, temp] = create_user(ada, a, "fresh@contoso.example", {"global_admin"});
      auto [token, reply] = sign_in(a, "fresh@contoso.example", temp);
      ASSERT_EQ(reply.status, 200u) << reply.body;
      tokens_of_[kMustChange] = token;
    }
    {
      auto [id, temp] = create_user(ada, a, "victim@contoso.example", {});
      ids_.a_victim = id;
    }
    Reply issued = command(operator_token_,
                           json::object{{"type", "IssueAuditorAccess"}, {"partner_id", a},
                                        {"auditor_email", "audit@kpmg.example"},
                                        {"valid_until", format_timestamp(plus_days(now(), 2))}});
    ASSERT_EQ(issued.status, 200u) << issued.body;
    tokens_of_[kAuditor] = std::string(issued.json().at("result").at("auditor_token").as_string());
    // The catalog stream exists.
    Reply offer = command(operator_token_, json::parse(R"({"type":"PublishOffer","offer":{"offer_id":"azure-plan",
        "display_name":"Azure plan","segment":"enterprise","license_agreement_type":"corporate",
        "purchase_unit":"1 Month","secondary_license_type":"non_specific","base_offer_ids":[],
        "end_customer_type":"corporate","billing_model":"usage_based"}})").as_object());
    ASSERT_EQ(offer.status, 200u) << offer.body;
    // A tree checkpoint exists (the signer's cadence is a minute).
    auto signed_now = stack_->signer()->sign_now();
    ASSERT_TRUE(signed_now.is_ok()) << signed_now.status().to_string();
    for (size_t p = kOperator; p < kPrincipals; ++p) ASSERT_FALSE(tokens_of_[p].empty()) << kNames[p];
  }

  Ids ids_;
  std::string b_admin_;
  std::array<std::string, kPrincipals> tokens_of_;
};

TEST_F(AuthorizationMatrix, EveryRouteHasARow) {
  std::set<std::pair<http::verb, std::string>> covered;
  for (const Row& row : table()) covered.emplace(row.method, row.pattern);
  std::set<std::pair<http::verb, std::string>> routes;
  for (const Route& route : api_->router().routes()) {
    routes.emplace(route.method, route.pattern);
    EXPECT_TRUE(covered.count({route.method, route.pattern}))
        << http::to_string(route.method) << " " << route.pattern
        << " has no row in the authorization table (server/authorization_matrix_test.cc)";
  }
  for (const auto& [method, pattern] : covered) {
    EXPECT_TRUE(routes.count({method, pattern})) << "a row names " << pattern << ", which is not a route";
  }
}

TEST_F(AuthorizationMatrix, EveryRouteAgainstEveryPrincipal) {
  std::vector<Row> rows = table();
  // B's admin id is only known now.
  for (Row& row : rows) {
    if (std::string(row.what).rfind("ResetPassword of B", 0) == 0) {
      const std::string b = ids_.b, target = b_admin_;
      row.make = [b, target](Ids&) {
        return Req{"/v1/commands",
                   cmd(json::object{{"type", "ResetPassword"}, {"partner_id", b}, {"user_id", target}})};
      };
      // B's admin resetting their own password would revoke the token the other rows use: run it last.
    }
  }
  std::stable_partition(rows.begin(), rows.end(),
                        [](const Row& r) { return std::string(r.what).rfind("ResetPassword of B", 0) != 0; });
  // Signing out ends each caller's token: the very last row.
  std::stable_partition(rows.begin(), rows.end(),
                        [](const Row& r) { return std::string_view(r.pattern) != "/v1/sessions/current"; });
  size_t checked = 0;
  for (const Row& row : rows) {
    for (size_t p = 0; p < kPrincipals; ++p) {
      Req req = row.make(ids_);
      const std::string& token = tokens_of_[p];
      const uint64_t before = head();
      Reply r;
      if (row.stream()) {
        r = read_stream_prefix(server_->port(), req.target, token, [](const std::string&) { return true; },
                               std::chrono::milliseconds(5000));
      } else {
        r = request(row.method, req.target, req.body, token);
      }
      EXPECT_EQ(r.status, row.expected[p]) << row.what << " as " << kNames[p] << ": " << r.body.substr(0, 300);
      if (row.expected[p] != 200 && r.status != 200) {
        EXPECT_EQ(head(), before) << row.what << " as " << kNames[p] << " was refused but wrote an event";
      }
      if (r.status == 401 || r.status == 403) {
        EXPECT_FALSE(r.error_message().empty()) << row.what << " as " << kNames[p] << ": no message: " << r.body;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, rows.size() * kPrincipals);
}

// The profile read follows least privilege (docs/http-api.md, "Profile"): the
// legal contacts only for a Global admin, the billing contact, tax ids and
// exemptions only for a Global admin or Billing admin; everyone else with a
// role reads the rest. Withheld parts are named, and their values are absent.
TEST_F(AuthorizationMatrix, TheProfileShowsPersonalDataAndTaxOnlyToWhoManagesThem) {
  json::object update = json::parse(R"({"type":"UpdateBillingProfile","billing":{
      "company_name":"Contoso Billing","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA",
      "postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Bo","last_name":"Bill",
      "email":"bo.bill@contoso.example","phone":""},"purchase_order_number":"PO-7","tax_id":"TAXID-778899"},
      "billing_currency":"USD"})")
                            .as_object();
  update["partner_id"] = ids_.a;
  Reply billing = command(tokens_of_[kGlobalAdmin], update);
  ASSERT_EQ(billing.status, 200u) << billing.body;
  const std::vector<std::string> legal = {"legal.primary_contact", "legal.approver_email", "legal.approver_address"};
  const std::vector<std::string> tax = {"billing.primary_contact", "billing.tax_id", "selling.accepted_tax_id",
                                        "selling.tax_id_accepted", "tax_exemptions"};
  // Read once the profile view holds the update (under load it may lag; each
  // try waits up to the fixture's min_position wait).
  const std::string target = "/v1/partners/" + ids_.a + "/profile?min_position=" + std::to_string(head());
  for (size_t p = kGlobalAdmin; p <= kBusinessProfileAdmin; ++p) {
    Reply r = request(http::verb::get, target, "", tokens_of_[p]);
    for (int attempt = 0; attempt < 50 && r.status == 503; ++attempt) {
      r = request(http::verb::get, target, "", tokens_of_[p]);
    }
    ASSERT_EQ(r.status, 200u) << kNames[p] << ": " << r.body;
    std::vector<std::string> expected;
    if (p != kGlobalAdmin) expected = legal;
    if (p != kGlobalAdmin && p != kBillingAdmin) expected.insert(expected.end(), tax.begin(), tax.end());
    std::vector<std::string> withheld;
    const json::value body = r.json();
    for (const auto& w : body.at("withheld").as_array()) withheld.emplace_back(w.as_string());
    EXPECT_EQ(withheld, expected) << kNames[p];
    const bool sees_legal = p == kGlobalAdmin;
    const bool sees_tax = p == kGlobalAdmin || p == kBillingAdmin;
    for (const char* value : {"pat@contoso.example", "approver@contoso.example"}) {
      EXPECT_EQ(r.body.find(value) != std::string::npos, sees_legal) << kNames[p] << " and " << value;
    }
    for (const char* value : {"bo.bill@contoso.example", "TAXID-778899"}) {
      EXPECT_EQ(r.body.find(value) != std::string::npos, sees_tax) << kNames[p] << " and " << value;
    }
    // What every reader sees stays: the company names and the billing address.
    EXPECT_NE(r.body.find("Contoso Ltd"), std::string::npos) << kNames[p];
    EXPECT_NE(r.body.find("Contoso Billing"), std::string::npos) << kNames[p];
  }
}

}  // namespace
}  // namespace accountable
