// `acct bench --workload proofs`: the Merkle tree at scale (bench/README.md,
// "Proofs"). A log of N events (default 10,000,000), the tree built from it
// as a signer's open builds it, then inclusion and consistency proofs at
// random positions and sizes, each generated from the tree's files and
// verified; and the bytes the tree adds per event.
#pragma once

#include "bench/log_bench.h"

namespace accountable::bench {

Status proofs_workload(const BenchOptions& options);

}  // namespace accountable::bench
