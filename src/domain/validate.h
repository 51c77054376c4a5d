/* The input rules of SPEC 4.1 and 5 for an Action Link Group Definition Input. Pure:
 * rules that need the store (does a userId exist?) are left to the caller. */
#ifndef AL_VALIDATE_H
#define AL_VALIDATE_H

#include "core/arena.h"
#include "core/err.h"
#include "domain/model.h"

#include <jansson.h>

enum {
    VALIDATE_MAX_URL = 4096,
    VALIDATE_MAX_HEADER_VALUE = 8192,
    VALIDATE_MAX_BODY = 65536,
    VALIDATE_MAX_DAYS = 365,
};

struct validate_opts {
    int64_t now_ms;
    bool allow_http; /* --allow-http-callouts */
};

/* Out-of-band detail of a refusal: the message names the field and the rule. */
struct validate_error {
    char msg[512];
};

/* Reads a group definition input into g (ids, creator, app and times left for the
 * caller). Strings in g point into the arena or into body; both must outlive g.
 * Returns ERR_OK, ERR_INPUT or ERR_ID with e->msg filled in. */
enum err validate_group_input(const json_t *body, const struct validate_opts *o, struct arena *a,
                              struct group *g, struct validate_error *e);

/* The actionUrl rules of SPEC 4.1 (https, http only with allow_http, or /services/; at
 * most VALIDATE_MAX_URL bytes; a host; no spaces or control characters; only known
 * context variables), with field naming the field in e->msg. ERR_OK or ERR_INPUT. */
enum err validate_action_url(const char *url, const char *field, const struct validate_opts *o,
                             struct validate_error *e);
/* A JSON boolean, or the strings "true"/"false" (SPEC 2). Returns false if v is neither. */
bool validate_bool(const json_t *v, bool *out);
/* Whether s holds a control character (tab allowed when allow_tab). */
bool validate_has_control(const char *s, bool allow_tab);
/* Whether s is an HTTP header field name (an RFC 9110 token). */
bool validate_header_name(const char *s);
/* Depth of the deepest array/object nesting in a JSON text, not counting brackets in
 * strings; stops counting at limit + 1. Used to refuse deep nesting before parsing. */
int validate_json_depth(const char *text, size_t len, int limit);

#endif
