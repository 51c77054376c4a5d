/* The SQLite backend of the template functions of store.h (SPEC 8). Reads run on a
 * reader connection; writes are operations of the writer thread (sq_submit), so a delete
 * of a group template with every group made from it, or an edit of a link template with
 * the links made from it, is one transaction.
 *
 * Beyond store.h: store_ltemplate_create and store_ltemplate_delete are conditional on the
 * group template being unpublished (SPEC 8: a published template keeps its link
 * templates): ERR_CONFLICT when it is published or (for create) gone. */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_GT_INSERT[] =
    "INSERT INTO group_templates (id, developer_name, master_label, category, policy, "
    "hours_until_expiration, published, creator_id, created_ms, modified_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_GT_GET[] =
    "SELECT developer_name, master_label, category, policy, hours_until_expiration, "
    "published, creator_id, created_ms, modified_ms FROM group_templates WHERE id = ?1";
static const char SQL_GT_UPDATE[] =
    "UPDATE group_templates SET developer_name = ?2, master_label = ?3, category = ?4, "
    "policy = ?5, hours_until_expiration = ?6, published = ?7, modified_ms = ?8 "
    "WHERE id = ?1";
static const char SQL_GT_GROUPS[] = "SELECT id FROM groups WHERE template_id = ?1";
static const char SQL_GT_LTS_DELETE[] = "DELETE FROM link_templates WHERE group_template_id = ?1";
static const char SQL_GT_DELETE[] = "DELETE FROM group_templates WHERE id = ?1";

static const char SQL_LT_INSERT[] =
    "INSERT INTO link_templates (id, group_template_id, action_url, headers, "
    "requires_confirmation, group_default, label, label_key, type, method, position, "
    "request_body, user_alias, visibility, created_ms, modified_ms) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16 "
    "WHERE EXISTS (SELECT 1 FROM group_templates WHERE id = ?2 AND published = 0)";
static const char SQL_LT_GET[] =
    "SELECT id, group_template_id, action_url, headers, requires_confirmation, group_default, "
    "label, label_key, type, method, position, request_body, user_alias, visibility, "
    "created_ms, modified_ms FROM link_templates WHERE id = ?1";
static const char SQL_LT_OF[] =
    "SELECT id, group_template_id, action_url, headers, requires_confirmation, group_default, "
    "label, label_key, type, method, position, request_body, user_alias, visibility, "
    "created_ms, modified_ms FROM link_templates WHERE group_template_id = ?1 "
    "ORDER BY position, created_ms, id";
static const char SQL_LT_UPDATE[] =
    "UPDATE link_templates SET action_url = ?2, headers = ?3, requires_confirmation = ?4, "
    "group_default = ?5, label = ?6, label_key = ?7, type = ?8, method = ?9, position = ?10, "
    "request_body = ?11, user_alias = ?12, visibility = ?13, modified_ms = ?14 WHERE id = ?1";
static const char SQL_LT_LINK_UPDATE[] =
    "UPDATE links SET action_url = ?2, headers = ?3, request_body = ?4, modified_ms = ?5 "
    "WHERE id = ?1 AND template_id = ?6";
static const char SQL_LT_PUBLISHED[] =
    "SELECT g.published FROM link_templates l JOIN group_templates g "
    "ON g.id = l.group_template_id WHERE l.id = ?1";
static const char SQL_LT_DELETE[] = "DELETE FROM link_templates WHERE id = ?1";
static const char SQL_LINKS_OF_LT[] =
    "SELECT l.id, l.group_id, g.bindings FROM links l JOIN groups g ON g.id = l.group_id "
    "WHERE l.template_id = ?1 ORDER BY l.group_id";

/* ---- group templates ---- */

static enum err w_gtemplate_create(struct conn *c, const void *arg)
{
    const struct group_template *t = arg;
    sqlite3_stmt *st = sq_prepare(c, SQL_GT_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->developer_name);
    sq_bind_text(st, 3, t->master_label);
    sqlite3_bind_int(st, 4, t->category);
    sqlite3_bind_int(st, 5, t->policy);
    sqlite3_bind_int(st, 6, t->hours_until_expiration);
    sqlite3_bind_int(st, 7, t->published);
    sq_bind_text(st, 8, t->creator_id); /* "" when made by the CLI without --user */
    sqlite3_bind_int64(st, 9, t->created_ms);
    sqlite3_bind_int64(st, 10, t->modified_ms);
    enum err r = sq_step_done(c, st);
    return r == ERR_CONFLICT ? ERR_EXISTS : r;
}

