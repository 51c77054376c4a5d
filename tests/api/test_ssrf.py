"""Safety of outbound calls (SPEC 7.6, 7.7, 11.5; issue item 3), black box.

- Without --callout-allow, Api links to loopback (by address, IPv6, IPv4-mapped IPv6, other
  spellings of 127.0.0.1, and the host name localhost), private and link-local addresses
  (cloud metadata) end FailedStatus with the diagnostic
  `<METHOD> <url> -> destination address not allowed after <n> ms`, and the sink on
  127.0.0.1 (and a listener on [::1] at the same port) sees no connection at all.
- With --callout-allow 127.0.0.1/32 the sink is reached at 127.0.0.1 and through localhost,
  and only through the allowed address; other loopback addresses stay refused.
- Schemes other than http(s) are refused when the group is defined; http:// only with
  --allow-http-callouts.
- Query strings and header values never reach diagnostics, /metrics or the server's log.
"""
import os
import re
import socket
import threading
import time

import harness
from harness import API, group_def, link_def
from sink import Sink

FINAL = ("SuccessfulStatus", "FailedStatus")
NOT_ALLOWED_RE = r" -> destination address not allowed after \d+ ms$"


class V6Listener:
    """Listens on [::1]:port and counts connections, to prove that nothing was sent to IPv6
    loopback (the sink itself listens on 127.0.0.1 only). Binding may fail (no IPv6, or the
    port is taken on ::1): then `ok` is False and the checks that need it are skipped."""

    def __init__(self, port):
        self.accepted = 0
        self.ok = False
        self.sock = None
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(("::1", port))
            s.listen(16)
            s.settimeout(0.2)
        except OSError:
            return
        self.sock = s
        self.ok = True
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            c.close()

    def close(self):
        if self.sock:
            self.stopping = True
            self.thread.join(5)
            self.sock.close()


def count_connections(sink):
    """Wraps the sink's accept so that every TCP connection is counted, even one that
    never sends a request."""
    sink.connections = 0
    original = sink.server.get_request

    def get_request():
        conn = original()
        with sink.lock:
            sink.connections += 1
        return conn

    sink.server.get_request = get_request


def metric(text, name):
    """The value of one sample line of Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class CalloutBase(harness.ServerTest):
    """A server, a sink on 127.0.0.1 and a listener on [::1] at the sink's port."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = Sink()
        count_connections(cls.sink)
        cls.v6 = V6Listener(cls.sink.port)
        cls.alice = cls.server.user("alice")

    @classmethod
    def tearDownClass(cls):
        cls.sink.close()
        cls.v6.close()
        super().tearDownClass()

    def execute(self, url, headers=None, timeout=30):
        """Defines a one-link Api group on url, executes it, waits for the callout to end
        and returns (final status, diagnostic-info body)."""
        extra = {"headers": headers} if headers else {}
        r = self.alice.create_group(group_def([link_def("Api", url=url, **extra)]))
        self.assertEqual(r.status, 201, r)
        link_id = r.json()["actionLinks"][0]["id"]
        r = self.alice.set_status(link_id, "PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus", r)
        deadline = time.monotonic() + timeout
        while True:
            r = self.alice.link(link_id)
            self.assertEqual(r.status, 200, r)
            status = r.json()["status"]
            if status in FINAL:
                break
            if time.monotonic() > deadline:
                self.fail("callout to %s still %s after %ss" % (url, status, timeout))
            time.sleep(0.02)
        d = self.alice.get(API + "/connect/action-links/%s/diagnostic-info" % link_id)
        self.assertEqual(d.status, 200, d)
        self.assertEqual(d.json()["url"], API + "/connect/action-links/%s/diagnostic-info"
                         % link_id)
        return status, d

    def metrics(self):
        c = self.server.client()
        r = c.get("/metrics", auth=False)
        if c.conn:
            c.conn.close()
        self.assertEqual(r.status, 200, r)
        return r.body

    def refused_count(self):
        return metric(self.metrics(), 'actionlinks_callouts_finished_total{outcome="refused"}')

    def assert_refused(self, url, shown):
        """url ends FailedStatus with `POST <shown> -> destination address not allowed
        after <n> ms`, shown being one of the URL forms given."""
        if isinstance(shown, str):
            shown = (shown,)
        status, d = self.execute(url)
        diag = d.json()["diagnosticInfo"]
        self.assertEqual(status, "FailedStatus", diag)
        self.assertIsInstance(diag, str, d)
        self.assertRegex(diag, "^POST (%s)%s" % ("|".join(re.escape(u) for u in shown),
                                                  NOT_ALLOWED_RE))
        return diag

    def assert_nothing_sent(self):
        with self.sink.lock:
            self.assertEqual(self.sink.requests, [])
            self.assertEqual(self.sink.connections, 0)
        if self.v6.ok:
            self.assertEqual(self.v6.accepted, 0)


