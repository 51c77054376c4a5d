"""A database written by an earlier version is upgraded in place when the server opens
it, keeping its data; a newer one is refused. Schema 1 is made here by taking the later
migrations apart (002, 004 and 005: the epochs table and its triggers; 003: the
queued-callouts index back to its first shape; 006: the events table back to AUTOINCREMENT
with its time index; 007 only drops triggers that 005 made) and setting the version back,
which is exactly the state 0.1.0 left a database in."""
import shutil
import sqlite3
import subprocess
import time

import harness
from harness import group_def, link_def




def downgrade_to_1(path):
    db = sqlite3.connect(path)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                              "sql LIKE '%epochs%'").fetchall():
        db.execute("DROP TRIGGER %s" % name)
    db.execute("DROP TABLE epochs")  # (004's triggers went with the loop above)
    db.execute("DROP TRIGGER executions_created")
    db.execute("DROP TRIGGER executions_changed")
    db.execute("ALTER TABLE events RENAME TO events_6")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, group_id TEXT NOT NULL, "
               "link_id TEXT NOT NULL, scope_user_id TEXT NOT NULL, created_ms INTEGER NOT NULL) "
               "STRICT")
    db.execute("INSERT INTO events SELECT * FROM events_6")
    db.execute("DROP TABLE events_6")
    db.execute("CREATE INDEX events_by_time ON events (created_ms)")
    for verb, when in (("INSERT", ""), ("UPDATE OF status", "WHEN NEW.status <> OLD.status")):
        db.execute("CREATE TRIGGER executions_%s AFTER %s ON executions %s BEGIN "
                   "INSERT INTO events (group_id, link_id, scope_user_id, created_ms) VALUES "
                   "(NEW.group_id, NEW.link_id, NEW.scope_user_id, NEW.modified_ms); END" % (
                       "created" if verb == "INSERT" else "changed", verb, when))
    db.execute("DROP INDEX callouts_queued")
    db.execute("CREATE INDEX callouts_queued ON callouts (created_ms) WHERE state = 0")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


class Upgrade(harness.unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()

    def tearDown(self):
        if self.server.proc:
            self.server.stop()
        shutil.rmtree(self.server.dir, ignore_errors=True)

    def test_schema_1_is_upgraded_with_its_data(self):
        s = self.server.start()
        alice = s.user("alice")
        r = alice.create_group(group_def([link_def("Ui", "https://example.com/x")]))
        self.assertEqual(r.status, 201, r)
        link = r.json()["actionLinks"][0]["id"]
        group = r.json()["id"]
        before = alice.get("/services/data/v66.0/connect/action-link-group-definitions/" + group)
        self.assertEqual(before.status, 200, before)
        s.stop()
        downgrade_to_1(s.db)

        s.start()
        self.assertEqual(s.sql("PRAGMA user_version"), [(7,)])
        # events as a fresh store has them: numbered by row, no time index
        (events,), = s.sql("SELECT sql FROM sqlite_master WHERE name = 'events'")
        self.assertNotIn("AUTOINCREMENT", events)
        self.assertEqual(s.sql("SELECT count(*) FROM sqlite_master WHERE name = "
                               "'events_by_time'"), [(0,)])
        self.assertEqual(s.sql("SELECT definitions, executions FROM epochs"), [(0, 0)])
        # the executions epoch moved by the writer, once per commit; by trigger only on
        # removals (schema 7)
        self.assertEqual(s.sql("SELECT name FROM sqlite_master WHERE type = 'trigger' AND "
                               "name LIKE 'executions_epoch%'"),
                         [("executions_epoch_on_delete",)])
        (index,), = s.sql("SELECT sql FROM sqlite_master WHERE name = 'callouts_queued'")
        self.assertIn("(host, created_ms)", index)
        self.assertEqual(alice.link(link).status, 200)  # the old token and data still work
        after = alice.get("/services/data/v66.0/connect/action-link-group-definitions/" + group)
        self.assertEqual(after.json(), before.json())
        self.assertEqual(alice.set_status(link, "SuccessfulStatus").status, 200)
        self.assertEqual(s.sql("SELECT executions FROM epochs"), [(1,)])
        # and the new machinery works: a revoked token is refused at once, though this
        # server had just accepted (and kept) it
        t = s.admin("token", "issue", "alice", "--app", "testapp")["access_token"]
        c = s.client(t)
        self.assertEqual(c.link(link).status, 200)
        s.admin("token", "revoke", t)
        self.assertEqual(c.link(link).status, 401)

    def test_event_numbers_go_on_after_the_upgrade(self):
        """Every event trimmed before the upgrade: the next one is still numbered after
        the last one handed out, so a stream resuming with its Last-Event-ID misses
        nothing."""
        s = self.server.start()
        alice = s.user("alice")
        r = alice.create_group(group_def([link_def("Ui", "https://example.com/x")]))
        link = r.json()["actionLinks"][0]["id"]
        s.stop()
        downgrade_to_1(s.db)
        db = sqlite3.connect(s.db)
        db.execute("DELETE FROM events")
        db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
        db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', 5000)")
        db.commit()
        db.close()
        s.start()
        self.assertEqual(alice.set_status(link, "SuccessfulStatus").status, 200)
        (seq,), = s.sql("SELECT max(seq) FROM events WHERE group_id <> ''")
        self.assertGreater(seq, 5000)
        # whoever deletes events (an older server still running, a hand), the newest
        # stays, and numbering goes on after it
        s.sql("DELETE FROM events")
        self.assertEqual(s.sql("SELECT seq FROM events"), [(seq,)])
        r2 = alice.create_group(group_def([link_def("Ui", "https://example.com/y")]))
        link2 = r2.json()["actionLinks"][0]["id"]
        self.assertEqual(alice.set_status(link2, "SuccessfulStatus").status, 200)
        self.assertEqual(s.sql("SELECT max(seq) FROM events"), [(seq + 1,)])

    def test_old_events_trimmed_at_start_in_chunks(self):
        """Events past the two hours are trimmed when the server starts, a chunk of
        20,000 at a time (each its own write), down to the recent ones; the newest old
        one stays when none is recent."""
        s = self.server.start()
        s.stop()
        old = int(time.time() * 1000) - 3 * 3600 * 1000
        db = sqlite3.connect(s.db)
        db.executemany("INSERT INTO events (group_id, link_id, scope_user_id, created_ms) "
                       "VALUES ('g', 'l', '', ?)", ((old + i,) for i in range(50001)))
        db.commit()
        (newest,), = db.execute("SELECT max(seq) FROM events").fetchall()
        db.close()
        s.start()
        harness.wait_until(lambda: s.sql("SELECT count(*) FROM events") == [(1,)], 30,
                           "the old events to be trimmed")
        self.assertEqual(s.sql("SELECT seq FROM events"), [(newest,)])

    def test_newer_schema_is_refused(self):
        s = self.server.start()
        s.stop()
        db = sqlite3.connect(s.db)
        db.execute("PRAGMA user_version=99")
        db.commit()
        db.close()
        out = subprocess.run([harness.AL_BIN, "serve", "--db", s.db, "--listen", "127.0.0.1:0"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("schema version 99", out.stderr)


if __name__ == "__main__":
    harness.main()
