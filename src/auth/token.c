/* Token issue and lookup. Tokens are random (288 bits), so a plain SHA-256 is enough to
 * keep a stolen database from yielding usable tokens; no slow hash is needed. */
#include "auth/token.h"

#include "auth/digest.h"

#include "core/clock.h"
#include "core/rand.h"

#include <openssl/crypto.h>
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
    static const char hex[] = "0123456789abcdef";
    unsigned char md[DIGEST_LEN];
    digest_sha256(secret, strlen(secret), md);
    for (int i = 0; i < DIGEST_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[TOKEN_HASH_LEN] = '\0';
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

enum err token_authenticate(struct store *s, const char *authorization, struct arena *a,
                            struct principal *out)
{
    const char *t = token_from_header(authorization);
    if (!t)
        return ERR_SESSION;
    char hash[TOKEN_HASH_LEN + 1];
    token_hash(t, hash);
    return store_token_principal(s, hash, clock_now_ms(), a, out);
}
