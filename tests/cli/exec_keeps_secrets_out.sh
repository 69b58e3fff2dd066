#!/usr/bin/env bash
# acct exec runs commands from JSON lines; the temporary passwords it issues go
# only to the --passwords-file: never to the data folder, stdout or stderr; and
# personal data reaches the data folder only sealed.
set -euo pipefail
acct="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data"

enroll='{"type":"EnrollPartner","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-000000000001","admin":{"first_name":"Ada","last_name":"Lovelace","email":"ada@contoso.com","phone":"+1 425 555 0100"},"partner_name":"Contoso","mpn_id":"1234567","legal":{"company_name":"Contoso Ltd","address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"},"primary_contact":{"first_name":"Pat","last_name":"Legal","email":"pat@contoso.com","phone":""},"approver_email":"approver@contoso.com","approver_address":{"line1":"1 Main Street","line2":"","city":"Redmond","state":"WA","postal_code":"98052","country":"US","region":"West"}},"tenant_id":"6f1b1d0e-8a43-4c59-9f64-0c1f5b6a7d11","default_domain":"contoso.onmicrosoft.com","language":"en","culture":"en-us","billing_currency":"USD"}'

echo "$enroll" | "$acct" exec --data "$data" --as operator --passwords-file "$work/pw1" >"$work/out1" 2>"$work/err1"
cat "$work/out1"
grep -q '"ok":true' "$work/out1"
partner=$(grep -o '"partner_id":"[0-9a-f-]*"' "$work/out1" | cut -d'"' -f4)
[ -n "$partner" ]

# A retry of the same command: the first result, no second password.
echo "$enroll" | "$acct" exec --data "$data" --as operator --passwords-file "$work/pw1b" >"$work/out1b" 2>"$work/err1b"
grep -q '"duplicate":true' "$work/out1b"
[ ! -s "$work/pw1b" ] || { echo "a retried command issued another password"; exit 1; }

create='{"type":"CreateUser","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-00000000000a","partner_id":"'"$partner"'","profile":{"first_name":"Sam","last_name":"User","email":"sam@contoso.com","phone":""},"roles":["billing_admin","sales_agent"]}'
echo "$create" | "$acct" exec --data "$data" --as "user:$partner/ada@contoso.com" --passwords-file "$work/pw2" >"$work/out2" 2>"$work/err2"
cat "$work/out2"
sam=$(grep -o '"user_id":"[0-9a-f-]*"' "$work/out2" | cut -d'"' -f4)
[ -n "$sam" ]

reset='{"type":"ResetPassword","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-00000000000e","partner_id":"'"$partner"'","user_id":"'"$sam"'"}'
echo "$reset" | "$acct" exec --data "$data" --as "user:$partner/ada@contoso.com" --passwords-file "$work/pw3" >"$work/out3" 2>"$work/err3"
grep -q '"temporary_password":"written to' "$work/out3"

# Without a passwords file, a command that would issue one is refused up front.
set +e
echo '{"type":"CreateUser","command_id":"9a1b2c3d-4e5f-4a6b-8c7d-00000000000b","partner_id":"'"$partner"'","profile":{"first_name":"Kim","last_name":"User","email":"kim@contoso.com","phone":""},"roles":[]}' |
  "$acct" exec --data "$data" --as "user:$partner/ada@contoso.com" >"$work/out4" 2>"$work/err4"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "expected exit 1, got $rc"; exit 1; }
grep -q '"field":"passwords_file"' "$work/out4"

# Malformed input names the problem and writes nothing.
before=$("$acct" verify --data "$data" | grep -o "head position [0-9]*")
set +e
printf '%s\n' '{"type":"CreateUser","command_id":"nope"}' '{not json' |
  "$acct" exec --data "$data" --as operator >"$work/out5" 2>"$work/err5"
set -e
grep -q '"field":"command_id"' "$work/out5"
grep -q 'malformed JSON' "$work/out5"
after=$("$acct" verify --data "$data" | grep -o "head position [0-9]*")
[ "$before" = "$after" ]

# Every temporary password issued: in the passwords files, nowhere else.
passwords=$(cat "$work"/pw1 "$work"/pw2 "$work"/pw3 | awk '{print $3}')
[ "$(echo "$passwords" | wc -l)" -eq 3 ]
for p in $passwords; do
  [ ${#p} -eq 16 ] || { echo "unexpected password length"; exit 1; }
  if grep -r -a -F -q -- "$p" "$data" "$work"/out* "$work"/err*; then
    echo "a temporary password leaked"; exit 1
  fi
done
[ "$(stat -c %a "$work/pw2")" = "600" ]

# Personal data is sealed per subject: no email or last name in clear anywhere in the data folder.
for pii in ada@contoso.com sam@contoso.com Lovelace; do
  if grep -r -a -F -q -- "$pii" "$data"; then echo "personal data '$pii' is in the data folder in clear"; exit 1; fi
done

"$acct" verify --data "$data" | tail -1 | grep -q '^OK$'
echo "3 temporary passwords issued; none found in the data folder or the output"
