/* Compact JSON written straight into a buffer, for the answers on hot paths: the bytes
 * are those jansson's json_dumps(JSON_COMPACT) prints for the same values (a unit test
 * holds the two together), without building a tree first. The caller writes the
 * punctuation and the keys as literals. Growth failures are the buffer's (it has no
 * limit here), so nothing returns an error. */
#ifndef AL_JSONW_H
#define AL_JSONW_H

#include "core/buf.h"

#include <stdbool.h>

/* s as a JSON string (s must be valid UTF-8, as everything stored is). */
void jw_string(struct buf *b, const char *s);
/* s as a JSON string, or null when s is NULL. */
void jw_string_or_null(struct buf *b, const char *s);
void jw_bool(struct buf *b, bool v);
/* A literal: punctuation, keys, null. */
void jw_raw(struct buf *b, const char *s);

#endif
