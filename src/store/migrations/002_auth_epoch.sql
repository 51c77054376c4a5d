-- Schema version 2: a counter that moves whenever something a token's principal is made
-- of changes (a token revoked or removed, a user or an app changed or removed), written
-- by the database itself so that every process and every write path moves it. Servers
-- keep principals of tokens they have seen and trust them only while the counter stands
-- still, so a revocation by any process (another node, the command line) counts at once.
CREATE TABLE epochs (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    auth INTEGER NOT NULL
) STRICT;
INSERT INTO epochs (id, auth) VALUES (1, 0);

CREATE TRIGGER tokens_changed AFTER UPDATE ON tokens BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
CREATE TRIGGER tokens_removed AFTER DELETE ON tokens BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
CREATE TRIGGER users_changed AFTER UPDATE ON users BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
CREATE TRIGGER users_removed AFTER DELETE ON users BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
CREATE TRIGGER apps_changed AFTER UPDATE ON apps BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
CREATE TRIGGER apps_removed AFTER DELETE ON apps BEGIN
    UPDATE epochs SET auth = auth + 1 WHERE id = 1;
END;
