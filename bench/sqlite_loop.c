/* Anchor for S2: the bare SQLite loop. One connection, WAL, synchronous=FULL, one
 * INSERT per transaction (so one fsync'd commit per write), for a fixed time.
 * Prints one JSON line: {"ops":N,"seconds":S,"rate":R,"errors":E}.
 * usage: sqlite_loop DBFILE SECONDS */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DBFILE SECONDS\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[2]);
    sqlite3 *db;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
        fprintf(stderr, "open: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    char *msg = NULL;
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS executions (id TEXT PRIMARY KEY, "
                     "group_id TEXT NOT NULL, status INTEGER NOT NULL, "
                     "modified_ms INTEGER NOT NULL) STRICT, WITHOUT ROWID;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "setup: %s\n", msg);
        return 1;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO executions (id, group_id, status, modified_ms) "
                           "VALUES (printf('0Ae%012lld', ?1), printf('0Ag%012lld', ?1), 2, ?2)",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    /* continue numbering after any rows of an earlier run on the same file */
    sqlite3_stmt *mx;
    long long n0 = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM executions", -1, &mx, NULL) == SQLITE_OK &&
        sqlite3_step(mx) == SQLITE_ROW)
        n0 = sqlite3_column_int64(mx, 0);
    sqlite3_finalize(mx);

    long long ops = 0, errors = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        sqlite3_bind_int64(st, 1, n0 + ops + errors);
        sqlite3_bind_int64(st, 2, (long long)(t * 1000));
        if (sqlite3_step(st) == SQLITE_DONE)
            ops++;
        else
            errors++;
        sqlite3_reset(st);
        t = now_s();
    }
    double dt = t - t0;
    printf("{\"ops\":%lld,\"seconds\":%.3f,\"rate\":%.1f,\"errors\":%lld}\n", ops, dt, ops / dt,
           errors);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