class NoAllowList(CalloutBase):
    """No --callout-allow: every loopback, private and link-local destination is refused
    after DNS, and nothing reaches the sink."""
    server_args = ("--allow-http-callouts",)

    def test_refused_destinations(self):
        p = self.sink.port
        lo = "http://127.0.0.1:%d/x" % p
        mapped = "http://[::ffff:127.0.0.1]:%d/x" % p
        # (URL, the forms its diagnostic may name: curl's URL parser writes numeric IPv4
        # spellings and IPv6 addresses in their normal form).
        cases = [
            (lo, (lo,)),
            ("http://[::1]:%d/x" % p, ("http://[::1]:%d/x" % p,)),
            ("http://10.0.0.1/x", ("http://10.0.0.1/x",)),
            ("http://169.254.169.254/latest/meta-data",
             ("http://169.254.169.254/latest/meta-data",)),
            (mapped, (mapped, "http://[::ffff:7f00:1]:%d/x" % p)),
            ("http://localhost:%d/x" % p, ("http://localhost:%d/x" % p,)),
            # Other spellings of loopback and of "this host".
            ("http://127.0.0.2:%d/x" % p, ("http://127.0.0.2:%d/x" % p,)),
            ("http://2130706433:%d/x" % p, (lo, "http://2130706433:%d/x" % p)),
            ("http://0x7f000001:%d/x" % p, (lo, "http://0x7f000001:%d/x" % p)),
            ("http://127.1:%d/x" % p, (lo, "http://127.1:%d/x" % p)),
            ("http://0.0.0.0:%d/x" % p, ("http://0.0.0.0:%d/x" % p,)),
            ("http://[::]:%d/x" % p, ("http://[::]:%d/x" % p,)),
            ("http://[0:0:0:0:0:ffff:7f00:1]:%d/x" % p,
             (mapped, "http://[::ffff:7f00:1]:%d/x" % p,
              "http://[0:0:0:0:0:ffff:7f00:1]:%d/x" % p)),
            # Private and carrier-grade NAT, and https to private and metadata addresses.
            ("http://192.168.1.1/x", ("http://192.168.1.1/x",)),
            ("http://172.16.0.1/x", ("http://172.16.0.1/x",)),
            ("http://100.64.0.1/x", ("http://100.64.0.1/x",)),
            ("https://10.0.0.1:8443/x", ("https://10.0.0.1:8443/x",)),
            ("https://169.254.169.254/latest/meta-data/iam",
             ("https://169.254.169.254/latest/meta-data/iam",)),
        ]
        before = self.refused_count()
        for url, shown in cases:
            with self.subTest(url=url):
                self.assert_refused(url, shown)
        self.assertEqual(self.refused_count() - before, len(cases))
        self.assert_nothing_sent()

    def test_secrets_never_in_diagnostic_metrics_or_log(self):
        url = "http://127.0.0.1:%d/x?secret=QUERYSECRET42&token=abc" % self.sink.port
        status, d = self.execute(url, headers=[{"name": "X-Api-Key", "value": "s3cr3t"},
                                               {"name": "Authorization",
                                                "value": "Bearer HEADERSECRET99"}])
        self.assertEqual(status, "FailedStatus", d)
        diag = d.json()["diagnosticInfo"]
        self.assertEqual(re.sub(r"\d+ ms$", "N ms", diag),
                         "POST http://127.0.0.1:%d/x -> destination address not allowed "
                         "after N ms" % self.sink.port)
        check_no_secrets(self, d.body, self.metrics(), "".join(self.server.stderr_lines))
        self.assert_nothing_sent()


def check_no_secrets(test, *texts):
    for text in texts:
        for secret in ("QUERYSECRET42", "secret=", "token=abc", "s3cr3t", "HEADERSECRET99"):
            test.assertNotIn(secret, text)


