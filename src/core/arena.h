/* A bump allocator for memory that lives exactly as long as one request or one
 * operation: everything is freed in one go by arena_cleanup. Not thread-safe; an arena
 * belongs to one thread at a time. */
#ifndef AL_ARENA_H
#define AL_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;
};

void arena_init(struct arena *a);
/* Frees every allocation made from the arena; the arena may be used again. */
void arena_cleanup(struct arena *a);
/* Zeroed memory aligned for any type, valid until arena_cleanup. Aborts on OOM. */
void *arena_alloc(struct arena *a, size_t n);
/* Copies of strings in the arena; NULL in gives NULL out. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The strings up to the first NULL, one after the other (no format to parse: the hot
 * paths build URLs with it). */
char *arena_join(struct arena *a, ...) __attribute__((sentinel));

#endif