enum err store_gtemplate_create(struct store *s, const struct group_template *t)
{
    return sq_submit(s, w_gtemplate_create, t);
}

static void gtemplate_row(sqlite3_stmt *st, struct arena *a, void *p)
{
    struct group_template *out = p;
    memset(out, 0, sizeof(*out));
    out->developer_name = sq_col_str(a, st, 0);
    out->master_label = sq_col_str(a, st, 1);
    out->category = (enum category)sqlite3_column_int(st, 2);
    out->policy = (enum policy)sqlite3_column_int(st, 3);
    out->hours_until_expiration = sqlite3_column_int(st, 4);
    out->published = sqlite3_column_int(st, 5);
    sq_col_id(st, 6, out->creator_id);
    out->created_ms = sqlite3_column_int64(st, 7);
    out->modified_ms = sqlite3_column_int64(st, 8);
}

enum err store_gtemplate_get(struct store *s, const char *id, struct arena *a,
                             struct group_template *out)
{
    enum err r = sq_lookup(s, SQL_GT_GET, id, a, gtemplate_row, out);
    if (r == ERR_OK)
        snprintf(out->id, sizeof(out->id), "%s", id);
    return r;
}

static enum err w_gtemplate_update(struct conn *c, const void *arg)
{
    const struct group_template *t = arg;
    sqlite3_stmt *st = sq_prepare(c, SQL_GT_UPDATE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->developer_name);
    sq_bind_text(st, 3, t->master_label);
    sqlite3_bind_int(st, 4, t->category);
    sqlite3_bind_int(st, 5, t->policy);
    sqlite3_bind_int(st, 6, t->hours_until_expiration);
    sqlite3_bind_int(st, 7, t->published);
    sqlite3_bind_int64(st, 8, t->modified_ms);
    enum err r = sq_step_done(c, st);
    if (r == ERR_CONFLICT)
        return ERR_EXISTS;
    if (r == ERR_OK && sqlite3_changes(c->db) == 0)
        r = ERR_NOT_FOUND;
    return r;
}

enum err store_gtemplate_update(struct store *s, const struct group_template *t)
{
    return sq_submit(s, w_gtemplate_update, t);
}

/* The ids of the groups made from group template id, new (malloc) in *out. */
static enum err groups_of(struct conn *c, const char *id, char (**out)[ID_LEN + 1], size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = sq_prepare(c, SQL_GT_GROUPS);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, id);
    size_t cap = 0;
    int rc;
    enum err r = ERR_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char(*grown)[ID_LEN + 1] = realloc(*out, cap * sizeof(**out));
            if (!grown) {
                r = ERR_UNAVAILABLE;
                break;
            }
            *out = grown;
        }
        sq_col_id(st, 0, (*out)[(*n)++]);
    }
    if (r == ERR_OK && rc != SQLITE_DONE)
        r = ERR_UNAVAILABLE;
    sq_done_stmt(st);
    return r;
}

static enum err w_gtemplate_delete(struct conn *c, const void *arg)
{
    const char *id = arg;
    char(*groups)[ID_LEN + 1] = NULL;
    size_t n = 0;
    /* collected first: deleting while the SELECT steps would disturb it */
    enum err r = groups_of(c, id, &groups, &n);
    for (size_t i = 0; r == ERR_OK && i < n; i++) {
        r = sq_group_delete(c, groups[i]);
        if (r == ERR_NOT_FOUND)
            r = ERR_OK;
    }
    free(groups);
    if (r)
        return r;
    sqlite3_stmt *st = sq_prepare(c, SQL_GT_LTS_DELETE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, id);
    if ((r = sq_step_done(c, st)))
        return r;
    if (!(st = sq_prepare(c, SQL_GT_DELETE)))
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, id);
    if ((r = sq_step_done(c, st)))
        return r;
    return sqlite3_changes(c->db) ? ERR_OK : ERR_NOT_FOUND;
}

