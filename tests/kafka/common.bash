# Sourced by tests/kafka/*.sh (not a test itself: ctest registers *.sh only).
# Arguments of every script: $1 acct, $2 kafka_test_tool, $3 partner-directory.
set -euo pipefail
acct="$1"
tool="$2"
directory_bin="${3:-}"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kafka="$root/scripts/kafka"
# Debian's python3 has python3-confluent-kafka and python3-jsonschema; a
# python3 earlier on PATH (pyenv, venv) may not.
python=/usr/bin/python3

# The shared broker of scripts/test. Missing: the test FAILS (never skips).
require_bootstrap() {
  if [ -z "${ACCT_KAFKA_BOOTSTRAP:-}" ]; then
    echo "FAIL: ACCT_KAFKA_BOOTSTRAP is not set: this test needs a real Kafka broker." >&2
    echo "Run it through ./scripts/test (which starts one), or: export ACCT_KAFKA_BOOTSTRAP=\$(scripts/kafka start | tail -1)" >&2
    exit 1
  fi
}

work=$(mktemp -d "${TMPDIR:-/tmp}/acct-kafka-sh.XXXXXX")
relay_pid=""
cluster_dir=""
cleanup() {
  local rc=$?
  if [ -n "$relay_pid" ]; then kill -9 "$relay_pid" 2>/dev/null || true; fi
  if [ -n "$cluster_dir" ]; then "$kafka" stop --dir "$cluster_dir" >/dev/null 2>&1 || true; fi
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/*.err; do
      [ -f "$f" ] || continue
      echo "----- tail of $f -----"
      tail -n 20 "$f"
    done
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# Starts a cluster of this test's own (N nodes) with its state in $work;
# sets $cluster_dir (stopped by the EXIT trap) and $brokers.
start_own_cluster() {
  cluster_dir="$work/kafka"
  "$kafka" start --brokers "$1" --dir "$cluster_dir" 2>"$work/kafka-start.err" | tail -1 >"$work/bootstrap"
  brokers=$(<"$work/bootstrap")
  [ -n "$brokers" ] || { echo "FAIL: the test's own Kafka cluster did not start"; exit 1; }
}

# Waits (at most $4 s) until the topic's high watermarks reach $3 while the
# relay ($relay_pid) runs. Fails if the relay exits first.
wait_for_messages() {
  local brokers=$1 topic=$2 min=$3 seconds=$4 n=0 i
  for ((i = 0; i < seconds * 5; i++)); do
    n=$("$tool" watermarks --brokers "$brokers" --topic "$topic" 2>/dev/null || echo 0)
    if [ "$n" -ge "$min" ]; then
      echo "$n"
      return 0
    fi
    if ! kill -0 "$relay_pid" 2>/dev/null; then
      echo "FAIL: the relay exited before $min messages were written (at $n)" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "FAIL: fewer than $min messages after ${seconds}s (at $n)" >&2
  return 1
}

# Waits (at most $2 s) for the relay to exit; returns its exit code.
wait_relay() {
  local seconds=$1 i rc
  for ((i = 0; i < seconds * 5; i++)); do
    if ! kill -0 "$relay_pid" 2>/dev/null; then
      rc=0
      wait "$relay_pid" || rc=$?
      relay_pid=""
      return "$rc"
    fi
    sleep 0.2
  done
  echo "FAIL: the relay did not finish within ${seconds}s" >&2
  return 1
}
