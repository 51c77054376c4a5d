"""Validation of Action Link Group Definition Input (SPEC 4.1, 5): every rule, one test
each. A refused definition must answer 400 with the documented error shape, name the
offending field in the message, and store nothing (checked by reading the server's SQLite
file read-only). Valid definitions of every type must round-trip through GET with the
exact shape of SPEC 4.2 / 11.11."""
import datetime
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, group_def, in_days, link_def  # noqa: E402

DEFS = API + "/connect/action-link-group-definitions"
JSON_CT = "application/json;charset=UTF-8"
LABELS_TSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                          "labels.tsv")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
GROUP_KEYS = {"actionLinks", "category", "createdDate", "executionsAllowed", "expirationDate",
              "id", "modifiedDate", "templateId", "url"}
LINK_KEYS = {"actionUrl", "createdDate", "excludedUserId", "groupDefault", "headers", "id",
             "label", "labelKey", "method", "modifiedDate", "requestBody",
             "requiresConfirmation", "templateId", "type", "userId"}
KNOWN_VARS = ("actionLinkId", "actionLinkGroupId", "communityId", "communityUrl", "orgId",
              "userId", "callbackToken", "callbackUrl")


def load_labels():
    labels = {}
    with open(LABELS_TSV, encoding="utf-8") as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) == 5:
                labels[cols[0]] = cols[1:]
    return labels


LABELS = load_labels()


def id18(id15):
    """The 18-character form of a 15-character id (SPEC 3)."""
    suffix = ""
    for chunk in range(3):
        mask = 0
        for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                mask |= 1 << i
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[mask]
    return id15 + suffix


def at(dt, fmt):
    return dt.astimezone(datetime.timezone.utc).strftime(fmt)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def api_link(**kw):
    return link_def("Api", **kw)


def ui_link(**kw):
    kw.setdefault("url", "https://example.com/page")
    kw.setdefault("label", "View")
    return link_def("Ui", **kw)


class ValidationBase(harness.ServerTest):
    """One server; alice creates definitions, bob is another existing user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.user("alice")
        cls.bob = cls.server.user("bob")
        # Something stored already, so "nothing was written" compares non-zero counts.
        r = cls.alice.create_group(group_def([api_link()]))
        if r.status != 201:
            raise AssertionError("setup: could not create a group: %r" % r)

    # -- helpers ------------------------------------------------------------------------

    def counts(self):
        """Row counts of groups and links, read from the server's database file."""
        conn = sqlite3.connect("file:%s?mode=ro" % self.server.db, uri=True, timeout=10)
        try:
            return tuple(conn.execute("SELECT COUNT(*) FROM %s" % t).fetchone()[0]
                         for t in ("groups", "links"))
        finally:
            conn.close()

    def assertJsonError(self, resp, status, code, field=None):
        self.assertError(resp, status, code, field)
        self.assertEqual(resp.header("Content-Type"), JSON_CT, resp)

    def assertRefused(self, definition, field, code="INVALID_API_INPUT"):
        """POSTs definition: 400 code naming field, and no row written."""
        before = self.counts()
        r = self.alice.create_group(definition)
        self.assertJsonError(r, 400, code, field)
        self.assertEqual(self.counts(), before, "a refused definition wrote rows")
        return r

    def assertAccepted(self, definition, client=None):
        before = self.counts()
        r = (client or self.alice).create_group(definition)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("Content-Type"), JSON_CT)
        body = r.json()
        n = len(definition["actionLinks"])
        self.assertEqual(self.counts(), (before[0] + 1, before[1] + n))
        return body

    def refuse_link(self, bad, field_suffix, code="INVALID_API_INPUT", first=None,
                    **group_kw):
        """A group whose link 0 is valid and link 1 is bad: the message names
        actionLinks[1].<field_suffix>."""
        links = [first or api_link(), bad]
        field = "actionLinks[1]" + ("." + field_suffix if field_suffix else "")
        return self.assertRefused(group_def(links, **group_kw), field, code)


