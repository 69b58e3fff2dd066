#!/usr/bin/env bash
# `acct serve --kafka-brokers` runs the relay inside the server: the demo's
# events and the commands sent over HTTP reach the topic exactly once, the
# relay's lag and rate are on /metrics and its state on /healthz, and no
# password or token issued during the run is in any message. Every signed
# tree checkpoint reaches the checkpoints topic, byte for byte, and `acct
# verify` accepts the copy read back from Kafka as one kept outside the folder.
source "$(dirname "$0")/common.bash"
require_bootstrap
brokers=$ACCT_KAFKA_BOOTSTRAP
topic="serve.$$.$RANDOM"
checkpoint_topic="checkpoints.$$.$RANDOM"
data="$work/data"

"$acct" serve --data "$data" --listen 127.0.0.1:0 --demo --kafka-brokers "$brokers" --kafka-topic "$topic" \
  --checkpoint-topic "$checkpoint_topic" --sign-every-seconds 1 \
  >"$work/serve.out" 2>"$work/serve.err" &
relay_pid=$!  # the EXIT trap of common.bash kills it if the test fails
for _ in $(seq 1 300); do grep -q "operator.token" "$work/serve.out" && break; sleep 0.1; done
grep -q "^listening on" "$work/serve.out" || { echo "FAIL: the server did not start"; exit 1; }
base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/serve.out")

# The demo's printed lines sign in (the demo password) and send a command.
sed -n '/^export ACCT=/,/operator.token/p' "$work/serve.out" >"$work/demo.sh"
bash -euo pipefail "$work/demo.sh" >"$work/demo.out" 2>&1 || { cat "$work/demo.out"; exit 1; }
operator_token=$(cat "$data/operator.token")
partner=$(sed -n 's/^demo partner \([0-9a-f-]*\) .*/\1/p' "$work/serve.out")
user_token=$(curl -s -X POST "$base/v1/sessions" \
  -d "{\"partner_id\":\"$partner\",\"email\":\"ada@contoso.example\",\"password\":\"demo-password-2026\"}" |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$user_token" ] || { echo "FAIL: no session token"; exit 1; }
# A user is created: the reply carries a temporary password, which must not reach Kafka.
reply=$(curl -s -H "Authorization: Bearer $user_token" -X POST "$base/v1/commands" \
  -d "{\"type\":\"CreateUser\",\"command_id\":\"$(cat /proc/sys/kernel/random/uuid)\",\"partner_id\":\"$partner\",\"profile\":{\"first_name\":\"Kafka\",\"last_name\":\"Reader\",\"email\":\"kafka.reader@contoso.example\",\"phone\":\"+1 425 555 0101\"},\"roles\":[\"sales_agent\"]}")
temporary=$(sed -n 's/.*"temporary_password":"\([^"]*\)".*/\1/p' <<<"$reply")
[ -n "$temporary" ] || { echo "FAIL: CreateUser gave no temporary password: $reply"; exit 1; }

# The relay catches up: lag 0 and its checkpoint at the log's head.
head=""
for _ in $(seq 1 300); do
  metrics=$(curl -s "$base/metrics")
  head=$(sed -n 's/^acct_log_head_position \([0-9]*\)$/\1/p' <<<"$metrics")
  checkpoint=$(sed -n 's/^acct_relay_checkpoint_position \([0-9]*\)$/\1/p' <<<"$metrics")
  [ -n "$head" ] && [ "$head" -gt 0 ] && [ "$checkpoint" = "$head" ] && break
  sleep 0.2
done
echo "log head $head, relay checkpoint $checkpoint"
[ "$checkpoint" = "$head" ] || { echo "FAIL: the relay did not catch up"; curl -s "$base/healthz"; exit 1; }
grep -q '^acct_relay_lag_positions 0$' <<<"$(curl -s "$base/metrics")"
grep -q '^acct_relay_failed 0$' <<<"$(curl -s "$base/metrics")"
grep -q '^acct_relay_publish_rate_events_per_second ' <<<"$(curl -s "$base/metrics")"
curl -s "$base/healthz" | grep -q '"relay":{"state":"running"' ||
  { echo "FAIL: /healthz has no running relay"; curl -s "$base/healthz"; exit 1; }

# The head is signed within a second or two; that checkpoint is in the topic.
note=""
for _ in $(seq 1 100); do
  note=$(curl -sf "$base/v1/checkpoints/latest" || true)
  [ "$(sed -n 2p <<<"$note")" = "$head" ] && break
  sleep 0.1
done
[ "$(sed -n 2p <<<"$note")" = "$head" ] || { echo "FAIL: the head $head was not signed: $note"; exit 1; }
origin=$(sed -n 1p <<<"$note")

kill -TERM "$relay_pid"
wait_relay 60 || { echo "FAIL: serve did not exit 0 on SIGTERM"; exit 1; }
kcat -C -b "$brokers" -t "$checkpoint_topic" -e -q -f '%k\n%s--end-of-message--\n' >"$work/checkpoints.txt"
python3 - "$work/checkpoints.txt" "$origin" "$work/from-kafka" <<'PY'
import sys
raw, origin, out = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], sys.argv[3]
messages = [m for m in raw.split("--end-of-message--\n") if m.strip()]
assert messages, "no checkpoint in the topic"
for i, m in enumerate(messages):
    key, value = m.split("\n", 1)
    assert key == origin, "message %d: key %r, not the origin %r" % (i, key, origin)
    assert value.startswith(origin + "\n"), "message %d is not a checkpoint of %s" % (i, origin)
    open("%s-%d.note" % (out, i), "w", encoding="utf-8").write(value)
