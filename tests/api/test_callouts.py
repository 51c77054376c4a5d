"""Callouts (SPEC 7.1-7.4, 7.6 no-secrets rule, 7.7, 11.5, 11.6) against real HTTP endpoints:
the sink of sink.py and, for answers the sink cannot make (arbitrary bytes, a 100 KiB
body, an odd reason phrase), a raw socket responder defined here.

For each answer (200, 201, 204, 299, 302, 404, 500, a delay beyond the timeout, a closed
connection, nobody listening, a forbidden address) and for both Api and ApiAsync: the final
status and the EXACT diagnostic line (only the milliseconds are wildcarded). For every
method: the request the endpoint received, byte for byte, with the context variables filled
in. Relative URLs (calls to this server as the executing user), metrics, the excerpt's
escaping and 512-byte cut, at-most-once sending, and a PATCH that does not wait for the
third party.

Results are awaited by polling with a deadline, never by a bare sleep."""
import http.server
import json
import os
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import uuid

import harness
from harness import wait_until as poll
from harness import API, group_def, link_def
from sink import Sink

N, P, S, F = "NewStatus", "PendingStatus", "SuccessfulStatus", "FailedStatus"
METHODS = {"HttpGet": "GET", "HttpHead": "HEAD", "HttpPost": "POST", "HttpPut": "PUT",
           "HttpPatch": "PATCH", "HttpDelete": "DELETE"}
CALLOUT_ARGS = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32")
MS = r"(\d+)"  # the only wildcard of a diagnostic line


def project_version():
    """The version in CMakeLists.txt's project(), the one in User-Agent."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "CMakeLists.txt")
    with open(path) as f:
        m = re.search(r"project\(\s*actionlinks\s+VERSION\s+([0-9.]+)", f.read())
    return m.group(1)


def tag():
    return uuid.uuid4().hex[:12]


def closed_port():
    """A port that was bound, then closed: nobody listens there."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def escape_excerpt(raw):
    """SPEC 11.5, written independently of the server: the first 512 bytes, then
    \\n \\r \\t \\\\ as two characters, other bytes outside 0x20..0x7e as \\xHH."""
    out = []
    for b in raw[:512]:
        if b == 0x0A:
            out.append("\\n")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x09:
            out.append("\\t")
        elif b == 0x5C:
            out.append("\\\\")
        elif b < 0x20 or b > 0x7E:
            out.append("\\x%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def answered_re(verb, url, code_and_reason, excerpt):
    return re.escape("%s %s -> HTTP %s in " % (verb, url, code_and_reason)) + MS + \
        re.escape(" ms; response: " + excerpt)


def failed_re(verb, url, text):
    return re.escape("%s %s -> %s after " % (verb, url, text)) + MS + re.escape(" ms")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


class RawResponder:
    """A tiny HTTP/1.1 endpoint that answers each path with exact bytes (status line,
    headers and body as given), records the requests, and closes the connection."""

    def __init__(self):
        self.answers = {}  # path -> raw response bytes
        self.requests = []
        self.lock = threading.Lock()
        me = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = b""
                self.request.settimeout(10)
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    lines = head.decode("latin-1").split("\r\n")
                    method, path, _ = lines[0].split(" ", 2)
                    n = 0
                    for l in lines[1:]:
                        k, _, v = l.partition(":")
                        if k.strip().lower() == "content-length":
                            n = int(v.strip())
                    while len(body) < n:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    with me.lock:
                        me.requests.append((method, path, body))
                        answer = me.answers.get(path.split("?")[0],
                                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0"
                                                b"\r\nConnection: close\r\n\r\n")
                    self.request.sendall(answer)
                except OSError:
                    pass  # the client stopped reading (the 64 KiB cut): fine

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path, raw_status_line, body, extra_headers=b""):
        with self.lock:
            self.answers[path] = (raw_status_line + b"\r\nContent-Length: %d\r\n" % len(body) +
                                  extra_headers + b"Connection: close\r\n\r\n" + body)

    def answer_bytes(self, path, raw):
        """Answers path with exactly these bytes, then closes the connection."""
        with self.lock:
            self.answers[path] = raw

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TlsEndpoint:
    """An https endpoint with a self-signed certificate for 127.0.0.1 (made with the
    openssl command): a callout must refuse it, since nobody vouches for the certificate."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="al-tls-")
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.requests = []
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                me.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # the client refusing our certificate is the point

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        return s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()


class CalloutTest(harness.ServerTest):
    """A server allowed to call 127.0.0.1 over http, a sink, and users: creator (who
    defines the links through app1) and alice (who clicks them)."""
    server_args = CALLOUT_ARGS + ("--callout-timeout", "10")

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        super().setUpClass()
        s = cls.server
        cls.creator = s.user("creator", app="app1")
        cls.alice = s.user("alice", app="app1")
        cls.org_id = cls.alice.token.split("!", 1)[0]

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.sink.close()

    # --- helpers ---------------------------------------------------------------------------

    def make(self, action_type, url, method="HttpPost", headers=None, body=None,
             policy="Once"):
        """One group with one link; returns (group id, link id) in the 18-character form."""
        extra = {}
        if headers is not None:
            extra["headers"] = [{"name": k, "value": v} for k, v in headers]
        if body is not None:
            extra["requestBody"] = body
        r = self.creator.create_group(group_def(
            [link_def(action_type, url, method=method, **extra)], policy=policy))
        self.assertEqual(r.status, 201, r)
        g = r.json()
        return g["id"], g["actionLinks"][0]["id"]

    def click(self, link, client=None, expect=P):
        """PATCHes PendingStatus and checks the answer."""
        r = (client or self.alice).set_status(link, P)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], expect, r)
        return r

    def diagnostic(self, link, client=None):
        r = (client or self.alice).get(API + "/connect/action-links/%s/diagnostic-info" % link)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["url"], API + "/connect/action-links/%s/diagnostic-info" % link)
        return body["diagnosticInfo"]

    def status(self, link, client=None):
        r = (client or self.alice).link(link)
        self.assertEqual(r.status, 200, r)
        return r.json()["status"]

    def wait_result(self, link, action_type, client=None, timeout=30):
        """Polls until the callout's result is recorded: a diagnostic, and for Api a
        terminal status. Returns (status, diagnostic)."""
        def done():
            d = self.diagnostic(link, client)
            if d is None:
                return None
            st = self.status(link, client)
            if action_type == "Api" and st == P:
                return None
            return st, d
        return poll(done, timeout, "the callout result of %s" % link)

    def sink_requests(self, marker):
        with self.sink.lock:
            return [r for r in self.sink.requests if marker in r.path]

    def sink_exact(self, path):
        """The sink's requests for exactly this path (with its query)."""
        with self.sink.lock:
            return [r for r in self.sink.requests if r.path == path]

    def wait_sink(self, marker, count=1, timeout=30):
        return poll(lambda: len(self.sink_requests(marker)) >= count and
                    self.sink_requests(marker), timeout, "%d sink request(s) for %s" %
                    (count, marker))

    def assertDiag(self, diag, pattern):
        m = re.fullmatch(pattern, diag or "")
        self.assertIsNotNone(m, "diagnostic %r does not match %r" % (diag, pattern))
        return int(m.group(1))

    def callouts_count(self):
        return self.server.sql("SELECT count(*) FROM callouts")[0][0]

    def assertRequest(self, req, method, path, headers, body):
        """The request as received: method, path with query, exactly these headers
        (names with their case, values byte for byte), and the body."""
        self.assertEqual(req.method, method)
        self.assertEqual(req.path, path)
        got = [(k, v) for k, v in req.headers]
        self.assertEqual(sorted(got), sorted(headers),
                         "headers received %r, expected %r" % (got, headers))
        self.assertEqual(req.body, body)