class AllowLoopbackHost(CalloutBase):
    """--callout-allow 127.0.0.1/32: the sink is reached at that address only."""
    server_args = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32")

    def setUp(self):
        self.sink.take()

    def reached(self, url, path):
        status, d = self.execute(url)
        diag = d.json()["diagnosticInfo"]
        self.assertEqual(status, "SuccessfulStatus", diag)
        got = self.sink.wait_for(1, timeout=5)
        self.assertEqual([r.path for r in got], [path])
        return got[0], diag

    def test_address_reaches_sink(self):
        req, diag = self.reached("http://127.0.0.1:%d/by-address" % self.sink.port, "/by-address")
        self.assertEqual(req.method, "POST")
        self.assertRegex(diag, r"^POST http://127\.0\.0\.1:%d/by-address -> HTTP 200 OK in \d+ ms;"
                         r" response: ok$" % self.sink.port)

    def test_localhost_reaches_sink_only_through_allowed_address(self):
        # localhost resolves to 127.0.0.1 and ::1 (curl resolves it itself). Whatever the
        # order, ::1 is refused before a socket is connected and 127.0.0.1 is used: the
        # sink gets exactly one request and the [::1] listener no connection.
        v6_before = self.v6.accepted
        req, diag = self.reached("http://localhost:%d/by-name" % self.sink.port, "/by-name")
        self.assertEqual(req.header("Host"), "localhost:%d" % self.sink.port)
        self.assertRegex(diag, r"^POST http://localhost:%d/by-name -> HTTP 200 OK in \d+ ms;"
                         r" response: ok$" % self.sink.port)
        if self.v6.ok:
            self.assertEqual(self.v6.accepted, v6_before)

    def test_other_loopback_still_refused(self):
        p = self.sink.port
        for url, shown in (("http://127.0.0.2:%d/x" % p, "http://127.0.0.2:%d/x" % p),
                           ("http://[::1]:%d/x" % p, "http://[::1]:%d/x" % p),
                           ("http://10.0.0.1/x", "http://10.0.0.1/x"),
                           ("http://169.254.169.254/latest/meta-data",
                            "http://169.254.169.254/latest/meta-data")):
            with self.subTest(url=url):
                self.assert_refused(url, shown)
        self.assertEqual(self.sink.take(), [])
        if self.v6.ok:
            self.assertEqual(self.v6.accepted, 0)

    def test_ipv4_mapped_form_of_allowed_address_reaches_sink(self):
        # The IPv4 entry admits ::ffff:127.0.0.1 too: the same host, through a dual-stack
        # socket.
        p = self.sink.port
        req, diag = self.reached("http://[::ffff:127.0.0.1]:%d/mapped" % p, "/mapped")
        self.assertRegex(diag, r"^POST http://\[(::ffff:127\.0\.0\.1|::ffff:7f00:1)\]:%d/mapped"
                         r" -> HTTP 200 OK in \d+ ms; response: ok$" % p)

    def test_non_2xx_and_redirect_fail(self):
        p = self.sink.port
        status, d = self.execute("http://127.0.0.1:%d/status/503" % p)
        self.assertEqual(status, "FailedStatus")
        self.assertRegex(d.json()["diagnosticInfo"],
                         r"^POST http://127\.0\.0\.1:%d/status/503 -> HTTP 503 Service "
                         r"Unavailable in \d+ ms; response: answer 503$" % p)
        # Redirects are not followed: one request, and the 302 is a failure.
        status, d = self.execute("http://127.0.0.1:%d/redirect" % p)
        self.assertEqual(status, "FailedStatus")
        self.assertRegex(d.json()["diagnosticInfo"], r" -> HTTP 302 Found in \d+ ms; "
                         r"response: moved$")
        self.assertEqual([r.path for r in self.sink.take()], ["/status/503", "/redirect"])

    def test_secrets_sent_but_never_shown(self):
        url = "http://127.0.0.1:%d/x?secret=QUERYSECRET42&token=abc" % self.sink.port
        status, d = self.execute(url, headers=[{"name": "X-Api-Key", "value": "s3cr3t"},
                                               {"name": "Authorization",
                                                "value": "Bearer HEADERSECRET99"}])
        self.assertEqual(status, "SuccessfulStatus", d)
        (req,) = self.sink.wait_for(1, timeout=5)
        # The third party gets them ...
        self.assertEqual(req.path, "/x?secret=QUERYSECRET42&token=abc")
        self.assertEqual(req.header("X-Api-Key"), "s3cr3t")
        self.assertEqual(req.header("Authorization"), "Bearer HEADERSECRET99")
        # ... nobody else does.
        diag = d.json()["diagnosticInfo"]
        self.assertRegex(diag, r"^POST http://127\.0\.0\.1:%d/x -> HTTP 200 OK in \d+ ms; "
                         r"response: ok$" % self.sink.port)
        check_no_secrets(self, d.body, self.metrics(), "".join(self.server.stderr_lines))


