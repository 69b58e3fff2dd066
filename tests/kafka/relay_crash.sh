#!/usr/bin/env bash
# SIGKILL a stand-alone `acct relay` in the middle of publishing, then start
# it again: a read_committed consumer sees every event exactly once, each
# partner's events in log order. The killed relay's open transaction is
# aborted by the new one's init_transactions (fencing), and the new one
# resumes after the last checkpoint committed in Kafka.
source "$(dirname "$0")/common.bash"
require_bootstrap
brokers=$ACCT_KAFKA_BOOTSTRAP
topic="crash.$$.$RANDOM"

head=$("$tool" populate --data "$work/data" --events 100000 --partners 300 2>"$work/populate.err" | tail -1)
echo "log head: $head"

# Transactions of 50,000 events. The relay begins the second one only after
# the first is committed, so once 60,000 messages are in the topic (committed
# or not: read_uncommitted's high watermarks) the first is committed and the
# second is open, partly written: that is when it dies. The second ends at
# 100,000: a window of 40,000 events for the 0.2 s polling to land in, wide
# enough for the two-thread relay.
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --batch-events 50000 --batch-bytes 100000000 \
  --status-every 0 >"$work/relay1.out" 2>"$work/relay1.err" &
relay_pid=$!
at_kill=$(wait_for_messages "$brokers" "$topic" 60000 300)
kill -9 "$relay_pid"
wait "$relay_pid" 2>/dev/null || true
relay_pid=""
echo "SIGKILLed the relay with $at_kill messages (committed or not) in the topic"
[ "$at_kill" -lt 100000 ] && [ "$at_kill" -lt "$head" ] || { echo "FAIL: the second transaction had already ended; no crash inside one"; exit 1; }

# The dead process's lock is gone with it: the log opens again at once.
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --batch-events 50000 --batch-bytes 100000000 --once \
  --status-every 0 >"$work/relay2.out" 2>"$work/relay2.err" &
relay_pid=$!
wait_relay 600
cat "$work/relay2.out"
grep -q '"state":"finished"' "$work/relay2.out"
grep -q "\"checkpoint_position\":$head," "$work/relay2.out"
# It resumed after the first transaction's checkpoint (position 50,000):
# the first batch is not published again, the killed one is.
grep -q "\"events_published\":$((head - 50000))," "$work/relay2.out" ||
  { echo "FAIL: the restarted relay did not resume at the committed checkpoint 50000"; exit 1; }

"$tool" verify --brokers "$brokers" --topic "$topic" --head "$head" --timeout 180
# The killed transaction's records are in the topic, aborted: a
# read_uncommitted reader sees them, a read_committed one (above) does not.
uncommitted=$("$tool" count --brokers "$brokers" --topic "$topic" --isolation read_uncommitted)
echo "read_uncommitted sees $uncommitted messages, read_committed $head"
[ "$uncommitted" -gt $((head + 5000)) ] || { echo "FAIL: no aborted records from the killed transaction"; exit 1; }
echo "every event exactly once after a SIGKILL inside a transaction"
