// `acct bench --workload http`: `acct serve` in its own process, driven over
// loopback by a load generator of ours (one thread, 64 keep-alive
// connections, one request in flight on each) running the command mix of
// bench/command_mix.h. Prints commands/s, p50 and p99 of a request, and the
// CPU each side used (bench/README.md). Nothing here asserts a speed.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

Status http_workload(const BenchOptions& options);

}  // namespace accountable::bench
