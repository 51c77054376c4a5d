#!/usr/bin/env python3
"""Two builds (or two settings of one) compared on one scenario, in interleaved runs on
one store, for changes too small for `make bench` to show on a noisy machine
(docs/PERFORMANCE.md, "Comparing two builds").

usage: bench/ab.py [--pairs N] [--seconds S] [--max-rate R] [--conns C] [--work DIR]
                   S1|S2|S3|S6 A B

A and B are each a binary, optionally followed by server options and environment
settings, separated by commas: `build-bench/actionlinks`,
`/tmp/old/actionlinks,--io-threads,1`, `build-bench/actionlinks,AL_X=1`. The store is
seeded once (as bench/run.py seeds S1, S2 and S3: `Ui` links for S2, `Api` links to a
local nginx sink for S3, fresh links for every run; S6 POSTs run.py's group of three
links) and each run starts its own server on
it (`--store-per-side`: one store for each, seeded alike, for builds with different
schemas). Pairs alternate their order (A B, B A, A B, ...), so that a drift of the machine's
speed falls on both sides. Each run prints its rate (S1 and S2: good answers per second;
S3: executions completed within the run's window), the server's CPU per request by
thread (I/O, writer, engines, dispatcher, other), the writer's time on a CPU and waiting
for one (from schedstat), the writes per commit (from the server's log at exit) and the
machine's idle time; the end prints each side's mean and range and B's ratio to A.
Every answer is checked (scenario.lua); a run with errors stops the comparison.
"""
import argparse
import collections
import json
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import seed  # noqa: E402

THREAD_CLASS = {"MHD-single": "io", "al-writer": "writer", "al-callouts": "engines",
                "al-dispatch": "dispatch"}


def parse_side(text):
    parts = text.split(",")
    binary, opts, env = os.path.abspath(parts[0]), [], {}
    for p in parts[1:]:
        if "=" in p and not p.startswith("-"):
            k, v = p.split("=", 1)
            env[k] = v
        else:
            opts.append(p)
    if not os.access(binary, os.X_OK):
        raise SystemExit("not an executable: %s" % binary)
    return {"label": text, "binary": binary, "opts": opts, "env": env}


def threads(pid):
    """{tid: (class, cpu jiffies, ns on a CPU, ns waiting for one)} of a process."""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                st = f.read()
            with open("%s/%s/schedstat" % (base, tid)) as f:
                on_cpu, waiting = [int(x) for x in f.read().split()[:2]]
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fields = st.rsplit(")", 1)[1].split()
        out[tid] = (THREAD_CLASS.get(comm, "other"), int(fields[11]) + int(fields[12]),
                    on_cpu, waiting)
    return out


def idle_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[3] + v[4], sum(v[:8])


def writes_per_commit(logpath):
    commits = writes = 0
    with open(logpath, errors="replace") as f:
        for line in f:
            if '"writer: ' in line and " commits of " in line:
                msg = json.loads(line)["msg"].split()
                commits, writes = int(msg[1]), int(msg[4])
    return writes / commits if commits else 0.0


class Store:
    def __init__(self, args, binary, work, name):
        self.args, self.work = args, work
        self.db = os.path.join(work, name + ".db")
        self.ident = seed.create(binary, self.db)
        self.per_run = args.max_rate * args.seconds
        self.next = 0
        runs = 2 * args.pairs
        t = time.time()
        if args.scenario == "S1":
            seed.links(self.db, self.ident, run.S1_FIRST, run.S1_COUNT, 2, seed.S1_GROUP)
        elif args.scenario == "S6":
            self.body = os.path.join(work, "group.json")
            with open(self.body, "w") as f:
                json.dump(run.s6_group(), f)
        elif args.scenario == "S2":
            seed.links(self.db, self.ident, run.S2_FIRST, self.per_run * runs, 1, seed.JOIN)
        else:
            seed.links(self.db, self.ident, run.S3_FIRST, self.per_run * runs, 1,
                       seed.sink_group("http://127.0.0.1:%d/sink" % args.sink_port))
        seed.checkpoint(self.db)
        run.log("store seeded in %.1f s" % (time.time() - t))

    def slice(self):
        first = (run.S2_FIRST if self.args.scenario == "S2" else run.S3_FIRST) + self.next
        self.next += self.per_run
        return first


