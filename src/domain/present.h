/* JSON shapes of SPEC 4.2 and 4.3: records in, jansson values out (new references the
 * caller owns). Ids go out in their 18-character form, dates in ISO 8601. */
#ifndef AL_PRESENT_H
#define AL_PRESENT_H

#include "core/buf.h"
#include "domain/model.h"

#include <jansson.h>

/* "/services/data/v66.0"-style prefix for URLs in the answer. */
struct present_ctx {
    const char *api_root; /* e.g. /services/data/v66.0 */
};

/* A group definition as compact JSON text appended to b. */
void present_definition_write(struct buf *b, const struct present_ctx *c, const struct group *g);

/* What the caller sees of one link. */
struct action_view {
    const struct group *group;
    const struct link *link;
    enum status status;
    const struct user *executing_user; /* NULL when nobody's execution is shown */
    int64_t modified_ms;
    const char *action_url; /* Download/Ui redirect URL, NULL otherwise */
};

json_t *present_action(const struct present_ctx *c, const struct action_view *v);
/* The same as compact JSON text appended to b, without a jansson tree (the hot paths:
 * GET and PATCH of a link, event streams). present_action is made from it. */
void present_action_write(struct buf *b, const struct present_ctx *c, const struct action_view *v);
/* A Platform Action Group holding the given actions (stolen references). */
json_t *present_action_group(const struct present_ctx *c, const struct group *g, json_t *actions);
json_t *present_user_summary(const struct present_ctx *c, const struct user *u);
/* Small shapes: an id in its 18-character form (null for ""), a date, a string or null. */
json_t *present_id(const char *id15);
json_t *present_date(int64_t ms);
json_t *present_text(const char *s);

/* A one-element error array [{"errorCode","message"}]. */
json_t *present_error(const char *code, const char *message);

#endif