class GroupRules(ValidationBase):
    """The group-level fields of SPEC 4.1."""

    def test_category_missing(self):
        d = group_def([api_link()])
        del d["category"]
        self.assertRefused(d, "category")

    def test_category_unknown(self):
        self.assertRefused(group_def([api_link()], category="Secondary"), "category")

    def test_category_not_a_string(self):
        self.assertRefused(group_def([api_link()], category=1), "category")

    def test_category_null_is_missing(self):
        self.assertRefused(group_def([api_link()], category=None), "category")

    def test_executions_allowed_missing(self):
        d = group_def([api_link()])
        del d["executionsAllowed"]
        self.assertRefused(d, "executionsAllowed")

    def test_executions_allowed_unknown(self):
        self.assertRefused(group_def([api_link()], policy="Twice"), "executionsAllowed")

    def test_executions_allowed_not_a_string(self):
        self.assertRefused(group_def([api_link()], policy=["Once"]), "executionsAllowed")

    def test_expiration_missing(self):
        d = group_def([api_link()])
        del d["expirationDate"]
        self.assertRefused(d, "expirationDate")

    def test_expiration_malformed(self):
        for bad in ("tomorrow", "2030-13-01T00:00:00.000Z", "2030-02-30T00:00:00.000Z",
                    "2030-01-01 00:00:00", "2030-01-01T25:00:00.000Z", "2030-01-01",
                    "2030-01-01T00:00:00.000", "2030-01-01T00:00:00.000Zjunk", ""):
            with self.subTest(expirationDate=bad):
                self.assertRefused(group_def([api_link()], expirationDate=bad),
                                   "expirationDate")

    def test_expiration_not_a_string(self):
        ms = int((now_utc() + datetime.timedelta(days=1)).timestamp() * 1000)
        self.assertRefused(group_def([api_link()], expirationDate=ms), "expirationDate")

    def test_expiration_in_the_past(self):
        self.assertRefused(group_def([api_link()], days=-1), "expirationDate")
        past = at(now_utc() - datetime.timedelta(seconds=5), "%Y-%m-%dT%H:%M:%S.000Z")
        self.assertRefused(group_def([api_link()], expirationDate=past), "expirationDate")

    def test_expiration_more_than_365_days(self):
        self.assertRefused(group_def([api_link()], days=366), "expirationDate")
        later = now_utc() + datetime.timedelta(days=365, hours=1)
        self.assertRefused(group_def([api_link()], expirationDate=at(
            later, "%Y-%m-%dT%H:%M:%S.000Z")), "expirationDate")

    def test_expiration_just_under_365_days_accepted(self):
        d = now_utc() + datetime.timedelta(days=365) - datetime.timedelta(minutes=2)
        self.assertAccepted(group_def([api_link()],
                                      expirationDate=at(d, "%Y-%m-%dT%H:%M:%S.000Z")))

    def test_expiration_offset_forms_accepted(self):
        d = (now_utc() + datetime.timedelta(days=2)).replace(microsecond=0)
        want = at(d, "%Y-%m-%dT%H:%M:%S.000Z")
        for form in ("%Y-%m-%dT%H:%M:%S.000+0000", "%Y-%m-%dT%H:%M:%S.000+00:00",
                     "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+0000",
                     "%Y-%m-%dT%H:%M:%S+00:00"):
            with self.subTest(form=form):
                body = self.assertAccepted(group_def([api_link()],
                                                     expirationDate=at(d, form)))
                self.assertEqual(body["expirationDate"], want)

    def test_action_links_missing(self):
        d = group_def([api_link()])
        del d["actionLinks"]
        self.assertRefused(d, "actionLinks")

    def test_action_links_not_an_array(self):
        for bad in ({"0": api_link()}, "links", 3, True):
            with self.subTest(actionLinks=bad):
                self.assertRefused(group_def(bad), "actionLinks")

    def test_action_links_empty(self):
        self.assertRefused(group_def([]), "actionLinks")
        self.assertRefused(group_def([], category="Overflow"), "actionLinks")

    def test_primary_at_most_three(self):
        self.assertRefused(group_def([api_link(), api_link(), ui_link(), ui_link()]),
                           "actionLinks")

    def test_primary_three_accepted(self):
        self.assertAccepted(group_def([api_link(), api_link(), ui_link()]))

    def test_overflow_at_most_four(self):
        links = [api_link(), api_link(), ui_link(), ui_link(), ui_link()]
        self.assertRefused(group_def(links, category="Overflow"), "actionLinks")

    def test_overflow_four_accepted(self):
        links = [api_link(), api_link(), ui_link(), ui_link()]
        self.assertAccepted(group_def(links, category="Overflow"))

    def test_link_not_an_object(self):
        for bad in ("https://example.com", 7, None, []):
            with self.subTest(link=bad):
                self.refuse_link(bad, "")

    def test_unlimited_refused_with_api(self):
        self.assertRefused(group_def([ui_link(), api_link()], policy="Unlimited"),
                           "executionsAllowed")

    def test_unlimited_refused_with_api_async(self):
        self.assertRefused(group_def([ui_link(), link_def("ApiAsync")], policy="Unlimited"),
                           "executionsAllowed")

    def test_unlimited_accepted_with_download_and_ui(self):
        dl = link_def("Download", url="https://example.com/f.pdf", label="Download")
        self.assertAccepted(group_def([ui_link(), dl], policy="Unlimited"))

    def test_every_policy_and_category_accepted(self):
        for policy in ("Once", "OncePerUser", "Unlimited"):
            for category in ("Primary", "Overflow"):
                with self.subTest(policy=policy, category=category):
                    body = self.assertAccepted(group_def([ui_link()], policy=policy,
                                                         category=category))
                    self.assertEqual(body["executionsAllowed"], policy)
                    self.assertEqual(body["category"], category)

    def test_unknown_fields_ignored(self):
        d = group_def([api_link(colour="blue", nested={"a": [1, 2]})],
                      somethingElse={"x": 1}, priority=5)
        body = self.assertAccepted(d)
        self.assertNotIn("somethingElse", body)
        self.assertNotIn("priority", body)
        self.assertNotIn("colour", body["actionLinks"][0])

    def test_template_id_malformed(self):
        for v in ("abc", "07g", "07g!!!!!!!!!!!!", "07g0000000000000"):
            with self.subTest(templateId=v):
                self.assertRefused({"templateId": v, "templateBindings": []}, "templateId",
                                   code="INVALID_ID_FIELD")

    def test_template_id_wrong_prefix(self):
        # A group id (0Ag) and a link template id (07l) where a group template id (07g)
        # belongs.
        for v in ("0Ag000000000001", "07l000000000001"):
            with self.subTest(templateId=v):
                self.assertRefused({"templateId": v}, "templateId", code="INVALID_ID_FIELD")

    def test_template_id_unknown(self):
        before = self.counts()
        r = self.alice.create_group({"templateId": id18("07g000000000001"),
                                     "expirationDate": in_days(1)})
        self.assertIn(r.status, (400, 404), r)
        code = r.json()[0]["errorCode"]
        self.assertJsonError(r, r.status, "INVALID_API_INPUT" if r.status == 400
                             else "NOT_FOUND", "templateId" if r.status == 400 else None)
        self.assertNotEqual(code, "UNKNOWN_EXCEPTION")
        self.assertEqual(self.counts(), before)

    def test_first_violation_leaves_no_partial_group(self):
        # Two links valid, the third broken: no group and none of the links stored.
        self.assertRefused(group_def([api_link(), ui_link(), ui_link(method="HttpPost")]),
                           "actionLinks[2].method")


