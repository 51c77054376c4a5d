"""Bad input (SPEC 2, 3, 5, 6, 11.3): malformed and oversized bodies, wrong types, bad
encodings, media types, tokens, ids, methods, paths and versions, HEAD, the PATCH status
forms, and the wire forms a client may use (no Content-Type, chunked, repeated slashes).

Every error must be the one-element array [{"errorCode","message"}] served as
application/json;charset=UTF-8, never a 5xx, and the server must keep serving after it
(tearDown checks that with a good request on a new connection). Raw sockets are used
where http.client cannot send the bytes a test needs."""
import json
import os
import socket
import sqlite3
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, group_def, link_def  # noqa: E402

DEFS = API + "/connect/action-link-group-definitions"
LINKS = API + "/connect/action-links"
GROUPS = API + "/connect/action-link-groups"
JSON_CT = "application/json;charset=UTF-8"
SESSION_MSG = "Session expired or invalid"
MAX_BODY = 1 << 20


def ui_def(**kw):
    return group_def([link_def("Ui", url="https://example.com/page", label="View")], **kw)


def definition_bytes(**kw):
    return json.dumps(group_def([link_def("Api")], **kw)).encode()


class RawResponse(harness.Response):
    def __init__(self, status, headers, data):
        self.data = data
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # checked by assertJsonError
        super().__init__(status, headers, text if text is not None else "")
        self.valid_utf8 = text is not None


