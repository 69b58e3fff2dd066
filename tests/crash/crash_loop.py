#!/usr/bin/env python3
"""Crash loop and load soak against a real `acct serve` (issue 9).

Python 3 standard library only. Every address is 127.0.0.1; every loop is
bounded by a count and a time limit; randomness comes from one seed, printed.

  crash_loop.py loop --acct BIN [--iterations N] [--clients N] [--seed S]
      Starts `acct serve --demo` on a fresh data folder (port 0), signs in as
      the demo Global admin, then per iteration: N clients send realistic
      commands (CreateUser, UpdateUserProfile, UpdateSupportProfile,
      ReorderPins) over HTTP and record every acknowledged command (200: its
      command id, positions and events); the server is SIGKILLed at a seeded
      random moment; `acct verify` must pass on the crashed folder; the server
      is restarted; every command acknowledged so far in this iteration must
      be in the log with the same positions, streams, versions and types
      (GET /v1/events), /healthz must answer 200 and the users view must reach
      the last acknowledged position; the commands whose outcome the crash hid are sent
      again with the same command id: each must answer 200 (duplicate when it
      had committed) with consistent positions. At the end the server is
      stopped with SIGTERM (exit 0) and `acct verify` plus `acct read` check
      every acknowledged command of every iteration once more, offline.

  crash_loop.py load --acct BIN [--minutes M] [--clients N] [--sample-seconds S]
      One server, the same command mix for M minutes, its RSS (VmRSS) sampled
      every S seconds twice: live, then "quiet" (the clients pause and the
      requests running finish: CreateUser's argon2id hashes take 64 MiB each
      while they run). Prints start (after the warm-up: the first 20% of the
      run), end and max RSS; fails if the quiet RSS after the warm-up exceeds
      its first value by more than --rss-growth-mib plus --rss-bytes-per-event
      for each event written since (the log's in-memory index grows by
      design: about 9 bytes per event plus the new streams). Then the log is
      checked offline (acct verify, every acknowledged command present).

Exit status: 0 when every check passed, 1 when one failed, 2 on a setup error.
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

DEMO_EMAIL = "ada@contoso.example"
DEMO_PASSWORD = "demo-password-2026"
DEMO_PINS = ["azure-plan", "dynamics-365-sb"]
ROLES = ["sales_agent", "helpdesk_agent", "billing_admin", "account_admin"]
SERVER_START_TIMEOUT_S = 120.0
HTTP_TIMEOUT_S = 60.0


class CheckFailed(Exception):
    pass


def log(msg):
    print(msg, flush=True)


# ---- the server process ----------------------------------------------------------------------


class Server:
    """One `acct serve` process on 127.0.0.1:0, its output in files under work/."""

    def __init__(self, acct, data, work, extra_args=()):
        self.acct = acct
        self.data = data
        self.work = work
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.partner = None
        self.starts = 0

    def start(self, demo=False):
        self.starts += 1
        out_path = os.path.join(self.work, "serve-%03d.out" % self.starts)
        err_path = os.path.join(self.work, "serve-%03d.err" % self.starts)
        args = [self.acct, "serve", "--data", self.data, "--listen", "127.0.0.1:0"] + self.extra_args
        if demo:
            args.append("--demo")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        pattern = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)", re.M)
        while time.monotonic() < deadline:
            with open(out_path, "r", errors="replace") as f:
                text = f.read()
            m = pattern.search(text)
            if m and (not demo or "operator.token" in text):
                self.port = int(m.group(1))
                p = re.search(r"^demo partner ([0-9a-f-]{36}) seeded", text, re.M)
                if p:
                    self.partner = p.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait()
        with open(err_path, "r", errors="replace") as f:
            err = f.read()[-4000:]
        with open(out_path, "r", errors="replace") as f:
            out_text = f.read()[-4000:]
        raise CheckFailed("acct serve did not start (exit %s):\n%s\n%s" % (rc, out_text, err))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self, timeout=120):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "timeout"
        self.proc = None
        return rc

    def rss_kib(self):
        return self.memory_kib().get("VmRSS", 0)

    def memory_kib(self):
        """VmRSS and its parts (KiB): RssAnon is the heap; RssFile is mapped files
        (the log's segments are read through mmap: clean pages the kernel may drop)."""
        out = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    out[key] = int(line.split()[1])
        return out

    def last_log_lines(self, n=20):
        err_path = os.path.join(self.work, "serve-%03d.err" % self.starts)
        out_path = os.path.join(self.work, "serve-%03d.out" % self.starts)
        lines = []
        for p in (out_path, err_path):
            with open(p, "r", errors="replace") as f:
                lines += f.read().splitlines()[-n:]
        return "\n".join(lines)


class Http:
    """A keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.conn = None

    def request(self, method, target, body=None):
        """(status, parsed JSON or text). Raises OSError/HTTPException when there is no reply."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S)
        headers = {"Host": "127.0.0.1"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, target, body=data, headers=headers)
            res = self.conn.getresponse()
            raw = res.read()
        except Exception:
            self.close()
            raise
        if res.getheader("Connection", "").lower() == "close":
            self.close()
        text = raw.decode("utf-8", errors="replace")
        try:
            return res.status, json.loads(text)
        except ValueError:
            return res.status, text

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def sign_in(port, partner):
    status, body = Http(port).request(
        "POST", "/v1/sessions", {"partner_id": partner, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    )
    if status != 200:
        raise CheckFailed("sign-in as the demo admin failed: %s %s" % (status, body))
    return body["token"]


# ---- the workload ------------------------------------------------------------------------------


class Shared:
    """State shared by the clients across iterations (guarded by lock)."""

    def __init__(self, partner, max_users=0):
        self.partner = partner
        self.lock = threading.Lock()
        self.users = []  # (user id, profile) of acknowledged CreateUser commands
        # 0: every CreateUser slot creates a user (the partner grows all run long);
        # N: once N users exist, the slot resets a user's password instead (the
        # same argon2id hash and credential write, a steady population).
        self.max_users = max_users


def new_command_id(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_command(rng, shared, tag, n):
    """One realistic command of the demo admin that succeeds whatever the interleaving.

    Mix: 25% UpdateSupportProfile, 10% CreateUser (each issues a temporary
    password: one argon2id hash, the costly one; ResetPassword of a random user
    instead once shared.max_users exist), 50% UpdateUserProfile of a user
    created earlier, 15% ReorderPins of the demo's two pins. Half of them
    write the partner's stream: contention there is part of the test."""
    p = shared.partner
    roll = rng.random()
    with shared.lock:
        user = rng.choice(shared.users) if shared.users else None
        full = shared.max_users > 0 and len(shared.users) >= shared.max_users
    if roll < 0.25:
        return {
            "type": "UpdateSupportProfile",
            "command_id": new_command_id(rng),
            "partner_id": p,
            "support": {
                "email": "support-%s-%d@contoso.example" % (tag, n),
                "phone": "+1 800 555 %04d" % rng.randrange(10000),
                "website": "https://contoso.example/support/%s/%d" % (tag, n),
            },
        }
    if roll < 0.35 and full:
        return {"type": "ResetPassword", "command_id": new_command_id(rng), "partner_id": p, "user_id": user[0]}
    if roll < 0.35 or user is None:
        return {
            "type": "CreateUser",
            "command_id": new_command_id(rng),
            "partner_id": p,
            "profile": {
                "first_name": "User",
                "last_name": "%s-%d" % (tag, n),
                "email": "u-%s-%d@contoso.example" % (tag, n),
                "phone": "",
            },
            "roles": [rng.choice(ROLES)],
        }
    if roll < 0.85:
        user_id, profile = user
        changed = dict(profile)
        changed["phone"] = "+1 425 555 %04d" % rng.randrange(10000)
        changed["last_name"] = "%s-renamed-%d" % (profile["last_name"].split("-renamed-")[0], n)
        return {
            "type": "UpdateUserProfile",
            "command_id": new_command_id(rng),
            "partner_id": p,
            "user_id": user_id,
            "profile": changed,
        }
    order = list(DEMO_PINS)
    rng.shuffle(order)
    return {"type": "ReorderPins", "command_id": new_command_id(rng), "partner_id": p, "offer_ids": order}


# What a 200 said; a tuple, so that a long load keeps many of them cheaply.
Ack = collections.namedtuple("Ack", "command_id type position last_position duplicate events")


def ack_record(command, body):
    return Ack(
        body["command_id"],
        command["type"],
        int(body["position"]),
        int(body["last_position"]),
        bool(body.get("duplicate", False)),
        tuple((e["stream"], int(e["version"]), e["type"]) for e in body["events"]),
    )


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []  # ack records
        self.in_flight = []  # commands sent when the server died (outcome unknown)
        self.refused = {}  # "status code" -> count: version-conflict give-ups under contention
        self.unexpected = []  # anything else: a failure


def note_ack(shared, tally, command, body):
    record = ack_record(command, body)
    if record.command_id != command["command_id"]:
        raise CheckFailed("reply names command %s, sent %s" % (record.command_id, command["command_id"]))
    with tally.lock:
        tally.acked.append(record)
    if command["type"] == "CreateUser" and not record.duplicate:
        user_id = body.get("result", {}).get("user_id")
        if user_id:
            with shared.lock:
                shared.users.append((user_id, command["profile"]))


class Gate:
    """Lets the load pause between requests, so that RSS can be sampled with no request running."""

    def __init__(self):
        self.cond = threading.Condition()
        self.paused = False
        self.busy = 0

    def enter(self):
        with self.cond:
            while self.paused:
                self.cond.wait()
            self.busy += 1

    def leave(self):
        with self.cond:
            self.busy -= 1
            self.cond.notify_all()

    def pause(self, timeout):
        with self.cond:
            self.paused = True
            return self.cond.wait_for(lambda: self.busy == 0, timeout)

    def resume(self):
        with self.cond:
            self.paused = False
            self.cond.notify_all()


def client_loop(port, token, shared, tally, rng, tag, max_commands, deadline, killed, on_reply=None, gate=None):
    conn = Http(port, token)
    try:
        for n in range(max_commands):
            if killed.is_set() or time.monotonic() >= deadline:
                return
            command = make_command(rng, shared, tag, n)
            if gate:
                gate.enter()
            try:
                status, body = conn.request("POST", "/v1/commands", command)
            except (OSError, http.client.HTTPException) as e:
                if killed.is_set():
                    with tally.lock:
                        tally.in_flight.append(command)
                    return
                with tally.lock:
                    tally.unexpected.append("%s: no reply: %r" % (command["type"], e))
                return
            finally:
                if gate:
                    gate.leave()
            if on_reply:
                on_reply()
            if status == 200:
                note_ack(shared, tally, command, body)
                continue
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            if status == 409 and code == "wrong_expected_version":
                # The engine gave up after its retries on a hot stream: refused, nothing written.
                with tally.lock:
                    tally.refused["409 wrong_expected_version"] = tally.refused.get("409 wrong_expected_version", 0) + 1
                continue
            if status == 503 and code == "busy":
                # The argon2id gate's back-pressure (a CreateUser on a loaded machine waited
                # past --argon2-wait-ms): refused before the commit, nothing written.
                with tally.lock:
                    tally.refused["503 busy"] = tally.refused.get("503 busy", 0) + 1
                continue
            with tally.lock:
                tally.unexpected.append("%s: %s %s" % (command["type"], status, body))
            return
    finally:
        conn.close()


# ---- checks ----------------------------------------------------------------------------------


def events_from_server(port, operator_token, start):
    """command id -> [(position, stream, version, type)] of every event at or after `start`."""
    conn = Http(port, operator_token)
    found = {}
    pos = start
    for _ in range(1_000_000):
        status, body = conn.request("GET", "/v1/events?from=%d&limit=1000" % pos)
        if status != 200:
            raise CheckFailed("GET /v1/events?from=%d: %s %s" % (pos, status, body))
        for e in body["events"]:
            found.setdefault(e["command_id"], []).append((int(e["position"]), e["stream"], int(e["version"]), e["type"]))
        if body["end_of_log"] or not body["events"]:
            break
        pos = int(body["next"])
    conn.close()
    return found


def events_offline(acct, data):
    """The same map from `acct read` (the server must be stopped)."""
    found = {}
    pos = 1
    page = 100000
    for _ in range(100_000):
        proc = subprocess.Popen([acct, "read", "--data", data, "--from", str(pos), "--limit", str(page)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = 0
        for line in proc.stdout:
            e = json.loads(line)
            found.setdefault(e["command_id"], []).append((int(e["position"]), e["stream"], int(e["version"]), e["type"]))
            pos = int(e["position"]) + 1
            lines += 1
        err = proc.stderr.read()
        if proc.wait() != 0:
            raise CheckFailed("acct read failed: %s" % err)
        if lines < page:
            break
    return found


def check_acked(acked, found, where):
    """Every acknowledged command is in the log, whole, at the positions it was acknowledged with."""
    for a in acked:
        events = sorted(found.get(a.command_id, []))
        if not events:
            raise CheckFailed("%s: acknowledged %s %s (positions %d-%d) is missing"
                              % (where, a.type, a.command_id, a.position, a.last_position))
        positions = [e[0] for e in events]
        if positions != list(range(a.position, a.last_position + 1)):
            raise CheckFailed("%s: %s %s acknowledged at %d-%d, the log has it at %s"
                              % (where, a.type, a.command_id, a.position, a.last_position, positions))
        if tuple(e[1:] for e in events) != a.events:
            raise CheckFailed("%s: %s %s acknowledged events %s, the log has %s"
                              % (where, a.type, a.command_id, a.events, [e[1:] for e in events]))


class VerifyResult:
    def __init__(self, events, torn):
        self.events = events
        self.torn = torn


def run_verify(acct, data, where):
    out = subprocess.run([acct, "verify", "--data", data], capture_output=True, text=True, timeout=600)
    lines = out.stdout.strip().splitlines()
    m = re.search(r"events (\d+)", out.stdout)
    result = VerifyResult(int(m.group(1)) if m else -1, "note: torn tail" in out.stdout)
    if out.returncode == 0 and lines and lines[-1] == "OK":
        return result
    raise CheckFailed("%s: acct verify failed (exit %d):\n%s\n%s" % (where, out.returncode, out.stdout, out.stderr))


# ---- loop ------------------------------------------------------------------------------------


def cmd_loop(args):
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    log("crash loop: seed %d (rerun with --seed %d), %d iterations, %d clients" % (seed, seed, args.iterations, args.clients))
    master = random.Random(seed)
    work = tempfile.mkdtemp(prefix="acct-crash-")
    data = os.path.join(work, "data")
    server = Server(args.acct, data, work)
    all_acked = []
    totals = {"acked": 0, "in_flight": 0, "resent_duplicate": 0, "resent_new": 0, "refused": 0, "torn": 0}
    ok = False
    try:
        server.start(demo=True)
        if not server.partner:
            raise CheckFailed("the demo partner id was not printed")
        with open(os.path.join(data, "operator.token")) as f:
            operator_token = f.read().strip()
        token = sign_in(server.port, server.partner)
        shared = Shared(server.partner)
        for it in range(1, args.iterations + 1):
            iteration_start = time.monotonic()
            kill_after = master.uniform(args.min_kill_ms, args.max_kill_ms) / 1000.0
            tally = Tally()
            killed = threading.Event()
            replies = [0]
            replies_lock = threading.Lock()

            def count_reply():
                with replies_lock:
                    replies[0] += 1

            # Wait until the server answers commands, so that the kill lands in the load.
            start = time.monotonic()
            deadline = start + kill_after + args.client_seconds
            threads = []
            for c in range(args.clients):
                rng = random.Random("%d/%d/%d" % (seed, it, c))
                t = threading.Thread(target=client_loop, args=(
                    server.port, token, shared, tally, rng, "s%d-i%d-c%d" % (seed, it, c),
                    args.max_commands, deadline, killed, count_reply))
                t.start()
                threads.append(t)
            # The kill moment: kill_after seconds after the first reply (bounded).
            first_reply_deadline = time.monotonic() + 60
            while replies[0] == 0 and time.monotonic() < first_reply_deadline and any(t.is_alive() for t in threads):
                time.sleep(0.005)
            kill_at = time.monotonic() + kill_after
            while time.monotonic() < kill_at and any(t.is_alive() for t in threads):
                time.sleep(0.005)
            killed.set()
            server.kill()
            for t in threads:
                t.join(timeout=HTTP_TIMEOUT_S + 30)
                if t.is_alive():
                    raise CheckFailed("iteration %d: a client did not stop" % it)
            if tally.unexpected:
                raise CheckFailed("iteration %d: unexpected replies:\n  %s" % (it, "\n  ".join(tally.unexpected[:10])))

            verified = run_verify(args.acct, data, "iteration %d after SIGKILL" % it)
            events, torn = verified.events, verified.torn
            totals["torn"] += int(torn)
            server.start()
            # Acknowledged before the kill: there, at the same positions.
            if tally.acked:
                start_pos = min(a.position for a in tally.acked)
                check_acked(tally.acked, events_from_server(server.port, operator_token, start_pos),
                            "iteration %d after restart" % it)
            # The views survived the kill too: healthy, and caught up past every acknowledged position.
            probe = Http(server.port, token)
            status, body = probe.request("GET", "/healthz")
            if status != 200:
                raise CheckFailed("iteration %d: /healthz after restart: %s %s" % (it, status, body))
            if tally.acked:
                status, body = probe.request("GET", "/v1/partners/%s/users?min_position=%d"
                                             % (shared.partner, max(a.last_position for a in tally.acked)))
                if status != 200:
                    raise CheckFailed("iteration %d: the users view after restart: %s %s" % (it, status, body))
            probe.close()
            # Unknown outcome: send again with the same id; the answer must be 200.
            resent = []
            conn = Http(server.port, token)
            for command in tally.in_flight:
                status, body = conn.request("POST", "/v1/commands", command)
                if status != 200:
                    raise CheckFailed("iteration %d: resending in-flight %s %s: %s %s"
                                      % (it, command["type"], command["command_id"], status, body))
                note_ack(shared, tally, command, body)
                rec = tally.acked[-1]
                resent.append(rec)
                totals["resent_duplicate" if rec.duplicate else "resent_new"] += 1
            conn.close()
            if resent:
                check_acked(resent, events_from_server(server.port, operator_token, min(a.position for a in resent)),
                            "iteration %d resent" % it)
            all_acked += tally.acked
            totals["acked"] += len(tally.acked)
            totals["in_flight"] += len(tally.in_flight)
            totals["refused"] += sum(tally.refused.values())
            log("iteration %d/%d: killed %.0f ms into the load; %d acknowledged, %d in flight at the kill "
                "(%d had committed), %d refused; log %d events%s; all acknowledged present after restart (%.1f s)"
                % (it, args.iterations, kill_after * 1000, len(tally.acked) - len(resent), len(tally.in_flight),
                   sum(1 for r in resent if r.duplicate), sum(tally.refused.values()), events,
                   ", torn tail cut" if torn else "",
                   time.monotonic() - iteration_start))
        # The end: a graceful stop, then offline checks of everything.
        rc = server.stop()
        if rc != 0:
            raise CheckFailed("acct serve exited %s on SIGTERM:\n%s" % (rc, server.last_log_lines()))
        events = run_verify(args.acct, data, "final").events  # after a clean stop
        check_acked(all_acked, events_offline(args.acct, data), "final offline read")
        ids = [a.command_id for a in all_acked]
        log("crash loop passed: seed %d, %d iterations, %d acknowledged commands checked (%d distinct; %d were in "
            "flight at a kill and sent again: %d had committed, %d had not), %d refused on contention, "
            "%d torn tails cut, log %d events, acct verify OK"
            % (seed, args.iterations, len(all_acked), len(set(ids)), totals["in_flight"],
               totals["resent_duplicate"], totals["resent_new"], totals["refused"], totals["torn"], events))
        ok = True
        return 0
    except CheckFailed as e:
        log("FAILED (seed %d): %s" % (seed, e))
        if server.proc is not None:
            log(server.last_log_lines())
        log("data folder kept in %s" % work)
        return 1
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# ---- load with RSS samples -------------------------------------------------------------------


MEMORY_SERIES = re.compile(r'^(acct_memory_[a-z_]+)\{owner="([a-z_]+)"\} (\S+)$', re.M)


def scrape_memory(probe):
    """The acct_memory_* gauges of /metrics as {series: {owner: value}}; {} when absent."""
    status, text = probe.request("GET", "/metrics")
    if status != 200 or not isinstance(text, str):
        raise CheckFailed("GET /metrics: %s %s" % (status, str(text)[:200]))
    out = {}
    for name, owner, value in MEMORY_SERIES.findall(text):
        out.setdefault(name[len("acct_memory_"):], {})[owner] = float(value)
    return out


def slope_per_event(points):
    """Least-squares slope of (head, bytes) points: bytes per event; None with < 2 distinct heads."""
    if len(points) < 2:
        return None
    n = float(len(points))
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx


def owners_over_bounds(sample):
    """Each bounded owner whose entries exceed the bound the server reports for it."""
    entries = sample.get("memory", {}).get("entries", {})
    limits = sample.get("memory", {}).get("entries_limit", {})
    return ["%s: %d entries, bound %d" % (owner, entries[owner], limit)
            for owner, limit in sorted(limits.items()) if owner in entries and limit > 0 and entries[owner] > limit]


def cmd_load(args):
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    total_s = args.minutes * 60.0
    log("load: seed %d, %.1f minutes, %d clients, RSS every %.0f s" % (seed, args.minutes, args.clients, args.sample_seconds))
    work = tempfile.mkdtemp(prefix="acct-load-")
    data = os.path.join(work, "data")
    server = Server(args.acct, data, work, args.serve_arg or ())
    samples_out = open(args.samples_out, "w") if args.samples_out else None
    ok = False
    try:
        server.start(demo=True)
        with open(os.path.join(data, "operator.token")) as f:
            operator_token = f.read().strip()
        token = sign_in(server.port, server.partner)
        shared = Shared(server.partner, args.max_users)
        tally = Tally()
        stop = threading.Event()
        start = time.monotonic()
        deadline = start + total_s
        gate = Gate()
        threads = []
        for c in range(args.clients):
            t = threading.Thread(target=client_loop, args=(
                server.port, token, shared, tally, random.Random("%d/load/%d" % (seed, c)), "s%d-load-c%d" % (seed, c),
                10**9, deadline, stop, None, gate))
            t.start()
            threads.append(t)
        # Every S seconds: RSS now ("live": argon2id hashes of CreateUser make
        # spikes of 64 MiB each), then the clients pause, the requests running
        # finish, and RSS is sampled again with nothing running ("quiet"),
        # with its parts and the server's memory gauges. The bounds are on the
        # quiet samples.
        samples = []  # dicts, also written as JSON lines to --samples-out
        warm_until = total_s * args.warm_up
        probe = Http(server.port, operator_token)

        def take_sample(now, live, final=False):
            quiet = server.memory_kib()
            # "Settled": the same server after --settle-seconds more with nothing
            # running, i.e. after its periodic releases ran (the log's mapped pages
            # every --log-release-ms, malloc_trim every --memory-trim-seconds):
            # what an idle server holds, without what the last second touched.
            settled = {}
            if args.settle_seconds > 0:
                time.sleep(args.settle_seconds)
                settled = server.memory_kib()
            # A fresh connection per sample: the server closes one idle for 60 s.
            try:
                memory = scrape_memory(probe)
                status, health = probe.request("GET", "/healthz")
            finally:
                probe.close()
            head = health.get("log", {}).get("head", -1) if isinstance(health, dict) else -1
            with tally.lock:
                n = len(tally.acked)
            sample = {"t": round(now - start, 1), "live_kib": live, "quiet_kib": quiet.get("VmRSS", 0),
                      "anon_kib": quiet.get("RssAnon", 0), "file_kib": quiet.get("RssFile", 0),
                      "hwm_kib": quiet.get("VmHWM", 0), "settled_kib": settled.get("VmRSS"),
                      "settled_anon_kib": settled.get("RssAnon"), "settled_file_kib": settled.get("RssFile"),
                      "acknowledged": n, "head": head, "healthz": status,
                      "memory": memory, "final": final}
            samples.append(sample)
            if samples_out:
                samples_out.write(json.dumps(sample, sort_keys=True) + "\n")
                samples_out.flush()
            b = memory.get("bytes", {})
            e = memory.get("entries", {})
            settled_note = ("  settled %.1f (anon %.1f, file %.1f)" % (
                sample["settled_kib"] / 1024.0, sample["settled_anon_kib"] / 1024.0,
                sample["settled_file_kib"] / 1024.0)) if settled else ""
            log("  t=%5.0fs  rss live %7.1f  quiet %7.1f MiB (anon %6.1f, file %6.1f)%s  acked %7d  head %8d  "
                "sqlite %5.1f  malloc used %5.1f free %5.1f  index %5.1f MiB  keys %d creds %d states %d  healthz %d"
                % (sample["t"], live / 1024.0, sample["quiet_kib"] / 1024.0, sample["anon_kib"] / 1024.0,
                   sample["file_kib"] / 1024.0, settled_note, n, head, b.get("sqlite", 0) / 2**20, b.get("malloc_in_use", 0) / 2**20,
                   b.get("malloc_free", 0) / 2**20, b.get("log_index", 0) / 2**20, e.get("key_store", -1),
                   e.get("credentials", -1), e.get("state_cache", -1), status))
            return status

        next_sample = start
        for _ in range(10**6):
            now = time.monotonic()
            if now >= deadline or not any(t.is_alive() for t in threads):
                break
            if now >= next_sample:
                live = server.rss_kib()
                if not gate.pause(HTTP_TIMEOUT_S):
                    gate.resume()
                    raise CheckFailed("requests did not finish within %d s for a sample" % HTTP_TIMEOUT_S)
                time.sleep(0.05)
                try:
                    take_sample(now, live)
                finally:
                    gate.resume()
                next_sample += args.sample_seconds
            time.sleep(min(0.2, max(0.0, next_sample - time.monotonic())))
        stop.set()
        for t in threads:
            t.join(timeout=HTTP_TIMEOUT_S + 30)
        time.sleep(0.05)
        status = take_sample(time.monotonic(), server.rss_kib(), final=True)
        if tally.unexpected:
            raise CheckFailed("unexpected replies:\n  %s" % "\n  ".join(tally.unexpected[:10]))
        if status != 200:
            raise CheckFailed("/healthz answered %s after the load" % status)
        warm = [s for s in samples if s["t"] >= warm_until] or samples[-1:]
        base = warm[0]
        end = samples[-1]
        events_after = max(0, end["head"] - base["head"])
        bound_kib = args.rss_growth_mib * 1024 + events_after * args.rss_bytes_per_event / 1024.0
        growth = max(s["quiet_kib"] for s in warm) - base["quiet_kib"]
        elapsed = end["t"]
        log("load: %d commands acknowledged in %.0f s (%.0f/s), %d refused on contention, log head %d"
            % (len(tally.acked), elapsed, len(tally.acked) / max(elapsed, 1e-9), sum(tally.refused.values()), end["head"]))
        log("RSS (quiet): first sample %.1f MiB, start after the warm-up (t=%.0fs) %.1f MiB, end %.1f MiB, max %.1f MiB; "
            "max live %.1f MiB (with argon2id hashes running)"
            % (samples[0]["quiet_kib"] / 1024.0, base["t"], base["quiet_kib"] / 1024.0, end["quiet_kib"] / 1024.0,
               max(s["quiet_kib"] for s in samples) / 1024.0, max(s["live_kib"] for s in samples) / 1024.0))
        log("RSS growth after the warm-up: %.1f MiB for %d events; bound %.1f MiB (%d MiB + %d bytes per event)"
            % (growth / 1024.0, events_after, bound_kib / 1024.0, args.rss_growth_mib, args.rss_bytes_per_event))
        # Growth per event after the warm-up, by least squares over the quiet samples.
        slopes = {"rss": slope_per_event([(s["head"], s["quiet_kib"] * 1024.0) for s in warm]),
                  "anon": slope_per_event([(s["head"], s["anon_kib"] * 1024.0) for s in warm])}
        for owner in sorted(end.get("memory", {}).get("bytes", {})):
            slopes[owner] = slope_per_event([(s["head"], s["memory"]["bytes"].get(owner, 0.0)) for s in warm
                                             if s.get("memory", {}).get("bytes")])
        log("growth per event after the warm-up (least squares): %s"
            % ", ".join("%s %s" % (k, "n/a" if v is None else "%.0f B" % v) for k, v in slopes.items()))
        over = sorted(set(m for s in samples for m in owners_over_bounds(s)))
        rc = server.stop()
        if rc != 0:
            raise CheckFailed("acct serve exited %s on SIGTERM" % rc)
        events = run_verify(args.acct, data, "after load").events
        check_acked(tally.acked, events_offline(args.acct, data), "after load")
        log("after load: acct verify OK (%d events), all %d acknowledged commands present" % (events, len(tally.acked)))
        if over:
            raise CheckFailed("a bounded owner held more than its bound: %s" % "; ".join(over))
        if growth > bound_kib:
            raise CheckFailed("the quiet RSS grew by %.1f MiB after the warm-up, over the bound of %.1f MiB"
                              % (growth / 1024.0, bound_kib / 1024.0))
        for owner, limit in args.max_bytes_per_event or []:
            got = slopes.get(owner)
            if got is None:
                raise CheckFailed("--max-bytes-per-event %s: no such series (or too few samples after the warm-up)"
                                  % owner)
            if got > limit:
                raise CheckFailed("%s grew by %.0f bytes per event after the warm-up, over the bound of %.0f"
                                  % (owner, got, limit))
        ok = True
        return 0
    except CheckFailed as e:
        log("FAILED (seed %d): %s" % (seed, e))
        log("data folder kept in %s" % work)
        return 1
    finally:
        if samples_out:
            samples_out.close()
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# ---- report: a samples file as a table -------------------------------------------------------


def cmd_report(args):
    """The quiet RSS and the owners per sample of a --samples-out file, as a Markdown table,
    and the flatness of the quiet RSS over a window: (max - min) / min."""
    samples = []
    with open(args.samples) as f:
        for line in f:
            if line.strip():
                samples.append(json.loads(line))
    samples = [s for s in samples if not s.get("final")]
    if not samples:
        print("no samples in %s" % args.samples, file=sys.stderr)
        return 2
    mib = lambda b: "%.1f" % (b / 2**20)
    has_settled = all(s.get("settled_kib") for s in samples)
    kib = lambda k: "%.1f" % (k / 1024.0)
    print("| minute | events | live RSS MiB | quiet RSS | anon | file |%s malloc in use | malloc free | sqlite "
          "| log index | keys | credentials | states |" % (" settled RSS | anon | file |" if has_settled else ""))
    print("|---" * (13 + (3 if has_settled else 0)) + "|")
    for s in samples:
        b = s.get("memory", {}).get("bytes", {})
        e = s.get("memory", {}).get("entries", {})
        settled = (" %s | %s | %s |" % (kib(s["settled_kib"]), kib(s["settled_anon_kib"]), kib(s["settled_file_kib"]))
                   if has_settled else "")
        print("| %.1f | %d | %s | %s | %s | %s |%s %s | %s | %s | %s | %d | %d | %d |"
              % (s["t"] / 60.0, s["head"], kib(s["live_kib"]), kib(s["quiet_kib"]), kib(s["anon_kib"]),
                 kib(s["file_kib"]), settled, mib(b.get("malloc_in_use", 0)), mib(b.get("malloc_free", 0)),
                 mib(b.get("sqlite", 0)), mib(b.get("log_index", 0)), e.get("key_store", -1),
                 e.get("credentials", -1), e.get("state_cache", -1)))
    lo, hi = args.window
    window = [s for s in samples if lo * 60 - 1 <= s["t"] <= hi * 60 + 1]
    if window:
        for name, key in [("live RSS", "live_kib"), ("quiet RSS", "quiet_kib")] + (
                [("settled RSS", "settled_kib"), ("settled anon", "settled_anon_kib")] if has_settled else []):
            q = [s[key] for s in window]
            flat = (max(q) - min(q)) / float(min(q))
            slope = slope_per_event([(s["head"], s[key] * 1024.0) for s in window])
            print("%s over minutes %g-%g (%d samples, %d events): min %.1f MiB, max %.1f MiB, (max-min)/min = %.1f%% "
                  "(limit %.0f%%: %s), growth %s bytes per event (least squares)"
                  % (name, lo, hi, len(window), window[-1]["head"] - window[0]["head"], min(q) / 1024.0,
                     max(q) / 1024.0, flat * 100, args.flat_limit * 100,
                     "flat" if flat <= args.flat_limit else "NOT flat", "n/a" if slope is None else "%.0f" % slope))
    return 0




def owner_bound(text):
    owner, _, value = text.partition("=")
    if not owner or not value:
        raise argparse.ArgumentTypeError("want OWNER=BYTES, e.g. anon=512")
    return owner, float(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--acct", required=True, help="the acct binary")
    common.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    common.add_argument("--seed", type=int, help="seed of every random choice (default: a fresh one, printed)")
    common.add_argument("--keep", action="store_true", help="keep the data folder")
    lp = sub.add_parser("loop", parents=[common], help="SIGKILL / restart / check, repeated")
    lp.add_argument("--iterations", type=int, default=20)
    lp.add_argument("--min-kill-ms", type=float, default=20.0, help="earliest kill after the first reply")
    lp.add_argument("--max-kill-ms", type=float, default=1200.0, help="latest kill after the first reply")
    lp.add_argument("--max-commands", type=int, default=5000, help="per client and iteration")
    lp.add_argument("--client-seconds", type=float, default=30.0, help="clients stop this long after the kill moment")
    ld = sub.add_parser("load", parents=[common], help="steady load with RSS samples")
    ld.add_argument("--minutes", type=float, default=10.0)
    ld.add_argument("--sample-seconds", type=float, default=5.0)
    ld.add_argument("--rss-growth-mib", type=float, default=64.0)
    ld.add_argument("--rss-bytes-per-event", type=int, default=256)
    ld.add_argument("--warm-up", type=float, default=0.2, help="fraction of the run before the bounds apply")
    ld.add_argument("--max-bytes-per-event", type=owner_bound, action="append", metavar="SERIES=BYTES",
                    help="fail if SERIES (rss, anon, or an owner of acct_memory_bytes) grows faster than BYTES per "
                         "event after the warm-up, by least squares; repeatable")
    ld.add_argument("--samples-out", help="write every sample as a JSON line to this file")
    ld.add_argument("--max-users", type=int, default=0,
                    help="once the partner has this many users, CreateUser gives way to ResetPassword "
                         "(0: users are created all run long)")
    ld.add_argument("--settle-seconds", type=float, default=0.0,
                    help="after each quiet sample, wait this long with nothing running and sample the RSS again "
                         "(\"settled\": after the server's periodic trims and releases)")
    ld.add_argument("--serve-arg", action="append", help="an extra argument of acct serve; repeatable")
    rp = sub.add_parser("report", help="a --samples-out file as a table, and its flatness")
    rp.add_argument("--samples", required=True)
    rp.add_argument("--window", type=float, nargs=2, default=[30, 60], metavar=("FROM", "TO"),
                    help="minutes over which the quiet RSS must be flat")
    rp.add_argument("--flat-limit", type=float, default=0.05, help="(max - min) / min over the window")
    args = parser.parse_args()
    if args.mode == "report":
        return cmd_report(args)
    if not os.access(args.acct, os.X_OK):
        print("not an executable: %s" % args.acct, file=sys.stderr)
        return 2
    if args.clients < 1:
        print("--clients must be at least 1", file=sys.stderr)
        return 2
    return cmd_loop(args) if args.mode == "loop" else cmd_load(args)


if __name__ == "__main__":
    sys.exit(main())
