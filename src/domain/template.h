/* Action link templates (SPEC 8): the fields of ActionLinkGroupTemplate and
 * ActionLinkTemplate and their rules, the rules for publishing and for changes after
 * publishing, {!Bindings.key} substitution, and the instantiation of a published template
 * as a group (SPEC 11.8). Pure: what only the store knows (the user a UserAlias names)
 * comes in through a callback.
 *
 * Refusals are ERR_INPUT (ERR_ID for a malformed id) with a message in e->msg that starts
 * with the field it names, as the client spells it ("Position: ...", "templateBindings:
 * ..."). Strings put into records point into the JSON value read or into the arena; both
 * must outlive the record. */
#ifndef AL_TEMPLATE_H
#define AL_TEMPLATE_H

#include "core/arena.h"
#include "core/err.h"
#include "domain/model.h"
#include "domain/validate.h"

#include <jansson.h>

enum {
    TEMPLATE_MAX_NAME = 80,         /* DeveloperName, MasterLabel, Label: characters */
    TEMPLATE_MAX_LABEL_BYTES = 200, /* Label, also: with its status suffix it must fit the
                                       confirmation message (domain/present.c) */
    TEMPLATE_MAX_ALIAS = 255,       /* UserAlias, bytes before binding */
    TEMPLATE_MAX_HOURS = 8760,
    TEMPLATE_MAX_POSITION = 9999,
    TEMPLATE_MAX_BINDINGS = 100,
    TEMPLATE_MAX_BINDING_VALUE = 8192,
};

/* One binding: the key without its "Bindings." prefix, and its value. */
struct template_binding {
    const char *key;
    const char *value;
};
struct template_bindings {
    struct template_binding *v;
    size_t n;
};

/* Reads the fields of an ActionLinkGroupTemplate in o over t. With creating, t is first
 * reset to the defaults (HoursUntilExpiration not set, not published) and the required
 * fields (DeveloperName, MasterLabel, Category, ExecutionsAllowed) must be present;
 * otherwise only the fields present change (a PATCH), and null clears an optional one.
 * Ids, creator and times are left to the caller. */
enum err template_group_read(const json_t *o, bool creating, struct group_template *t,
                             struct validate_error *e);

/* The same for an ActionLinkTemplate: then checks the whole record (the rules that tie
 * fields together, e.g. Download links use HttpGet, CustomUser needs a UserAlias).
 * ActionLinkGroupTemplateId is left to the caller (it needs the store). With creating,
 * Position defaults to default_position. o->allow_http: --allow-http-callouts. */
enum err template_link_read(const json_t *o, bool creating, int default_position,
                            const struct validate_opts *vo, struct link_template *t,
                            struct validate_error *e);

/* The rules of a whole ActionLinkTemplate record (template_link_read runs them). */
enum err template_link_check(const struct link_template *t, const struct validate_opts *vo,
                             struct validate_error *e);

/* The rules checked when a group template is published, on its link templates: at least
 * one, at most 3 (Primary) or 4 (Overflow), at most one group default, and no
 * Api/ApiAsync link under Unlimited. */
enum err template_publish_check(const struct group_template *g, const struct link_template *lts,
                                size_t n, struct validate_error *e);

/* After publishing (old->published): only MasterLabel may change, and the template may not
 * be unpublished. Before, anything may change. */
enum err template_group_change_check(const struct group_template *old,
                                     const struct group_template *now, struct validate_error *e);
/* After publishing: only ActionUrl, Headers and RequestBody may change, and they may use
 * only binding keys that the link template already used. */
enum err template_link_change_check(const struct link_template *old,
                                    const struct link_template *now, bool published,
                                    struct validate_error *e);

/* Parses Headers text ("Name: value" lines; blank lines are skipped, CRLF is accepted) and
 * checks each header as a definition's (SPEC 4.1). field names the field in messages.
 * *out in the arena (NULL when there are none). */
enum err template_headers_parse(const char *text, const char *field, struct arena *a,
                                struct header **out, size_t *n, struct validate_error *e);

/* Reads templateBindings: absent or null is none; else an array of {"key","value"} with
 * string values, the key with or without the "Bindings." prefix, each key once. */
enum err template_bindings_read(const json_t *v, struct arena *a, struct template_bindings *out,
                                struct validate_error *e);
/* The bindings as a JSON object text {"key": "value", ...}, new in the arena (NULL if a
 * value cannot be written as JSON); and back from such a text (none when text is NULL or
 * not an object). */
const char *template_bindings_json(const struct template_bindings *b, struct arena *a);
void template_bindings_from_json(const char *text, struct arena *a, struct template_bindings *out);

/* Returns s with every {!Bindings.key} replaced by its value (inserted as it is), new in
 * the arena; other {!...} placeholders stay. NULL s gives NULL. When a key has no binding,
 * returns NULL and writes the key (truncated to cap) to missing. */
char *template_bind(struct arena *a, const char *s, const struct template_bindings *b,
                    char *missing, size_t cap);

/* The texts of one link made from lt with bindings b: ActionUrl, Headers and RequestBody
 * with the bindings filled in and checked as a definition's link would be. The other
 * fields of k are filled from lt too (type, method, labels, flags, template id); visibility
 * is left to template_instantiate. */
enum err template_render_link(const struct link_template *lt, const struct template_bindings *b,
                              const struct validate_opts *vo, struct arena *a, struct link *k,
                              struct validate_error *e);

/* Resolves the user a bound UserAlias names (a user id, 15 or 18 characters, or a
 * username) into out: ERR_OK, ERR_NOT_FOUND, or another error (the store failed). */
typedef enum err (*template_user_cb)(void *arg, const char *alias, char out[ID_LEN + 1]);

struct template_instance_opts {
    const struct user *creator; /* the instantiating user (id and manager_id) */
    const char *nobody_id;      /* userId of a Manager link when the creator has no manager: an
                                   id that no user has, so nobody sees the link */
    int64_t now_ms;
    int64_t expiration_ms; /* the expirationDate given, 0 when none */
    bool allow_http;
    template_user_cb resolve_user;
    void *resolve_arg;
};

/* Makes the group of the published template gt with its link templates lts (in Position
 * order) and bindings b: category, policy, expiration, template ids, bindings_json, the
 * creator and the links with their texts and visibility (SPEC 11.8). Ids, app and times
 * are left to the caller. On a store failure from resolve_user returns that error. */
enum err template_instantiate(const struct group_template *gt, const struct link_template *lts,
                              size_t n, const struct template_bindings *b,
                              const struct template_instance_opts *o, struct arena *a,
                              struct group *g, struct validate_error *e);

/* Reads the body of POST action-link-group-definitions that names a template: templateId
 * (into template_id), templateBindings, and an optional expirationDate (in the future, at
 * most 365 days after now; *expiration_ms 0 when absent). actionLinks, category and
 * executionsAllowed must be absent. */
enum err template_instance_input(const json_t *body, int64_t now_ms, struct arena *a,
                                 char template_id[ID_LEN + 1], struct template_bindings *b,
                                 int64_t *expiration_ms, struct validate_error *e);

#endif
