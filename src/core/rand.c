/* getrandom(2) with rejection sampling so that base-62 output is unbiased. */
#include "core/rand.h"

#include <errno.h>
#include <sys/random.h>

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool rand_bytes(void *p, size_t n)
{
    unsigned char *c = p;
    while (n) {
        ssize_t r = getrandom(c, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        c += r;
        n -= (size_t)r;
    }
    return true;
}

bool rand_base62(char *out, size_t n)
{
    unsigned char pool[64];
    size_t have = 0, used = 0, i = 0;
    while (i < n) {
        if (used == have) {
            if (!rand_bytes(pool, sizeof(pool)))
                return false;
            have = sizeof(pool);
            used = 0;
        }
        unsigned char v = pool[used++];
        if (v < 248) /* 248 = 4 * 62: keeps the distribution uniform */
            out[i++] = b62[v % 62];
    }
    out[n] = '\0';
    return true;
}
