#!/usr/bin/env bash
# acct verify passes on a good log, and names the position of a byte flipped in
# the middle of a segment (exit 1).
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$acct" bench --data "$work" --workload W3 --events 2000 --keep >/dev/null
data="$work/W3"
"$acct" verify --data "$data" > "$work/good.txt"
grep -q "^OK$" "$work/good.txt"
grep -q "events 2000," "$work/good.txt"
grep -q "head position 2000," "$work/good.txt"

seg="$data/log/seg-00000000000000000001.log"
# The log's bytes, up to its last commit (the zero-filled tail after it is not
# the log's: docs/log-format.md, "Preallocated segments").
size=$("$acct" verify --data "$data" | grep -o "bytes [0-9]*" | tr -dc 0-9)
[ "$size" -gt 0 ]
offset=$((size / 2))
"$(dirname "$0")/flip_byte.bash" "$seg" "$offset" 0x10

set +e
"$acct" verify --data "$data" > "$work/bad.txt"
rc=$?
set -e
cat "$work/bad.txt"
[ "$rc" -eq 1 ] || { echo "expected exit 1, got $rc"; exit 1; }
grep -Eq "^FAILED at position [0-9]+ \(seg-00000000000000000001.log offset [0-9]+\): CRC mismatch" "$work/bad.txt"
echo "verify named the flipped byte"
