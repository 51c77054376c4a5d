/* The SQLite backend of store.h.
 *
 * Reads use a pool of connections (WAL lets them run beside the writer). Every write is
 * an operation handed to one writer thread, which runs all operations waiting at that
 * moment in one transaction, so that one refusal does not undo the others (see
 * run_batch), and commits them with one fsync (group commit): with synchronous=FULL a
 * commit costs an fsync, so sharing it is what makes durable writes fast. A caller
 * returns when the commit that holds its operation is on disk. */
#include "store/store.h"

#include "store/exec_cache.h"
#include "store/link_cache.h"
#include "store/sqlite_internal.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/text.h"
#include "core/rand.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char sql_001_init[];
extern const unsigned char sql_002_auth_epoch[];
extern const unsigned char sql_003_callouts_by_host[];
extern const unsigned char sql_004_definitions_epoch[];
extern const unsigned char sql_005_executions_epoch[];
extern const unsigned char sql_006_events_numbered_by_rowid[];
extern const unsigned char sql_007_executions_epoch_per_commit[];

enum { SCHEMA_VERSION = 7 };

#define STMT_TABLE(X)                                                                              \
    X(ST_USER_INSERT, "INSERT INTO users (id, username, name, manager_id, view_all_data, "         \
                      "customize_application, password_hash, created_ms) "                         \
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                   \
    X(ST_USER_BY_ID, "SELECT id, username, name, manager_id, view_all_data, "                      \
                     "customize_application, password_hash FROM users WHERE id = ?1")              \
    X(ST_USER_BY_NAME, "SELECT id, username, name, manager_id, view_all_data, "                    \
                       "customize_application, password_hash FROM users WHERE username = ?1")      \
    X(ST_APP_INSERT, "INSERT INTO apps (id, name, client_id, secret_hash, created_ms) "            \
                     "VALUES (?1, ?2, ?3, ?4, ?5)")                                                \
    X(ST_APP_BY_NAME, "SELECT id, name, client_id, secret_hash, public FROM apps "                 \
                      "WHERE name = ?1")                                                           \
    X(ST_TOKEN_INSERT, "INSERT INTO tokens (hash, user_id, app_id, expires_ms, "                   \
                       "callback_execution_id, refresh_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")     \
    X(ST_APP_BY_CLIENT, "SELECT id, name, client_id, secret_hash, public FROM apps "               \
                        "WHERE client_id = ?1")                                                    \
    X(ST_USER_PASSWORD, "UPDATE users SET password_hash = ?2 WHERE id = ?1")                       \
    X(ST_REFRESH_INSERT, "INSERT INTO refresh_tokens (hash, user_id, app_id, created_ms) "         \
                         "VALUES (?1, ?2, ?3, ?4)")                                                \
    X(ST_REFRESH_GET, "SELECT user_id, app_id, revoked FROM refresh_tokens WHERE hash = ?1")       \
    X(ST_REFRESH_REVOKE, "UPDATE refresh_tokens SET revoked = 1 WHERE hash = ?1")                  \
    X(ST_TOKENS_OF_REFRESH, "UPDATE tokens SET revoked = 1 WHERE refresh_hash = ?1")               \
    X(ST_TOKEN_PRINCIPAL,                                                                          \
      "SELECT t.expires_ms, t.revoked, t.callback_execution_id, u.id, u.username, u.name, "        \
      "u.manager_id, u.view_all_data, u.customize_application, a.id, a.name, a.client_id "         \
      "FROM tokens t JOIN users u ON u.id = t.user_id JOIN apps a ON a.id = t.app_id "             \
      "WHERE t.hash = ?1")                                                                         \
    X(ST_TOKEN_REVOKE, "UPDATE tokens SET revoked = 1 WHERE hash = ?1")                            \
    X(ST_GROUP_INSERT, "INSERT OR FAIL INTO groups (id, category, policy, expiration_ms, "         \
                       "creator_id, app_id, template_id, created_ms, modified_ms, "                \
                       "bindings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")               \
    X(ST_LINK_INSERT,                                                                              \
      "INSERT OR FAIL INTO links (id, group_id, position, type, action_url, method, label_key, "   \
      "requires_confirmation, group_default, headers, request_body, user_id, "                     \
      "excluded_user_id, template_id, created_ms, modified_ms, label) "                            \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)")       \
    X(ST_GROUP_FULL,                                                                               \
      "SELECT g.category, g.policy, g.expiration_ms, g.creator_id, g.app_id, g.template_id, "      \
      "g.created_ms, g.modified_ms, g.bindings, g.id, l.id, l.position, l.type, "                  \
      "l.action_url, l.method, l.label_key, l.requires_confirmation, l.group_default, "            \
      "l.headers, l.request_body, l.user_id, l.excluded_user_id, l.template_id, "                  \
      "l.created_ms, l.modified_ms, l.label "                                                      \
      "FROM groups g LEFT JOIN links l ON l.group_id = g.id WHERE g.id = ?1 "                      \
      "ORDER BY l.position")                                                                       \
    X(ST_LINK_GROUP_FULL,                                                                          \
      "SELECT g.category, g.policy, g.expiration_ms, g.creator_id, g.app_id, g.template_id, "      \
      "g.created_ms, g.modified_ms, g.bindings, g.id, l.id, l.position, l.type, "                  \
      "l.action_url, l.method, l.label_key, l.requires_confirmation, l.group_default, "            \
      "l.headers, l.request_body, l.user_id, l.excluded_user_id, l.template_id, "                  \
      "l.created_ms, l.modified_ms, l.label "                                                      \
      "FROM links k JOIN groups g ON g.id = k.group_id LEFT JOIN links l "                         \
      "ON l.group_id = g.id WHERE k.id = ?1 ORDER BY l.position")                                  \
    X(ST_GROUP_DELETE, "DELETE FROM groups WHERE id = ?1")                                         \
    X(ST_FEED_GROUPS_DELETE, "DELETE FROM feed_item_groups WHERE group_id = ?1")                   \
    X(ST_LINKS_DELETE, "DELETE FROM links WHERE group_id = ?1")                                    \
    X(ST_CALLOUTS_DELETE, "DELETE FROM callouts WHERE execution_id IN "                            \
                          "(SELECT id FROM executions WHERE group_id = ?1)")                       \
    X(ST_EXECUTIONS_DELETE, "DELETE FROM executions WHERE group_id = ?1")                          \
    X(ST_EXEC_BY_SCOPE,                                                                            \
      "SELECT e.id, e.link_id, e.user_id, e.status, e.created_ms, e.modified_ms, "                 \
      "e.diagnostic, e.deadline_ms, u.username, u.name FROM executions e "                         \
      "LEFT JOIN users u ON u.id = e.user_id WHERE e.group_id = ?1 AND e.scope_user_id = ?2")      \
    X(ST_EXEC_INSERT, "INSERT OR FAIL INTO executions (id, group_id, scope_user_id, link_id, "     \
                      "user_id, status, created_ms, modified_ms, deadline_ms) "                    \
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)")                               \
    X(ST_EXEC_UPDATE, "UPDATE OR FAIL executions SET status = ?3, modified_ms = ?4, "              \
                      "diagnostic = coalesce(?5, diagnostic) WHERE id = ?1 AND status = ?2")       \
    X(ST_CALLOUT_INSERT,                                                                           \
      "INSERT OR FAIL INTO callouts (execution_id, state, type, user_id, app_id, method, url, "    \
      "host, headers, body, created_ms, owner, started_ms) VALUES (?1, ?11 IS NOT NULL, ?2, ?3, "  \
      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CASE WHEN ?11 IS NOT NULL THEN ?10 END)")                 \
    X(ST_QUEUED_HOST_AFTER, "SELECT host FROM callouts WHERE state = 0 AND host > ?1 "             \
                            "ORDER BY host LIMIT 1")                                               \
    X(ST_QUEUED_OF_HOST, "SELECT created_ms, execution_id FROM callouts WHERE state = 0 AND "      \
                         "host = ?1 ORDER BY created_ms, execution_id LIMIT ?2")                   \
    X(ST_CALLOUT_BY_ID, "SELECT type, user_id, app_id, method, url, headers, body "                \
                        "FROM callouts WHERE execution_id = ?1")                                   \
    X(ST_CALLOUT_START, "UPDATE OR FAIL callouts SET state = 1, owner = ?2, started_ms = ?3 "      \
                        "WHERE execution_id = ?1 AND state = 0")                                   \
    X(ST_CALLOUT_DONE, "UPDATE OR FAIL callouts SET state = 2, finished_ms = ?3, url = ?4, "       \
                       "headers = '[]', body = NULL WHERE execution_id = ?1 AND state = 1 "        \
                       "AND owner = ?2")                                                           \
    X(ST_CALLOUT_RELEASE, "UPDATE callouts SET state = 0, owner = NULL, started_ms = NULL "        \
                          "WHERE execution_id = ?1 AND state = 1 AND owner = ?2")                  \
    X(ST_EXEC_FINISH,                                                                              \
      "UPDATE OR FAIL executions SET status = ?2, diagnostic = ?3, modified_ms = ?4 "              \
      "WHERE id = ?1 AND status = 1")                                                              \
    X(ST_NODE_BEAT, "INSERT INTO nodes (id, heartbeat_ms) VALUES (?1, ?2) ON CONFLICT (id) "       \
                    "DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms")                          \
    X(ST_RECOVER_EXECUTIONS,                                                                       \
      "UPDATE executions SET status = 3, diagnostic = ?2, modified_ms = ?1 WHERE status = 1 "      \
      "AND id IN (SELECT execution_id FROM callouts WHERE state = 1 AND owner NOT IN "             \
      "(SELECT id FROM nodes WHERE heartbeat_ms > ?1 - ?3))")                                      \
    X(ST_RECOVER_CALLOUTS,                                                                         \
      "UPDATE callouts SET state = 2, finished_ms = ?1, headers = '[]', body = NULL, "             \
      "url = CASE WHEN instr(url, '?') > 0 THEN substr(url, 1, instr(url, '?') - 1) "              \
      "ELSE url END WHERE state = 1 AND owner NOT IN "                                             \
      "(SELECT id FROM nodes WHERE heartbeat_ms > ?1 - ?2)")                                       \
    X(ST_NODES_FORGET, "DELETE FROM nodes WHERE heartbeat_ms <= ?1 - ?2")                          \
    X(ST_NODE_LEAVE, "DELETE FROM nodes WHERE id = ?1")                                            \
    X(ST_ASYNC_EXPIRE, "UPDATE executions SET status = 3, diagnostic = ?2, modified_ms = ?1 "      \
                       "WHERE status = 1 AND deadline_ms > 0 AND deadline_ms <= ?1")               \
    X(ST_CALLOUT_COUNTS, "SELECT state, count(*) FROM callouts GROUP BY state")

