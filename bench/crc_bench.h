// `acct bench --workload crc`: CRC32C throughput of every implementation this
// CPU can run (events/crc32c.h), at the sizes the log checks: a short record,
// a commit of a few records, a long commit, and a buffer too large for the
// caches (a scan of segments that are not cached). Independent calls, as a
// read checks its records; one JSON line per implementation and size.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

Status crc_workload(const BenchOptions& options);

}  // namespace accountable::bench
