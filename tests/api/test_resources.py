"""The resources around the API and the shapes of the answers (SPEC 2, 3, 4.2, 4.3)."""
import os
import re
import sqlite3

import harness
from harness import API, group_def, link_def

ID18 = re.compile(r"^[0-9A-Za-z]{18}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Resources(harness.ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.server.user("alice")

    def test_port_in_use_is_an_error(self):
        """Each I/O thread has its own SO_REUSEPORT socket, but a second server on the
        same port must still fail to start rather than silently share the port."""
        import subprocess
        import tempfile
        with tempfile.TemporaryDirectory(dir=harness.AL_TMP) as d:
            out = subprocess.run(
                [harness.AL_BIN, "serve", "--db", os.path.join(d, "other.db"), "--listen",
                 "127.0.0.1:%d" % self.server.port], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("cannot listen on 127.0.0.1:%d" % self.server.port, out.stderr)
        self.assertEqual(self.server.client().get("/healthz").status, 200)

    def test_idle_server_lets_the_wal_be_checkpointed(self):
        """A GET's read transaction stays open after it, for the thread's next GET (for
        up to 2 ms); a server that goes idle ends them within about a second, so that
        another process can checkpoint and empty the WAL."""
        import time
        r = self.alice.create_group(group_def([link_def("Ui", "https://example.com/w")]))
        link = r.json()["actionLinks"][0]["id"]
        for _ in range(50):
            self.assertEqual(self.alice.link(link).status, 200)
        time.sleep(1.6)
        db = sqlite3.connect(self.server.db, timeout=0.5)
        try:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            db.close()
        self.assertEqual(busy, 0)

    def test_versions(self):
        r = self.server.client().get("/services/data")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json;charset=UTF-8")
        versions = r.json()
        self.assertEqual([v["version"] for v in versions],
                         ["%d.0" % v for v in range(31, 67)])
        self.assertEqual(versions[-1], {"label": "Spring '26", "url": "/services/data/v66.0",
                                        "version": "66.0"})
        self.assertEqual(versions[0]["label"], "Summer '14")

    def test_version_root(self):
        r = self.server.client().get("/services/data/v45.0")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["connect"], "/services/data/v45.0/connect")
        self.assertEqual(r.json()["sobjects"], "/services/data/v45.0/sobjects")
        self.assertError(self.server.client().get("/services/data/v30.0"), 404, "NOT_FOUND")

    def test_health(self):
        c = self.server.client()
        self.assertEqual(c.get("/healthz").status, 200)
        self.assertEqual(c.get("/readyz").status, 200)

    def test_userinfo_and_user(self):
        info = self.alice.get("/services/oauth2/userinfo").json()
        self.assertEqual(info["user_id"], self.alice.user_id)
        self.assertEqual(info["preferred_username"], "alice")
        self.assertTrue(info["organization_id"].startswith("00D"))
        self.assertEqual(len(info["organization_id"]), 18)
        self.assertEqual(info["name"], "alice")
        u = self.alice.get(API + "/sobjects/User/" + self.alice.user_id).json()
        self.assertEqual((u["Id"], u["Username"], u["Name"]),
                         (self.alice.user_id, "alice", "alice"))
        # the 15-character form names the same user
        u15 = self.alice.get(API + "/sobjects/User/" + self.alice.user_id[:15])
        self.assertEqual(u15.json()["Id"], self.alice.user_id)

    def test_token_shape_and_storage(self):
        token = self.alice.token
        self.assertRegex(token, r"^00D\w{12,15}![.\w]*$")
        org, rand = token.split("!")
        self.assertEqual(len(org), 18)
        self.assertGreaterEqual(len(rand), 43)
        self.assertTrue(rand.isalnum())
        with open(self.server.db, "rb") as f:
            self.assertNotIn(rand.encode(), f.read())
        db = sqlite3.connect("file:%s?mode=ro" % self.server.db, uri=True)
        hashes = [h for (h,) in db.execute("SELECT hash FROM tokens")]
        db.close()
        self.assertNotIn(token, hashes)

    def test_definition_round_trip(self):
        d = group_def([link_def("Api", "https://example.com/a/{!userId}", "HttpPost",
                                "Approve", True, headers=[{"name": "X-Key", "value": "v"}],
                                requestBody='{"x":1}'),
                       link_def("Download", "https://example.com/file.pdf", label="Download",
                                groupDefault=True)], policy="OncePerUser")
        r = self.alice.create_group(d)
        self.assertEqual(r.status, 201, r)
        g = r.json()
        self.assertRegex(g["id"], ID18)
        self.assertTrue(g["id"].startswith("0Ag"))
        self.assertEqual(g["url"], API + "/connect/action-link-group-definitions/" + g["id"])
        self.assertEqual(g["executionsAllowed"], "OncePerUser")
        self.assertEqual(g["category"], "Primary")
        self.assertIsNone(g["templateId"])
        for k in ("createdDate", "modifiedDate", "expirationDate"):
            self.assertRegex(g[k], DATE)
        a, b = g["actionLinks"]
        self.assertTrue(a["id"].startswith("0An"))
        self.assertEqual(a["type"], "Api")
        self.assertEqual(a["headers"], [{"name": "X-Key", "value": "v"}])
        self.assertEqual(a["requestBody"], '{"x":1}')
        self.assertEqual(a["label"], "Approve")
        self.assertIs(a["groupDefault"], False)
        self.assertEqual(b["headers"], [])
        self.assertIsNone(b["requestBody"])
        self.assertIsNone(b["userId"])
        self.assertIsNone(b["excludedUserId"])
        self.assertIs(b["groupDefault"], True)
        got = self.alice.get(API + "/connect/action-link-group-definitions/" + g["id"])
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json(), g)
        # The 15-character id works too.
        got15 = self.alice.get(API + "/connect/action-link-group-definitions/" + g["id"][:15])
        self.assertEqual(got15.json(), g)

    def test_platform_action_shape(self):
        g = self.alice.create_group(group_def([
            link_def("Api", label="Approve", confirm=True),
            link_def("Ui", "https://example.com/ui", label="View")])).json()
        view = self.alice.group(g["id"])
        self.assertEqual(view.status, 200)
        v = view.json()
        self.assertEqual(set(v), {"category", "id", "modifiedDate", "platformActions", "url"})
        self.assertEqual(v["url"], API + "/connect/action-link-groups/" + g["id"])
        pa = v["platformActions"][0]
        self.assertEqual(set(pa), {"actionUrl", "apiName", "confirmationMessage",
                                   "createdRecords", "executingUser", "groupDefault", "iconUrl",
                                   "id", "label", "modifiedDate", "platformActionGroup",
                                   "status", "subtype", "type", "url"})
        self.assertIsNone(pa["actionUrl"])  # the URL of an Api link never leaves the server
        self.assertIsNone(pa["apiName"])
        self.assertIsNone(pa["iconUrl"])
        self.assertEqual(pa["createdRecords"], [])
        self.assertEqual(pa["type"], "ActionLink")
        self.assertEqual(pa["subtype"], "Api")
        self.assertEqual(pa["status"], "NewStatus")
        self.assertEqual(pa["confirmationMessage"], "Are you sure you want to Approve?")
        self.assertEqual(pa["platformActionGroup"],
                         {"id": g["id"], "url": API + "/connect/action-link-groups/" + g["id"]})
        self.assertEqual(pa["url"], API + "/connect/action-links/" + pa["id"])
        self.assertEqual([p["subtype"] for p in v["platformActions"]], ["Api", "Ui"])
        # The URL follows the version of the request.
        old = self.alice.get("/services/data/v40.0/connect/action-links/" + pa["id"]).json()
        self.assertEqual(old["url"], "/services/data/v40.0/connect/action-links/" + pa["id"])
        self.assertEqual(self.alice.link(pa["id"]).json(), pa)

    def test_redirect_url(self):
        r = self.alice.create_group(group_def([
            link_def("Ui", "https://example.com/view?u={!userId}&l={!actionLinkId}",
                     label="View"),
            link_def("Download", "https://example.com/file.pdf", label="Download")]))
        ui, dl = [l["id"] for l in r.json()["actionLinks"]]
        pa = self.alice.link(ui).json()
        base = "http://127.0.0.1:%d" % self.server.port
        prefix = base + "/action-link-redirect/000000000000000000/%s?_bearer=" % ui
        self.assertTrue(pa["actionUrl"].startswith(prefix), pa["actionUrl"])
        anon = self.server.client()
        got = anon.get(pa["actionUrl"][len(base):], auth=False)
        self.assertEqual(got.status, 302, got)
        self.assertEqual(got.header("Location"), "https://example.com/view?u=%s&l=%s" % (
            self.alice.user_id, ui))
        bearer = pa["actionUrl"][len(prefix):]
        # a bearer is bound to its link and cannot be altered
        self.assertError(anon.get("/action-link-redirect/000000000000000000/%s?_bearer=%s" % (
            dl, bearer), auth=False), 401, "INVALID_SESSION_ID")
        bad = bearer[:-1] + ("0" if bearer[-1] != "0" else "1")
        self.assertError(anon.get(pa["actionUrl"][len(base):].replace(bearer, bad),
                                  auth=False), 401, "INVALID_SESSION_ID")
        self.assertError(anon.get("/action-link-redirect/000000000000000000/%s" % ui,
                                  auth=False), 401, "INVALID_SESSION_ID")
        # an expired one is refused
        expired = "1000." + bearer.split(".", 1)[1]
        self.assertError(anon.get("/action-link-redirect/000000000000000000/%s?_bearer=%s" % (
            ui, expired), auth=False), 401, "INVALID_SESSION_ID")
        dl_pa = self.alice.link(dl).json()
        self.assertEqual(anon.get(dl_pa["actionUrl"][len(base):], auth=False).header(
            "Location"), "https://example.com/file.pdf")

    def test_public_url(self):
        s = harness.Server(extra_args=["--public-url", "https://links.example.org/"]).start()
        try:
            c = s.user("carol")
            g = c.create_group(group_def([link_def("Ui", label="View")])).json()
            pa = c.link(g["actionLinks"][0]["id"]).json()
            self.assertTrue(pa["actionUrl"].startswith(
                "https://links.example.org/action-link-redirect/"), pa["actionUrl"])
        finally:
            s.stop()

    def test_delete(self):
        g = self.alice.create_group(group_def([link_def("Ui", label="View")])).json()
        path = API + "/connect/action-link-group-definitions/" + g["id"]
        r = self.alice.delete(path)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, "")
        self.assertError(self.alice.get(path), 404, "NOT_FOUND")
        self.assertError(self.alice.group(g["id"]), 404, "NOT_FOUND")
        self.assertError(self.alice.link(g["actionLinks"][0]["id"]), 404, "NOT_FOUND")
        self.assertError(self.alice.delete(path), 404, "NOT_FOUND")

    def test_head(self):
        g = self.alice.create_group(group_def([link_def("Ui", label="View")])).json()
        path = API + "/connect/action-link-groups/" + g["id"]
        get, head = self.alice.get(path), self.alice.request("HEAD", path)
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, "")
        self.assertEqual(head.header("Content-Type"), get.header("Content-Type"))
        self.assertEqual(head.header("Content-Length"), get.header("Content-Length"))


if __name__ == "__main__":
    harness.main()
