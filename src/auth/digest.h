/* SHA-256 and HMAC-SHA256 for the hot paths (every request hashes its token). OpenSSL 3's
 * one-shot SHA256() and HMAC() look the algorithm up on every call, behind a global lock
 * that server threads then fight over; these fetch it once. Thread-safe. */
#ifndef AL_DIGEST_H
#define AL_DIGEST_H

#include <stddef.h>

enum { DIGEST_LEN = 32 };

void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_LEN]);
void digest_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                        unsigned char out[DIGEST_LEN]);
/* The same, for a key of the server's own used again and again (the signing key): the
 * first four such keys have their padded-block state kept, which halves the work. Never
 * for a key a request supplies. */
void digest_hmac_sha256_kept(const void *key, size_t key_len, const void *data, size_t len,
                             unsigned char out[DIGEST_LEN]);

#endif
