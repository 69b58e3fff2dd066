#!/usr/bin/env bash
# `acct bench --workload all` runs every workload and prints one JSON line per
# figure with the documented fields; bench/plot turns those lines into a PNG
# and a table, and names the line of a malformed input. Small counts: this
# checks the programs, not speed.
set -euo pipefail
acct="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$acct" bench --data "$work/data" --workload all --events 2000 --json > "$work/out.jsonl"
cat "$work/out.jsonl"
for w in disk membw W1 W2 W3 W4 W5 W6 W1+tree W2+tree W3+tree open memory aggregate-snapshot aggregate-cached aggregate-replay commands views http proofs-build proofs-inclusion proofs-consistency proofs-bytes; do
  grep -q "\"workload\":\"$w\"" "$work/out.jsonl" || { echo "missing workload $w"; exit 1; }
done
while IFS= read -r line; do
  fields="system workload events seconds events_per_s"
  case "$line" in *'"workload":"views"'*) fields="$fields figure cpu_seconds" ;; *) fields="$fields p50_us p99_us" ;; esac
  for field in $fields; do
    case "$line" in *"\"$field\":"*) ;; *) echo "line lacks $field: $line"; exit 1 ;; esac
  done
done < "$work/out.jsonl"
grep -Eq '"duplicate_versions":0(\.0+)?[,}]' "$work/out.jsonl" || { echo "W6 found duplicate versions"; exit 1; }
grep -q '"workload":"commands".*"failures":0.000' "$work/out.jsonl" || { echo "commands had failures"; exit 1; }
grep -q '"workload":"http".*"refused":0.000' "$work/out.jsonl" || { echo "http had refusals"; exit 1; }
[ -z "$(ls -A "$work/data")" ] || { echo "bench left data behind: $(ls -A "$work/data")"; exit 1; }

# The sign-in memory figure (not part of `all`): its fields, and every one of
# the 200 attempts answered (refused or busy), none lost.
"$acct" bench --data "$work/data" --workload signin > "$work/signin.jsonl"
cat "$work/signin.jsonl"
for field in clients peak_rss_mib rss_before_mib refused_401 busy_503 other; do
  grep -q "\"$field\":" "$work/signin.jsonl" || { echo "signin lacks $field"; exit 1; }
done
grep -q '"other":0[,}]' "$work/signin.jsonl" || { echo "a sign-in was neither refused nor busy"; exit 1; }

# The CRC figures (not part of `all`): a line per implementation this CPU has
# and size, the software one always, and which one the log uses.
"$acct" bench --data "$work/data" --workload crc > "$work/crc.jsonl"
cat "$work/crc.jsonl"
for size in 64 400 1200 40000 1048576; do
  grep -q "\"implementation\":\"software\",\"bytes\":$size,.*\"gb_per_s\":[0-9]" "$work/crc.jsonl" ||
    { echo "crc lacks the software line for $size bytes"; exit 1; }
done
grep -Eq '"used_by_the_log":"(software|sse4.2|sse4.2\+pclmul|avx512\+vpclmulqdq)"' "$work/crc.jsonl" ||
  { echo "crc does not say which implementation the log uses"; exit 1; }

# bench/plot: a PNG and a table with a row per workload it can place.
"$root/bench/plot" "$work/out.jsonl" --out "$work/chart.png" --table > "$work/table.md"
cat "$work/table.md"
[ "$(head -c 8 "$work/chart.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "not a PNG"; exit 1; }
for w in W1 W2 W3 W4 W5 open memory commands views http; do
  grep -q "^| $w |" "$work/table.md" || { echo "table lacks $w"; exit 1; }
done
# Another system's line (bench/postgres-w2's) after ours is left out, not taken as our W2.
printf '%s\n' '{"system":"postgresql","workload":"W2","events":1,"seconds":1,"events_per_s":1}' > "$work/pg.jsonl"
"$root/bench/plot" "$work/out.jsonl" "$work/pg.jsonl" --out "$work/chart2.png" --table > "$work/table2.md" 2> "$work/plot2.err"
cmp -s "$work/table.md" "$work/table2.md" || { echo "a postgresql line changed the table:"; diff "$work/table.md" "$work/table2.md"; exit 1; }
grep -q "left out 1 line(s) of other systems" "$work/plot2.err" || { echo "plot did not say so: $(cat "$work/plot2.err")"; exit 1; }
printf '%s\n' '{"workload":"W1","events_per_s":1}' '{"workload": broken' > "$work/bad.jsonl"
if "$root/bench/plot" "$work/bad.jsonl" --out "$work/bad.png" 2> "$work/err.txt"; then
  echo "plot accepted a malformed line"; exit 1
fi
grep -q "bad.jsonl:2: not a JSON object" "$work/err.txt" || { echo "plot did not name the line: $(cat "$work/err.txt")"; exit 1; }
echo "every workload printed its figures, and bench/plot drew them"