enum stmt_id {
#define X(name, sql) name,
    STMT_TABLE(X)
#undef X
        STMT__COUNT
};

_Static_assert((int)STMT__COUNT <= (int)SQ_STMTS, "raise SQ_STMTS");

static const char *const stmt_sql[] = {
#define X(name, sql) sql,
    STMT_TABLE(X)
#undef X
};

/* A write waiting for the writer thread. */
struct wop {
    enum err (*fn)(struct conn *c, const void *arg);
    const void *arg;
    enum err result;
    bool done;
    pthread_cond_t cv; /* its waiter's own: a commit wakes exactly the waiters it served */
    /* an operation nobody waits for: on_done(ctx, result) after the commit, then the
     * writer frees it (it was allocated by sq_submit_async) */
    store_done_cb on_done;
    void *ctx;
    struct wop *next;
};

enum { MAX_READERS = 1024, MAX_SHARED = 64, BUSY_TIMEOUT_MS = 10000, CALLOUT_HOST_MAX = 600 };

struct store {
    uint64_t serial; /* tells this store from a later one at the same address */
    char *path;
    char org_id[ID_LEN + 1];
    char signing_key[STORE_KEY_HEX + 1];

    pthread_mutex_t pool_mu; /* guards free_readers, n_readers */
    pthread_cond_t pool_cv;
    struct conn *free_readers;
    struct conn *readers[MAX_READERS];
    int n_readers;

    struct conn *writer_conn; /* owned by the writer thread once it runs */
    pthread_t writer;
    pthread_mutex_t w_mu; /* guards queue_head, queue_tail, stopping, every wop's done */
    pthread_cond_t w_work;
    struct wop *queue_head, *queue_tail;
    bool stopping;
    /* the writer's own: the destination a claim that looked at STORE_CLAIM_HOSTS of them
     * stopped after ("" when it saw them all), where the next claim starts */
    char claim_cursor[CALLOUT_HOST_MAX + 1];
    struct link_cache *links; /* NULL unless store_keep_definitions */
    struct exec_cache *execs; /* the same */
    /* commits by the writer so far: a read transaction kept from before the last one is
     * not reused (this process's writes are seen by its next reads) */
    atomic_uint_fast64_t commits;
    atomic_bool holding; /* a reader may have a transaction open between snapshots */
    atomic_int reuse_ms; /* how old a kept transaction a snapshot may reuse */
    int64_t last_sweep_ms; /* the writer's: when it last ended idle transactions */
    uint64_t writes;       /* the writer's: operations committed (with commits: the log) */
    /* the writer's (run_batch): batches run again with savepoints after a refusal, and
     * how many batches to run with savepoints at once before trying without again */
    atomic_uint_fast64_t replays;
    unsigned guarded_batches;
};

/* ---- connections ---- */

static void conn_close(struct conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < STMT__COUNT; i++)
        sqlite3_finalize(c->st[i]);
    for (int i = 0; i < SQ_CACHE; i++)
        sqlite3_finalize(c->cache[i].st);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->hold_mu);
    free(c);
}

static struct conn *conn_open(const char *path, char *why, size_t why_len)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->hold_mu, NULL);
    int rc = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, why_len, "cannot open %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    char *msg = NULL;
    /* Switching a new database to WAL takes a lock the busy handler does not wait for,
     * so processes opening a new file at once retry here. WAL then stays set in the file. */
    int rc2 = SQLITE_BUSY;
    for (int tries = 0; tries < 500 && (rc2 & 0xff) == SQLITE_BUSY; tries++) {
        sqlite3_free(msg);
        msg = NULL;
        rc2 = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);
        if ((rc2 & 0xff) == SQLITE_BUSY)
            sqlite3_sleep(10);
    }
    if (rc2 != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, why_len, "cannot set up %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        conn_close(c);
        return NULL;
    }
    return c;
}

static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id)
{
    if (!c->st[id]) {
        if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                               NULL) != SQLITE_OK) {
            log_error("sqlite prepare failed: %s", sqlite3_errmsg(c->db));
            return NULL;
        }
    }
    return c->st[id];
}

sqlite3_stmt *sq_prepare(struct conn *c, const char *sql)
{
    /* Open addressing on the address of the (static) SQL text. */
    size_t h = ((uintptr_t)sql >> 3) % SQ_CACHE;
    for (size_t i = 0; i < SQ_CACHE; i++) {
        size_t k = (h + i) % SQ_CACHE;
        if (c->cache[k].sql == sql)
            return c->cache[k].st;
        if (!c->cache[k].sql) {
            if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->cache[k].st,
                                   NULL) != SQLITE_OK) {
                log_error("sqlite prepare failed: %s", sqlite3_errmsg(c->db));
                return NULL;
            }
            c->cache[k].sql = sql;
            return c->cache[k].st;
        }
    }
    log_error("sqlite: the statement cache is full");
    return NULL;
}

