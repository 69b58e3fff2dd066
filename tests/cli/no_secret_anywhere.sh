#!/usr/bin/env bash
# Issue 9: no secret anywhere. A full scenario through a real `acct serve`
# (demo seed; users created so that temporary passwords are issued; sign-ins,
# failed sign-ins, password changes, a reset; sessions listed, one revoked by id,
# one signed out; a second partner enrolled;
# auditor access issued and revoked; a user deactivated and, 31 days later,
# purged; the security log read through the API and exported), then
# every byte of the data folder and every byte the server (and acct exec)
# printed is scanned for every temporary password, every chosen password,
# every password tried and every token issued: none may be found.
#
# What legitimately holds a secret: DATA/operator.token holds the operator's
# token (mode 0600, by design) and nothing else; DATA/secrets/credentials holds
# argon2id hashes, DATA/secrets/tokens(.journal) SHA-256 hashes. The demo password is a
# public value printed by --demo on purpose: it is scanned for in the data
# folder only.
#
# Later legs (e.g. the Kafka topic) add a step at the end: write what to check
# into a file and call `scan_for_secrets FILE...`.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
data="$work/data"
logs="$work/logs"        # everything the server and acct exec printed, one file per run
mkdir -p "$logs"
secrets="$work/secrets"  # the secrets to look for, one per line (outside the data folder)
: >"$secrets"
runs=0

note_secret() {
  [ -n "$1" ] || { echo "an expected secret is empty (a step failed before it)"; exit 1; }
  printf '%s\n' "$1" >>"$secrets"
}

# scan_for_secrets FILE|DIR...: fails naming the file (never the secret) if any
# noted secret occurs in any byte of them. DATA/operator.token and
# DATA/demo-auditor.token are checked apart.
scan_for_secrets() {
  local hits
  hits=$(grep -r -a -F -l -f "$secrets" --exclude=operator.token --exclude=demo-auditor.token -- "$@" || true)
  if [ -n "$hits" ]; then
    echo "a secret was found in:"
    echo "$hits"
    local n=0
    while IFS= read -r s; do
      n=$((n + 1))
      if grep -r -a -F -q --exclude=operator.token --exclude=demo-auditor.token -- "$s" "$@"; then echo "  (secret #$n of $(wc -l <"$secrets"))"; fi
    done <"$secrets"
    exit 1
  fi
}

start_server() {
  runs=$((runs + 1))
  out="$logs/serve-$runs.out"
  err="$logs/serve-$runs.err"
  "$acct" serve --data "$data" --listen 127.0.0.1:0 "$@" >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 1 300); do grep -q "^listening on" "$out" && break; sleep 0.1; done
  grep -q "^listening on" "$out" || { cat "$err"; exit 1; }
  base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$out")
}
stop_server() { kill -TERM "$pid"; wait "$pid"; pid=""; }

# The Authorization header goes through a file descriptor, not argv.
post() {  # post PATH BODY [TOKEN]
  if [ -n "${3:-}" ]; then
    curl -s -m 60 -X POST "$base$1" -H @<(printf 'Authorization: Bearer %s\n' "$3") -d "$2"
  else
    curl -s -m 60 -X POST "$base$1" -d "$2"
  fi
}
get() {  # get PATH TOKEN
  curl -s -m 60 "$base$1" -H @<(printf 'Authorization: Bearer %s\n' "$2")
}
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
uuid() { cat /proc/sys/kernel/random/uuid; }
command_json() {  # command_json TYPE FIELDS (the JSON members after type and command_id)
  printf '{"type":"%s","command_id":"%s",%s}' "$1" "$(uuid)" "$2"
}
sign_in() {  # sign_in PARTNER EMAIL PASSWORD -> token (empty on failure)
  post /v1/sessions "{\"partner_id\":\"$1\",\"email\":\"$2\",\"password\":\"$3\"}" | field token || true
}
change_password() {  # change_password TOKEN OLD NEW
  post /v1/me/password "{\"old\":\"$2\",\"new\":\"$3\"}" "$1" | grep -q '"changed":true' ||
    { echo "password change failed"; exit 1; }
}

