"""Issue item 2: exactly-once under real concurrency. 50 client threads, as 50 users,
PATCH PendingStatus on one Once Api link at the same moment; and two links of one
OncePerUser group raced by one user."""
import threading

import harness
from harness import group_def, link_def

USERS = 50


def race(calls):
    """Runs the callables at the same moment, one thread each; returns their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


class Race(harness.ServerTest):
    # Callouts stay queued (--callout-max 0: an API-only node), so Api executions stay
    # Pending while the workflow is tested; test_callouts.py covers sending them.
    server_args = ("--callout-max", "0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = [cls.server.user("user%02d" % i) for i in range(USERS)]

    def warm(self):
        # open every connection first, so the race is between requests, not handshakes
        for u in self.users:
            u.get("/healthz")

    def test_once_api_link_raced_by_50_users(self):
        for rnd in range(3):
            r = self.users[0].create_group(group_def(
                [link_def("Api", "https://example.com/approve/%d" % rnd, label="Approve")]))
            link = r.json()["actionLinks"][0]["id"]
            self.warm()
            results = race([lambda u=u: u.set_status(link, "PendingStatus")
                            for u in self.users])
            ok = [r for r in results if r.status == 200]
            conflicts = [r for r in results if r.status == 409]
            self.assertEqual(len(ok), 1, results)
            self.assertEqual(ok[0].json()["status"], "PendingStatus")
            self.assertEqual(len(conflicts), USERS - 1, results)
            for c in conflicts:
                self.assertEqual(c.json()[0]["errorCode"], "ALREADY_EXECUTED")
            winner = ok[0].json()["executingUser"]["id"]
            rows = self.server.sql(
                "SELECT e.user_id, count(c.execution_id) FROM executions e "
                "LEFT JOIN callouts c ON c.execution_id = e.id WHERE e.link_id = ? "
                "GROUP BY e.id", (link[:15],))
            self.assertEqual(len(rows), 1)              # one execution
            self.assertEqual(rows[0][1], 1)             # one queued callout
            self.assertEqual(rows[0][0], winner[:15])
            # every user now sees the winner's execution
            for u in self.users[:5]:
                self.assertEqual(u.link(link).json()["executingUser"]["id"], winner)

    def test_once_per_user_group_raced_by_one_user(self):
        u = self.users[1]
        for rnd in range(20):
            r = u.create_group(group_def(
                [link_def("Api", "https://example.com/a", label="Accept"),
                 link_def("Api", "https://example.com/b", label="Decline")],
                policy="OncePerUser"))
            a, b = [l["id"] for l in r.json()["actionLinks"]]
            # two connections of the same user
            c1, c2 = self.server.client(u.token), self.server.client(u.token)
            c1.get("/healthz")
            c2.get("/healthz")
            r1, r2 = race([lambda: c1.set_status(a, "PendingStatus"),
                           lambda: c2.set_status(b, "PendingStatus")])
            statuses = sorted([r1.status, r2.status])
            self.assertEqual(statuses, [200, 409], (r1, r2))
            loser = r1 if r1.status == 409 else r2
            self.assertEqual(loser.json()[0]["errorCode"], "ALREADY_EXECUTED")
            n = self.server.sql("SELECT count(*) FROM executions e JOIN callouts c "
                                "ON c.execution_id = e.id WHERE e.link_id IN (?, ?)",
                                (a[:15], b[:15]))[0][0]
            self.assertEqual(n, 1)


if __name__ == "__main__":
    harness.main()
