"""Issue 3 item 2: the ApiAsync completion callback (SPEC 6, 7.3, 11.4, 11.13): the
callback token completes only its own execution, only to a terminal status, only once;
the creating app can complete it too; the deadline fails a forgotten execution; a late
callback gets 401 (token) or 409 (app)."""
import json
import re
import time
import urllib.parse

import harness
from harness import wait_until
from harness import API, group_def, link_def
from sink import Sink

P, S, F = "PendingStatus", "SuccessfulStatus", "FailedStatus"


class AsyncBase(harness.ServerTest):
    extra = ()

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.server_args = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32") + \
            cls.extra
        super().setUpClass()
        cls.creator = cls.server.user("creator", app="app1")
        cls.alice = cls.server.user("alice", app="app1")
        cls.bob = cls.server.user("bob", app="app1")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.sink.close()

    def make(self, n=1, policy="Once"):
        links = [link_def("ApiAsync", self.sink.url + "/status/202/%d/{!actionLinkId}" % i,
                          label="Approve",
                          headers=[{"name": "X-Callback-Token", "value": "{!callbackToken}"}],
                          requestBody='{"callback":"{!callbackUrl}","token":"{!callbackToken}"}')
                 for i in range(n)]
        r = self.creator.create_group(group_def(links, policy=policy))
        self.assertEqual(r.status, 201, r)
        return [l["id"] for l in r.json()["actionLinks"]]

    def execute(self, client, link):
        """PATCHes Pending and returns (callback token, callback URL) the sink received."""
        seen = [r for r in self.sink.requests if link in r.path]
        self.assertEqual(client.set_status(link, P).json()["status"], P)
        req = wait_until(lambda: ([r for r in self.sink.requests if link in r.path][len(seen):]
                                  or [None])[0], what="the callout of " + link)
        body = json.loads(req.body)
        self.assertEqual(req.header("X-Callback-Token"), body["token"])
        # the sink answered 202: the execution stays Pending, with the diagnostic
        wait_until(lambda: client.get(API + "/connect/action-links/%s/diagnostic-info" % link)
                   .json()["diagnosticInfo"], what="the diagnostic")
        self.assertEqual(client.link(link).json()["status"], P)
        return body["token"], body["callback"]

    def callback(self, token, url, status, method="PATCH"):
        c = self.server.client(token)
        path = urllib.parse.urlsplit(url).path
        return c.request(method, path, body={"status": status} if method == "PATCH" else None)