# ---- the scenario ---------------------------------------------------------------------------
start_server --demo
for _ in $(seq 1 50); do grep -q "operator.token" "$out" && break; sleep 0.1; done
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$out" | head -1 | cut -d'"' -f4)
[ -n "$partner" ] || { echo "no demo partner in the output"; cat "$out"; exit 1; }
op=$(cat "$data/operator.token")
note_secret "$op"
# --demo's auditor token: in its 0600 file only (checked at the end).
demo_auditor=$(cat "$data/demo-auditor.token")
[ -n "$demo_auditor" ] || { echo "no demo auditor token"; exit 1; }
note_secret "$demo_auditor"

# The demo admin signs in with the public demo password and chooses a new one.
ada=$(sign_in "$partner" ada@contoso.example demo-password-2026)
note_secret "$ada"
ada_pw="Ada-chosen-$(uuid)"
change_password "$ada" demo-password-2026 "$ada_pw"
note_secret "$ada_pw"

# Users created: temporary passwords issued, used once, changed.
r=$(post /v1/commands "$(command_json CreateUser "\"partner_id\":\"$partner\",\"profile\":{\"first_name\":\"Kim\",\"last_name\":\"Tester\",\"email\":\"kim@contoso.example\",\"phone\":\"\"},\"roles\":[\"billing_admin\"]")" "$ada")
kim_id=$(echo "$r" | field user_id)
kim_temp=$(echo "$r" | field temporary_password)
note_secret "$kim_temp"
r=$(post /v1/commands "$(command_json CreateUser "\"partner_id\":\"$partner\",\"profile\":{\"first_name\":\"Lee\",\"last_name\":\"Tester\",\"email\":\"lee@contoso.example\",\"phone\":\"\"},\"roles\":[\"sales_agent\"]")" "$ada")
lee_id=$(echo "$r" | field user_id)
lee_temp=$(echo "$r" | field temporary_password)
note_secret "$lee_temp"

kim=$(sign_in "$partner" kim@contoso.example "$kim_temp")
note_secret "$kim"
kim_pw="Kim-chosen-$(uuid)"
change_password "$kim" "$kim_temp" "$kim_pw"
note_secret "$kim_pw"
kim2=$(sign_in "$partner" kim@contoso.example "$kim_pw")
note_secret "$kim2"

# The session routes: list (the reply is kept in the logs folder, which the scan
# reads: it must name sessions, never tokens), revoke one by id, sign out.
kim3=$(sign_in "$partner" kim@contoso.example "$kim_pw")
note_secret "$kim3"
get /v1/me/sessions "$kim2" >"$logs/kim-sessions.json"
# Three: the one that changed the temporary password goes on, and two since.
[ "$(grep -o '"session_id"' "$logs/kim-sessions.json" | wc -l)" -eq 3 ] ||
  { echo "GET /v1/me/sessions did not list Kim's three sessions:"; cat "$logs/kim-sessions.json"; exit 1; }
other=$(get /v1/me/sessions "$kim3" | grep -o '"session_id":"[0-9a-f-]*"[^}]*"current":true' | field session_id)
[ -n "$other" ] && grep -q "\"$other\"" "$logs/kim-sessions.json" || { echo "kim3's session is not listed"; exit 1; }
curl -s -m 60 -X DELETE "$base/v1/me/sessions/$other" -H @<(printf 'Authorization: Bearer %s\n' "$kim2") |
  grep -q '"revoked":true' || { echo "revoking a session by id failed"; exit 1; }
get /v1/me/sessions "$kim3" | grep -q '"unauthenticated"' || { echo "a revoked session still works"; exit 1; }
curl -s -m 60 -X DELETE "$base/v1/sessions/current" -H @<(printf 'Authorization: Bearer %s\n' "$kim2") \
  >"$logs/kim-sign-out.json"
grep -q '"signed_out":true' "$logs/kim-sign-out.json" || { echo "sign-out failed:"; cat "$logs/kim-sign-out.json"; exit 1; }
get /v1/me/sessions "$kim2" | grep -q '"unauthenticated"' || { echo "a signed-out session still works"; exit 1; }

lee=$(sign_in "$partner" lee@contoso.example "$lee_temp")
note_secret "$lee"
lee_pw="Lee-chosen-$(uuid)"
change_password "$lee" "$lee_temp" "$lee_pw"
note_secret "$lee_pw"

