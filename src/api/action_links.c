/* The caller's view of action links (SPEC 4.3) and the status workflow (SPEC 6): the
 * Platform Action Group, the Platform Action, its PATCH, and diagnostic info. */
#include "api/internal.h"

#include "api/events.h"

#include "auth/signed.h"
#include "auth/token.h"
#include "core/clock.h"
#include "domain/render.h"
#include "domain/workflow.h"

#include <stdio.h>
#include <string.h>

static const char community_id[] = "000000000000000000";

bool api_link_visible(const struct link *k, const char *user_id)
{
    if (k->user_id[0] && strcmp(k->user_id, user_id) != 0)
        return false;
    if (k->excluded_user_id[0] && strcmp(k->excluded_user_id, user_id) == 0)
        return false;
    return true;
}

/* An ApiAsync execution still Pending at its deadline has failed (SPEC 7.3), whether or
 * not the dispatcher has written that down yet. */
static bool past_deadline(const struct execution *e)
{
    return e->status == STATUS_PENDING && e->deadline_ms && clock_now_ms() >= e->deadline_ms;
}

/* Ids in the 18-character form for render_ctx; lives as long as the render. */
struct render_ids {
    char link[ID_LEN18 + 1], group[ID_LEN18 + 1], org[ID_LEN18 + 1], user[ID_LEN18 + 1];
};

static struct render_ctx render_ctx_for(struct api_req *r, const struct group *g,
                                        const struct link *k, const char *user_id,
                                        struct render_ids *ids)
{
    id_to18(k->id, ids->link);
    id_to18(g->id, ids->group);
    id_to18(store_org_id(r->api->store), ids->org);
    id_to18(user_id, ids->user);
    return (struct render_ctx){.action_link_id = ids->link, .action_link_group_id = ids->group,
                               .community_id = community_id, .community_url = "",
                               .org_id = ids->org, .user_id = ids->user};
}

/* The caller's scope execution of a group into e; false (and *e untouched) when there
 * is none. On a database failure, replies and sets *failed. */
static bool load_execution(struct api_req *r, const struct group *g, struct execution *e,
                           bool *failed)
{
    *failed = false;
    if (g->policy == POLICY_UNLIMITED)
        return false;
    enum err err = store_execution_get(r->api->store, g->id,
                                       model_scope_user(g->policy, r->who.user.id), r->a, e);
    if (err == ERR_OK)
        return true;
    if (err != ERR_NOT_FOUND) {
        reply_store_error(r, err, "");
        *failed = true;
    }
    return false;
}

/* What the caller sees of link k, given the scope execution (or NULL), into *v; u holds
 * the executing user when it has to be loaded. False on a database failure (after
 * replying). */
static bool action_view_of(struct api_req *r, const struct group *g, const struct link *k,
                           const struct execution *e, struct action_view *v, struct user *u)
{
    *v = (struct action_view){
        .group = g, .link = k, .status = STATUS_NEW, .modified_ms = k->modified_ms};
    if (e && strcmp(e->link_id, k->id) == 0) {
        v->status = past_deadline(e) ? STATUS_FAILED : e->status;
        v->modified_ms = e->modified_ms;
        if (e->user_username) { /* loaded with the execution */
            memset(u, 0, sizeof(*u));
            memcpy(u->id, e->user_id, sizeof(u->id));
            u->username = e->user_username;
            u->name = e->user_name;
            v->executing_user = u;
        } else {
            enum err err = store_user_get(r->api->store, e->user_id, r->a, u);
            if (err && err != ERR_NOT_FOUND) {
                reply_store_error(r, err, "");
                return false;
            }
            if (!err)
                v->executing_user = u;
        }
    }
    if (!action_is_api(k->type)) {
        /* SPEC 7.5: a short-lived URL of ours that redirects to the link's target. */
        char bearer[SIGNED_MAX], link18[ID_LEN18 + 1];
        signed_make(store_signing_key(r->api->store), k->id, r->who.user.id,
                    clock_now_ms() + SIGNED_REDIRECT_TTL_MS, bearer);
        id_to18(k->id, link18);
        v->action_url = arena_join(r->a, public_base_url(r), "/action-link-redirect/",
                                   community_id, "/", link18, "?_bearer=", bearer, NULL);
    }
    return true;
}