enum err store_gtemplate_delete(struct store *s, const char *id)
{
    return sq_submit(s, w_gtemplate_delete, id);
}

/* ---- link templates ---- */

static void read_ltemplate(sqlite3_stmt *st, struct arena *a, struct link_template *k)
{
    memset(k, 0, sizeof(*k));
    sq_col_id(st, 0, k->id);
    sq_col_id(st, 1, k->group_template_id);
    k->action_url = sq_col_str(a, st, 2);
    k->headers = sq_col_str(a, st, 3);
    k->requires_confirmation = sqlite3_column_int(st, 4);
    k->group_default = sqlite3_column_int(st, 5);
    k->label = sq_col_str(a, st, 6);
    k->label_key = sq_col_str(a, st, 7);
    k->type = (enum action_type)sqlite3_column_int(st, 8);
    k->method = (enum http_method)sqlite3_column_int(st, 9);
    k->position = sqlite3_column_int(st, 10);
    k->request_body = sq_col_str(a, st, 11);
    k->user_alias = sq_col_str(a, st, 12);
    k->visibility = (enum visibility)sqlite3_column_int(st, 13);
    k->created_ms = sqlite3_column_int64(st, 14);
    k->modified_ms = sqlite3_column_int64(st, 15);
}

static enum err w_ltemplate_create(struct conn *c, const void *arg)
{
    const struct link_template *t = arg;
    sqlite3_stmt *st = sq_prepare(c, SQL_LT_INSERT);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->group_template_id);
    sq_bind_text(st, 3, t->action_url);
    sq_bind_text(st, 4, t->headers);
    sqlite3_bind_int(st, 5, t->requires_confirmation);
    sqlite3_bind_int(st, 6, t->group_default);
    sq_bind_text(st, 7, t->label);
    sq_bind_text(st, 8, t->label_key);
    sqlite3_bind_int(st, 9, t->type);
    sqlite3_bind_int(st, 10, t->method);
    sqlite3_bind_int(st, 11, t->position);
    sq_bind_text(st, 12, t->request_body);
    sq_bind_text(st, 13, t->user_alias);
    sqlite3_bind_int(st, 14, t->visibility);
    sqlite3_bind_int64(st, 15, t->created_ms);
    sqlite3_bind_int64(st, 16, t->modified_ms);
    enum err r = sq_step_done(c, st);
    if (r == ERR_CONFLICT)
        return ERR_EXISTS;
    if (r == ERR_OK && sqlite3_changes(c->db) == 0)
        r = ERR_CONFLICT; /* the group template is published or gone */
    return r;
}

enum err store_ltemplate_create(struct store *s, const struct link_template *t)
{
    return sq_submit(s, w_ltemplate_create, t);
}

static void ltemplate_row(sqlite3_stmt *st, struct arena *a, void *out)
{
    read_ltemplate(st, a, out);
}

enum err store_ltemplate_get(struct store *s, const char *id, struct arena *a,
                             struct link_template *out)
{
    return sq_lookup(s, SQL_LT_GET, id, a, ltemplate_row, out);
}

enum err store_ltemplates_of(struct store *s, const char *group_template_id, struct arena *a,
                             struct link_template **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = sq_prepare(c, SQL_LT_OF);
    if (st) {
        sq_bind_text(st, 1, group_template_id);
        size_t cap = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) { /* grown in the arena: the old block stays until cleanup */
                cap = cap ? cap * 2 : 8;
                struct link_template *grown = arena_alloc(a, cap * sizeof(*grown));
                if (*n)
                    memcpy(grown, *out, *n * sizeof(*grown));
                *out = grown;
            }
            read_ltemplate(st, a, &(*out)[(*n)++]);
        }
        r = rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    return r;
}

struct lt_update_arg {
    const struct link_template *t;
    const struct link_render *links;
    size_t n;
};

