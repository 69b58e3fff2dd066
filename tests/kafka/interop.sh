#!/usr/bin/env bash
# Clients we did not write read the relay's topic: kcat (every message
# validates against docs/kafka-event.schema.json, headers agree with the
# value) and a Python consumer on confluent_kafka (read_committed), which sees
# the same events with the same count and order per key.
source "$(dirname "$0")/common.bash"
require_bootstrap
brokers=$ACCT_KAFKA_BOOTSTRAP
topic="interop.$$.$RANDOM"
command -v kcat >/dev/null || { echo "FAIL: kcat is not installed (scripts/install-deps installs it)"; exit 1; }

head=$("$tool" populate --data "$work/data" --events 5000 --partners 60 2>"$work/populate.err" | tail -1)
"$acct" relay --data "$work/data" --kafka-brokers "$brokers" --topic "$topic" --once --status-every 0 \
  >"$work/relay.out" 2>"$work/relay.err"
grep -q '"state":"finished"' "$work/relay.out"

# kcat: key, partition, offset, headers and value, tab separated (the JSON
# value holds no raw tab: JSON escapes control characters).
timeout 120 kcat -C -b "$brokers" -t "$topic" -o beginning -e -q -X isolation.level=read_committed \
  -f '%k\t%p\t%o\t%h\t%s\n' >"$work/kcat.tsv" 2>"$work/kcat.err"
"$python" "$(dirname "$0")/interop_check.py" --schema "$root/docs/kafka-event.schema.json" \
  --kcat "$work/kcat.tsv" --brokers "$brokers" --topic "$topic" --head "$head"