class ProxyFromEnvironment(CalloutBase):
    """A proxy named in the server's environment (http_proxy, https_proxy, ALL_PROXY) must
    not become a way around the address policy: SPEC 7.6 checks the destination and
    connects to the address that was checked. Here the sink plays the proxy, and the allow
    list admits it (as an operator with an egress proxy would have to); a link to a private
    or metadata address must still fail as not allowed, and the proxy must see nothing."""
    server_args = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32")
    PROXY_VARS = ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                  "no_proxy", "NO_PROXY")

    @classmethod
    def setUpClass(cls):
        # The sink must exist before the server starts, to be named as its proxy.
        cls.sink = Sink()
        count_connections(cls.sink)
        cls.v6 = V6Listener(cls.sink.port)
        saved = {k: os.environ.get(k) for k in cls.PROXY_VARS}
        try:
            for k in cls.PROXY_VARS:
                os.environ.pop(k, None)
            os.environ["http_proxy"] = cls.sink.url
            os.environ["https_proxy"] = cls.sink.url
            os.environ["ALL_PROXY"] = cls.sink.url
            cls.server = harness.Server(extra_args=cls.server_args).start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        cls.alice = cls.server.user("alice")

    def test_private_destination_not_reached_through_proxy(self):
        for url in ("http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data",
                    "https://10.0.0.1/x"):
            with self.subTest(url=url):
                self.assert_refused(url, url)
        self.assertEqual([(r.method, r.path) for r in self.sink.take()], [])
        with self.sink.lock:
            self.assertEqual(self.sink.connections, 0)


class SchemesAtDefinition(harness.ServerTest):
    """Only http(s) and relative /services/ URLs can be defined, even with http allowed."""
    server_args = ("--allow-http-callouts",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.user("alice")

    def test_other_schemes_refused(self):
        for url in ("file:///etc/passwd", "file://localhost/etc/passwd", "FILE:///etc/passwd",
                    "ftp://example.com/f", "ftp://127.0.0.1/f", "gopher://example.com/_x",
                    "gopher://127.0.0.1:6379/_INFO", "dict://example.com:2628/d:x",
                    "dict://127.0.0.1:11211/stats", "ldap://example.com/dc=example",
                    "ldaps://example.com/dc=example", "sftp://example.com/x",
                    "tftp://example.com/x", "telnet://example.com/", "smtp://example.com/",
                    "javascript:alert(1)", "data:text/plain,hi", "//example.com/x",
                    "example.com/x"):
            for t in ("Api", "ApiAsync", "Download", "Ui"):
                with self.subTest(url=url, type=t):
                    r = self.alice.create_group(group_def([link_def(t, url=url)]))
                    self.assertError(r, 400, "INVALID_API_INPUT", "actionLinks[0].actionUrl")

    def test_refused_scheme_in_second_link_named(self):
        r = self.alice.create_group(group_def([link_def("Api", url="https://example.com/a"),
                                               link_def("Api", url="gopher://example.com/")]))
        self.assertError(r, 400, "INVALID_API_INPUT", "actionLinks[1].actionUrl")

    def test_http_and_https_accepted(self):
        for url in ("http://example.com/a", "https://example.com/a", "HTTP://example.com/a"):
            with self.subTest(url=url):
                r = self.alice.create_group(group_def([link_def("Api", url=url)]))
                self.assertEqual(r.status, 201, r)


class HttpRefusedByDefault(harness.ServerTest):
    """Without --allow-http-callouts, http:// is refused when the group is defined."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.user("alice")

    def test_http_refused(self):
        for url in ("http://example.com/api", "HTTP://example.com/api", "http://127.0.0.1/x",
                    "http://169.254.169.254/latest/meta-data"):
            for t in ("Api", "ApiAsync", "Download", "Ui"):
                with self.subTest(url=url, type=t):
                    r = self.alice.create_group(group_def([link_def(t, url=url)]))
                    self.assertError(r, 400, "INVALID_API_INPUT", "actionLinks[0].actionUrl")

    def test_https_accepted(self):
        r = self.alice.create_group(group_def([link_def("Api", url="https://example.com/api")]))
        self.assertEqual(r.status, 201, r)

    def test_other_schemes_refused(self):
        for url in ("file:///etc/passwd", "ftp://example.com/f", "gopher://example.com/",
                    "dict://example.com/", "ldap://example.com/"):
            with self.subTest(url=url):
                r = self.alice.create_group(group_def([link_def("Api", url=url)]))
                self.assertError(r, 400, "INVALID_API_INPUT", "actionLinks[0].actionUrl")


if __name__ == "__main__":
    harness.main()
