#!/usr/bin/env python3
"""Load benchmark of `seatmeter serve`, on loopback, with wrk.

For each database (SQLite always; PostgreSQL when --postgres names a
server) it starts a release server on a fresh database, sets up an account
(hosts with a year of imported history, 2,000 scheduled meetings, some of
them running), then measures with wrk:

  (a) the admission check, GET /v1/meetings/{id}/admission, against the
      server's own no-op endpoint GET /livez in the same run: requests/s
      and p50/p99 latency at 64 connections;
  (b) event ingestion, POST /v1/events in batches of 1,000 new events:
      events/s with 8 senders (the target's figure), then with 4. Every
      batch is committed before its answer; afterwards the script counts
      the stored events in the database itself.

It prints the figures, the ratios, and whether each target is met:
admission >= 40% of the no-op endpoint's throughput with p99 < 5 ms;
ingestion >= 50,000 events/s on SQLite and >= 20,000 on PostgreSQL.
"""

import argparse
import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The binary measured: this checkout's release build, or another one named by
# SEATMETER_BIN (to measure two versions with the same script).
BIN = Path(os.environ.get("SEATMETER_BIN") or ROOT / "target" / "release" / "seatmeter")
WRK = ROOT / "bench" / "wrk"


def seatmeter(*args):
    done = subprocess.run([str(BIN), *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"seatmeter {' '.join(args)} failed:\n{done.stderr}")
    return done


class Server:
    log = None  # a file to copy the server's log to (--server-log)

    def __init__(self, place):
        self.process = subprocess.Popen(
            [str(BIN), "serve", "--listen", "127.0.0.1:0", *place],
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in self.process.stderr:
            if "is listening on http://" in line:
                self.address = line.split("http://")[1].split()[0]
                break
        else:
            sys.exit("the server stopped before listening")
        def drain():
            out = open(Server.log, "a") if Server.log else None
            for line in self.process.stderr:
                if out:
                    out.write(line)
            if out:
                out.close()

        threading.Thread(target=drain, daemon=True).start()
        host, port = self.address.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port))

    def call(self, method, path, token, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        return response.status, (json.loads(text) if text.startswith(("{", "[")) else text)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def set_up(place, work, hosts, history):
    created = seatmeter("account", "create", "--name", "Load", "--admin-email", "admin@example.com", *place).stdout
    token = next(w for w in created.split() if w.startswith("smt_"))
    account = created.split("(")[1].split(")")[0]
    log = work / "history.csv"
    seatmeter("generate-log", "--meetings", str(history), "--hosts", str(hosts), "--days", "365", "--output", str(log))
    seatmeter("import", "--account", account, "--meetings", str(log), "--create-users", "--quiet", *place)
    server = Server(place)
    status, users = server.call("GET", "/v1/users", token)
    assert status == 200, users
    host_ids = [u["id"] for u in users if u["role"] == "member"]
    meetings = []
    for i in range(2000):
        status, meeting = server.call("POST", "/v1/meetings", token, {"title": f"m{i}", "host_user_id": host_ids[i % len(host_ids)]})
        assert status == 201, meeting
        meetings.append(meeting["id"])
    # Half of the hosts run a meeting now, so admission finds meetings running.
    for meeting in meetings[: len(host_ids) // 2]:
        status, answer = server.call("POST", f"/v1/meetings/{meeting}/start", token)
        assert status == 200, answer
    (work / "livez.txt").write_text("/livez\n")
    (work / "admission.txt").write_text("".join(f"/v1/meetings/{m}/admission\n" for m in meetings))
    (work / "meetings.txt").write_text("".join(f"{m}\n" for m in meetings))
    return server, token


def wrk(address, script, args, connections, seconds, threads=2):
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s",
        "-s", str(WRK / script), f"http://{address}", "--", *args,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    text = out.stdout
    if out.stderr.strip():
        print(out.stderr.strip(), file=sys.stderr)

    def latency(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests, duration = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text).group(1, 2)
    unit = re.search(r"\d+ requests in [\d.]+(ms|s|m)", text).group(1)
    duration = float(duration) * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    failed = re.search(r"failed_batches (\d+)", text)
    return {
        "requests": int(requests),
        "seconds": duration,
        "rps": int(requests) / duration,
        "p50": latency("50"),
        "p99": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "failed_batches": int(failed.group(1)) if failed else 0,
    }


def stored_events(backend, place):
    if backend == "sqlite":
        with sqlite3.connect(Path(place[1]) / "seatmeter.db") as db:
            return db.execute("SELECT COUNT(*) FROM meeting_events").fetchone()[0]
    out = subprocess.run(["psql", place[1], "-tAc", "SELECT COUNT(*) FROM meeting_events"], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def bench(backend, place, work, args):
    server, token = set_up(place, work, args.hosts, args.history)
    try:
        before = stored_events(backend, place)
        noop = wrk(server.address, "get.lua", [str(work / "livez.txt"), token], 64, args.seconds)
        # The first seconds of admission checks read every meeting from the
        # database; measured apart, then the steady state.
        cold = wrk(server.address, "get.lua", [str(work / "admission.txt"), token], 64, args.warm_up)
        admission = wrk(server.address, "get.lua", [str(work / "admission.txt"), token], 64, args.seconds)
        # The first number of senders is the one the target is judged on;
        # the others are reported beside it.
        ingestion = [
            wrk(server.address, "events.lua", [str(work / "meetings.txt"), token, f"r{run}"], c, args.seconds)
            for run, c in enumerate(args.ingest_connections)
        ]
        stored = stored_events(backend, place) - before
    finally:
        server.stop()
    return {
        "noop": noop,
        "cold": cold,
        "admission": admission,
        "ingestion": ingestion,
        "events_per_second": ingestion[0]["requests"] * 1000 / ingestion[0]["seconds"],
        "events_sent": sum(i["requests"] for i in ingestion) * 1000,
        "events_stored": stored,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--warm-up", type=int, default=3, help="seconds of admission checks before measuring them")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--history", type=int, default=20000, help="meetings imported before measuring")
    parser.add_argument(
        "--ingest-connections",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[8, 4],
        help="senders of event batches, comma-separated; the target is judged on the first (default 8,4)",
    )
    parser.add_argument("--postgres", help="postgres://… of a server to create a fresh database on")
    parser.add_argument("--server-log", help="append the servers' logs to this file")
    args = parser.parse_args()
    Server.log = args.server_log

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "sqlite").mkdir()
        results["sqlite"] = bench("sqlite", ["--data-dir", str(work / "sqlite")], work, args)
        if args.postgres:
            name = f"seatmeter_bench_{int(time.time())}"
            subprocess.run(["psql", args.postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
            url = args.postgres.split("?")[0].rsplit("/", 1)[0] + "/" + name
            try:
                results["postgres"] = bench("postgres", ["--database-url", url], work, args)
            finally:
                subprocess.run(["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)

    ok = True
    print()
    print(f"{'database':<10} {'endpoint':<28} {'requests/s':>12} {'p50 ms':>8} {'p99 ms':>8}")
    for backend, r in results.items():
        rows = [
            ("GET /livez (no-op)", r["noop"]),
            ("GET …/admission, first s", r["cold"]),
            ("GET …/admission", r["admission"]),
        ]
        rows += [
            (f"POST /v1/events (1,000) ×{c}", m) for c, m in zip(args.ingest_connections, r["ingestion"])
        ]
        for label, m in rows:
            print(f"{backend:<10} {label:<28} {m['rps']:>12,.0f} {m['p50']:>8.2f} {m['p99']:>8.2f}")
    print()
    for backend, r in results.items():
        ratio = r["admission"]["rps"] / r["noop"]["rps"]
        p99 = r["admission"]["p99"]
        floor = 50000 if backend == "sqlite" else 20000
        checks = [
            (f"admission throughput {ratio:.0%} of the no-op endpoint (target >= 40%)", ratio >= 0.40),
            (f"admission p99 {p99:.2f} ms (target < 5 ms)", p99 < 5.0),
            (
                f"ingestion {r['events_per_second']:,.0f} events/s with {args.ingest_connections[0]} senders "
                f"(target >= {floor:,})",
                r["events_per_second"] >= floor,
            ),
            (
                f"events stored {r['events_stored']:,} = events acknowledged {r['events_sent']:,}",
                r["events_stored"] >= r["events_sent"] and all(i["failed_batches"] == 0 for i in r["ingestion"]),
            ),
            (
                "no error answers",
                sum(m["non_2xx"] for m in [r["noop"], r["cold"], r["admission"], *r["ingestion"]]) == 0,
            ),
        ]
        for text, passed in checks:
            ok &= passed
            print(f"{backend:<10} {'met ' if passed else 'MISSED'} {text}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
