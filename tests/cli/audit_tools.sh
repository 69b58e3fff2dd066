#!/usr/bin/env bash
# The audit tools on the real binary: acct exec creates a partner and users,
# then history (what changed), state (as of a position), export and
# verify-export (a round trip passes; a changed line is caught and named).
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data"

addr='{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}'
enroll='{"type":"EnrollPartner","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000001","admin":{"first_name":"Ada","last_name":"Lovelace","email":"ada@contoso.com","phone":""},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":'"$addr"',"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":'"$addr"'},"tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'
echo "$enroll" | "$acct" exec --data "$data" --as operator --passwords-file "$work/pw1" >"$work/out1"
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$work/out1" | head -1 | cut -d'"' -f4)
[ -n "$partner" ]
as_ada="user:$partner/ada@contoso.com"

create='{"type":"CreateUser","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000002","partner_id":"'"$partner"'","profile":{"first_name":"Sam","last_name":"Sample","email":"sam@contoso.com","phone":""},"roles":["sales_agent"]}'
echo "$create" | "$acct" exec --data "$data" --as "$as_ada" --passwords-file "$work/pw2" >"$work/out2"
sam=$(grep -o '"user_id":"[0-9a-f-]*"' "$work/out2" | head -1 | cut -d'"' -f4)
[ -n "$sam" ]
after_create=$("$acct" verify --data "$data" | grep -o "head position [0-9]*" | awk '{print $3}')

printf '%s\n' \
  '{"type":"UpdateSupportProfile","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000003","partner_id":"'"$partner"'","support":{"email":"help@contoso.com","phone":"+1 425 555 0199","website":"https://contoso.com/help"}}' \
  '{"type":"AssignRole","command_id":"7a1b2c3d-4e5f-4a6b-8c7d-000000000004","partner_id":"'"$partner"'","user_id":"'"$sam"'","role":"billing_admin"}' |
  "$acct" exec --data "$data" --as "$as_ada" >"$work/out3"
[ "$(grep -c '"ok":true' "$work/out3")" -eq 2 ] || { cat "$work/out3"; exit 1; }

# History: who did what through which command, and the fields before and after.
"$acct" history --data "$data" --partner "$partner" --format jsonl >"$work/history.jsonl"
cat "$work/history.jsonl"
grep '"event_type":"SupportProfileUpdated"' "$work/history.jsonl" | grep -q '"command_type":"UpdateSupportProfile"'
grep '"event_type":"SupportProfileUpdated"' "$work/history.jsonl" |
  grep -q '{"path":"support.email","before":"","after":"help@contoso.com"}'
grep '"event_type":"RoleAssigned"' "$work/history.jsonl" | tail -1 |
  grep -q '{"path":"roles","before":\["sales_agent"\],"after":\["billing_admin","sales_agent"\]}'
grep '"event_type":"RoleAssigned"' "$work/history.jsonl" | tail -1 | grep -q '"actor_name":"Ada Lovelace <ada@contoso.com>"'
"$acct" history --data "$data" --partner "$partner" --format table | grep -q 'support.email: "" -> "help@contoso.com"'
[ "$("$acct" history --data "$data" --partner "$partner" --format csv | head -1)" = \
  "position,recorded_at,stream,stream_version,actor,actor_name,command_id,command_type,event_type,schema_version,changes" ]
# A window that ends before everything: nothing.
[ -z "$("$acct" history --data "$data" --partner "$partner" --format jsonl --to 2000-01-01)" ]

# State: as of the position after CreateUser, Sam has one role and support is empty; now, two roles.
"$acct" state --data "$data" --partner "$partner" --at-position "$after_create" >"$work/state_then.json"
grep -q '"support":{"email":""' "$work/state_then.json"
grep -q '"roles":\["sales_agent"\]' "$work/state_then.json"
grep -q '"email":"sam@contoso.com"' "$work/state_then.json"
"$acct" state --data "$data" --partner "$partner" --as-of 2100-01-01 >"$work/state_now.json"
grep -q '"support":{"email":"help@contoso.com"' "$work/state_now.json"
grep -q '"roles":\["billing_admin","sales_agent"\]' "$work/state_now.json"
set +e
"$acct" state --data "$data" --partner "$partner" --at-position 999999 >/dev/null 2>"$work/err_state"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "a position beyond the head should be refused (exit 2), got $rc"; exit 1; }
grep -q "beyond the log's head" "$work/err_state"

# Export and verify: the round trip passes, with the signature checked.
"$acct" keys export-public --data "$data" --to "$work/signing.pub"
"$acct" export --data "$data" --partner "$partner" --format jsonl --to "$work/export.jsonl"
tail -1 "$work/export.jsonl" | grep -q '"record":"trailer"'
tail -1 "$work/export.jsonl" | grep -q '"signed_checkpoint":{"position"'
"$acct" verify-export --data "$data" --file "$work/export.jsonl" --public-key "$work/signing.pub" | tee "$work/verify1"
tail -1 "$work/verify1" | grep -q '^OK$'
grep -q "signature is valid" "$work/verify1"
"$acct" export --data "$data" --partner "$partner" --format csv --to "$work/export.csv"
"$acct" verify-export --data "$data" --file "$work/export.csv" | tail -1 | grep -q '^OK$'

# A changed line is caught and named: line and field.
line=$(grep -n '"type":"UserCreated"' "$work/export.jsonl" | grep '"first_name":"Sam"' | cut -d: -f1)
sed "${line}s/\"first_name\":\"Sam\"/\"first_name\":\"Sim\"/" "$work/export.jsonl" >"$work/tampered.jsonl"
set +e
"$acct" verify-export --data "$data" --file "$work/tampered.jsonl" >"$work/verify2"
rc=$?
set -e
cat "$work/verify2"
[ "$rc" -eq 1 ] || { echo "a changed export should fail (exit 1), got $rc"; exit 1; }
grep -q "MISMATCH at line $line, field data.profile.first_name" "$work/verify2"
csv_line=$(grep -n ',UserCreated,' "$work/export.csv" | grep 'Sam' | cut -d: -f1)
sed "${csv_line}s/,user-/,user-x/" "$work/export.csv" >"$work/tampered.csv"
set +e
"$acct" verify-export --data "$data" --file "$work/tampered.csv" >"$work/verify3"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "MISMATCH at line $csv_line, field stream" "$work/verify3"

# The readers wrote nothing to the log.
"$acct" verify --data "$data" | grep -q "head position $(tail -1 "$work/export.jsonl" | grep -o '"head_position":[0-9]*' | cut -d: -f2)"
echo "history, state, export and verify-export agree with the log"
