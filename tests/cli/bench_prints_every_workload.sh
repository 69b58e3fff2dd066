#!/usr/bin/env bash
# `acct bench --workload all` runs every workload and prints one JSON line per
# figure with the documented fields. Small counts: this checks the program, not speed.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$acct" bench --data "$work" --workload all --events 2000 --json > "$work/out.jsonl"
cat "$work/out.jsonl"
for w in disk W1 W2 W3 W4 W5 W6; do
  grep -q "\"workload\":\"$w\"" "$work/out.jsonl" || { echo "missing workload $w"; exit 1; }
done
while IFS= read -r line; do
  for field in system workload events seconds events_per_s p50_us p99_us; do
    case "$line" in *"\"$field\":"*) ;; *) echo "line lacks $field: $line"; exit 1 ;; esac
  done
done < "$work/out.jsonl"
grep -q '"duplicate_versions":0.0' "$work/out.jsonl"
[ "$(ls -A "$work")" = "out.jsonl" ] || { echo "bench left data behind"; exit 1; }
echo "every workload printed its figures"