void sq_done_stmt(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Each thread that reads gets a connection of its own per store, kept in thread-local
 * slots: no lock on the way to a read, and a snapshot (a read transaction) can span
 * several reads of one request. A slot names its store by serial, so a slot of a closed
 * store is never used again (its connection was freed with the store). */
static _Atomic uint64_t next_serial = 1;
enum { TL_SLOTS = 4 };
static __thread struct tl_slot {
    uint64_t serial;
    struct conn *c;
    int snapshot_depth;
    uint64_t used;
} tl[TL_SLOTS];
static __thread uint64_t tl_clock;

static struct tl_slot *tl_find(const struct store *s)
{
    for (int i = 0; i < TL_SLOTS; i++)
        if (tl[i].c && tl[i].serial == s->serial) {
            tl[i].used = ++tl_clock;
            return &tl[i];
        }
    return NULL;
}

/* A slot to give to a new connection: an empty one, else the least recently used one
 * that is not in a snapshot (its connection stays with its store, unused). */
static struct tl_slot *tl_free_slot(void)
{
    struct tl_slot *best = NULL;
    for (int i = 0; i < TL_SLOTS; i++) {
        if (!tl[i].c)
            return &tl[i];
        if (tl[i].snapshot_depth == 0 && (!best || tl[i].used < best->used))
            best = &tl[i];
    }
    return best;
}

static struct conn *pool_get(struct store *s)
{
    pthread_mutex_lock(&s->pool_mu);
    struct conn *c;
    for (;;) {
        if ((c = s->free_readers)) {
            s->free_readers = c->next;
            break;
        }
        if (s->n_readers < MAX_READERS) {
            char why[256];
            c = conn_open(s->path, why, sizeof(why));
            if (!c)
                log_error("%s", why);
            else
                s->readers[s->n_readers++] = c;
            break;
        }
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
    pthread_mutex_unlock(&s->pool_mu);
    return c;
}

/* Runs a prepared (cached) statement without results: BEGIN and COMMIT cost a parse
 * each through sqlite3_exec. */
static bool step_static(struct conn *c, const char *sql)
{
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return false;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

/* Ends c's read transaction if one was kept open (hold_mu held). */
static void txn_end(struct conn *c)
{
    if (atomic_load(&c->txn_open) && !sqlite3_get_autocommit(c->db) &&
        !step_static(c, "COMMIT"))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    /* still open only if neither could end it: then the next snapshot tries again, and
     * a read outside one too (it must not run inside an old transaction) */
    atomic_store(&c->txn_open, !sqlite3_get_autocommit(c->db));
}

struct conn *sq_reader_get(struct store *s)
{
    struct tl_slot *slot = tl_find(s);
    if (slot) {
        /* a read outside a snapshot sees every commit: end a transaction kept open */
        if (slot->snapshot_depth == 0 && atomic_load(&slot->c->txn_open)) {
            pthread_mutex_lock(&slot->c->hold_mu);
            txn_end(slot->c);
            pthread_mutex_unlock(&slot->c->hold_mu);
        }
        return slot->c;
    }
    slot = tl_free_slot();
    struct conn *c = NULL;
    pthread_mutex_lock(&s->pool_mu);
    if (slot && s->n_readers < MAX_READERS - MAX_SHARED) {
        char why[256];
        if ((c = conn_open(s->path, why, sizeof(why))))
            s->readers[s->n_readers++] = c;
        else
            log_error("%s", why);
    }
    pthread_mutex_unlock(&s->pool_mu);
    if (!c)
        return pool_get(s);
    c->next = NULL;
    *slot = (struct tl_slot){.serial = s->serial, .c = c, .used = ++tl_clock};
    return c;
}

void sq_reader_put(struct store *s, struct conn *c)
{
    struct tl_slot *slot = tl_find(s);
    if (slot && slot->c == c)
        return;
    pthread_mutex_lock(&s->pool_mu);
    c->next = s->free_readers;
    s->free_readers = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* A snapshot is one read transaction. Its beginning and end take WAL locks, which with
 * one GET per snapshot were a fifth of a GET's time, so a thread's transaction stays
 * open after its snapshot ends, and the thread's next snapshot reuses it when it began
 * less than s->reuse_ms (2) ago and the writer has committed nothing since: such a
 * snapshot sees every write of this process made before it, and misses at most the
 * last 2 ms of other processes' writes (docs/DECISIONS.md). A read outside a snapshot
 * ends it first. A kept transaction that can no longer be reused keeps the WAL from
 * being checkpointed to its end, so the writer ends those after each of its commits,
 * and once a second while any is kept (an idle thread's, with no writes). */
enum { HOLD_SWEEP_MS = 1000 };

static void snapshot_begin(struct store *s, bool fresh)
{
    struct tl_slot *slot = tl_find(s);
    if (slot && slot->snapshot_depth) {
        slot->snapshot_depth++;
        return;
    }
    struct conn *c = slot ? slot->c : sq_reader_get(s); /* (sq_reader_get ends a kept one) */
    slot = tl_find(s);
    if (!slot || slot->c != c) {
        sq_reader_put(s, c); /* no connection of our own: reads stay one by one */
        return;
    }
    pthread_mutex_lock(&c->hold_mu);
    int64_t now = clock_mono_ms();
    uint64_t commits = atomic_load(&s->commits);
    if (atomic_load(&c->txn_open)) {
        if (!fresh && now - c->txn_began_ms < atomic_load(&s->reuse_ms) &&
            c->txn_commits == commits &&
            !sqlite3_get_autocommit(c->db)) {
            slot->snapshot_depth = 1;
            c->for_write = false;
            return; /* hold_mu stays held until store_snapshot_end */
        }
        txn_end(c);
    }
    c->epochs_known = false;
    c->for_write = fresh;
    c->txn_began_ms = now;
    c->txn_commits = commits; /* read before BEGIN: a commit after it is seen next time */
    if (!step_static(c, "BEGIN")) {
        pthread_mutex_unlock(&c->hold_mu);
        return;
    }
    atomic_store(&c->txn_open, true);
    slot->snapshot_depth = 1;
}

void store_snapshot_begin(struct store *s)
{
    snapshot_begin(s, false);
}

void store_snapshot_begin_fresh(struct store *s)
{
    snapshot_begin(s, true);
}

void store_snapshot_end(struct store *s)
{
    struct tl_slot *slot = tl_find(s);
    if (!slot || slot->snapshot_depth == 0 || --slot->snapshot_depth > 0)
        return;
    struct conn *c = slot->c;
    bool wake = false;
    if (sqlite3_get_autocommit(c->db)) /* the transaction ended on an error */
        atomic_store(&c->txn_open, false);
    else if (!atomic_load(&s->holding))
        wake = !atomic_exchange(&s->holding, true);
    pthread_mutex_unlock(&c->hold_mu);
    if (wake) { /* the writer may be waiting for work with no timeout: it has a sweep to do */
        pthread_mutex_lock(&s->w_mu);
        pthread_cond_signal(&s->w_work);
        pthread_mutex_unlock(&s->w_mu);
    }
}

void store_snapshot_reuse_ms(struct store *s, int ms)
{
    atomic_store(&s->reuse_ms, ms);
}

/* On the writer thread: ends the kept read transactions that no snapshot may reuse any
 * more (begun before the last commit, or too long ago). */
static void sweep_held(struct store *s)
{
    int64_t now = clock_mono_ms();
    uint64_t commits = atomic_load(&s->commits);
    int reuse_ms = atomic_load(&s->reuse_ms);
    s->last_sweep_ms = now;
    atomic_store(&s->holding, false);
    struct conn *conns[MAX_READERS];
    pthread_mutex_lock(&s->pool_mu);
    int n = s->n_readers;
    memcpy(conns, s->readers, (size_t)n * sizeof(conns[0]));
    pthread_mutex_unlock(&s->pool_mu);
    for (int i = 0; i < n; i++) {
        struct conn *c = conns[i];
        if (!atomic_load(&c->txn_open))
            continue;
        if (pthread_mutex_trylock(&c->hold_mu) != 0) { /* in a snapshot now */
            atomic_store(&s->holding, true);
            continue;
        }
        if (c->txn_commits != commits || now - c->txn_began_ms >= reuse_ms)
            txn_end(c);
        else if (atomic_load(&c->txn_open))
            atomic_store(&s->holding, true);
        pthread_mutex_unlock(&c->hold_mu);
    }
}

enum err sq_lookup(struct store *s, const char *sql, const char *key, struct arena *a,
                   void (*row)(sqlite3_stmt *st, struct arena *a, void *out), void *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (st) {
        sq_bind_text(st, 1, key);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            row(st, a, out);
            r = ERR_OK;
        } else if (rc == SQLITE_DONE) {
            r = ERR_NOT_FOUND;
        }
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}

/* ---- binding and reading helpers ---- */

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds an id, NULL when "". */
void sq_bind_id(sqlite3_stmt *st, int i, const char *v)
{
    sq_bind_text(st, i, v && v[0] ? v : NULL);
}

const char *sq_col_str(struct arena *a, sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

void sq_col_id(sqlite3_stmt *st, int i, char out[ID_LEN + 1])
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n > ID_LEN)
        n = ID_LEN;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

enum err sq_step_done(struct conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sq_done_stmt(st);
    if (rc == SQLITE_DONE)
        return ERR_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ERR_CONFLICT;
    log_error("sqlite write failed: %s", sqlite3_errmsg(c->db));
    return ERR_UNAVAILABLE;
}

/* sq_step_done for a statement that writes executions: the transaction's commit then
 * moves the executions epoch (schema 7), once however many it wrote. */
static enum err exec_step_done(struct conn *c, sqlite3_stmt *st)
{
    enum err r = sq_step_done(c, st);
    if (r == ERR_OK && sqlite3_changes(c->db) > 0)
        c->executions_written = true;
    return r;
}

static bool all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* NULL when a header cannot be stored as JSON (not UTF-8): the write is refused rather
 * than a header silently dropped. ASCII headers (nearly all) are written directly, in
 * the bytes jansson prints (jsonw.h): a tree per callout was a tenth of the PATCH's
 * write. */
char *sq_headers_to_json(const struct header *h, size_t n)
{
    bool ascii = true;
    for (size_t i = 0; ascii && i < n; i++)
        ascii = all_ascii(h[i].name) && all_ascii(h[i].value);
    if (ascii) {
        struct buf b;
        buf_init(&b, 0); /* no limit: an append cannot fail (out of memory aborts) */
        jw_raw(&b, "[");
        for (size_t i = 0; i < n; i++) {
            jw_raw(&b, i ? ",[" : "[");
            jw_string(&b, h[i].name);
            jw_raw(&b, ",");
            jw_string(&b, h[i].value);
            jw_raw(&b, "]");
        }
        jw_raw(&b, "]");
        return buf_steal(&b);
    }
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_array_append_new(arr, json_pack("[ss]", h[i].name, h[i].value)) == 0;
    char *s = ok ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return s;
}

/* One JSON string of ASCII at *p, as jw_string writes it: decoded into the arena and *p
 * moved past it. NULL for anything else (other escapes, bytes past ASCII, \u0000). */
static char *plain_json_string(struct arena *a, const char **p)
{
    const char *q = *p;
    if (*q++ != '"')
        return NULL;
    const char *end = q;
    while (*end && *end != '"')
        end += *end == '\\' && end[1] ? 2 : 1;
    if (*end != '"')
        return NULL;
    char *out = arena_alloc(a, (size_t)(end - q) + 1), *o = out;
    while (q < end) {
        unsigned char ch = (unsigned char)*q++;
        if (ch < 0x20 || ch >= 0x80)
            return NULL;
        if (ch != '\\') {
            *o++ = (char)ch;
            continue;
        }
        switch (*q++) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '/':
            *o++ = '/';
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = text_hex_digit(q[i]);
                if (d < 0)
                    return NULL;
                v = v * 16 + d;
            }
            if (v == 0 || v >= 0x80)
                return NULL;
            *o++ = (char)v;
            q += 4;
            break;
        }
        default:
            return NULL;
        }
    }
    *o = '\0';
    *p = end + 1;
    return out;
}

/* Headers as sq_headers_to_json writes ASCII ones, [["name","value"],...], read without
 * jansson (a tenth of reading a link nobody read before). false for anything else, which
 * jansson then reads. */
enum { PLAIN_HEADERS_MAX = 64 };

static bool plain_headers(struct arena *a, const char *p, struct header **out, size_t *n)
{
    struct header h[PLAIN_HEADERS_MAX];
    size_t count = 0;
    if (*p++ != '[')
        return false;
    while (*p == '[' && count < PLAIN_HEADERS_MAX) {
        p++;
        h[count].name = plain_json_string(a, &p);
        if (!h[count].name || *p++ != ',')
            return false;
        h[count].value = plain_json_string(a, &p);
        if (!h[count].value || *p++ != ']')
            return false;
        count++;
        if (*p != ',' || p[1] != '[')
            break;
        p++;
    }
    if (count == 0 || p[0] != ']' || p[1] != '\0')
        return false;
    *out = arena_alloc(a, count * sizeof(**out));
    memcpy(*out, h, count * sizeof(**out));
    *n = count;
    return true;
}

void sq_headers_from_json(struct arena *a, const char *text, struct header **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!text || strcmp(text, "[]") == 0)
        return;
    if (plain_headers(a, text, out, n))
        return;
    json_t *arr = text ? json_loads(text, 0, NULL) : NULL;
    size_t count = json_array_size(arr);
    if (count) {
        *out = arena_alloc(a, count * sizeof(**out));
        for (size_t i = 0; i < count; i++) {
            json_t *pair = json_array_get(arr, i);
            (*out)[i].name = arena_strdup(a, json_string_value(json_array_get(pair, 0)));
            (*out)[i].value = arena_strdup(a, json_string_value(json_array_get(pair, 1)));
        }
        *n = count;
    }
    json_decref(arr);
}

/* ---- the writer thread ---- */

static bool exec_sql(struct conn *c, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sqlite: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return false;
    }
    return true;
}

static void fail_all(struct wop *batch)
{
    for (struct wop *w = batch; w; w = w->next)
        w->result = ERR_UNAVAILABLE;
}

/* A transaction-control statement, prepared once: at thousands of commits a second the
 * parse of each would show. sql must be a string literal (the cache keys on its address). */
static bool control(struct conn *c, const char *sql)
{
    sqlite3_stmt *st = sq_prepare(c, sql);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    if (st)
        sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        log_error("sqlite: %s: %s", sql, sqlite3_errmsg(c->db));
        return false;
    }
    return true;
}

/* Operations that may run twice: all they do is write through c, and what they leave in
 * their argument is set again by each run. Their statements of one row say OR FAIL, so
 * that outside a savepoint SQLite keeps no statement journal for them (the FAIL leaves a
 * half-done statement in place: only a rollback, to a savepoint or of the whole
 * transaction, may follow it). */
static enum err w_execution_create(struct conn *c, const void *arg);
static enum err w_execution_update(struct conn *c, const void *arg);
static enum err w_group_create_of(struct conn *c, const void *arg);
static enum err w_callouts_finish(struct conn *c, const void *arg);
static enum err w_callouts_cycle(struct conn *c, const void *arg);

static bool replayable(const struct wop *w)
{
    return w->fn == w_execution_create || w->fn == w_execution_update ||
           w->fn == w_group_create_of || w->fn == w_callouts_finish || w->fn == w_callouts_cycle;
}

/* Moves the executions epoch when the transaction wrote an execution: once per commit,
 * not once per row (schema 7 dropped the triggers that did it per row). */
static bool move_executions_epoch(struct conn *c)
{
    bool ok = !c->executions_written ||
              control(c, "UPDATE epochs SET executions = executions + 1 WHERE id = 1");
    c->executions_written = false;
    return ok;
}

/* Each operation in a savepoint of its own, rolled back alone when it is refused (from
 * run_batch, which has ended any transaction left open). */