/* The Platform Action of link k for the caller as a jansson value; NULL on a database
 * failure (after replying). */
static json_t *action_json(struct api_req *r, const struct group *g, const struct link *k,
                           const struct execution *e)
{
    struct action_view v;
    struct user u;
    return action_view_of(r, g, k, e, &v, &u) ? present_action(&r->pc, &v) : NULL;
}

/* The same, answered at once as 200 (written straight as text: the hot paths). */
static void reply_action(struct api_req *r, const struct group *g, const struct link *k,
                         const struct execution *e)
{
    struct action_view v;
    struct user u;
    if (!action_view_of(r, g, k, e, &v, &u))
        return;
    struct buf b;
    buf_init(&b, 0);
    present_action_write(&b, &r->pc, &v);
    reply_json_text(r, 200, &b);
}

bool api_action_text(struct api_req *r, const struct group *g, const struct link *k,
                     struct buf *out)
{
    struct execution e;
    bool failed, has = load_execution(r, g, &e, &failed);
    struct action_view v;
    struct user u;
    if (failed || !action_view_of(r, g, k, has ? &e : NULL, &v, &u))
        return false;
    present_action_write(out, &r->pc, &v);
    return true;
}

json_t *api_group_view(struct api_req *r, const struct group *g, bool *failed)
{
    struct execution e;
    bool has = load_execution(r, g, &e, failed);
    if (*failed)
        return NULL;
    json_t *actions = json_array();
    for (size_t i = 0; i < g->n_links; i++) {
        if (!api_link_visible(&g->links[i], r->who.user.id))
            continue;
        json_t *a = action_json(r, g, &g->links[i], has ? &e : NULL);
        if (!a) {
            json_decref(actions);
            *failed = true;
            return NULL;
        }
        json_array_append_new(actions, a);
    }
    if (json_array_size(actions) == 0) {
        json_decref(actions);
        return NULL;
    }
    return present_action_group(&r->pc, g, actions);
}

void h_group_get(struct api_req *r)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_GROUP, id))
        return;
    struct group g;
    enum err err = store_group_get(r->api->store, id, r->a, &g);
    if (err) {
        reply_store_error(r, err, "this action link group");
        return;
    }
    bool failed = false;
    json_t *view = api_group_view(r, &g, &failed);
    if (failed)
        return;
    if (!view)
        reply_error(r, ERR_NOT_FOUND, "this action link group does not exist");
    else
        reply_json(r, 200, view);
}

/* Loads the link named by r->param and its group, if the caller sees it. */
static bool load_visible_link(struct api_req *r, struct group *g, const struct link **k)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_LINK, id))
        return false;
    size_t index;
    enum err err = store_link_group(r->api->store, id, r->a, g, &index);
    if (err) {
        reply_store_error(r, err, "this action link");
        return false;
    }
    *k = &g->links[index];
    if (!api_link_visible(*k, r->who.user.id)) {
        reply_error(r, ERR_NOT_FOUND, "this action link does not exist");
        return false;
    }
    return true;
}

void h_link_get(struct api_req *r)
{
    struct group g;
    const struct link *k;
    if (!load_visible_link(r, &g, &k))
        return;
    struct execution e;
    bool failed, has = load_execution(r, &g, &e, &failed);
    if (failed)
        return;
    reply_action(r, &g, k, has ? &e : NULL);
}

void h_link_diagnostic(struct api_req *r)
{
    struct group g;
    const struct link *k;
    if (!load_visible_link(r, &g, &k))
        return;
    struct execution e;
    bool failed, has = load_execution(r, &g, &e, &failed);
    if (failed)
        return;
    const char *diag = has && strcmp(e.link_id, k->id) == 0 ? e.diagnostic : NULL;
    if (has && strcmp(e.link_id, k->id) == 0 && past_deadline(&e))
        diag = DIAG_NO_CALLBACK;
    char id18[ID_LEN18 + 1];
    id_to18(k->id, id18);
    reply_json(r, 200,
               json_pack("{s:o, s:s}", "diagnosticInfo", diag ? json_string(diag) : json_null(),
                         "url",
                         arena_printf(r->a, "%s/connect/action-links/%s/diagnostic-info",
                                      r->pc.api_root, id18)));
}

