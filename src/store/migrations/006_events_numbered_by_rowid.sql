-- Schema version 6: status events numbered by their rowid, without AUTOINCREMENT and
-- without an index on their time. Each event cost the writer two more B-tree writes
-- (the sqlite_sequence row, events_by_time) and each commit two more pages; without
-- them a PATCH's write costs ~22% less (docs/PERFORMANCE.md). Numbers still never go
-- back: the trim never removes the newest event, so the next one is always numbered
-- above every number handed out; and here numbering goes on from where AUTOINCREMENT
-- left it, by a row of no group when every event was trimmed (streams skip events
-- whose group does not exist).
DROP TRIGGER executions_created;
DROP TRIGGER executions_changed;
CREATE TABLE events_new (
    seq           INTEGER PRIMARY KEY,
    group_id      TEXT NOT NULL,
    link_id       TEXT NOT NULL,
    scope_user_id TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
) STRICT;
INSERT INTO events_new SELECT seq, group_id, link_id, scope_user_id, created_ms FROM events;
INSERT INTO events_new (seq, group_id, link_id, scope_user_id, created_ms)
    SELECT seq, '', '', '', 0 FROM sqlite_sequence
    WHERE name = 'events' AND seq > (SELECT coalesce(max(seq), 0) FROM events);
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE TRIGGER executions_created AFTER INSERT ON executions BEGIN
    INSERT INTO events (group_id, link_id, scope_user_id, created_ms)
    VALUES (NEW.group_id, NEW.link_id, NEW.scope_user_id, NEW.modified_ms);
END;
CREATE TRIGGER executions_changed AFTER UPDATE OF status ON executions
WHEN NEW.status <> OLD.status BEGIN
    INSERT INTO events (group_id, link_id, scope_user_id, created_ms)
    VALUES (NEW.group_id, NEW.link_id, NEW.scope_user_id, NEW.modified_ms);
END;