static void run_guarded(struct conn *c, struct wop *batch)
{
    c->executions_written = false;
    if (!control(c, "BEGIN IMMEDIATE")) {
        fail_all(batch);
        return;
    }
    for (struct wop *w = batch; w; w = w->next) {
        if (!control(c, "SAVEPOINT op")) {
            control(c, "ROLLBACK");
            fail_all(batch);
            return;
        }
        w->result = w->fn(c, w->arg);
        /* SQLite rolls back the whole transaction on some errors (disk full, I/O): then
         * nothing of the batch is written, and nothing more may run in it; nor when the
         * refused operation cannot be undone alone (its OR FAIL statement may have left
         * rows behind). */
        if (sqlite3_get_autocommit(c->db) ||
            (w->result != ERR_OK && !control(c, "ROLLBACK TO op")) || !control(c, "RELEASE op")) {
            if (!sqlite3_get_autocommit(c->db))
                control(c, "ROLLBACK");
            fail_all(batch);
            return;
        }
    }
    if (!move_executions_epoch(c) || !control(c, "COMMIT")) {
        control(c, "ROLLBACK");
        for (struct wop *w = batch; w; w = w->next)
            if (w->result == ERR_OK)
                w->result = ERR_UNAVAILABLE;
    }
}

/* A savepoint (or, without one, a statement journal) copies every page an operation
 * changes before it changes it (a third of the writer's work for a PATCH), so a batch of
 * replayable operations first runs without: when one of them is refused, the transaction is rolled back and the batch
 * runs again with savepoints, which gives each operation the same answer as if it had
 * gone that way at once. After a replay, the next batches take the guarded way directly,
 * so that a run of refusals (clicks racing for one scope) does not pay twice for each. */
enum { GUARDED_AFTER_REPLAY = 16 };

static void run_batch(struct store *s, struct wop *batch)
{
    struct conn *c = s->writer_conn;
    if (!sqlite3_get_autocommit(c->db)) /* a ROLLBACK that failed before: again */
        control(c, "ROLLBACK");
    bool plain = s->guarded_batches == 0;
    if (s->guarded_batches)
        s->guarded_batches--;
    for (struct wop *w = batch; plain && w; w = w->next)
        plain = replayable(w);
    if (!plain) {
        run_guarded(c, batch);
        return;
    }
    c->executions_written = false;
    if (!control(c, "BEGIN IMMEDIATE")) {
        fail_all(batch);
        return;
    }
    /* the claim's cursor is the writer's, outside the transaction: a replay starts
     * from where the first run did */
    char cursor[CALLOUT_HOST_MAX + 1];
    memcpy(cursor, s->claim_cursor, sizeof(cursor));
    for (struct wop *w = batch; w; w = w->next) {
        w->result = w->fn(c, w->arg);
        if (w->result != ERR_OK || sqlite3_get_autocommit(c->db)) {
            if (!sqlite3_get_autocommit(c->db) && !control(c, "ROLLBACK")) {
                fail_all(batch);
                return;
            }
            memcpy(s->claim_cursor, cursor, sizeof(cursor));
            atomic_fetch_add(&s->replays, 1);
            s->guarded_batches = GUARDED_AFTER_REPLAY;
            run_guarded(c, batch);
            return;
        }
    }
    if (!move_executions_epoch(c) || !control(c, "COMMIT")) {
        control(c, "ROLLBACK");
        fail_all(batch);
    }
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    pthread_setname_np(pthread_self(), "al-writer");
    pthread_mutex_lock(&s->w_mu);
    for (;;) {
        while (!s->queue_head && !s->stopping) {
            if (!atomic_load(&s->holding)) {
                pthread_cond_wait(&s->w_work, &s->w_mu);
                continue;
            }
            int64_t wait = s->last_sweep_ms + HOLD_SWEEP_MS - clock_mono_ms();
            if (wait > 0) {
                struct timespec until;
                clock_deadline(wait, &until);
                pthread_cond_timedwait(&s->w_work, &s->w_mu, &until);
                continue;
            }
            pthread_mutex_unlock(&s->w_mu);
            sweep_held(s);
            pthread_mutex_lock(&s->w_mu);
        }
        if (!s->queue_head)
            break;
        struct wop *batch = s->queue_head;
        s->queue_head = s->queue_tail = NULL;
        pthread_mutex_unlock(&s->w_mu);

        run_batch(s, batch);
        atomic_fetch_add(&s->commits, 1);
        for (struct wop *w = batch; w; w = w->next)
            s->writes++;
        if (atomic_load(&s->holding))
            sweep_held(s);

        pthread_mutex_lock(&s->w_mu);
        struct wop *unwaited = NULL;
        for (struct wop *w = batch, *next; w; w = next) {
            next = w->next; /* w belongs to its waiter once done is set and w_mu let go */
            if (w->on_done) {
                w->next = unwaited;
                unwaited = w;
                continue;
            }
            w->done = true;
            pthread_cond_signal(&w->cv);
        }
        pthread_mutex_unlock(&s->w_mu);
        for (struct wop *w = unwaited, *next; w; w = next) {
            next = w->next;
            w->on_done(w->ctx, w->result);
            free(w);
        }
        pthread_mutex_lock(&s->w_mu);
    }
    pthread_mutex_unlock(&s->w_mu);
    return NULL;
}

/* Appends w to the writer's queue, with w_mu held; false when the store stops. */
static bool queue_locked(struct store *s, struct wop *w)
{
    if (s->stopping)
        return false;
    w->next = NULL;
    if (s->queue_tail)
        s->queue_tail->next = w;
    else
        s->queue_head = w;
    s->queue_tail = w;
    pthread_cond_signal(&s->w_work);
    return true;
}

/* Queues w (allocated with room for its argument after it, which arg points to) without
 * waiting; ERR_UNAVAILABLE, with w freed and on_done not called, when the store stops. */
static enum err submit_unwaited(struct store *s, struct wop *w)
{
    pthread_mutex_lock(&s->w_mu);
    bool queued = queue_locked(s, w);
    pthread_mutex_unlock(&s->w_mu);
    if (!queued)
        free(w);
    return queued ? ERR_OK : ERR_UNAVAILABLE;
}

/* A wop with arg_size bytes for its argument after it. */
static struct wop *new_unwaited(enum err (*fn)(struct conn *, const void *), size_t arg_size,
                                store_done_cb done, void *ctx, void **arg)
{
    struct wop *w = calloc(1, sizeof(*w) + arg_size);
    if (!w)
        return NULL;
    w->fn = fn;
    w->on_done = done;
    w->ctx = ctx;
    *arg = w + 1;
    w->arg = *arg;
    return w;
}

enum err sq_submit(struct store *s, enum err (*fn)(struct conn *, const void *), const void *arg)
{
    struct wop w = {.fn = fn, .arg = arg};
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&s->w_mu);
    if (!queue_locked(s, &w)) {
        pthread_mutex_unlock(&s->w_mu);
        pthread_cond_destroy(&w.cv);
        return ERR_UNAVAILABLE;
    }
    while (!w.done)
        pthread_cond_wait(&w.cv, &s->w_mu);
    pthread_mutex_unlock(&s->w_mu);
    pthread_cond_destroy(&w.cv);
    return w.result;
}

/* ---- open, migrate, close ---- */

static bool read_meta(struct conn *c, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out[0] != '\0';
}

static enum err migrate(struct conn *c, struct store *s, char *why, size_t why_len)
{
    if (!exec_sql(c, "BEGIN IMMEDIATE")) {
        snprintf(why, why_len, "cannot lock the database: %s", sqlite3_errmsg(c->db));
        return ERR_UNAVAILABLE;
    }
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version == 0) {
        char id[ID_LEN + 1], key[STORE_KEY_HEX + 1], sql[600];
        unsigned char raw[STORE_KEY_HEX / 2];
        id_new(ID_ORG, id);
        if (!rand_bytes(raw, sizeof(raw))) {
            snprintf(why, why_len, "no random bytes for the signing key");
            exec_sql(c, "ROLLBACK");
            return ERR_UNAVAILABLE;
        }
        text_hex(raw, sizeof(raw), key);
        char web_app[ID_LEN + 1];
        id_new(ID_APP, web_app);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO meta (key, value) VALUES ('org_id', '%s'), ('signing_key', '%s');"
                 "INSERT INTO apps (id, name, client_id, secret_hash, public, created_ms) "
                 "VALUES ('%s', '%s', '%s', '', 1, %lld); PRAGMA user_version=1",
                 id, key, web_app, WEB_APP_CLIENT_ID, WEB_APP_CLIENT_ID, (long long)clock_now_ms());
        if (!exec_sql(c, (const char *)sql_001_init) || !exec_sql(c, sql)) {
            snprintf(why, why_len, "cannot create the schema: %s", sqlite3_errmsg(c->db));
            exec_sql(c, "ROLLBACK");
            return ERR_UNAVAILABLE;
        }
        version = 1;
    } else if (version > SCHEMA_VERSION) {
        snprintf(why, why_len, "the database has schema version %d, newer than this binary",
                 version);
        exec_sql(c, "ROLLBACK");
        return ERR_UNAVAILABLE;
    }
    /* each later version: its script, then the new number, in the same transaction */
    static const unsigned char *const upgrades[] = {sql_002_auth_epoch,
                                                    sql_003_callouts_by_host,
                                                    sql_004_definitions_epoch,
                                                    sql_005_executions_epoch,
                                                    sql_006_events_numbered_by_rowid,
                                                    sql_007_executions_epoch_per_commit};
    _Static_assert(sizeof(upgrades) / sizeof(upgrades[0]) == SCHEMA_VERSION - 1,
                   "one upgrade per schema version after the first");
    for (; version < SCHEMA_VERSION; version++) {
        char set[64];
        snprintf(set, sizeof(set), "PRAGMA user_version=%d", version + 1);
        if (!exec_sql(c, (const char *)upgrades[version - 1]) || !exec_sql(c, set)) {
            snprintf(why, why_len, "cannot upgrade the schema to version %d: %s", version + 1,
                     sqlite3_errmsg(c->db));
            exec_sql(c, "ROLLBACK");
            return ERR_UNAVAILABLE;
        }
    }
    if (!exec_sql(c, "COMMIT")) {
        snprintf(why, why_len, "cannot commit the schema: %s", sqlite3_errmsg(c->db));
        return ERR_UNAVAILABLE;
    }
    if (!read_meta(c, "org_id", s->org_id, sizeof(s->org_id)) ||
        !read_meta(c, "signing_key", s->signing_key, sizeof(s->signing_key))) {
        snprintf(why, why_len, "the database has no org id or signing key");
        return ERR_UNAVAILABLE;
    }
    return ERR_OK;
}

/* Once per process, before the first connection: SQLite's memory statistics take a
 * global mutex on every allocation, which threads reading at once then fight over. */
static pthread_once_t sqlite_setup = PTHREAD_ONCE_INIT;

static void setup_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

