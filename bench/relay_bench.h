// `acct bench --workload relay --kafka-brokers LIST [--events N]`: the Kafka
// relay's throughput to a real broker (bench/README.md). Not part of `all`.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

// Loads N domain events (default 1,000,000) into DATA/relay, then prints one
// JSON line: the relay's end-to-end events/s to a fresh topic (exactly-once
// transactions), with what bounds it measured beside it: encoding alone
// (decode + JSON, no Kafka) and a plain producer sending the same messages
// without transactions.
Status relay_workload(const BenchOptions& options);

}  // namespace accountable::bench
