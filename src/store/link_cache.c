/* Group definitions in memory, by link id (see link_cache.h).
 *
 * A definition is one allocation, a "blob": the group with its first n links as the
 * bytes of a struct group, then the links' header arrays, then every string. The blob is
 * shared by the entries of its links (a reference count) and never changes once made.
 * Reading one copies the struct into the caller's and the rest into the caller's arena,
 * moving the pointers by the distance between the two copies; this is done under the
 * lock of the entry's shard, which keeps the entry, and so the blob, alive meanwhile.
 *
 * Entries are spread over shards by a hash of the link id, each shard with its own lock,
 * hash table and list from oldest to newest. A shard over its share of the budget drops
 * its oldest entries, and with each the entries of the same group's other links (in
 * other shards, one lock at a time), so that a group's memory goes when it is counted
 * out. Nothing is freed while a shard lock is held. */
#include "store/link_cache.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* link_cache_get moves every pointer of these two structs: a new field that is a pointer
 * must be moved there too (these sizes are there to make such a change stop here). */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(struct link) == 168 && sizeof(struct group) == 784 &&
                   sizeof(struct header) == 16,
               "struct link, group or header changed: check link_cache_get's pointer moves");
#endif

enum { SHARDS = 16, MALLOC_OVERHEAD = 32 };

struct blob {
    atomic_int refs;
    size_t size;    /* of the whole allocation */
    size_t rest;    /* offset in data of the header arrays and strings */
    size_t n_links; /* the struct group in data holds this many links */
    char keys[GROUP_MAX_LINKS][ID_LEN + 1];
    alignas(max_align_t) unsigned char data[];
};

struct entry {
    struct entry *next;         /* in its bucket */
    struct entry *older, *newer; /* in its shard's list */
    struct blob *blob;
    int64_t epoch;
    size_t cost; /* what it counts against the budget */
    unsigned char index;
    char key[ID_LEN + 1];
};

struct shard {
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t mask;
    struct entry *oldest, *newest;
    size_t entries, bytes;
    uint64_t hits, misses;
};

struct link_cache {
    size_t budget_per_shard;
    atomic_int_fast64_t epoch; /* the newest seen; entries of older ones are dead */
    struct shard shard[SHARDS];
};

static uint64_t hash_of(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct shard *shard_of(struct link_cache *c, uint64_t h)
{
    return &c->shard[h % SHARDS];
}

static void blob_release(struct blob *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

/* Frees a list of entries linked by `newer`, with their references. */
static void free_entries(struct entry *e)
{
    for (struct entry *next; e; e = next) {
        next = e->newer;
        blob_release(e->blob);
        free(e);
    }
}

struct link_cache *link_cache_new(size_t budget)
{
    struct link_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->budget_per_shard = budget / SHARDS;
    size_t buckets = 64;
    while (buckets < c->budget_per_shard / 256)
        buckets *= 2;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shard[i];
        pthread_mutex_init(&sh->mu, NULL);
        sh->mask = buckets - 1;
        if (!(sh->buckets = calloc(buckets, sizeof(*sh->buckets)))) {
            link_cache_free(c);
            return NULL;
        }
    }
    atomic_init(&c->epoch, INT64_MIN);
    return c;
}

/* Empties sh (its lock held) and gives back its entries, to be freed once unlocked. */
static struct entry *shard_detach(struct shard *sh)
{
    struct entry *all = sh->oldest;
    sh->oldest = sh->newest = NULL;
    sh->entries = sh->bytes = 0;
    if (sh->buckets)
        memset(sh->buckets, 0, (sh->mask + 1) * sizeof(*sh->buckets));
    return all;
}

void link_cache_free(struct link_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        free_entries(shard_detach(&c->shard[i]));
        free(c->shard[i].buckets);
        pthread_mutex_destroy(&c->shard[i].mu);
    }
    free(c);
}

/* Records that `epoch` was seen: if it is the newest yet, everything kept is dead, and
 * dropped. false if it is older than one already seen (such a reader neither uses nor
 * adds entries: they could be newer than its view, or it could add old ones). */
