"""Issue 5 item 3: the live event stream (SPEC 9). 1,000 concurrent streams each receive
every event meant for their user and none meant for others; resume with Last-Event-ID;
SIGTERM with streams open exits 0 promptly."""
import asyncio
import json
import os
import socket
import signal
import time

import harness
from harness import API, group_def, link_def

USERS = 10
STREAMS = 1000


async def open_stream(port, token, last_id=None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    extra = "Last-Event-ID: %s\r\n" % last_id if last_id is not None else ""
    writer.write(("GET %s/connect/action-link-events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n%s\r\n" % (
                      API, token, extra)).encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/event-stream" in head, head
    # the body runs until the connection closes (not chunked), which lets the server
    # write to idle streams directly; a chunked body is read too
    reader._sse_chunked = b"transfer-encoding: chunked" in head.lower()
    return reader, writer


async def read_events(reader, want, timeout):
    """Reads SSE events (a dict per event) until `want` returns True or time runs out.
    In a chunked body the chunk framing lines are skipped."""
    events, buf = [], b""
    deadline = time.monotonic() + timeout
    while not want(events):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            data = await asyncio.wait_for(reader.read(65536), left)
        except asyncio.TimeoutError:
            break
        if not data:
            break
        buf += data
        # drop chunk-size lines, keep the payload
        text = b""
        if not reader._sse_chunked:
            text, buf = buf, b""
        while reader._sse_chunked:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                break
            size = int(buf[:line_end].split(b";")[0] or b"0", 16)
            if len(buf) < line_end + 2 + size + 2:
                break
            text += buf[line_end + 2:line_end + 2 + size]
            buf = buf[line_end + 2 + size + 2:]
        pending = getattr(reader, "_sse_pending", b"") + text
        while b"\n\n" in pending:
            block, pending = pending.split(b"\n\n", 1)
            ev = {}
            for line in block.decode().split("\n"):
                if line.startswith(":") or not line:
                    continue
                k, _, v = line.partition(": ")
                ev[k] = v
            if "event" in ev:
                ev["data"] = json.loads(ev["data"])
                events.append(ev)
        reader._sse_pending = pending
    return events


class Events(harness.ServerTest):
    server_args = ("--callout-max", "0")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = [cls.server.user("u%d" % i) for i in range(USERS)]

    def test_fan_out_to_1000_streams(self):
        u0 = self.users[0]
        # one Once group everybody sees, and one OncePerUser group per user
        shared = u0.create_group(group_def([link_def("Ui", label="View")])).json()
        shared_link = shared["actionLinks"][0]["id"]
        own = [u.create_group(group_def([link_def("Ui", label="Open")], policy="OncePerUser"))
               .json()["actionLinks"][0]["id"] for u in self.users]
        hidden = u0.create_group(group_def([link_def(
            "Ui", label="Join", userId=self.users[1].user_id)])).json()["actionLinks"][0]["id"]

        async def run():
            streams = await asyncio.gather(*[
                open_stream(self.server.port, self.users[i % USERS].token)
                for i in range(STREAMS)])
            # each user executes their own link; user 0 the shared one; user 1 the hidden one
            loop = asyncio.get_running_loop()

            def act():
                for i, u in enumerate(self.users):
                    assert u.set_status(own[i], "PendingStatus").status == 200
                assert u0.set_status(shared_link, "SuccessfulStatus").status == 200
                assert self.users[1].set_status(hidden, "PendingStatus").status == 200
            start = time.monotonic()
            await loop.run_in_executor(None, act)

            def want_for(i):
                n = 3 if i % USERS == 1 else 2  # own, shared (+ hidden for user 1)
                return lambda evs: len(evs) >= n
            results = await asyncio.gather(*[
                read_events(r, want_for(i), 60) for i, (r, w) in enumerate(streams)])
            elapsed = time.monotonic() - start
            # a moment longer for anything that should not come
            extra = await asyncio.gather(*[read_events(r, lambda e: False, 0.5)
                                           for r, w in streams[:50]])
            for r, w in streams:
                w.close()
            return results, extra, elapsed

        results, extra, elapsed = asyncio.run(run())
        for i, evs in enumerate(results):
            u = self.users[i % USERS]
            links = sorted(e["data"]["id"] for e in evs)
            want = sorted([own[i % USERS], shared_link] + ([hidden] if i % USERS == 1 else []))
            self.assertEqual(links, want, "stream %d of %s" % (i, u.username))
            for e in evs:
                self.assertEqual(e["event"], "status")
                self.assertTrue(e["id"].isdigit())
                if e["data"]["id"] == own[i % USERS]:
                    self.assertEqual(e["data"]["executingUser"]["id"], u.user_id)
            # every user sees the shared link in its final state, executed by user 0
            shared_ev = [e for e in evs if e["data"]["id"] == shared_link][0]
            self.assertEqual(shared_ev["data"]["status"], "SuccessfulStatus")
            self.assertEqual(shared_ev["data"]["executingUser"]["id"], u0.user_id)
        for evs in extra:
            self.assertEqual(evs, [])
        print("%d streams, every event delivered in %.2f s" % (STREAMS, elapsed))

    def test_resume_with_last_event_id(self):
        u = self.users[2]
        links = [u.create_group(group_def([link_def("Ui", label="View")],
                                          policy="OncePerUser")).json()["actionLinks"][0]["id"]
                 for _ in range(3)]

        async def run():
            r, w = await open_stream(self.server.port, u.token)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: u.set_status(links[0], "PendingStatus"))
            first = await read_events(r, lambda e: len(e) >= 1, 20)
            w.close()
            # while disconnected, two more changes
            for l in links[1:]:
                u.set_status(l, "SuccessfulStatus")
            r, w = await open_stream(self.server.port, u.token, first[-1]["id"])
            missed = await read_events(r, lambda e: len(e) >= 2, 20)
            w.close()
            # a fresh stream without Last-Event-ID gets only new events
            r, w = await open_stream(self.server.port, u.token)
            none = await read_events(r, lambda e: False, 1.0)
            w.close()
            return first, missed, none

        first, missed, none = asyncio.run(run())
        self.assertEqual([e["data"]["id"] for e in first], [links[0]])
        self.assertEqual([e["data"]["id"] for e in missed], links[1:])
        self.assertTrue(all(int(e["id"]) > int(first[-1]["id"]) for e in missed))
        self.assertEqual(none, [])

    def test_needs_a_token(self):
        r = self.server.client().get(API + "/connect/action-link-events", auth=False)
        self.assertError(r, 401, "INVALID_SESSION_ID")


class LateJoin(harness.ServerTest):
    """The hub takes a new stream in on its own thread, after reading the log. Here it
    waits 300 ms first (a test hook), so that the change made right after a stream opens
    is committed before the hub has taken the stream in: the stream must still get it,
    once, and nothing from before it opened."""

    @classmethod
    def setUpClass(cls):
        os.environ["ACTIONLINKS_TEST_HUB_JOIN_DELAY_MS"] = "300"
        try:
            super().setUpClass()
        finally:
            del os.environ["ACTIONLINKS_TEST_HUB_JOIN_DELAY_MS"]

    def test_a_change_right_after_opening_is_delivered_once(self):
        u = self.server.user("late")
        links = [u.create_group(group_def([link_def("Ui", label="View")],
                                          policy="OncePerUser")).json()["actionLinks"][0]["id"]
                 for _ in range(4)]
        # a change before any stream opens: never sent to the streams opened after it
        self.assertEqual(u.set_status(links[0], "PendingStatus").status, 200)

        async def once(link):
            r, w = await open_stream(self.server.port, u.token)
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: u.set_status(link, "PendingStatus"))
            got = await read_events(r, lambda e: False, 1.5)
            w.close()
            return [e["data"]["id"] for e in got]

        for link in links[1:]:
            self.assertEqual(asyncio.run(once(link)), [link])


