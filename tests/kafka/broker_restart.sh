#!/usr/bin/env bash
# The broker restarts while the relay publishes (a one-node cluster of this
# test's own: `scripts/kafka stop-node 1` / `start-node 1`). The relay retries
# and finishes; nothing is lost or duplicated for a read_committed consumer.
source "$(dirname "$0")/common.bash"
start_own_cluster 1
echo "own broker: $brokers"
topic="restart.$$.$RANDOM"

head=$("$tool" populate --data "$work/data" --events 60000 --partners 200 2>"$work/populate.err" | tail -1)
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --batch-events 1000 --once \
  --status-every 2 >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
at_stop=$(wait_for_messages "$brokers" "$topic" 5000 300)
"$kafka" stop-node 1 --dir "$cluster_dir" 2>>"$work/kafka.err"
echo "broker stopped with $at_stop messages in the topic"
sleep 3
"$kafka" start-node 1 --dir "$cluster_dir" >/dev/null 2>>"$work/kafka.err"
echo "broker started again"
wait_relay 600
cat "$work/relay.out"
grep -q '"state":"finished"' "$work/relay.out"
grep -q '"fatal":false' "$work/relay.out"
grep -c '"retries"' "$work/relay.err" >/dev/null || true

"$tool" verify --brokers "$brokers" --topic "$topic" --head "$head" --timeout 180
echo "nothing lost or duplicated across a broker restart"
