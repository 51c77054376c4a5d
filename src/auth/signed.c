/* HMAC-SHA256 over "redirect", the link, the user and the expiry, compared in constant
 * time. */
#include "auth/signed.h"

#include "auth/digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mac_hex(const char *key, const char *link_id, const char *user_id, int64_t expires,
                    char out[65])
{
    char msg[128];
    int n = snprintf(msg, sizeof(msg), "redirect\n%s\n%s\n%lld", link_id, user_id,
                     (long long)expires);
    unsigned char md[DIGEST_LEN];
    digest_hmac_sha256(key, strlen(key), msg, (size_t)n, md);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void signed_make(const char *key, const char *link_id, const char *user_id, int64_t expires_ms,
                 char out[SIGNED_MAX])
{
    char mac[65];
    mac_hex(key, link_id, user_id, expires_ms, mac);
    snprintf(out, SIGNED_MAX, "%lld.%s.%s", (long long)expires_ms, user_id, mac);
}

bool signed_check(const char *key, const char *link_id, const char *value, int64_t now_ms,
                  char user_id[ID_LEN + 1])
{
    if (!value || strlen(value) >= SIGNED_MAX)
        return false;
    char *end;
    long long expires = strtoll(value, &end, 10);
    if (end == value || *end != '.' || expires <= now_ms)
        return false;
    const char *user = end + 1, *dot = strchr(user, '.');
    if (!dot || dot - user != ID_LEN || strlen(dot + 1) != 64)
        return false;
    char uid[ID_LEN + 1];
    memcpy(uid, user, ID_LEN);
    uid[ID_LEN] = '\0';
    if (!id_parse(uid, ID_USER, uid))
        return false;
    char want[65];
    mac_hex(key, link_id, uid, expires, want);
    if (CRYPTO_memcmp(want, dot + 1, 64) != 0)
        return false;
    memcpy(user_id, uid, ID_LEN + 1);
    return true;
}
