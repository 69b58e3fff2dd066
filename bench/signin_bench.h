// `acct bench --workload signin`: the memory a burst of sign-ins costs the
// server (issue 20). `acct serve` in its own process, with argon2id at its
// production cost (64 MiB a hashing) and the sign-in budgets off (as if every
// attempt came from its own address); 200 clients at once each sign in with an
// email that does not exist, which still costs one argon2id verification.
// Prints the server's resident set before and its peak (VmHWM) after, how the
// attempts were answered (401 refused, 503 busy), and the time. Nothing here
// asserts a figure.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

Status signin_workload(const BenchOptions& options);

}  // namespace accountable::bench
