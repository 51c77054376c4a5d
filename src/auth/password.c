/* scrypt with N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds): slow for a guesser,
 * bearable for a login. */
#include "auth/password.h"

#include "core/rand.h"
#include "core/text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

enum { SALT_LEN = 16, KEY_LEN = 32, LOG_N = 15, R = 8, P = 1 };

static bool from_hex(const char *in, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = in[2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (unsigned char)v;
    }
    return in[2 * n] == '\0' || in[2 * n] == '$';
}

static bool derive(const char *pw, const unsigned char *salt, int log_n, int r, int p,
                   unsigned char key[KEY_LEN])
{
    return EVP_PBE_scrypt(pw, strlen(pw), salt, SALT_LEN, (uint64_t)1 << log_n, (uint64_t)r,
                          (uint64_t)p, 64u * 1024 * 1024, key, KEY_LEN) == 1;
}

bool password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
    unsigned char salt[SALT_LEN], key[KEY_LEN];
    char salt_hex[2 * SALT_LEN + 1], key_hex[2 * KEY_LEN + 1];
    if (!rand_bytes(salt, sizeof(salt)) || !derive(password, salt, LOG_N, R, P, key))
        return false;
    text_hex(salt, SALT_LEN, salt_hex);
    text_hex(key, KEY_LEN, key_hex);
    snprintf(out, PASSWORD_HASH_MAX, "scrypt$%d$%d$%d$%s$%s", LOG_N, R, P, salt_hex, key_hex);
    OPENSSL_cleanse(key, sizeof(key));
    return true;
}

bool password_verify(const char *password, const char *stored)
{
    int log_n, r, p, used = 0;
    if (!stored || sscanf(stored, "scrypt$%d$%d$%d$%n", &log_n, &r, &p, &used) != 3 || !used ||
        log_n < 10 || log_n > 20 || r < 1 || r > 32 || p < 1 || p > 4)
        return false;
    const char *salt_hex = stored + used;
    if (strlen(salt_hex) != 2 * SALT_LEN + 1 + 2 * KEY_LEN)
        return false;
    unsigned char salt[SALT_LEN], want[KEY_LEN], got[KEY_LEN];
    if (!from_hex(salt_hex, salt, SALT_LEN) ||
        !from_hex(salt_hex + 2 * SALT_LEN + 1, want, KEY_LEN) ||
        !derive(password, salt, log_n, r, p, got))
        return false;
    bool ok = CRYPTO_memcmp(want, got, KEY_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    return ok;
}
