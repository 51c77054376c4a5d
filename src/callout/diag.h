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
/* diag_url with the last DIAG_URLS_KEPT answers kept, for one thread: callouts mostly go
 * to a few URLs, and curl's parser was a tenth of the engine's work. Only URLs without a
 * query, fragment or userinfo are kept (nothing secret stays in memory); the answer is
 * diag_url's, new in the arena. Zero-initialised; diag_urls_free frees what it keeps. */
enum { DIAG_URLS_KEPT = 16, DIAG_URL_KEPT_MAX = 1024 };
struct diag_urls {
    char *url[DIAG_URLS_KEPT], *shown[DIAG_URLS_KEPT];
    unsigned next;
};
char *diag_url_kept(struct diag_urls *k, struct arena *a, const char *url);
void diag_urls_free(struct diag_urls *k);
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