/* The requested status: ?status=S, else {"status": S} (SPEC 6, 11.3). */
static bool requested_status(struct api_req *r, enum status *out)
{
    const char *q = http_query(r->http, "status");
    json_t *body = NULL;
    char word[32]; /* longer than any status name */
    const char *name = NULL;
    if (read_body_one_word(r, "status", word, sizeof(word)))
        name = word;
    else if (read_json_body(r, true, &body))
        return false;
    else if (json_is_object(body))
        name = json_string_value(json_object_get(body, "status"));
    if (q)
        name = q;
    int s = status_from_name(name);
    json_decref(body);
    if (s < 0) {
        reply_error(r, ERR_STATUS, "status: must be one of NewStatus, PendingStatus, "
                                   "SuccessfulStatus, FailedStatus");
        return false;
    }
    *out = (enum status)s;
    return true;
}

/* The snapshot of an Api/ApiAsync callout, rendered now (SPEC 7.1, 7.2), with the
 * callback token of an ApiAsync execution (SPEC 7.3) written into *t. */
static bool render_callout(struct api_req *r, const struct group *g, const struct link *k,
                           const struct execution *e, struct callout *c, struct token_rec *t)
{
    struct render_ids ids;
    struct render_ctx ctx = render_ctx_for(r, g, k, e->user_id, &ids);
    memset(t, 0, sizeof(*t));
    if (k->type == ACTION_API_ASYNC) {
        char *token = arena_alloc(r->a, TOKEN_LEN + 1), *hash = arena_alloc(r->a, TOKEN_HASH_LEN + 1);
        if (!token_new(store_org_id(r->api->store), token))
            return false;
        token_hash(token, hash);
        t->hash = hash;
        memcpy(t->user_id, e->user_id, sizeof(t->user_id));
        memcpy(t->app_id, g->app_id, sizeof(t->app_id));
        memcpy(t->callback_execution_id, e->id, sizeof(t->callback_execution_id));
        /* The token dies with the deadline; without one, in ten years. */
        t->expires_ms = e->deadline_ms ? e->deadline_ms
                                       : e->created_ms + (int64_t)3650 * 86400 * 1000;
        const char *base = r->api->cfg.public_url && *r->api->cfg.public_url
                               ? public_base_url(r)
                               : r->api->cfg.self_base;
        ctx.callback_token = token;
        ctx.callback_url = arena_printf(r->a, "%s%s/connect/action-links/%s",
                                        base ? base : public_base_url(r), r->pc.api_root,
                                        ids.link);
    }
    memset(c, 0, sizeof(*c));
    memcpy(c->execution_id, e->id, sizeof(c->execution_id));
    c->type = k->type;
    memcpy(c->user_id, e->user_id, sizeof(c->user_id));
    memcpy(c->app_id, g->app_id, sizeof(c->app_id));
    c->method = k->method;
    c->url = render_text(r->a, k->action_url, &ctx, true);
    c->host = render_host_key(r->a, c->url);
    c->body = render_text(r->a, k->request_body, &ctx, false);
    c->n_headers = k->n_headers;
    c->headers = arena_alloc(r->a, (k->n_headers ? k->n_headers : 1) * sizeof(*c->headers));
    for (size_t i = 0; i < k->n_headers; i++) {
        c->headers[i].name = k->headers[i].name;
        c->headers[i].value = render_text(r->a, k->headers[i].value, &ctx, false);
    }
    c->created_ms = e->created_ms;
    return true;
}

static void refuse(struct api_req *r, enum err e)
{
    switch (e) {
    case ERR_EXECUTED:
        reply_error(r, e, "another execution of this action link group already took place "
                          "in this scope");
        break;
    case ERR_EXPIRED:
        reply_error(r, e, "this action link group has expired");
        break;
    case ERR_ACCESS:
        reply_error(r, e, "only the app that created this action link may complete it");
        break;
    default:
        reply_error(r, e, "this status change is not allowed from the link's current status");
        break;
    }
}

enum { PATCH_MAX_ROUNDS = 8 };

/* A PATCH between its runs: it reads and decides on the I/O thread, hands its write to
 * the store without waiting (the connection is suspended meanwhile), and finishes when
 * the write is durable (patch_written), deciding again after a lost race. */
