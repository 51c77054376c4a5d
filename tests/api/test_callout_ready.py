"""Callouts claimed ahead (docs/DECISIONS.md 21): a claim takes up to twice the room
there is at a destination; what does not fit waits, started in the store, and is sent as
soon as a slot frees. These tests hold the limits and the stop to that:

- never more than --callout-per-host requests at once at a destination, however many
  are claimed ahead, and each sent exactly once;
- a claimed callout is counted by the `actionlinks_callouts_ready` gauge until it is sent;
- a server told to stop records what is under way and gives what it claimed ahead back
  to the queue unsent (nothing is failed as interrupted); the next start sends it;
- with every slot busy elsewhere, a destination holds at most twice its own limit;
- a PATCH claims its own callout with the write that makes it when there is room and
  nothing waits for room before it; once one had to wait, the next ones queue behind it,
  and they are sent in the order they were made.
"""
import concurrent.futures
import sqlite3
import threading
import time

import harness
from harness import group_def, link_def
from harness import wait_until as poll
from sink import Sink

PER_HOST = 2


def metrics(server):
    r = server.client().get("/metrics", auth=False)
    assert r.status == 200, r
    out = {}
    for line in r.body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class WithSink(harness.ServerTest):
    """A server sending to one sink, per_host at a time."""
    per_host = PER_HOST
    more_args = ()

    @classmethod
    def setUpClass(cls):
        cls.sink = Sink()
        cls.server_args = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32",
                           "--callout-per-host", str(cls.per_host),
                           "--callout-max", "64") + cls.more_args
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.sink.close()

    def make(self, alice, n, path):
        def one(i):
            c = self.server.client(alice.token)
            r = c.create_group(group_def([link_def(
                "Api", self.sink.url + path + "/%d/{!actionLinkId}" % i)]))
            self.assertEqual(r.status, 201, r)
            return r.json()["actionLinks"][0]["id"]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(one, range(n)))

    def patch(self, alice, links):
        def one(link):
            r = self.server.client(alice.token).set_status(link, "PendingStatus")
            self.assertEqual(r.status, 200, r)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(one, links))

    def statuses(self, links):
        rows = self.server.sql(
            "SELECT status, count(*) FROM executions WHERE link_id IN (%s) GROUP BY status" %
            ",".join("'%s'" % l[:15] for l in links))
        return dict(rows)

    def send_all(self, user, n, path, meanwhile=None):
        """n callouts to the sink's path, clicked at once by a new user, all ended and each
        sent exactly once; meanwhile runs while they are under way."""
        alice = self.server.user(user)
        self.sink.take()
        self.sink.max_open = 0
        links = self.make(alice, n, path)
        self.patch(alice, links)
        if meanwhile:
            meanwhile()
        poll(lambda: self.statuses(links) == {2: len(links)}, 60, "every callout to end")
        got = [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(got), sorted(l[:15] for l in links))


