-- Schema version 6: status events numbered by their rowid, without AUTOINCREMENT and
-- without an index on their time. Each event cost the writer two more B-tree writes
-- (the sqlite_sequence row, events_by_time) and each commit two more pages
-- (docs/PERFORMANCE.md). Numbers still never go back: the newest event is never
-- deleted (a trigger ignores that, whoever deletes: a trim of an older binary still
-- running, a hand), so the next one is always numbered above every number handed out;
-- and here numbering goes on from the highest number AUTOINCREMENT or the table knew,
-- by a row of no group when that row is not copied (streams skip events whose group
-- does not exist). Only events of the last two hours are copied (older ones are past
-- what servers keep, and a busy store can hold many millions).
DROP TRIGGER executions_created;
DROP TRIGGER executions_changed;
CREATE TABLE events_new (
    seq           INTEGER PRIMARY KEY,
    group_id      TEXT NOT NULL,
    link_id       TEXT NOT NULL,
    scope_user_id TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
) STRICT;
INSERT INTO events_new SELECT seq, group_id, link_id, scope_user_id, created_ms FROM events
    WHERE created_ms >= (CAST(strftime('%s', 'now') AS INTEGER) - 7200) * 1000;
INSERT INTO events_new (seq, group_id, link_id, scope_user_id, created_ms)
    SELECT top, '', '', '', 0 FROM (SELECT max(
        coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'events'), 0),
        coalesce((SELECT max(seq) FROM events), 0)) AS top)
    WHERE top > (SELECT coalesce(max(seq), 0) FROM events_new);
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
CREATE TRIGGER events_keep_newest BEFORE DELETE ON events
WHEN OLD.seq = (SELECT max(seq) FROM events) BEGIN
    SELECT RAISE(IGNORE);
END;