class Outcomes(CalloutTest):
    """Every kind of answer, for Api and ApiAsync: the final status and the exact line."""

    def run_cases(self, cases):
        """cases: (name, url, expected Api status, expected diagnostic regex, sink marker or
        None). Clicks every link of both types first, then checks them all."""
        started = []
        for action_type in ("Api", "ApiAsync"):
            for name, url, api_status, pattern, marker in cases:
                _, link = self.make(action_type, url % {"t": action_type})
                self.click(link)
                started.append((action_type, name, link, url % {"t": action_type},
                                api_status, pattern, marker))
        for action_type, name, link, url, api_status, pattern, marker in started:
            with self.subTest(type=action_type, answer=name):
                st, diag = self.wait_result(link, action_type)
                want = api_status
                if action_type == "ApiAsync" and api_status == S:
                    want = P  # 2xx: waits for the callback
                self.assertEqual(st, want, diag)
                self.assertDiag(diag, pattern(url) if callable(pattern) else pattern)
                if marker:  # the sink got it once (no retry, no redirect followed)
                    self.assertEqual(len(self.sink_exact(marker % {"t": action_type})), 1)

    def test_http_answers(self):
        t = tag()
        base = self.sink.url
        cases = []
        for code, reason, excerpt, api_status in (
                (200, "200 OK", "answer 200", S),
                (201, "201 Created", "answer 201", S),
                (204, "204 No Content", "", S),
                (299, "299", "answer 299", S),  # no standard phrase: left out (11.5)
                (302, "302 Found", "answer 302", F),
                (404, "404 Not Found", "answer 404", F),
                (500, "500 Internal Server Error", "answer 500", F)):
            path = "/status/%d/%s-%%(t)s" % (code, t)
            cases.append((str(code), base + path, api_status,
                          lambda url, r=reason, e=excerpt: answered_re("POST", url, r, e),
                          path))
        self.run_cases(cases)

    def test_redirect_is_not_followed(self):
        # /redirect answers 302 with a Location: Failed, and nothing else is requested.
        t = tag()
        self.run_cases([("redirect", self.sink.url + "/redirect/%s-%%(t)s" % t, F,
                         lambda url: answered_re("POST", url, "302 Found", "moved"),
                         "/redirect/%s-%%(t)s" % t)])

    def test_connection_closed(self):
        t = tag()
        self.run_cases([("close", self.sink.url + "/close/%s-%%(t)s" % t, F,
                         lambda url: failed_re("POST", url,
                                               "connection closed before a complete answer"),
                         "/close/%s-%%(t)s" % t)])

    def test_nobody_listening(self):
        t = tag()
        url = "http://127.0.0.1:%d/nobody/%s-%%(t)s" % (closed_port(), t)
        self.run_cases([("refused", url, F,
                         lambda u: failed_re("POST", u, "connection refused"), None)])

    def test_address_not_allowed(self):
        # 127.0.0.2 is loopback and outside the allow-list (127.0.0.1/32): never contacted.
        t = tag()
        url = "http://127.0.0.2:%d/status/200/%s-%%(t)s" % (self.sink.port, t)
        self.run_cases([("not allowed", url, F,
                         lambda u: failed_re("POST", u, "destination address not allowed"),
                         None)])
        self.assertEqual(self.sink_requests(t), [])

    def test_query_and_header_values_never_shown(self):
        # The line names scheme://host[:port]/path: no query string, no header values.
        t = tag()
        secret_q, secret_h = "Q" + tag(), "H" + tag()
        url = self.sink.url + "/status/200/%s?token=%s&user={!userId}" % (t, secret_q)
        for action_type in ("Api", "ApiAsync"):
            with self.subTest(type=action_type):
                _, link = self.make(action_type, url, headers=[
                    ("Authorization", "Bearer " + secret_h),
                    ("X-Api-Key", secret_h + "-{!userId}")])
                self.click(link)
                _, diag = self.wait_result(link, action_type)
                self.assertDiag(diag, answered_re("POST", self.sink.url + "/status/200/" + t,
                                                  "200 OK", "answer 200"))
                for secret in (secret_q, secret_h, "token=", "Bearer", "?"):
                    self.assertNotIn(secret, diag)
        # the sink did get the query and the headers
        reqs = self.wait_sink(t, 2)
        for req in reqs:
            self.assertEqual(req.path, "/status/200/%s?token=%s&user=%s" % (
                t, secret_q, self.alice.user_id))
            self.assertEqual(req.header("Authorization"), "Bearer " + secret_h)

    def test_host_that_does_not_resolve(self):
        t = tag()
        url = "http://no-such-host-%s.invalid:%d/x/%s-%%(t)s" % (t, self.sink.port, t)
        self.run_cases([("dns", url, F,
                         lambda u: failed_re("POST", u, "could not resolve the host"), None)])

    def test_tls_to_a_plain_http_endpoint(self):
        # https to the sink, which speaks plain HTTP: the handshake fails
        t = tag()
        url = "https://127.0.0.1:%d/tls/%s-%%(t)s" % (self.sink.port, t)
        self.run_cases([("tls", url, F, lambda u: failed_re("POST", u, "TLS failure"), None)])
        self.assertEqual(self.sink_requests(t), [])

    def test_untrusted_certificate(self):
        if not shutil.which("openssl"):
            self.skipTest("no openssl command to make a certificate")
        tls = TlsEndpoint()
        try:
            t = tag()
            url = tls.url + "/cert/%s-%%(t)s" % t
            self.run_cases([("self-signed", url, F,
                             lambda u: failed_re("POST", u, "TLS failure"), None)])
            self.assertEqual(tls.requests, [])  # nothing was sent over it
        finally:
            tls.close()

    def test_default_port_left_out(self):
        # scheme://host[:port]/path names the port only when it is not the scheme's default
        # (SPEC 11.5). Nobody listens on 127.0.0.1:80 or :443 here: refused quickly.
        for scheme, port in (("http", 80), ("https", 443)):
            if not port_is_free(port):
                self.skipTest("something listens on 127.0.0.1:%d" % port)
        t = tag()
        for scheme, port in (("http", 80), ("https", 443)):
            for action_type in ("Api", "ApiAsync"):
                with self.subTest(scheme=scheme, type=action_type):
                    _, link = self.make(action_type, "%s://127.0.0.1:%d/d/%s?q=1" % (
                        scheme, port, t))
                    self.click(link)
                    st, diag = self.wait_result(link, action_type)
                    self.assertEqual(st, F, diag)
                    self.assertDiag(diag, failed_re("POST", "%s://127.0.0.1/d/%s" % (scheme, t),
                                                    "connection refused"))

    def test_credentials_in_the_url_never_shown(self):
        t = tag()
        secret = "P" + tag()
        url = "http://someone:%s@127.0.0.1:%d/status/200/%s" % (secret, self.sink.port, t)
        _, link = self.make("Api", url)
        self.click(link)
        st, diag = self.wait_result(link, "Api")
        self.assertEqual(st, S, diag)
        self.assertDiag(diag, answered_re("POST", self.sink.url + "/status/200/" + t, "200 OK",
                                          "answer 200"))
        self.assertNotIn(secret, diag)
        self.assertNotIn("someone", diag)

    def test_diagnostic_null_before_any_callout(self):
        _, link = self.make("Api", self.sink.url + "/status/200/" + tag())
        self.assertIsNone(self.diagnostic(link))
        self.assertEqual(self.status(link), N)


