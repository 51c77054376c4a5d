/* Token issue and lookup. Tokens are random (288 bits), so a plain SHA-256 is enough to
 * keep a stolen database from yielding usable tokens; no slow hash is needed. */
#include "auth/token.h"

#include "auth/digest.h"

#include "core/clock.h"
#include "core/rand.h"

#include "core/text.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool token_new(const char *org_id, char out[TOKEN_LEN + 1])
{
    id_to18(org_id, out);
    out[ID_LEN18] = '!';
    return rand_base62(out + ID_LEN18 + 1, TOKEN_RANDOM_LEN);
}

void token_hash(const char *secret, char out[TOKEN_HASH_LEN + 1])
{
    unsigned char md[DIGEST_LEN];
    digest_sha256(secret, strlen(secret), md);
    text_hex(md, DIGEST_LEN, out);
    OPENSSL_cleanse(md, sizeof(md));
}

const char *token_from_header(const char *h)
{
    if (!h)
        return NULL;
    const char *t = NULL;
    if (strncasecmp(h, "Bearer ", 7) == 0)
        t = h + 7;
    else if (strncasecmp(h, "OAuth ", 6) == 0)
        t = h + 6;
    if (!t)
        return NULL;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ')
        n--;
    /* A token has one shape; anything else cannot be one of ours. */
    if (n < ID_LEN18 + 2 || n > 256 || t[ID_LEN18] != '!')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (i == ID_LEN18 && c == '!') || (i > ID_LEN18 && c == '.');
        if (!ok)
            return NULL;
    }
    if (t[n] != '\0')
        return NULL; /* trailing spaces: the caller must see exactly the token */
    return t;
}

enum err token_issue(struct store *s, const char *user_id, const char *app_id, int64_t ttl_s,
                     const char *refresh_hash, char out[TOKEN_LEN + 1], int64_t *expires_ms)
{
    if (!token_new(store_org_id(s), out))
        return ERR_INTERNAL;
    struct token_rec t;
    memset(&t, 0, sizeof(t));
    char hash[TOKEN_HASH_LEN + 1];
    token_hash(out, hash);
    t.hash = hash;
    snprintf(t.user_id, sizeof(t.user_id), "%s", user_id);
    snprintf(t.app_id, sizeof(t.app_id), "%s", app_id);
    t.refresh_hash = refresh_hash;
    t.expires_ms = clock_now_ms() + ttl_s * 1000;
    *expires_ms = t.expires_ms;
    return store_token_add(s, &t);
}

enum { CACHE_SLOTS = 1024, CACHE_STRIPES = 16 };

struct cached {
    char hash[TOKEN_HASH_LEN + 1]; /* "" when the slot is empty */
    int64_t epoch;                 /* the store's auth epoch when it was read */
    struct principal p; /* the strings point into text */
    char *text;
};

struct token_cache {
    pthread_mutex_t mu[CACHE_STRIPES]; /* slot i is guarded by mu[i % CACHE_STRIPES] */
    struct cached slot[CACHE_SLOTS];
};

struct token_cache *token_cache_new(void)
{
    struct token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_init(&c->mu[i], NULL);
    return c;
}

static void slot_empty(struct cached *e)
{
    free(e->text);
    memset(e, 0, sizeof(*e));
}

void token_cache_free(struct token_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        slot_empty(&c->slot[i]);
    for (int i = 0; i < CACHE_STRIPES; i++)
        pthread_mutex_destroy(&c->mu[i]);
    free(c);
}

static size_t slot_of(const char *hash)
{
    size_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 16 + (size_t)text_hex_digit(hash[i]);
    return h % CACHE_SLOTS;
}

static const char *copy_in(struct arena *a, const char *s)
{
    return s ? arena_strdup(a, s) : NULL;
}

static bool cache_get(struct token_cache *c, const char *hash, int64_t epoch, int64_t now,
                      struct arena *a, struct principal *out)
{
    size_t i = slot_of(hash);
    pthread_mutex_lock(&c->mu[i % CACHE_STRIPES]);
    struct cached *e = &c->slot[i];
    bool hit = strcmp(e->hash, hash) == 0 && e->epoch == epoch && now < e->p.expires_ms;
    if (hit) {
        *out = e->p;
        out->user.username = copy_in(a, e->p.user.username);
        out->user.name = copy_in(a, e->p.user.name);
        out->app.name = copy_in(a, e->p.app.name);
        out->app.client_id = copy_in(a, e->p.app.client_id);
    }
    pthread_mutex_unlock(&c->mu[i % CACHE_STRIPES]);
    return hit;
}

/* Four strings one after the other in one allocation. */
static char *pack(const char *const *in, const char **out, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += in[i] ? strlen(in[i]) + 1 : 0;
    char *text = malloc(len ? len : 1), *w = text;
    if (!text)
        return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (in[i]) {
            size_t m = strlen(in[i]) + 1;
            memcpy(w, in[i], m);
            out[i] = w;
            w += m;
        }
    }
    return text;
}

static void cache_put(struct token_cache *c, const char *hash, int64_t epoch,
                      const struct principal *p)
{
    const char *in[4] = {p->user.username, p->user.name, p->app.name, p->app.client_id}, *out[4];
    char *text = pack(in, out, 4);
    if (!text)
        return;
    size_t i = slot_of(hash);
    pthread_mutex_lock(&c->mu[i % CACHE_STRIPES]);
    struct cached *e = &c->slot[i];
    slot_empty(e);
    memcpy(e->hash, hash, sizeof(e->hash));
    e->epoch = epoch;
    e->p = *p;
    e->p.user.username = out[0];
    e->p.user.name = out[1];
    e->p.app.name = out[2];
    e->p.app.client_id = out[3];
    e->p.user.password_hash = NULL;
    e->text = text;
    pthread_mutex_unlock(&c->mu[i % CACHE_STRIPES]);
}

enum err token_authenticate(struct store *s, struct token_cache *cache,
                            const char *authorization, struct arena *a, struct principal *out)
{
    const char *t = token_from_header(authorization);
    if (!t)
        return ERR_SESSION;
    char hash[TOKEN_HASH_LEN + 1];
    token_hash(t, hash);
    int64_t now = clock_now_ms(), epoch = 0;
    /* the epoch first: a change after it moves it, so what is read next is never kept
     * past that change */
    if (cache) {
        enum err e = store_auth_epoch(s, &epoch);
        if (e)
            return e;
        if (cache_get(cache, hash, epoch, now, a, out))
            return ERR_OK;
    }
    enum err e = store_token_principal(s, hash, now, a, out);
    if (e == ERR_OK && cache && !out->callback_execution_id[0])
        cache_put(cache, hash, epoch, out);
    return e;
}