enum err store_open(const char *location, struct store **out, char *why, size_t why_len)
{
    pthread_once(&sqlite_setup, setup_sqlite);
    *out = NULL;
    struct store *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(location))) {
        free(s);
        snprintf(why, why_len, "out of memory");
        return ERR_UNAVAILABLE;
    }
    s->serial = atomic_fetch_add(&next_serial, 1);
    atomic_init(&s->reuse_ms, 2);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->w_mu, NULL);
    pthread_cond_init(&s->w_work, NULL);
    s->writer_conn = conn_open(location, why, why_len);
    /* Savepoints (one per operation of a batch) and statement journals in memory: in a
     * file, a batch whose operations change more than 64 KiB of pages spilled them to a
     * temporary file, written and closed on every commit (a third of the writer's time
     * in S3, docs/PERFORMANCE.md). Bounded by the pages one batch changes.
     * And the writer checkpoints the WAL after 10,000 pages (40 MiB), not SQLite's 1,000: a
     * few pages (the epochs row, the right edges of the executions and events B-trees
     * and their indexes) are written by every commit, and a checkpoint copies each only
     * once however often it was written since the last one. S2: 3-7% less server CPU
     * per PATCH in interleaved runs (docs/PERFORMANCE.md). */
    if (s->writer_conn && (!exec_sql(s->writer_conn, "PRAGMA temp_store=MEMORY") ||
                           !exec_sql(s->writer_conn, "PRAGMA wal_autocheckpoint=10000"))) {
        snprintf(why, why_len, "cannot set up the writer's connection to %s", location);
        conn_close(s->writer_conn);
        s->writer_conn = NULL;
    }
    enum err r = s->writer_conn ? migrate(s->writer_conn, s, why, why_len) : ERR_UNAVAILABLE;
    if (r == ERR_OK && pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(why, why_len, "cannot start the writer thread");
        r = ERR_UNAVAILABLE;
    }
    if (r != ERR_OK) {
        conn_close(s->writer_conn);
        s->writer_conn = NULL;
        s->stopping = true;
        store_close(s);
        return r;
    }
    *out = s;
    return ERR_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->writer_conn) {
        pthread_mutex_lock(&s->w_mu);
        s->stopping = true;
        pthread_cond_signal(&s->w_work);
        pthread_mutex_unlock(&s->w_mu);
        pthread_join(s->writer, NULL);
        conn_close(s->writer_conn);
    }
    for (int i = 0; i < s->n_readers; i++)
        conn_close(s->readers[i]);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->w_mu);
    pthread_cond_destroy(&s->w_work);
    log_info("writer: %llu commits of %llu writes, %llu batches run again with savepoints",
             (unsigned long long)atomic_load(&s->commits), (unsigned long long)s->writes,
             (unsigned long long)atomic_load(&s->replays));
    if (s->links) {
        struct link_cache_stats ls;
        link_cache_stats(s->links, &ls);
        log_info("definitions kept: %zu links, %zu KiB; %llu found, %llu read", ls.entries,
                 ls.bytes >> 10, (unsigned long long)ls.hits, (unsigned long long)ls.misses);
        uint64_t found, missed;
        store_executions_counts(s, &found, &missed);
        log_info("executions kept: %llu found, %llu read", (unsigned long long)found,
                 (unsigned long long)missed);
    }
    link_cache_free(s->links);
    exec_cache_free(s->execs);
    free(s->path);
    free(s);
}

const char *store_org_id(const struct store *s)
{
    return s->org_id;
}

const char *store_signing_key(const struct store *s)
{
    return s->signing_key;
}

bool store_ping(struct store *s)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return false;
    bool ok = sqlite3_exec(c->db, "SELECT 1", NULL, NULL, NULL) == SQLITE_OK;
    sq_reader_put(s, c);
    return ok;
}

/* ---- users and apps ---- */

static enum err w_user_add(struct conn *c, const void *arg)
{
    const struct user *u = arg;
    sqlite3_stmt *st = stmt(c, ST_USER_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, u->id);
    sq_bind_text(st, 2, u->username);
    sq_bind_text(st, 3, u->name);
    sq_bind_id(st, 4, u->manager_id);
    sqlite3_bind_int(st, 5, u->view_all_data);
    sqlite3_bind_int(st, 6, u->customize_application);
    sq_bind_text(st, 7, u->password_hash);
    sqlite3_bind_int64(st, 8, clock_now_ms());
    enum err r = sq_step_done(c, st);
    return r == ERR_CONFLICT ? ERR_EXISTS : r;
}

enum err store_user_add(struct store *s, const struct user *u)
{
    return sq_submit(s, w_user_add, u);
}

static void user_row(sqlite3_stmt *st, struct arena *a, void *p)
{
    struct user *out = p;
    memset(out, 0, sizeof(*out));
    sq_col_id(st, 0, out->id);
    out->username = sq_col_str(a, st, 1);
    out->name = sq_col_str(a, st, 2);
    sq_col_id(st, 3, out->manager_id);
    out->view_all_data = sqlite3_column_int(st, 4);
    out->customize_application = sqlite3_column_int(st, 5);
    out->password_hash = sq_col_str(a, st, 6);
}

static enum err read_user(struct store *s, enum stmt_id id, const char *key, struct arena *a,
                          struct user *out)
{
    return sq_lookup(s, stmt_sql[id], key, a, user_row, out);
}

enum err store_user_get(struct store *s, const char *id, struct arena *a, struct user *out)
{
    return read_user(s, ST_USER_BY_ID, id, a, out);
}

enum err store_user_by_name(struct store *s, const char *username, struct arena *a,
                            struct user *out)
{
    return read_user(s, ST_USER_BY_NAME, username, a, out);
}

struct app_add_arg {
    const struct app *app;
    const char *secret_hash;
};

static enum err w_app_add(struct conn *c, const void *arg)
{
    const struct app_add_arg *x = arg;
    sqlite3_stmt *st = stmt(c, ST_APP_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, x->app->id);
    sq_bind_text(st, 2, x->app->name);
    sq_bind_text(st, 3, x->app->client_id);
    sq_bind_text(st, 4, x->secret_hash);
    sqlite3_bind_int64(st, 5, clock_now_ms());
    enum err r = sq_step_done(c, st);
    return r == ERR_CONFLICT ? ERR_EXISTS : r;
}

enum err store_app_add(struct store *s, const struct app *app, const char *client_secret_hash)
{
    struct app_add_arg x = {app, client_secret_hash};
    return sq_submit(s, w_app_add, &x);
}

/* An app row: id, name, client_id, secret_hash, public. */
struct app_row {
    struct app *app;
    const char **secret_hash;
    bool *public_client;
};

static void app_row(sqlite3_stmt *st, struct arena *a, void *p)
{
    struct app_row *x = p;
    memset(x->app, 0, sizeof(*x->app));
    sq_col_id(st, 0, x->app->id);
    x->app->name = sq_col_str(a, st, 1);
    x->app->client_id = sq_col_str(a, st, 2);
    if (x->secret_hash)
        *x->secret_hash = sq_col_str(a, st, 3);
    if (x->public_client)
        *x->public_client = sqlite3_column_int(st, 4);
}

/* An app by its name or client_id (the statement says which). */
static enum err read_app(struct store *s, enum stmt_id id, const char *key, struct arena *a,
                         struct app *out, const char **secret_hash, bool *public_client)
{
    struct app_row x = {out, secret_hash, public_client};
    return sq_lookup(s, stmt_sql[id], key, a, app_row, &x);
}

enum err store_app_by_name(struct store *s, const char *name, struct arena *a, struct app *out)
{
    return read_app(s, ST_APP_BY_NAME, name, a, out, NULL, NULL);
}

/* ---- tokens ---- */

static enum err w_token_add(struct conn *c, const void *arg)
{
    const struct token_rec *t = arg;
    sqlite3_stmt *st = stmt(c, ST_TOKEN_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, t->hash);
    sq_bind_text(st, 2, t->user_id);
    sq_bind_text(st, 3, t->app_id);
    sqlite3_bind_int64(st, 4, t->expires_ms);
    sq_bind_id(st, 5, t->callback_execution_id);
    sq_bind_text(st, 6, t->refresh_hash);
    return sq_step_done(c, st);
}

enum err store_token_add(struct store *s, const struct token_rec *t)
{
    return sq_submit(s, w_token_add, t);
}

enum err store_token_principal(struct store *s, const char *hash, int64_t now_ms, struct arena *a,
                               struct principal *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    sqlite3_stmt *st = stmt(c, ST_TOKEN_PRINCIPAL);
    enum err r = ERR_UNAVAILABLE;
    if (st) {
        sq_bind_text(st, 1, hash);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (sqlite3_column_int64(st, 0) <= now_ms || sqlite3_column_int(st, 1)) {
                r = ERR_SESSION;
            } else {
                memset(out, 0, sizeof(*out));
                out->expires_ms = sqlite3_column_int64(st, 0);
                sq_col_id(st, 2, out->callback_execution_id);
                sq_col_id(st, 3, out->user.id);
                out->user.username = sq_col_str(a, st, 4);
                out->user.name = sq_col_str(a, st, 5);
                sq_col_id(st, 6, out->user.manager_id);
                out->user.view_all_data = sqlite3_column_int(st, 7);
                out->user.customize_application = sqlite3_column_int(st, 8);
                sq_col_id(st, 9, out->app.id);
                out->app.name = sq_col_str(a, st, 10);
                out->app.client_id = sq_col_str(a, st, 11);
                r = ERR_OK;
            }
        } else {
            r = rc == SQLITE_DONE ? ERR_SESSION : ERR_UNAVAILABLE;
        }
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}

/* The first n integer columns of the first row of the static query sql, on c. */
static bool row_int64s(struct conn *c, const char *sql, int64_t *out, int n)
{
    sqlite3_stmt *st = sq_prepare(c, sql);
    bool ok = false;
    if (st) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < n; i++)
                out[i] = sqlite3_column_int64(st, i);
            ok = true;
        }
        sq_done_stmt(st);
    }
    return ok;
}

enum err sq_read_int64(struct store *s, const char *sql, int64_t *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = row_int64s(c, sql, out, 1) ? ERR_OK : ERR_UNAVAILABLE;
    sq_reader_put(s, c);
    return r;
}

/* The conn of the current snapshot of this thread on s, or NULL. */
static struct conn *in_snapshot(struct store *s)
{
    struct tl_slot *slot = tl_find(s);
    return slot && slot->snapshot_depth ? slot->c : NULL;
}

/* Both epochs in one read, kept for the rest of the read transaction if there is one: a
 * request reads the auth epoch first, then its link. */