static enum err w_ltemplate_update(struct conn *c, const void *arg)
{
    const struct lt_update_arg *x = arg;
    const struct link_template *t = x->t;
    sqlite3_stmt *st = sq_prepare(c, SQL_LT_UPDATE);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, t->id);
    sq_bind_text(st, 2, t->action_url);
    sq_bind_text(st, 3, t->headers);
    sqlite3_bind_int(st, 4, t->requires_confirmation);
    sqlite3_bind_int(st, 5, t->group_default);
    sq_bind_text(st, 6, t->label);
    sq_bind_text(st, 7, t->label_key);
    sqlite3_bind_int(st, 8, t->type);
    sqlite3_bind_int(st, 9, t->method);
    sqlite3_bind_int(st, 10, t->position);
    sq_bind_text(st, 11, t->request_body);
    sq_bind_text(st, 12, t->user_alias);
    sqlite3_bind_int(st, 13, t->visibility);
    sqlite3_bind_int64(st, 14, t->modified_ms);
    enum err r = sq_step_done(c, st);
    if (r)
        return r == ERR_CONFLICT ? ERR_UNAVAILABLE : r;
    if (sqlite3_changes(c->db) == 0)
        return ERR_NOT_FOUND;
    for (size_t i = 0; i < x->n; i++) {
        const struct link_render *k = &x->links[i];
        char *headers = sq_headers_to_json(k->headers, k->n_headers);
        if (!headers)
            return ERR_INPUT;
        if (!(st = sq_prepare(c, SQL_LT_LINK_UPDATE))) {
            free(headers);
            return ERR_UNAVAILABLE;
        }
        sq_bind_text(st, 1, k->link_id);
        sq_bind_text(st, 2, k->action_url);
        sq_bind_text(st, 3, headers);
        sq_bind_text(st, 4, k->request_body);
        sqlite3_bind_int64(st, 5, t->modified_ms);
        sq_bind_text(st, 6, t->id);
        r = sq_step_done(c, st);
        free(headers);
        if (r) /* a deleted link (its group went meanwhile) just changes no row */
            return r == ERR_CONFLICT ? ERR_UNAVAILABLE : r;
    }
    return ERR_OK;
}

enum err store_ltemplate_update(struct store *s, const struct link_template *t,
                                const struct link_render *links, size_t n_links)
{
    struct lt_update_arg x = {t, links, n_links};
    return sq_submit(s, w_ltemplate_update, &x);
}

static enum err w_ltemplate_delete(struct conn *c, const void *arg)
{
    sqlite3_stmt *st = sq_prepare(c, SQL_LT_PUBLISHED);
    if (!st)
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    int rc = sqlite3_step(st);
    bool published = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sq_done_stmt(st);
    if (rc == SQLITE_ROW && published)
        return ERR_CONFLICT;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ERR_UNAVAILABLE;
    /* a link template whose group template is gone is deleted all the same */
    if (!(st = sq_prepare(c, SQL_LT_DELETE)))
        return ERR_UNAVAILABLE;
    sq_bind_text(st, 1, arg);
    enum err r = sq_step_done(c, st);
    if (r == ERR_OK && sqlite3_changes(c->db) == 0)
        r = ERR_NOT_FOUND;
    return r;
}

enum err store_ltemplate_delete(struct store *s, const char *id)
{
    return sq_submit(s, w_ltemplate_delete, id);
}

enum err store_links_of_template(struct store *s, const char *link_template_id, struct arena *a,
                                 struct templated_link **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct conn *c = sq_reader_get(s);
    if (!c)
        return ERR_UNAVAILABLE;
    enum err r = ERR_UNAVAILABLE;
    sqlite3_stmt *st = sq_prepare(c, SQL_LINKS_OF_LT);
    if (st) {
        sq_bind_text(st, 1, link_template_id);
        size_t cap = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                struct templated_link *grown = arena_alloc(a, cap * sizeof(*grown));
                if (*n)
                    memcpy(grown, *out, *n * sizeof(*grown));
                *out = grown;
            }
            struct templated_link *k = &(*out)[(*n)++];
            sq_col_id(st, 0, k->link_id);
            sq_col_id(st, 1, k->group_id);
            k->bindings_json = sq_col_str(a, st, 2);
        }
        r = rc == SQLITE_DONE ? ERR_OK : ERR_UNAVAILABLE;
        sq_done_stmt(st);
    }
    sq_reader_put(s, c);
    if (r) {
        *out = NULL;
        *n = 0;
    }
    return r;
}