class Timeout(CalloutTest):
    """A whole-request timeout of 1 s against an endpoint that answers after 3 s."""
    server_args = CALLOUT_ARGS + ("--callout-timeout", "1")

    def test_slow_endpoint_times_out(self):
        t = tag()
        links = []
        for action_type in ("Api", "ApiAsync"):
            url = self.sink.url + "/slow/3000/%s-%s" % (t, action_type)
            _, link = self.make(action_type, url)
            self.click(link)
            links.append((action_type, link, url))
        for action_type, link, url in links:
            with self.subTest(type=action_type):
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, F, diag)
                ms = self.assertDiag(diag, failed_re("POST", url, "timed out"))
                self.assertGreaterEqual(ms, 900, diag)
                self.assertLess(ms, 3000, diag)
                self.assertEqual(len(self.sink_exact("/slow/3000/%s-%s" % (t, action_type))),
                                 1)


class Requests(CalloutTest):
    """What the endpoint receives, byte for byte."""

    def user_agent(self):
        return "actionlinks/" + project_version()

    def test_every_method(self):
        t = tag()
        host = "127.0.0.1:%d" % self.sink.port
        started = []
        for action_type in ("Api", "ApiAsync"):
            for method, verb in METHODS.items():
                marker = "%s-%s-%s" % (t, action_type, method)
                path = "/m/" + marker
                has_body = verb not in ("GET", "HEAD")
                body = ("{\"method\":\"%s\",\"user\":\"{!userId}\"}" % method
                        if has_body else None)
                _, link = self.make(action_type, self.sink.url + path, method=method,
                                    headers=[("X-Tag", marker)], body=body)
                self.click(link)
                started.append((action_type, method, verb, link, path, marker, body))
        for action_type, method, verb, link, path, marker, body in started:
            with self.subTest(type=action_type, method=method):
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, S if action_type == "Api" else P, diag)
                self.assertDiag(diag, answered_re(verb, self.sink.url + path, "200 OK",
                                                  "" if verb == "HEAD" else "ok"))
                (req,) = self.sink_requests(marker)
                want_body = (body.replace("{!userId}", self.alice.user_id).encode()
                             if body else b"")
                headers = [("Host", host), ("User-Agent", self.user_agent()),
                           ("X-Tag", marker)]
                if body:
                    headers.append(("Content-Length", str(len(want_body))))
                # no Expect, Accept, Content-Type or Transfer-Encoding: only what the link set
                self.assertRequest(req, verb, path, headers, want_body)

    def test_methods_without_body(self):
        # POST/PUT/PATCH/DELETE with no requestBody: an empty body, nothing else added.
        t = tag()
        started = []
        for method in ("HttpPost", "HttpPut", "HttpPatch", "HttpDelete"):
            marker = "%s-%s" % (t, method)
            _, link = self.make("Api", self.sink.url + "/nb/" + marker, method=method)
            self.click(link)
            started.append((method, link, marker))
        for method, link, marker in started:
            with self.subTest(method=method):
                st, diag = self.wait_result(link, "Api")
                self.assertEqual(st, S, diag)
                (req,) = self.sink_requests(marker)
                self.assertEqual(req.method, METHODS[method])
                self.assertEqual(req.body, b"")
                names = sorted(k.lower() for k, _ in req.headers)
                self.assertIn(names, (["host", "user-agent"],
                                      ["content-length", "host", "user-agent"]), req.headers)
                if req.header("Content-Length") is not None:
                    self.assertEqual(req.header("Content-Length"), "0")

    def test_largest_body_sent_whole_without_expect(self):
        # a 64 KiB body (the most a link may hold) arrives whole, with no Expect round trip
        t = tag()
        body = ("{!userId}" + "b" * (65536 - len("{!userId}")))
        _, link = self.make("Api", self.sink.url + "/big/" + t, method="HttpPut", body=body)
        self.click(link)
        st, diag = self.wait_result(link, "Api")
        self.assertEqual(st, S, diag)
        (req,) = self.sink_requests("/big/" + t)
        want = (self.alice.user_id + "b" * (65536 - len("{!userId}"))).encode()
        self.assertRequest(req, "PUT", "/big/" + t, [
            ("Host", "127.0.0.1:%d" % self.sink.port), ("User-Agent", self.user_agent()),
            ("Content-Length", str(len(want)))], want)

    def test_link_headers_replace_defaults_case_insensitively(self):
        # the link sets accept / content-type in lower case: sent once, as the link wrote
        # them, with none of the client library's defaults beside them (SPEC 11.10)
        t = tag()
        hs = [("accept", "text/csv"), ("content-type", "text/plain"), ("x-lower", "v")]
        _, link = self.make("Api", self.sink.url + "/lc/" + t, method="HttpPost",
                            headers=hs, body="a=b")
        self.click(link)
        st, diag = self.wait_result(link, "Api")
        self.assertEqual(st, S, diag)
        (req,) = self.sink_requests("/lc/" + t)
        self.assertRequest(req, "POST", "/lc/" + t, [
            ("Host", "127.0.0.1:%d" % self.sink.port), ("User-Agent", self.user_agent()),
            ("Content-Length", "3")] + hs, b"a=b")

    def test_header_rendered_empty(self):
        # a header whose value renders to "" ({!communityUrl}) is still sent, empty
        t = tag()
        _, link = self.make("Api", self.sink.url + "/empty/" + t, method="HttpGet",
                            headers=[("X-Community-Url", "{!communityUrl}")])
        self.click(link)
        st, diag = self.wait_result(link, "Api")
        self.assertEqual(st, S, diag)
        (req,) = self.sink_requests("/empty/" + t)
        self.assertRequest(req, "GET", "/empty/" + t, [
            ("Host", "127.0.0.1:%d" % self.sink.port), ("User-Agent", self.user_agent()),
            ("X-Community-Url", "")], b"")

    def test_context_variables(self):
        # In the URL (percent-encoded: the values are 18-character ids, the zero community
        # id and an empty community URL, all unreserved characters) and as-is in headers
        # and the body, with the executing user (alice, not the creator) as userId.
        self.assertEqual(len(self.alice.user_id), 18)
        self.assertEqual(len(self.org_id), 18)
        info = self.alice.get("/services/oauth2/userinfo")
        self.assertEqual(info.status, 200, info)
        self.assertEqual(info.json()["organization_id"], self.org_id)
        all_vars = ("{!actionLinkId}|{!actionLinkGroupId}|{!communityId}|{!communityUrl}|"
                    "{!orgId}|{!userId}")
        host = "127.0.0.1:%d" % self.sink.port
        for action_type in ("Api", "ApiAsync"):
            with self.subTest(type=action_type):
                t = tag()
                url = (self.sink.url + "/ctx/%s/{!actionLinkId}/{!actionLinkGroupId}/"
                       "{!communityId}/c{!communityUrl}c/{!orgId}/{!userId}"
                       "?u={!userId}&g={!actionLinkGroupId}&x=a%%20b" % t)
                headers = [("X-All", all_vars),
                           ("X-Raw", "a b%20c/{!userId}?&=é"),
                           ("Content-Type", "application/json; charset=utf-8"),
                           ("Accept", "application/json")]
                body = ('{"all":"%s","raw":"a b%%20c/{!orgId}?&=é\\n","n":1}' % all_vars)
                group, link = self.make(action_type, url, method="HttpPut", headers=headers,
                                        body=body)
                self.assertEqual(len(link), 18)
                self.assertEqual(len(group), 18)
                self.click(link)
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, S if action_type == "Api" else P, diag)
                values = {"{!actionLinkId}": link, "{!actionLinkGroupId}": group,
                          "{!communityId}": "000000000000000000", "{!communityUrl}": "",
                          "{!orgId}": self.org_id, "{!userId}": self.alice.user_id}

                def fill(s):
                    for k, v in values.items():
                        s = s.replace(k, v)
                    return s

                want_path = ("/ctx/%s/%s/%s/000000000000000000/cc/%s/%s?u=%s&g=%s&x=a%%20b" %
                             (t, link, group, self.org_id, self.alice.user_id,
                              self.alice.user_id, group))
                self.assertDiag(diag, answered_re(
                    "PUT", self.sink.url + want_path.split("?")[0], "200 OK", "ok"))
                (req,) = self.sink_requests("/ctx/" + t)
                want_body = fill(body).encode("utf-8")
                # header values travel as bytes; the sink decodes them as latin-1
                want_headers = [("Host", host), ("User-Agent", self.user_agent()),
                                ("Content-Length", str(len(want_body)))] + [
                    (k, fill(v).encode("utf-8").decode("latin-1")) for k, v in headers]
                self.assertRequest(req, "PUT", want_path, want_headers, want_body)
                self.assertEqual(req.header("X-All"),
                                 "%s|%s|000000000000000000||%s|%s" % (
                                     link, group, self.org_id, self.alice.user_id))