enum err store_auth_epoch(struct store *s, int64_t *out)
{
    struct conn *snap = in_snapshot(s);
    if (snap && snap->epochs_known && !sqlite3_get_autocommit(snap->db)) {
        *out = snap->auth_epoch;
        return ERR_OK;
    }
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    int64_t v[3];
    enum err r = ERR_UNAVAILABLE;
    if (row_int64s(c, "SELECT auth, definitions, executions FROM epochs WHERE id = 1", v, 3)) {
        *out = v[0];
        if (c == snap) {
            c->auth_epoch = v[0];
            c->definitions_epoch = v[1];
            c->executions_epoch = v[2];
            c->epochs_known = true;
        }
        r = ERR_OK;
    }
    sq_reader_put(s, c);
    return r;
}

void store_keep_definitions(struct store *s, size_t budget)
{
    link_cache_free(s->links);
    exec_cache_free(s->execs);
    s->links = budget ? link_cache_new(budget) : NULL;
    s->execs = budget ? exec_cache_new(budget / 8) : NULL;
}

void store_definitions_counts(struct store *s, uint64_t *found, uint64_t *missed)
{
    struct link_cache_stats st = {0};
    if (s->links)
        link_cache_stats(s->links, &st);
    *found = st.hits;
    *missed = st.misses;
}

uint64_t store_write_replays(struct store *s)
{
    return atomic_load(&s->replays);
}

void store_executions_counts(struct store *s, uint64_t *found, uint64_t *missed)
{
    *found = *missed = 0;
    if (s->execs)
        exec_cache_counts(s->execs, found, missed);
}

/* The definitions epoch as of the reads that follow on c: the one read in this snapshot,
 * else read now (before the definition itself, so that what is read is at least as new
 * as the epoch it is kept under). */
static bool definitions_epoch(struct store *s, struct conn *c, int64_t *out)
{
    if (c == in_snapshot(s) && c->epochs_known && !sqlite3_get_autocommit(c->db)) {
        *out = c->definitions_epoch;
        return true;
    }
    return row_int64s(c, "SELECT definitions FROM epochs WHERE id = 1", out, 1);
}

static enum err w_token_revoke(struct conn *c, const void *arg)
{
    sqlite3_stmt *st = stmt(c, ST_TOKEN_REVOKE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    enum err r = sq_step_done(c, st);
    if (r || sqlite3_changes(c->db))
        return r;
    /* not an access token: a refresh token, with the access tokens from it */
    if (!(st = stmt(c, ST_REFRESH_REVOKE)))
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    if ((r = sq_step_done(c, st)))
        return r;
    if (!sqlite3_changes(c->db))
        return ERR_NOT_FOUND;
    if (!(st = stmt(c, ST_TOKENS_OF_REFRESH)))
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    return sq_step_done(c, st);
}

enum err store_token_revoke(struct store *s, const char *hash)
{
    return sq_submit(s, w_token_revoke, hash);
}

/* ---- groups ---- */

static enum err w_group_create(struct conn *c, const void *arg);

/* w_group_create for an unwaited write, whose argument holds a pointer to the group. */
static enum err w_group_create_of(struct conn *c, const void *arg)
{
    const struct group *g;
    memcpy(&g, arg, sizeof(g));
    return w_group_create(c, g);
}

static enum err w_group_create(struct conn *c, const void *arg)
{
    const struct group *g = arg;
    sqlite3_stmt *st = stmt(c, ST_GROUP_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, g->id);
    sqlite3_bind_int(st, 2, g->category);
    sqlite3_bind_int(st, 3, g->policy);
    sqlite3_bind_int64(st, 4, g->expiration_ms);
    sq_bind_text(st, 5, g->creator_id);
    sq_bind_text(st, 6, g->app_id);
    sq_bind_id(st, 7, g->template_id);
    sqlite3_bind_int64(st, 8, g->created_ms);
    sqlite3_bind_int64(st, 9, g->modified_ms);
    sq_bind_text(st, 10, g->bindings_json);
    enum err r = sq_step_done(c, st);
    for (size_t i = 0; r == ERR_OK && i < g->n_links; i++) {
        const struct link *k = &g->links[i];
        if (!(st = stmt(c, ST_LINK_INSERT)))
            return ERR_UNAVAILABLE;
        char *headers = sq_headers_to_json(k->headers, k->n_headers);
        if (!headers)
            return ERR_INPUT;
        sq_bind_text(st, 1, k->id);
        sq_bind_text(st, 2, g->id);
        sqlite3_bind_int(st, 3, k->position);
        sqlite3_bind_int(st, 4, k->type);
        sq_bind_text(st, 5, k->action_url);
        sqlite3_bind_int(st, 6, k->method);
        sq_bind_text(st, 7, k->label_key);
        sqlite3_bind_int(st, 8, k->requires_confirmation);
        sqlite3_bind_int(st, 9, k->group_default);
        sq_bind_text(st, 10, headers);
        sq_bind_text(st, 11, k->request_body);
        sq_bind_id(st, 12, k->user_id);
        sq_bind_id(st, 13, k->excluded_user_id);
        sq_bind_id(st, 14, k->template_id);
        sqlite3_bind_int64(st, 15, k->created_ms);
        sqlite3_bind_int64(st, 16, k->modified_ms);
        sq_bind_text(st, 17, k->label);
        r = sq_step_done(c, st);
        free(headers);
    }
    return r == ERR_CONFLICT ? ERR_EXISTS : r;
}

enum err store_group_create(struct store *s, const struct group *g)
{
    return sq_submit(s, w_group_create, g);
}

enum err store_group_create_async(struct store *s, const struct group *g, store_done_cb done,
                                  void *ctx)
{
    void *arg;
    struct wop *w = new_unwaited(w_group_create_of, sizeof(g), done, ctx, &arg);
    if (!w)
        return ERR_UNAVAILABLE;
    memcpy(arg, &g, sizeof(g));
    return submit_unwaited(s, w);
}

/* Reads the rows of ST_GROUP_FULL / ST_LINK_GROUP_FULL: the group's columns on every row,
 * then one link per row (none when the group has no links). */
static enum err read_group_rows(sqlite3_stmt *st, struct arena *a, struct group *out)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sq_done_stmt(st);
        return rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_UNAVAILABLE;
    }
    memset(out, 0, sizeof(*out));
    out->category = (enum category)sqlite3_column_int(st, 0);
    out->policy = (enum policy)sqlite3_column_int(st, 1);
    out->expiration_ms = sqlite3_column_int64(st, 2);
    sq_col_id(st, 3, out->creator_id);
    sq_col_id(st, 4, out->app_id);
    sq_col_id(st, 5, out->template_id);
    out->created_ms = sqlite3_column_int64(st, 6);
    out->modified_ms = sqlite3_column_int64(st, 7);
    out->bindings_json = sq_col_str(a, st, 8);
    sq_col_id(st, 9, out->id);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (sqlite3_column_type(st, 10) == SQLITE_NULL || out->n_links == GROUP_MAX_LINKS)
            continue;
        struct link *k = &out->links[out->n_links++];
        sq_col_id(st, 10, k->id);
        memcpy(k->group_id, out->id, sizeof(k->group_id));
        k->position = sqlite3_column_int(st, 11);
        k->type = (enum action_type)sqlite3_column_int(st, 12);
        k->action_url = sq_col_str(a, st, 13);
        k->method = (enum http_method)sqlite3_column_int(st, 14);
        k->label_key = sq_col_str(a, st, 15);
        k->requires_confirmation = sqlite3_column_int(st, 16);
        k->group_default = sqlite3_column_int(st, 17);
        sq_headers_from_json(a, (const char *)sqlite3_column_text(st, 18), &k->headers,
                             &k->n_headers);
        k->request_body = sq_col_str(a, st, 19);
        sq_col_id(st, 20, k->user_id);
        sq_col_id(st, 21, k->excluded_user_id);
        sq_col_id(st, 22, k->template_id);
        k->created_ms = sqlite3_column_int64(st, 23);
        k->modified_ms = sqlite3_column_int64(st, 24);
        k->label = sq_col_str(a, st, 25);
    }
    sq_done_stmt(st);
    return rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
}

enum err sq_group_load(struct conn *c, const char *id, struct arena *a, struct group *out)
{
    sqlite3_stmt *st = stmt(c, ST_GROUP_FULL);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, id);
    return read_group_rows(st, a, out);
}

enum err store_group_get(struct store *s, const char *id, struct arena *a, struct group *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = sq_group_load(c, id, a, out);
    sq_reader_put(s, c);
    return r;
}

enum err store_link_group(struct store *s, const char *link_id, struct arena *a, struct group *out,
                          size_t *index)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    int64_t epoch = 0;
    bool keep = s->links && definitions_epoch(s, c, &epoch);
    if (keep && link_cache_get(s->links, epoch, link_id, a, out, index)) {
        sq_reader_put(s, c);
        return ERR_OK;
    }
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = stmt(c, ST_LINK_GROUP_FULL);
    if (st) {
        sq_bind_text(st, 1, link_id);
        r = read_group_rows(st, a, out);
    }
    /* kept only when read in a snapshot: outside one, the epoch and the group were read
     * in two transactions, and the group may be newer than the epoch says. Nor when read
     * for a write (a fresh snapshot): a link is seen before it is clicked, and a write's
     * one-off reads (an API client's PATCHes) would push the links being seen out. */
    if (r == ERR_OK && keep && c == in_snapshot(s) && !c->for_write &&
        !sqlite3_get_autocommit(c->db))
        link_cache_put(s->links, epoch, out);
    sq_reader_put(s, c);
    if (r == ERR_OK) {
        r = ERR_NOT_FOUND;
        for (size_t i = 0; i < out->n_links; i++)
            if (strcmp(out->links[i].id, link_id) == 0) {
                *index = i;
                r = ERR_OK;
            }
    }
    return r;
}

enum err sq_group_delete(struct conn *c, const void *arg)
{
    /* the group last: its row count tells whether it was there */
    static const enum stmt_id steps[] = {ST_CALLOUTS_DELETE, ST_EXECUTIONS_DELETE,
                                         ST_FEED_GROUPS_DELETE, ST_LINKS_DELETE, ST_GROUP_DELETE};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        sqlite3_stmt *st = stmt(c, steps[i]);
        if (!st)
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, arg);
        enum err r = sq_step_done(c, st);
        if (r)
            return r;
    }
    return sqlite3_changes(c->db) ? ERR_OK : ERR_NOT_FOUND;
}

enum err store_group_delete(struct store *s, const char *id)
{
    return sq_submit(s, sq_group_delete, id);
}

/* ---- executions ---- */

