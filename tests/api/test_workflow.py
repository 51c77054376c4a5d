"""The status workflow of SPEC 6, row by row, for Once, OncePerUser and Unlimited, with the
precedence of SPEC 11.2; labels for every status; confirmationMessage."""
import csv
import os

import harness
from harness import API, group_def, link_def

LABELS = {}
with open(os.path.join(os.path.dirname(__file__), "..", "..", "data", "labels.tsv")) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        LABELS[row["labelKey"]] = row

N, P, S, F = "NewStatus", "PendingStatus", "SuccessfulStatus", "FailedStatus"


def callouts(server):
    return server.sql("SELECT count(*) FROM callouts")[0][0]


class Workflow(harness.ServerTest):
    # Callouts stay queued (--callout-max 0: an API-only node), so Api executions stay
    # Pending while the workflow is tested; test_callouts.py covers sending them.
    server_args = ("--callout-max", "0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.creator = s.user("creator", app="app1")
        cls.alice = s.user("alice", app="app1")
        cls.bob = s.user("bob", app="app1")
        cls.boss = s.user("boss", "--view-all-data", app="app1")
        cls.alice_other_app = s.user_token("alice", "app2")

    def make(self, types, policy="Once", **kw):
        links = [link_def(t, "https://example.com/%d" % i, label="Approve") for i, t in
                 enumerate(types)]
        r = self.creator.create_group(group_def(links, policy=policy, **kw))
        self.assertEqual(r.status, 201, r)
        g = r.json()
        return g["id"], [l["id"] for l in g["actionLinks"]]

    def expire(self, group_id):
        self.server.sql("UPDATE groups SET expiration_ms = 1000 WHERE id = ?", (group_id[:15],))

    def ok(self, resp, status, user=None):
        self.assertEqual(resp.status, 200, resp)
        body = resp.json()
        self.assertEqual(body["status"], status, resp)
        if user is not None:
            self.assertEqual(body["executingUser"]["id"], user.user_id)
        return body

    # --- Api, ApiAsync: New -> Pending ---------------------------------------------------

    def test_api_new_to_pending_creates_execution_and_callout(self):
        for t in ("Api", "ApiAsync"):
            for policy in ("Once", "OncePerUser"):
                _, (l,) = self.make([t], policy)
                before = callouts(self.server)
                self.ok(self.alice.set_status(l, P), P, self.alice)
                self.assertEqual(callouts(self.server), before + 1)
                self.ok(self.alice.link(l), P, self.alice)

    def test_api_pending_again_by_executing_user_sends_nothing(self):
        for t in ("Api", "ApiAsync"):
            _, (l,) = self.make([t])
            self.alice.set_status(l, P)
            before = callouts(self.server)
            self.ok(self.alice.set_status(l, P), P, self.alice)
            self.assertEqual(callouts(self.server), before)

    def test_api_pending_again_after_terminal_answers_current_state(self):
        g, (l,) = self.make(["ApiAsync"])
        self.alice.set_status(l, P)
        self.ok(self.creator.set_status(l, S), S)
        before = callouts(self.server)
        self.ok(self.alice.set_status(l, P), S, self.alice)
        self.assertEqual(callouts(self.server), before)

    # --- ALREADY_EXECUTED ---------------------------------------------------------------

    def test_once_other_user_gets_already_executed(self):
        for t in ("Api", "ApiAsync", "Download", "Ui"):
            for want in (N, P, S, F):
                _, (l,) = self.make([t])
                self.assertEqual(self.alice.set_status(l, P).status, 200)
                before = callouts(self.server)
                r = self.bob.set_status(l, want)
                if want in (S, F) and t == "Api":
                    # the completion rows come first (SPEC 11.2): clients never complete Api
                    self.assertError(r, 409, "INVALID_STATUS_TRANSITION")
                elif want in (S, F) and t == "ApiAsync":
                    self.assertError(r, 403, "INSUFFICIENT_ACCESS")
                else:
                    self.assertError(r, 409, "ALREADY_EXECUTED")
                self.assertEqual(callouts(self.server), before)
                # Bob sees Alice's execution of the Once link.
                self.ok(self.bob.link(l), P, self.alice)

    def test_mutual_exclusion_in_group(self):
        for policy in ("Once", "OncePerUser"):
            for t in ("Api", "Ui"):
                g, (l1, l2) = self.make([t, t], policy)
                self.ok(self.alice.set_status(l1, P), P)
                self.assertError(self.alice.set_status(l2, P), 409, "ALREADY_EXECUTED")
                self.ok(self.alice.link(l2), N)
                view = self.alice.group(g).json()["platformActions"]
                self.assertEqual([a["status"] for a in view], [P, N])

    def test_once_per_user_scopes_are_independent(self):
        _, (l1, l2) = self.make(["Api", "Api"], "OncePerUser")
        self.ok(self.alice.set_status(l1, P), P, self.alice)
        self.ok(self.bob.set_status(l2, P), P, self.bob)
        self.ok(self.alice.link(l2), N)
        self.ok(self.bob.link(l1), N)
        self.assertIsNone(self.bob.link(l1).json()["executingUser"])

    # --- Api: Pending -> terminal only by the callout ----------------------------------

    def test_api_clients_cannot_complete(self):
        for who in ("alice", "creator", "boss"):
            for want in (S, F):
                _, (l,) = self.make(["Api"])
                self.alice.set_status(l, P)
                self.assertError(getattr(self, who).set_status(l, want), 409,
                                 "INVALID_STATUS_TRANSITION")
                self.ok(self.alice.link(l), P)

    # --- ApiAsync: Pending -> terminal by the creating app ----------------------------

    def test_api_async_completion_by_creating_app(self):
        for who in ("alice", "creator", "boss"):
            for want in (S, F):
                _, (l,) = self.make(["ApiAsync"])
                self.alice.set_status(l, P)
                self.ok(getattr(self, who).set_status(l, want), want, self.alice)
                self.ok(self.alice.link(l), want)

    def test_api_async_completion_refused_to_others(self):
        _, (l,) = self.make(["ApiAsync"])
        self.alice.set_status(l, P)
        # bob: same app but neither executing user, creator nor viewAllData
        self.assertError(self.bob.set_status(l, S), 403, "INSUFFICIENT_ACCESS")
        # alice through another app
        self.assertError(self.alice_other_app.set_status(l, S), 403, "INSUFFICIENT_ACCESS")
        self.ok(self.alice.link(l), P)

    def test_api_async_late_completion(self):
        _, (l,) = self.make(["ApiAsync"])
        self.alice.set_status(l, P)
        self.ok(self.creator.set_status(l, F), F)
        self.assertError(self.creator.set_status(l, S), 409, "INVALID_STATUS_TRANSITION")

    def test_completion_not_refused_as_already_executed(self):
        # The creator completing Alice's Once execution is a completion row, not
        # someone else's execution.
        _, (l,) = self.make(["ApiAsync"])
        self.alice.set_status(l, P)
        self.ok(self.creator.set_status(l, S), S, self.alice)

    # --- Download, Ui -------------------------------------------------------------------

    def test_download_ui_new_to_any(self):
        for t in ("Download", "Ui"):
            for want in (P, S, F):
                for policy in ("Once", "OncePerUser"):
                    _, (l,) = self.make([t], policy)
                    before = callouts(self.server)
                    self.ok(self.alice.set_status(l, want), want, self.alice)
                    self.ok(self.alice.link(l), want, self.alice)
                    self.assertEqual(callouts(self.server), before)

    def test_download_ui_completion_by_executing_user(self):
        for t in ("Download", "Ui"):
            for want in (S, F):
                _, (l,) = self.make([t])
                self.alice.set_status(l, P)
                self.ok(self.alice.set_status(l, want), want)

    def test_download_ui_completion_by_other_user(self):
        _, (l,) = self.make(["Ui"])
        self.alice.set_status(l, P)
        self.assertError(self.bob.set_status(l, S), 409, "ALREADY_EXECUTED")

    def test_download_ui_pending_again_is_idempotent(self):
        # [decided] a second Pending by the same user on a Pending Download/Ui link is 200
        _, (l,) = self.make(["Ui"])
        self.ok(self.alice.set_status(l, P), P)
        self.ok(self.alice.set_status(l, P), P)

    # --- New -> New ---------------------------------------------------------------------

    def test_new_to_new(self):
        for t in ("Download", "Ui"):
            _, (l,) = self.make([t])
            self.ok(self.alice.set_status(l, N), N)
            self.assertEqual(self.server.sql("SELECT count(*) FROM executions WHERE link_id=?",
                                             (l[:15],))[0][0], 0)
        for t in ("Api", "ApiAsync"):
            _, (l,) = self.make([t])
            self.assertError(self.alice.set_status(l, N), 409, "INVALID_STATUS_TRANSITION")

    def test_non_new_to_new(self):
        for t in ("Api", "ApiAsync", "Download", "Ui"):
            _, (l,) = self.make([t])
            self.alice.set_status(l, P)
            self.assertError(self.alice.set_status(l, N), 409, "INVALID_STATUS_TRANSITION")

    # --- terminal -> anything -----------------------------------------------------------

    def test_terminal_is_final(self):
        for t in ("Download", "Ui"):
            for first in (S, F):
                for then in (P, S, F, N):
                    _, (l,) = self.make([t])
                    self.ok(self.alice.set_status(l, first), first)
                    self.assertError(self.alice.set_status(l, then), 409,
                                     "INVALID_STATUS_TRANSITION")
                    self.ok(self.alice.link(l), first)

    def test_api_new_to_terminal_refused(self):
        for t in ("Api", "ApiAsync"):
            for want in (S, F):
                _, (l,) = self.make([t])
                self.assertError(self.alice.set_status(l, want), 409,
                                 "INVALID_STATUS_TRANSITION")

    # --- Unlimited ----------------------------------------------------------------------

    def test_unlimited(self):
        for t in ("Download", "Ui"):
            g, (l,) = self.make([t], "Unlimited")
            for want in (N, P, S, F):
                self.assertError(self.alice.set_status(l, want), 409,
                                 "INVALID_STATUS_TRANSITION")
            self.ok(self.alice.link(l), N)
            # Unlimited is tried before expiry.
            self.expire(g)
            self.assertError(self.alice.set_status(l, P), 409, "INVALID_STATUS_TRANSITION")

    # --- expiry -------------------------------------------------------------------------

    def test_expired(self):
        for t in ("Api", "ApiAsync", "Download", "Ui"):
            g, (l,) = self.make([t])
            self.expire(g)
            before = callouts(self.server)
            self.assertError(self.alice.set_status(l, P), 409, "ACTION_LINK_EXPIRED")
            self.assertEqual(callouts(self.server), before)
            self.ok(self.alice.link(l), N)  # a direct GET still answers

    def test_expired_existing_execution_follows_other_rows(self):
        g, (l,) = self.make(["ApiAsync"])
        self.alice.set_status(l, P)
        self.expire(g)
        self.ok(self.alice.set_status(l, P), P)          # same user, same link
        self.assertError(self.bob.set_status(l, P), 409, "ALREADY_EXECUTED")
        self.ok(self.creator.set_status(l, S), S)        # completion still allowed
        g, (l,) = self.make(["Ui"])
        self.alice.set_status(l, P)
        self.expire(g)
        self.ok(self.alice.set_status(l, S), S)

    def test_expired_precedence_over_already_executed(self):
        # Bob asks Pending on a Once link nobody executed yet: expired wins.
        g, (l1, l2) = self.make(["Ui", "Ui"], "OncePerUser")
        self.alice.set_status(l1, P)
        self.expire(g)
        self.assertError(self.bob.set_status(l2, P), 409, "ACTION_LINK_EXPIRED")
        # Alice's scope has an execution: the PATCH would not create one.
        self.assertError(self.alice.set_status(l2, P), 409, "ALREADY_EXECUTED")

    # --- status input -------------------------------------------------------------------

    def test_status_in_query(self):
        _, (l,) = self.make(["Ui"])
        r = self.alice.patch(API + "/connect/action-links/%s?status=PendingStatus" % l)
        self.ok(r, P)

    def test_bad_status(self):
        _, (l,) = self.make(["Ui"])
        for body in ({"status": "Done"}, {"status": 1}, {}, {"status": None}):
            self.assertError(self.alice.patch(API + "/connect/action-links/" + l, body), 400,
                             "INVALID_STATUS")

    # --- labels and confirmation --------------------------------------------------------

    def test_labels_for_every_status(self):
        for key in ("Approve", "Add to Calendar", "Download", "Join"):
            for final in (S, F):
                r = self.creator.create_group(group_def(
                    [link_def("ApiAsync", label=key, confirm=True)]))
                l = r.json()["actionLinks"][0]["id"]
                row = LABELS[key]
                a = self.alice.link(l).json()
                self.assertEqual(a["label"], row[N])
                self.assertEqual(a["confirmationMessage"],
                                 "Are you sure you want to %s?" % row[N])
                a = self.alice.set_status(l, P).json()
                self.assertEqual(a["label"], row[P])
                self.assertIsNone(a["confirmationMessage"])
                a = self.creator.set_status(l, final).json()
                self.assertEqual(a["label"], row[final])
                self.assertIsNone(a["confirmationMessage"])

    def test_no_confirmation_without_requires_confirmation(self):
        _, (l,) = self.make(["Ui"])
        self.assertIsNone(self.alice.link(l).json()["confirmationMessage"])


if __name__ == "__main__":
    harness.main()