class SlowReader(harness.ServerTest):
    server_args = ("--callout-max", "0")

    def test_a_reader_that_falls_behind_gets_every_byte_in_order(self):
        """Events go straight to an idle stream's socket; when the client does not read,
        its buffers fill, a write is cut short, and the rest goes out later through the
        server's own buffer. Read afterwards, the stream is whole: every event, in
        order, every JSON intact."""
        u = self.server.user("slow")
        n_events = 300
        links = [u.create_group(group_def([link_def("Ui", label="View")]))
                 .json()["actionLinks"][0]["id"] for _ in range(n_events)]

        async def run():
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", self.server.port, limit=1 << 20)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            writer.write(("GET %s/connect/action-link-events HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer %s\r\n\r\n" % (API, u.token)).encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            reader._sse_chunked = b"transfer-encoding: chunked" in head.lower()
            await read_events(reader, lambda e: False, 0.3)  # the opening comment
            loop = asyncio.get_running_loop()

            def act():  # while nobody reads
                for link in links:
                    assert u.set_status(link, "SuccessfulStatus").status == 200
            await loop.run_in_executor(None, act)
            await asyncio.sleep(0.5)
            evs = await read_events(reader, lambda e: len(e) >= n_events, 30)
            writer.close()
            return evs

        evs = asyncio.run(run())
        self.assertEqual([e["data"]["id"] for e in evs], links)
        ids = [int(e["id"]) for e in evs]
        self.assertEqual(ids, sorted(ids))
        for e in evs:
            self.assertEqual(e["data"]["status"], "SuccessfulStatus")


