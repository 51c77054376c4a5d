/* SHA-256 and HMAC-SHA256 against published vectors (FIPS 180-2, RFC 4231) and
 * OpenSSL's HMAC(), with and without the key's state kept (digest_hmac_sha256_kept),
 * including keys longer than a block and a key first used from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/digest.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void assert_hmac(const void *key, size_t key_len, const char *data, const char *want)
{
    unsigned char md[DIGEST_LEN];
    char got[2 * DIGEST_LEN + 1];
    digest_hmac_sha256(key, key_len, data, strlen(data), md);
    hex(md, DIGEST_LEN, got);
    assert_string_equal(got, want);
    digest_hmac_sha256_kept(key, key_len, data, strlen(data), md);
    hex(md, DIGEST_LEN, got);
    assert_string_equal(got, want);
}

static void test_sha256(void **state)
{
    (void)state;
    unsigned char md[DIGEST_LEN];
    char got[2 * DIGEST_LEN + 1];
    digest_sha256("abc", 3, md);
    hex(md, DIGEST_LEN, got);
    assert_string_equal(got, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231 test cases 1, 2, 6 and 7 (6 and 7: a 131-byte key, hashed first). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    unsigned char k1[20], k6[131];
    memset(k1, 0x0b, sizeof(k1));
    memset(k6, 0xaa, sizeof(k6));
    for (int round = 0; round < 3; round++) { /* again with the keyed state kept */
        assert_hmac(k1, sizeof(k1), "Hi There",
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        assert_hmac("Jefe", 4, "what do ya want for nothing?",
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_hmac(k6, sizeof(k6), "Test Using Larger Than Block-Size Key - Hash Key First",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
        assert_hmac(k6, sizeof(k6),
                    "This is a test using a larger than block-size key and a larger than "
                    "block-size data. The key needs to be hashed before being used by the "
                    "HMAC algorithm.",
                    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    }
}

/* More keys than are kept, each as OpenSSL's HMAC() makes it; an empty key; a key of
 * exactly one block and one a byte longer. */
static void test_hmac_many_keys(void **state)
{
    (void)state;
    unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
    unsigned int n_want = 0;
    for (int i = 0; i < 20; i++) {
        char key[16];
        int n = snprintf(key, sizeof(key), "key-%d", i);
        HMAC(EVP_sha256(), key, n, (const unsigned char *)"m", 1, want, &n_want);
        digest_hmac_sha256_kept(key, (size_t)n, "m", 1, got);
        assert_memory_equal(want, got, DIGEST_LEN);
        digest_hmac_sha256(key, (size_t)n, "m", 1, got);
        assert_memory_equal(want, got, DIGEST_LEN);
    }
    assert_hmac("", 0, "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    unsigned char longer[65];
    memset(longer, 0x61, sizeof(longer));
    for (size_t len = 64; len <= 65; len++) {
        HMAC(EVP_sha256(), longer, (int)len, (const unsigned char *)"m", 1, want, &n_want);
        digest_hmac_sha256_kept(longer, len, "m", 1, got);
        assert_memory_equal(want, got, DIGEST_LEN);
    }
}

static void *sign_many(void *arg)
{
    (void)arg;
    unsigned char md[DIGEST_LEN];
    char got[2 * DIGEST_LEN + 1];
    for (int i = 0; i < 2000; i++) {
        digest_hmac_sha256_kept("Jefe", 4, "what do ya want for nothing?", 28, md);
        hex(md, DIGEST_LEN, got);
        if (strcmp(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_hmac_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, sign_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r = (void *)1;
        pthread_join(t[i], &r);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_threads), /* first: the threads race to keep its key */
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_many_keys),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
