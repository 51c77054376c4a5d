/* SPEC 6 with the precedence of SPEC 11.2: Unlimited first, then expiry (only for a
 * PATCH that would create an execution), then the completion rows, then
 * ALREADY_EXECUTED, then INVALID_STATUS_TRANSITION. */
#include "domain/workflow.h"

#include <string.h>

static struct wf_decision refuse(enum err e)
{
    return (struct wf_decision){WF_REFUSE, e, STATUS_NEW};
}

static struct wf_decision act(enum wf_action a, enum status to)
{
    return (struct wf_decision){a, ERR_OK, to};
}

static bool would_create(const struct wf_input *in)
{
    if (in->exec)
        return false;
    if (action_is_api(in->type))
        return in->requested == STATUS_PENDING;
    return in->requested != STATUS_NEW;
}

static bool terminal(enum status s)
{
    return s == STATUS_SUCCESSFUL || s == STATUS_FAILED;
}

struct wf_decision workflow_decide(const struct wf_input *in)
{
    const struct execution *e = in->exec;

    if (in->policy == POLICY_UNLIMITED)
        return refuse(ERR_TRANSITION);
    if (in->expired && would_create(in))
        return refuse(ERR_EXPIRED);

    bool same_link = e && strcmp(e->link_id, in->link_id) == 0;
    bool own = e && strcmp(e->user_id, in->caller_id) == 0;

    /* Completing a Pending execution of this link. */
    if (same_link && e->status == STATUS_PENDING && terminal(in->requested)) {
        switch (in->type) {
        case ACTION_API:
            return refuse(ERR_TRANSITION); /* only the callout result completes it */
        case ACTION_API_ASYNC:
            return in->may_complete_async ? act(WF_UPDATE, in->requested) : refuse(ERR_ACCESS);
        case ACTION_DOWNLOAD:
        case ACTION_UI:
            if (own)
                return act(WF_UPDATE, in->requested);
            break; /* someone else's execution of a Once link */
        default:
            break;
        }
    }

    /* A late completion through the app (SPEC 11.4) is a transition error, not someone
     * else's execution. */
    if (same_link && terminal(e->status) && terminal(in->requested) &&
        in->type == ACTION_API_ASYNC && in->may_complete_async)
        return refuse(ERR_TRANSITION);

    if (e && (!same_link || !own))
        return refuse(ERR_EXECUTED);

    /* From here on: no execution in scope, or the caller's own execution of this link. */
    if (in->requested == STATUS_NEW) {
        if (!e && !action_is_api(in->type))
            return act(WF_NOOP, STATUS_NEW);
        return refuse(ERR_TRANSITION);
    }
    if (!e) {
        if (action_is_api(in->type) && in->requested != STATUS_PENDING)
            return refuse(ERR_TRANSITION);
        return act(WF_CREATE, in->requested);
    }
    if (in->requested == STATUS_PENDING) {
        /* Api: asking again answers the current state, nothing is sent again.
         * Download/Ui [decided]: asking Pending again while Pending is idempotent too. */
        if (action_is_api(in->type) || e->status == STATUS_PENDING)
            return act(WF_NOOP, e->status);
    }
    return refuse(ERR_TRANSITION);
}

bool workflow_may_complete_async(const struct group *g, const struct execution *e,
                                 const struct principal *p)
{
    if (p->callback_execution_id[0])
        return strcmp(p->callback_execution_id, e->id) == 0;
    if (strcmp(p->app.id, g->app_id) != 0)
        return false;
    return strcmp(p->user.id, e->user_id) == 0 || strcmp(p->user.id, g->creator_id) == 0 ||
           p->user.view_all_data;
}
