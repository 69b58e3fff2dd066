#!/usr/bin/env bash
# Three brokers (a cluster of this test's own), topics with replication
# factor 3 and min.insync.replicas=2, the relay's producer with acks=all
# (implied by its transactions). One broker stops mid-stream and stays down:
# the relay finishes with the other two and every acknowledged event is there,
# exactly once, read while that broker is still down.
source "$(dirname "$0")/common.bash"
start_own_cluster 3
echo "own cluster: $brokers"
topic="three.$$.$RANDOM"

head=$("$tool" populate --data "$work/data" --events 60000 --partners 200 2>"$work/populate.err" | tail -1)
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --batch-events 1000 --once \
  --replication-factor 3 --min-insync-replicas 2 -X acks=all --status-every 2 \
  >"$work/relay.out" 2>"$work/relay.err" &
relay_pid=$!
at_stop=$(wait_for_messages "$brokers" "$topic" 5000 300)
"$kafka" stop-node 2 --dir "$cluster_dir" 2>>"$work/kafka.err"
echo "node 2 stopped with $at_stop messages in the topic"
wait_relay 600
cat "$work/relay.out"
grep -q '"state":"finished"' "$work/relay.out"

# The topics the relay created: 3 replicas, min.insync.replicas 2.
"$kafka" topics --bootstrap-server "$brokers" --describe --topic "$topic" >"$work/describe.txt" 2>"$work/describe.err"
grep -q "ReplicationFactor: 3" "$work/describe.txt" || { cat "$work/describe.txt"; echo "FAIL: not RF 3"; exit 1; }
grep -q "min.insync.replicas=2" "$work/describe.txt" || { cat "$work/describe.txt"; echo "FAIL: min ISR not 2"; exit 1; }

"$tool" verify --brokers "$brokers" --topic "$topic" --head "$head" --timeout 180
echo "with one of three brokers down: every event exactly once"
