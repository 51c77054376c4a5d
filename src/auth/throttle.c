/* A fixed table of entries keyed by a 64-bit hash of the key (the key itself is not kept).
 * Entries quiet for an hour are forgotten; when the table is full the stalest entry in
 * the probe window is replaced. */
#include "auth/throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 8192, PROBE = 16 };
static const int64_t forget_ms = 3600 * 1000, max_lock_ms = 300 * 1000;

struct entry {
    uint64_t key; /* 0: empty */
    int failures;
    int64_t locked_until, last_ms;
};

struct throttle {
    pthread_mutex_t mu; /* guards slots */
    struct entry slots[SLOTS];
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ? h : 1;
}

/* The entry of key (creating it when create), or NULL. */
static struct entry *find(struct throttle *t, uint64_t key, int64_t now, bool create)
{
    struct entry *victim = NULL;
    for (int i = 0; i < PROBE; i++) {
        struct entry *e = &t->slots[(key + (uint64_t)i) % SLOTS];
        if (e->key == key)
            return e;
        if (e->key && now - e->last_ms > forget_ms)
            e->key = 0;
        if (!victim || !e->key || (victim->key && e->last_ms < victim->last_ms))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    victim->key = key;
    return victim;
}

struct throttle *throttle_new(void)
{
    struct throttle *t = calloc(1, sizeof(*t));
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

bool throttle_allowed(struct throttle *t, const char *key, int64_t now_ms, int64_t *retry_ms)
{
    pthread_mutex_lock(&t->mu);
    struct entry *e = find(t, hash(key), now_ms, false);
    int64_t wait = e && e->locked_until > now_ms ? e->locked_until - now_ms : 0;
    pthread_mutex_unlock(&t->mu);
    *retry_ms = wait;
    return wait == 0;
}

void throttle_failure(struct throttle *t, const char *key, int64_t now_ms, int free_failures)
{
    pthread_mutex_lock(&t->mu);
    struct entry *e = find(t, hash(key), now_ms, true);
    e->failures++;
    e->last_ms = now_ms;
    if (e->failures > free_failures) {
        int shift = e->failures - free_failures - 1;
        int64_t lock = shift >= 20 ? max_lock_ms : (int64_t)1000 << shift;
        e->locked_until = now_ms + (lock < max_lock_ms ? lock : max_lock_ms);
    }
    pthread_mutex_unlock(&t->mu);
}

void throttle_success(struct throttle *t, const char *key)
{
    pthread_mutex_lock(&t->mu);
    struct entry *e = find(t, hash(key), 0, false);
    if (e)
        e->key = 0;
    pthread_mutex_unlock(&t->mu);
}
