/* Password hashing with scrypt (OpenSSL's EVP_PBE_scrypt). Stored form:
 * "scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>". */
#ifndef AL_PASSWORD_H
#define AL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

enum { PASSWORD_HASH_MAX = 200, PASSWORD_MAX = 1024 };

/* Writes the stored form of password into out; false on failure. */
bool password_hash(const char *password, char out[PASSWORD_HASH_MAX]);
/* Whether password matches a stored form, compared in constant time. */
bool password_verify(const char *password, const char *stored);

#endif
