/* The SQLite backend of the status events of store.h. The rows are written by triggers
 * on executions (migrations/001_init.sql; numbered by row since 006). */
#include "store/sqlite_internal.h"

#include <string.h>

static const char sql_since[] = "SELECT seq, group_id, link_id, scope_user_id, created_ms "
                                "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";
static const char sql_last[] = "SELECT coalesce(max(seq), 0) FROM events";
/* From the oldest up to the first event made from ?1 on (events follow commit order), at
 * most ?2 of them: the first recent event is looked for among those ?2 only (a range of
 * seq), so a chunk costs its own size, not a scan of every old event before the first
 * recent one (0.1–0.2 s per chunk with 3 million old events, in each of 150 chunks). The
 * newest stays whatever the cut (a trigger, schema 6), so numbers never go back. An
 * event made more than a day after the cut, by a clock far ahead, counts as old: it
 * would stop every trim until its date. An older one behind a younger one (a skew
 * between nodes) waits for a later trim. */
static const char sql_trim[] =
    "DELETE FROM events WHERE seq < coalesce((SELECT seq FROM events WHERE seq >= "
    "(SELECT min(seq) FROM events) AND seq < (SELECT min(seq) FROM events) + ?2 AND "
    "created_ms >= ?1 AND created_ms <= ?1 + 86400000 ORDER BY seq LIMIT 1), "
    "min((SELECT min(seq) FROM events) + ?2, (SELECT max(seq) FROM events)))";

/* Events removed per write: a trim after hours of heavy traffic removes millions, and
 * the writer keeps what one write changes in memory (its savepoint journal). */
enum { TRIM_CHUNK = 20000 };

struct trim_arg {
    int64_t before_ms;
    int64_t removed;
};

enum err store_events_since(struct store *s, int64_t after, size_t limit, struct arena *a,
                            struct status_event **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = sq_prepare(c, sql_since);
    if (st) {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
        *out = limit ? arena_alloc(a, limit * sizeof(**out)) : NULL;
        int rc;
        while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct status_event *e = &(*out)[(*n)++];
            e->seq = sqlite3_column_int64(st, 0);
            sq_col_id(st, 1, e->group_id);
            sq_col_id(st, 2, e->link_id);
            sq_col_id(st, 3, e->scope_user_id);
            e->created_ms = sqlite3_column_int64(st, 4);
        }
        r = *n == limit || rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
        if (*n == 0)
            *out = NULL;
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}

enum err store_events_last(struct store *s, int64_t *seq)
{
    *seq = 0;
    return sq_read_int64(s, sql_last, seq);
}

static enum err w_trim(struct conn *c, const void *arg)
{
    struct trim_arg *x = (struct trim_arg *)arg;
    sqlite3_stmt *st = sq_prepare(c, sql_trim);
    if (!st)
        return ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, x->before_ms);
    sqlite3_bind_int64(st, 2, TRIM_CHUNK);
    enum err r = sq_step_done(c, st);
    x->removed = r == ERR_OK ? sqlite3_changes(c->db) : 0;
    return r;
}

enum err store_events_trim(struct store *s, int64_t before_ms)
{
    /* a chunk at a time, from the oldest: each is its own write, so the others queued
     * meanwhile are not held up behind one long delete */
    struct trim_arg x = {before_ms, 0};
    enum err r;
    do
        r = sq_submit(s, w_trim, &x);
    while (r == ERR_OK && x.removed > 0);
    return r;
}
