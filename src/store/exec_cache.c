/* Executions of scopes in memory (see exec_cache.h), in a cache_table keyed by the group
 * id, a space and the scope user id. One allocation per entry: the entry, then (when the
 * scope has an execution) the execution and its three strings; an entry that says
 * "none" is only the entry. */
#include "store/exec_cache.h"

#include "store/cache_table.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(2 * ID_LEN + 2 <= CT_KEY_MAX, "a scope's key fits a cache_table key");

struct entry {
    struct ct_entry h; /* first: the table's part */
    int64_t auth_epoch, executions_epoch;
    struct execution *e; /* after the entry, or NULL: the scope has none */
};

struct exec_cache {
    struct cache_table t;
};

static void key_of(const char *group_id, const char *scope, char out[CT_KEY_MAX])
{
    size_t g = strnlen(group_id, ID_LEN), u = strnlen(scope, ID_LEN);
    memcpy(out, group_id, g);
    out[g] = ' ';
    memcpy(out + g + 1, scope, u);
    out[g + 1 + u] = '\0';
}

static void drop(struct ct_entry *e)
{
    free(e);
}

struct exec_cache *exec_cache_new(size_t budget)
{
    struct exec_cache *c = malloc(sizeof(*c));
    if (c && !ct_init(&c->t, budget, 128, drop)) {
        exec_cache_free(c);
        c = NULL;
    }
    return c;
}

void exec_cache_free(struct exec_cache *c)
{
    if (!c)
        return;
    ct_destroy(&c->t);
    free(c);
}

static const char *copy_out(struct arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

bool exec_cache_get(struct exec_cache *c, struct exec_epochs ep, const char *group_id,
                    const char *scope_user_id, struct arena *a, struct execution *out,
                    bool *has)
{
    if (!ct_see_epoch(&c->t, ep.executions))
        return false;
    char key[CT_KEY_MAX];
    key_of(group_id, scope_user_id, key);
    uint64_t h = ct_hash(key);
    struct ct_shard *sh = ct_shard_of(&c->t, h);
    pthread_mutex_lock(&sh->mu);
    struct entry *e = (struct entry *)*ct_slot(sh, h, key);
    bool hit = e && e->executions_epoch == ep.executions && e->auth_epoch == ep.auth;
    if (hit) {
        sh->hits++;
        *has = e->e != NULL;
        if (e->e) {
            *out = *e->e;
            out->diagnostic = copy_out(a, e->e->diagnostic);
            out->user_username = copy_out(a, e->e->user_username);
            out->user_name = copy_out(a, e->e->user_name);
        }
    } else {
        sh->misses++;
    }
    pthread_mutex_unlock(&sh->mu);
    return hit;
}



void exec_cache_put(struct exec_cache *c, struct exec_epochs ep, const char *group_id,
                    const char *scope_user_id, const struct execution *e)
{
    if (!ct_see_epoch(&c->t, ep.executions))
        return;
    size_t size = sizeof(struct entry);
    if (e)
        size += sizeof(struct execution) + ct_text_size(e->diagnostic) +
                ct_text_size(e->user_username) + ct_text_size(e->user_name);
    if (size + CT_MALLOC_OVERHEAD > c->t.budget_per_shard)
        return;
    struct entry *n = malloc(size);
    if (!n)
        return;
    memset(n, 0, sizeof(*n));
    n->h.cost = size + CT_MALLOC_OVERHEAD;
    n->auth_epoch = ep.auth;
    n->executions_epoch = ep.executions;
    if (e) {
        n->e = (struct execution *)(void *)(n + 1);
        *n->e = *e;
        char *w = (char *)(n->e + 1);
        n->e->diagnostic = ct_put_text(&w, e->diagnostic);
        n->e->user_username = ct_put_text(&w, e->user_username);
        n->e->user_name = ct_put_text(&w, e->user_name);
    }
    key_of(group_id, scope_user_id, n->h.key);
    uint64_t h = ct_hash(n->h.key);
    struct ct_shard *sh = ct_shard_of(&c->t, h);
    struct ct_entry *dropped = NULL;
    pthread_mutex_lock(&sh->mu);
    if (atomic_load(&c->t.epoch) != ep.executions) { /* a newer one came meanwhile */
        pthread_mutex_unlock(&sh->mu);
        free(n);
        return;
    }
    struct ct_entry **slot = ct_slot(sh, h, n->h.key);
    if (*slot) { /* an older answer for the same scope (another auth epoch, or a race) */
        dropped = *slot;
        ct_unlink(sh, slot, dropped);
        dropped->newer = NULL;
        slot = ct_slot(sh, h, n->h.key);
    }
    struct ct_entry *evicted = ct_add(&c->t, sh, slot, &n->h);
    pthread_mutex_unlock(&sh->mu);
    ct_drop_list(&c->t, dropped);
    ct_drop_list(&c->t, evicted);
}

void exec_cache_counts(struct exec_cache *c, uint64_t *found, uint64_t *missed)
{
    size_t entries, bytes;
    ct_counts(&c->t, &entries, &bytes, found, missed);
}
