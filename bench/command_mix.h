// The realistic command mix shared by the `commands` (in process, through
// Engine::execute) and `http` (over loopback) workloads, and the accounts it
// runs against. bench/README.md describes the mix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/account_stack.h"
#include "schema/commands.h"

namespace accountable::bench {

inline constexpr std::string_view kBenchPassword = "bench-password-2026";

struct BenchPartner {
  PartnerId partner;
  UserId admin;
  std::string admin_email;
  std::vector<UserId> users;  // one per slot: each worker of the partner edits its own user
};

struct BenchAccounts {
  std::vector<std::string> offers;  // one per slot: each worker of a partner pins its own offer
  std::vector<BenchPartner> partners;
};

// The real stack (log, keys, credentials, snapshots, signer) over `dir`, with
// argon2id at its lowest cost: only the untimed set-up sets passwords, and a
// sign-in verifies with the cost stored in the hash.
Result<std::unique_ptr<AccountStack>> open_bench_stack(const std::string& dir);

// Seeds an empty stack: a catalog of `slots` offers (operator), then
// `partners` partners enrolled by the operator, each with its Global admin's
// password set to kBenchPassword, the reseller agreement accepted (so it may
// pin offers) and `slots` users created. Not timed by any workload.
Result<BenchAccounts> seed_bench_accounts(AccountStack& stack, size_t partners, size_t slots);

// Command number `i` of the worker in `slot` of `partner`. The mix, eight
// commands in turn, every one of which writes an event:
//   UpdateSupportProfile, PinOffer, UpdateUserProfile, AssignRole,
//   UnpinOffer, UpdateOrganizationProfile, RemoveRole, UpdateUserProfile.
// Workers of one partner race on the partner's stream (the engine retries a
// version conflict); each worker's own offer and user keep its pin/unpin and
// assign/remove pairs valid when it runs its commands in order.
Command mix_command(const BenchAccounts& accounts, size_t partner, size_t slot, uint64_t i);
inline constexpr size_t kMixLength = 8;

}  // namespace accountable::bench
