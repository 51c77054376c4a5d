"""Issue 5 item 2: the OAuth 2.0 endpoints in the shapes Salesforce clients expect
(SPEC 3): the password and refresh_token grants and their errors, revoke, and the slowing
of failed logins per username and per client address."""
import base64
import hashlib
import hmac
import time
import urllib.parse

import harness
from harness import API


def form(client, path, fields):
    return client.request("POST", path, raw=urllib.parse.urlencode(fields).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=False)


class OAuthBase(harness.ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.admin("user", "add", "alice", "--name", "Alice Example", "--password-stdin",
                stdin="correct horse\n")
        s.admin("user", "add", "nopass")
        cls.app = s.admin("app", "add", "integration")
        cls.anon = s.client()

    def login(self, username="alice", password="correct horse", app=None, **extra):
        app = app or self.app
        fields = {"grant_type": "password", "client_id": app["client_id"],
                  "client_secret": app["client_secret"], "username": username,
                  "password": password}
        fields.update(extra)
        return form(self.anon, "/services/oauth2/token", fields)

    def assertOAuthError(self, r, error, description=None, status=400):
        self.assertEqual(r.status, status, r)
        body = r.json()
        self.assertEqual(set(body), {"error", "error_description"}, body)
        self.assertEqual(body["error"], error)
        if description:
            self.assertEqual(body["error_description"], description)


class PasswordGrant(OAuthBase):
    def test_password_grant(self):
        r = self.login()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/json;charset=UTF-8")
        t = r.json()
        base = "http://127.0.0.1:%d" % self.server.port
        self.assertEqual(t["token_type"], "Bearer")
        self.assertEqual(t["instance_url"], base)
        self.assertRegex(t["access_token"], r"^00D\w{12,15}![.\w]*$")
        self.assertRegex(t["id"], r"^%s/id/00D\w{15}/005\w{15}$" % base)
        self.assertRegex(t["issued_at"], r"^\d{13}$")
        want = base64.b64encode(hmac.new(self.app["client_secret"].encode(),
                                          (t["id"] + t["issued_at"]).encode(),
                                          hashlib.sha256).digest()).decode()
        self.assertEqual(t["signature"], want)
        self.assertTrue(t["refresh_token"])
        c = self.server.client(t["access_token"])
        info = c.get("/services/oauth2/userinfo").json()
        self.assertEqual(info["preferred_username"], "alice")
        self.assertEqual(info["name"], "Alice Example")
        self.assertTrue(t["id"].endswith(info["user_id"]))
        ident = c.get(urllib.parse.urlsplit(t["id"]).path).json()
        self.assertEqual(ident["username"], "alice")

    def test_failures_say_only_authentication_failure(self):
        for user, pw in (("alice", "wrong"), ("nobody", "x"), ("nopass", ""), ("nopass", "x")):
            self.assertOAuthError(self.login(user, pw), "invalid_grant",
                                  "authentication failure")
        # the right password still works (3 failures are free)
        self.assertEqual(self.login().status, 200)

    def test_client_errors(self):
        bad = dict(self.app, client_id="nope")
        self.assertOAuthError(self.login(app=bad), "invalid_client_id",
                              "client identifier invalid")
        wrong = dict(self.app, client_secret="wrong")
        self.assertOAuthError(self.login(app=wrong), "invalid_client",
                              "invalid client credentials")
        r = form(self.anon, "/services/oauth2/token", {"grant_type": "magic"})
        self.assertOAuthError(r, "unsupported_grant_type")
        r = form(self.anon, "/services/oauth2/token", {})
        self.assertOAuthError(r, "unsupported_grant_type")

    def test_built_in_web_app_needs_no_secret(self):
        r = form(self.anon, "/services/oauth2/token", {
            "grant_type": "password", "client_id": "actionlinks-web", "username": "alice",
            "password": "correct horse"})
        self.assertEqual(r.status, 200, r)

    def test_refresh_grant(self):
        t = self.login().json()
        r = form(self.anon, "/services/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"],
            "client_id": self.app["client_id"], "client_secret": self.app["client_secret"]})
        self.assertEqual(r.status, 200, r)
        n = r.json()
        self.assertNotEqual(n["access_token"], t["access_token"])
        self.assertNotIn("refresh_token", n)
        self.assertEqual(n["id"], t["id"])
        c = self.server.client(n["access_token"])
        self.assertEqual(c.get("/services/oauth2/userinfo").status, 200)
        r = form(self.anon, "/services/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": "nope",
            "client_id": self.app["client_id"], "client_secret": self.app["client_secret"]})
        self.assertOAuthError(r, "invalid_grant")
        other = self.server.admin("app", "add", "other")
        r = form(self.anon, "/services/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"],
            "client_id": other["client_id"], "client_secret": other["client_secret"]})
        self.assertOAuthError(r, "invalid_grant")

    def test_revoke(self):
        t = self.login().json()
        c = self.server.client(t["access_token"])
        self.assertEqual(c.get("/services/oauth2/userinfo").status, 200)
        r = form(self.anon, "/services/oauth2/revoke", {"token": t["access_token"]})
        self.assertEqual(r.status, 200, r)
        self.assertError(c.get("/services/oauth2/userinfo"), 401, "INVALID_SESSION_ID")
        # revoking a refresh token revokes it and the access tokens that came from it
        t = self.login().json()
        refreshed = form(self.anon, "/services/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"],
            "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"]}).json()
        r = self.anon.get("/services/oauth2/revoke?token=" + urllib.parse.quote(
            t["refresh_token"]), auth=False)
        self.assertEqual(r.status, 200, r)
        for tok in (t["access_token"], refreshed["access_token"]):
            self.assertError(self.server.client(tok).get("/services/oauth2/userinfo"), 401,
                             "INVALID_SESSION_ID")
        r = form(self.anon, "/services/oauth2/token", {
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"],
            "client_id": self.app["client_id"], "client_secret": self.app["client_secret"]})
        self.assertOAuthError(r, "invalid_grant")
        self.assertOAuthError(form(self.anon, "/services/oauth2/revoke", {"token": "x"}),
                              "invalid_token")

    def test_passwd_command(self):
        self.server.admin("user", "add", "carol", "--password-stdin", stdin="first\n")
        self.assertEqual(self.login("carol", "first").status, 200)
        self.server.admin("user", "passwd", "carol", stdin="second\n")
        self.assertEqual(self.login("carol", "second").status, 200)
        self.assertOAuthError(self.login("carol", "first"), "invalid_grant")

    def test_password_stored_slowly_hashed(self):
        (h,) = self.server.sql("SELECT password_hash FROM users WHERE username = 'alice'")[0]
        self.assertTrue(h.startswith("scrypt$"), h)
        self.assertNotIn("correct horse", h)


