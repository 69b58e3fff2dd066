#!/usr/bin/env bash
# acct retention, offline: `status` lists a deactivated user as waiting, then
# (as of 31 days later) as due; `run --dry-run` writes nothing; `run`, with the
# process's clock moved 31 days on, purges the user as the operator; a second
# run finds nothing due; the log verifies.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data"

enroll='{"type":"EnrollPartner","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-000000000001","admin":{"first_name":"Ada","last_name":"Lovelace","email":"ada@contoso.com","phone":"+1 425 555 0100"},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'
echo "$enroll" | "$acct" exec --data "$data" --as operator --passwords-file "$work/pw1" >"$work/out1"
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$work/out1" | cut -d'"' -f4)
[ -n "$partner" ]
create='{"type":"CreateUser","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-00000000000a","partner_id":"'"$partner"'","profile":{"first_name":"Sam","last_name":"User","email":"sam@contoso.com","phone":""},"roles":["sales_agent"]}'
echo "$create" | "$acct" exec --data "$data" --as "user:$partner/ada@contoso.com" --passwords-file "$work/pw2" >"$work/out2"
sam=$(grep -o '"user_id":"[0-9a-f-]*"' "$work/out2" | cut -d'"' -f4)
[ -n "$sam" ]
deactivate='{"type":"DeactivateUser","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-00000000000b","partner_id":"'"$partner"'","user_id":"'"$sam"'"}'
echo "$deactivate" | "$acct" exec --data "$data" --as "user:$partner/ada@contoso.com" >"$work/out3"
grep -q '"ok":true' "$work/out3"

# Now: waiting, with its due time; nothing due.
"$acct" retention status --data "$data" >"$work/status1"
cat "$work/status1"
grep -q '"due":\[\]' "$work/status1"
grep -q '"waiting":\[{"partner_id":"'"$partner"'","user_id":"'"$sam"'"' "$work/status1"
# As of 31 days on: due.
later=$(date -u -d '+31 days' +%Y-%m-%dT%H:%M:%SZ)
"$acct" retention status --data "$data" --now "$later" >"$work/status2"
grep -q '"due":\[{"partner_id":"'"$partner"'","user_id":"'"$sam"'"' "$work/status2"
grep -q '"waiting":\[\]' "$work/status2"
# A bad --now is refused by name.
if "$acct" retention status --data "$data" --now yesterday 2>"$work/err"; then exit 1; fi
grep -q -- '--now' "$work/err"

# 31 days on (the process's clock moved by an LD_PRELOAD shim).
source "$(dirname "$0")/clock_shift.bash"
preload=$(clock_shift_preload "$acct" "$work")
shifted() { LD_PRELOAD="$preload" ACCT_TEST_CLOCK_SHIFT_S=$((31 * 86400)) "$acct" "$@"; }
before=$("$acct" verify --data "$data" | grep -o "head position [0-9]*")
shifted retention run --data "$data" --dry-run >"$work/dry"
cat "$work/dry"
grep -q '"outcome":"would_purge"' "$work/dry"
[ "$before" = "$("$acct" verify --data "$data" | grep -o "head position [0-9]*")" ]

shifted retention run --data "$data" >"$work/run1"
cat "$work/run1"
grep -q '"purged":1' "$work/run1"
grep -q '"outcome":"purged"' "$work/run1"
# Purged as the operator, in the user's stream.
"$acct" read --data "$data" --stream "user-$sam" >"$work/events"
tail -1 "$work/events" | grep -q '"type":"UserPurged"'
tail -1 "$work/events" | grep -q '"actor":"operator:retention"'
# Nothing left: the next run purges nobody and writes nothing.
after=$("$acct" verify --data "$data" | grep -o "head position [0-9]*")
shifted retention run --data "$data" >"$work/run2"
grep -q '"purged":0' "$work/run2"
grep -q '"results":\[\]' "$work/run2"
[ "$after" = "$("$acct" verify --data "$data" | grep -o "head position [0-9]*")" ]
"$acct" verify --data "$data" >/dev/null
echo "retention offline: OK"