class Relative(CalloutTest):
    """SPEC 7.4: a relative actionUrl calls this server as the executing user."""

    def self_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server.port, path)

    def test_relative_get_user_succeeds(self):
        path = API + "/sobjects/User/{!userId}"
        for action_type in ("Api", "ApiAsync"):
            with self.subTest(type=action_type):
                _, link = self.make(action_type, path, method="HttpGet")
                self.click(link)
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, S if action_type == "Api" else P, diag)
                m = re.fullmatch(answered_re(
                    "GET", self.self_url(API + "/sobjects/User/" + self.alice.user_id),
                    "200 OK", "") + "(.*)", diag)
                self.assertIsNotNone(m, diag)
                user = json.loads(m.group(2))
                self.assertEqual(user["Id"], self.alice.user_id)
                self.assertEqual(user["Username"], "alice")
                self.assertNotIn("Bearer", diag)
                self.assertNotIn(self.org_id + "!", diag)  # no token in the line

    def test_relative_call_is_made_as_the_executing_user(self):
        # userinfo names the user of the token the server used: alice, who clicked.
        _, link = self.make("Api", "/services/oauth2/userinfo", method="HttpGet")
        self.click(link)
        st, diag = self.wait_result(link, "Api")
        self.assertEqual(st, S, diag)
        m = re.fullmatch(answered_re("GET", self.self_url("/services/oauth2/userinfo"),
                                     "200 OK", "") + "(.*)", diag)
        self.assertIsNotNone(m, diag)
        info = json.loads(m.group(2))
        self.assertEqual(info["user_id"], self.alice.user_id)
        self.assertEqual(info["preferred_username"], "alice")

    def test_relative_404_fails(self):
        path = API + "/no-such-resource/{!actionLinkId}"
        for action_type in ("Api", "ApiAsync"):
            with self.subTest(type=action_type):
                _, link = self.make(action_type, path, method="HttpGet")
                self.click(link)
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, F, diag)
                m = re.fullmatch(answered_re(
                    "GET", self.self_url(API + "/no-such-resource/" + link),
                    "404 Not Found", "") + "(.*)", diag)
                self.assertIsNotNone(m, diag)
                err = json.loads(m.group(2))
                self.assertEqual(err[0]["errorCode"], "NOT_FOUND")