# Wrong passwords (a failed attempt must not be logged either), a wrong old password.
for _ in 1 2; do
  wrong="Wrong-$(uuid)"
  note_secret "$wrong"
  [ -z "$(sign_in "$partner" kim@contoso.example "$wrong")" ] || { echo "a wrong password signed in"; exit 1; }
done
wrong_old="Wrong-old-$(uuid)"
note_secret "$wrong_old"
post /v1/me/password "{\"old\":\"$wrong_old\",\"new\":\"Never-used-$(uuid)\"}" "$lee" | grep -q '"forbidden"'
# A forged token.
forged="acct_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | head -c 43)"
note_secret "$forged"
get /v1/events "$forged" | grep -q '"unauthenticated"'

# A reset: a new temporary password, used and changed.
r=$(post /v1/commands "$(command_json ResetPassword "\"partner_id\":\"$partner\",\"user_id\":\"$lee_id\"")" "$ada")
lee_temp2=$(echo "$r" | field temporary_password)
note_secret "$lee_temp2"
lee=$(sign_in "$partner" lee@contoso.example "$lee_temp2")
note_secret "$lee"
lee_pw2="Lee-second-$(uuid)"
change_password "$lee" "$lee_temp2" "$lee_pw2"
note_secret "$lee_pw2"

# A second partner enrolled by the operator.
enroll='"admin":{"first_name":"Gus","last_name":"Admin","email":"gus@fabrikam.example","phone":""},"partner_name":"Fabrikam","mpn_id":"7654321","legal":{"company_name":"Fabrikam Inc","address":{"line1":"2 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@fabrikam.example","phone":""},"approver_email":"approver@fabrikam.example","approver_address":{"line1":"2 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"0d9e8f7a-6b5c-4d3e-8f21-a0b1c2d3e4f5","default_domain":"fabrikam.onmicrosoft.com","language":"en","culture":"en-us"'
r=$(post /v1/commands "$(command_json EnrollPartner "$enroll")" "$op")
fabrikam=$(echo "$r" | field partner_id)
gus_temp=$(echo "$r" | field temporary_password)
note_secret "$gus_temp"
gus=$(sign_in "$fabrikam" gus@fabrikam.example "$gus_temp")
note_secret "$gus"
gus_pw="Gus-chosen-$(uuid)"
change_password "$gus" "$gus_temp" "$gus_pw"
note_secret "$gus_pw"

# Auditor access: a token, used.
until=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
r=$(post /v1/commands "$(command_json IssueAuditorAccess "\"partner_id\":\"$partner\",\"auditor_email\":\"audit@kpmg.example\",\"valid_until\":\"$until\"")" "$op")
auditor=$(echo "$r" | field auditor_token)
note_secret "$auditor"
h=$(get "/v1/partners/$partner/history?limit=5" "$auditor")
case "$h" in *'"error"'*|'') echo "the auditor could not read the history: $h"; exit 1 ;; esac
# ... then revoked before it ends: the token dies at once.
grant=$(echo "$r" | field grant_id)
post /v1/commands "$(command_json RevokeAuditorAccess "\"partner_id\":\"$partner\",\"grant_id\":\"$grant\",\"reason\":\"engagement ended\"")" "$op" |
  grep -q '"position"' || { echo "RevokeAuditorAccess failed"; exit 1; }
get "/v1/partners/$partner/history?limit=5" "$auditor" | grep -q '"unauthenticated"' ||
  { echo "a revoked auditor token still works"; exit 1; }

# Kim is deactivated (her tokens die) ...
post /v1/commands "$(command_json DeactivateUser "\"partner_id\":\"$partner\",\"user_id\":\"$kim_id\"")" "$ada" |
  grep -q '"position"' || { echo "DeactivateUser failed"; exit 1; }
stop_server

