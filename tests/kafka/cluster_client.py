#!/usr/bin/python3
"""HTTP clients for tests/kafka/cluster.sh (Python's standard library only).

  load    N clients send commands to random nodes until a stop file
          appears (or a time limit): PublishOffer (the catalog: shard 0), or
          with --kind enroll EnrollPartner (each a new partner, on the shard
          of its id: every shard gets commands). A 307 is followed to the leader with
          the same body and token; a 503 or a lost connection is retried with
          the SAME command id (idempotent), a bounded number of times. Every
          acknowledged command is appended to --acked as a JSON line
          {command_id, position, shard, node, at}.
  check   Every node's copy of every shard (--shards): all events read over
          HTTP; every acknowledged command is there exactly once, in the
          shard and at the position it was acknowledged with, on every node;
          every node has the same events, position by position. Prints the
          heads.
  post    One command to one node, redirects NOT followed; prints the status.
  account create   Enrols a partner (its admin's name and email are personal
          data, sealed under a key of the leader's), signs the admin in with
          the temporary password at a random node and changes it; writes
          {partner_id, user_id, email, password} to --out.
  account check    At every node: signs the admin in with that password (the
          leader takes it) and reads the partner's directory at EVERY node
          with the token: the email must read back in clear everywhere (the
          keys, the credential and the token reached every node).
All waits are bounded.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def offer_command(command_id, offer_id):
    return json.dumps({
        "type": "PublishOffer", "command_id": command_id,
        "offer": {"offer_id": offer_id, "display_name": "Offer " + offer_id, "segment": "enterprise",
                  "license_agreement_type": "corporate", "purchase_unit": "1 Month",
                  "secondary_license_type": "non_specific", "base_offer_ids": [],
                  "end_customer_type": "corporate", "billing_model": "usage_based"}})


def enroll_command(command_id, email):
    addr = {"line1": "1 Main Street", "line2": "", "city": "Redmond", "state": "WA", "postal_code": "98052",
            "country": "US", "region": "West"}
    return json.dumps({
        "type": "EnrollPartner", "command_id": command_id,
        "admin": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "phone": ""},
        "partner_name": "Contoso", "mpn_id": "1234567",
        "legal": {"company_name": "Contoso Ltd", "address": addr,
                  "primary_contact": {"first_name": "Pat", "last_name": "Legal",
                                      "email": "pat@contoso.example", "phone": ""},
                  "approver_email": "approver@contoso.example", "approver_address": addr},
        "tenant_id": str(uuid.uuid4()), "default_domain": "contoso.onmicrosoft.com", "language": "en",
        "culture": "en-us", "billing_currency": "USD"})


def request(url, method, token, body=None, timeout=20):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def post_command(node, token, body, hops=3, path="/v1/commands"):
    """(status, json body, url that answered); follows at most `hops` 307s."""
    url = node + path
    for _ in range(hops + 1):
        status, headers, data = request(url, "POST", token, body)
        if status == 307:
            url = headers.get("Location") or headers.get("location")
            continue
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = {}
        return status, parsed, url
    return 307, {}, url


def cmd_load(a):
    nodes = a.nodes.split(",")
    token = open(a.token_file).read().strip()
    lock = threading.Lock()
    out = open(a.acked, "a")
    deadline = time.monotonic() + a.max_seconds
    counts = {"acked": 0, "given_up": 0, "retries": 0}

    def client(n):
        rng = random.Random(n * 7919 + os.getpid())
        i = 0
        while time.monotonic() < deadline and not os.path.exists(a.stop_file):
            i += 1
            command_id = str(uuid.uuid4())
            if a.kind == "enroll":
                body = enroll_command(command_id, "ada-%s@contoso.example" % command_id[:8])
            else:
                body = offer_command(command_id, "c%d-%d-%s" % (n, i, command_id[:8]))
            for attempt in range(a.attempts):
                node = rng.choice(nodes)
                try:
                    status, reply, url = post_command(node, token, body)
                except (OSError, http.client.HTTPException):
                    status, reply, url = 0, {}, node
                if status == 200 and "position" in reply:
                    with lock:
                        out.write(json.dumps({"command_id": command_id, "position": reply["position"],
                                              "last_position": reply.get("last_position", reply["position"]),
                                              "shard": reply.get("shard", 0),
                                              "node": url.split("/v1/")[0], "at": time.time(),
                                              "duplicate": reply.get("duplicate", False)}) + "\n")
                        out.flush()
                        counts["acked"] += 1
                    break
                if status not in (0, 307, 503):
                    with lock:
                        print("client %d: unexpected answer %d: %s" % (n, status, json.dumps(reply)), flush=True)
                with lock:
                    counts["retries"] += 1
                time.sleep(0.2)
            else:
                with lock:
                    counts["given_up"] += 1
            time.sleep(a.pause)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(counts), flush=True)


def read_all_events(node, token, shard=None):
    events = []
    position = 1
    which = "" if shard is None else "&shard=%d" % shard
    for _ in range(100000):
        status, _, data = request("%s/v1/events?from=%d&limit=1000%s" % (node, position, which), "GET", token)
        if status != 200:
            fail("GET events from %s: %d %s" % (node, status, data[:200]))
        page = json.loads(data)
        events.extend(page["events"])
        if page.get("end_of_log") or not page["events"]:
            return events
        position = page["next"]
    fail("too many pages from " + node)


def cmd_check(a):
    nodes = a.nodes.split(",")
    token = open(a.token_file).read().strip()
    acked = {}  # command id -> (shard, first position, last position)
    with open(a.acked) as f:
        for line in f:
            r = json.loads(line)
            where = (r.get("shard", 0), r["position"], r.get("last_position", r["position"]))
            if r["command_id"] in acked and acked[r["command_id"]] != where:
                fail("command %s acknowledged at two places: %s and %s" % (r["command_id"], acked[r["command_id"]], where))
            acked[r["command_id"]] = where
    if len(acked) < a.min_acked:
        fail("only %d commands acknowledged (expected at least %d)" % (len(acked), a.min_acked))
    heads = []
    for shard in range(a.shards):
        reference = None
        for node in nodes:
            events = read_all_events(node, token, shard if a.shards > 1 else None)
            positions = [e["position"] for e in events]
            if positions != list(range(1, len(events) + 1)):
                fail("%s shard %d: positions are not 1..%d without gaps" % (node, shard, len(events)))
            by_command = {}
            for e in events:
                by_command.setdefault(e["command_id"], []).append(e["position"])
            for command_id, (acked_shard, position, last) in acked.items():
                found = by_command.get(command_id, [])
                want = list(range(position, last + 1)) if acked_shard == shard else []
                if found != want:
                    fail("%s shard %d: acknowledged command %s (shard %d, positions %d..%d) is at %s" %
                         (node, shard, command_id, acked_shard, position, last, found))
            for command_id in a.absent or []:
                if command_id in by_command:
                    fail("%s: command %s, refused by a fenced leader, is in the log at %s" %
                         (node, command_id, by_command[command_id]))
            summary = [(e["position"], e["event_id"], e["command_id"]) for e in events]
            if reference is None:
                reference = (node, summary)
            elif summary != reference[1]:
                fail("%s and %s hold different events in shard %d" % (node, reference[0], shard))
        heads.append(len(reference[1]))
    per_shard = {s: sum(1 for v in acked.values() if v[0] == s) for s in range(a.shards)}
    print(json.dumps({"nodes": len(nodes), "heads": heads, "acked": len(acked), "acked_per_shard": per_shard}),
          flush=True)
    if a.shards > 1 and any(n == 0 for n in per_shard.values()):
        fail("a shard had no acknowledged command: %s" % per_shard)


def cmd_post(a):
    token = open(a.token_file).read().strip()
    body = offer_command(a.command_id, "zombie-" + a.command_id[:8])
    try:
        status, _, data = request(a.node + "/v1/commands", "POST", token, body, timeout=a.timeout)
        print("%d %s" % (status, data[:300].decode(errors="replace")), flush=True)
    except (OSError, http.client.HTTPException) as e:
        print("0 %s" % e, flush=True)


def post_retrying(node, token, body, path, what, attempts=150):
    """A write that rides over a leader change: 503s and lost connections are retried (bounded)."""
    for _ in range(attempts):
        try:
            status, reply, url = post_command(node, token, body, path=path)
        except (OSError, http.client.HTTPException):
            status, reply, url = 0, {}, node
        if status == 200:
            return reply, url
        if status not in (0, 307, 503):
            fail("%s at %s: %d %s" % (what, url, status, json.dumps(reply)))
        time.sleep(0.2)
    fail("%s: no answer after %d attempts" % (what, attempts))


def cmd_account_create(a):
    nodes = a.nodes.split(",")
    token = open(a.token_file).read().strip()
    email = "ada-%s@contoso.example" % uuid.uuid4().hex[:8]
    enroll = enroll_command(str(uuid.uuid4()), email)
    reply, url = post_retrying(random.choice(nodes), token, enroll, "/v1/commands", "EnrollPartner")
    result = reply.get("result", {})
    partner, temporary = result.get("partner_id"), result.get("temporary_password")
    if not partner or not temporary:
        fail("EnrollPartner at %s: no partner id or temporary password in %s" % (url, sorted(result)))
    sign_in = json.dumps({"partner_id": partner, "email": email, "password": temporary})
    session, url = post_retrying(random.choice(nodes), None, sign_in, "/v1/sessions", "sign-in")
    if not session.get("must_change_password"):
        fail("the first sign-in at %s did not ask for a new password" % url)
    password = "a new password " + uuid.uuid4().hex[:12]
    post_retrying(random.choice(nodes), session["token"], json.dumps({"old": temporary, "new": password}),
                  "/v1/me/password", "password change")
    with open(a.out, "w") as f:
        json.dump({"partner_id": partner, "user_id": session["user_id"], "email": email, "password": password}, f)
    print("account: partner %s enrolled, its admin's password changed" % partner, flush=True)


def cmd_account_check(a):
    nodes = a.nodes.split(",")
    acct = json.load(open(a.account))
    sign_in = json.dumps({"partner_id": acct["partner_id"], "email": acct["email"], "password": acct["password"]})
    for signed_at in nodes:
        session, url = post_retrying(signed_at, None, sign_in, "/v1/sessions", "sign-in at " + signed_at)
        if session.get("must_change_password"):
            fail("sign-in at %s (answered by %s): still a temporary password" % (signed_at, url))
        for node in nodes:
            # The token was committed before it was handed out; a follower
            # may take a moment to read it (bounded).
            for _ in range(150):
                status, _, data = request("%s/v1/partners/%s/users" % (node, acct["partner_id"]), "GET",
                                          session["token"])
                if status != 401:
                    break
                time.sleep(0.2)
            if status != 200:
                fail("directory at %s with a token from %s: %d %s" % (node, url, status, data[:200]))
            if acct["email"].encode() not in data:
                fail("directory at %s: the admin's email does not read back in clear: %s" % (node, data[:300]))
    print("account: signed in at %d nodes; the admin's email reads back in clear at every node" % len(nodes),
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    load = sub.add_parser("load")
    load.add_argument("--nodes", required=True)
    load.add_argument("--token-file", required=True)
    load.add_argument("--acked", required=True)
    load.add_argument("--stop-file", required=True)
    load.add_argument("--clients", type=int, default=8)
    load.add_argument("--kind", choices=["offer", "enroll"], default="offer")
    load.add_argument("--attempts", type=int, default=150)  # x 0.2 s: rides over a failover
    load.add_argument("--pause", type=float, default=0.02)
    load.add_argument("--max-seconds", type=float, default=600)
    check = sub.add_parser("check")
    check.add_argument("--nodes", required=True)
    check.add_argument("--token-file", required=True)
    check.add_argument("--acked", required=True)
    check.add_argument("--min-acked", type=int, default=1)
    check.add_argument("--absent", action="append")
    check.add_argument("--shards", type=int, default=1)
    post = sub.add_parser("post")
    post.add_argument("--node", required=True)
    post.add_argument("--token-file", required=True)
    post.add_argument("--command-id", required=True)
    post.add_argument("--timeout", type=float, default=30)
    account = sub.add_parser("account").add_subparsers(dest="what", required=True)
    create = account.add_parser("create")
    create.add_argument("--nodes", required=True)
    create.add_argument("--token-file", required=True)
    create.add_argument("--out", required=True)
    account_check = account.add_parser("check")
    account_check.add_argument("--nodes", required=True)
    account_check.add_argument("--account", required=True)
    a = ap.parse_args()
    if a.cmd == "account":
        {"create": cmd_account_create, "check": cmd_account_check}[a.what](a)
        return
    {"load": cmd_load, "check": cmd_check, "post": cmd_post}[a.cmd](a)


if __name__ == "__main__":
    main()