class LinkRules(ValidationBase):
    """The fields of Action Link Definition Input, each broken on link 1."""

    # actionType
    def test_action_type_missing(self):
        bad = api_link()
        del bad["actionType"]
        self.refuse_link(bad, "actionType")

    def test_action_type_unknown(self):
        for t in ("Email", "Redirect", "", "Api "):
            with self.subTest(actionType=t):
                self.refuse_link(dict(api_link(), actionType=t), "actionType")

    def test_action_type_not_a_string(self):
        self.refuse_link(dict(api_link(), actionType=1), "actionType")

    # actionUrl
    def test_action_url_missing(self):
        bad = api_link()
        del bad["actionUrl"]
        self.refuse_link(bad, "actionUrl")

    def test_action_url_empty(self):
        self.refuse_link(api_link(url=""), "actionUrl")

    def test_action_url_not_a_string(self):
        self.refuse_link(dict(api_link(), actionUrl=["https://example.com"]), "actionUrl")

    def test_action_url_http_refused(self):
        self.refuse_link(api_link(url="http://example.com/api"), "actionUrl")
        self.refuse_link(ui_link(url="http://example.com/page"), "actionUrl",
                         first=ui_link())

    def test_action_url_other_schemes_refused(self):
        for url in ("ftp://example.com/file", "file:///etc/passwd", "gopher://example.com/",
                    "javascript:alert(1)", "data:text/html,hi", "ldap://example.com/",
                    "mailto:a@example.com", "//example.com/x", "example.com/api"):
            with self.subTest(url=url):
                self.refuse_link(api_link(url=url), "actionUrl")

    def test_action_url_relative_outside_services_refused(self):
        for url in ("/other/path", "/servicesx/data", "services/data/v66.0", "/"):
            with self.subTest(url=url):
                self.refuse_link(api_link(url=url), "actionUrl")

    def test_action_url_without_host_refused(self):
        self.refuse_link(api_link(url="https://"), "actionUrl")
        self.refuse_link(api_link(url="https:///path"), "actionUrl")

    def test_action_url_too_long(self):
        base = "https://example.com/"
        self.refuse_link(api_link(url=base + "a" * (4097 - len(base))), "actionUrl")

    def test_action_url_4096_bytes_accepted(self):
        base = "https://example.com/"
        url = base + "a" * (4096 - len(base))
        body = self.assertAccepted(group_def([api_link(url=url)]))
        self.assertEqual(body["actionLinks"][0]["actionUrl"], url)

    def test_action_url_relative_services_accepted(self):
        url = API + "/sobjects/User/{!userId}"
        body = self.assertAccepted(group_def([api_link(url=url, method="HttpGet")]))
        self.assertEqual(body["actionLinks"][0]["actionUrl"], url)

    def test_action_url_https_any_case_accepted(self):
        self.assertAccepted(group_def([api_link(url="HTTPS://Example.COM/Api?x=1#f")]))

    # method
    def test_method_missing(self):
        bad = api_link()
        del bad["method"]
        self.refuse_link(bad, "method")

    def test_method_unknown(self):
        for m in ("GET", "HttpTrace", "HttpOptions", "httpget", "", 1):
            with self.subTest(method=m):
                self.refuse_link(dict(api_link(), method=m), "method")

    def test_download_must_use_get(self):
        for m in ("HttpPost", "HttpPut", "HttpDelete", "HttpPatch", "HttpHead"):
            with self.subTest(method=m):
                bad = link_def("Download", url="https://example.com/f", method=m,
                               label="Download")
                self.refuse_link(bad, "method")

    def test_ui_must_use_get(self):
        for m in ("HttpPost", "HttpPut", "HttpDelete", "HttpPatch", "HttpHead"):
            with self.subTest(method=m):
                self.refuse_link(ui_link(method=m), "method")

    def test_api_accepts_every_method(self):
        links = [api_link(method=m) for m in ("HttpDelete", "HttpGet", "HttpHead")]
        links2 = [link_def("ApiAsync", method=m) for m in ("HttpPatch", "HttpPost", "HttpPut")]
        for ls in (links, links2):
            body = self.assertAccepted(group_def(ls))
            self.assertEqual([k["method"] for k in body["actionLinks"]],
                             [k["method"] for k in ls])

    # labelKey
    def test_label_key_missing(self):
        bad = api_link()
        del bad["labelKey"]
        self.refuse_link(bad, "labelKey")

    def test_label_key_unknown(self):
        self.refuse_link(api_link(label="Frobnicate"), "labelKey")

    def test_label_key_wrong_case(self):
        for lk in ("approve", "APPROVE", "add to calendar", "Approve "):
            with self.subTest(labelKey=lk):
                self.refuse_link(api_link(label=lk), "labelKey")

    def test_label_key_none_without_template(self):
        self.refuse_link(api_link(label="None"), "labelKey")

    def test_label_key_not_a_string(self):
        self.refuse_link(dict(api_link(), labelKey=3), "labelKey")

    def test_every_label_key_accepted(self):
        keys = sorted(LABELS)
        self.assertEqual(len(keys), 137)
        for i in range(0, len(keys), 4):
            chunk = keys[i:i + 4]
            body = self.assertAccepted(group_def([ui_link(label=k) for k in chunk],
                                                 category="Overflow", policy="Unlimited"))
            self.assertEqual([k["labelKey"] for k in body["actionLinks"]], chunk)
            self.assertEqual([k["label"] for k in body["actionLinks"]],
                             [LABELS[k][0] for k in chunk])

    # requiresConfirmation
    def test_requires_confirmation_missing(self):
        bad = api_link()
        del bad["requiresConfirmation"]
        self.refuse_link(bad, "requiresConfirmation")

    def test_requires_confirmation_null_is_missing(self):
        self.refuse_link(api_link(confirm=None), "requiresConfirmation")

    def test_requires_confirmation_not_boolean(self):
        for v in ("yes", "True", "TRUE", 1, 0, "1", [], {}):
            with self.subTest(value=v):
                self.refuse_link(api_link(confirm=v), "requiresConfirmation")

    def test_requires_confirmation_strings_accepted(self):
        body = self.assertAccepted(group_def([api_link(confirm="true"),
                                              api_link(confirm="false")]))
        self.assertIs(body["actionLinks"][0]["requiresConfirmation"], True)
        self.assertIs(body["actionLinks"][1]["requiresConfirmation"], False)
        got = self.alice.get(DEFS + "/" + body["id"]).json()
        self.assertIs(got["actionLinks"][0]["requiresConfirmation"], True)
        self.assertIs(got["actionLinks"][1]["requiresConfirmation"], False)

    # groupDefault
    def test_group_default_two_true(self):
        self.refuse_link(api_link(groupDefault=True), "groupDefault",
                         first=api_link(groupDefault=True))

    def test_group_default_two_true_as_strings(self):
        self.refuse_link(api_link(groupDefault="true"), "groupDefault",
                         first=api_link(groupDefault=True))

    def test_group_default_not_boolean(self):
        for v in ("yes", 1, ["true"]):
            with self.subTest(value=v):
                self.refuse_link(api_link(groupDefault=v), "groupDefault")

    def test_group_default_one_true_accepted(self):
        body = self.assertAccepted(group_def([api_link(groupDefault="false"),
                                              api_link(groupDefault="true"),
                                              api_link(groupDefault=False)]))
        self.assertEqual([k["groupDefault"] for k in body["actionLinks"]],
                         [False, True, False])

    # headers
    def test_nul_in_strings_refused(self):
        # "\u0000" is valid JSON but cannot be sent in a header or stored as text.
        for link in (api_link(headers=[{"name": "X-A", "value": "a\u0000b"}]),
                     api_link(requestBody="a\u0000b"),
                     api_link(url="https://example.com/a\u0000b")):
            with self.subTest(link=link):
                before = self.counts()
                r = self.alice.create_group(group_def([api_link(), link]))
                self.assertEqual(r.status, 400, r)
                self.assertIn(r.json()[0]["errorCode"],
                              ("INVALID_API_INPUT", "JSON_PARSER_ERROR"), r)
                self.assertEqual(r.header("Content-Type"), JSON_CT)
                self.assertEqual(self.counts(), before)

    def test_headers_not_an_array(self):
        for v in ({"X-A": "1"}, "X-A: 1", 5):
            with self.subTest(headers=v):
                self.refuse_link(api_link(headers=v), "headers")

    def test_header_not_name_value(self):
        for h in ("X-A: 1", {"name": "X-A"}, {"value": "1"}, {"name": 1, "value": "x"},
                  {"name": "X-A", "value": 1}, ["X-A", "1"]):
            with self.subTest(header=h):
                self.refuse_link(api_link(headers=[{"name": "X-Ok", "value": "1"}, h]),
                                 "headers[1]")

    def test_headers_at_most_32(self):
        hs = [{"name": "X-H%d" % i, "value": "v"} for i in range(33)]
        self.refuse_link(api_link(headers=hs), "headers")

    def test_headers_32_accepted(self):
        hs = [{"name": "X-H%d" % i, "value": "v%d" % i} for i in range(32)]
        body = self.assertAccepted(group_def([api_link(headers=hs)]))
        self.assertEqual(body["actionLinks"][0]["headers"], hs)

    def test_header_value_at_most_8_kib(self):
        self.refuse_link(api_link(headers=[{"name": "X-Big", "value": "v" * 8193}]),
                         "headers[0].value")

    def test_header_value_8_kib_accepted(self):
        hs = [{"name": "X-Big", "value": "v" * 8192}]
        body = self.assertAccepted(group_def([api_link(headers=hs)]))
        self.assertEqual(body["actionLinks"][0]["headers"], hs)

    def test_header_name_invalid(self):
        for name in ("Bad Name", "X:Y", "", "X-\u00e9", "X(Y)", "X/Y", "X\tY", "X\nY",
                     'X"Y', "X@Y"):
            with self.subTest(name=name):
                self.refuse_link(api_link(headers=[{"name": name, "value": "1"}]),
                                 "headers[0].name")

    def test_header_value_with_line_break_refused(self):
        # A CR or LF in a value would let a definition inject headers into the callout.
        for value in ("a\r\nX-Injected: 1", "a\nb", "a\rb", "a\u0001b", "a\u007fb"):
            with self.subTest(value=value):
                self.refuse_link(api_link(headers=[{"name": "X-A", "value": value}]),
                                 "headers[0].value")

    def test_header_forbidden_names(self):
        for name in ("Host", "host", "HOST", "Content-Length", "content-length",
                     "Transfer-Encoding", "TRANSFER-ENCODING", "Connection", "connection"):
            with self.subTest(name=name):
                hs = [{"name": "X-Ok", "value": "1"}, {"name": name, "value": "x"}]
                self.refuse_link(api_link(headers=hs), "headers[1].name")

    def test_headers_only_for_api_types(self):
        hs = [{"name": "X-A", "value": "1"}]
        self.refuse_link(ui_link(headers=hs), "headers")
        self.refuse_link(link_def("Download", url="https://example.com/f", label="Download",
                                  headers=hs), "headers")

    def test_headers_accepted_for_api_async(self):
        hs = [{"name": "Authorization", "value": "Bearer abc"},
              {"name": "X-Custom_Token.1~", "value": "with spaces and \t tab"}]
        body = self.assertAccepted(group_def([link_def("ApiAsync", headers=hs)]))
        self.assertEqual(body["actionLinks"][0]["headers"], hs)

    # requestBody
    def test_request_body_at_most_64_kib(self):
        self.refuse_link(api_link(requestBody="b" * 65537), "requestBody")

    def test_request_body_64_kib_accepted(self):
        body = self.assertAccepted(group_def([api_link(requestBody="b" * 65536)]))
        self.assertEqual(len(body["actionLinks"][0]["requestBody"]), 65536)

    def test_request_body_only_for_api_types(self):
        self.refuse_link(ui_link(requestBody="{}"), "requestBody", first=ui_link())
        self.refuse_link(link_def("Download", url="https://example.com/f", label="Download",
                                  requestBody="{}"), "requestBody")

    def test_request_body_not_a_string(self):
        for v in ({"a": 1}, [1], 5, True):
            with self.subTest(requestBody=v):
                self.refuse_link(api_link(requestBody=v), "requestBody")

    # userId / excludedUserId
    def test_user_id_malformed(self):
        for v in ("abc", "005", "005!!!!!!!!!!!!", "005AAAAAAAAAAAAA",
                  "005AAAAAAAAAAAA999", "x" * 18):
            with self.subTest(userId=v):
                self.refuse_link(api_link(userId=v), "userId", code="INVALID_ID_FIELD")

    def test_user_id_wrong_prefix(self):
        # A group id (0Ag) where a user id (005) belongs.
        existing = self.alice.create_group(group_def([api_link()])).json()["id"]
        self.refuse_link(api_link(userId=existing), "userId", code="INVALID_ID_FIELD")

    def test_user_id_unknown_user(self):
        self.refuse_link(api_link(userId=id18("005000000000000")), "userId")

    def test_excluded_user_id_malformed(self):
        for v in ("abc", "0Ag000000000000", "005AAAAAAAAAAAAA"):
            with self.subTest(excludedUserId=v):
                self.refuse_link(api_link(excludedUserId=v), "excludedUserId",
                                 code="INVALID_ID_FIELD")

    def test_excluded_user_id_unknown_user(self):
        self.refuse_link(api_link(excludedUserId="005000000000000"), "excludedUserId")

    def test_user_id_and_excluded_user_id_exclusive(self):
        before = self.counts()
        r = self.alice.create_group(group_def([
            api_link(), api_link(userId=self.alice.user_id, excludedUserId=self.bob.user_id)]))
        self.assertJsonError(r, 400, "INVALID_API_INPUT", "actionLinks[1]")
        msg = r.json()[0]["message"]
        self.assertTrue("userId" in msg or "excludedUserId" in msg, msg)
        self.assertEqual(self.counts(), before)

    def test_user_ids_accepted_in_both_forms(self):
        bob15 = self.bob.user_id[:15]
        body = self.assertAccepted(group_def([api_link(userId=bob15),
                                              api_link(excludedUserId=self.bob.user_id)]))
        self.assertEqual(body["actionLinks"][0]["userId"], id18(bob15))
        self.assertEqual(body["actionLinks"][1]["excludedUserId"], id18(bob15))
        self.assertIsNone(body["actionLinks"][0]["excludedUserId"])
        self.assertIsNone(body["actionLinks"][1]["userId"])

    # context variables
    def test_unknown_variable_in_url(self):
        self.refuse_link(api_link(url="https://example.com/{!nope}"), "actionUrl")

    def test_unknown_variable_in_relative_url(self):
        self.refuse_link(api_link(url="/services/data/v66.0/{!accountId}"), "actionUrl")

    def test_unknown_variable_in_header(self):
        hs = [{"name": "X-Ok", "value": "{!userId}"},
              {"name": "X-User", "value": "id={!userName}"}]
        self.refuse_link(api_link(headers=hs), "headers[1].value")

    def test_unknown_variable_in_body(self):
        self.refuse_link(api_link(requestBody='{"a":"{!orgId}","b":"{!secret}"}'),
                         "requestBody")

    def test_variable_names_are_case_sensitive(self):
        self.refuse_link(api_link(url="https://example.com/{!userid}"), "actionUrl")

    def test_binding_variable_without_template_refused(self):
        self.refuse_link(api_link(url="https://example.com/{!Bindings.id}"), "actionUrl")

    def test_known_variables_accepted(self):
        url = "https://example.com/x?" + "&".join("%s={!%s}" % (v, v) for v in KNOWN_VARS)
        hs = [{"name": "X-" + v, "value": "{!%s}" % v} for v in KNOWN_VARS]
        rb = "".join("{!%s}" % v for v in KNOWN_VARS)
        body = self.assertAccepted(group_def([link_def("ApiAsync", url=url, headers=hs,
                                                       requestBody=rb)]))
        k = body["actionLinks"][0]
        self.assertEqual(k["actionUrl"], url)
        self.assertEqual(k["headers"], hs)
        self.assertEqual(k["requestBody"], rb)

    def test_text_that_is_not_a_variable_accepted(self):
        # Only {!name} is a placeholder; other braces are literal text.
        body = self.assertAccepted(group_def([api_link(
            requestBody='{"a": {"b": "{ !x}"}, "c": "{!}", "d": "{!a b}"}')]))
        self.assertEqual(body["actionLinks"][0]["requestBody"],
                         '{"a": {"b": "{ !x}"}, "c": "{!}", "d": "{!a b}"}')


