-- Schema version 5: a third counter, moved by the database whenever an execution is
-- written or removed, by any process. Servers keep the execution of a scope they have
-- read (or that it had none) and trust it only while this counter (and the auth one: the
-- executing user's name comes with it) stands still.
ALTER TABLE epochs ADD COLUMN executions INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER executions_epoch_on_insert AFTER INSERT ON executions BEGIN
    UPDATE epochs SET executions = executions + 1 WHERE id = 1;
END;
CREATE TRIGGER executions_epoch_on_update AFTER UPDATE ON executions BEGIN
    UPDATE epochs SET executions = executions + 1 WHERE id = 1;
END;
CREATE TRIGGER executions_epoch_on_delete AFTER DELETE ON executions BEGIN
    UPDATE epochs SET executions = executions + 1 WHERE id = 1;
END;
