-- Schema version 4: a second counter beside the auth one, moved by the database itself
-- whenever a group or a link is changed or removed (a template's edit rewrites links; a
-- deletion removes a group with its links). Servers keep the definitions of groups they
-- have read and trust them only while this counter stands still, so a change by any
-- process (another node, the command line) counts at once. New groups need no move:
-- nothing can have kept a group that did not exist.
ALTER TABLE epochs ADD COLUMN definitions INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER groups_changed AFTER UPDATE ON groups BEGIN
    UPDATE epochs SET definitions = definitions + 1 WHERE id = 1;
END;
CREATE TRIGGER groups_removed AFTER DELETE ON groups BEGIN
    UPDATE epochs SET definitions = definitions + 1 WHERE id = 1;
END;
CREATE TRIGGER links_changed AFTER UPDATE ON links BEGIN
    UPDATE epochs SET definitions = definitions + 1 WHERE id = 1;
END;
CREATE TRIGGER links_removed AFTER DELETE ON links BEGIN
    UPDATE epochs SET definitions = definitions + 1 WHERE id = 1;
END;