class ClaimedAhead(WithSink):

    def test_per_host_limit_holds_and_each_is_sent_once(self):
        def some_claimed_ahead():  # waiting for a slot while two are at the sink
            self.assertTrue(poll(lambda: metrics(self.server)["actionlinks_callouts_ready"] > 0,
                                 20, "a callout claimed ahead"))
        self.send_all("alice", 24, "/slow/200", some_claimed_ahead)
        self.assertLessEqual(self.sink.max_open, PER_HOST)
        m = metrics(self.server)
        self.assertEqual(m["actionlinks_callouts_ready"], 0)
        self.assertEqual(m["actionlinks_callouts_in_flight"], 0)

    def test_stop_gives_claimed_ones_back(self):
        alice = self.server.user("bob")
        self.sink.take()
        hold = self.sink.hold = threading.Event()
        try:
            links = self.make(alice, 12, "/held")
            self.patch(alice, links)
            # two at the sink, held there; two claimed ahead, waiting for a slot
            poll(lambda: self.sink.open == PER_HOST and
                 metrics(self.server)["actionlinks_callouts_ready"] == PER_HOST, 30,
                 "two callouts at the sink and two claimed ahead")
            claimed = {r[0] for r in self.server.sql(
                "SELECT e.link_id FROM callouts c JOIN executions e ON e.id = c.execution_id "
                "WHERE c.state = 1")}
            at_sink = {r.path.rsplit("/", 1)[1][:15] for r in self.sink.requests}
            self.assertEqual(len(claimed), 2 * PER_HOST)
            self.assertEqual(len(at_sink), PER_HOST)
            # the queue's gauge (counted through the queue's index) is the table's count
            queued = self.server.sql("SELECT count(*) FROM callouts WHERE state = 0")[0][0]
            self.assertGreaterEqual(queued, len(links) - 2 * PER_HOST)
            self.assertEqual(metrics(self.server)["actionlinks_callouts_queued"], queued)
            ahead = claimed - at_sink

            def given_back():
                return self.server.sql(
                    "SELECT count(*) FROM callouts c JOIN executions e ON "
                    "e.id = c.execution_id WHERE c.state = 0 AND c.owner IS NULL AND "
                    "e.link_id IN (%s)" % ",".join("'%s'" % l for l in ahead))[0][0] == PER_HOST

            def answer_once_given_back():
                # the sink answers only once the stopping server gave the claimed-ahead
                # ones back, so none of them can have been sent in between
                poll(given_back, 30, "the claimed-ahead callouts back in the queue")
                hold.set()
            helper = threading.Thread(target=answer_once_given_back, daemon=True)
            helper.start()
            self.server.stop()
            helper.join(35)
        finally:
            hold.set()
            self.sink.hold = None
        # those at the sink were answered and recorded; the others are queued, nothing
        # is left started, nothing failed as interrupted
        sent = [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(sent), sorted(at_sink))
        self.assertEqual(self.statuses(links), {2: PER_HOST, 1: len(links) - PER_HOST})
        self.assertEqual(self.server.sql("SELECT count(*) FROM callouts WHERE state = 1")[0][0], 0)

        self.server.start()
        poll(lambda: self.statuses(links) == {2: len(links)}, 60, "the rest to be sent")
        sent += [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(sent), sorted(l[:15] for l in links))


    def test_nothing_sent_while_the_heartbeat_is_late(self):
        """Another process holds the database's write lock, so this node cannot beat
        its heart: once its beat is late, a claimed-ahead callout is not sent even when
        a slot frees (another node may be failing it as interrupted); it goes once the
        beat is written again."""
        alice = self.server.user("carol")
        self.sink.take()
        hold = self.sink.hold = threading.Event()
        self.addCleanup(hold.set)
        links = self.make(alice, 2 * PER_HOST, "/held")
        self.patch(alice, links)
        poll(lambda: self.sink.open == PER_HOST and
             metrics(self.server)["actionlinks_callouts_ready"] == PER_HOST, 30,
             "two callouts at the sink and two claimed ahead")
        db = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            time.sleep(3.6)  # the beat (every second) is now over 2.5 s late
            hold.set()       # both slots free; the ready ones must stay
            poll(lambda: self.sink.open == 0, 10, "the held answers to go")
            time.sleep(0.5)
            self.assertEqual(len(self.sink.requests), PER_HOST)
        finally:
            db.execute("ROLLBACK")
            db.close()
            self.sink.hold = None
        poll(lambda: self.statuses(links) == {2: len(links)}, 30, "the rest to be sent")
        got = [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(got), sorted(l[:15] for l in links))


class AheadBound(harness.ServerTest):
    """With every slot busy elsewhere, a destination holds at most twice its own limit."""

    @classmethod
    def setUpClass(cls):
        cls.slow = [Sink() for _ in range(4)]
        cls.fast = Sink()
        cls.server_args = ("--allow-http-callouts", "--callout-allow", "127.0.0.1/32",
                           "--callout-per-host", "1", "--callout-max", "4")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for sink in cls.slow + [cls.fast]:
            sink.close()

    def test_ready_bounded_per_destination(self):
        alice = self.server.user("alice")
        c = self.server.client(alice.token)

        def link(url):
            r = c.create_group(group_def([link_def("Api", url)]))
            self.assertEqual(r.status, 201, r)
            return r.json()["actionLinks"][0]["id"]
        hold = threading.Event()
        for s in self.slow:
            s.hold = hold
        self.addCleanup(hold.set)
        slow = [link(s.url + "/held/%d" % i) for i, s in enumerate(self.slow)]
        fast = [link(self.fast.url + "/f/%d/{!actionLinkId}" % i) for i in range(10)]
        for l in slow:
            self.assertEqual(c.set_status(l, "PendingStatus").status, 200)
        poll(lambda: all(s.open == 1 for s in self.slow), 20, "every slot busy")
        for l in fast:
            self.assertEqual(c.set_status(l, "PendingStatus").status, 200)
        host = "http://127.0.0.1:%d" % self.fast.port
        # every slot stays busy (the slow sinks hold their answers) while it claims
        poll(lambda: self.server.sql("SELECT count(*) FROM callouts WHERE state = 1 AND "
                                     "host = ?", (host,))[0][0] == 2, 20, "two claimed ahead")
        deadline = time.monotonic() + 1.0
        most = 0
        while time.monotonic() < deadline:
            most = max(most, self.server.sql(
                "SELECT count(*) FROM callouts WHERE state = 1 AND host = ?", (host,))[0][0])
            time.sleep(0.02)
        self.assertTrue(all(s.open == 1 for s in self.slow))
        self.assertEqual(most, 2)  # twice --callout-per-host, not up to --callout-max
        hold.set()
        poll(lambda: self.server.sql("SELECT count(*) FROM executions WHERE status = 1")[0][0]
             == 0, 30, "every callout to end")
        self.assertEqual(sorted(r.path.rsplit("/", 1)[1][:15] for r in self.fast.take()),
                         sorted(l[:15] for l in fast))


