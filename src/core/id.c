/* Id layout (the 12 characters after the prefix, as one base-62 number of 71 bits):
 * 41 bits of milliseconds since 2024-01-01, 14 bits of node, 16 bits of counter. The
 * counter is a process-wide atomic that never goes backwards, so ids from one process
 * never repeat even when the clock does. */
#include "core/id.h"

#include "core/clock.h"
#include "core/rand.h"

#include <stdatomic.h>
#include <string.h>

static const char *const prefixes[] = {
#define X(name, prefix) prefix,
    ID_KIND_TABLE(X)
#undef X
};

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char suffix_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const int64_t epoch_ms = 1704067200000; /* 2024-01-01T00:00:00Z */

static _Atomic uint64_t last_stamp; /* (ms << 16) | counter */
static _Atomic int node_number = -1;

const char *id_prefix(enum id_kind kind)
{
    return prefixes[kind];
}

void id_set_node(uint16_t node)
{
    atomic_store(&node_number, node & 0x3fff);
}

static unsigned node_get(void)
{
    int n = atomic_load(&node_number);
    if (n < 0) {
        uint16_t r = 0;
        rand_bytes(&r, sizeof(r));
        int want = r & 0x3fff, expected = -1;
        atomic_compare_exchange_strong(&node_number, &expected, want);
        n = atomic_load(&node_number);
    }
    return (unsigned)n;
}

void id_new(enum id_kind kind, char out[ID_LEN + 1])
{
    uint64_t now = (uint64_t)(clock_now_ms() - epoch_ms) << 16;
    uint64_t prev = atomic_load(&last_stamp), next;
    do {
        next = prev + 1 > now ? prev + 1 : now;
    } while (!atomic_compare_exchange_weak(&last_stamp, &prev, next));

    unsigned __int128 v = ((unsigned __int128)(next >> 16) << 30) |
                          ((unsigned __int128)node_get() << 16) | (next & 0xffff);
    memcpy(out, prefixes[kind], 3);
    for (int i = ID_LEN - 1; i >= 3; i--) {
        out[i] = b62[(unsigned)(v % 62)];
        v /= 62;
    }
    out[ID_LEN] = '\0';
}

void id_to18(const char *id15, char out[ID_LEN18 + 1])
{
    memcpy(out, id15, ID_LEN);
    for (int chunk = 0; chunk < 3; chunk++) {
        unsigned mask = 0;
        for (int i = 0; i < 5; i++) {
            char c = id15[chunk * 5 + i];
            if (c >= 'A' && c <= 'Z')
                mask |= 1u << i;
        }
        out[ID_LEN + chunk] = suffix_chars[mask];
    }
    out[ID_LEN18] = '\0';
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool id_parse(const char *in, enum id_kind kind, char out[ID_LEN + 1])
{
    if (!in)
        return false;
    size_t n = strlen(in);
    if (n != ID_LEN && n != ID_LEN18)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(in[i]))
            return false;
    memcpy(out, in, ID_LEN);
    out[ID_LEN] = '\0';
    if (n == ID_LEN18) {
        for (int chunk = 0; chunk < 3; chunk++) {
            char s = in[ID_LEN + chunk];
            if (s >= 'a' && s <= 'z')
                s = (char)(s - 'a' + 'A');
            const char *at = strchr(suffix_chars, s);
            if (!at || !s)
                return false;
            unsigned mask = (unsigned)(at - suffix_chars);
            for (int i = 0; i < 5; i++) {
                char *c = &out[chunk * 5 + i];
                bool upper = mask & (1u << i);
                if (upper && *c >= 'a' && *c <= 'z')
                    *c = (char)(*c - 'a' + 'A');
                else if (!upper && *c >= 'A' && *c <= 'Z')
                    *c = (char)(*c - 'A' + 'a');
            }
        }
    }
    if (n == ID_LEN18) {
        /* The suffix must be the one this id has: a suffix that marks a digit as upper
         * case names no id. */
        char want[ID_LEN18 + 1];
        id_to18(out, want);
        for (int i = ID_LEN; i < ID_LEN18; i++) {
            char s = in[i];
            if (s >= 'a' && s <= 'z')
                s = (char)(s - 'a' + 'A');
            if (s != want[i])
                return false;
        }
    }
    return memcmp(out, prefixes[kind], 3) == 0;
}
