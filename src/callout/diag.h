/* Diagnostic lines of SPEC 7.7 and 11.5:
 *   <METHOD> <scheme://host[:port]/path> -> HTTP <code> <reason> in <ms> ms; response: <excerpt>
 *   <METHOD> <scheme://host[:port]/path> -> <error text> after <ms> ms
 * They never contain header values, query strings or userinfo. */
#ifndef AL_DIAG_H
#define AL_DIAG_H

#include "core/arena.h"

#include <stddef.h>
#include <stdint.h>

enum { DIAG_EXCERPT = 512 };

/* scheme://host[:port]/path of url (the port only when not the scheme's default), new in
 * the arena; for a URL that does not parse, "(invalid URL)". */
char *diag_url(struct arena *a, const char *url);
/* The standard reason phrase of an HTTP status code, or NULL. */
const char *diag_reason(long code);
/* The line for an answer: shown is the URL as diag_url shows it (the engine shows it
 * once per callout, for the line and the kept URL); body is the raw response (its first
 * DIAG_EXCERPT bytes are shown, escaped). */
char *diag_answered(struct arena *a, const char *verb, const char *shown, long code, int64_t ms,
                    const char *body, size_t body_len);
/* The line for a call that got no answer (shown as for diag_answered). */
char *diag_failed(struct arena *a, const char *verb, const char *shown, const char *text,
                  int64_t ms);

#endif