class ClaimedByThePatch(WithSink):
    """The PATCH's own claim (DECISIONS 21): stored started by this node in the same
    transaction as the execution, sent once that is durable, with no claim by the
    dispatcher; and never ahead of a callout that waits for room."""

    def link(self, c, path):
        r = c.create_group(group_def([link_def("Api", self.sink.url + path + "/{!actionLinkId}")]))
        self.assertEqual(r.status, 201, r)
        return r.json()["actionLinks"][0]["id"]

    def rows(self, links):
        """link id → (state, owner set, started when made) of its callout."""
        got = self.server.sql(
            "SELECT e.link_id, c.state, c.owner IS NOT NULL, c.started_ms = c.created_ms "
            "FROM callouts c JOIN executions e ON e.id = c.execution_id "
            "WHERE e.link_id IN (%s)" % ",".join("'%s'" % l[:15] for l in links))
        return {r[0]: tuple(r[1:]) for r in got}

    def test_claimed_with_its_write(self):
        alice = self.server.user("alice")
        c = self.server.client(alice.token)
        self.sink.take()
        before = metrics(self.server)
        # the node claims with the PATCH once its first round has looked at the queue
        # (and while its heartbeat is fresh): on a loaded box, the first may queue
        for attempt in range(5):
            link = self.link(c, "/one/%d" % attempt)
            self.assertEqual(c.set_status(link, "PendingStatus").status, 200)
            poll(lambda: self.rows([link]).get(link[:15], (0,))[0] == 2, 20, "the callout to end")
            if self.rows([link])[link[:15]] == (2, 1, 1):
                break
            time.sleep(1)
        self.assertEqual(self.rows([link])[link[:15]], (2, 1, 1))
        after = metrics(self.server)
        self.assertGreaterEqual(after['actionlinks_callouts_claimed_total{by="patch"}'] -
                                before['actionlinks_callouts_claimed_total{by="patch"}'], 1)
        self.assertEqual(len(self.sink.take()), attempt + 1)  # each sent once

    def test_none_goes_before_one_waiting_for_room(self):
        bob = self.server.user("bob")
        c = self.server.client(bob.token)
        self.sink.take()
        hold = self.sink.hold = threading.Event()
        self.addCleanup(hold.set)
        links = [self.link(c, "/held/%d" % i) for i in range(2 * PER_HOST + 3)]
        first, rest = links[:2 * PER_HOST], links[2 * PER_HOST:]
        for link in links:  # one after the other: made in this order
            self.assertEqual(c.set_status(link, "PendingStatus").status, 200)
        poll(lambda: self.sink.open == PER_HOST, 20, "the sink's slots taken")
        rows = self.rows(links)
        # two at the sink and two waiting for a slot, each claimed by its PATCH; the
        # next found no room and queued, and so did every one after it
        self.assertEqual([rows[l[:15]] for l in first], [(1, 1, 1)] * len(first))
        self.assertEqual([rows[l[:15]][:2] for l in rest], [(0, 0)] * len(rest))
        self.assertEqual({r.path.rsplit("/", 1)[1][:15] for r in self.sink.requests},
                         {l[:15] for l in first[:PER_HOST]})
        self.sink.hold = None
        hold.set()
        poll(lambda: self.server.sql(
            "SELECT count(*) FROM executions WHERE status = 1")[0][0] == 0, 30,
            "every callout to end")
        sent = [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(sent), sorted(l[:15] for l in links))  # each exactly once
        # the queued ones were claimed by the dispatcher, oldest first
        started = dict(self.server.sql(
            "SELECT e.link_id, c.started_ms FROM callouts c JOIN executions e ON "
            "e.id = c.execution_id WHERE e.link_id IN (%s)" %
            ",".join("'%s'" % l[:15] for l in rest)))
        order = [started[l[:15]] for l in rest]
        self.assertEqual(order, sorted(order))

    def test_none_takes_room_freed_for_one_waiting(self):
        """Room frees while a callout waits in the queue for it: a PATCH made before the
        dispatcher claims that one does not take the room (the node has a backlog), it
        queues behind, and is claimed no earlier than the one that waited."""
        dave = self.server.user("dave")
        c = self.server.client(dave.token)
        self.sink.take()
        first = self.sink.hold = threading.Event()
        self.addCleanup(first.set)
        links = [self.link(c, "/order/%d" % i) for i in range(2 * PER_HOST + 2)]
        early, waiting, late = links[:2 * PER_HOST], links[2 * PER_HOST], links[-1]
        for link in early + [waiting]:
            self.assertEqual(c.set_status(link, "PendingStatus").status, 200)
        poll(lambda: self.sink.open == PER_HOST, 20, "the sink's slots taken")
        # another process holds the write lock: the dispatcher cannot claim `waiting`
        db = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        second = threading.Event()
        self.addCleanup(second.set)
        answer = []
        try:
            self.sink.hold = second
            first.set()  # two slots free; the two claimed ahead take them
            poll(lambda: len(self.sink.requests) == 2 * PER_HOST and
                 self.sink.open == PER_HOST, 20, "the claimed-ahead ones at the sink")
            patch = threading.Thread(target=lambda: answer.append(
                self.server.client(dave.token).set_status(late, "PendingStatus")))
            patch.start()
            time.sleep(0.5)  # it has decided; its write waits for the lock
        finally:
            db.execute("ROLLBACK")
            db.close()
        patch.join(30)
        self.assertEqual(answer[0].status, 200, answer[0])
        self.sink.hold = None
        second.set()
        poll(lambda: self.server.sql(
            "SELECT count(*) FROM executions WHERE status = 1")[0][0] == 0, 30,
            "every callout to end")
        sent = [r.path.rsplit("/", 1)[1][:15] for r in self.sink.take()]
        self.assertEqual(sorted(sent), sorted(l[:15] for l in links))

        def made_started(link):
            return self.server.sql(
                "SELECT c.created_ms, c.started_ms FROM callouts c JOIN executions e ON "
                "e.id = c.execution_id WHERE e.link_id = ?", (link[:15],))[0]
        made, started = made_started(late)
        self.assertGreater(started, made)  # queued, claimed by the dispatcher afterwards
        # and not before the one that waited (the two may then leave at once, for the two
        # slots the held ones free: the order the sink sees them in is not the test's)
        self.assertLessEqual(made_started(waiting)[1], started)

    def test_written_while_the_beat_is_late(self):
        """A PATCH claims its callout while the node is alive, but its write waits for
        another process's lock long enough for the heartbeat to be late: once written,
        it is not sent but given back to the queue (another node may have failed it),
        and the dispatcher claims and sends it once the beat is fresh."""
        carol = self.server.user("carol")
        c = self.server.client(carol.token)
        self.sink.take()
        link = self.link(c, "/late")
        before = metrics(self.server)
        db = sqlite3.connect(self.server.db, timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        answer = []
        try:
            patch = threading.Thread(target=lambda: answer.append(
                self.server.client(carol.token).set_status(link, "PendingStatus")))
            patch.start()
            time.sleep(3.6)  # the beat (every second) is now over 2.5 s late
        finally:
            db.execute("ROLLBACK")
            db.close()
        patch.join(30)
        self.assertEqual(answer[0].status, 200, answer[0])
        poll(lambda: self.rows([link]).get(link[:15], (0,))[0] == 2, 30, "the callout to end")
        self.assertEqual(len(self.sink.take()), 1)
        after = metrics(self.server)
        claimed = {k: after['actionlinks_callouts_claimed_total{by="%s"}' % k] -
                   before['actionlinks_callouts_claimed_total{by="%s"}' % k]
                   for k in ("patch", "dispatcher")}
        self.assertEqual(claimed, {"patch": 1, "dispatcher": 1})


class Engines(WithSink):
    """--callout-threads shares each limit out between the engine threads: four asked
    with a per-host limit of three make three engines of one connection each there."""
    per_host = 3
    more_args = ("--callout-threads", "4")

    def test_the_engines_send_at_once_and_the_limit_holds(self):
        self.send_all("carol", 18, "/slow/600")
        # one at a time on each engine would never be three at once: all three worked
        self.assertEqual(self.sink.max_open, 3)

    def test_bad_counts_are_refused(self):
        import os
        import subprocess
        for value in ("0", "9", "two", "-1"):
            with self.subTest(value=value):
                out = subprocess.run(
                    [harness.AL_BIN, "serve", "--db", os.path.join(self.server.dir, "x.db"),
                     "--listen", "127.0.0.1:0", "--callout-threads", value],
                    capture_output=True, text=True, timeout=30)
                self.assertEqual(out.returncode, 2, out)
                self.assertIn("--callout-threads N", out.stderr)


if __name__ == "__main__":
    harness.main()
