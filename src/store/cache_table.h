/* The table under the store's in-memory caches (link_cache.c, exec_cache.c): entries
 * found by a text key, spread over shards by its hash, each shard with its own lock,
 * hash table and list from oldest to newest, and a budget in bytes that drops the
 * oldest first. It also keeps the newest epoch seen: when a newer one comes, every
 * entry is dropped. A cache embeds struct ct_entry at the start of its entries and
 * gives the function that frees one; nothing is freed while a shard lock is held. */
#ifndef AL_CACHE_TABLE_H
#define AL_CACHE_TABLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CT_SHARDS = 16, CT_KEY_MAX = 40, CT_MALLOC_OVERHEAD = 32 };

struct ct_entry {
    struct ct_entry *next;          /* in its bucket */
    struct ct_entry *older, *newer; /* in its shard's list; `newer` links dropped lists */
    size_t cost;                    /* what it counts against the budget */
    char key[CT_KEY_MAX];
};

struct ct_shard {
    pthread_mutex_t mu;
    struct ct_entry **buckets;
    size_t mask;
    struct ct_entry *oldest, *newest;
    size_t entries, bytes;
    uint64_t hits, misses;
};

struct cache_table {
    size_t budget_per_shard;
    atomic_int_fast64_t epoch; /* the newest seen */
    void (*drop)(struct ct_entry *e); /* frees an entry (no lock held) */
    struct ct_shard shard[CT_SHARDS];
};

/* About one bucket per `entry_size` bytes of budget. false when out of memory (then
 * ct_destroy it). */
bool ct_init(struct cache_table *t, size_t budget, size_t entry_size,
             void (*drop)(struct ct_entry *e));
void ct_destroy(struct cache_table *t);

uint64_t ct_hash(const char *key);
struct ct_shard *ct_shard_of(struct cache_table *t, uint64_t h);

/* Records that `epoch` was seen: the newest yet drops everything; false if it is older
 * than one already seen (such a reader neither uses nor adds entries). */
bool ct_see_epoch(struct cache_table *t, int64_t epoch);

/* With the shard's lock held: where the entry of key is (*slot is NULL if none). */
struct ct_entry **ct_slot(struct ct_shard *sh, uint64_t h, const char *key);
/* Takes e (found at slot) out of its shard; the caller drops it after unlocking. */
void ct_unlink(struct ct_shard *sh, struct ct_entry **slot, struct ct_entry *e);
/* Puts e (whose key is not there: slot from ct_slot) in as the newest, then unlinks the
 * oldest entries other than e while the shard is over budget, and returns them linked
 * by `newer`, for ct_drop_list once the lock is let go. */
struct ct_entry *ct_add(struct cache_table *t, struct ct_shard *sh, struct ct_entry **slot,
                        struct ct_entry *e);
/* Drops a list linked by `newer` (no lock held). */
void ct_drop_list(struct cache_table *t, struct ct_entry *list);

/* For entries that carry their texts after them: the room a text takes (0 for NULL),
 * and a copy of it at *w, which then moves past it (NULL stays NULL). */
size_t ct_text_size(const char *s);
const char *ct_put_text(char **w, const char *s);

/* Entries, bytes, hits and misses over all shards. */
void ct_counts(struct cache_table *t, size_t *entries, size_t *bytes, uint64_t *hits,
               uint64_t *misses);

#endif