class Callback(AsyncBase):
    def test_token_and_url_shape(self):
        (link,) = self.make()
        token, url = self.execute(self.alice, link)
        self.assertRegex(token, r"^00D\w{12,15}![A-Za-z0-9]{43,}$")
        self.assertEqual(url, "http://127.0.0.1:%d%s/connect/action-links/%s" % (
            self.server.port, API, link))

    def test_callback_completes_once(self):
        for final in (S, F):
            (link,) = self.make()
            token, url = self.execute(self.alice, link)
            r = self.callback(token, url, final)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["status"], final)
            self.assertEqual(r.json()["executingUser"]["id"], self.alice.user_id)
            self.assertEqual(self.alice.link(link).json()["status"], final)
            # only once: the execution has ended, so the token is dead
            self.assertError(self.callback(token, url, S), 401, "INVALID_SESSION_ID")
            self.assertError(self.callback(token, url, F), 401, "INVALID_SESSION_ID")

    def test_callback_token_only_for_terminal_status(self):
        (link,) = self.make()
        token, url = self.execute(self.alice, link)
        for status in (P, "NewStatus"):
            self.assertError(self.callback(token, url, status), 401, "INVALID_SESSION_ID")
        self.assertEqual(self.alice.link(link).json()["status"], P)
        self.assertEqual(self.callback(token, url, S).status, 200)

    def test_callback_token_only_for_its_link_and_method(self):
        a, b = self.make(2, policy="OncePerUser")
        token, url = self.execute(self.alice, a)
        other = url.replace(a, b)
        self.assertError(self.callback(token, other, S), 401, "INVALID_SESSION_ID")
        c = self.server.client(token)
        for path in (urllib.parse.urlsplit(url).path,                      # GET of its link
                     API + "/connect/action-links/%s/diagnostic-info" % a,
                     "/services/oauth2/userinfo",
                     API + "/connect/action-link-groups/" + self.alice.link(a).json()[
                         "platformActionGroup"]["id"]):
            self.assertError(c.get(path), 401, "INVALID_SESSION_ID")
        self.assertError(c.post(API + "/connect/action-link-group-definitions",
                                group_def([link_def("Ui", label="View")])), 401,
                         "INVALID_SESSION_ID")
        # Bob's execution of the same link (OncePerUser) has its own token; each token acts
        # as its own executing user, so it reaches only its own execution.
        token_b, url_b = self.execute(self.bob, a)
        self.assertEqual(url_b, url)
        self.assertNotEqual(token_b, token)
        self.assertEqual(self.callback(token_b, url_b, F).status, 200)
        self.assertEqual(self.alice.link(a).json()["status"], P)
        self.assertEqual(self.callback(token, url, S).status, 200)
        self.assertEqual(self.alice.link(a).json()["status"], S)
        self.assertEqual(self.bob.link(a).json()["status"], F)

    def test_creating_app_completes(self):
        (link,) = self.make()
        token, url = self.execute(self.alice, link)
        r = self.creator.set_status(link, S)
        self.assertEqual(r.status, 200, r)
        # the token died with the execution
        self.assertError(self.callback(token, url, F), 401, "INVALID_SESSION_ID")
        # a late completion through the app
        self.assertError(self.creator.set_status(link, F), 409, "INVALID_STATUS_TRANSITION")

    def test_others_cannot_complete(self):
        (link,) = self.make()
        self.execute(self.alice, link)
        self.assertError(self.bob.set_status(link, S), 403, "INSUFFICIENT_ACCESS")
        other_app = self.server.user_token("alice", "app2")
        self.assertError(other_app.set_status(link, S), 403, "INSUFFICIENT_ACCESS")
        self.assertEqual(self.alice.link(link).json()["status"], P)

    def test_token_not_stored(self):
        (link,) = self.make()
        token, _ = self.execute(self.alice, link)
        with open(self.server.db, "rb") as f:
            data = f.read()
        # the snapshot is scrubbed once sent, and tokens are kept only as hashes
        wait_until(lambda: self.server.sql(
            "SELECT count(*) FROM callouts WHERE state = 2 AND execution_id IN "
            "(SELECT id FROM executions WHERE link_id = ?)", (link[:15],))[0][0] == 1,
            what="the callout to be done")
        rows = self.server.sql("SELECT url, headers, coalesce(body, '') FROM callouts")
        for row in rows:
            for col in row:
                self.assertNotIn(token.split("!")[1], col)


class Deadline(AsyncBase):
    extra = ("--async-deadline", "1")

    def test_deadline_fails_forgotten_execution(self):
        (link,) = self.make()
        start = time.monotonic()
        token, url = self.execute(self.alice, link)
        got = wait_until(lambda: (lambda a: a if a["status"] == F else None)(
            self.alice.link(link).json()), timeout=10, what="the deadline")
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(got["executingUser"]["id"], self.alice.user_id)
        diag = self.alice.get(API + "/connect/action-links/%s/diagnostic-info" % link).json()
        self.assertEqual(diag["diagnosticInfo"], "no completion callback before the deadline")
        # late callbacks
        self.assertError(self.callback(token, url, S), 401, "INVALID_SESSION_ID")
        self.assertError(self.creator.set_status(link, S), 409, "INVALID_STATUS_TRANSITION")
        # the dispatcher writes it down too (not only the read path)
        wait_until(lambda: self.server.sql(
            "SELECT status, diagnostic FROM executions WHERE link_id = ?", (link[:15],))[0]
            == (3, "no completion callback before the deadline"), timeout=10,
            what="the stored failure")

    def test_callback_before_deadline_wins(self):
        (link,) = self.make()
        token, url = self.execute(self.alice, link)
        self.assertEqual(self.callback(token, url, S).status, 200)
        time.sleep(1.5)  # past the deadline: a finished execution stays as it is
        self.assertEqual(self.alice.link(link).json()["status"], S)


class NoDeadline(AsyncBase):
    extra = ("--async-deadline", "0")

    def test_zero_means_never(self):
        (link,) = self.make()
        self.execute(self.alice, link)
        self.assertEqual(self.server.sql(
            "SELECT deadline_ms FROM executions WHERE link_id = ?", (link[:15],))[0][0], 0)
        self.assertEqual(self.alice.link(link).json()["status"], P)


if __name__ == "__main__":
    harness.main()