class Excerpts(CalloutTest):
    """SPEC 11.5: the first 512 bytes of the answer, escaped afterwards; the standard
    reason phrase whatever the endpoint sent."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.raw = RawResponder()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.raw.close()

    def run_raw(self, path, status_line, body, code_reason, excerpt, api_status=S,
                extra_headers=b""):
        self.raw.answer(path, status_line, body, extra_headers)
        results = []
        for action_type in ("Api", "ApiAsync"):
            _, link = self.make(action_type, self.raw.url + path, method="HttpGet")
            self.click(link)
            results.append((action_type, link))
        for action_type, link in results:
            with self.subTest(type=action_type, path=path):
                st, diag = self.wait_result(link, action_type)
                want = api_status if action_type == "Api" or api_status != S else P
                self.assertEqual(st, want, diag)
                self.assertDiag(diag, answered_re("GET", self.raw.url + path, code_reason,
                                                  excerpt))

    def test_escaping_and_cut(self):
        prefix = b"A\nB\rC\tD\\E\x00\x01\x1b\x1f\x7f\x80\xc3\xa9\xff \"'<>{}%~"
        body = prefix + b"x" * (511 - len(prefix)) + b"Y" + b"Z" * 100
        self.assertEqual(len(body), 612)
        written = ("A\\nB\\rC\\tD\\\\E\\x00\\x01\\x1B\\x1F\\x7F\\x80\\xC3\\xA9\\xFF \"'<>{}%~" +
                   "x" * (511 - len(prefix)) + "Y")
        self.assertEqual(escape_excerpt(body), written)  # the rule, spelled out by hand
        self.run_raw("/esc/" + tag(), b"HTTP/1.1 200 OK", body, "200 OK", written)

    def test_cut_inside_a_utf8_character(self):
        body = b"e" * 511 + "é".encode() + b"tail"  # byte 512 is the lead byte of é
        self.run_raw("/utf8/" + tag(), b"HTTP/1.1 201 Created", body, "201 Created",
                     "e" * 511 + "\\xC3")

    def test_exactly_512_and_short_bodies(self):
        self.run_raw("/b512/" + tag(), b"HTTP/1.1 200 OK", b"q" * 512, "200 OK", "q" * 512)
        self.run_raw("/b513/" + tag(), b"HTTP/1.1 200 OK", b"q" * 512 + b"\n", "200 OK",
                     "q" * 512)
        self.run_raw("/b1/" + tag(), b"HTTP/1.1 200 OK", b"\n", "200 OK", "\\n")

    def test_standard_reason_phrase(self):
        self.run_raw("/nope/" + tag(), b"HTTP/1.1 404 Nope", b"gone", "404 Not Found",
                     "gone", api_status=F)
        self.run_raw("/fine/" + tag(), b"HTTP/1.1 200 Fine", b"yes", "200 OK", "yes")

    def run_raw_failed(self, path, raw, text):
        self.raw.answer_bytes(path, raw)
        results = []
        for action_type in ("Api", "ApiAsync"):
            _, link = self.make(action_type, self.raw.url + path, method="HttpGet")
            self.click(link)
            results.append((action_type, link))
        for action_type, link in results:
            with self.subTest(type=action_type, path=path):
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, F, diag)
                self.assertDiag(diag, failed_re("GET", self.raw.url + path, text))

    def test_body_cut_short(self):
        # a 200 whose body stops before its Content-Length: not a complete answer
        self.run_raw_failed("/short/" + tag(), b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                            b"Connection: close\r\n\r\nonly ten b",
                            "connection closed before a complete answer")

    def test_headers_cut_short(self):
        # the status line (and part of the headers), then the connection closes before the
        # blank line that ends the headers: not a complete answer either, whatever the code
        self.run_raw_failed("/headers/" + tag(), b"HTTP/1.1 200 OK\r\nContent-Le",
                            "connection closed before a complete answer")
        self.run_raw_failed("/status-line/" + tag(), b"HTTP/1.1 200 OK\r\n",
                            "connection closed before a complete answer")

    def test_not_http_answer(self):
        # an endpoint that answers something that is not HTTP: FailedStatus, and the line
        # must not blame the scheme (the scheme, http, was allowed)
        path = "/garbage/" + tag()
        self.raw.answer_bytes(path, b"hello there\r\n\r\n")
        results = []
        for action_type in ("Api", "ApiAsync"):
            _, link = self.make(action_type, self.raw.url + path, method="HttpGet")
            self.click(link)
            results.append((action_type, link))
        for action_type, link in results:
            with self.subTest(type=action_type):
                st, diag = self.wait_result(link, action_type)
                self.assertEqual(st, F, diag)
                m = re.fullmatch(re.escape("GET %s -> " % (self.raw.url + path)) +
                                 r"(.+) after \d+ ms", diag)
                self.assertIsNotNone(m, diag)
                self.assertNotEqual(m.group(1), "scheme not allowed", diag)

    def test_redirects_not_followed(self):
        # 3xx with a Location to the sink: the sink never hears of it, the line shows the 3xx
        for code, reason in ((301, "Moved Permanently"), (302, "Found"), (303, "See Other"),
                             (307, "Temporary Redirect"), (308, "Permanent Redirect")):
            target = "/followed/" + tag()
            location = ("Location: %s%s\r\n" % (self.sink.url, target)).encode()
            self.run_raw("/r%d/%s" % (code, tag()), b"HTTP/1.1 %d %s" % (code, reason.encode()),
                         b"see there", "%d %s" % (code, reason), "see there", api_status=F,
                         extra_headers=location)
            self.assertEqual(self.sink_requests(target), [])

    def test_large_answer(self):
        # 100 KiB: reading stops at the limit, the answer still counts (2xx), excerpt 512.
        body = bytes(range(256)) * 400
        self.run_raw("/big/" + tag(), b"HTTP/1.1 200 OK", body, "200 OK",
                     escape_excerpt(body))


class Metrics(CalloutTest):
    """GET /metrics: started, finished by outcome, and the duration histogram move."""

    def metrics(self):
        r = self.server.client().get("/metrics", auth=False)
        self.assertEqual(r.status, 200, r)
        return parse_metrics(r.body)

    def test_counters_move(self):
        fin = 'actionlinks_callouts_finished_total{outcome="%s"}'
        m0 = self.metrics()
        t = tag()
        urls = {"success": self.sink.url + "/status/200/" + t,
                "http_error": self.sink.url + "/status/500/" + t,
                "network_error": "http://127.0.0.1:%d/x/%s" % (closed_port(), t),
                "refused": "http://127.0.0.2:%d/status/200/%s" % (self.sink.port, t)}
        links = []
        for outcome, url in urls.items():
            _, link = self.make("Api", url)
            self.click(link)
            links.append(link)
        for link in links:
            self.wait_result(link, "Api")

        def moved():
            m = self.metrics()
            return m if (m["actionlinks_callout_duration_seconds_count"] -
                         m0["actionlinks_callout_duration_seconds_count"] >= 4) else None
        m1 = poll(moved, 30, "the histogram count")
        self.assertEqual(m1["actionlinks_callouts_started_total"] -
                         m0["actionlinks_callouts_started_total"], 4)
        for outcome in urls:
            self.assertEqual(m1[fin % outcome] - m0[fin % outcome], 1, outcome)
        self.assertEqual(m1["actionlinks_callout_duration_seconds_count"] -
                         m0["actionlinks_callout_duration_seconds_count"], 4)
        inf = 'actionlinks_callout_duration_seconds_bucket{le="+Inf"}'
        self.assertEqual(m1[inf] - m0[inf], 4)
        self.assertEqual(m1[inf], m1["actionlinks_callout_duration_seconds_count"])
        self.assertGreater(m1["actionlinks_callout_duration_seconds_sum"],
                           m0["actionlinks_callout_duration_seconds_sum"])
        self.assertEqual(m1["actionlinks_callouts_in_flight"], 0)
        self.assertEqual(m1["actionlinks_callouts_queued"], 0)
        self.assertEqual(m1["actionlinks_up"], 1)
        buckets = [(float(k.split('le="')[1].rstrip('"}')), v) for k, v in m1.items()
                   if k.startswith("actionlinks_callout_duration_seconds_bucket")
                   and "+Inf" not in k]
        counts = [v for _, v in sorted(buckets)]
        self.assertEqual(counts, sorted(counts))  # cumulative
        self.assertLessEqual(counts[-1], m1[inf])


class Delivery(CalloutTest):
    """At most once, and a PATCH that does not wait for the endpoint."""

    def barrier(self):
        """Sends one more callout and waits for it: anything queued before it has been
        claimed by then."""
        marker = "barrier-" + tag()
        _, link = self.make("Api", self.sink.url + "/status/200/" + marker)
        self.click(link)
        self.wait_result(link, "Api")
        self.wait_sink(marker)

    def test_sent_once_even_when_patched_again(self):
        for action_type in ("Api", "ApiAsync"):
            with self.subTest(type=action_type):
                t = tag()
                _, link = self.make(action_type, self.sink.url + "/slow/500/" + t)
                before = self.callouts_count()
                self.click(link)
                self.click(link)  # again while the callout is queued or under way
                self.wait_sink(t)
                self.click(link)  # again while the endpoint is answering
                st, _ = self.wait_result(link, action_type)
                final = S if action_type == "Api" else P
                self.assertEqual(st, final)
                self.click(link, expect=final)  # again after the result
                self.assertEqual(self.callouts_count(), before + 1)
                self.barrier()
                self.assertEqual(len(self.sink_requests(t)), 1)
                self.assertEqual(self.status(link), final)

    def test_concurrent_clicks_send_once(self):
        # several users click the same Once link at the same time: one request
        users = [self.server.user("u%s%d" % (tag()[:6], i), app="app1") for i in range(4)]
        t = tag()
        _, link = self.make("Api", self.sink.url + "/status/200/" + t)
        answers = []
        go = threading.Event()

        def click(c):
            go.wait(10)
            answers.append(c.set_status(link, P))
        threads = [threading.Thread(target=click, args=(c,)) for c in users]
        for th in threads:
            th.start()
        go.set()
        for th in threads:
            th.join(60)
        codes = sorted(a.status for a in answers)
        self.assertEqual(codes.count(200), 1, answers)
        self.assertEqual(codes.count(409), len(users) - 1, answers)
        self.wait_sink(t)
        self.barrier()
        self.assertEqual(len(self.sink_requests(t)), 1)

    def test_patch_does_not_wait_for_the_endpoint(self):
        t = tag()
        _, slow = self.make("Api", self.sink.url + "/slow/2000/" + t)
        start = time.monotonic()
        self.click(slow)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 1.5, "the PATCH waited %.2fs for the endpoint" % elapsed)
        # while the slow one is under way, another user's callout goes through
        self.wait_sink(t)
        fast_t = tag()
        _, fast = self.make("Api", self.sink.url + "/status/200/" + fast_t)
        self.click(fast)
        st, _ = self.wait_result(fast, "Api", timeout=10)
        self.assertEqual(st, S)
        self.assertEqual(self.status(slow), P)
        self.assertIsNone(self.diagnostic(slow))
        st, diag = self.wait_result(slow, "Api")
        self.assertEqual(st, S, diag)
        ms = self.assertDiag(diag, answered_re("POST", self.sink.url + "/slow/2000/" + t,
                                               "200 OK", "ok"))
        self.assertGreaterEqual(ms, 1900)


if __name__ == "__main__":
    harness.main()
