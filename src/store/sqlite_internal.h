/* Shared by the files of the SQLite backend (store_sqlite.c and store/sqlite_*.c): the
 * connection, the write queue and the helpers. Nothing outside store/ includes this. The
 * sq_ prefix marks these as the backend's internals rather than a module of their own. */
#ifndef AL_SQLITE_INTERNAL_H
#define AL_SQLITE_INTERNAL_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { SQ_STMTS = 64, SQ_CACHE = 128 };

/* One connection with its prepared statements; used by one thread at a time. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[SQ_STMTS]; /* the statements of store_sqlite.c's table */
    struct {
        const char *sql; /* static text: the cache is keyed by its address */
        sqlite3_stmt *st;
    } cache[SQ_CACHE];
    struct conn *next; /* in the free list */
    /* A reader's read transaction, which may stay open between the snapshots of its
     * thread (see store_snapshot_begin). The thread holds hold_mu for the length of a
     * snapshot; the writer thread ends a transaction left open too long, with hold_mu
     * held. txn_open is written with hold_mu held. */
    pthread_mutex_t hold_mu;
    atomic_bool txn_open;
    int64_t txn_began_ms;     /* monotonic: when the transaction began */
    uint64_t txn_commits;     /* the store's commit count then */
    bool for_write;           /* begun by store_snapshot_begin_fresh */
    bool epochs_known;        /* read in this transaction: */
    int64_t auth_epoch, definitions_epoch, executions_epoch;
    /* the writer's: an execution was written or changed in the transaction under way,
     * so its commit moves the executions epoch (run_batch) */
    bool executions_written;
};

/* A prepared statement for static SQL text, prepared once per connection. Reset it with
 * sq_done_stmt after use. NULL on failure (logged). */
sqlite3_stmt *sq_prepare(struct conn *c, const char *sql);
void sq_done_stmt(sqlite3_stmt *st);

/* Runs fn(conn, arg) on the writer thread inside the next group commit, in a savepoint of
 * its own (unless run_batch knows fn may run twice); returns fn's result once the commit
 * is durable (ERR_UNAVAILABLE if it failed).
 * fn may fill in *arg; the caller is blocked meanwhile, so its arena may be used. */
enum err sq_submit(struct store *s, enum err (*fn)(struct conn *, const void *), const void *arg);
/* A reader connection from the pool, and back. */
struct conn *sq_reader_get(struct store *s);
void sq_reader_put(struct store *s, struct conn *c);

/* A lookup of at most one row by one text key (bound as ?1): row(st, a, out) reads the
 * row. ERR_NOT_FOUND when there is none, ERR_UNAVAILABLE on a database failure. sql must
 * be static text (see sq_prepare). */
enum err sq_lookup(struct store *s, const char *sql, const char *key, struct arena *a,
                   void (*row)(sqlite3_stmt *st, struct arena *a, void *out), void *out);

/* The one integer the static query sql answers, on a reader connection: ERR_UNAVAILABLE
 * on a database failure or when there is no row. */
enum err sq_read_int64(struct store *s, const char *sql, int64_t *out);

/* Binding: NULL text binds SQL NULL; an id "" binds NULL too. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void sq_bind_id(sqlite3_stmt *st, int i, const char *v);
/* Reading: a column's text copied into the arena (NULL stays NULL); an id column. */
const char *sq_col_str(struct arena *a, sqlite3_stmt *st, int i);
void sq_col_id(sqlite3_stmt *st, int i, char out[ID_LEN + 1]);
/* Steps a write statement to its end and resets it: ERR_OK, ERR_CONFLICT on a
 * constraint, ERR_UNAVAILABLE otherwise. */
enum err sq_step_done(struct conn *c, sqlite3_stmt *st);
/* Headers as a JSON array of [name, value] (NULL if not storable), and back. */
char *sq_headers_to_json(const struct header *h, size_t n);
void sq_headers_from_json(struct arena *a, const char *text, struct header **out, size_t *n);
/* Deletes the group arg (a const char *id) with its links, executions, callouts and feed
 * attachments, on the writer's c. ERR_NOT_FOUND if it was not there. */
enum err sq_group_delete(struct conn *c, const void *arg);
/* Loads a group and its links on c. */
enum err sq_group_load(struct conn *c, const char *id, struct arena *a, struct group *out);

#endif
