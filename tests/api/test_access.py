"""Access rules of SPEC 4.2 and 4.3: who may read and delete a definition, and who sees
a link (userId, excludedUserId)."""
import harness
from harness import API, group_def, link_def

DEFS = API + "/connect/action-link-group-definitions/"


class Access(harness.ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.creator = s.user("creator", app="app1")
        cls.peer = s.user("peer", app="app1")
        cls.admin = s.user("admin", "--view-all-data", app="app1")
        cls.creator_app2 = s.user_token("creator", "app2")
        cls.admin_app2 = s.user_token("admin", "app2")

    def make(self):
        r = self.creator.create_group(group_def([link_def("Ui", label="View")]))
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def test_read_definition(self):
        g = self.make()
        self.assertEqual(self.creator.get(DEFS + g).status, 200)
        self.assertEqual(self.admin.get(DEFS + g).status, 200)
        for c in (self.peer, self.creator_app2, self.admin_app2):
            self.assertError(c.get(DEFS + g), 403, "INSUFFICIENT_ACCESS")
            self.assertEqual(c.request("HEAD", DEFS + g).status, 403)

    def test_missing_definition_is_404_for_everyone(self):
        g = self.make()
        self.creator.delete(DEFS + g)
        for c in (self.creator, self.peer, self.creator_app2):
            self.assertError(c.get(DEFS + g), 404, "NOT_FOUND")

    def test_delete_definition(self):
        g = self.make()
        for c in (self.peer, self.creator_app2, self.admin_app2):
            self.assertError(c.delete(DEFS + g), 403, "INSUFFICIENT_ACCESS")
        self.assertEqual(self.creator.get(DEFS + g).status, 200)
        self.assertEqual(self.admin.delete(DEFS + g).status, 204)
        self.assertError(self.creator.get(DEFS + g), 404, "NOT_FOUND")

    def test_everyone_sees_the_callers_view(self):
        g = self.make()
        for c in (self.peer, self.creator_app2, self.admin_app2):
            self.assertEqual(c.group(g).status, 200)

    def test_user_id_and_excluded_user_id(self):
        r = self.creator.create_group(group_def([
            link_def("Ui", "https://example.com/1", label="View", userId=self.peer.user_id),
            link_def("Ui", "https://example.com/2", label="Open",
                     excludedUserId=self.peer.user_id),
            link_def("Ui", "https://example.com/3", label="Join")], policy="OncePerUser"))
        self.assertEqual(r.status, 201, r)
        g = r.json()
        only_peer, not_peer, everyone = [l["id"] for l in g["actionLinks"]]
        seen = lambda c: [a["id"] for a in c.group(g["id"]).json()["platformActions"]]
        self.assertEqual(seen(self.peer), [only_peer, everyone])
        self.assertEqual(seen(self.creator), [not_peer, everyone])
        self.assertEqual(seen(self.admin), [not_peer, everyone])
        # direct GETs of hidden links are 404, and so are their PATCH and diagnostic info
        for c, hidden in ((self.peer, not_peer), (self.creator, only_peer)):
            self.assertError(c.link(hidden), 404, "NOT_FOUND")
            self.assertError(c.set_status(hidden, "PendingStatus"), 404, "NOT_FOUND")
            self.assertError(c.get(API + "/connect/action-links/%s/diagnostic-info" % hidden),
                             404, "NOT_FOUND")
        self.assertEqual(self.peer.link(only_peer).status, 200)
        self.assertEqual(self.peer.set_status(only_peer, "PendingStatus").status, 200)
        self.assertEqual(self.creator.set_status(not_peer, "PendingStatus").status, 200)
        # the 18-character form of userId is kept
        self.assertEqual(g["actionLinks"][0]["userId"], self.peer.user_id)
        self.assertEqual(g["actionLinks"][1]["excludedUserId"], self.peer.user_id)

    def test_group_with_no_visible_link_is_404(self):
        r = self.creator.create_group(group_def([
            link_def("Ui", label="View", userId=self.creator.user_id)]))
        g = r.json()["id"]
        self.assertEqual(self.creator.group(g).status, 200)
        self.assertError(self.peer.group(g), 404, "NOT_FOUND")


if __name__ == "__main__":
    harness.main()