class HttpCalloutsAllowed(ValidationBase):
    """With --allow-http-callouts, http:// URLs are accepted; other schemes are not."""
    server_args = ("--allow-http-callouts",)

    def test_http_accepted(self):
        body = self.assertAccepted(group_def([api_link(url="http://example.com/api"),
                                              ui_link(url="http://example.com/page")]))
        self.assertEqual(body["actionLinks"][0]["actionUrl"], "http://example.com/api")

    def test_https_still_accepted(self):
        self.assertAccepted(group_def([api_link()]))

    def test_other_schemes_still_refused(self):
        for url in ("ftp://example.com/f", "file:///etc/passwd", "gopher://example.com/"):
            with self.subTest(url=url):
                self.refuse_link(api_link(url=url), "actionUrl")

    def test_http_without_host_refused(self):
        self.refuse_link(api_link(url="http://"), "actionUrl")


class RoundTrip(ValidationBase):
    """Valid definitions of each type, read back with GET (SPEC 4.2, 11.11)."""

    def check_shape(self, got, sent, version="66.0"):
        self.assertEqual(set(got), GROUP_KEYS)
        self.assertRegex(got["id"], r"^0Ag[0-9A-Za-z]{15}$")
        self.assertEqual(got["id"], id18(got["id"][:15]))
        self.assertEqual(got["url"], "/services/data/v%s/connect/action-link-group-definitions/%s"
                         % (version, got["id"]))
        self.assertEqual(got["category"], sent["category"])
        self.assertEqual(got["executionsAllowed"], sent["executionsAllowed"])
        self.assertEqual(got["expirationDate"], sent["expirationDate"])
        self.assertIsNone(got["templateId"])
        for k in ("createdDate", "modifiedDate"):
            self.assertRegex(got[k], DATE_RE)
        created = datetime.datetime.strptime(got["createdDate"], "%Y-%m-%dT%H:%M:%S.%fZ")
        created = created.replace(tzinfo=datetime.timezone.utc)
        self.assertLess(abs((created - now_utc()).total_seconds()), 120)
        self.assertEqual(len(got["actionLinks"]), len(sent["actionLinks"]))
        ids = set()
        for k, s in zip(got["actionLinks"], sent["actionLinks"]):
            self.assertEqual(set(k), LINK_KEYS)
            self.assertRegex(k["id"], r"^0An[0-9A-Za-z]{15}$")
            self.assertEqual(k["id"], id18(k["id"][:15]))
            ids.add(k["id"])
            self.assertEqual(k["type"], s["actionType"])
            self.assertEqual(k["actionUrl"], s["actionUrl"])
            self.assertEqual(k["method"], s["method"])
            self.assertEqual(k["labelKey"], s["labelKey"])
            self.assertEqual(k["label"], LABELS[s["labelKey"]][0])
            self.assertIs(k["requiresConfirmation"], s["requiresConfirmation"] in (True, "true"))
            self.assertIs(k["groupDefault"], s.get("groupDefault") in (True, "true"))
            self.assertEqual(k["headers"], s.get("headers") or [])
            self.assertEqual(k["requestBody"], s.get("requestBody"))
            self.assertEqual(k["userId"], s.get("userId"))
            self.assertEqual(k["excludedUserId"], s.get("excludedUserId"))
            self.assertIsNone(k["templateId"])
            self.assertRegex(k["createdDate"], DATE_RE)
            self.assertRegex(k["modifiedDate"], DATE_RE)
        self.assertEqual(len(ids), len(sent["actionLinks"]))

    def round_trip(self, sent):
        created = self.assertAccepted(sent)
        self.check_shape(created, sent)
        r = self.alice.get(DEFS + "/" + created["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), JSON_CT)
        self.assertEqual(r.json(), created)
        # The 15-character form names the same group.
        r15 = self.alice.get(DEFS + "/" + created["id"][:15])
        self.assertEqual(r15.status, 200, r15)
        self.assertEqual(r15.json(), created)
        return created

    def test_api(self):
        self.round_trip(group_def([api_link()]))

    def test_api_async_with_everything(self):
        sent = group_def([link_def(
            "ApiAsync", url="https://example.com/async/{!actionLinkId}", method="HttpPut",
            label="Confirm", confirm=True, groupDefault=True,
            headers=[{"name": "Content-Type", "value": "application/json"},
                     {"name": "X-Org", "value": "{!orgId}"}],
            requestBody='{"user": "{!userId}", "cb": "{!callbackUrl}"}',
            userId=self.bob.user_id)], policy="OncePerUser", category="Overflow", days=30)
        got = self.round_trip(sent)
        self.assertIs(got["actionLinks"][0]["groupDefault"], True)

    def test_download(self):
        self.round_trip(group_def([link_def("Download", url="https://example.com/file.pdf",
                                            label="Download", confirm=True)],
                                  policy="Unlimited"))

    def test_ui(self):
        self.round_trip(group_def([ui_link(excludedUserId=self.bob.user_id)],
                                  policy="OncePerUser"))

    def test_every_type_in_one_group(self):
        sent = group_def([
            api_link(label="Approve"),
            link_def("ApiAsync", label="Accept", method="HttpPatch"),
            link_def("Download", url="https://example.com/f.zip", label="Download"),
            ui_link(label="Add to Calendar")], category="Overflow")
        got = self.round_trip(sent)
        self.assertEqual([k["type"] for k in got["actionLinks"]],
                         ["Api", "ApiAsync", "Download", "Ui"])

    def test_omitted_booleans_are_false_and_absent_values_null(self):
        link = {"actionType": "Ui", "actionUrl": "https://example.com/u", "method": "HttpGet",
                "labelKey": "Join", "requiresConfirmation": False}
        got = self.round_trip(group_def([link]))["actionLinks"][0]
        self.assertIs(got["groupDefault"], False)
        self.assertEqual(got["headers"], [])
        for k in ("requestBody", "userId", "excludedUserId", "templateId"):
            self.assertIsNone(got[k], k)

    def test_explicit_nulls_are_absent(self):
        link = api_link(headers=None, requestBody=None, userId=None, excludedUserId=None,
                        groupDefault=None)
        got = self.round_trip(group_def([link]))["actionLinks"][0]
        self.assertEqual(got["headers"], [])
        self.assertIs(got["groupDefault"], False)
        self.assertIsNone(got["requestBody"])

    def test_display_order_is_array_order(self):
        labels = ["Yes", "Approve", "Confirm"]
        got = self.round_trip(group_def([api_link(label=lk) for lk in labels]))
        self.assertEqual([k["labelKey"] for k in got["actionLinks"]], labels)

    def test_url_follows_request_version(self):
        r = self.alice.post("/services/data/v31.0/connect/action-link-group-definitions",
                            group_def([api_link()]))
        self.assertEqual(r.status, 201, r)
        gid = r.json()["id"]
        self.assertEqual(r.json()["url"],
                         "/services/data/v31.0/connect/action-link-group-definitions/" + gid)
        got = self.alice.get(API + "/connect/action-link-group-definitions/" + gid).json()
        self.assertEqual(got["url"], DEFS + "/" + gid)

    def test_unicode_text_round_trips(self):
        body = "{\"msg\": \"h\u00e9llo \u4e16\u754c \U0001F600\"}"
        hs = [{"name": "X-Note", "value": "caf\u00e9"}]
        got = self.round_trip(group_def([api_link(requestBody=body, headers=hs)]))
        self.assertEqual(got["actionLinks"][0]["requestBody"], body)


if __name__ == "__main__":
    harness.main()
