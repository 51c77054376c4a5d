#!/usr/bin/env python3
"""Instructions per request, counted by valgrind (callgrind), for comparing two builds on a
machine whose timings are too noisy to show a change of a few per cent (docs/PERFORMANCE.md,
"Counting instructions").

usage: bench/instructions.py [--bin PATH] [--n N] [--conns C] [--links L] [--keep FILE]
                             [S1|S2|S3]

S1: N GETs of L links (L/2 groups of an Api and a Ui link, as S1's; each read once
first, so that every counted GET finds its link and its execution kept, as S1's
warmed-up rounds do; the warm-up is in both runs and cancels out). S2: N PATCHes of Ui
links to SuccessfulStatus. S3: N PATCHes of Api links to PendingStatus, each one calling
a local sink (a small Python server: its instructions are not counted), and the count
waits until every callout has ended (Successful, or the run fails). The server runs
under callgrind in a fresh store; the instructions of a run without requests (start,
stop, and S1's warm-up) are subtracted, and what is left is divided by N (background
work that grows with the run's length, the heartbeat's, is charged to the requests: a
few per cent for a run of seconds). The count covers every thread of the server, in user
space (the kernel's work is not in it). The same build gives S2 the same count to 0.2%,
S3 to about 5% (its batches, and which callouts a PATCH claims itself, follow the
timing); batches are larger than at full speed, so per-commit costs weigh less than in a
real run.
--keep FILE keeps the callgrind profile of the counted run, for
`callgrind_annotate --inclusive=yes FILE`. The count is also split by thread, from the
inclusive counts of each thread's function (the writer, the callouts' engine and
dispatcher, the event hub and its helper, the workers, main; the I/O threads are the
rest).
"""
import argparse
import http.client
import http.server
import json
import os
import re
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Sink(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rows(db, query):
    c = seed.connect(db)
    try:
        return c.execute(query).fetchone()[0]
    finally:
        c.close()


THREADS = (("writer", "writer_main"), ("engine", "engine_main"),
           ("dispatcher", "dispatch_main"), ("events", "hub_main"), ("events", "helper_main"),
           ("workers", "worker_main"), ("main", "main"))


def by_thread(path, total):
    """The instructions of each kind of thread in a callgrind file; "I/O" is the rest."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    kinds = {}
    for kind, fn in THREADS:
        m = re.search(r"^\s*([0-9,]+) \([ 0-9.]+%\)\s+\?\?\?:" + fn + r" \[", out, re.M)
        kinds[kind] = kinds.get(kind, 0) + (int(m.group(1).replace(",", "")) if m else 0)
    kinds["I/O"] = total - sum(kinds.values())
    return kinds


def count(binary, db, port, args, token, first, n, conns, status, want_status, keep=None):
    """Instructions of one server run with n PATCHes from link `first` (or, when status
    is None, n GETs of the `first` links after one GET of each): the total, and by kind
    of thread."""
    out = db + ".callgrind"
    srv = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary, "serve",
         "--listen", "127.0.0.1:%d" % port, "--db", db] + args,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        return run(srv, out, db, port, token, first, n, conns, status, want_status, keep)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def run(srv, out, db, port, token, first, n, conns, status, want_status, keep):
    deadline = time.time() + 120
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.time() > deadline or srv.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.3)
    bad = []
    link = "/services/data/v66.0/connect/action-links/0An%012d"

    def patch(c, i):
        c.request("PATCH", link % (first + i), json.dumps({"status": status}),
                  {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        return r.status == 200

    def get(c, i):
        c.request("GET", link % i, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        return r.status == 200 and b'"type":"ActionLink"' in r.read()

    def each(fn, indexes):
        def worker(k):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                for i in indexes[k::conns]:
                    if not fn(c, i):
                        bad.append(i)
            except Exception as e:  # noqa: BLE001 — counted as a failure below
                bad.append(repr(e))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if bad:
            raise RuntimeError("%d requests failed (first: %s)" % (len(bad), bad[0]))

    if status is None:  # S1: every link once, then n GETs spread over them
        each(get, list(range(first)))
        each(get, [i * 7919 % first for i in range(n)])
    else:
        each(patch, list(range(n)))
        for _ in range(600):  # S3: until every callout has ended
            if rows(db, "SELECT count(*) FROM executions WHERE status = 1") == 0:
                break
            time.sleep(0.2)
        done = rows(db, "SELECT count(*) FROM executions WHERE status = %d" % want_status)
        if done != n:
            raise RuntimeError("%d of %d executions ended as expected" % (done, n))
    srv.send_signal(signal.SIGTERM)
    _, err = srv.communicate(timeout=120)
    m = re.search(r"Collected : ([0-9]+)", err)
    if not m:
        raise RuntimeError("no count from valgrind: " + err[-500:])
    total = int(m.group(1))
    kinds = by_thread(out, total)
    if keep:
        os.replace(out, keep)
    else:
        os.unlink(out)
    return total, kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="?", default="S3", choices=("S1", "S2", "S3"))
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build-bench", "actionlinks"))
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--links", type=int, default=2000, help="S1: the links read (even)")
    ap.add_argument("--keep", metavar="FILE", help="keep the callgrind profile of the run")
    a = ap.parse_args()
    if a.n < 1 or a.conns < 1 or a.links < 2 or a.links % 2:
        ap.error("--n and --conns must be at least 1, --links even and at least 2")
    binary = os.path.abspath(a.bin)
    with tempfile.TemporaryDirectory(prefix="al-instr-") as work:
        db = os.path.join(work, "store.db")
        ident = seed.create(binary, db)
        args = []
        sink = None
        if a.scenario == "S3":
            sink = Sink(("127.0.0.1", 0), Answer)
            threading.Thread(target=sink.serve_forever, daemon=True).start()
            url = "http://127.0.0.1:%d/sink" % sink.server_address[1]
            seed.links(db, ident, 0, a.n, 1, seed.sink_group(url))
            args = ["--allow-http-callouts", "--callout-allow", "127.0.0.1/32",
                    "--callout-per-host", "64"]
            status = "PendingStatus"
        elif a.scenario == "S2":
            seed.links(db, ident, 0, a.n, 1, seed.JOIN)
            status = "SuccessfulStatus"
        else:
            seed.links(db, ident, 0, a.links, 2, seed.S1_GROUP)
            status = None
        seed.checkpoint(db)
        port = free_port()
        first = a.links if status is None else 0
        try:
            idle, idle_kinds = count(binary, db, port, args, ident["token"], first, 0,
                                     a.conns, status, 2)
            total, kinds = count(binary, db, port, args, ident["token"], first, a.n, a.conns,
                                 status, 2, os.path.abspath(a.keep) if a.keep else None)
        finally:
            if sink:
                sink.shutdown()
    what, whats = ("GET", "GETs") if status is None else ("PATCH", "PATCHes")
    print("%s: %.1f thousand instructions per %s (%d %s; %s)" % (
        a.scenario, (total - idle) / a.n / 1000, what, a.n, whats, os.path.relpath(binary)))
    split = sorted(((kinds[k] - idle_kinds.get(k, 0)) / a.n / 1000, k) for k in kinds)
    print("  by thread: " + ", ".join("%s %.1f" % (k, v) for v, k in reversed(split)
                                      if abs(v) >= 0.05))


if __name__ == "__main__":
    main()
