#include "bench/command_mix.h"

#include <sodium.h>

#include <ctime>

#include "aggregates/catalog.h"
#include "app/command_pipeline.h"

namespace accountable::bench {

namespace {

Address bench_address(size_t n) {
  return Address{std::to_string(100 + n) + " Pine Street", "", "Seattle", "WA", "98101", "US", "West"};
}

Result<CommandOutcome> execute(AccountStack& stack, const Principal& who, Command command) {
  CommandRequest request;
  request.id = CommandId::random();
  request.command = std::move(command);
  request.digest = command_digest(ParsedCommand{request.id, request.command});
  return stack.engine().execute(who, request);
}

}  // namespace

Result<std::unique_ptr<AccountStack>> open_bench_stack(const std::string& dir) {
  AccountStackOptions options;
  options.data_dir = dir;
  options.credentials.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  options.credentials.memlimit = crypto_pwhash_MEMLIMIT_MIN;
  return AccountStack::open(options);
}

Result<BenchAccounts> seed_bench_accounts(AccountStack& stack, size_t partners, size_t slots) {
  BenchAccounts out;
  const Principal op = Operator{"bench"};
  for (size_t s = 0; s < slots; ++s) {
    Offer o;
    o.offer_id = "bench-offer-" + std::to_string(s);
    o.display_name = "Bench offer " + std::to_string(s);
    o.segment = Segment::kEnterprise;
    o.purchase_unit = "1 Month";
    o.billing_model = BillingModel::kUsageBased;
    if (auto r = execute(stack, op, PublishOffer{o}); !r) return r.status();
    out.offers.push_back(o.offer_id);
  }
  // This month's US price list, so that the offers can be ordered (and pinned) now.
  const time_t seconds = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  const int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
  PriceList prices{"US", "USD", year, month, BillingModel::kUsageBased, {}};
  for (const std::string& id : out.offers) {
    PriceRow row;
    row.change_code = ChangeCode::kAdd;
    row.valid_from = month_start(year, month);
    row.valid_to = Timestamp{month_end(year, month).micros - 1};
    row.offer_display_name = "Bench offer";
    row.offer_id = id;
    row.purchase_unit = "1 Month";
    row.list_price_micros = 20'000'000;
    row.erp_price_micros = 24'000'000;
    prices.rows.push_back(row);
  }
  if (auto r = execute(stack, op, PublishPriceList{prices}); !r) return r.status();
  CommandPipeline pipeline(stack);
  for (size_t p = 0; p < partners; ++p) {
    BenchPartner bp;
    bp.admin_email = "admin" + std::to_string(p) + "@bench" + std::to_string(p) + ".example";
    EnrollPartner enroll;
    enroll.admin = ContactDetails{"Ada", "Admin", bp.admin_email, "+1 425 555 0100"};
    enroll.partner_name = "Bench Partner " + std::to_string(p);
    enroll.mpn_id = std::to_string(5000000 + p);
    enroll.legal = LegalProfileInput{"Bench Partner " + std::to_string(p) + " LLC", bench_address(p),
                                     ContactDetails{"Pat", "Legal", "legal@bench" + std::to_string(p) + ".example",
                                                    "+1 425 555 0101"},
                                     "approver@bench" + std::to_string(p) + ".example", bench_address(p)};
    enroll.tenant_id = "6f1b1d0e-8a43-4c59-9f64-0c1f5b6a" + std::to_string(1000 + p);
    enroll.default_domain = "bench" + std::to_string(p) + ".onmicrosoft.com";
    enroll.language = "en";
    enroll.culture = "en-us";
    auto enrolled = pipeline.run(op, ParsedCommand{CommandId::random(), enroll});
    if (!enrolled) return enrolled.status();
    if (enrolled->password) {  // the temporary password: replaced below, never printed
      sodium_memzero(enrolled->password->password.data(), enrolled->password->password.size());
    }
    bp.partner = PartnerId(enrolled->outcome.created_ids.at(0).bytes());
    bp.admin = UserId(enrolled->outcome.created_ids.at(1).bytes());
    const Principal admin = PartnerUser{bp.partner, bp.admin, {}, true};
    // A chosen password, recorded as a change (as the demo does).
    auto changed = pipeline.change_password(admin, bp.partner, bp.admin, kBenchPassword);
    if (!changed) return changed.status();
    ACCT_RETURN_IF_ERROR(changed->failure);
    if (auto r = execute(stack, admin, AcceptResellerAgreement{bp.partner, "2019-10"}); !r) return r.status();
    for (size_t s = 0; s < slots; ++s) {
      ContactDetails who{"User", std::to_string(s), "user" + std::to_string(s) + "@bench" + std::to_string(p) + ".example", ""};
      auto created = execute(stack, admin, CreateUser{bp.partner, who, {Role::kAdminAgent}});
      if (!created) return created.status();
      bp.users.push_back(UserId(created->created_ids.at(0).bytes()));
    }
    out.partners.push_back(std::move(bp));
  }
  return out;
}

Command mix_command(const BenchAccounts& a, size_t partner, size_t slot, uint64_t i) {
  const BenchPartner& p = a.partners.at(partner);
  const std::string n = std::to_string(i);
  const std::string domain = "@bench" + std::to_string(partner) + ".example";
  const ContactDetails profile{"User " + n, std::to_string(slot), "user" + std::to_string(slot) + domain, ""};
  switch (i % kMixLength) {
    case 0:
      return UpdateSupportProfile{p.partner, SupportProfile{"support-" + n + domain, "+1 800 555 0199",
                                                            "https://bench.example/support/" + n}};
    case 1:
      return PinOffer{p.partner, a.offers.at(slot)};
    case 2:
    case 7:
      return UpdateUserProfile{p.partner, p.users.at(slot), profile};
    case 3:
      return AssignRole{p.partner, p.users.at(slot), Role::kIncentivesUser};
    case 4:
      return UnpinOffer{p.partner, a.offers.at(slot)};
    case 5:
      return UpdateOrganizationProfile{p.partner, "bench" + std::to_string(partner) + ".onmicrosoft.com",
                                       "org-" + n + domain, "en", "en-us"};
    default:
      return RemoveRole{p.partner, p.users.at(slot), Role::kIncentivesUser};
  }
}

}  // namespace accountable::bench