class Shutdown(harness.ServerTest):
    def test_sigterm_with_open_streams(self):
        u = self.server.user("alice")

        async def run():
            streams = await asyncio.gather(*[open_stream(self.server.port, u.token)
                                             for _ in range(200)])
            start = time.monotonic()
            self.server.proc.send_signal(signal.SIGTERM)
            # every stream ends cleanly (the server ends the body and closes)
            ends = await asyncio.gather(*[asyncio.wait_for(r.read(), 10) for r, w in streams])
            for r, w in streams:
                w.close()
            return time.monotonic() - start, ends

        elapsed, ends = asyncio.run(run())
        code = self.server.proc.wait(10)
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 5)
        # restart so that tearDownClass can stop it normally
        self.server.proc = None
        self.server.start()


class Trim(harness.ServerTest):
    def test_a_start_trims_a_long_old_log_chunk_by_chunk(self):
        """The log is trimmed when the server starts (then every ten minutes) to its last
        two hours, 20,000 events per write: 45,000 old events (more than two chunks) all
        go, and every recent one stays, numbered as before."""
        self.server.stop()
        now = int(time.time() * 1000)
        old, recent = 45000, 10
        rows = [("0Ag%012d" % i, "0An%012d" % i, "", now - 3 * 3600 * 1000 + i)
                for i in range(old)]
        rows += [("0Ag%012d" % i, "0An%012d" % i, "", now - 60000 + i)
                 for i in range(old, old + recent)]
        import sqlite3
        db = sqlite3.connect(self.server.db)
        with db:
            db.executemany("INSERT INTO events (group_id, link_id, scope_user_id, created_ms) "
                           "VALUES (?, ?, ?, ?)", rows)
            last = db.execute("SELECT max(seq) FROM events").fetchone()[0]
        db.close()
        self.server.start()
        count = "SELECT count(*) FROM events"
        harness.wait_until(lambda: self.server.sql(count)[0][0] == recent, 60,
                           "the old events to go")
        kept = self.server.sql("SELECT seq, created_ms FROM events ORDER BY seq")
        self.assertEqual([r[0] for r in kept], list(range(last - recent + 1, last + 1)))
        self.assertTrue(all(r[1] >= now - 60000 for r in kept))
        self.assertEqual(self.server.client().get("/healthz", auth=False).status, 200)


if __name__ == "__main__":
    harness.main()