class SlowDownPerUser(OAuthBase):
    def test_failed_logins_lock_the_username(self):
        for i in range(3):  # free failures
            self.assertOAuthError(self.login(password="wrong%d" % i), "invalid_grant")
        self.assertEqual(self.login().status, 200)  # success resets the count
        for i in range(4):
            self.assertOAuthError(self.login(password="wrong%d" % i), "invalid_grant")
        locked_at = time.monotonic()
        # now even the right password is refused, with the same words, until the lock ends
        r = self.login()
        self.assertOAuthError(r, "invalid_grant", "authentication failure")
        self.assertIsNotNone(r.header("Retry-After"))
        while time.monotonic() - locked_at < 5:
            if self.login().status == 200:
                break
            time.sleep(0.1)
        else:
            self.fail("the lock did not end")
        self.assertGreaterEqual(time.monotonic() - locked_at, 0.9)


class SlowDownPerAddress(OAuthBase):
    def test_failed_logins_lock_the_client_address(self):
        # guessing across many usernames from one address locks the address (after 20)
        for i in range(21):
            self.assertOAuthError(self.login("user%d" % i, "guess"), "invalid_grant")
        self.assertOAuthError(self.login(), "invalid_grant", "authentication failure")


if __name__ == "__main__":
    harness.main()
