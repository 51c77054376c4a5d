/* HMAC-SHA256 over "redirect", the link, the user and the expiry, compared in constant
 * time. */
#include "auth/signed.h"

#include "auth/digest.h"
#include "core/text.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the n bytes of s at *w, if they fit before end; false if not. */
static bool put(char **w, const char *end, const char *s, size_t n)
{
    if ((size_t)(end - *w) < n)
        return false;
    memcpy(*w, s, n);
    *w += n;
    return true;
}

/* The decimal form of v (v >= 0; an expiry in ms) into out; its length. */
static size_t decimal(int64_t v, char out[24])
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Written without printf: a Ui link's GET signs one URL per answer. */
static void mac_hex(const char *key, const char *link_id, const char *user_id, int64_t expires,
                    char out[65])
{
    char msg[128], num[24], *w = msg;
    const char *end = msg + sizeof(msg);
    size_t n = decimal(expires, num);
    if (!put(&w, end, "redirect\n", 9) || !put(&w, end, link_id, strlen(link_id)) ||
        !put(&w, end, "\n", 1) || !put(&w, end, user_id, strlen(user_id)) ||
        !put(&w, end, "\n", 1) || !put(&w, end, num, n))
        w = msg; /* ids are short: cannot happen; an empty message signs nothing useful */
    unsigned char md[DIGEST_LEN];
    digest_hmac_sha256_kept(key, strlen(key), msg, (size_t)(w - msg), md); /* the org's key */
    text_hex(md, DIGEST_LEN, out);
}

void signed_make(const char *key, const char *link_id, const char *user_id, int64_t expires_ms,
                 char out[SIGNED_MAX])
{
    char mac[65], num[24], *w = out;
    const char *end = out + SIGNED_MAX - 1;
    mac_hex(key, link_id, user_id, expires_ms, mac);
    size_t n = decimal(expires_ms, num);
    if (!put(&w, end, num, n) || !put(&w, end, ".", 1) ||
        !put(&w, end, user_id, strlen(user_id)) || !put(&w, end, ".", 1) ||
        !put(&w, end, mac, 64))
        w = out;
    *w = '\0';
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
