/* The SQLite backend of the feed functions of store.h (SPEC 4.4): posts and the groups
 * they carry. The news feed is read with keyset pagination on (created_ms DESC, id
 * DESC), so a walk returns each post once however many posts are added meanwhile. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <string.h>

static const char sql_item_insert[] = "INSERT INTO feed_items (id, actor_id, subject_id, "
                                      "body_text, segments, created_ms) "
                                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/* A group deleted since the caller checked it is not attached: the insert adds no row
 * and the operation reports ERR_NOT_FOUND. */
static const char sql_group_attach[] =
    "INSERT INTO feed_item_groups (item_id, group_id, position) "
    "SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?2)";
static const char sql_item_get[] = "SELECT actor_id, subject_id, body_text, segments, "
                                   "created_ms FROM feed_items WHERE id = ?1";
static const char sql_item_groups[] = "SELECT group_id FROM feed_item_groups WHERE item_id = ?1 "
                                      "ORDER BY position";
static const char sql_groups_detach[] = "DELETE FROM feed_item_groups WHERE item_id = ?1";
static const char sql_item_delete[] = "DELETE FROM feed_items WHERE id = ?1";
static const char sql_page_first[] = "SELECT id, actor_id, subject_id, body_text, segments, "
                                     "created_ms FROM feed_items "
                                     "ORDER BY created_ms DESC, id DESC LIMIT ?3";
static const char sql_page_after[] = "SELECT id, actor_id, subject_id, body_text, segments, "
                                     "created_ms FROM feed_items "
                                     "WHERE (created_ms, id) < (?1, ?2) "
                                     "ORDER BY created_ms DESC, id DESC LIMIT ?3";

static enum err w_item_create(struct conn *c, const void *arg)
{
    const struct feed_item *item = arg;
    sqlite3_stmt *st = sq_prepare(c, sql_item_insert);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, item->id);
    sq_bind_text(st, 2, item->actor_id);
    sq_bind_text(st, 3, item->subject_id);
    sq_bind_text(st, 4, item->text);
    sq_bind_text(st, 5, item->segments_json);
    sqlite3_bind_int64(st, 6, item->created_ms);
    enum err r = sq_step_done(c, st);
    if (r)
        return r == ERR_CONFLICT ? ERR_EXISTS : r;
    for (size_t i = 0; i < item->n_groups; i++) {
        if (!(st = sq_prepare(c, sql_group_attach)))
            return ERR_UNAVAILABLE;
        sq_bind_text(st, 1, item->id);
        sq_bind_text(st, 2, item->group_ids[i]);
        sqlite3_bind_int(st, 3, (int)i);
        if ((r = sq_step_done(c, st)))
            return r;
        if (sqlite3_changes(c->db) != 1)
            return ERR_NOT_FOUND;
    }
    return ERR_OK;
}

enum err store_feed_item_create(struct store *s, const struct feed_item *item)
{
    return sq_submit(s, w_item_create, item);
}

/* The group ids of an item, in order, into out. */
static enum err load_groups(struct conn *c, struct feed_item *out)
{
    sqlite3_stmt *st = sq_prepare(c, sql_item_groups);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, out->id);
    out->n_groups = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->n_groups < FEED_MAX_GROUPS)
        sq_col_id(st, 0, out->group_ids[out->n_groups++]);
    sq_done_stmt(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
}

/* Reads an item row whose columns start at `first` (actor_id first). */
static void read_item(sqlite3_stmt *st, int first, struct arena *a, struct feed_item *out)
{
    sq_col_id(st, first, out->actor_id);
    sq_col_id(st, first + 1, out->subject_id);
    out->text = sq_col_str(a, st, first + 2);
    out->segments_json = sq_col_str(a, st, first + 3);
    out->created_ms = sqlite3_column_int64(st, first + 4);
}

enum err store_feed_item_get(struct store *s, const char *id, struct arena *a,
                             struct feed_item *out)
{
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = sq_prepare(c, sql_item_get);
    if (st) {
        sq_bind_text(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            memset(out, 0, sizeof(*out));
            snprintf(out->id, sizeof(out->id), "%s", id);
            read_item(st, 0, a, out);
            r = ERR_OK;
        } else {
            r = rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_UNAVAILABLE;
        }
        sq_done_stmt(st);
    }
    if (r == ERR_OK)
        r = load_groups(c, out);
    sq_reader_put(s, c);
    return r;
}

static enum err w_item_delete(struct conn *c, const void *arg)
{
    sqlite3_stmt *st = sq_prepare(c, sql_groups_detach);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    enum err r = sq_step_done(c, st);
    if (r)
        return r;
    if (!(st = sq_prepare(c, sql_item_delete)))
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    if ((r = sq_step_done(c, st)))
        return r;
    return sqlite3_changes(c->db) ? ERR_OK : ERR_NOT_FOUND;
}

enum err store_feed_item_delete(struct store *s, const char *id)
{
    return sq_submit(s, w_item_delete, id);
}

/* The page's items and their groups, read in one transaction so that they agree. */
static enum err read_page(struct conn *c, int64_t before_ms, const char *before_id, size_t limit,
                          struct arena *a, struct feed_item *items, size_t *n)
{
    sqlite3_stmt *st = sq_prepare(c, before_id ? sql_page_after : sql_page_first);
    if (!st)
        return ERR_UNAVAILABLE;
    if (before_id) {
        sqlite3_bind_int64(st, 1, before_ms);
        sq_bind_text(st, 2, before_id);
    }
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
    int rc = SQLITE_DONE;
    *n = 0;
    while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct feed_item *it = &items[(*n)++];
        memset(it, 0, sizeof(*it));
        sq_col_id(st, 0, it->id);
        read_item(st, 1, a, it);
    }
    if (*n < limit && rc != SQLITE_DONE) {
        sq_done_stmt(st);
        return ERR_UNAVAILABLE;
    }
    sq_done_stmt(st);
    for (size_t i = 0; i < *n; i++) {
        enum err r = load_groups(c, &items[i]);
        if (r)
            return r;
    }
    return ERR_OK;
}

enum err store_feed_page(struct store *s, int64_t before_ms, const char *before_id, size_t limit,
                         struct arena *a, struct feed_item **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!limit)
        return ERR_OK;
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    struct feed_item *items = arena_alloc(a, limit * sizeof(*items));
    enum err r = ERR_UNAVAILABLE;
    /* One read transaction, unless the caller's snapshot already is one. */
    bool own = sqlite3_get_autocommit(c->db);
    if (!own || sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
        r = read_page(c, before_ms, before_id, limit, a, items, n);
        if (own && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sq_reader_put(s, c);
    if (r == ERR_OK)
        *out = *n ? items : NULL;
    else
        *n = 0;
    return r;
}