struct patch {
    struct group g;
    const struct link *k;
    enum status want;
    int round;
    struct execution e; /* the scope's execution as read, then as written */
    bool has;
    enum { WRITE_DEADLINE, WRITE_CREATE, WRITE_UPDATE } writing;
    enum err result; /* of the write */
    struct callout c;
    struct token_rec t;
    bool reserved; /* c is claimed by this node with its write (dispatch_reserve) */
    bool adopted;  /* and the write is durable: the dispatcher has it */
};

static void patch_step(struct api_req *r, struct patch *p);

/* On a thread of the store's. A callout the PATCH claimed goes to the dispatcher here,
 * not after the resume: the client may be gone by then, and the handler not run again. */
static void patch_write_done(void *ctx, enum err result)
{
    struct api_req *r = ctx;
    struct patch *p = r->state;
    p->result = result;
    if (p->reserved) {
        p->reserved = false;
        p->adopted = result == ERR_OK;
        if (p->adopted)
            dispatch_adopt(r->api->dispatch, &p->c);
        else
            dispatch_unreserve(r->api->dispatch, p->c.host);
    }
    http_resume(r->http);
}

static void patch_written(struct api_req *r)
{
    struct patch *p = r->state;
    enum err err = p->result;
    if (p->writing == WRITE_DEADLINE) {
        /* the failure the deadline decided is written down (or someone else did it) */
        if (err && err != ERR_CONFLICT) {
            reply_store_error(r, err, "");
            return;
        }
        p->round++;
        patch_step(r, p);
        return;
    }
    if (err == ERR_CONFLICT) { /* another request changed the scope first: decide again */
        p->round++;
        patch_step(r, p);
        return;
    }
    if (err) {
        reply_store_error(r, err, "");
        return;
    }
    if (p->writing == WRITE_CREATE && action_is_api(p->k->type) && p->e.status == STATUS_PENDING &&
        !p->adopted)
        dispatch_notify(r->api->dispatch);
    events_notify(r->api->events);
    reply_action(r, &p->g, p->k, &p->e);
}

/* Hands the write to the store and lets the connection wait for it. */
static void patch_submit(struct api_req *r, struct patch *p, int64_t now, const char *diagnostic,
                         enum status from, enum status to)
{
    api_wait(r, p, patch_written);
    enum err err;
    if (p->writing == WRITE_CREATE)
        err = store_execution_create_async(r->api->store, &p->e,
                                           p->c.execution_id[0] ? &p->c : NULL,
                                           p->t.hash ? &p->t : NULL, patch_write_done, r);
    else
        err = store_execution_update_async(r->api->store, p->e.id, from, to, now, diagnostic,
                                           patch_write_done, r);
    if (err)
        patch_write_done(r, err); /* not queued: finish with the error */
}

