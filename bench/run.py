#!/usr/bin/env python3
"""`make bench`: measures actionlinks against the fastest things on the same machine.

Builds nothing itself except the small anchors (bench/*.c, gcc -O2); `make bench` builds
the optimised server into build-bench first. Seeds fresh databases, starts the anchors
(nginx: the same JSON from memory with `return 200`, as a static file, and a callout
sink; a bare SQLite loop; a bare libcurl-multi loop), runs every scenario with wrk
(-t1 -c64, 10 s, 3 interleaved rounds, median), and prints one table: scenario, our
figure, the anchor's, the ratio, the target, pass/fail. The table is appended to
bench/RESULTS.md with the date, commit and machine.

Each HTTP target gets --warmup seconds of its requests before the first round, and S1
before each of its rounds (the others' writes in between empty the server's kept
executions). Every figure is a ratio to an anchor measured in the same run, or a count. A run is
retried (up to --retries times) when other processes used more than 10% of the run's
CPU time (from /proc/stat minus the CPU of the processes being measured).

usage: bench/run.py [--quick] [--only S1,S2,...] [--bin PATH] [--no-record]
Python standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in bench/
import seed  # noqa: E402

API = "/services/data/v66.0"
HZ = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024

# Link-number ranges (see seed.py) of the main database.
S1_FIRST, S1_COUNT = 1_000_000, 100_000        # 50,000 groups: an Api and a Ui link each
S2_FIRST = 10_000_000                          # Once groups with one Ui link, used once each
S3_FIRST = 40_000_000                          # Once groups with one Api link to the sink
S5_FIRST = 90_000_000                          # Once groups with one Ui link, seen by all
S4_LINKS, S4_EXECUTIONS = 10_000_000, 1_000_000


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def warm_file(path):
    """Reads a file once so that it is in the OS page cache. This VM keeps only about
    3 GiB of page cache, less than the main and S4 stores together: without this, S4
    would measure the disk, not the server."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 * MIB):
            pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------------------------------
# CPU accounting

def stat_cpu():
    """(busy jiffies without softirq, total jiffies) of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + steal, sum(v[:8])


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in jiffies; 0 if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def proc_status(pid, key):
    """A /proc/PID/status value in bytes (VmRSS, VmHWM); -1 if unavailable."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return -1


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


QUIET_WAIT = [180.0]


def wait_quiet(threshold=0.15):
    """Waits (up to --quiet-wait seconds) until the machine is less than 15% busy over
    one second."""
    t_start = time.time()
    said = False
    while True:
        b0, t0 = stat_cpu()
        time.sleep(1.0)
        b1, t1 = stat_cpu()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy < threshold or time.time() - t_start > QUIET_WAIT[0]:
            if said:
                log("  (waited %.0f s for a quiet box; now %.0f%% busy)" % (
                    time.time() - t_start, busy * 100))
            return busy
        if not said and time.time() - t_start > 5:
            log("  waiting for a quiet box (%.0f%% busy)" % (busy * 100))
            said = True