class Raw:
    """One raw HTTP/1.1 connection: send bytes, parse responses."""

    def __init__(self, port, timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False  # the server answered early and closed; read the answer

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_response(self, head=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers.append((k.strip(), v.strip()))
        h = {k.lower(): v for k, v in headers}
        body = b""
        if head or status in (204, 304) or status < 200:
            pass
        elif "chunked" in h.get("transfer-encoding", "").lower():
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                while len(self.buf) < size + 2:
                    self._fill()
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
        elif "content-length" in h:
            n = int(h["content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
        else:
            try:
                while True:
                    self._fill()
            except (ConnectionError, socket.timeout):
                pass
            body, self.buf = self.buf, b""
        return RawResponse(status, headers, body)

    def close(self):
        self.sock.close()


def request_bytes(method, path, body=None, headers=(), token=None, chunks=None,
                  content_type=b"application/json"):
    """An HTTP/1.1 request. body: bytes sent with Content-Length; chunks: a list of bytes
    sent chunked. content_type None sends no Content-Type. headers: (name, value) pairs
    of str or bytes, sent as they are."""
    def b(x):
        return x if isinstance(x, bytes) else x.encode("latin-1")
    out = [b(method) + b" " + b(path) + b" HTTP/1.1", b"Host: 127.0.0.1"]
    if token:
        out.append(b"Authorization: Bearer " + b(token))
    if content_type is not None and (body is not None or chunks is not None):
        out.append(b"Content-Type: " + b(content_type))
    for k, v in headers:
        out.append(b(k) + b": " + b(v))
    payload = b""
    if chunks is not None:
        out.append(b"Transfer-Encoding: chunked")
        for c in chunks:
            payload += b"%x\r\n" % len(c) + c + b"\r\n"
        payload += b"0\r\n\r\n"
    elif body is not None:
        out.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(out) + b"\r\n\r\n" + payload


class BadInputBase(harness.ServerTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.user("alice")
        cls.bob = cls.server.user("bob")
        r = cls.alice.create_group(ui_def())
        if r.status != 201:
            raise AssertionError("setup: %r" % r)
        cls.group = r.json()
        cls.group_id = cls.group["id"]
        cls.link_id = cls.group["actionLinks"][0]["id"]

    def tearDown(self):
        # The server keeps serving after whatever the test sent: a good request on a new
        # connection.
        c = self.server.client(self.alice.token)
        r = c.get(DEFS + "/" + self.group_id)
        self.assertEqual(r.status, 200, "server not serving after the test: %r" % r)
        self.assertEqual(r.json()["id"], self.group_id)
        if c.conn:
            c.conn.close()

    # -- helpers ------------------------------------------------------------------------

    def raw(self, data, head=False, timeout=60):
        conn = Raw(self.server.port, timeout)
        try:
            conn.send(data)
            return conn.read_response(head=head)
        finally:
            conn.close()

    def counts(self):
        conn = sqlite3.connect("file:%s?mode=ro" % self.server.db, uri=True, timeout=10)
        try:
            return tuple(conn.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
                         for t in ("groups", "links", "executions"))
        finally:
            conn.close()

    def assertJsonError(self, resp, status, code, field=None):
        if isinstance(resp, RawResponse):
            self.assertTrue(resp.valid_utf8, "error body is not UTF-8: %r" % resp.data[:300])
            self.assertTrue(resp.body, "error with an empty body: %d %r" % (
                resp.status, resp.headers))
        self.assertLess(resp.status, 500, resp)
        self.assertError(resp, status, code, field)
        self.assertEqual(resp.header("Content-Type"), JSON_CT, resp)

    def new_ui_link(self):
        r = self.alice.create_group(ui_def())
        self.assertEqual(r.status, 201, r)
        return r.json()["actionLinks"][0]["id"]

    def fresh_token(self, *extra):
        return self.server.admin("token", "issue", "alice", "--app", "testapp",
                                 *extra)["access_token"]


class Bodies(BadInputBase):
    """Malformed, deep, large, wrongly typed and wrongly encoded bodies."""

    def post_raw(self, body, **kw):
        return self.raw(request_bytes("POST", DEFS, body, token=self.alice.token, **kw))

    def test_malformed_json(self):
        for body in (b"{", b'{"category":', b"not json", b"{'category': 'Primary'}",
                     b'{"a":1,}', b"[1, 2", b'{"a":1}}', b'{"a" 1}', b'{"a":"open}',
                     b'{"a":01}', b'{"a":NaN}', b'{"a":1}{"b":2}', b"\x00",
                     b'{"a":tru}', b"\xef\xbb\xbf\xef\xbb\xbf{}"):
            with self.subTest(body=body):
                before = self.counts()
                self.assertJsonError(self.post_raw(body), 400, "JSON_PARSER_ERROR")
                self.assertEqual(self.counts(), before)

    def test_malformed_json_in_patch(self):
        r = self.raw(request_bytes("PATCH", LINKS + "/" + self.link_id, b'{"status":',
                                   token=self.alice.token))
        self.assertJsonError(r, 400, "JSON_PARSER_ERROR")

    def test_empty_body_on_post(self):
        for body in (b"", b"   \r\n\t "):
            with self.subTest(body=body):
                self.assertJsonError(self.post_raw(body), 400, "JSON_PARSER_ERROR")

    def test_nesting_deeper_than_64(self):
        # The object itself is level 1; 64 more arrays inside it make 65.
        d = group_def([link_def("Api")])
        text = json.dumps(d)[:-1] + ', "extra": ' + "[" * 64 + "]" * 64 + "}"
        before = self.counts()
        self.assertJsonError(self.post_raw(text.encode()), 400, "JSON_PARSER_ERROR")
        self.assertEqual(self.counts(), before)
        bare = b"[" * 65 + b"]" * 65
        self.assertJsonError(self.post_raw(bare), 400, "JSON_PARSER_ERROR")

    def test_nesting_of_64_accepted(self):
        d = group_def([link_def("Api")])
        text = json.dumps(d)[:-1] + ', "extra": ' + "[" * 63 + "]" * 63 + "}"
        r = self.post_raw(text.encode())
        self.assertEqual(r.status, 201, r)

    def test_very_deep_nesting(self):
        for body in (b"[" * 200000, b'{"a":' * 100000, b"[" * 100000 + b"]" * 100000):
            with self.subTest(size=len(body)):
                self.assertJsonError(self.post_raw(body), 400, "JSON_PARSER_ERROR")

    def test_brackets_in_strings_do_not_count(self):
        d = group_def([link_def("Api", requestBody="[" * 200 + "\\\"{" * 100)],
                      extra="{" * 300)
        r = self.post_raw(json.dumps(d).encode())
        self.assertEqual(r.status, 201, r)

    def test_nesting_in_patch(self):
        body = b'{"status": "PendingStatus", "x": ' + b"[" * 70 + b"]" * 70 + b"}"
        r = self.raw(request_bytes("PATCH", LINKS + "/" + self.link_id, body,
                                   token=self.alice.token))
        self.assertJsonError(r, 400, "JSON_PARSER_ERROR")

    def test_2_mib_body_content_length(self):
        before = self.counts()
        body = b'{"pad": "' + b"x" * (2 << 20) + b'"}'
        self.assertJsonError(self.post_raw(body), 413, "REQUEST_TOO_LARGE")
        self.assertEqual(self.counts(), before)

    def test_2_mib_body_chunked(self):
        before = self.counts()
        chunks = [b'{"pad": "'] + [b"x" * 65536] * 32 + [b'"}']
        self.assertJsonError(self.post_raw(None, chunks=chunks), 413, "REQUEST_TOO_LARGE")
        self.assertEqual(self.counts(), before)

    def test_2_mib_patch(self):
        body = b'{"status": "PendingStatus", "pad": "' + b"x" * (2 << 20) + b'"}'
        r = self.raw(request_bytes("PATCH", LINKS + "/" + self.link_id, body,
                                   token=self.alice.token))
        self.assertJsonError(r, 413, "REQUEST_TOO_LARGE")
        self.assertEqual(self.alice.link(self.link_id).json()["status"], "NewStatus")

    def test_limit_is_1_mib(self):
        text = json.dumps(group_def([link_def("Api")])).encode()
        at_limit = text[:-1] + b" " * (MAX_BODY - len(text)) + b"}"
        self.assertEqual(len(at_limit), MAX_BODY)
        r = self.post_raw(at_limit)
        self.assertEqual(r.status, 201, r)
        over = text[:-1] + b" " * (MAX_BODY + 1 - len(text)) + b"}"
        self.assertJsonError(self.post_raw(over), 413, "REQUEST_TOO_LARGE")

    def test_huge_declared_length_answered_before_body(self):
        # 1 GiB announced, nothing sent: the 413 must come without reading the body.
        conn = Raw(self.server.port, timeout=30)
        try:
            conn.send(b"POST " + DEFS.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + self.alice.token.encode() +
                      b"\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1073741824\r\n\r\n")
            r = conn.read_response()
        finally:
            conn.close()
        self.assertJsonError(r, 413, "REQUEST_TOO_LARGE")

    def test_413_keeps_connection_usable_or_closes_cleanly(self):
        conn = Raw(self.server.port)
        try:
            body = b'{"pad": "' + b"x" * (MAX_BODY + 10) + b'"}'
            conn.send(request_bytes("POST", DEFS, body, token=self.alice.token))
            r = conn.read_response()
            self.assertJsonError(r, 413, "REQUEST_TOO_LARGE")
            if (r.header("Connection") or "").lower() != "close":
                conn.send(request_bytes("GET", DEFS + "/" + self.group_id,
                                        token=self.alice.token))
                self.assertEqual(conn.read_response().status, 200)
        finally:
            conn.close()

    def test_top_level_not_an_object(self):
        for body in (b"[]", b"[{}]", b'"text"', b"42", b"null", b"true"):
            with self.subTest(body=body):
                r = self.post_raw(body)
                self.assertEqual(r.status, 400, r)
                self.assertIn(r.json()[0]["errorCode"],
                              ("JSON_PARSER_ERROR", "INVALID_API_INPUT"), r)
                self.assertJsonError(r, 400, r.json()[0]["errorCode"])

    def test_wrong_json_types(self):
        cases = [("category", 5, "category"), ("executionsAllowed", True, "executionsAllowed"),
                 ("expirationDate", 1893456000000, "expirationDate"),
                 ("actionLinks", {"a": 1}, "actionLinks"), ("actionLinks", "x", "actionLinks")]
        for key, value, field in cases:
            with self.subTest(field=key, value=value):
                d = group_def([link_def("Api")])
                d[key] = value
                before = self.counts()
                self.assertJsonError(self.alice.create_group(d), 400, "INVALID_API_INPUT",
                                     field)
                self.assertEqual(self.counts(), before)
        link_cases = [("actionType", ["Api"]), ("actionUrl", 1), ("method", {}),
                      ("labelKey", False), ("requiresConfirmation", 1.5),
                      ("groupDefault", {}), ("headers", "X-A: 1"), ("requestBody", 12)]
        for key, value in link_cases:
            with self.subTest(field=key, value=value):
                k = link_def("Api")
                k[key] = value
                before = self.counts()
                self.assertJsonError(self.alice.create_group(group_def([k])), 400,
                                     "INVALID_API_INPUT", "actionLinks[0]." + key)
                self.assertEqual(self.counts(), before)

    def test_unknown_enum_values(self):
        for key, value in (("category", "Tertiary"), ("executionsAllowed", "Always")):
            with self.subTest(field=key):
                d = group_def([link_def("Api")])
                d[key] = value
                self.assertJsonError(self.alice.create_group(d), 400, "INVALID_API_INPUT", key)
        for key, value in (("actionType", "Email"), ("method", "HttpTrace")):
            with self.subTest(field=key):
                k = link_def("Api")
                k[key] = value
                self.assertJsonError(self.alice.create_group(group_def([k])), 400,
                                     "INVALID_API_INPUT", "actionLinks[0]." + key)

    def test_invalid_utf8(self):
        good = json.dumps(group_def([link_def("Api", requestBody="BODY")],
                                    extra="EXTRA")).encode()
        cases = {
            "lone 0xff in a field": good.replace(b"BODY", b"a\xffb"),
            "lone continuation byte": good.replace(b"BODY", b"\x80"),
            "overlong slash": good.replace(b"BODY", b"\xc0\xaf"),
            "truncated sequence": good.replace(b"BODY", b"\xe4\xb8"),
            "encoded surrogate": good.replace(b"BODY", b"\xed\xa0\x80"),
            "above U+10FFFF": good.replace(b"BODY", b"\xf4\x90\x80\x80"),
            "in an unknown field": good.replace(b"EXTRA", b"\xfe\xff"),
            "in a key": good.replace(b'"extra"', b'"ex\xfftra"'),
            "outside strings": good[:-1] + b", \xff}",
            "latin-1 text": good.replace(b"BODY", "caf\u00e9".encode("latin-1")),
        }
        for name, body in cases.items():
            with self.subTest(case=name):
                before = self.counts()
                self.assertJsonError(self.post_raw(body), 400, "JSON_PARSER_ERROR")
                self.assertEqual(self.counts(), before)

    def test_invalid_utf8_alone(self):
        # A body that is nothing but bad bytes: the parser's message must not echo them.
        for body in (b"\xff", b"\xff\xfe\xfd", b"\xc3", b'{"\xff": 1}', b"\xe9t\xe9"):
            with self.subTest(body=body):
                self.assertJsonError(self.post_raw(body), 400, "JSON_PARSER_ERROR")

    def test_invalid_utf8_in_patch(self):
        r = self.raw(request_bytes("PATCH", LINKS + "/" + self.link_id,
                                   b'{"status": "PendingStatus", "x": "\xff"}',
                                   token=self.alice.token))
        self.assertJsonError(r, 400, "JSON_PARSER_ERROR")
        self.assertEqual(self.alice.link(self.link_id).json()["status"], "NewStatus")

    def test_xml_and_form_bodies(self):
        bodies = {
            "application/xml": b"<?xml version='1.0'?><x/>",
            "text/xml; charset=UTF-8": b"<x/>",
            "APPLICATION/XML": b"<x/>",
            "application/atom+xml": b"<feed/>",
            "application/x-www-form-urlencoded": b"category=Primary&executionsAllowed=Once",
            "multipart/form-data; boundary=XyZ": b"--XyZ\r\nContent-Disposition: form-data;"
                                                 b' name="a"\r\n\r\n1\r\n--XyZ--\r\n',
        }
        for ct, body in bodies.items():
            with self.subTest(content_type=ct):
                before = self.counts()
                self.assertJsonError(self.post_raw(body, content_type=ct.encode()), 415,
                                     "UNSUPPORTED_MEDIA_TYPE")
                self.assertEqual(self.counts(), before)
                r = self.raw(request_bytes("PATCH", LINKS + "/" + self.link_id, body,
                                           token=self.alice.token, content_type=ct.encode()))
                self.assertJsonError(r, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_xml_content_type_even_with_json_body(self):
        r = self.post_raw(definition_bytes(), content_type=b"application/xml")
        self.assertJsonError(r, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_415_with_odd_content_type_bytes(self):
        # The message may quote the Content-Type; the answer must still be valid JSON.
        for ct in (b"application/xml; x=\xff\xfe", b"text/xml; note=" + "\u00e9".encode() * 400,
                   b"application/xml; q=\"" + b"\\" * 300 + b"\"",
                   b"application/x-www-form-urlencoded; " + b"a" * 4000):
            with self.subTest(content_type=ct[:40]):
                r = self.post_raw(definition_bytes(), content_type=ct)
                self.assertJsonError(r, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_json_whatever_content_type(self):
        for ct in (None, b"application/json", b"application/json; charset=utf-8",
                   b"text/plain", b"application/octet-stream", b"text/json"):
            with self.subTest(content_type=ct):
                r = self.post_raw(definition_bytes(), content_type=ct)
                self.assertEqual(r.status, 201, r)
                self.assertEqual(r.header("Content-Type"), JSON_CT)


class Tokens(BadInputBase):
    """401 INVALID_SESSION_ID for every kind of bad token (SPEC 3)."""

    def protected(self):
        """(method, path, body) of every protected route."""
        return [("GET", "/services/oauth2/userinfo", None),
                ("GET", API + "/sobjects/User/" + self.alice.user_id, None),
                ("POST", DEFS, group_def([link_def("Api")])),
                ("GET", DEFS + "/" + self.group_id, None),
                ("DELETE", DEFS + "/" + self.group_id, None),
                ("GET", GROUPS + "/" + self.group_id, None),
                ("GET", LINKS + "/" + self.link_id, None),
                ("PATCH", LINKS + "/" + self.link_id, {"status": "PendingStatus"}),
                ("GET", LINKS + "/" + self.link_id + "/diagnostic-info", None)]

    def assertRefusedEverywhere(self, authorization):
        c = self.server.client()
        before = self.counts()
        for method, path, body in self.protected():
            with self.subTest(method=method, path=path, authorization=authorization):
                headers = {"Authorization": authorization} if authorization is not None else {}
                r = c.request(method, path, body=body, headers=headers, auth=False)
                self.assertJsonError(r, 401, "INVALID_SESSION_ID")
                self.assertEqual(r.json()[0]["message"], SESSION_MSG)
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.alice.link(self.link_id).json()["status"], "NewStatus")

    def test_missing_token(self):
        self.assertRefusedEverywhere(None)

    def test_unknown_token(self):
        org = self.alice.token.split("!")[0]
        self.assertRefusedEverywhere("Bearer " + org + "!" + uuid.uuid4().hex * 2)
        self.assertRefusedEverywhere("OAuth 00D000000000000AAA!" + "a" * 60)

    def test_malformed_tokens(self):
        t = self.alice.token
        for auth in ("", "Bearer", "Bearer ", "Bearer abc", "Basic YWxpY2U6c2VjcmV0",
                     "Token " + t, t, "Bearer " + t + "x", "Bearer " + t[:-1],
                     "Bearer " + t.replace("!", "?"), "Bearer " + t + " extra",
                     "Bearer " + t + ",Bearer " + t, "Bearer " + "A" * 5000,
                     "Bearer " + t[:20] + "\u00e9" + t[21:]):
            with self.subTest(authorization=auth[:60]):
                self.assertRefusedEverywhere(auth)

    def test_token_with_control_bytes(self):
        t = self.alice.token.encode()
        for auth in (b"Bearer " + t[:-1] + b"\x7f", b"Bearer " + t[:10] + b"\xff" + t[11:],
                     b"Bearer " + t[:30] + b"\x00" + t[31:]):
            with self.subTest(authorization=auth[-12:]):
                r = self.raw(request_bytes("GET", DEFS + "/" + self.group_id,
                                           headers=[("Authorization", auth)]))
                self.assertLess(r.status, 500, r)
                if r.status != 400:  # the HTTP layer may refuse a NUL outright
                    self.assertJsonError(r, 401, "INVALID_SESSION_ID")

    def test_revoked_token(self):
        token = self.fresh_token()
        c = self.server.client(token)
        self.assertEqual(c.get(DEFS + "/" + self.group_id).status, 200)
        self.server.admin("token", "revoke", token)
        self.assertRefusedEverywhere("Bearer " + token)
        self.assertRefusedEverywhere("OAuth " + token)
        # Revoking one token leaves the others alone.
        self.assertEqual(self.alice.get(DEFS + "/" + self.group_id).status, 200)

    def test_expired_token(self):
        token = self.fresh_token("--ttl", "1")
        time.sleep(2.5)
        self.assertRefusedEverywhere("Bearer " + token)
        self.assertRefusedEverywhere("OAuth " + token)

    def test_bearer_and_oauth_schemes(self):
        c = self.server.client()
        for scheme in ("Bearer", "OAuth"):
            with self.subTest(scheme=scheme):
                r = c.get(DEFS + "/" + self.group_id,
                          headers={"Authorization": scheme + " " + self.alice.token},
                          auth=False)
                self.assertEqual(r.status, 200, r)
                r = c.get("/services/oauth2/userinfo",
                          headers={"Authorization": scheme + " " + self.alice.token},
                          auth=False)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["user_id"], self.alice.user_id)

    def test_no_token_needed_for_discovery(self):
        c = self.server.client()
        for path in ("/services/data", API, "/healthz"):
            with self.subTest(path=path):
                self.assertEqual(c.get(path).status, 200)
                self.assertEqual(c.get(path, headers={"Authorization": "Bearer junk"},
                                       auth=False).status, 200)


class Ids(BadInputBase):
    """Malformed ids and ids of the wrong kind: 400 INVALID_ID_FIELD (SPEC 3)."""

    def routes(self, ident):
        return [("GET", DEFS + "/" + ident, None), ("DELETE", DEFS + "/" + ident, None),
                ("GET", GROUPS + "/" + ident, None), ("GET", LINKS + "/" + ident, None),
                ("PATCH", LINKS + "/" + ident, {"status": "PendingStatus"}),
                ("GET", LINKS + "/" + ident + "/diagnostic-info", None),
                ("GET", API + "/sobjects/User/" + ident, None)]

    def test_malformed_ids(self):
        before = self.counts()
        for ident in ("abc", "0Ag", "0An", "005", "0Ag00000000000", "0Ag0000000000000",
                      "0Ag00000000000000000", "0Ag00000000000-", "0Ag000000000000999",
                      "0Ag000000000000AA!", "null", "undefined", "me", "0" * 15, "x" * 300):
            for method, path, body in self.routes(ident):
                with self.subTest(method=method, path=path):
                    r = self.alice.request(method, path, body=body)
                    self.assertJsonError(r, 400, "INVALID_ID_FIELD")
        self.assertEqual(self.counts(), before)

    def test_wrong_key_prefix(self):
        group, link, user = self.group_id, self.link_id, self.alice.user_id
        cases = [("GET", DEFS + "/" + link, None), ("GET", DEFS + "/" + user, None),
                 ("DELETE", DEFS + "/" + link, None), ("GET", GROUPS + "/" + link, None),
                 ("GET", LINKS + "/" + group, None),
                 ("PATCH", LINKS + "/" + group, {"status": "PendingStatus"}),
                 ("GET", LINKS + "/" + user + "/diagnostic-info", None),
                 ("GET", API + "/sobjects/User/" + group, None),
                 ("GET", DEFS + "/" + link[:15], None), ("GET", LINKS + "/" + group[:15], None)]
        before = self.counts()
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                self.assertJsonError(self.alice.request(method, path, body=body), 400,
                                     "INVALID_ID_FIELD")
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.alice.get(DEFS + "/" + self.group_id).status, 200)

    def test_well_formed_unknown_ids(self):
        # 18-character forms need the right suffix: the suffix decides the case of each
        # letter, so a wrong one would turn "0Ag" into "0ag" (a malformed id).
        for method, path, body in (("GET", DEFS + "/0Ag000000000001CAA", None),
                                   ("DELETE", DEFS + "/0Ag000000000001", None),
                                   ("GET", GROUPS + "/0Ag000000000001", None),
                                   ("GET", LINKS + "/0An000000000001", None),
                                   ("PATCH", LINKS + "/0An000000000001",
                                    {"status": "PendingStatus"}),
                                   ("GET", LINKS + "/0An000000000001/diagnostic-info", None),
                                   ("GET", API + "/sobjects/User/005000000000001", None)):
            with self.subTest(method=method, path=path):
                self.assertJsonError(self.alice.request(method, path, body=body), 404,
                                     "NOT_FOUND")

    def test_case_insensitive_18_char_suffix(self):
        # The 18-character form's suffix letters may come in either case.
        r = self.alice.get(DEFS + "/" + self.group_id[:15] + self.group_id[15:].lower())
        self.assertEqual(r.status, 200, r)

    def test_percent_encoded_ids_never_5xx(self):
        for ident in ("%00", "0Ag%00000000000000", "%ff%fe", "0Ag000000000000%2FAAA", "%2e%2e",
                      "0Ag%20", "%E2%82%AC" * 5):
            with self.subTest(ident=ident):
                r = self.alice.get(DEFS + "/" + ident)
                self.assertIn(r.status, (400, 404), r)
                self.assertJsonError(r, r.status, r.json()[0]["errorCode"])


class MethodsPathsVersions(BadInputBase):

    def allow(self, r):
        value = r.header("Allow")
        self.assertIsNotNone(value, "405 without an Allow header: %r" % r)
        return {m.strip() for m in value.split(",") if m.strip()}

    def test_wrong_methods(self):
        item = DEFS + "/" + self.group_id
        link = LINKS + "/" + self.link_id
        cases = [(DEFS, ("GET", "PUT", "DELETE", "PATCH"), {"POST"}),
                 (item, ("POST", "PUT", "PATCH"), {"GET", "HEAD", "DELETE"}),
                 (GROUPS + "/" + self.group_id, ("POST", "PUT", "PATCH", "DELETE"),
                  {"GET", "HEAD"}),
                 (link, ("POST", "PUT", "DELETE"), {"GET", "HEAD", "PATCH"}),
                 (link + "/diagnostic-info", ("POST", "PATCH", "DELETE"), {"GET", "HEAD"}),
                 ("/services/data", ("POST", "DELETE"), {"GET", "HEAD"}),
                 (API, ("POST", "PUT"), {"GET", "HEAD"}),
                 ("/services/oauth2/userinfo", ("DELETE",), {"GET", "HEAD"})]
        before = self.counts()
        for path, methods, allowed in cases:
            for method in methods:
                with self.subTest(method=method, path=path):
                    body = {"status": "PendingStatus"} if method in ("POST", "PUT", "PATCH") \
                        else None
                    r = self.alice.request(method, path, body=body)
                    self.assertJsonError(r, 405, "METHOD_NOT_ALLOWED")
                    self.assertEqual(self.allow(r), allowed)
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.alice.get(item).status, 200)

    def test_unknown_method(self):
        for method in ("BREW", "PROPFIND", "TRACE"):
            with self.subTest(method=method):
                r = self.alice.request(method, DEFS + "/" + self.group_id)
                self.assertLess(r.status, 500, r)
                self.assertIn(r.status, (400, 405), r)
                self.assertJsonError(r, r.status, r.json()[0]["errorCode"])
                if r.status == 405:
                    self.assertEqual(self.allow(r), {"GET", "HEAD", "DELETE"})

    def test_unknown_paths(self):
        for path in ("/nope", "/services", "/services/data/v66.0/nope", API + "/connect",
                     API + "/connect/nope", API + "/connect/action-links",
                     DEFS + "/" + self.group_id + "/extra",
                     LINKS + "/" + self.link_id + "/diagnostic-info/more",
                     "/Services/data/v66.0", "/services/DATA", API + "/sobjects/Account/x",
                     "/services/data/v66.0/connect/action-link-group-definitions.json",
                     # as long as the longest route, and longer than any (the router
                     # compares segment counts first, and cuts no more than it needs)
                     API + "/chatter/feed-elements/x/capabilities/associated-actions-x",
                     LINKS + "/" + self.link_id + "/a/b/c/d/e/f/g/h/i/j"):
            for method in ("GET", "POST"):
                with self.subTest(method=method, path=path):
                    body = {} if method == "POST" else None
                    self.assertJsonError(self.alice.request(method, path, body=body), 404,
                                         "NOT_FOUND")

    def test_supported_versions(self):
        for v in ("31.0", "45.0", "66.0"):
            with self.subTest(version=v):
                root = "/services/data/v" + v
                r = self.alice.get(root)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["connect"], root + "/connect")
                r = self.alice.get(root + "/connect/action-link-group-definitions/" +
                                   self.group_id)
                self.assertEqual(r.status, 200, r)
                self.assertTrue(r.json()["url"].startswith(root + "/"), r)
                r = self.alice.post(root + "/connect/action-link-group-definitions",
                                    ui_def())
                self.assertEqual(r.status, 201, r)
                r = self.alice.get(root + "/connect/action-links/" + self.link_id)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["url"],
                                 root + "/connect/action-links/" + self.link_id)

    def test_version_list(self):
        r = self.server.client().get("/services/data")
        self.assertEqual(r.status, 200, r)
        versions = r.json()
        self.assertEqual([v["version"] for v in versions],
                         ["%d.0" % n for n in range(31, 67)])
        for v in versions:
            self.assertEqual(set(v), {"label", "url", "version"})
            self.assertEqual(v["url"], "/services/data/v" + v["version"])

    def test_unsupported_versions(self):
        before = self.counts()
        for v in ("v30.0", "v67.0", "v66.1", "v66", "v6.0", "v066.0", "v99.0", "v100.0",
                  "vXX.X", "66.0", "V66.0", "v31.5", "v-1.0"):
            root = "/services/data/" + v
            for method, path, body in (("GET", root, None),
                                       ("GET", root + "/connect/action-link-group-definitions/"
                                        + self.group_id, None),
                                       ("POST", root + "/connect/action-link-group-definitions",
                                        group_def([link_def("Api")])),
                                       ("PATCH", root + "/connect/action-links/" + self.link_id,
                                        {"status": "PendingStatus"})):
                with self.subTest(method=method, path=path):
                    self.assertJsonError(self.alice.request(method, path, body=body), 404,
                                         "NOT_FOUND")
        self.assertEqual(self.counts(), before)

    def test_repeated_and_trailing_slashes(self):
        r = self.alice.post("//services/data/v66.0//connect/action-link-group-definitions/",
                            ui_def())
        self.assertEqual(r.status, 201, r)
        gid = r.json()["id"]
        self.assertEqual(r.json()["url"], DEFS + "/" + gid)
        lid = r.json()["actionLinks"][0]["id"]
        for path in ("//services//data//v66.0//connect//action-link-group-definitions//" + gid,
                     DEFS + "/" + gid + "/", DEFS + "/" + gid + "//"):
            with self.subTest(path=path):
                r = self.alice.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["id"], gid)
        r = self.alice.patch("/services/data/v66.0/connect/action-links/" + lid + "//",
                             {"status": "PendingStatus"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus")
        r = self.alice.get("/services/data/")
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json(), list)
        r = self.alice.request("DELETE", "//services/data/v66.0/connect/"
                                         "action-link-group-definitions/" + gid + "/")
        self.assertEqual(r.status, 204, r)
        # Normalising must not turn an unknown path into a known one.
        self.assertJsonError(self.alice.get("/services/data/v66.0/connect/action-link-groups"),
                             404, "NOT_FOUND")


class Head(BadInputBase):
    """HEAD answers the status and headers of GET, without a body (SPEC 2)."""

    def head_and_get(self, path, token):
        conn = Raw(self.server.port)
        try:
            conn.send(request_bytes("HEAD", path, token=token))
            head = conn.read_response(head=True)
            if (head.header("Connection") or "").lower() == "close":
                conn.close()
                conn = Raw(self.server.port)
            # A body after the HEAD answer would show up as garbage before this answer.
            conn.send(request_bytes("GET", path, token=token))
            get = conn.read_response()
        finally:
            conn.close()
        return head, get

    def test_head_matches_get(self):
        t = self.alice.token
        cases = [(DEFS + "/" + self.group_id, t, 200), (GROUPS + "/" + self.group_id, t, 200),
                 (LINKS + "/" + self.link_id, t, 200),
                 (LINKS + "/" + self.link_id + "/diagnostic-info", t, 200),
                 ("/services/data", None, 200), (API, None, 200),
                 ("/services/oauth2/userinfo", t, 200),
                 (DEFS + "/0Ag000000000001", t, 404), (DEFS + "/bad", t, 400),
                 (DEFS + "/" + self.group_id, None, 401),
                 (DEFS + "/" + self.group_id, "00D000000000000AAA!" + "z" * 50, 401),
                 ("/services/data/v67.0", t, 404), ("/nope", t, 404), (DEFS, t, 405)]
        for path, token, status in cases:
            with self.subTest(path=path, token=bool(token)):
                head, get = self.head_and_get(path, token)
                self.assertEqual(get.status, status, get)
                self.assertEqual(head.status, get.status)
                self.assertEqual(head.data, b"")
                for name in ("Content-Type", "Content-Length", "Allow"):
                    self.assertEqual(head.header(name), get.header(name), name)
                self.assertEqual(get.header("Content-Length"), str(len(get.data)))


class PatchStatus(BadInputBase):
    """The PATCH status forms (SPEC 6) and INVALID_STATUS (SPEC 11.3)."""

    def status_of(self, link_id):
        return self.alice.link(link_id).json()["status"]

    def test_status_in_query(self):
        lid = self.new_ui_link()
        r = self.alice.request("PATCH", LINKS + "/" + lid + "?status=NewStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "NewStatus")
        r = self.alice.request("PATCH", LINKS + "/" + lid + "?status=PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus")
        self.assertEqual(self.status_of(lid), "PendingStatus")

    def test_status_in_body(self):
        lid = self.new_ui_link()
        r = self.alice.set_status(lid, "PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["status"], "PendingStatus")
        r = self.alice.set_status(lid, "SuccessfulStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.status_of(lid), "SuccessfulStatus")

    def test_missing_status(self):
        lid = self.new_ui_link()
        for body in ({}, {"Status": "PendingStatus"}, {"state": "PendingStatus"}, [],
                     [{"status": "PendingStatus"}]):
            with self.subTest(body=body):
                self.assertJsonError(self.alice.patch(LINKS + "/" + lid, body), 400,
                                     "INVALID_STATUS")
        self.assertEqual(self.status_of(lid), "NewStatus")

    def test_missing_status_no_body_no_query(self):
        lid = self.new_ui_link()
        r = self.raw(request_bytes("PATCH", LINKS + "/" + lid, b"", token=self.alice.token,
                                   content_type=None))
        self.assertJsonError(r, 400, "INVALID_STATUS")
        self.assertEqual(self.status_of(lid), "NewStatus")

    def test_unknown_status(self):
        lid = self.new_ui_link()
        for s in ("DoneStatus", "pendingstatus", "PENDINGSTATUS", "Pending", "", " PendingStatus",
                  "PendingStatus ", "Successful"):
            with self.subTest(status=s):
                self.assertJsonError(self.alice.set_status(lid, s), 400, "INVALID_STATUS")
                r = self.alice.request("PATCH", LINKS + "/" + lid + "?status=" +
                                       s.replace(" ", "%20"))
                self.assertJsonError(r, 400, "INVALID_STATUS")
        self.assertEqual(self.status_of(lid), "NewStatus")

    def test_status_not_a_string(self):
        lid = self.new_ui_link()
        for s in (None, 1, 0, True, ["PendingStatus"], {"name": "PendingStatus"}):
            with self.subTest(status=s):
                self.assertJsonError(self.alice.set_status(lid, s), 400, "INVALID_STATUS")
        self.assertEqual(self.status_of(lid), "NewStatus")

    def test_invalid_status_before_workflow(self):
        # A bad status on an Unlimited group is still INVALID_STATUS, not a 409.
        r = self.alice.create_group(ui_def(policy="Unlimited"))
        lid = r.json()["actionLinks"][0]["id"]
        self.assertJsonError(self.alice.set_status(lid, "Bogus"), 400, "INVALID_STATUS")

    def test_patch_without_content_type(self):
        lid = self.new_ui_link()
        r = self.raw(request_bytes("PATCH", LINKS + "/" + lid, b'{"status":"PendingStatus"}',
                                   token=self.alice.token, content_type=None))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.data)["status"], "PendingStatus")

    def test_bodies_near_the_usual_one(self):
        # {"status": "<letters>"} is read without a JSON parse (api/respond.c,
        # read_body_one_word); anything else goes to the parser, and both must judge alike.
        lid = self.new_ui_link()

        def patch(body, query="", **kw):
            return self.raw(request_bytes("PATCH", LINKS + "/" + lid + query, body,
                                          token=self.alice.token, **kw))
        good = b'{"status":"PendingStatus"}'
        bad = [(good[:i], "JSON_PARSER_ERROR") for i in range(1, len(good))]
        bad += [(b'{"status":"PendingStatus"}}', "JSON_PARSER_ERROR"),
                (b'{"status":"PendingStatus"} x', "JSON_PARSER_ERROR"),
                (b'{"status":"PendingStatus",}', "JSON_PARSER_ERROR"),
                (b'{"status":"PendingStatus","status":"PendingStatus"}', "JSON_PARSER_ERROR"),
                (b'{"status":PendingStatus}', "JSON_PARSER_ERROR"),
                (b'{"status":"Pending\x00Status"}', "JSON_PARSER_ERROR"),
                (b'\x00' + good, "JSON_PARSER_ERROR"),
                (good + b'\x00', "JSON_PARSER_ERROR"),
                # a NUL is not JSON whitespace: such a body is malformed, not empty
                (b'\x00', "JSON_PARSER_ERROR"),
                (b' \x00\n', "JSON_PARSER_ERROR"),
                (b'{"status":"PendingStatus\\"}', "JSON_PARSER_ERROR"),
                (b'{"status":"' + b"P" * 31 + b'"}', "INVALID_STATUS"),
                (b'{"status":"' + b"P" * 32 + b'"}', "INVALID_STATUS"),
                (b'{"status":"PendingStatusX"}', "INVALID_STATUS"),
                (b'{"statuses":"PendingStatus"}', "INVALID_STATUS"),
                (b'{"statu":"PendingStatus"}', "INVALID_STATUS"),
                (b'{"status":""}', "INVALID_STATUS")]
        for body, code in bad:
            with self.subTest(body=body):
                self.assertJsonError(patch(body), 400, code)
        for ct in (b"application/xml", b"application/x-www-form-urlencoded",
                   b"multipart/form-data; boundary=x"):
            with self.subTest(content_type=ct):
                self.assertJsonError(patch(good, content_type=ct), 415, "UNSUPPORTED_MEDIA_TYPE")
        # the query's status wins over the body's, which must still be good JSON
        self.assertJsonError(patch(good[:-1], "?status=PendingStatus"), 400, "JSON_PARSER_ERROR")
        self.assertJsonError(patch(good, "?status=Bogus"), 400, "INVALID_STATUS")
        self.assertEqual(self.status_of(lid), "NewStatus")
        for body, want in ((b'{"status" :\t"PendingStatus" }\n', "PendingStatus"),
                           (b' \r\n{ "status" : "PendingStatus"}', "PendingStatus"),
                           (b'{"status":"Successful\\u0053tatus"}', "SuccessfulStatus")):
            with self.subTest(body=body):
                r = patch(body)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(json.loads(r.data)["status"], want)
        lid = self.new_ui_link()
        for ct in (None, b"text/plain"):
            with self.subTest(content_type=ct):
                r = patch(good, content_type=ct)
                self.assertEqual(r.status, 200, r)
        lid = self.new_ui_link()
        r = patch(b'{"status":"SuccessfulStatus"}', "?status=PendingStatus")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.data)["status"], "PendingStatus")

    def test_patch_chunked(self):
        lid = self.new_ui_link()
        r = self.raw(request_bytes("PATCH", LINKS + "/" + lid,
                                   chunks=[b'{"sta', b'tus": "Pend', b'ingStatus"}'],
                                   token=self.alice.token))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.status_of(lid), "PendingStatus")


