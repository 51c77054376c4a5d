/* Group definitions in memory, by link id (see link_cache.h).
 *
 * A definition is one allocation, a "blob": the group with its first n links as the
 * bytes of a struct group, then the links' header arrays, then every string. The blob is
 * shared by the entries of its links (a reference count) and never changes once made.
 * Reading one copies the struct into the caller's and the rest into the caller's arena,
 * moving the pointers by the distance between the two copies; this is done under the
 * lock of the entry's shard, which keeps the entry, and so the blob, alive meanwhile.
 *
 * The entries, one per link id, are in a cache_table (cache_table.h). A shard over its
 * share of the budget drops its oldest entries, and here with each the entries of the
 * same group's other links (in other shards, one lock at a time), so that a group's
 * memory goes when it is counted out. Nothing is freed while a shard lock is held. */
#include "store/link_cache.h"

#include "store/cache_table.h"

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

struct blob {
    atomic_int refs;
    size_t size;    /* of the whole allocation */
    size_t rest;    /* offset in data of the header arrays and strings */
    size_t n_links; /* the struct group in data holds this many links */
    char keys[GROUP_MAX_LINKS][ID_LEN + 1];
    alignas(max_align_t) unsigned char data[];
};

struct entry {
    struct ct_entry h; /* first: the table's part; its key is the link id */
    struct blob *blob;
    int64_t epoch;
    unsigned char index;
};

struct link_cache {
    struct cache_table t;
};

static void blob_release(struct blob *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

static void drop(struct ct_entry *e)
{
    blob_release(((struct entry *)e)->blob);
    free(e);
}

struct link_cache *link_cache_new(size_t budget)
{
    struct link_cache *c = malloc(sizeof(*c));
    if (c && !ct_init(&c->t, budget, 256, drop)) {
        link_cache_free(c);
        c = NULL;
    }
    return c;
}

void link_cache_free(struct link_cache *c)
{
    if (!c)
        return;
    ct_destroy(&c->t);
    free(c);
}

/* The pointer p of the blob's copy at `from`, moved to the copy at `to`. */
static const void *moved(const void *p, const unsigned char *from, char *to)
{
    return p ? to + ((const unsigned char *)p - from) : NULL;
}

bool link_cache_get(struct link_cache *c, int64_t epoch, const char *link_id, struct arena *a,
                    struct group *out, size_t *index)
{
    if (!ct_see_epoch(&c->t, epoch))
        return false;
    uint64_t h = ct_hash(link_id);
    struct ct_shard *sh = ct_shard_of(&c->t, h);
    pthread_mutex_lock(&sh->mu);
    struct entry *e = (struct entry *)*ct_slot(sh, h, link_id);
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



/* g as one allocation, or NULL when out of memory. */
static struct blob *blob_of(const struct group *g)
{
    size_t head = offsetof(struct group, links) + g->n_links * sizeof(struct link);
    size_t rest = (head + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    size_t size = offsetof(struct blob, data) + rest + ct_text_size(g->bindings_json);
    for (size_t i = 0; i < g->n_links; i++) {
        const struct link *k = &g->links[i];
        size += k->n_headers * sizeof(struct header) + ct_text_size(k->action_url) +
                ct_text_size(k->label_key) + ct_text_size(k->label) + ct_text_size(k->request_body);
        for (size_t j = 0; j < k->n_headers; j++)
            size += ct_text_size(k->headers[j].name) + ct_text_size(k->headers[j].value);
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
    copy.bindings_json = ct_put_text(&w, g->bindings_json);
    for (size_t i = 0; i < g->n_links; i++) {
        struct link *k = &copy.links[i];
        const struct link *from = &g->links[i];
        k->action_url = ct_put_text(&w, from->action_url);
        k->label_key = ct_put_text(&w, from->label_key);
        k->label = ct_put_text(&w, from->label);
        k->request_body = ct_put_text(&w, from->request_body);
        for (size_t j = 0; j < k->n_headers; j++) {
            k->headers[j].name = ct_put_text(&w, from->headers[j].name);
            k->headers[j].value = ct_put_text(&w, from->headers[j].value);
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
        if (strcmp(key, victim->h.key) == 0)
            continue;
        uint64_t h = ct_hash(key);
        struct ct_shard *sh = ct_shard_of(&c->t, h);
        pthread_mutex_lock(&sh->mu);
        struct ct_entry **slot = ct_slot(sh, h, key);
        struct entry *e = (struct entry *)*slot;
        if (e && e->blob == b)
            ct_unlink(sh, slot, &e->h);
        else
            e = NULL;
        pthread_mutex_unlock(&sh->mu);
        if (e)
            drop(&e->h);
    }
    drop(&victim->h);
}

void link_cache_put(struct link_cache *c, int64_t epoch, const struct group *g)
{
    if (!g->n_links || g->n_links > GROUP_MAX_LINKS || !ct_see_epoch(&c->t, epoch))
        return;
    struct blob *b = blob_of(g);
    if (!b)
        return;
    size_t cost = sizeof(struct entry) + CT_MALLOC_OVERHEAD +
                  (b->size + CT_MALLOC_OVERHEAD) / g->n_links;
    if (cost > c->t.budget_per_shard) {
        free(b);
        return;
    }
    atomic_store(&b->refs, 1); /* ours, until every link is in */
    struct ct_entry *victims = NULL; /* dropped for room, linked by `newer` */
    for (size_t i = 0; i < g->n_links; i++) {
        const char *key = b->keys[i];
        uint64_t h = ct_hash(key);
        struct ct_shard *sh = ct_shard_of(&c->t, h);
        pthread_mutex_lock(&sh->mu);
        /* a newer epoch seen meanwhile: its readers must not find this */
        if (atomic_load(&c->t.epoch) != epoch) {
            pthread_mutex_unlock(&sh->mu);
            break;
        }
        struct ct_entry **slot = ct_slot(sh, h, key);
        struct entry *e = (struct entry *)*slot;
        struct blob *old = NULL;
        if (e) { /* read twice at once, or left from an older epoch: renewed, as newest */
            old = e->blob;
            ct_unlink(sh, slot, &e->h);
            slot = ct_slot(sh, h, key);
        } else if ((e = malloc(sizeof(*e)))) {
            memset(e, 0, sizeof(*e));
            memcpy(e->h.key, key, ID_LEN + 1);
        } else {
            pthread_mutex_unlock(&sh->mu);
            break;
        }
        atomic_fetch_add(&b->refs, 1);
        e->blob = b;
        e->epoch = epoch;
        e->index = (unsigned char)i;
        e->h.cost = cost;
        struct ct_entry *out = ct_add(&c->t, sh, slot, &e->h);
        pthread_mutex_unlock(&sh->mu);
        if (old)
            blob_release(old);
        while (out) { /* onto the victims */
            struct ct_entry *next = out->newer;
            out->newer = victims;
            victims = out;
            out = next;
        }
    }
    blob_release(b);
    for (struct ct_entry *v = victims, *next; v; v = next) {
        next = v->newer;
        drop_group(c, (struct entry *)v);
    }
}

void link_cache_stats(struct link_cache *c, struct link_cache_stats *out)
{
    ct_counts(&c->t, &out->entries, &out->bytes, &out->hits, &out->misses);
}