# ... and purged 31 days later by the operator's retention job (acct exec, with
# the wall clock moved forward by a preloaded clock_gettime shim).
source "$(dirname "$0")/clock_shift.bash"
preload=$(clock_shift_preload "$acct" "$work" | awk '{print $NF}')  # the shim alone: ASan's link-order check is off below
purge=$(command_json PurgeUser "\"partner_id\":\"$partner\",\"user_id\":\"$kim_id\"")
runs=$((runs + 1))
echo "$purge" | ACCT_TEST_CLOCK_SHIFT_S=$((31 * 86400)) LD_PRELOAD="$preload" \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  "$acct" exec --data "$data" --as operator >"$logs/exec-$runs.out" 2>"$logs/exec-$runs.err" ||
  { echo "the purge failed:"; cat "$logs/exec-$runs.out" "$logs/exec-$runs.err"; exit 1; }
grep -q '"ok":true' "$logs/exec-$runs.out" || { echo "the purge was refused:"; cat "$logs/exec-$runs.out"; exit 1; }

# Back to the present: everyone else still works; Kim is gone.
start_server
ada=$(sign_in "$partner" ada@contoso.example "$ada_pw")
note_secret "$ada"
[ -z "$(sign_in "$partner" kim@contoso.example "$kim_pw")" ] || { echo "a purged user signed in"; exit 1; }
get "/v1/events?type=UserPurged" "$op" | grep -q "$kim_id" || { echo "no UserPurged event"; exit 1; }
get "/v1/partners/$partner/users?status=purged" "$ada" | grep -q "$kim_id" || true
# The security log, as its readers get it (scanned below with everything else).
get "/v1/security-log?limit=1000" "$op" >"$logs/security-log-operator.json"
get "/v1/partners/$partner/security-log?limit=1000" "$ada" >"$logs/security-log-partner.json"
for kind in '"kind":"sign_in","outcome":"ok"' '"kind":"sign_in","outcome":"failed"' '"kind":"sign_out"' \
            '"kind":"session_revoked"' '"kind":"tokens_revoked"' '"kind":"operator_token_used"'; do
  grep -q "$kind" "$logs/security-log-operator.json" || { echo "the security log has no $kind"; exit 1; }
done
grep -q '"kind":"sign_in"' "$logs/security-log-partner.json" || { echo "Ada does not see her partner's sign-ins"; exit 1; }
stop_server
"$acct" security-log export --data "$data" >"$logs/security-log-export.jsonl"
"$acct" security-log verify --data "$data" >"$logs/security-log-verify.json" ||
  { echo "the security log does not verify:"; cat "$logs/security-log-verify.json"; exit 1; }
[ "$(wc -l <"$logs/security-log-export.jsonl")" -ge 20 ] || { echo "the export is short"; exit 1; }

# ---- the scan ---------------------------------------------------------------------------------
count=$(wc -l <"$secrets")
[ "$count" -ge 23 ] || { echo "only $count secrets noted: the scenario is incomplete"; exit 1; }
# The scanner finds what it must (a positive control, outside the data folder).
printf 'noise %s noise' "$(sed -n 5p "$secrets")" >"$work/control"
if (scan_for_secrets "$work/control") >/dev/null 2>&1; then echo "the scanner missed a planted secret"; exit 1; fi

scan_for_secrets "$data" "$logs"
# The demo password is public and printed on purpose, but never stored.
! grep -r -a -F -q -- demo-password-2026 "$data" || { echo "the demo password is in the data folder"; exit 1; }
# operator.token holds the operator's token and nothing else.
[ "$(cat "$data/operator.token")" = "$op" ] || { echo "operator.token holds something else"; exit 1; }
[ "$(stat -c %a "$data/operator.token")" = "600" ] || { echo "operator.token is not 0600"; exit 1; }
[ "$(cat "$data/demo-auditor.token")" = "$demo_auditor" ] || { echo "demo-auditor.token holds something else"; exit 1; }
[ "$(stat -c %a "$data/demo-auditor.token")" = "600" ] || { echo "demo-auditor.token is not 0600"; exit 1; }
# What the stores hold instead: argon2id strings, fixed-size token hashes.
grep -a -q '\$argon2id\$' "$data/secrets/credentials"
[ "$(head -c 8 "$data/secrets/tokens.journal")" = "ACCTTOKJ" ] || { echo "the token journal is not one"; exit 1; }
files=$(find "$data" "$logs" -type f | wc -l)
echo "$count secrets (temporary and chosen passwords, tried passwords, tokens) found in none of $files files ($runs runs)"