def run_child(cmd, **kw):
    """Runs cmd to completion; returns (returncode, stdout, stderr, cpu seconds)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    out_chunks, err_chunks = [], []
    t_out = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()))
    t_err = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()))
    t_out.start()
    t_err.start()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    t_out.join()
    t_err.join()
    return p.returncode, "".join(out_chunks), "".join(err_chunks), ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------------------
# Processes under test

class Server:
    """One actionlinks serve process."""

    def __init__(self, binary, db, extra=(), name="server", logdir=".", wrapper=()):
        self.binary, self.db, self.extra, self.name = binary, db, list(extra), name
        self.wrapper = list(wrapper)
        self.logpath = os.path.join(logdir, name + ".log")
        self.proc = None

    def start(self, timeout=60):
        self.log = open(self.logpath, "a")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.wrapper + self.command(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, errors="replace", preexec_fn=raise_nofile)
        ready = threading.Event()
        self.port = None
        self.start_s = None

        def read():
            for line in self.proc.stderr:
                if self.port is None and line.startswith("listening on http://"):
                    self.start_s = time.monotonic() - t0
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    ready.set()
                self.log.write(line)
            ready.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not ready.wait(timeout) or self.port is None:
            self.proc.kill()
            raise RuntimeError("%s did not start; see %s" % (self.name, self.logpath))
        self.pid = self.proc.pid
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    def command(self):
        return [self.binary, "serve", "--db", self.db, "--listen", "127.0.0.1:0"] + self.extra

    def pids(self):
        return [self.pid]

    def stop(self):
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        self.log.close()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Floor(Server):
    """bench/patch_floor.c on a fresh store: libmicrohttpd and a SQLite group commit
    alone, what every durable PATCH costs at the least (no target; docs/PERFORMANCE.md,
    "The floor of a PATCH")."""

    def __init__(self, exe, db, body, logdir):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        super().__init__(exe, db, [body], "patch-floor", logdir)

    def command(self):
        return [self.binary, self.db] + self.extra


class Nginx:
    def __init__(self, workdir, body, sink_port):
        self.prefix = os.path.join(workdir, "nginx")
        shutil.rmtree(self.prefix, ignore_errors=True)
        os.makedirs(os.path.join(self.prefix, "static"))
        os.chmod(self.prefix, 0o755)
        with open(os.path.join(self.prefix, "static", "link.json"), "w") as f:
            f.write(body)
        os.chmod(os.path.join(self.prefix, "static"), 0o755)
        os.chmod(os.path.join(self.prefix, "static", "link.json"), 0o644)
        if "$" in body:
            raise RuntimeError("the body has a '$', which nginx's return would expand")
        self.port_return, self.port_static, self.port_sink = free_port(), free_port(), sink_port
        with open(os.path.join(HERE, "nginx.conf.in")) as f:
            conf = f.read()
        conf = (conf.replace("@PREFIX@", self.prefix)
                .replace("@PORT_RETURN@", str(self.port_return))
                .replace("@PORT_STATIC@", str(self.port_static))
                .replace("@PORT_SINK@", str(self.port_sink))
                .replace("@BODY@", body.replace("\\", "\\\\").replace("'", "\\'")))
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def start(self):
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", self.prefix, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     preexec_fn=raise_nofile)
        for port in (self.port_return, self.port_static, self.port_sink):
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if self.proc.poll() is not None:
                        raise RuntimeError("nginx failed: " + self.proc.stderr.read().decode())
                    time.sleep(0.05)
        return self

    def pids(self):
        return [self.proc.pid] + children_of(self.proc.pid)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------
# One measured run, with contention retries

class Bench:
    def __init__(self, args):
        self.args = args
        self.duration = args.duration
        self.warmup = args.warmup
        self.results = {}     # key -> list of per-round dicts
        self.noisy = {}       # key -> runs kept although the box was busy
        self.profiler = None

    def measured(self, key, fn, pids_fn, can_retry=lambda: True, prep=None):
        """Runs fn() (which returns a dict with at least "rate") again while the other
        processes on the box used more than 10% of one core during the run (1 CPU-s of a
        10-second run, as in DEPENDENCIES §4), at most --retries times."""
        for attempt in range(self.args.retries + 1):
            if prep:
                prep()
            wait_quiet()
            pids = pids_fn()
            c0 = {p: proc_cpu(p) for p in pids}
            b0, _ = stat_cpu()
            t0 = time.monotonic()
            prof = self.profiler.start(key, pids) if self.profiler else None
            r = fn()
            if prof:
                self.profiler.stop(prof)
            wall = time.monotonic() - t0
            b1, _ = stat_cpu()
            server = sum(proc_cpu(p) - c0[p] for p in c0)
            other = max(0.0, (b1 - b0 - server) / HZ - r.pop("_child_cpu", 0))
            r["other_cpu_s"] = round(other, 2)
            r["server_cpu_s"] = round(server / HZ, 2)
            busy = other > 0.1 * wall
            if not busy or attempt == self.args.retries or not can_retry():
                if busy:
                    self.noisy[key] = self.noisy.get(key, 0) + 1
                r["attempts"] = attempt + 1
                self.results.setdefault(key, []).append(r)
                log("  %-14s %10.0f /s  (other CPU %.2f s, attempt %d) %s" % (
                    key, r["rate"], other, attempt + 1, r.get("note", "")))
                return r
            log("  %-14s busy box (other processes used %.2f CPU-s); retrying" % (key, other))

    def wrk(self, url, mode_args, duration=None, conns=64):
        d = duration or self.duration
        cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % d, "--timeout", "10s",
               "-s", os.path.join(HERE, "scenario.lua"), url, "--"] + [str(a) for a in mode_args]
        rc, out, err, cpu = run_child(cmd)
        m = re.search(r"^BENCH (\{.*\})$", out, re.M)
        if rc != 0 or not m:
            raise RuntimeError("wrk failed (%d): %s %s" % (rc, out, err))
        r = json.loads(m.group(1))
        r["seconds"] = r["duration_us"] / 1e6
        r["rate"] = r["good"] / r["seconds"]
        r["errors"] = (r["bad"] + r["connect_errors"] + r["read_errors"] + r["write_errors"]
                       + r["timeouts"])
        r["_child_cpu"] = cpu
        r["note"] = "p99 %.1f ms%s" % (r["p99_us"] / 1000, ", %d errors: %s" % (
            r["errors"], r["first_bad"]) if r["errors"] else "")
        return r



# ---------------------------------------------------------------------------------------
# Profiling (bench/profile.sh): perf record of the server during one scenario's run, or,
# where perf cannot run, the server under valgrind's callgrind for that run.

def perf_usable():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "record", "-q", "-o", "/dev/null", "--", "true"],
                       capture_output=True)
    return r.returncode == 0


class Profiler:
    def __init__(self, key, work, tool, binary):
        self.key, self.work, self.tool, self.binary = key, work, tool, binary
        self.server_pids = set()
        self.data = os.path.join(work, "perf-%s.data" % key.replace(" ", "_"))
        self.callgrind_out = os.path.join(work, "callgrind-%s.out" % key.replace(" ", "_"))

    def wrapper(self):
        if self.tool != "callgrind":
            return []
        return ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + self.callgrind_out]

    def start(self, key, pids):
        if key != self.key or self.tool != "perf":
            return None
        ps = [p for p in pids if p in self.server_pids]
        if not ps:
            return None
        log("  perf record -g on pid %s" % ",".join(map(str, ps)))
        # DWARF unwinding: neither the Release build nor Debian's libraries keep frame
        # pointers, so -g (frame pointers) would lose every caller
        return subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384",
                                 "-q", "-o", self.data,
                                 "-p", ",".join(map(str, ps))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, proc):
        proc.send_signal(signal.SIGINT)
        proc.wait(60)

    def report(self):
        if self.tool == "perf":
            if not os.path.exists(self.data):
                log("no profile was taken for %s" % self.key)
                return
            print("\n== %s: where the server's CPU time goes, by function (self time) ==" %
                  self.key)
            out = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--no-children",
                                  "-g", "none", "--percent-limit", "0.7",
                                  "--sort", "dso,symbol"],
                                 capture_output=True, text=True).stdout
            print("\n".join(l for l in out.splitlines() if l and not l.startswith("#")))
            print("\n== %s: inclusive time of the server's own functions (with callees) ==" %
                  self.key)
            out = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--children",
                                  "-g", "none", "--sort", "symbol", "--percent-limit", "2"],
                                 capture_output=True, text=True).stdout
            keep = [l for l in out.splitlines() if l and not l.startswith("#")
                    and "] 0x0000" not in l and "[k]" not in l]
            print("\n".join(keep[:45]))
            print("\n== %s: by shared object ==" % self.key)
            out = subprocess.run(["perf", "report", "-i", self.data, "--stdio", "--no-children",
                                  "-g", "none", "--sort", "dso", "--percent-limit", "0.5"],
                                 capture_output=True, text=True).stdout
            print("\n".join(l for l in out.splitlines() if l and not l.startswith("#")))
            print("\n(full report: perf report -i %s --no-children)" % self.data)
        else:
            if not os.path.exists(self.callgrind_out):
                log("no callgrind output for %s" % self.key)
                return
            out = subprocess.run(["callgrind_annotate", "--inclusive=no", self.callgrind_out],
                                 capture_output=True, text=True).stdout
            print("\n".join(out.splitlines()[:60]))
            print("\n(full report: callgrind_annotate %s)" % self.callgrind_out)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------

def build_anchors(workdir):
    out = {}
    for name, pkgs in (("sqlite_loop", "sqlite3"), ("curl_loop", "libcurl"), ("sse_client", ""),
                       ("patch_floor", "libmicrohttpd sqlite3")):
        exe = os.path.join(workdir, name)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs"] + pkgs.split(),
                               capture_output=True, text=True, check=True).stdout.split() \
            if pkgs else []
        subprocess.run(["gcc", "-O2", "-g", "-Wall", "-Wextra", "-o", exe,
                        os.path.join(HERE, name + ".c")] + flags + ["-pthread"], check=True)
        out[name] = exe
    return out


def s6_group():
    """S6's group definition: an Api, a Ui and a Download link, expiring in 30 days."""
    exp = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30))
    return {"category": "Primary", "executionsAllowed": "OncePerUser",
            "expirationDate": exp.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "actionLinks": [
                {"actionType": "Api", "actionUrl": "https://api.example.com/orders/approve",
                 "method": "HttpPost", "labelKey": "Approve", "requiresConfirmation": True,
                 "headers": [{"name": "Content-Type", "value": "application/json"}],
                 "requestBody": '{"orderId":"A-17"}'},
                {"actionType": "Ui", "actionUrl": "https://example.com/orders/view",
                 "method": "HttpGet", "labelKey": "View", "requiresConfirmation": False},
                {"actionType": "Download", "actionUrl": "https://example.com/orders.pdf",
                 "method": "HttpGet", "labelKey": "Download", "requiresConfirmation": False}]}


