// `acct bench --workload aggregate|commands`: the domain layer over the real,
// durable log (bench/README.md). Programs that print figures; nothing here
// asserts a speed.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

// A partner stream of 10,000 events (--events), written through the engine;
// then the partner's state loaded three ways: from the engine's in-memory
// state cache, from its snapshot plus the tail (no cache), and replayed from
// its first event (neither). Three lines: µs per load.
Status aggregate_workload(const BenchOptions& options);

// 16 threads, each the Global admin of its own partner, running the command
// mix of bench/command_mix.h through Engine::execute, durable; 16,000
// commands (--events). One line: commands/s, p50 and p99 of one execute().
Status commands_workload(const BenchOptions& options);

}  // namespace accountable::bench
