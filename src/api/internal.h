/* Shared by the files of api/: the per-request context and the reply helpers. */
#ifndef AL_API_INTERNAL_H
#define AL_API_INTERNAL_H

#include "api/api.h"
#include "core/err.h"
#include "domain/model.h"
#include "domain/present.h"

#include <jansson.h>

enum { API_MIN_VERSION = 31, API_MAX_VERSION = 66, API_MAX_JSON_DEPTH = 64 };

struct api_req {
    struct api *api;
    struct http_request *http;
    struct http_response *resp;
    struct arena *a;
    const char *version; /* "66.0" when the path has one */
    struct present_ctx pc;
    const char *param;  /* the first {id} segment of the path, if any */
    const char *param2; /* the second one */
    struct principal who;
    const char *base_url; /* set when rendering outside a request (events): the public URL */
    /* A handler that waits for a write without blocking (http_later(HTTP_ON_RESUME))
     * sets then: it is called instead of the route when the request runs again. */
    void (*then)(struct api_req *r);
    void *state; /* the handler's, between its runs */
};

/* Lets the connection wait, suspended, until http_resume(r->http); then(r) runs next,
 * with r->state = state. For a handler about to start a write that calls back. */
void api_wait(struct api_req *r, void *state, void (*then)(struct api_req *r));

/* Replies; each sets the whole response. body is stolen. Without a response (rendering
 * for an event stream) they only drop the body. */
void reply_json(struct api_req *r, int status, json_t *body);
/* Answers with JSON already written as text; takes the buffer's data. */
void reply_json_text(struct api_req *r, int status, struct buf *text);
/* A group definition (SPEC 4.2), written straight as text. */
void reply_definition(struct api_req *r, int status, const struct group *g);
void reply_error(struct api_req *r, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_no_content(struct api_req *r);
/* NOT_FOUND naming what, or SERVER_UNAVAILABLE for a database failure. */
void reply_store_error(struct api_req *r, enum err e, const char *what);

/* Parses the request body as JSON (SPEC 2): ERR_MEDIA for XML or form bodies, ERR_JSON
 * for bad or too deeply nested JSON, with a reply already made. An empty body gives
 * *out = NULL and ERR_OK when allow_empty. */
enum err read_json_body(struct api_req *r, bool allow_empty, json_t **out);
/* True when the body is a JSON object of one member, key, whose value is a string of 1
 * to cap - 1 ASCII letters, copied to out: the PATCH of a link's usual body, read
 * without a parse. False for anything else, which read_json_body then reads (and
 * judges) in full. */
bool read_body_one_word(struct api_req *r, const char *key, char *out, size_t cap);
/* A form-encoded body (application/x-www-form-urlencoded), decoded into the arena: at
 * most API_MAX_FORM_FIELDS fields. False on a malformed body. */
enum { API_MAX_FORM_FIELDS = 32 };
struct form_field {
    const char *name, *value;
};
bool read_form(struct api_req *r, struct form_field *out, size_t *n);
/* The value of a form field (the first of that name) or a query argument, or NULL. */
const char *form_get(struct api_req *r, const struct form_field *f, size_t n,
                     const char *name);

/* Parses an id from the path or body, replying INVALID_ID_FIELD on failure. */
bool parse_id_or_reply(struct api_req *r, const char *in, enum id_kind kind,
                       char out[ID_LEN + 1]);
/* The public base URL (no trailing slash), new in the request arena. */
const char *public_base_url(struct api_req *r);

/* Handlers, one per route. */
void h_versions(struct api_req *r);
void h_version_root(struct api_req *r);
void h_userinfo(struct api_req *r);
void h_oauth_token(struct api_req *r);
void h_oauth_revoke(struct api_req *r);
void h_identity(struct api_req *r);
void h_user_sobject(struct api_req *r);
void h_healthz(struct api_req *r);
void h_readyz(struct api_req *r);
void h_metrics(struct api_req *r);
void h_definition_create(struct api_req *r);
void h_definition_get(struct api_req *r);
void h_definition_delete(struct api_req *r);
void h_group_get(struct api_req *r);
void h_link_get(struct api_req *r);
void h_link_patch(struct api_req *r);
void h_link_diagnostic(struct api_req *r);
void h_redirect(struct api_req *r);
/* templates.c (SPEC 8) */
void h_gtemplate_create(struct api_req *r);
void h_gtemplate_get(struct api_req *r);
void h_gtemplate_update(struct api_req *r);
void h_gtemplate_delete(struct api_req *r);
void h_ltemplate_create(struct api_req *r);
void h_ltemplate_get(struct api_req *r);
void h_ltemplate_update(struct api_req *r);
void h_ltemplate_delete(struct api_req *r);
/* The templateId branch of POST action-link-group-definitions: validates the body
 * (templateId, templateBindings, expirationDate), instantiates the published template
 * as a group made by the caller, and replies (201 with the definition, or an error). */
void definition_from_template(struct api_req *r, json_t *body);
/* feed.c (SPEC 4.4) */
void h_feed_create(struct api_req *r);
void h_feed_get(struct api_req *r);
void h_feed_delete(struct api_req *r);
void h_feed_actions(struct api_req *r);
void h_news_feed(struct api_req *r);

/* The Platform Action Group of g for the caller (SPEC 4.3): the links the caller sees,
 * in order, with the caller's statuses. NULL when the caller sees none of its links, or
 * on a database failure — then *failed is set and a reply was made. */
json_t *api_group_view(struct api_req *r, const struct group *g, bool *failed);
/* The Platform Action of link k of g for the caller (SPEC 4.3), appended to out as
 * compact JSON. False on a database failure (a reply made). */
bool api_action_text(struct api_req *r, const struct group *g, const struct link *k,
                     struct buf *out);
/* Whether the caller sees link k (userId, excludedUserId). */
bool api_link_visible(const struct link *k, const char *user_id);
/* ui.c: the web page's files */
void h_ui(struct api_req *r);
/* events.c (SPEC 9) */
void h_events(struct api_req *r);

/* Whether the caller may read g as a definition (SPEC 4.2): through the app that made
 * it, as its creator or a viewAllData user. */
bool api_may_read_definition(const struct api_req *r, const struct group *g);

#endif
