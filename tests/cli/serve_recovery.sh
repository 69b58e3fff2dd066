#!/usr/bin/env bash
# Corruption before the tail makes open fail, naming the segment, the offset and
# the last good position; `serve --recovery truncate` moves the bad part into
# quarantine (nothing deleted) and opens; verify then passes.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$acct" bench --data "$work" --workload W3 --events 2000 --keep >/dev/null
data="$work/W3"
seg="$data/log/seg-00000000000000000001.log"
# The log's bytes, up to its last commit (the zero-filled tail after it is not
# the log's: docs/log-format.md, "Preallocated segments").
size=$("$acct" verify --data "$data" | grep -o "bytes [0-9]*" | tr -dc 0-9)
[ "$size" -gt 0 ]
offset=$((size / 2))
"$(dirname "$0")/flip_byte.bash" "$seg" "$offset" 0x04
rm "$data/index/checkpoint"  # the checkpoint would let open skip the damaged part

set +e
"$acct" serve --data "$data" --listen 127.0.0.1:0 >"$work/fail.out" 2>"$work/fail.err"
rc=$?
set -e
cat "$work/fail.err"
[ "$rc" -eq 1 ] || { echo "expected exit 1, got $rc"; exit 1; }
grep -Eq "seg-00000000000000000001.log offset [0-9]+: .*last good position [0-9]+" "$work/fail.err"

# serve runs until SIGTERM: wait (bounded) for it to listen, then stop it.
"$acct" serve --data "$data" --recovery truncate --listen 127.0.0.1:0 >"$work/ok.out" 2>"$work/ok.err" &
pid=$!
for _ in $(seq 1 300); do grep -q "^listening on" "$work/ok.out" && break; sleep 0.1; done
grep -q "^listening on" "$work/ok.out" || { cat "$work/ok.err"; kill -9 "$pid"; exit 1; }
kill -TERM "$pid"
wait "$pid"
ls "$data/quarantine/" | grep -q "seg-00000000000000000001.log\.[0-9]*\.bad"
"$acct" verify --data "$data" > "$work/verify.out"
tail -1 "$work/verify.out" | grep -q '^OK$'
events=$(grep -o "events [0-9]*," "$work/verify.out" | tr -dc 0-9)
[ "$events" -lt 2000 ] && [ "$events" -gt 0 ] || { echo "unexpected event count $events"; exit 1; }
echo "open refused the damage; truncate kept $events events and moved the rest aside"
