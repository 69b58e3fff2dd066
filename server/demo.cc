#include "server/demo.h"

#include <sodium.h>

#include <ctime>

#include "aggregates/catalog.h"
#include "app/command_pipeline.h"

namespace accountable {

namespace {

Address demo_address(const std::string& line1) {
  return Address{line1, "", "Redmond", "WA", "98052", "US", "West"};
}

Offer demo_offer(const std::string& id, const std::string& name, Segment segment, BillingModel model) {
  Offer o;
  o.offer_id = id;
  o.display_name = name;
  o.segment = segment;
  o.purchase_unit = "1 Month";
  o.billing_model = model;
  return o;
}

PriceRow demo_row(const Offer& o, Timestamp from, Timestamp to, int64_t list_micros) {
  PriceRow r;
  r.change_code = ChangeCode::kAdd;
  r.valid_from = from;
  r.valid_to = to;
  r.offer_display_name = o.display_name;
  r.offer_id = o.offer_id;
  r.purchase_unit = o.purchase_unit;
  r.list_price_micros = list_micros;
  r.erp_price_micros = list_micros + list_micros / 5;
  return r;
}

struct Civil {
  int year, month;
};

Civil civil_month(Timestamp t) {
  const time_t seconds = static_cast<time_t>(t.micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1};
}

Civil next_month(Civil c) { return c.month == 12 ? Civil{c.year + 1, 1} : Civil{c.year, c.month + 1}; }

}  // namespace

Result<DemoInfo> seed_demo(AccountStack& stack, Timestamp now, TokenStore* tokens) {
  if (stack.log().head().value() != 0) {
    return Status(StatusCode::kConflict, "--demo seeds only an empty data folder (this one has events)");
  }
  CommandPipeline pipeline(stack, tokens);
  const Principal op = Operator{"demo"};
  auto run = [&](const Principal& who, Command c) -> Result<CommandReply> {
    auto reply = pipeline.run(who, ParsedCommand{CommandId::random(), std::move(c)});
    if (reply && reply->password) {
      sodium_memzero(reply->password->password.data(), reply->password->password.size());
      reply->password.reset();
    }
    return reply;
  };

  EnrollPartner enroll;
  enroll.admin = ContactDetails{"Ada", "Lovelace", std::string(kDemoAdminEmail), "+1 425 555 0100"};
  enroll.partner_name = "Contoso Cloud Services";
  enroll.mpn_id = "4012345";
  enroll.legal = LegalProfileInput{"Contoso Cloud Services LLC", demo_address("1 Microsoft Way"),
                                   ContactDetails{"Pat", "Legal", "pat@contoso.example", "+1 425 555 0101"},
                                   "approver@contoso.example", demo_address("1 Microsoft Way")};
  enroll.tenant_id = "6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11";
  enroll.default_domain = "contoso.onmicrosoft.com";
  enroll.language = "en";
  enroll.culture = "en-us";
  auto enrolled = run(op, enroll);
  if (!enrolled) return enrolled.status();
  DemoInfo demo;
  demo.partner = PartnerId(enrolled->outcome.created_ids.at(0).bytes());
  demo.admin = UserId(enrolled->outcome.created_ids.at(1).bytes());
  const Principal admin = PartnerUser{demo.partner, demo.admin, {}, true};

  // The demo admin's password: public, documented, recorded as a change.
  auto changed = pipeline.change_password(admin, demo.partner, demo.admin, kDemoPassword);
  if (!changed) return changed.status();
  ACCT_RETURN_IF_ERROR(changed->failure);

  const std::vector<Command> partner_setup = {
      AcceptResellerAgreement{demo.partner, "2019-10"},
      UpdateSupportProfile{demo.partner, SupportProfile{"support@contoso.example", "+1 800 555 0199",
                                                        "https://contoso.example/support"}},
      CreateUser{demo.partner, ContactDetails{"Grace", "Hopper", "grace@contoso.example", ""}, {Role::kBillingAdmin}},
      CreateUser{demo.partner, ContactDetails{"Alan", "Turing", "alan@contoso.example", ""}, {Role::kSalesAgent}},
      CreateUser{demo.partner, ContactDetails{"Edsger", "Dijkstra", "edsger@contoso.example", ""},
                 {Role::kBusinessProfileAdmin, Role::kAdminAgent}},
      FileTaxExemption{demo.partner, "WA", "WA-RESALE-2026", now, Timestamp{now.micros + 365LL * 86'400'000'000LL}},
  };
  for (const Command& c : partner_setup) {
    if (auto r = run(admin, c); !r) return r.status();
  }
  if (auto r = run(op, SetAuthorizedRegions{demo.partner, {"emea", "na"}}); !r) return r.status();
  if (auto r = run(op, SetEarnedTags{demo.partner, {"Gold Cloud Platform"}, {}}); !r) return r.status();

  const std::vector<Offer> usage = {
      demo_offer("azure-plan", "Azure plan", Segment::kEnterprise, BillingModel::kUsageBased),
      demo_offer("azure-plan-gov", "Azure plan (Government)", Segment::kGovernment, BillingModel::kUsageBased),
      demo_offer("dynamics-365-sb", "Dynamics 365 Business Central", Segment::kSmallBusiness,
                 BillingModel::kUsageBased),
  };
  const std::vector<Offer> license = {
      demo_offer("m365-e3", "Microsoft 365 E3", Segment::kEnterprise, BillingModel::kLicenseBased),
      demo_offer("m365-business", "Microsoft 365 Business Standard", Segment::kSmallBusiness,
                 BillingModel::kLicenseBased),
  };
  for (const auto* offers : {&usage, &license}) {
    for (const Offer& o : *offers) {
      if (auto r = run(op, PublishOffer{o}); !r) return r.status();
    }
  }
  // This month's usage-based list (published within its month) ...
  const Civil month = civil_month(now);
  PriceList current{"US", "USD", month.year, month.month, BillingModel::kUsageBased, {}};
  const Timestamp month_begin = month_start(month.year, month.month);
  const Timestamp month_last = Timestamp{month_end(month.year, month.month).micros - 1};
  int64_t price = 20'000'000;
  for (const Offer& o : usage) current.rows.push_back(demo_row(o, month_begin, month_last, price += 5'000'000));
  if (auto r = run(op, PublishPriceList{current}); !r) return r.status();
  // ... and the license-based preview of the first month that starts at least 30 days from now.
  Civil preview_month = next_month(month);
  while (month_start(preview_month.year, preview_month.month).micros < now.micros + 30LL * 86'400'000'000LL) {
    preview_month = next_month(preview_month);
  }
  PriceList preview{"US", "USD", preview_month.year, preview_month.month, BillingModel::kLicenseBased, {}};
  const Timestamp preview_begin = month_start(preview_month.year, preview_month.month);
  const Timestamp preview_last = Timestamp{month_end(preview_month.year, preview_month.month).micros - 1};
  for (const Offer& o : license) preview.rows.push_back(demo_row(o, preview_begin, preview_last, price += 3'000'000));
  if (auto r = run(op, PublishPriceList{preview}); !r) return r.status();

  BusinessProfileDetails details;
  details.logo = Logo{LogoFormat::kPng, 240, "blob:contoso-logo"};
  details.description = "Contoso helps mid-size companies move to the cloud.";
  details.website = "https://contoso.example";
  details.linkedin_url = "https://www.linkedin.com/company/contoso";
  details.industry_focus = {"Retail", "Healthcare"};
  details.products = {"azure-plan", "m365-e3"};
  details.service_types = {"Consulting", "Managed services"};
  details.skills = {"Migration", "Identity"};
  details.target_customer_sizes = {CustomerSize::k50To249, CustomerSize::k250To999};
  const std::vector<Command> marketing = {
      CreateBusinessProfile{demo.partner, "na", details},
      AddProfileLocation{demo.partner, "na", demo_address("500 Pine Street"), "+1 206 555 0100"},
      PublishBusinessProfile{demo.partner, "na"},
      PinOffer{demo.partner, "azure-plan"},
      PinOffer{demo.partner, "dynamics-365-sb"},
  };
  for (const Command& c : marketing) {
    if (auto r = run(admin, c); !r) return r.status();
  }
  if (tokens) {
    // A demo auditor (30 days): the console's auditor pages need one.
    auto issued = run(op, IssueAuditorAccess{demo.partner, "auditor@fabrikam.example",
                                             Timestamp{now.micros + 30LL * 86'400'000'000LL}});
    if (!issued) return issued.status();
    ACCT_RETURN_IF_ERROR(issued->failure);
    auto token = issued->notes.find("auditor_token");
    if (token == issued->notes.end() || !token->value().is_string()) {
      return Status(StatusCode::kInternal, "the demo auditor's token was not issued");
    }
    boost::json::string& kept = token->value().as_string();
    // Room for the file's line end: no reallocation leaves an unwiped copy.
    demo.auditor_token.reserve(kept.size() + 1);
    demo.auditor_token.assign(kept.data(), kept.size());
    sodium_memzero(kept.data(), kept.size());
  }
  demo.head = stack.log().head();
  return demo;
}

Status write_demo_auditor_token(DemoInfo* demo, const std::string& data_dir) {
  demo->auditor_token += "\n";
  // Env creates files 0600: only the service account can read it.
  Status s = posix_env()->write_file_atomically(data_dir + "/" + std::string(kDemoAuditorTokenFile),
                                                demo->auditor_token);
  sodium_memzero(demo->auditor_token.data(), demo->auditor_token.size());
  demo->auditor_token.clear();
  return s;
}

std::string demo_curl_lines(const DemoInfo& demo, const std::string& base_url, const std::string& data_dir) {
  const std::string p = demo.partner.to_string();
  std::string out;
  out += "The console: open " + base_url + "/ and sign in\n";
  out += "  as the demo admin:   partner " + p + ", " + std::string(kDemoAdminEmail) + ", password " +
         std::string(kDemoPassword) + "\n";
  out += "  as the operator:     the token in " + data_dir + "/operator.token\n";
  out += "  as the demo auditor: the token in " + data_dir + "/" + std::string(kDemoAuditorTokenFile) + "\n\n";
  out += "Or with curl:\n";
  out += "export ACCT=" + base_url + "\n";
  out += "curl -s $ACCT/healthz\n";
  out += "TOKEN=$(curl -s -X POST $ACCT/v1/sessions -d '{\"partner_id\":\"" + p + "\",\"email\":\"" +
         std::string(kDemoAdminEmail) + "\",\"password\":\"" + std::string(kDemoPassword) +
         "\"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)[\"token\"])')\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" $ACCT/v1/partners/" + p + "/catalog\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" $ACCT/v1/partners/" + p + "/users\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" \"$ACCT/v1/pricing/US/USD/offers/azure-plan\"\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" \"$ACCT/v1/pricing/US/USD?format=csv\" | sed -n 1,3p\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" -X POST $ACCT/v1/commands -d '{\"type\":\"UpdateSupportProfile\","
         "\"command_id\":\"'$(cat /proc/sys/kernel/random/uuid)'\",\"partner_id\":\"" +
         p + "\",\"support\":{\"email\":\"help@contoso.example\",\"phone\":\"+1 800 555 0100\",\"website\":\"\"}}'\n";
  out += "curl -s -H \"Authorization: Bearer $TOKEN\" \"$ACCT/v1/partners/" + p + "/history?limit=5\"\n";
  out += "curl -s \"$ACCT/v1/directory/profiles?q=cloud%20migration\"\n";  // anyone, no token
  out += "curl -s -H \"Authorization: Bearer $(cat " + data_dir + "/operator.token)\" \"$ACCT/v1/events?limit=3\"\n";
  return out;
}

}  // namespace accountable
