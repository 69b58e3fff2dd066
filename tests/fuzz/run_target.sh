#!/usr/bin/env bash
# Runs a libFuzzer target for ctest (tests/fuzz/CMakeLists.txt) and scripts/fuzz:
#   run_target.sh seeds  <binary> <corpus dir>     every seed once
#   run_target.sh smoke  <binary> <corpus dir> <scratch dir> <seconds> [<dict>]
#       a bounded run: new inputs go to <scratch dir>/corpus, any
#       finding to <scratch dir>/{crash,leak,timeout,oom}-*; fails on a finding
#   run_target.sh replay <binary> <input file>      one input once (regressions)
# The seed folder is only read, never written.
set -euo pipefail
mode=$1 bin=$2
shift 2
# allocator_may_return_null: an allocation too big for ASan throws bad_alloc
# as in production; huge allocations are findings through -malloc_limit_mb.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limits=(-rss_limit_mb=2048 -malloc_limit_mb=64 -timeout=10)
case "$mode" in
  seeds)
    corpus=$1
    files=("$corpus"/*)
    [ -e "${files[0]}" ] || { echo "no seeds in $corpus" >&2; exit 1; }
    exec "$bin" -runs=0 "${limits[@]}" "$corpus"
    ;;
  smoke)
    corpus=$1 scratch=$2 seconds=$3 dict=${4:-}
    rm -rf "$scratch"
    mkdir -p "$scratch/corpus"
    args=(-max_total_time="$seconds"
          "${limits[@]}" -print_final_stats=1 -artifact_prefix="$scratch/")
    [ -n "$dict" ] && args+=(-dict="$dict")
    rc=0
    "$bin" "${args[@]}" "$scratch/corpus" "$corpus" || rc=$?
    shopt -s nullglob
    findings=("$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-*)
    if [ ${#findings[@]} -gt 0 ]; then
      echo "run_target.sh: findings: ${findings[*]}" >&2
      exit 1
    fi
    exit $rc
    ;;
  replay)
    exec "$bin" "${limits[@]}" "$1"
    ;;
  *)
    echo "run_target.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
