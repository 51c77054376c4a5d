/* HMAC is built on the digest (RFC 2104): H((K ^ opad) || H((K ^ ipad) || m)), with the
 * SHA-256 algorithm fetched once per process. */
#include "auth/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

enum { BLOCK = 64 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *md(void)
{
    pthread_once(&once, fetch);
    return sha256 ? sha256 : EVP_sha256();
}

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN])
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, md(), NULL);
}

/* The state of a key's inner and outer hashes after their padded key block, for the
 * first few keys given to digest_hmac_sha256_kept (the org's signing key: every redirect
 * bearer is signed with it): copying them saves two blocks and two initialisations of
 * every HMAC. An entry is filled once under the lock and only read afterwards (copied
 * from by any thread); they are never freed. Only keys of the server's own are kept: a
 * key a request supplies must not take a place or stay in memory. */
enum { KEYED_MAX = 4 };
struct keyed {
    unsigned char key[BLOCK]; /* as padded: hashed first when longer than a block */
    EVP_MD_CTX *inner, *outer;
};
static struct keyed keyed[KEYED_MAX];
static _Atomic int n_keyed;
static pthread_mutex_t keyed_mu = PTHREAD_MUTEX_INITIALIZER;

static EVP_MD_CTX *padded(const unsigned char k[BLOCK], unsigned char x)
{
    unsigned char pad[BLOCK];
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ x;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && (!EVP_DigestInit_ex(ctx, md(), NULL) || !EVP_DigestUpdate(ctx, pad, BLOCK))) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
    }
    OPENSSL_cleanse(pad, sizeof(pad));
    return ctx;
}

/* The kept states of key k, kept now if there is room; NULL when there is none. */
static const struct keyed *keyed_of(const unsigned char k[BLOCK])
{
    int n = atomic_load(&n_keyed);
    for (int i = 0; i < n; i++)
        if (CRYPTO_memcmp(keyed[i].key, k, BLOCK) == 0)
            return &keyed[i];
    if (n == KEYED_MAX)
        return NULL;
    pthread_mutex_lock(&keyed_mu);
    const struct keyed *found = NULL;
    n = atomic_load(&n_keyed);
    for (int i = 0; i < n && !found; i++)
        if (CRYPTO_memcmp(keyed[i].key, k, BLOCK) == 0)
            found = &keyed[i];
    if (!found && n < KEYED_MAX) {
        struct keyed *e = &keyed[n];
        e->inner = padded(k, 0x36);
        e->outer = padded(k, 0x5c);
        if (e->inner && e->outer) {
            memcpy(e->key, k, BLOCK);
            atomic_store(&n_keyed, n + 1); /* published whole */
            found = e;
        } else {
            EVP_MD_CTX_free(e->inner);
            EVP_MD_CTX_free(e->outer);
            e->inner = e->outer = NULL;
        }
    }
    pthread_mutex_unlock(&keyed_mu);
    return found;
}

static void hmac(const void *key, size_t key_len, const void *data, size_t len,
                 unsigned char out[DIGEST_LEN], bool keep)
{
    unsigned char k[BLOCK] = {0}, inner[DIGEST_LEN];
    if (key_len > BLOCK)
        digest_sha256(key, key_len, k);
    else if (key_len)
        memcpy(k, key, key_len);
    const struct keyed *e = keep ? keyed_of(k) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (e && ctx && EVP_MD_CTX_copy_ex(ctx, e->inner) && EVP_DigestUpdate(ctx, data, len) &&
        EVP_DigestFinal_ex(ctx, inner, &n) && EVP_MD_CTX_copy_ex(ctx, e->outer) &&
        EVP_DigestUpdate(ctx, inner, DIGEST_LEN) && EVP_DigestFinal_ex(ctx, out, &n)) {
        EVP_MD_CTX_free(ctx);
        OPENSSL_cleanse(k, sizeof(k));
        return;
    }
    unsigned char pad[BLOCK];
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    EVP_DigestInit_ex(ctx, md(), NULL);
    EVP_DigestUpdate(ctx, pad, BLOCK);
    EVP_DigestUpdate(ctx, data, len);
    EVP_DigestFinal_ex(ctx, inner, &n);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    EVP_DigestInit_ex(ctx, md(), NULL);
    EVP_DigestUpdate(ctx, pad, BLOCK);
    EVP_DigestUpdate(ctx, inner, DIGEST_LEN);
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
}

void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[DIGEST_LEN])
{
    hmac(key, key_len, data, len, out, false);
}

void digest_hmac_sha256_kept(const void *key, size_t key_len, const void *data, size_t len,
                             unsigned char out[DIGEST_LEN])
{
    hmac(key, key_len, data, len, out, true);
}
