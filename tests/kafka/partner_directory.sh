#!/usr/bin/env bash
# The example service end to end: partner-directory reads the relayed topic
# into its SQLite file. A handler failure stops it without storing that
# event's offset; the next run resumes there, and every event is applied
# exactly once over the two runs.
source "$(dirname "$0")/common.bash"
require_bootstrap
brokers=$ACCT_KAFKA_BOOTSTRAP
topic="directory.$$.$RANDOM"
group="directory.$$.$RANDOM"

head=$("$tool" populate --data "$work/data" --events 3000 --partners 40 2>"$work/populate.err" | tail -1)
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --once --status-every 0 \
  >"$work/relay.out" 2>"$work/relay.err"
grep -q '"state":"finished"' "$work/relay.out"

fail_at=$((head / 2))
set +e
timeout 300 "$directory_bin" --brokers "$brokers" --group "$group" --topic "$topic" --db "$work/dir.sqlite" \
  --fail-at-position "$fail_at" --idle-exit 60 >"$work/run1.out" 2>"$work/run1.err"
rc=$?
set -e
cat "$work/run1.out"
[ "$rc" -eq 1 ] || { echo "FAIL: expected exit 1 from the failing handler, got $rc"; exit 1; }
grep -q "failing on purpose at position $fail_at" "$work/run1.err"

timeout 300 "$directory_bin" --brokers "$brokers" --group "$group" --topic "$topic" --db "$work/dir.sqlite" \
  --exit-when-caught-up >"$work/run2.out" 2>"$work/run2.err"
cat "$work/run2.out"
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }
[ "$(field partners "$work/run2.out")" = 40 ] || { echo "FAIL: expected 40 partners"; exit 1; }
[ "$(field last_position "$work/run2.out")" = "$head" ] || { echo "FAIL: not at the head"; exit 1; }
h1=$(field handled "$work/run1.out")
h2=$(field handled "$work/run2.out")
[ $((h1 + h2)) -eq "$head" ] || { echo "FAIL: $h1 + $h2 events applied, expected $head"; exit 1; }
echo "partner directory: $head events applied once over two runs ($h1 + $h2)"