class WireForms(BadInputBase):
    """Bodies without a Content-Type, chunked bodies (SPEC 2)."""

    def test_post_without_content_type(self):
        before = self.counts()
        r = self.raw(request_bytes("POST", DEFS, definition_bytes(), token=self.alice.token,
                                   content_type=None))
        self.assertEqual(r.status, 201, r)
        gid = json.loads(r.data)["id"]
        self.assertEqual(self.counts()[:2], (before[0] + 1, before[1] + 1))
        self.assertEqual(self.alice.get(DEFS + "/" + gid).status, 200)

    def test_post_chunked(self):
        body = definition_bytes()
        chunks = [body[i:i + 7] for i in range(0, len(body), 7)]
        r = self.raw(request_bytes("POST", DEFS, chunks=chunks, token=self.alice.token))
        self.assertEqual(r.status, 201, r)
        got = self.alice.get(DEFS + "/" + json.loads(r.data)["id"])
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json()["actionLinks"][0]["type"], "Api")

    def test_post_chunked_single_and_without_content_type(self):
        r = self.raw(request_bytes("POST", DEFS, chunks=[definition_bytes()],
                                   token=self.alice.token, content_type=None))
        self.assertEqual(r.status, 201, r)

    def test_chunk_extensions_and_hex_case(self):
        body = definition_bytes()
        half = len(body) // 2
        data = request_bytes("POST", DEFS, chunks=[], token=self.alice.token)
        data = data[:-len(b"0\r\n\r\n")]
        data += b"%X;name=value\r\n" % half + body[:half] + b"\r\n"
        data += b"%x\r\n" % (len(body) - half) + body[half:] + b"\r\n"
        data += b"0\r\nX-Trailer: 1\r\n\r\n"
        r = self.raw(data)
        self.assertEqual(r.status, 201, r)

    def test_expect_100_continue(self):
        body = definition_bytes()
        conn = Raw(self.server.port)
        try:
            req = request_bytes("POST", DEFS, body, token=self.alice.token,
                                headers=[("Expect", "100-continue")])
            conn.send(req[:-len(body)])
            r = conn.read_response()
            if r.status == 100:
                conn.send(body)
                r = conn.read_response()
            self.assertEqual(r.status, 201, r)
        finally:
            conn.close()

    def test_expect_100_continue_too_large(self):
        n = 2 << 20
        conn = Raw(self.server.port)
        try:
            conn.send(b"POST " + DEFS.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + self.alice.token.encode() +
                      b"\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % n)
            r = conn.read_response()
            if r.status == 100:
                conn.send(b" " * n)
                r = conn.read_response()
            self.assertJsonError(r, 413, "REQUEST_TOO_LARGE")
        finally:
            conn.close()

    def test_keep_alive_after_errors(self):
        # Several bad requests and then a good one on one connection.
        conn = Raw(self.server.port)
        try:
            t = self.alice.token
            for req, status in ((request_bytes("POST", DEFS, b"{", token=t), 400),
                                (request_bytes("GET", DEFS + "/bad", token=t), 400),
                                (request_bytes("GET", DEFS + "/" + self.group_id), 401),
                                (request_bytes("PUT", DEFS + "/" + self.group_id, b"{}",
                                               token=t), 405),
                                (request_bytes("POST", DEFS, b"<x/>", token=t,
                                               content_type=b"application/xml"), 415),
                                (request_bytes("GET", DEFS + "/" + self.group_id, token=t),
                                 200)):
                conn.send(req)
                r = conn.read_response()
                self.assertEqual(r.status, status, r)
                self.assertNotEqual((r.header("Connection") or "").lower(), "close", r)
        finally:
            conn.close()

    def test_garbage_request_line(self):
        for data in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/1.1 junk\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64):
            with self.subTest(data=data[:20]):
                conn = Raw(self.server.port, timeout=10)
                try:
                    conn.send(data)
                    try:
                        r = conn.read_response()
                        self.assertLess(r.status, 500, r)
                        self.assertGreaterEqual(r.status, 400, r)
                    except (ConnectionError, socket.timeout):
                        pass  # closing the connection is a fine answer too
                finally:
                    conn.close()

    def test_huge_header(self):
        r = self.raw(request_bytes("GET", DEFS + "/" + self.group_id, token=self.alice.token,
                                   headers=[("X-Big", "a" * 200000)]))
        self.assertGreaterEqual(r.status, 400, r)
        self.assertLess(r.status, 500, r)


if __name__ == "__main__":
    harness.main()
