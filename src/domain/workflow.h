/* The status workflow of SPEC 6 as a pure function: given the caller's scope execution
 * and the requested status, what should happen. No I/O; the caller loads the state,
 * applies the decision with a conditional write, and decides again if the write lost a
 * race. */
#ifndef AL_WORKFLOW_H
#define AL_WORKFLOW_H

#include "core/err.h"
#include "domain/model.h"

struct wf_input {
    enum policy policy;
    enum action_type type;
    bool expired; /* the group's expirationDate has passed */
    enum status requested;
    const char *link_id;             /* the link being PATCHed */
    const char *caller_id;           /* the calling user */
    const struct execution *exec;    /* the execution in the caller's scope, or NULL */
    bool may_complete_async;         /* see workflow_may_complete_async */
};

enum wf_action {
    WF_REFUSE, /* answer err */
    WF_NOOP,   /* answer 200 with the current state, change nothing */
    WF_CREATE, /* create the scope's execution with status `to` (and its callout if Api) */
    WF_UPDATE, /* move exec from its status to `to` */
};

struct wf_decision {
    enum wf_action action;
    enum err err;
    enum status to;
};

struct wf_decision workflow_decide(const struct wf_input *in);

/* Whether a principal may complete an ApiAsync execution (SPEC 11.4): a token of the
 * group's creating app whose user is the executing user, the group's creator or has
 * viewAllData, or the execution's callback token. */
bool workflow_may_complete_async(const struct group *g, const struct execution *e,
                                 const struct principal *p);

#endif
