/* Context variables (SPEC 7.2): {!name} placeholders in a link's URL, header values and
 * body, filled in when a user executes the link. */
#ifndef AL_RENDER_H
#define AL_RENDER_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>

/* The values of one execution; ids in their 18-character form. NULL values render as
 * the empty string. */
struct render_ctx {
    const char *action_link_id;
    const char *action_link_group_id;
    const char *community_id;
    const char *community_url;
    const char *org_id;
    const char *user_id;
    const char *callback_token;
    const char *callback_url;
};

/* The next placeholder {!name} at or after p (name: letters, digits, '_', '.'): returns
 * where it starts and sets *name and *name_len; NULL if there is none. */
const char *render_next_var(const char *p, const char **name, size_t *name_len);
/* Checks that every {!name} in s is a known context variable. On an unknown one, writes
 * its name (truncated to cap) to bad and returns false. */
bool render_check(const char *s, char *bad, size_t cap);
/* Returns s with every context variable replaced, new in the arena. With url_encode the
 * values are percent-encoded except RFC 3986 unreserved characters. */
char *render_text(struct arena *a, const char *s, const struct render_ctx *ctx, bool url_encode);

/* The destination of an absolute URL as "scheme://host:port" in lower case, with the
 * scheme's default port filled in (the key of the per-host callout limit); "self" for a
 * relative URL. New in the arena. */
char *render_host_key(struct arena *a, const char *url);

#endif