print("%d checkpoint(s) in the topic" % len(messages))
PY
grep -q -F -- "$(tail -1 <<<"$note")" "$work/checkpoints.txt" || { echo "FAIL: the latest checkpoint is not in the topic"; exit 1; }
"$acct" keys export-public --data "$data" --to "$work/log.pub" 2>/dev/null
from_kafka=()
for f in "$work"/from-kafka-*.note; do from_kafka+=(--checkpoint "$f"); done
count=$((${#from_kafka[@]} / 2))
"$acct" verify --data "$data" --public-key "$work/log.pub" "${from_kafka[@]}" >"$work/verify.out" ||
  { cat "$work/verify.out"; echo "FAIL: verify refused the checkpoints read back from Kafka"; exit 1; }
grep -q "checkpoints kept outside the folder: $count, $count given by the log" "$work/verify.out" ||
  { cat "$work/verify.out"; echo "FAIL: not every checkpoint from Kafka is given by the log"; exit 1; }
grep -q "relay: stopped at position $head" "$work/serve.err"

# Exactly once, in order per key, as a read_committed consumer sees it.
"$tool" verify --brokers "$brokers" --topic "$topic" --head "$head" --timeout 120

# No secret in any message: the demo password, the temporary one, the tokens.
kcat -C -b "$brokers" -t "$topic" -e -q -X isolation.level=read_committed -f '%k %h %s\n' >"$work/topic.txt"
[ "$(wc -l <"$work/topic.txt")" -ge "$head" ] || { echo "FAIL: kcat read fewer than $head messages"; exit 1; }
# The scan reads the values: the new user's email (personal data, not a secret) is there.
grep -a -F -q "kafka.reader@contoso.example" "$work/topic.txt" || { echo "FAIL: the scan does not see message values"; exit 1; }
for secret in demo-password-2026 "$temporary" "$user_token" "$operator_token"; do
  if grep -a -F -q -- "$secret" "$work/topic.txt"; then echo "FAIL: a secret is in the topic"; exit 1; fi
done
echo "serve's relay published $head events exactly once; no secret in the topic; $count checkpoint(s) in $checkpoint_topic"