enum err store_execution_get(struct store *s, const char *group_id, const char *scope_user_id,
                             struct arena *a, struct execution *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    /* In a snapshot whose epochs are known, a kept answer read at the same epochs is what
     * the database would say; it is kept from reads that are not for a write. */
    struct conn *snap = in_snapshot(s);
    bool kept = s->execs && c == snap && c->epochs_known && !sqlite3_get_autocommit(c->db);
    struct exec_epochs ep = {kept ? c->executions_epoch : 0, kept ? c->auth_epoch : 0};
    bool has;
    if (kept && exec_cache_get(s->execs, ep, group_id, scope_user_id, a, out, &has)) {
        sq_reader_put(s, c);
        return has ? ERR_OK : ERR_NOT_FOUND;
    }
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = stmt(c, ST_EXEC_BY_SCOPE);
    if (st) {
        sq_bind_text(st, 1, group_id);
        sq_bind_text(st, 2, scope_user_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            memset(out, 0, sizeof(*out));
            sq_col_id(st, 0, out->id);
            snprintf(out->group_id, sizeof(out->group_id), "%s", group_id);
            snprintf(out->scope_user_id, sizeof(out->scope_user_id), "%s", scope_user_id);
            sq_col_id(st, 1, out->link_id);
            sq_col_id(st, 2, out->user_id);
            out->status = (enum status)sqlite3_column_int(st, 3);
            out->created_ms = sqlite3_column_int64(st, 4);
            out->modified_ms = sqlite3_column_int64(st, 5);
            out->diagnostic = sq_col_str(a, st, 6);
            out->deadline_ms = sqlite3_column_int64(st, 7);
            out->user_username = sq_col_str(a, st, 8);
            out->user_name = sq_col_str(a, st, 9);
            r = ERR_OK;
        } else {
            r = rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_UNAVAILABLE;
        }
        sq_done_stmt(st);
    }
    if (kept && !c->for_write && (r == ERR_OK || r == ERR_NOT_FOUND))
        exec_cache_put(s->execs, ep, group_id, scope_user_id, r == ERR_OK ? out : NULL);
    sq_reader_put(s, c);
    return r;
}

struct exec_create_arg {
    const struct execution *e;
    const struct callout *c;
    const struct token_rec *t;
};

static enum err w_execution_create(struct conn *c, const void *arg)
{
    const struct exec_create_arg *x = arg;
    const struct execution *e = x->e;
    sqlite3_stmt *st = stmt(c, ST_EXEC_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, e->id);
    sq_bind_text(st, 2, e->group_id);
    sq_bind_text(st, 3, e->scope_user_id);
    sq_bind_text(st, 4, e->link_id);
    sq_bind_text(st, 5, e->user_id);
    sqlite3_bind_int(st, 6, e->status);
    sqlite3_bind_int64(st, 7, e->created_ms);
    sqlite3_bind_int64(st, 8, e->deadline_ms);
    enum err r = exec_step_done(c, st);
    if (r != ERR_OK)
        return r;
    if (x->t && (r = w_token_add(c, x->t)) != ERR_OK)
        return r == ERR_CONFLICT ? ERR_UNAVAILABLE : r;
    if (!x->c)
        return ERR_OK;
    const struct callout *co = x->c;
    if (!(st = stmt(c, ST_CALLOUT_INSERT)))
        return ERR_UNAVAILABLE;
    char *headers = sq_headers_to_json(co->headers, co->n_headers);
    if (!headers)
        return ERR_INPUT;
    sq_bind_text(st, 1, e->id);
    sqlite3_bind_int(st, 2, co->type);
    sq_bind_text(st, 3, co->user_id);
    sq_bind_text(st, 4, co->app_id);
    sqlite3_bind_int(st, 5, co->method);
    sq_bind_text(st, 6, co->url);
    sq_bind_text(st, 7, co->host);
    sq_bind_text(st, 8, headers);
    sq_bind_text(st, 9, co->body);
    sqlite3_bind_int64(st, 10, e->created_ms);
    sq_bind_text(st, 11, co->owner);
    r = sq_step_done(c, st);
    free(headers);
    return r == ERR_CONFLICT ? ERR_UNAVAILABLE : r;
}

enum err store_execution_create(struct store *s, const struct execution *e, const struct callout *c,
                                const struct token_rec *t)
{
    struct exec_create_arg x = {e, c, t};
    return sq_submit(s, w_execution_create, &x);
}

enum err store_execution_create_async(struct store *s, const struct execution *e,
                                      const struct callout *c, const struct token_rec *t,
                                      store_done_cb done, void *ctx)
{
    void *arg;
    struct wop *w = new_unwaited(w_execution_create, sizeof(struct exec_create_arg), done, ctx,
                                 &arg);
    if (!w)
        return ERR_UNAVAILABLE;
    *(struct exec_create_arg *)arg = (struct exec_create_arg){e, c, t};
    return submit_unwaited(s, w);
}

struct exec_update_arg {
    const char *id;
    enum status from, to;
    int64_t now_ms;
    const char *diagnostic;
};

static enum err w_execution_update(struct conn *c, const void *arg)
{
    const struct exec_update_arg *x = arg;
    sqlite3_stmt *st = stmt(c, ST_EXEC_UPDATE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, x->id);
    sqlite3_bind_int(st, 2, x->from);
    sqlite3_bind_int(st, 3, x->to);
    sqlite3_bind_int64(st, 4, x->now_ms);
    sq_bind_text(st, 5, x->diagnostic);
    enum err r = exec_step_done(c, st);
    if (r == ERR_OK && sqlite3_changes(c->db) == 0)
        r = ERR_CONFLICT;
    return r;
}

enum err store_execution_update(struct store *s, const char *execution_id, enum status from,
                                enum status to, int64_t now_ms, const char *diagnostic)
{
    struct exec_update_arg x = {execution_id, from, to, now_ms, diagnostic};
    return sq_submit(s, w_execution_update, &x);
}

enum err store_execution_update_async(struct store *s, const char *execution_id,
                                      enum status from, enum status to, int64_t now_ms,
                                      const char *diagnostic, store_done_cb done, void *ctx)
{
    void *arg;
    struct wop *w = new_unwaited(w_execution_update, sizeof(struct exec_update_arg), done, ctx,
                                 &arg);
    if (!w)
        return ERR_UNAVAILABLE;
    *(struct exec_update_arg *)arg =
        (struct exec_update_arg){execution_id, from, to, now_ms, diagnostic};
    return submit_unwaited(s, w);
}

enum err store_callout_counts(struct store *s, struct callout_counts *out)
{
    memset(out, 0, sizeof(*out));
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = stmt(c, ST_CALLOUT_COUNTS);
    if (st) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t n = sqlite3_column_int64(st, 1);
            switch (sqlite3_column_int(st, 0)) {
            case 0:
                out->queued = n;
                break;
            case 1:
                out->started = n;
                break;
            default:
                out->done += n;
                break;
            }
        }
        r = rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}

/* through the partial index callouts_queued */
static const char sql_callouts_queued[] = "SELECT count(*) FROM callouts WHERE state = 0";

enum err store_callouts_queued(struct store *s, int64_t *out)
{
    *out = 0;
    return sq_read_int64(s, sql_callouts_queued, out);
}

/* ---- the callout queue ---- */

_Static_assert(STATUS_PENDING == 1 && STATUS_FAILED == 3,
               "the callout statements write these statuses as literals");

struct start_arg {
    const char *owner;
    int64_t now_ms;
    const struct callout_room *room;
    char *cursor; /* the store's claim_cursor */
    struct arena *a; /* the caller's: it is blocked until the operation is done */
    struct callout *out;
    size_t n;
};

/* The room for host in this claim: what the caller listed, else per_host. */
static size_t room_of(const struct callout_room *room, const char *host)
{
    for (size_t i = 0; i < room->n_hosts; i++)
        if (strcmp(room->hosts[i], host) == 0)
            return room->host_room[i];
    return room->per_host;
}

/* A queued callout seen by a claim: which, and how old. */
struct candidate {
    int64_t created_ms;
    idbuf execution_id;
    const char *host;
};

static int older_first(const void *pa, const void *pb)
{
    const struct candidate *a = pa, *b = pb;
    if (a->created_ms != b->created_ms)
        return a->created_ms < b->created_ms ? -1 : 1;
    return strcmp(a->execution_id, b->execution_id);
}

/* Oldest first among the destinations with room. The destinations with queued callouts
 * are found by seeking through the (host, created_ms) index from one to the next; from
 * each with room, its oldest (up to its room) are read from the same index; then all of
 * them are merged by age and the first `limit` are marked started and read whole. A
 * destination with no room costs one seek, however long its queue. At most
 * STORE_CLAIM_HOSTS destinations are looked at per claim, from a cursor that moves on. */
static enum err w_callouts_start(struct conn *c, const void *arg)
{
    struct start_arg *x = (struct start_arg *)arg;
    const struct callout_room *room = x->room;
    x->out = NULL;
    x->n = 0;
    if (room->limit == 0)
        return ERR_OK;
    size_t n_cand = 0, cap = 0;
    struct candidate *cand = NULL;
    /* from after the cursor to the end, then from the start up to the cursor */
    const char *start = arena_strdup(x->a, x->cursor), *after = start;
    bool wrapped = start[0] == '\0';
    int h = 0;
    for (; h < STORE_CLAIM_HOSTS; h++) {
        sqlite3_stmt *st = stmt(c, ST_QUEUED_HOST_AFTER);
        if (!st)
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, after);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sq_done_stmt(st);
            if (rc != SQLITE_DONE)
                return ERR_UNAVAILABLE;
            if (wrapped)
                break;
            wrapped = true;
            after = "";
            h--;
            continue;
        }
        const char *host = sq_col_str(x->a, st, 0);
        sq_done_stmt(st);
        if (!host || (wrapped && start[0] && strcmp(host, start) > 0))
            break; /* all the way round */
        after = host;
        size_t take = room_of(room, after);
        if (take > room->limit)
            take = room->limit;
        if (take == 0)
            continue;
        if (!(st = stmt(c, ST_QUEUED_OF_HOST)))
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)take);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n_cand == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct candidate *grown = arena_alloc(x->a, ncap * sizeof(*grown));
                if (n_cand)
                    memcpy(grown, cand, n_cand * sizeof(*cand));
                cand = grown;
                cap = ncap;
            }
            struct candidate *k = &cand[n_cand++];
            k->created_ms = sqlite3_column_int64(st, 0);
            sq_col_id(st, 1, k->execution_id);
            k->host = after;
        }
        sq_done_stmt(st);
        if (rc != SQLITE_DONE)
            return ERR_UNAVAILABLE;
    }
    snprintf(x->cursor, CALLOUT_HOST_MAX + 1, "%s", h == STORE_CLAIM_HOSTS ? after : "");
    if (n_cand == 0)
        return ERR_OK;
    qsort(cand, n_cand, sizeof(*cand), older_first);
    size_t n = n_cand < room->limit ? n_cand : room->limit;
    x->out = arena_alloc(x->a, n * sizeof(*x->out));
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = stmt(c, ST_CALLOUT_BY_ID);
        if (!st)
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, cand[i].execution_id);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sq_done_stmt(st);
            return ERR_UNAVAILABLE;
        }
        struct callout *co = &x->out[x->n++];
        memset(co, 0, sizeof(*co));
        memcpy(co->execution_id, cand[i].execution_id, sizeof(co->execution_id));
        co->host = cand[i].host;
        co->type = (enum action_type)sqlite3_column_int(st, 0);
        sq_col_id(st, 1, co->user_id);
        sq_col_id(st, 2, co->app_id);
        co->method = (enum http_method)sqlite3_column_int(st, 3);
        co->url = sq_col_str(x->a, st, 4);
        sq_headers_from_json(x->a, (const char *)sqlite3_column_text(st, 5), &co->headers,
                             &co->n_headers);
        co->body = sq_col_str(x->a, st, 6);
        co->created_ms = cand[i].created_ms;
        sq_done_stmt(st);
        if (!(st = stmt(c, ST_CALLOUT_START)))
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, co->execution_id);
        sq_bind_text(st, 2, x->owner);
        sqlite3_bind_int64(st, 3, x->now_ms);
        enum err r = sq_step_done(c, st);
        if (r)
            return r;
    }
    return ERR_OK;
}

