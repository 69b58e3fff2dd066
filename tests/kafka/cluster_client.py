#!/usr/bin/python3
"""HTTP clients for tests/kafka/cluster.sh (Python's standard library only).

  load    N clients send PublishOffer commands to random nodes until a stop
          file appears (or a time limit). A 307 is followed to the leader with
          the same body and token; a 503 or a lost connection is retried with
          the SAME command id (idempotent), a bounded number of times. Every
          acknowledged command is appended to --acked as a JSON line
          {command_id, position, node, at}.
  check   Every node's copy: all events read over HTTP; every acknowledged
          command is there exactly once, at the position it was acknowledged
          with, on every node; every node has the same events, position by
          position. Prints the head.
  post    One command to one node, redirects NOT followed; prints the status.
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


def request(url, method, token, body=None, timeout=20):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def post_command(node, token, body, hops=3):
    """(status, json body, url that answered); follows at most `hops` 307s."""
    url = node + "/v1/commands"
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


def read_all_events(node, token):
    events = []
    position = 1
    for _ in range(100000):
        status, _, data = request("%s/v1/events?from=%d&limit=1000" % (node, position), "GET", token)
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
    acked = {}
    with open(a.acked) as f:
        for line in f:
            r = json.loads(line)
            if r["command_id"] in acked and acked[r["command_id"]] != r["position"]:
                fail("command %s acknowledged at two positions: %d and %d" %
                     (r["command_id"], acked[r["command_id"]], r["position"]))
            acked[r["command_id"]] = r["position"]
    if len(acked) < a.min_acked:
        fail("only %d commands acknowledged (expected at least %d)" % (len(acked), a.min_acked))
    reference = None
    for node in nodes:
        events = read_all_events(node, token)
        positions = [e["position"] for e in events]
        if positions != list(range(1, len(events) + 1)):
            fail("%s: positions are not 1..%d without gaps" % (node, len(events)))
        by_command = {}
        for e in events:
            by_command.setdefault(e["command_id"], []).append(e["position"])
        for command_id, position in acked.items():
            found = by_command.get(command_id, [])
            if found != [position]:
                fail("%s: acknowledged command %s (position %d) is at %s" % (node, command_id, position, found))
        for command_id in a.absent or []:
            if command_id in by_command:
                fail("%s: command %s, refused by a fenced leader, is in the log at %s" %
                     (node, command_id, by_command[command_id]))
        summary = [(e["position"], e["event_id"], e["command_id"]) for e in events]
        if reference is None:
            reference = (node, summary)
        elif summary != reference[1]:
            fail("%s and %s hold different events" % (node, reference[0]))
    print(json.dumps({"nodes": len(nodes), "head": len(reference[1]), "acked": len(acked)}), flush=True)


def cmd_post(a):
    token = open(a.token_file).read().strip()
    body = offer_command(a.command_id, "zombie-" + a.command_id[:8])
    try:
        status, _, data = request(a.node + "/v1/commands", "POST", token, body, timeout=a.timeout)
        print("%d %s" % (status, data[:300].decode(errors="replace")), flush=True)
    except (OSError, http.client.HTTPException) as e:
        print("0 %s" % e, flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    load = sub.add_parser("load")
    load.add_argument("--nodes", required=True)
    load.add_argument("--token-file", required=True)
    load.add_argument("--acked", required=True)
    load.add_argument("--stop-file", required=True)
    load.add_argument("--clients", type=int, default=8)
    load.add_argument("--attempts", type=int, default=150)  # x 0.2 s: rides over a failover
    load.add_argument("--pause", type=float, default=0.02)
    load.add_argument("--max-seconds", type=float, default=600)
    check = sub.add_parser("check")
    check.add_argument("--nodes", required=True)
    check.add_argument("--token-file", required=True)
    check.add_argument("--acked", required=True)
    check.add_argument("--min-acked", type=int, default=1)
    check.add_argument("--absent", action="append")
    post = sub.add_parser("post")
    post.add_argument("--node", required=True)
    post.add_argument("--token-file", required=True)
    post.add_argument("--command-id", required=True)
    post.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    {"load": cmd_load, "check": cmd_check, "post": cmd_post}[a.cmd](a)


if __name__ == "__main__":
    main()
