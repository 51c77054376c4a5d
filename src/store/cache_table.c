/* The sharded table of the store's caches (see cache_table.h). */
#include "store/cache_table.h"

#include <stdlib.h>
#include <string.h>

bool ct_init(struct cache_table *t, size_t budget, size_t entry_size,
             void (*drop)(struct ct_entry *e))
{
    memset(t, 0, sizeof(*t));
    t->budget_per_shard = budget / CT_SHARDS;
    t->drop = drop;
    atomic_init(&t->epoch, INT64_MIN);
    size_t buckets = 64;
    while (buckets < t->budget_per_shard / entry_size)
        buckets *= 2;
    bool ok = true;
    for (int i = 0; i < CT_SHARDS; i++) {
        struct ct_shard *sh = &t->shard[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->mask = buckets - 1;
        if (!(sh->buckets = calloc(buckets, sizeof(*sh->buckets))))
            ok = false;
    }
    return ok;
}

/* Empties sh (its lock held); its entries, linked by `newer`. A shard with few entries
 * clears just their buckets: the executions' cache is emptied on every commit that
 * changes an execution, and zeroing all its buckets each time (half a MiB) cost S3 more
 * than the cache saved. */
static struct ct_entry *detach(struct ct_shard *sh)
{
    struct ct_entry *all = sh->oldest;
    if (sh->buckets && sh->entries * 8 < sh->mask + 1) {
        for (struct ct_entry *e = all; e; e = e->newer)
            sh->buckets[(ct_hash(e->key) / CT_SHARDS) & sh->mask] = NULL;
    } else if (sh->buckets) {
        memset(sh->buckets, 0, (sh->mask + 1) * sizeof(*sh->buckets));
    }
    sh->oldest = sh->newest = NULL;
    sh->entries = sh->bytes = 0;
    return all;
}

void ct_drop_list(struct cache_table *t, struct ct_entry *list)
{
    for (struct ct_entry *next; list; list = next) {
        next = list->newer;
        t->drop(list);
    }
}

void ct_destroy(struct cache_table *t)
{
    for (int i = 0; i < CT_SHARDS; i++) {
        ct_drop_list(t, detach(&t->shard[i]));
        free(t->shard[i].buckets);
        pthread_mutex_destroy(&t->shard[i].mu);
    }
}

uint64_t ct_hash(const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ull;
    return h;
}

struct ct_shard *ct_shard_of(struct cache_table *t, uint64_t h)
{
    return &t->shard[h % CT_SHARDS];
}

bool ct_see_epoch(struct cache_table *t, int64_t epoch)
{
    int_fast64_t seen = atomic_load(&t->epoch);
    while (seen < epoch) {
        if (atomic_compare_exchange_weak(&t->epoch, &seen, epoch)) {
            for (int i = 0; i < CT_SHARDS; i++) {
                pthread_mutex_lock(&t->shard[i].mu);
                struct ct_entry *all = detach(&t->shard[i]);
                pthread_mutex_unlock(&t->shard[i].mu);
                ct_drop_list(t, all);
            }
            return true;
        }
    }
    return seen == epoch;
}

struct ct_entry **ct_slot(struct ct_shard *sh, uint64_t h, const char *key)
{
    struct ct_entry **p = &sh->buckets[(h / CT_SHARDS) & sh->mask];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

void ct_unlink(struct ct_shard *sh, struct ct_entry **slot, struct ct_entry *e)
{
    *slot = e->next;
    if (e->older)
        e->older->newer = e->newer;
    else
        sh->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        sh->newest = e->older;
    sh->entries--;
    sh->bytes -= e->cost;
}

struct ct_entry *ct_add(struct cache_table *t, struct ct_shard *sh, struct ct_entry **slot,
                        struct ct_entry *e)
{
    e->next = NULL;
    e->newer = NULL;
    e->older = sh->newest;
    *slot = e;
    if (sh->newest)
        sh->newest->newer = e;
    else
        sh->oldest = e;
    sh->newest = e;
    sh->entries++;
    sh->bytes += e->cost;
    struct ct_entry *dropped = NULL;
    while (sh->bytes > t->budget_per_shard && sh->oldest != e) {
        struct ct_entry *v = sh->oldest;
        ct_unlink(sh, ct_slot(sh, ct_hash(v->key), v->key), v);
        v->newer = dropped;
        dropped = v;
    }
    return dropped;
}

void ct_counts(struct cache_table *t, size_t *entries, size_t *bytes, uint64_t *hits,
               uint64_t *misses)
{
    *entries = *bytes = 0;
    *hits = *misses = 0;
    for (int i = 0; i < CT_SHARDS; i++) {
        struct ct_shard *sh = &t->shard[i];
        pthread_mutex_lock(&sh->mu);
        *entries += sh->entries;
        *bytes += sh->bytes;
        *hits += sh->hits;
        *misses += sh->misses;
        pthread_mutex_unlock(&sh->mu);
    }
}

size_t ct_text_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

const char *ct_put_text(char **w, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*w, s, n);
    const char *at = *w;
    *w += n;
    return at;
}
