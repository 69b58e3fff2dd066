// Offline, read-only verification of a whole log (`acct verify`): framing,
// both CRC levels, gapless positions, contiguous stream versions, and the hash
// chain, segment by segment. Takes no lock and writes nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "events/env.h"
#include "events/sha256.h"
#include "events/types.h"

namespace accountable {

struct VerifyProblem {
  std::string segment;
  uint64_t offset = 0;
  GlobalPosition position;  // the first position that could not be trusted
  std::string reason;
};

struct VerifyReport {
  uint64_t segments = 0;
  uint64_t commits = 0;
  uint64_t events = 0;
  uint64_t streams = 0;
  uint64_t bytes = 0;
  GlobalPosition head;
  Hash256 head_hash{};
  std::optional<VerifyProblem> problem;  // the first failure; verification stops there
  // A partial commit at the very end that open would cut off (never acknowledged).
  std::optional<VerifyProblem> torn_tail;
  bool ok() const { return !problem.has_value(); }
};

// Called after each segment with the bytes checked so far and the total.
using VerifyProgress = std::function<void(uint64_t bytes_done, uint64_t bytes_total, uint64_t events)>;

Result<VerifyReport> verify_log(Env* env, const std::string& data_dir, const VerifyProgress& progress = {});

}  // namespace accountable
