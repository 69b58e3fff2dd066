#!/usr/bin/env bash
# `acct serve --tls-cert --tls-key` checked with clients we did not write (curl,
# openssl s_client) and certificates made by the openssl command line: HTTPS
# with an authenticated command, keep-alive and Server-Sent Events; TLS 1.0/1.1
# and a weak TLS 1.2 cipher refused (the same client commands first succeed
# against a permissive `openssl s_server`, so a refusal is acct's); the
# server's cipher order; plain HTTP to the TLS port not served; bad
# certificates and keys refused at start-up, naming the file; SIGHUP reloads
# the certificate, and a broken one on reload keeps the previous in service;
# plain HTTP off loopback only with --plain-http. The key never reaches a log.
set -euo pipefail
acct="$1"
for tool in openssl curl timeout; do
  command -v "$tool" >/dev/null || { echo "serve_tls: needs $tool (scripts/install-deps)"; exit 1; }
done
work=$(mktemp -d)
pid=""
canary=""
cleanup() {
  for p in $pid $canary; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/err" ] && { echo "--- server stderr:"; tail -30 "$work/err"; }; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# --- certificates: a CA, server certificates for 127.0.0.1 / localhost, an
# expired one, a key that matches none of them.
pki="$work/pki"
mkdir -p "$pki"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$pki/san.cnf"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
  -subj "/CN=acct test CA" 2>/dev/null
# issue NAME SERIAL DAYS: NAME.pem signed by the CA, NAME.key (mode 0600).
issue() {
  (umask 077; openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$1" 2>/dev/null)
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -set_serial "$2" -days "$3" \
    -extfile "$pki/san.cnf" -out "$pki/$1.pem" 2>/dev/null
}
issue acct-server-one 0x1001 1
issue acct-server-two 0x2002 1
issue acct-expired 0x3003 -1  # valid from now to a day ago: expired
(umask 077; openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/stray.key" 2>/dev/null)
# The server reads these two paths; the reload test replaces their contents.
cp "$pki/acct-server-one.pem" "$work/cert.pem"
cp "$pki/acct-server-one.key" "$work/key.pem"
chmod 640 "$work/key.pem"  # group-readable: the server warns (then 0600 from the reload on)

# serial_at PORT: the serial of the certificate a fresh connection gets ("" if none).
serial_at() {
  timeout 10 openssl s_client -connect "127.0.0.1:$1" -CAfile "$pki/ca.pem" -verify_return_error </dev/null \
    2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' || true
}
# handshake PORT ARGS...: openssl s_client's output; its exit code in $work/rc.
handshake() {
  local port="$1"
  shift
  set +e
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$pki/ca.pem" "$@" </dev/null >"$work/hs" 2>&1
  echo $? >"$work/rc"
  set -e
  cat "$work/hs"
}
rc() { cat "$work/rc"; }

# --- the canary: a permissive openssl s_server takes the old protocols and the
# weak cipher, so the client commands below can do them.
openssl s_server -accept 127.0.0.1:0 -cert "$work/cert.pem" -key "$work/key.pem" -cipher 'ALL:@SECLEVEL=0' \
  -www </dev/null >"$work/canary.out" 2>&1 &
canary=$!
for _ in $(seq 1 100); do grep -q '^ACCEPT' "$work/canary.out" && break; sleep 0.1; done
canary_port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/canary.out")
[ -n "$canary_port" ] || fail "openssl s_server did not start: $(cat "$work/canary.out")"
old='DEFAULT:@SECLEVEL=0'  # OpenSSL 3 clients refuse TLS < 1.2 themselves above level 0
handshake "$canary_port" -tls1_1 -cipher "$old" >/dev/null
[ "$(rc)" -eq 0 ] || fail "canary: openssl s_client -tls1_1 cannot connect even to a permissive server"
handshake "$canary_port" -tls1 -cipher "$old" >/dev/null
[ "$(rc)" -eq 0 ] || fail "canary: openssl s_client -tls1 cannot connect even to a permissive server"
handshake "$canary_port" -tls1_2 -cipher AES128-SHA >/dev/null
[ "$(rc)" -eq 0 ] || fail "canary: -cipher AES128-SHA -tls1_2 cannot connect even to a permissive server"
curl -sf -o /dev/null -m 10 --cacert "$pki/ca.pem" --tlsv1.1 --tls-max 1.1 --ciphers "$old" \
  "https://127.0.0.1:$canary_port/" || fail "canary: curl --tlsv1.1 --tls-max 1.1 cannot connect to a permissive server"
kill "$canary" && wait "$canary" 2>/dev/null || true
canary=""
ok

# --- acct serve over TLS
data="$work/data"
start_tls() {
  : >"$work/out"
  : >"$work/err"
  "$acct" serve --data "$data" --listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
    >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
  grep -q "^listening on https://127.0.0.1:" "$work/out" || fail "acct serve did not listen on https"
  port=$(sed -n 's/^listening on https:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/out")
  base="https://127.0.0.1:$port"
}
start_tls
grep -q "tls: .*$work/key.pem has mode 0640" "$work/err" || fail "no warning about the group-readable key"
grep -q "tls: serving the certificate of $work/cert.pem (subject CN=acct-server-one, serial 1001" "$work/err" ||
  fail "the start-up log does not name the certificate"
ok

# A client that checks the certificate against the CA (and 127.0.0.1 against its subjectAltName).
curl -sf -m 10 --cacert "$pki/ca.pem" "$base/healthz" >"$work/health" || fail "curl --cacert $base/healthz"
grep -q '"status":"ok"' "$work/health" || fail "healthz: $(cat "$work/health")"
ok
# An authenticated command and reads, as the operator (its token file, as in serve_demo_with_curl.sh).
token=$(cat "$data/operator.token")
auth="Authorization: Bearer $token"
id=$(cat /proc/sys/kernel/random/uuid)
body='{"type":"PublishOffer","command_id":"'"$id"'","offer":{"offer_id":"tls-offer","display_name":"Over TLS","segment":"enterprise","license_agreement_type":"corporate","purchase_unit":"1 Month","secondary_license_type":"non_specific","base_offer_ids":[],"end_customer_type":"corporate","billing_model":"usage_based"}}'
curl -sf -m 10 --cacert "$pki/ca.pem" -H "$auth" -X POST "$base/v1/commands" -d "$body" >"$work/cmd" ||
  fail "POST /v1/commands over TLS: $(cat "$work/cmd")"
grep -q '"position"' "$work/cmd" || fail "command: $(cat "$work/cmd")"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 --cacert "$pki/ca.pem" "$base/v1/events?limit=1")
[ "$code" = 401 ] || fail "an unauthenticated read answered $code, not 401"
ok
# Keep-alive: two requests, one connection (curl says it reused it).
curl -sv -m 10 --cacert "$pki/ca.pem" -H "$auth" "$base/healthz" "$base/v1/events?type=OfferPublished&limit=10" \
  >"$work/two" 2>"$work/two.err" || fail "two requests on one connection"
grep -q "Re-using existing connection" "$work/two.err" || fail "curl did not reuse the TLS connection"
grep -q "tls-offer" "$work/two" || fail "the second request's body: $(cat "$work/two")"
ok
# Server-Sent Events over TLS: the command's event arrives on the stream (curl stops after 3 s).
curl -sN -m 3 --cacert "$pki/ca.pem" -H "$auth" "$base/v1/events/subscribe" >"$work/sse" 2>/dev/null || true
grep -q "^event: OfferPublished" "$work/sse" || fail "no OfferPublished on the SSE stream: $(head -c 400 "$work/sse")"
grep -q "tls-offer" "$work/sse" || fail "the SSE event lacks the offer"
ok

# --- protocols and ciphers
for v in -tls1_2 -tls1_3; do
  handshake "$port" "$v" -verify_return_error -verify_ip 127.0.0.1 >/dev/null
  [ "$(rc)" -eq 0 ] || fail "openssl s_client $v was refused: $(cat "$work/hs")"
done
ok
handshake "$port" -tls1_1 -cipher "$old" >/dev/null
[ "$(rc)" -ne 0 ] || fail "TLS 1.1 was accepted"
grep -q "alert protocol version" "$work/hs" || fail "TLS 1.1: no protocol_version alert from the server: $(cat "$work/hs")"
handshake "$port" -tls1 -cipher "$old" >/dev/null
[ "$(rc)" -ne 0 ] || fail "TLS 1.0 was accepted"
grep -q "alert protocol version" "$work/hs" || fail "TLS 1.0: no protocol_version alert from the server"
set +e
curl -s -o /dev/null -m 10 --cacert "$pki/ca.pem" --tlsv1.1 --tls-max 1.1 --ciphers "$old" "$base/healthz"
curl_rc=$?
set -e
[ "$curl_rc" -ne 0 ] || fail "curl --tlsv1.1 --tls-max 1.1 got an answer"
ok
handshake "$port" -tls1_2 -cipher AES128-SHA >/dev/null
[ "$(rc)" -ne 0 ] || fail "the weak cipher AES128-SHA was accepted"
grep -q "alert handshake failure" "$work/hs" || fail "AES128-SHA: no handshake_failure alert: $(cat "$work/hs")"
ok
# TLS 1.2 settles on ECDHE + AEAD, in the server's order: a client preferring
# CHACHA20 still gets AES128-GCM, the server's first choice for an RSA key.
handshake "$port" -tls1_2 -cipher 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256' >/dev/null
[ "$(rc)" -eq 0 ] || fail "TLS 1.2 with ECDHE ciphers was refused"
grep -Eq "Cipher +: ECDHE-RSA-AES128-GCM-SHA256$" "$work/hs" || fail "not the server's cipher order: $(grep Cipher "$work/hs")"
handshake "$port" -tls1_2 >/dev/null
grep -Eq "Cipher +: ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$" "$work/hs" ||
  fail "TLS 1.2 default: $(grep Cipher "$work/hs")"
ok

# --- plain HTTP to the TLS port is not served
set +e
curl -s -m 10 "http://127.0.0.1:$port/healthz" >"$work/plain" 2>&1
plain_rc=$?
set -e
[ "$plain_rc" -ne 0 ] || fail "plain HTTP to the TLS port got an answer"
! grep -q '"status"' "$work/plain" || fail "plain HTTP was served: $(cat "$work/plain")"
ok

# --- SIGHUP: the new certificate for new connections
[ "$(serial_at "$port")" = 1001 ] || fail "before reload the serial is $(serial_at "$port")"
cp "$pki/acct-server-two.pem" "$work/cert.pem.new"
cp "$pki/acct-server-two.key" "$work/key.pem.new"
mv "$work/key.pem.new" "$work/key.pem"
mv "$work/cert.pem.new" "$work/cert.pem"
kill -HUP "$pid"
serial=""
for _ in $(seq 1 50); do
  serial=$(serial_at "$port")
  [ "$serial" = 2002 ] && break
  sleep 0.2
done
[ "$serial" = 2002 ] || fail "after SIGHUP the served serial is '$serial', not 2002"
timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$pki/ca.pem" </dev/null 2>/dev/null |
  openssl x509 -noout -subject | grep -q "CN *= *acct-server-two" || fail "the subject after reload"
grep -q "tls: SIGHUP: reloaded; new connections get the certificate of $work/cert.pem (subject CN=acct-server-two" \
  "$work/err" || fail "no reload line in the log"
curl -sf -m 10 --cacert "$pki/ca.pem" "$base/healthz" >/dev/null || fail "healthz after reload"
ok
# A broken certificate file, then a key that does not match: each reload fails,
# is logged naming the file, and the server keeps serving the previous certificate.
cp "$work/cert.pem" "$work/good-cert.pem"
echo "this is not a certificate" >"$work/cert.pem"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q "reload failed" "$work/err" && break; sleep 0.1; done
grep -q "tls: SIGHUP: reload failed, still serving the previous certificate: no PEM certificate in $work/cert.pem" \
  "$work/err" || fail "no error logged for the broken certificate"
[ "$(serial_at "$port")" = 2002 ] || fail "after a failed reload the serial is $(serial_at "$port")"
cp "$work/good-cert.pem" "$work/cert.pem"
cp "$pki/stray.key" "$work/key.pem"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q "reload failed.*does not match" "$work/err" && break; sleep 0.1; done
grep -q "reload failed, still serving the previous certificate: the private key in $work/key.pem does not match" \
  "$work/err" || fail "no error logged for the mismatched key"
[ "$(serial_at "$port")" = 2002 ] || fail "after a failed reload the serial is $(serial_at "$port")"
curl -sf -m 10 --cacert "$pki/ca.pem" "$base/healthz" >/dev/null || fail "healthz after failed reloads"
ok

# --- graceful stop over TLS
kill -TERM "$pid"
stop_rc=0
wait "$pid" || stop_rc=$?
pid=""
[ "$stop_rc" -eq 0 ] || fail "serve exited $stop_rc on SIGTERM"
grep -q "stopped" "$work/err" || fail "no 'stopped' line"
ok

# --- no key bytes and no token in any output
for key in "$pki/acct-server-one.key" "$pki/acct-server-two.key" "$pki/stray.key"; do
  while IFS= read -r line; do
    case "$line" in -----*|"") continue ;; esac
    ! grep -qF -- "$line" "$work/out" "$work/err" || fail "a line of $key is in the server's output"
  done <"$key"
done
! grep -qF "$token" "$work/out" "$work/err" || fail "the operator token is in the server's output"
ok

# --- refused at start-up, naming the file or flag, before listening
refuse() {  # refuse PATTERN ARGS...: serve exits non-zero and stderr matches PATTERN
  local pattern="$1"
  shift
  set +e
  timeout 60 "$acct" serve --data "$work/refused" "$@" >"$work/r.out" 2>"$work/r.err"
  local code=$?
  set -e
  [ "$code" -ne 0 ] && [ "$code" -ne 124 ] || fail "serve $* exited $code"
  grep -q "^listening" "$work/r.out" && fail "serve $* listened"
  grep -q -- "$pattern" "$work/r.err" || fail "serve $*: expected '$pattern', got: $(cat "$work/r.err")"
  return 0
}
l="--listen 127.0.0.1:0"
refuse "the certificate in $pki/acct-expired.pem expired on" $l --tls-cert "$pki/acct-expired.pem" --tls-key "$pki/acct-expired.key"
refuse "the private key in $pki/stray.key does not match the certificate in $pki/acct-server-one.pem" \
  $l --tls-cert "$pki/acct-server-one.pem" --tls-key "$pki/stray.key"
refuse "cannot read the certificate file $work/missing.pem: No such file or directory" \
  $l --tls-cert "$work/missing.pem" --tls-key "$pki/acct-server-one.key"
refuse "cannot read the private key file $work/missing.key: No such file or directory" \
  $l --tls-cert "$pki/acct-server-one.pem" --tls-key "$work/missing.key"
refuse "no PEM certificate in $work/pki/san.cnf" $l --tls-cert "$pki/san.cnf" --tls-key "$pki/acct-server-one.key"
refuse "--tls-cert and --tls-key go together: --tls-key is missing" $l --tls-cert "$pki/acct-server-one.pem"
refuse "--tls-cert and --tls-key go together: --tls-cert is missing" $l --tls-key "$pki/acct-server-one.key"
[ ! -e "$work/refused" ] || fail "a refused start created the data folder"
ok

# --- plain HTTP off loopback only when asked for
refuse "--listen 0.0.0.0:0: 0.0.0.0 is not a loopback address" --listen 0.0.0.0:0
refuse "--plain-http and --tls-cert/--tls-key exclude each other" --listen 0.0.0.0:0 --plain-http \
  --tls-cert "$pki/acct-server-one.pem" --tls-key "$pki/acct-server-one.key"
ok
# With --plain-http it starts (stopped at once); 127.0.0.2 is loopback and needs no flag.
for listen in "0.0.0.0:0 --plain-http" "127.0.0.2:0"; do
  # shellcheck disable=SC2086
  "$acct" serve --data "$data" --listen $listen >"$work/out" 2>"$work/err" &
  pid=$!
  for _ in $(seq 1 300); do grep -q "^listening on" "$work/out" && break; sleep 0.1; done
  grep -q "^listening on http://" "$work/out" || fail "serve --listen $listen did not start"
  kill -TERM "$pid"
  stop_rc=0
  wait "$pid" || stop_rc=$?
  pid=""
  [ "$stop_rc" -eq 0 ] || fail "serve --listen $listen exited $stop_rc"
done
ok

echo "serve_tls: $checks groups of checks passed"