def sql(db, query, args=()):
    import sqlite3
    c = sqlite3.connect(db, timeout=60)
    try:
        return c.execute(query, args).fetchall()
    finally:
        c.close()


def http(method, url, token=None, body=None):
    import urllib.request
    req = urllib.request.Request(url, method=method, data=body.encode() if body else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, nproc %d, %s, kernel %s" % (socket.gethostname(), os.cpu_count(), model,
                                            platform.release())


def commit():
    try:
        c = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
        return c + (" (src/ modified)" if dirty else "")
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-bench", "actionlinks"))
    ap.add_argument("--work", help="scratch directory (default build-bench/bench-work, or "
                    "build-bench/bench-prof with --profile)")
    ap.add_argument("--quick", action="store_true",
                    help="development run: 2 s per run, 1 round, small stores")
    ap.add_argument("--only", default="S1,S2,S3,S4,S5,S6")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--quiet-wait", type=float, default=180,
                    help="seconds to wait for a quiet box before each run")
    ap.add_argument("--streams", type=int, default=10000, help="S5 streams")
    ap.add_argument("--s5-users", type=int, default=100, help="S5: distinct users (tokens)")
    ap.add_argument("--s4-links", type=int)
    ap.add_argument("--reuse-s4", action="store_true",
                    help="keep the S4 database of an earlier run if it has the same size")
    ap.add_argument("--max-rate", type=int, default=40000,
                    help="S2/S3: links seeded per second of run (each is used once)")
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--profile", metavar="SCENARIO",
                    help="profile the server during one scenario (S1..S6) and print the top "
                         "functions; implies one short round, no record (bench/profile.sh)")
    ap.add_argument("--profile-tool", choices=("auto", "perf", "callgrind"), default="auto")
    args = ap.parse_args()
    if args.profile:
        args.profile = args.profile.upper()
        args.only = args.profile + (",S1" if args.profile in ("S4", "S6") else "")
        args.no_record = True
        args.rounds = args.rounds or 1
        args.retries = 0
        args.quiet_wait = 0
        args.streams = args.streams if args.profile == "S5" else args.streams
        if args.profile_tool == "auto":
            args.profile_tool = "perf" if perf_usable() else "callgrind"
        if args.profile_tool == "callgrind":
            args.duration = args.duration or 3
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.duration = args.duration or (2 if args.quick else 10)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.s4_links = args.s4_links or (1_000_000 if args.quick else S4_LINKS)
    only = set(args.only.upper().split(","))
    QUIET_WAIT[0] = args.quiet_wait
    raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit("no server binary at %s (make bench builds it)" % binary)
    args.work = args.work or os.path.join(ROOT, "build-bench",
                                          "bench-prof" if args.profile else "bench-work")
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)
    work = args.work
    anchors = build_anchors(work)
    b = Bench(args)
    if args.profile:
        b.profiler = Profiler(args.profile, work, args.profile_tool, binary)
    started = datetime.datetime.now(datetime.timezone.utc)
    procs = []
    try:
        rows = run_all(b, args, only, binary, work, anchors, procs)
    finally:
        for p in reversed(procs):
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001
                log("stopping %s: %s" % (p, e))
    table = render(rows, b, args)
    print(table)
    if b.profiler:
        b.profiler.report()
    if not args.no_record:
        record(table, args, started)


