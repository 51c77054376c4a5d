"""Test harness for the black-box API tests: starts the real actionlinks binary on a
fresh database and a free port, runs admin subcommands, and talks HTTP to it.

Environment: AL_BIN (the binary, set by ctest), AL_TMP (a scratch directory).
Only the Python standard library is used.
"""
import datetime
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

AL_BIN = os.environ.get("AL_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "actionlinks")
AL_TMP = os.environ.get("AL_TMP") or tempfile.gettempdir()
API = "/services/data/v66.0"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")


def iso(dt):
    """A datetime as the server's ISO 8601 form."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def in_days(days):
    return iso(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days))


def wait_until(check, timeout=30.0, what="condition"):
    """Calls check until it returns something truthy, and returns that; fails after
    timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.02)


class Server:
    """One actionlinks process on its own database directory."""

    def __init__(self, workdir=None, extra_args=()):
        os.makedirs(AL_TMP, exist_ok=True)
        self.dir = workdir or tempfile.mkdtemp(prefix="al-", dir=AL_TMP)
        self.db = os.path.join(self.dir, "actionlinks.db")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.stderr_lines = []
        self._reader = None

    def start(self, timeout=30):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.proc = subprocess.Popen(
            [AL_BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0"] + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True, errors="replace")
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.stderr_lines.append(line)
                if line.startswith("listening on http://"):
                    self.port = int(line.strip().rsplit(":", 1)[1])
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + "".join(self.stderr_lines))
        return self

    def sanitizer_reports(self):
        text = "".join(self.stderr_lines)
        return [m for m in SANITIZER_MARKERS if m in text]

    def stop(self, timeout=30):
        """SIGTERM, wait, and check a clean exit with no sanitizer report."""
        if not self.proc:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit within %ss of SIGTERM" % timeout)
        self._reader.join(5)
        self.proc.stderr.close()
        self.proc = None
        reports = self.sanitizer_reports()
        if code != 0 or reports:
            raise AssertionError("server exit %s, sanitizer reports %s:\n%s" % (
                code, reports, "".join(self.stderr_lines[-200:])))

    def kill(self):
        """SIGKILL, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)
        self.proc.stderr.close()
        self.proc = None

    def admin(self, *args, stdin=None):
        """Runs an admin subcommand with --json and returns its parsed output."""
        out = subprocess.run([AL_BIN] + list(args) + ["--db", self.db, "--json"],
                             input=stdin, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (args, out.returncode, out.stderr))
        return json.loads(out.stdout)

    def user(self, name, *flags, app="testapp"):
        """Creates a user (and the app if needed) and returns a Client with its token."""
        u = self.admin("user", "add", name, *flags)
        try:
            self.admin("app", "add", app)
        except RuntimeError:
            pass  # already there
        t = self.admin("token", "issue", name, "--app", app)
        c = Client(self, t["access_token"])
        c.user_id = u["id"]
        c.username = name
        return c

    def user_token(self, name, app):
        """A Client for an existing user through another app (created if needed)."""
        try:
            self.admin("app", "add", app)
        except RuntimeError:
            pass
        t = self.admin("token", "issue", name, "--app", app)
        c = Client(self, t["access_token"])
        c.username = name
        return c

    def client(self, token=None):
        return Client(self, token)

    def sql(self, query, args=()):
        """Runs one statement on the server's database (a second process, as the store
        allows) and returns all rows."""
        import sqlite3
        db = sqlite3.connect(self.db, timeout=30)
        try:
            rows = db.execute(query, args).fetchall()
            db.commit()
            return rows
        finally:
            db.close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class Client:
    """A keep-alive HTTP client for one thread."""

    def __init__(self, server, token=None):
        self.server = server  # followed across restarts (the port changes)
        self.port = server.port
        self.token = token
        self.conn = None
        self.user_id = None
        self.username = None

    def request(self, method, path, body=None, headers=None, raw=None, auth=True):
        h = {}
        if auth and self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        if self.port != self.server.port and self.conn is not None:
            self.conn.close()
            self.conn = None
        for attempt in range(2):
            if self.conn is None:
                self.port = self.server.port
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=raw, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return Response(r.status, r.getheaders(), data.decode("utf-8", "replace"))
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # Resource shortcuts.
    def create_group(self, definition):
        return self.post(API + "/connect/action-link-group-definitions", definition)

    def set_status(self, link_id, status):
        return self.patch(API + "/connect/action-links/" + link_id, {"status": status})

    def link(self, link_id):
        return self.get(API + "/connect/action-links/" + link_id)

    def group(self, group_id):
        return self.get(API + "/connect/action-link-groups/" + group_id)


def link_def(action_type="Api", url="https://example.com/api", method=None, label="Approve",
             confirm=False, **extra):
    d = {"actionType": action_type, "actionUrl": url,
         "method": method or ("HttpPost" if action_type in ("Api", "ApiAsync") else "HttpGet"),
         "labelKey": label, "requiresConfirmation": confirm}
    d.update(extra)
    return d


def group_def(links, policy="Once", category="Primary", days=1, **extra):
    d = {"category": category, "executionsAllowed": policy, "expirationDate": in_days(days),
         "actionLinks": links}
    d.update(extra)
    return d


class ServerTest(unittest.TestCase):
    """A test class with one server for all its tests (started fresh per class)."""
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=cls.server_args).start()

    @classmethod
    def tearDownClass(cls):
        dirname = cls.server.dir
        cls.server.stop()
        shutil.rmtree(dirname, ignore_errors=True)

    def assertError(self, resp, status, code, field=None):
        """The documented error shape: status, a one-element array, the errorCode, and a
        message naming the field when given."""
        self.assertEqual(resp.status, status, resp)
        body = resp.json()
        self.assertIsInstance(body, list, resp)
        self.assertEqual(len(body), 1, resp)
        self.assertEqual(body[0]["errorCode"], code, resp)
        self.assertIsInstance(body[0]["message"], str)
        if field:
            self.assertIn(field, body[0]["message"], resp)


def main():
    unittest.main(verbosity=2, warnings="ignore")
