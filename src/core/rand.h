/* Cryptographically secure random bytes from the kernel. */
#ifndef AL_RAND_H
#define AL_RAND_H

#include <stdbool.h>
#include <stddef.h>

/* Fills p with n random bytes; false only if the kernel refuses. */
bool rand_bytes(void *p, size_t n);
/* Writes n random characters of [0-9A-Za-z] and a NUL into out (n + 1 bytes). */
bool rand_base62(char *out, size_t n);

#endif