static bool see_epoch(struct link_cache *c, int64_t epoch)
{
    int_fast64_t seen = atomic_load(&c->epoch);
    while (seen < epoch) {
        if (atomic_compare_exchange_weak(&c->epoch, &seen, epoch)) {
            for (int i = 0; i < SHARDS; i++) {
                pthread_mutex_lock(&c->shard[i].mu);
                struct entry *all = shard_detach(&c->shard[i]);
                pthread_mutex_unlock(&c->shard[i].mu);
                free_entries(all);
            }
            return true;
        }
    }
    return seen == epoch;
}

static struct entry **slot_of(struct shard *sh, uint64_t h, const char *key)
{
    struct entry **p = &sh->buckets[(h / SHARDS) & sh->mask];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

/* Takes e out of sh's table and list (its lock held); the caller frees it. */
static void unlink_entry(struct shard *sh, struct entry *e)
{
    struct entry **p = slot_of(sh, hash_of(e->key), e->key);
    *p = e->next;
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

/* The pointer p of the blob's copy at `from`, moved to the copy at `to`. */
static const void *moved(const void *p, const unsigned char *from, char *to)
{
    return p ? to + ((const unsigned char *)p - from) : NULL;
}

bool link_cache_get(struct link_cache *c, int64_t epoch, const char *link_id, struct arena *a,
                    struct group *out, size_t *index)
{
    if (!see_epoch(c, epoch))
        return false;
    uint64_t h = hash_of(link_id);
    struct shard *sh = shard_of(c, h);
    pthread_mutex_lock(&sh->mu);
    struct entry *e = *slot_of(sh, h, link_id);
    if (!e || e->epoch != epoch) {
        sh->misses++;
        pthread_mutex_unlock(&sh->mu);
        return false;
    }
    sh->hits++;
    const struct blob *b = e->blob;
    const unsigned char *from = b->data + b->rest;
    size_t rest_len = b->size - offsetof(struct blob, data) - b->rest;
    char *to = arena_alloc(a, rest_len);
    memcpy(to, from, rest_len);
    memset(out, 0, sizeof(*out));
    memcpy(out, b->data, offsetof(struct group, links) + b->n_links * sizeof(struct link));
    out->n_links = b->n_links;
    *index = e->index;
    pthread_mutex_unlock(&sh->mu);

    out->bindings_json = moved(out->bindings_json, from, to);
    for (size_t i = 0; i < out->n_links; i++) {
        struct link *k = &out->links[i];
        k->action_url = moved(k->action_url, from, to);
        k->label_key = moved(k->label_key, from, to);
        k->label = moved(k->label, from, to);
        k->request_body = moved(k->request_body, from, to);
        k->headers = (struct header *)moved(k->headers, from, to);
        for (size_t j = 0; j < k->n_headers; j++) {
            k->headers[j].name = moved(k->headers[j].name, from, to);
            k->headers[j].value = moved(k->headers[j].value, from, to);
        }
    }
    return true;
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s to *w and advances it; NULL stays NULL. */
static const char *put_str(char **w, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*w, s, n);
    const char *at = *w;
    *w += n;
    return at;
}

/* g as one allocation, or NULL when out of memory. */
static struct blob *blob_of(const struct group *g)
{
    size_t head = offsetof(struct group, links) + g->n_links * sizeof(struct link);
    size_t rest = (head + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    size_t size = offsetof(struct blob, data) + rest + str_size(g->bindings_json);
    for (size_t i = 0; i < g->n_links; i++) {
        const struct link *k = &g->links[i];
        size += k->n_headers * sizeof(struct header) + str_size(k->action_url) +
                str_size(k->label_key) + str_size(k->label) + str_size(k->request_body);
        for (size_t j = 0; j < k->n_headers; j++)
            size += str_size(k->headers[j].name) + str_size(k->headers[j].value);
    }
    struct blob *b = malloc(size);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 0);
    b->size = size;
    b->rest = rest;
    b->n_links = g->n_links;
    /* the group is made whole here, pointing into the blob, then its bytes copied in */
    struct group copy = *g;
    char *w = (char *)b->data + rest;
    for (size_t i = 0; i < g->n_links; i++) { /* header arrays first: they hold pointers */
        struct link *k = &copy.links[i];
        memcpy(b->keys[i], k->id, sizeof(b->keys[i]));
        k->headers = NULL;
        if (k->n_headers) {
            k->headers = (struct header *)(void *)w;
            w += k->n_headers * sizeof(struct header);
        }
    }
    copy.bindings_json = put_str(&w, g->bindings_json);
    for (size_t i = 0; i < g->n_links; i++) {
        struct link *k = &copy.links[i];
        const struct link *from = &g->links[i];
        k->action_url = put_str(&w, from->action_url);
        k->label_key = put_str(&w, from->label_key);
        k->label = put_str(&w, from->label);
        k->request_body = put_str(&w, from->request_body);
        for (size_t j = 0; j < k->n_headers; j++) {
            k->headers[j].name = put_str(&w, from->headers[j].name);
            k->headers[j].value = put_str(&w, from->headers[j].value);
        }
    }
    memcpy(b->data, &copy, head);
    return b;
}

/* Drops the entries of the other links of victim's group, then victim (no lock held). */
static void drop_group(struct link_cache *c, struct entry *victim)
{
    struct blob *b = victim->blob;
    for (size_t i = 0; i < b->n_links; i++) {
        const char *key = b->keys[i];
        if (strcmp(key, victim->key) == 0)
            continue;
        uint64_t h = hash_of(key);
        struct shard *sh = shard_of(c, h);
        pthread_mutex_lock(&sh->mu);
        struct entry *e = *slot_of(sh, h, key);
        if (e && e->blob == b)
            unlink_entry(sh, e);
        else
            e = NULL;
        pthread_mutex_unlock(&sh->mu);
        if (e) {
            blob_release(e->blob);
            free(e);
        }
    }
    blob_release(b);
    free(victim);
}

void link_cache_put(struct link_cache *c, int64_t epoch, const struct group *g)
{
    if (!g->n_links || g->n_links > GROUP_MAX_LINKS || !see_epoch(c, epoch))
        return;
    struct blob *b = blob_of(g);
    if (!b)
        return;
    size_t cost = sizeof(struct entry) + MALLOC_OVERHEAD + (b->size + MALLOC_OVERHEAD) / g->n_links;
    if (cost > c->budget_per_shard) {
        free(b);
        return;
    }
    atomic_store(&b->refs, 1); /* ours, until every link is in */
    struct entry *victims = NULL; /* dropped for room, linked by `newer` */
    for (size_t i = 0; i < g->n_links; i++) {
        const char *key = b->keys[i];
        uint64_t h = hash_of(key);
        struct shard *sh = shard_of(c, h);
        pthread_mutex_lock(&sh->mu);
        /* a newer epoch seen meanwhile: its readers must not find this */
        if (atomic_load(&c->epoch) != epoch) {
            pthread_mutex_unlock(&sh->mu);
            break;
        }
        struct entry **p = slot_of(sh, h, key), *e = *p;
        if (e) { /* read twice at once, or left from an older epoch */
            struct blob *old = e->blob;
            atomic_fetch_add(&b->refs, 1);
            e->blob = b;
            e->epoch = epoch;
            e->index = (unsigned char)i;
            sh->bytes += cost - e->cost;
            e->cost = cost;
            pthread_mutex_unlock(&sh->mu);
            blob_release(old);
            continue;
        }
        if (!(e = malloc(sizeof(*e)))) {
            pthread_mutex_unlock(&sh->mu);
            break;
        }
        atomic_fetch_add(&b->refs, 1);
        *e = (struct entry){
            .blob = b, .epoch = epoch, .cost = cost, .index = (unsigned char)i,
            .older = sh->newest};
        memcpy(e->key, key, sizeof(e->key));
        *p = e;
        if (sh->newest)
            sh->newest->newer = e;
        else
            sh->oldest = e;
        sh->newest = e;
        sh->entries++;
        sh->bytes += cost;
        while (sh->bytes > c->budget_per_shard && sh->oldest != e) {
            struct entry *v = sh->oldest;
            unlink_entry(sh, v);
            v->newer = victims;
            victims = v;
        }
        pthread_mutex_unlock(&sh->mu);
    }
    blob_release(b);
    for (struct entry *v = victims, *next; v; v = next) {
        next = v->newer;
        drop_group(c, v);
    }
}

void link_cache_stats(struct link_cache *c, struct link_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shard[i];
        pthread_mutex_lock(&sh->mu);
        out->entries += sh->entries;
        out->bytes += sh->bytes;
        out->hits += sh->hits;
        out->misses += sh->misses;
        pthread_mutex_unlock(&sh->mu);
    }
}