def one_run(args, wrk, store, side, n):
    os.environ.update(side["env"])
    try:
        server = run.Server(side["binary"], store.db,
                            ["--allow-http-callouts", "--callout-allow", "127.0.0.1/32",
                             "--callout-per-host", "64"] + side["opts"],
                            "server-%d" % n, store.work).start(120)
    finally:
        for k in side["env"]:
            del os.environ[k]
    tok = store.ident["token"]
    if args.scenario == "S1":
        sizes = []
        for i in range(4):
            st, body = run.http("GET", "%s%s/connect/action-links/0An%012d" % (
                server.url, run.API, run.S1_FIRST + i), tok)
            if st != 200:
                raise SystemExit("S1 probe: %d %s" % (st, body))
            sizes.append(len(body.encode()))
        mode = ["get", tok, run.S1_FIRST, run.S1_COUNT, min(sizes) - 8, max(sizes) + 8]
        run.warm_file(store.db)  # the file in the page cache, then the links' first reads
        wrk.wrk(server.url, mode, 2, args.conns)  # (neither counted)
    elif args.scenario == "S6":
        mode = ["post", tok, store.body]
    else:
        first = store.slice()
        mode = ["patch", tok, first, store.per_run,
                "SuccessfulStatus" if args.scenario == "S2" else "PendingStatus"]
    t0 = threads(server.pid)
    i0 = idle_jiffies()
    w0 = time.time()
    res = wrk.wrk(server.url, mode, args.seconds, args.conns)
    w1 = time.time()
    errors, count = res["errors"], res["good"]
    if args.scenario == "S3":
        lo, hi = "0Ag%012d" % first, "0Ag%012d" % (first + store.per_run)
        for _ in range(600):
            if run.sql(store.db, "SELECT count(*) FROM executions WHERE group_id >= ? AND "
                       "group_id < ? AND status = 1", (lo, hi))[0][0] == 0:
                break
            time.sleep(0.2)
        count, failed = run.sql(
            store.db, "SELECT count(*) FILTER (WHERE modified_ms <= ?), "
            "count(*) FILTER (WHERE status <> 2) FROM executions WHERE group_id >= ? "
            "AND group_id < ?", (int(w1 * 1000), lo, hi))[0]
        errors += failed
    t1 = threads(server.pid)
    i1 = idle_jiffies()
    server.stop()
    if errors:
        raise SystemExit("run %d (%s): %d errors: %s" % (n, side["label"], errors,
                                                         res.get("first_bad", "")))
    secs = w1 - w0 if args.scenario == "S3" else res["seconds"]
    done = res["good"]  # requests answered: the CPU is per request
    cpu = collections.defaultdict(float)
    writer_on = writer_wait = 0.0
    for tid, (cls, jif, on, wait) in t1.items():
        a = t0.get(tid, (cls, 0, 0, 0))
        cpu[cls] += (jif - a[1]) / run.HZ * 1e6 / max(done, 1)
        if cls == "writer":
            writer_on += (on - a[2]) / 1e9 / (w1 - w0)
            writer_wait += (wait - a[3]) / 1e9 / (w1 - w0)
    return {"rate": count / secs, "cpu": dict(cpu), "total": sum(cpu.values()),
            "writer_on": writer_on, "writer_wait": writer_wait,
            "batch": writes_per_commit(server.logpath),
            "idle": (i1[0] - i0[0]) / max(i1[1] - i0[1], 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", choices=("S1", "S2", "S3", "S6"))
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--max-rate", type=int, default=50_000,
                    help="links seeded per second of a run (S2, S3)")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--work", help="directory for the store and logs (default: a new one)")
    ap.add_argument("--store-per-side", action="store_true",
                    help="a store for each side, seeded alike (builds of different schemas)")
    args = ap.parse_args()
    sides = [parse_side(args.a), parse_side(args.b)]
    run.raise_nofile()
    work = args.work or tempfile.mkdtemp(prefix="al-ab-")
    os.makedirs(work, exist_ok=True)
    run.log("work directory %s" % work)
    args.sink_port = run.free_port()
    stores = [Store(args, sides[0]["binary"], work, "a")]
    stores.append(Store(args, sides[1]["binary"], work, "b") if args.store_per_side
                  else stores[0])
    nginx = None
    if args.scenario == "S3":
        nginx = run.Nginx(work, "{}", args.sink_port).start()
    wrk = run.Bench(argparse.Namespace(duration=args.seconds, warmup=0))
    results = ([], [])
    try:
        n = 0
        for p in range(args.pairs):
            for s in ((0, 1) if p % 2 == 0 else (1, 0)):
                n += 1
                r = one_run(args, wrk, stores[s], sides[s], n)
                results[s].append(r)
                run.log("%-2s %9.0f/s  server %5.1f us (%s)  writer on CPU %2.0f%%, waiting "
                        "%2.0f%%  %4.1f writes/commit  idle %2.0f%%" % (
                            "AB"[s], r["rate"], r["total"],
                            " ".join("%s %.1f" % kv for kv in sorted(r["cpu"].items())
                                     if kv[1] >= 0.05),
                            100 * r["writer_on"], 100 * r["writer_wait"], r["batch"],
                            100 * r["idle"]))
    finally:
        if nginx:
            nginx.stop()
    mean = [sum(r["rate"] for r in rs) / len(rs) for rs in results]
    cpu = [sum(r["total"] for r in rs) / len(rs) for rs in results]
    ahead = sum(b["rate"] > a["rate"] for a, b in zip(*results))
    for s in (0, 1):
        rates = [r["rate"] for r in results[s]]
        run.log("%s: %.0f/s (%.0f–%.0f), server %.1f us per request  %s" % (
            "AB"[s], mean[s], min(rates), max(rates), cpu[s], sides[s]["label"]))
    run.log("B/A: rate %.3f, server CPU per request %.3f; B ahead in %d of %d pairs" % (
        mean[1] / mean[0], cpu[1] / cpu[0], ahead, args.pairs))


if __name__ == "__main__":
    main()
