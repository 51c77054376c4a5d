/* Group definitions (a group with its links) kept in memory, found by the id of any of
 * their links, so that the read of a link does not go to the database each time.
 *
 * A definition is stored with the value of the database's definitions epoch under which
 * it was read, and used only by a reader that read the same value: the epoch moves with
 * every change or removal of a group or a link (schema 4), by whatever process makes it,
 * so a definition in here is never older than the reader's own view of the database.
 * When a newer epoch is seen, everything kept is dropped.
 *
 * It holds at most about `budget` bytes (the oldest definitions go first), and is safe
 * to use from any number of threads. The backend does not matter to it. */
#ifndef AL_LINK_CACHE_H
#define AL_LINK_CACHE_H

#include "core/arena.h"
#include "domain/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct link_cache;

/* NULL when out of memory. */
struct link_cache *link_cache_new(size_t budget);
void link_cache_free(struct link_cache *c);

/* The definition holding link_id as it was at `epoch`: copied into *out (its text into
 * a), with the link's position in out->links in *index. false when it is not kept. */
bool link_cache_get(struct link_cache *c, int64_t epoch, const char *link_id, struct arena *a,
                    struct group *out, size_t *index);

/* Keeps g, read at `epoch`, under each of its links' ids. Does nothing if a newer epoch
 * has been seen, or if g alone is larger than the budget allows. */
void link_cache_put(struct link_cache *c, int64_t epoch, const struct group *g);

/* What it holds now, for tests and the log. */
struct link_cache_stats {
    size_t entries, bytes;
    uint64_t hits, misses;
};
void link_cache_stats(struct link_cache *c, struct link_cache_stats *out);

#endif
