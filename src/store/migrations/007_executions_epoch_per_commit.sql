-- Schema version 7: the executions epoch moves once per transaction that writes an
-- execution, by the writer that commits it (store_sqlite.c, run_batch), no longer once
-- per row by a trigger: each firing was an update of the epochs row, a ninth of the
-- writer's work for a PATCH (docs/PERFORMANCE.md). What a cache needs is only that the
-- number differs after any commit that changed an execution. Removing executions still
-- moves it by trigger (rare, and done by hand as well). A server of an older version
-- still running on the same file would write executions without moving it: upgrade the
-- servers that share a database together (README).
DROP TRIGGER executions_epoch_on_insert;
DROP TRIGGER executions_epoch_on_update;