# ---------------------------------------------------------------------------------------

def run_all(b, args, only, binary, work, anchors, procs):
    D, R, W = args.duration, args.rounds, args.warmup
    per_run = args.max_rate * D           # S2/S3 links one run may consume
    main_db = os.path.join(work, "main.db")
    log("seeding %s" % main_db)
    ident = seed.create(binary, main_db)
    t = time.time()
    seed.links(main_db, ident, S1_FIRST, S1_COUNT, 2, seed.S1_GROUP)
    slices = R + min(2, args.retries)  # each run uses a fresh slice, retries too
    n_s2 = per_run * slices if "S2" in only else 0
    if n_s2:
        seed.links(main_db, ident, S2_FIRST, n_s2, 1, seed.JOIN)
    # The sink's URL is in the S3 links, so its port is chosen before nginx starts (nginx
    # needs the S1 answer as its body, which needs the server, which needs the store).
    sink_port = free_port()
    n_s3 = per_run * slices if "S3" in only else 0
    if n_s3:
        seed.links(main_db, ident, S3_FIRST, n_s3, 1,
                   seed.sink_group("http://127.0.0.1:%d/sink" % sink_port))
    if "S5" in only:
        seed.links(main_db, ident, S5_FIRST, R + 1, 1, seed.JOIN)
        s5_tokens = [ident["token"]] + seed.users_with_tokens(main_db, ident, args.s5_users - 1)
    seed.checkpoint(main_db)
    log("  main store seeded in %.1f s (S1 %d links, S2 %d, S3 %d)" % (
        time.time() - t, S1_COUNT, n_s2, n_s3))

    s4_db = os.path.join(work, "s4.db")
    if "S4" in only:
        marker = s4_db + ".seeded"
        want = "%d %d" % (args.s4_links, S4_EXECUTIONS if not args.quick else 100_000)
        have = open(marker).read() if os.path.exists(marker) else ""
        if args.reuse_s4 and have == want and os.path.exists(s4_db):
            log("reusing %s (%s)" % (s4_db, want))
            s4_ident = json.load(open(s4_db + ".ident"))
            # a fresh token: the old one may have expired
            tok = seed.admin(binary, s4_db, "token", "issue", "bench", "--app", "bench-app",
                             "--ttl", "86400")
            s4_ident["token"] = tok["access_token"]
        else:
            if os.path.exists(marker):
                os.unlink(marker)
            log("seeding %s: %d links, %s executions" % (s4_db, args.s4_links, want.split()[1]))
            t = time.time()
            s4_ident = seed.create(binary, s4_db)
            step = 1_000_000
            for first in range(0, args.s4_links, step):
                seed.links(s4_db, s4_ident, first, min(step, args.s4_links - first), 2, [
                    dict(type="Api", url="https://api.example.com/orders/approve",
                         method="Post", label="Approve",
                         headers=[["Content-Type", "application/json"]],
                         body='{"orderId":"A-17"}'),
                    dict(type="Ui", url="https://example.com/orders/view", method="Get",
                         label="View")])
            seed.executions(s4_db, s4_ident, 0, int(want.split()[1]), 2)
            seed.checkpoint(s4_db)
            with open(s4_db + ".ident", "w") as f:
                json.dump(s4_ident, f)
            with open(marker, "w") as f:
                f.write(want)
            log("  S4 store seeded in %.1f s (%.0f MiB)" % (
                time.time() - t, os.path.getsize(s4_db) / MIB))

    # ---- the servers
    prof = b.profiler
    wrap = lambda key: prof.wrapper() if prof and key == prof.key else []  # noqa: E731
    main_key = next((k for k in ("S1", "S2", "S3", "S6") if prof and k == prof.key), "")
    # S3: as many callouts in flight to the sink as the libcurl loop keeps (64)
    main = Server(binary, main_db, ["--allow-http-callouts", "--callout-allow", "127.0.0.1/32",
                                    "--callout-per-host", "64"],
                  "server-main", work, wrap(main_key)).start(600)
    procs.append(main)
    if prof:
        prof.server_pids.add(main.pid)
    log("server on %s (started in %.3f s)" % (main.url, main.start_s))
    tok = ident["token"]
    # The S1 answers: sizes of both link types, and the body nginx serves.
    sizes, body_ui = [], None
    for n in (S1_FIRST, S1_FIRST + 1, S1_FIRST + 2, S1_FIRST + 3):
        st, body = http("GET", "%s%s/connect/action-links/0An%012d" % (main.url, API, n), tok)
        if st != 200:
            raise RuntimeError("S1 probe: %d %s" % (st, body))
        sizes.append(len(body.encode()))
        if '"subtype":"Ui"' in body:
            body_ui = body
    s1_min, s1_max = min(sizes) - 8, max(sizes) + 8

    nginx = Nginx(work, body_ui, sink_port)
    nginx.start()
    procs.append(nginx)
    sink_url = "http://127.0.0.1:%d/sink" % sink_port
    st, _ = http("POST", sink_url, body=seed.CALLOUT_BODY)
    if st != 200:
        raise RuntimeError("sink answered %d" % st)

    s4 = None
    if "S4" in only:
        starts = []
        for _ in range(3):
            s4 = Server(binary, s4_db, [], "server-s4", work,
                        wrap("S4") if len(starts) == 2 else []).start(600)
            starts.append(s4.start_s)
            if len(starts) < 3:
                s4.stop()
        procs.append(s4)
        if prof:
            prof.server_pids.add(s4.pid)
        b.results["S4 start"] = [{"rate": median(starts), "all": starts}]
        log("S4 server on %s (start to listening: %s s)" % (
            s4.url, ", ".join("%.3f" % x for x in starts)))
        s4_tok = s4_ident["token"]
        st, body = http("GET", "%s%s/connect/action-links/0An%012d" % (s4.url, API, 0), s4_tok)
        if st != 200:
            raise RuntimeError("S4 probe: %d %s" % (st, body))
        st, body2 = http("GET", "%s%s/connect/action-links/0An%012d" % (
            s4.url, API, args.s4_links - 1), s4_tok)
        s4_sizes = [len(body.encode()), len(body2.encode())] + sizes
        s4_min, s4_max = min(s4_sizes) - 8, max(s4_sizes) + 400  # executingUser adds ~150

    def s4_args():
        """S4 is S1 (GETs of the 100,000 links of 50,000 groups) on the big store: the
        groups are spread evenly over all of it (one group in every 100 of the 5M, both
        of its links asked for, as in S1), so each sits in a different part of every
        B-tree. "S4 any" (no target: an extra figure) asks for any of the 10M instead."""
        stride = max(2, args.s4_links // (S1_COUNT // 2))
        return ["get", s4_tok, 0, min(S1_COUNT, args.s4_links), s4_min, s4_max, stride]

    group_body = os.path.join(work, "group.json")
    with open(group_body, "w") as f:
        json.dump(s6_group(), f)

    # ---- warm-up: every HTTP target once
    log("warm-up (%d s each)" % W)
    if W:
        if "S1" in only or "S4" in only or "S6" in only:
            b.wrk("http://127.0.0.1:%d" % nginx.port_return,
                  ["get", tok, S1_FIRST, S1_COUNT, s1_min, s1_max], W)
            b.wrk(main.url, ["get", tok, S1_FIRST, S1_COUNT, s1_min, s1_max], W)
        if s4:
            warm_file(s4_db)
            b.wrk(s4.url, s4_args(), W)

    s2_next = [S2_FIRST]
    s3_next = [S3_FIRST]
    s3_stats = {}

    def r_nginx(port):
        return lambda: b.wrk("http://127.0.0.1:%d" % port,
                             ["get", tok, S1_FIRST, S1_COUNT, s1_min, s1_max])

    def r_s1():
        return b.wrk(main.url, ["get", tok, S1_FIRST, S1_COUNT, s1_min, s1_max])

    def warm_s1():
        warm_file(main_db)
        if W:
            b.wrk(main.url, ["get", tok, S1_FIRST, S1_COUNT, s1_min, s1_max], W)

    def r_s4():
        return b.wrk(s4.url, s4_args())

    def r_s4_any():
        return b.wrk(s4.url, ["get", s4_tok, 0, args.s4_links, s4_min, s4_max])

    def r_sqlite():
        db = os.path.join(work, "sqlite_loop.db")
        for s in ("", "-wal", "-shm"):
            if os.path.exists(db + s):
                os.unlink(db + s)
        rc, out, err, cpu = run_child([anchors["sqlite_loop"], db, str(D)])
        r = json.loads(out)
        r["_child_cpu"] = cpu
        r["note"] = "%d commits" % r["ops"]
        return r

    def r_curl():
        rc, out, err, cpu = run_child([anchors["curl_loop"], sink_url, str(D), "64",
                                       seed.CALLOUT_BODY])
        r = json.loads(out)
        r["_child_cpu"] = cpu
        r["note"] = "%d errors" % r["errors"] if r["errors"] else ""
        return r

    def r_s2():
        first = s2_next[0]
        s2_next[0] += per_run
        r = b.wrk(main.url, ["patch", tok, first, per_run, "SuccessfulStatus"])
        stored = sql(main_db, "SELECT count(*) FROM executions WHERE group_id >= ? AND "
                     "group_id < ? AND status = 2",
                     ("0Ag%012d" % first, "0Ag%012d" % (first + per_run)))[0][0]
        r["stored"] = stored
        # requests still in flight when wrk stops are done by the server but not counted
        # by wrk: at most one per connection
        if not r["good"] <= stored <= r["good"] + 64:
            r["errors"] += abs(stored - r["good"])
            r["note"] += "; %d answered 200 but %d stored" % (r["good"], stored)
        if r["exhausted"]:
            r["note"] += "; ran out of links after %d (raise --max-rate)" % per_run
        return r

    floor = [None]
    floor_body = os.path.join(work, "floor-answer.json")
    floor_answer = body_ui.replace('"status":"NewStatus"', '"status":"SuccessfulStatus"')
    if floor_answer == body_ui:
        raise RuntimeError("the S1 answer has no NewStatus to make the floor's answer from")
    with open(floor_body, "w") as f:
        f.write(floor_answer)

    def start_floor():
        """A fresh floor for each run (the one before is stopped only now: its CPU time
        is read after the run)."""
        if floor[0]:
            floor[0].stop()
            procs.remove(floor[0])
        floor[0] = Floor(anchors["patch_floor"], os.path.join(work, "patch_floor.db"),
                         floor_body, work).start()
        procs.append(floor[0])

    def r_floor():
        """The floor, PATCHed as S2 (its rows are numbered from the link ids, any of
        which will do on its fresh store); every 200 must be a stored row."""
        r = b.wrk(floor[0].url, ["patch", tok, S2_FIRST, 10 ** 9, "SuccessfulStatus"])
        stored, commits = sql(floor[0].db, "SELECT count(*), (SELECT executions FROM epochs) "
                              "FROM executions")[0]
        r["note"] += "; %.1f writes per commit" % (stored / max(1, commits))
        if not r["good"] <= stored <= r["good"] + 64:
            r["errors"] += abs(stored - r["good"])
            r["note"] += "; %d answered 200 but %d stored" % (r["good"], stored)
        return r

    def r_s3():
        first = s3_next[0]
        s3_next[0] += per_run
        lo, hi = "0Ag%012d" % first, "0Ag%012d" % (first + per_run)
        t_start = int(time.time() * 1000)
        r = b.wrk(main.url, ["patch", tok, first, per_run, "PendingStatus"])
        t_end = int(time.time() * 1000)
        # wait for the callouts under way to finish (only to check them, not counted)
        deadline = time.time() + 120
        while time.time() < deadline:
            pending = sql(main_db, "SELECT count(*) FROM executions WHERE group_id >= ? AND "
                          "group_id < ? AND status = 1", (lo, hi))[0][0]
            if pending == 0:
                break
            time.sleep(0.5)
        drained = time.time() - t_end / 1000
        rows = dict(sql(main_db, "SELECT status, count(*) FROM executions WHERE group_id >= ? "
                        "AND group_id < ? GROUP BY status", (lo, hi)))
        in_window = sql(main_db, "SELECT count(*) FROM executions WHERE group_id >= ? AND "
                        "group_id < ? AND status = 2 AND modified_ms <= ?",
                        (lo, hi, t_end))[0][0]
        accepted = r["good"]
        r["accepted_rate"] = accepted / r["seconds"]
        r["rate"] = in_window / ((t_end - t_start) / 1000)
        r["completed_in_window"] = in_window
        r["successful"] = rows.get(2, 0)
        r["failed"] = rows.get(3, 0)
        r["stuck"] = rows.get(1, 0)
        r["drain_s"] = round(drained, 1)
        total = rows.get(2, 0) + rows.get(3, 0) + rows.get(1, 0)
        # at most one request per connection is done but not counted by wrk at the end
        bad = r["failed"] + r["stuck"] + (0 if accepted <= total <= accepted + 64
                                          else abs(total - accepted))
        r["errors"] += bad
        r["note"] = ("accepted %.0f/s, p99 %.1f ms; %d completed in the window, %d after "
                     "(drained in %.1f s); failed %d, stuck %d" % (
                         r["accepted_rate"], r["p99_us"] / 1000, in_window,
                         r["successful"] - in_window, drained, r["failed"], r["stuck"]))
        if r["exhausted"]:
            r["note"] += "; ran out of links (raise --max-rate)"
        return r

    def r_s6():
        return b.wrk(main.url, ["post", tok, group_body])

    main_pids = main.pids
    nginx_pids = nginx.pids
    plan = []
    if only & {"S1", "S4", "S6"}:
        plan += [("nginx return", r_nginx(nginx.port_return), nginx_pids),
                 ("nginx static", r_nginx(nginx.port_static), nginx_pids),
                 # the main store read back into the page cache first, as for S4: the
                 # S4 store's warm-up before evicts it on this VM (about 3 GiB of cache);
                 # then the same GETs for the warm-up's time, as before the first round:
                 # the rounds after it follow S2's and S3's writes on the same server,
                 # which empty its kept executions (50,000 scopes to read again)
                 ("S1", r_s1, main_pids, lambda: True, lambda: warm_s1())]
    if "S4" in only:
        plan.append(("S4", r_s4, s4.pids, lambda: True, lambda: warm_file(s4_db)))
    if "S2" in only:
        plan += [("sqlite loop", r_sqlite, lambda: []),
                 ("S2", r_s2, main_pids,
                  lambda: (S2_FIRST + n_s2 - s2_next[0]) // per_run > R - 1 - cur[0]),
                 ("S2 floor", r_floor, lambda: floor[0].pids(), lambda: True, start_floor)]
    if "S3" in only:
        plan += [("curl loop", r_curl, nginx_pids),
                 ("S3", r_s3, lambda: main.pids() + nginx.pids(),
                  lambda: (S3_FIRST + n_s3 - s3_next[0]) // per_run > R - 1 - cur[0])]
    if "S6" in only:
        plan.append(("S6", r_s6, main_pids))
    cur = [0]
    for rnd in range(R):
        cur[0] = rnd
        log("round %d/%d" % (rnd + 1, R))
        for key, fn, pids, *more in plan:
            b.measured(key, fn, pids, *more)
    if floor[0]:
        floor[0].stop()
        procs.remove(floor[0])
    b.results["S1 rss"] = [{"rate": proc_status(main.pid, "VmHWM")}]
    if s4:
        # once, after the rounds: GETs of any of the links push S4's 100,000 out of the
        # server's memory, and S4's next run would begin cold (its peak RSS counts)
        b.measured("S4 any", r_s4_any, s4.pids, lambda: True, lambda: warm_file(s4_db))
        b.results["S4 rss"] = [{"rate": proc_status(s4.pid, "VmHWM")}]
        s4.stop()
        procs.remove(s4)

    if "S5" in only:
        main.stop()
        procs.remove(main)
        run_s5(b, args, binary, main_db, work, anchors, procs, s5_tokens)
    return plan


def run_s5(b, args, binary, db, work, anchors, procs, tokens):
    log("S5: %d streams (%d users)" % (args.streams, len(tokens)))
    prof = b.profiler
    srv = Server(binary, db, [], "server-s5", work,
                 prof.wrapper() if prof and prof.key == "S5" else []).start(600)
    procs.append(srv)
    if prof:
        prof.server_pids.add(srv.pid)
    tokfile = os.path.join(work, "s5-tokens.txt")
    with open(tokfile, "w") as f:
        f.write("\n".join(tokens) + "\n")
    client = subprocess.Popen([anchors["sse_client"], "127.0.0.1", str(srv.port), tokfile,
                               str(args.streams), "10"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              preexec_fn=raise_nofile)
    ready = client.stdout.readline().split()
    if not ready or ready[0] != "READY":
        raise RuntimeError("sse_client: %r" % ready)
    opened, failed_open, open_s = int(ready[1]), int(ready[2]), float(ready[3])
    log("  %d streams open (%d failed) in %.1f s" % (opened, failed_open, open_s))
    time.sleep(1)
    rss_open = proc_status(srv.pid, "VmRSS")
    c0 = proc_cpu(srv.pid)
    time.sleep(5)
    idle_cpu = (proc_cpu(srv.pid) - c0) / HZ
    runs = []
    for rnd in range(args.rounds):
        pr = prof.start("S5", [srv.pid]) if prof and rnd == 0 else None
        client.stdin.write("GO 0An%012d\n" % (S5_FIRST + rnd))
        client.stdin.flush()
        r = json.loads(client.stdout.readline())
        if pr:
            prof.stop(pr)
        log("  round %d: received %d/%d, p50 %.1f ms, p99 %.1f ms, max %.1f ms, PATCH %d in "
            "%.1f ms" % (rnd + 1, r["received"], r["open"], r["p50_ms"], r["p99_ms"],
                         r["max_ms"], r["patch_status"], r["patch_ms"]))
        runs.append(r)
        time.sleep(1)
    client.stdin.write("QUIT\n")
    client.stdin.flush()
    client.wait(30)
    hwm = proc_status(srv.pid, "VmHWM")
    b.results["S5"] = runs
    b.s5 = {"opened": opened, "failed_open": failed_open, "open_s": open_s,
            "rss_open": rss_open, "hwm": hwm, "idle_cpu_s": idle_cpu}
    log("  RSS with streams open %.0f MiB, peak %.0f MiB, idle CPU %.3f s over 5 s" % (
        rss_open / MIB, hwm / MIB, idle_cpu))
    srv.stop()
    procs.remove(srv)


# ---------------------------------------------------------------------------------------

def fmt(x, unit=""):
    if x is None or x != x:
        return "–"
    if unit == "MiB":
        return "%.0f MiB" % (x / MIB)
    if unit == "s":
        return "%.3f s" % x
    if unit == "ms":
        return "%.1f ms" % x
    return "{:,.0f}/s".format(x)


def render(plan, b, args):
    res = b.results

    def med(key, field="rate"):
        return median([r[field] for r in res.get(key, [])])

    def errs(key):
        return sum(r.get("errors", 0) for r in res.get(key, []))

    rows = []

    def row(scn, ours, anchor, ratio, target, ok, note=""):
        rows.append((scn, ours, anchor, ratio, target, ok, note))

    def verdict(ok, need):
        if ok:
            return "pass"
        return "FAIL (%s)" % need

    s1 = med("S1")
    if "S1" in res:
        ng = med("nginx return")
        ratio = s1 / ng
        e = errs("S1")
        row("S1 GET link (100k)", fmt(s1), "nginx return " + fmt(ng), "%.2f" % ratio, "≥ 0.70",
            verdict(ratio >= 0.7 and not e, "%.0f%% short" % ((0.7 - ratio) / 0.7 * 100)
                    if ratio < 0.7 else "%d errors" % e),
            "nginx static %s; p99 %.1f ms%s" % (fmt(med("nginx static")),
                                                med("S1", "p99_us") / 1000,
                                                "; %d errors" % e if e else ""))
    if "S2" in res:
        s2, sq = med("S2"), med("sqlite loop")
        ratio = s2 / sq
        e = errs("S2")
        ok1 = ratio >= 5 and not e
        row("S2 PATCH Ui (FULL)", fmt(s2), "sqlite loop " + fmt(sq), "%.2f" % ratio, "≥ 5.00",
            verdict(ok1, "%.0f%% short" % ((5 - ratio) / 5 * 100) if ratio < 5
                    else "%d errors" % e),
            "p99 %.1f ms%s" % (med("S2", "p99_us") / 1000, "; %d errors" % e if e else ""))
        row("S2 absolute", fmt(s2), "", "", "≥ 15,000/s",
            verdict(s2 >= 15000 and not e, "%.0f%% short" % ((15000 - s2) / 150)
                    if s2 < 15000 else "%d errors" % e))
    if "S2 floor" in res:
        fl, sq = med("S2 floor"), med("sqlite loop")
        e = errs("S2 floor")
        row("S2 floor (no target)", fmt(fl), "sqlite loop " + fmt(sq), "%.2f" % (fl / sq), "",
            "%d errors" % e if e else "info",
            "bench/patch_floor.c: libmicrohttpd + SQLite group commit alone; S2 is %.0f%% of "
            "it" % (100 * med("S2") / fl) if "S2" in res and fl > 0 else "")
    if "S3" in res:
        s3, cu = med("S3"), med("curl loop")
        ratio = s3 / cu
        e = errs("S3")
        row("S3 Api end to end", fmt(s3), "libcurl loop " + fmt(cu), "%.2f" % ratio, "≥ 0.25",
            verdict(ratio >= 0.25 and not e, "%.0f%% short" % ((0.25 - ratio) / 0.25 * 100)
                    if ratio < 0.25 else "%d errors" % e),
            "PATCH accepted %s%s" % (fmt(med("S3", "accepted_rate")),
                                     "; %d errors" % e if e else ""))
    if "S4" in res:
        s4 = med("S4")
        ratio = s4 / s1 if s1 == s1 else float("nan")
        e = errs("S4")
        row("S4 GET link (100k of %s)" % human(args.s4_links), fmt(s4), "S1 " + fmt(s1),
            "%.2f" % ratio, "≥ 0.80",
            verdict(ratio >= 0.8 and not e, "%.0f%% short" % ((0.8 - ratio) / 0.8 * 100)
                    if ratio < 0.8 else "%d errors" % e),
            "p99 %.1f ms%s" % (med("S4", "p99_us") / 1000, "; %d errors" % e if e else ""))
        if "S4 any" in res:
            s4a = med("S4 any")
            e = errs("S4 any")
            row("S4 any of %s (no target)" % human(args.s4_links), fmt(s4a), "S1 " + fmt(s1),
                "%.2f" % (s4a / s1 if s1 == s1 else float("nan")), "", "info",
                "p99 %.1f ms%s" % (med("S4 any", "p99_us") / 1000,
                                   "; %d errors" % e if e else ""))
        rss = res["S4 rss"][0]["rate"]
        row("S4 peak RSS", fmt(rss, "MiB"), "", "", "≤ 100 MiB",
            verdict(0 < rss <= 100 * MIB, "%.0f%% over" % ((rss / MIB - 100)))),
        st = res["S4 start"][0]["rate"]
        row("S4 start → listening", fmt(st, "s"), "", "", "≤ 0.5 s",
            verdict(st <= 0.5, "%.0f%% over" % ((st - 0.5) / 0.5 * 100)),
            "3 starts: " + ", ".join("%.3f" % x for x in res["S4 start"][0]["all"]))
    if "S5" in res:
        runs, s5 = res["S5"], b.s5
        got = min(r["received"] for r in runs)
        n = args.streams
        row("S5 streams receiving", "%d / %d" % (got, n), "", "", "all",
            verdict(got == n and s5["opened"] == n, "%d missed" % (n - got)),
            "%d opened in %.1f s" % (s5["opened"], s5["open_s"]))
        p99 = median([r["p99_ms"] for r in runs])
        row("S5 p99 delivery", fmt(p99, "ms"), "", "", "≤ 100 ms",
            verdict(p99 <= 100, "%.0f%% over" % ((p99 - 100))),
            "p50 %.1f ms, max %.1f ms; PATCH answered in %.1f ms" % (
                median([r["p50_ms"] for r in runs]), max(r["max_ms"] for r in runs),
                median([r["patch_ms"] for r in runs])))
        row("S5 RSS", fmt(s5["hwm"], "MiB"), "", "", "≤ 256 MiB",
            verdict(0 < s5["hwm"] <= 256 * MIB, "%.0f%% over" % (
                (s5["hwm"] / MIB - 256) / 2.56)),
            "%.0f MiB with the streams open" % (s5["rss_open"] / MIB))
        row("S5 idle CPU", "%.3f CPU-s / 5 s" % s5["idle_cpu_s"], "", "", "≤ 0.05 (1%)",
            verdict(s5["idle_cpu_s"] <= 0.05, "busy while idle"))
    if "S6" in res:
        s6 = med("S6")
        ratio = s6 / s1 if s1 == s1 else float("nan")
        e = errs("S6")
        row("S6 POST group (3 links)", fmt(s6), "S1 " + fmt(s1), "%.2f" % ratio, "≥ 0.20",
            verdict(ratio >= 0.2 and not e, "%.0f%% short" % ((0.2 - ratio) / 0.2 * 100)
                    if ratio < 0.2 else "%d errors" % e),
            "p99 %.1f ms%s" % (med("S6", "p99_us") / 1000, "; %d errors" % e if e else ""))

    head = ("| scenario | ours | anchor | ratio | target | result | notes |\n"
            "|---|---|---|---|---|---|---|\n")
    body = "".join("| %s |\n" % " | ".join(r) for r in rows)
    # every run, for the record
    detail = ["", "Every run (req/s; other = CPU-s used by other processes during the run):", ""]
    for key in sorted(res):
        if key.startswith(("S4 rss", "S4 start", "S1 rss", "S5")):
            continue
        rs = res[key]
        detail.append("- %s: %s" % (key, "; ".join(
            "%s (other %.2f, server %.2f%s)" % (fmt(r["rate"]), r.get("other_cpu_s", 0),
                                                r.get("server_cpu_s", 0),
                                                ", " + r["note"] if r.get("note") else "")
            for r in rs)))
    if b.noisy:
        detail.append("")
        detail.append("Runs kept although other processes were busy: %s" % ", ".join(
            "%s ×%d" % kv for kv in sorted(b.noisy.items())))
    return head + body + "\n".join(detail) + "\n"


def human(n):
    return "%gM" % (n / 1e6) if n >= 1e6 else "%gk" % (n / 1e3)


def record(table, args, started):
    path = os.path.join(HERE, "RESULTS.md")
    new = not os.path.exists(path)
    with open(path, "a") as f:
        if new:
            f.write("# Benchmark results\n\nAppended by `make bench` (bench/run.py); newest "
                    "last. How to read them: docs/PERFORMANCE.md.\n")
        f.write("\n## %s, commit %s\n\n" % (started.strftime("%Y-%m-%d %H:%M UTC"), commit()))
        built = datetime.datetime.fromtimestamp(os.path.getmtime(args.bin), datetime.timezone.utc)
        f.write("Machine: %s. Command: `%s` (server binary built %s). wrk -t1 -c64, %d s per "
                "run, %d interleaved round(s), median.\n\n" % (
                    machine(), " ".join(["bench/run.py"] + sys.argv[1:]),
                    built.strftime("%Y-%m-%d %H:%M UTC"), args.duration, args.rounds))
        f.write(table)
    log("appended to %s" % path)


if __name__ == "__main__":
    main()