static void patch_step(struct api_req *r, struct patch *p)
{
    const struct link *k = p->k;
    for (; p->round < PATCH_MAX_ROUNDS; p->round++) {
        struct execution *e = &p->e;
        bool failed;
        p->has = load_execution(r, &p->g, e, &failed);
        if (failed)
            return;
        bool has = p->has;
        int64_t now = clock_now_ms();
        if (has && past_deadline(e)) {
            /* Write down the failure the deadline already decided, then decide again. */
            p->writing = WRITE_DEADLINE;
            patch_submit(r, p, now, DIAG_NO_CALLBACK, STATUS_PENDING, STATUS_FAILED);
            return;
        }
        struct wf_input in = {
            .policy = p->g.policy, .type = k->type, .requested = p->want, .link_id = k->id,
            .caller_id = r->who.user.id, .exec = has ? e : NULL,
            .expired = p->g.expiration_ms && now >= p->g.expiration_ms,
            .may_complete_async = has && workflow_may_complete_async(&p->g, e, &r->who)};
        /* A callback token completes its one execution, of this link, once (SPEC 11.13). */
        if (r->who.callback_execution_id[0] &&
            (!has || strcmp(e->id, r->who.callback_execution_id) != 0 ||
             strcmp(e->link_id, k->id) != 0 || e->status != STATUS_PENDING ||
             p->want == STATUS_PENDING || p->want == STATUS_NEW)) {
            reply_error(r, ERR_SESSION, "Session expired or invalid");
            return;
        }
        struct wf_decision d = workflow_decide(&in);
        switch (d.action) {
        case WF_REFUSE:
            refuse(r, d.err);
            return;
        case WF_NOOP:
            reply_action(r, &p->g, k, has ? e : NULL);
            return;
        case WF_CREATE: {
            memset(e, 0, sizeof(*e));
            id_new(ID_EXECUTION, e->id);
            memcpy(e->group_id, p->g.id, sizeof(e->group_id));
            snprintf(e->scope_user_id, sizeof(e->scope_user_id), "%s",
                     model_scope_user(p->g.policy, r->who.user.id));
            memcpy(e->link_id, k->id, sizeof(e->link_id));
            memcpy(e->user_id, r->who.user.id, sizeof(e->user_id));
            e->user_username = r->who.user.username; /* the caller executes it */
            e->user_name = r->who.user.name;
            e->status = d.to;
            e->created_ms = e->modified_ms = now;
            memset(&p->c, 0, sizeof(p->c));
            memset(&p->t, 0, sizeof(p->t));
            bool send = action_is_api(k->type) && d.to == STATUS_PENDING;
            if (k->type == ACTION_API_ASYNC && r->api->cfg.async_deadline_ms)
                e->deadline_ms = now + r->api->cfg.async_deadline_ms;
            if (send && !render_callout(r, &p->g, k, e, &p->c, &p->t)) {
                reply_error(r, ERR_INTERNAL, "could not make a callback token");
                return;
            }
            /* sent by this node when it has room: no claim, and the row written once
             * more instead of twice (a relative URL waits for the dispatcher, which
             * makes its token) */
            if (send && p->c.url[0] != '/')
                p->reserved = dispatch_reserve(r->api->dispatch, p->c.host, &p->c.owner);
            p->has = true;
            p->writing = WRITE_CREATE;
            patch_submit(r, p, now, NULL, STATUS_NEW, d.to);
            return;
        }
        case WF_UPDATE: {
            enum status from = e->status;
            e->status = d.to;
            e->modified_ms = now;
            p->writing = WRITE_UPDATE;
            patch_submit(r, p, now, NULL, from, d.to);
            return;
        }
        }
    }
    reply_error(r, ERR_UNAVAILABLE, "the link changed too often while applying the status; "
                                    "try again");
}

void h_link_patch(struct api_req *r)
{
    struct patch *p = arena_alloc(r->a, sizeof(*p));
    memset(p, 0, sizeof(*p));
    if (!load_visible_link(r, &p->g, &p->k))
        return;
    if (!requested_status(r, &p->want))
        return;
    patch_step(r, p);
}

/* GET /action-link-redirect/{communityId}/{linkId}?_bearer=… (SPEC 7.5): no token; the
 * signed _bearer names the link and the user. */
void h_redirect(struct api_req *r)
{
    char id[ID_LEN + 1], user_id[ID_LEN + 1];
    if (strcmp(r->param, community_id) != 0 && strcmp(r->param, "000000000000000") != 0) {
        reply_error(r, ERR_NOT_FOUND, "no such community");
        return;
    }
    if (!parse_id_or_reply(r, r->param2, ID_LINK, id))
        return;
    if (!signed_check(store_signing_key(r->api->store), id, http_query(r->http, "_bearer"),
                      clock_now_ms(), user_id)) {
        reply_error(r, ERR_SESSION, "Session expired or invalid");
        return;
    }
    struct group g;
    size_t index;
    enum err err = store_link_group(r->api->store, id, r->a, &g, &index);
    if (err) {
        reply_store_error(r, err, "this action link");
        return;
    }
    const struct link *k = &g.links[index];
    if (action_is_api(k->type) || !api_link_visible(k, user_id)) {
        reply_error(r, ERR_NOT_FOUND, "this action link does not exist");
        return;
    }
    struct render_ids ids;
    struct render_ctx ctx = render_ctx_for(r, &g, k, user_id, &ids);
    reply_no_content(r);
    r->resp->status = 302;
    http_add_header(r->resp, "Location", render_text(r->a, k->action_url, &ctx, true));
    http_add_header(r->resp, "Cache-Control", "no-store");
}