enum err store_callouts_start(struct store *s, const char *owner, int64_t now_ms,
                              const struct callout_room *room, struct arena *a,
                              struct callout **out, size_t *n)
{
    struct start_arg x = {
        .owner = owner, .now_ms = now_ms, .room = room, .cursor = s->claim_cursor, .a = a};
    enum err r = sq_submit(s, w_callouts_start, &x);
    *out = r || !x.n ? NULL : x.out;
    *n = r ? 0 : x.n;
    return r;
}

struct finish_arg {
    const char *owner;
    int64_t now_ms;
    struct callout_end *ends;
    size_t n;
};

static enum err w_callouts_finish(struct conn *c, const void *arg)
{
    const struct finish_arg *x = arg;
    for (size_t i = 0; i < x->n; i++) {
        struct callout_end *e = &x->ends[i];
        sqlite3_stmt *st = stmt(c, ST_CALLOUT_DONE);
        if (!st)
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, e->execution_id);
        sq_bind_text(st, 2, x->owner);
        sqlite3_bind_int64(st, 3, x->now_ms);
        sq_bind_text(st, 4, e->scrubbed_url ? e->scrubbed_url : "");
        enum err r = sq_step_done(c, st);
        if (r)
            return r;
        e->applied = sqlite3_changes(c->db) == 1;
        if (!e->applied || e->status == STATUS_PENDING) {
            if (e->applied && e->diagnostic) {
                /* ApiAsync answered 2xx: stays Pending, with the diagnostic */
                if (!(st = stmt(c, ST_EXEC_FINISH)))
                    return ERR_UNAVAILABLE;
                sq_bind_text(st, 1, e->execution_id);
                sqlite3_bind_int(st, 2, STATUS_PENDING);
                sq_bind_text(st, 3, e->diagnostic);
                sqlite3_bind_int64(st, 4, x->now_ms);
                if ((r = exec_step_done(c, st)))
                    return r;
            }
            continue;
        }
        if (!(st = stmt(c, ST_EXEC_FINISH)))
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, e->execution_id);
        sqlite3_bind_int(st, 2, e->status);
        sq_bind_text(st, 3, e->diagnostic);
        sqlite3_bind_int64(st, 4, x->now_ms);
        if ((r = exec_step_done(c, st)))
            return r;
    }
    return ERR_OK;
}

enum err store_callouts_finish(struct store *s, const char *owner, int64_t now_ms,
                               struct callout_end *ends, size_t n)
{
    struct finish_arg x = {owner, now_ms, ends, n};
    return n ? sq_submit(s, w_callouts_finish, &x) : ERR_OK;
}

struct cycle_arg {
    struct finish_arg finish;
    struct start_arg start;
};

static enum err w_callouts_cycle(struct conn *c, const void *arg)
{
    struct cycle_arg *x = (struct cycle_arg *)arg;
    enum err r = w_callouts_finish(c, &x->finish);
    return r ? r : w_callouts_start(c, &x->start);
}

enum err store_callouts_cycle(struct store *s, const char *owner, int64_t now_ms,
                              struct callout_end *ends, size_t n_ends,
                              const struct callout_room *room, struct arena *a,
                              struct callout **out, size_t *n)
{
    struct cycle_arg x = {.finish = {owner, now_ms, ends, n_ends},
                          .start = {.owner = owner,
                                    .now_ms = now_ms,
                                    .room = room,
                                    .cursor = s->claim_cursor,
                                    .a = a}};
    enum err r = sq_submit(s, w_callouts_cycle, &x);
    *out = r || !x.start.n ? NULL : x.start.out;
    *n = r ? 0 : x.start.n;
    return r;
}

struct release_arg {
    const char *owner;
    const idbuf *ids;
    size_t n;
};

static enum err w_callouts_release(struct conn *c, const void *arg)
{
    const struct release_arg *x = arg;
    for (size_t i = 0; i < x->n; i++) {
        sqlite3_stmt *st = stmt(c, ST_CALLOUT_RELEASE);
        if (!st)
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, x->ids[i]);
        sq_bind_text(st, 2, x->owner);
        enum err r = sq_step_done(c, st);
        if (r)
            return r;
    }
    return ERR_OK;
}

enum err store_callouts_release(struct store *s, const char *owner, const idbuf *ids, size_t n)
{
    struct release_arg x = {owner, ids, n};
    return n ? sq_submit(s, w_callouts_release, &x) : ERR_OK;
}

struct recover_arg {
    const char *owner;
    int64_t now_ms, stale_ms;
    int64_t n;
};

static enum err w_callouts_recover(struct conn *c, const void *arg)
{
    struct recover_arg *x = (struct recover_arg *)arg;
    sqlite3_stmt *st = stmt(c, ST_NODE_BEAT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, x->owner);
    sqlite3_bind_int64(st, 2, x->now_ms);
    enum err r = sq_step_done(c, st);
    if (r)
        return r;
    if (!(st = stmt(c, ST_RECOVER_EXECUTIONS)))
        return ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, x->now_ms);
    sq_bind_text(st, 2, DIAG_INTERRUPTED);
    sqlite3_bind_int64(st, 3, x->stale_ms);
    if ((r = exec_step_done(c, st)))
        return r;
    if (!(st = stmt(c, ST_RECOVER_CALLOUTS)))
        return ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, x->now_ms);
    sqlite3_bind_int64(st, 2, x->stale_ms);
    if ((r = sq_step_done(c, st)))
        return r;
    x->n = sqlite3_changes(c->db);
    if (!(st = stmt(c, ST_NODES_FORGET)))
        return ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, x->now_ms);
    sqlite3_bind_int64(st, 2, x->stale_ms);
    return sq_step_done(c, st);
}

enum err store_callouts_recover(struct store *s, const char *owner, int64_t now_ms,
                                int64_t stale_ms, int64_t *n)
{
    struct recover_arg x = {owner, now_ms, stale_ms, 0};
    enum err r = sq_submit(s, w_callouts_recover, &x);
    *n = x.n;
    return r;
}

static enum err w_node_leave(struct conn *c, const void *arg)
{
    sqlite3_stmt *st = stmt(c, ST_NODE_LEAVE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    return sq_step_done(c, st);
}

enum err store_node_leave(struct store *s, const char *owner)
{
    return sq_submit(s, w_node_leave, owner);
}

struct expire_arg {
    int64_t now_ms;
    int64_t n;
};

static enum err w_async_expire(struct conn *c, const void *arg)
{
    struct expire_arg *x = (struct expire_arg *)arg;
    sqlite3_stmt *st = stmt(c, ST_ASYNC_EXPIRE);
    if (!st)
        return ERR_UNAVAILABLE;
    sqlite3_bind_int64(st, 1, x->now_ms);
    sq_bind_text(st, 2, DIAG_NO_CALLBACK);
    enum err r = exec_step_done(c, st);
    x->n = r ? 0 : sqlite3_changes(c->db);
    return r;
}

enum err store_async_expire(struct store *s, int64_t now_ms, int64_t *n)
{
    struct expire_arg x = {now_ms, 0};
    enum err r = sq_submit(s, w_async_expire, &x);
    *n = x.n;
    return r;
}

/* ---- OAuth ---- */

enum err store_app_by_client_id(struct store *s, const char *client_id, struct arena *a,
                                struct app *out, const char **secret_hash, bool *public_client)
{
    return read_app(s, ST_APP_BY_CLIENT, client_id, a, out, secret_hash, public_client);
}

struct password_arg {
    const char *user_id, *hash;
};

static enum err w_user_password(struct conn *c, const void *arg)
{
    const struct password_arg *x = arg;
    sqlite3_stmt *st = stmt(c, ST_USER_PASSWORD);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, x->user_id);
    sq_bind_text(st, 2, x->hash);
    enum err r = sq_step_done(c, st);
    return r == ERR_OK && sqlite3_changes(c->db) == 0 ? ERR_NOT_FOUND : r;
}

enum err store_user_set_password(struct store *s, const char *user_id, const char *hash)
{
    struct password_arg x = {user_id, hash};
    return sq_submit(s, w_user_password, &x);
}

struct refresh_arg {
    const char *hash, *user_id, *app_id;
};

static enum err w_refresh_add(struct conn *c, const void *arg)
{
    const struct refresh_arg *x = arg;
    sqlite3_stmt *st = stmt(c, ST_REFRESH_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, x->hash);
    sq_bind_text(st, 2, x->user_id);
    sq_bind_text(st, 3, x->app_id);
    sqlite3_bind_int64(st, 4, clock_now_ms());
    return sq_step_done(c, st);
}

enum err store_refresh_add(struct store *s, const char *hash, const char *user_id,
                           const char *app_id)
{
    struct refresh_arg x = {hash, user_id, app_id};
    return sq_submit(s, w_refresh_add, &x);
}

enum err store_refresh_get(struct store *s, const char *hash, char user_id[ID_LEN + 1],
                           char app_id[ID_LEN + 1])
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    sqlite3_stmt *st = stmt(c, ST_REFRESH_GET);
    enum err r = ERR_UNAVAILABLE;
    if (st) {
        sq_bind_text(st, 1, hash);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && !sqlite3_column_int(st, 2)) {
            sq_col_id(st, 0, user_id);
            sq_col_id(st, 1, app_id);
            r = ERR_OK;
        } else {
            r = rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_SESSION : ERR_UNAVAILABLE;
        }
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}
