/* HMAC is built on the digest (RFC 2104): H((K ^ opad) || H((K ^ ipad) || m)), with the
 * SHA-256 algorithm fetched once per process. */
#include "auth/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
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

void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[DIGEST_LEN])
{
    unsigned char k[BLOCK] = {0}, pad[BLOCK], inner[DIGEST_LEN];
    if (key_len > BLOCK)
        digest_sha256(key, key_len, k);
    else
        memcpy(k, key, key_len);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
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
