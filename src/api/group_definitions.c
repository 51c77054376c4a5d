/* Action Link Group Definitions (SPEC 4.1, 4.2): create, read, delete. Definitions hold
 * secrets (headers, bodies), so only the creating app, as the creator or a viewAllData
 * user, may read or delete them. */
#include "api/internal.h"

#include "core/clock.h"
#include "domain/validate.h"

#include <stdio.h>
#include <string.h>

void reply_store_error(struct api_req *r, enum err e, const char *what)
{
    if (e == ERR_NOT_FOUND)
        reply_error(r, ERR_NOT_FOUND, "%s does not exist", what);
    else
        reply_error(r, ERR_UNAVAILABLE, "the database is unavailable; try again");
}

/* Checks that the users a definition names exist. */
static bool users_exist(struct api_req *r, const struct group *g)
{
    for (size_t i = 0; i < g->n_links; i++) {
        const struct link *k = &g->links[i];
        const char *ids[] = {k->user_id, k->excluded_user_id};
        const char *names[] = {"userId", "excludedUserId"};
        for (int j = 0; j < 2; j++) {
            struct user u;
            if (!ids[j][0])
                continue;
            enum err e = store_user_get(r->api->store, ids[j], r->a, &u);
            if (e == ERR_NOT_FOUND) {
                reply_error(r, ERR_INPUT, "actionLinks[%zu].%s: no user has this id", i,
                            names[j]);
                return false;
            }
            if (e) {
                reply_store_error(r, e, "");
                return false;
            }
        }
    }
    return true;
}

/* The texts of g, borrowed from a JSON document, copied into a. */
static void own_texts(struct arena *a, struct group *g)
{
    g->bindings_json = arena_strdup(a, g->bindings_json);
    for (size_t i = 0; i < g->n_links; i++) {
        struct link *k = &g->links[i];
        k->action_url = arena_strdup(a, k->action_url);
        k->label_key = arena_strdup(a, k->label_key);
        k->label = arena_strdup(a, k->label);
        k->request_body = arena_strdup(a, k->request_body);
        for (size_t j = 0; j < k->n_headers; j++) {
            k->headers[j].name = arena_strdup(a, k->headers[j].name);
            k->headers[j].value = arena_strdup(a, k->headers[j].value);
        }
    }
}

/* A create under way: the group being written, then the write's result. */
struct create {
    struct group g;
    enum err result;
};

/* The writer's callback: the group is durable (or not). */
static void create_done(void *ctx, enum err result)
{
    struct api_req *r = ctx;
    ((struct create *)r->state)->result = result;
    http_resume(r->http);
}

static void created(struct api_req *r)
{
    struct create *c = r->state;
    if (c->result)
        reply_store_error(r, c->result, "");
    else
        reply_definition(r, 201, &c->g);
}

/* Runs on the I/O thread: validates, then hands the write to the store and lets the
 * connection wait, suspended, until it is durable (no worker thread, as for a PATCH). A
 * definition from a template does more (reads and writes of templates): a worker's. */
void h_definition_create(struct api_req *r)
{
    json_t *body = NULL;
    if (read_json_body(r, false, &body))
        return;
    const json_t *tid = json_object_get(body, "templateId");
    if (tid && !json_is_null(tid)) {
        if (!r->http->on_worker)
            http_later(r->http, HTTP_ON_WORKER);
        else
            definition_from_template(r, body);
        json_decref(body);
        return;
    }
    struct create *c = arena_alloc(r->a, sizeof(*c));
    struct group *g = &c->g;
    struct validate_opts o = {.now_ms = clock_now_ms(),
                              .allow_http = r->api->cfg.allow_http_callouts};
    struct validate_error ve;
    enum err e = validate_group_input(body, &o, r->a, g, &ve);
    if (e) {
        reply_error(r, e, "%s", ve.msg);
        json_decref(body);
        return;
    }
    if (!users_exist(r, g)) {
        json_decref(body);
        return;
    }
    id_new(ID_GROUP, g->id);
    memcpy(g->creator_id, r->who.user.id, sizeof(g->creator_id));
    memcpy(g->app_id, r->who.app.id, sizeof(g->app_id));
    g->created_ms = g->modified_ms = o.now_ms;
    for (size_t i = 0; i < g->n_links; i++) {
        id_new(ID_LINK, g->links[i].id);
        memcpy(g->links[i].group_id, g->id, sizeof(g->id));
        g->links[i].created_ms = g->links[i].modified_ms = o.now_ms;
    }
    own_texts(r->a, g);
    json_decref(body);
    api_wait(r, c, created);
    e = store_group_create_async(r->api->store, g, create_done, r);
    if (e)
        create_done(r, e); /* not queued: finish with the error */
}

bool api_may_read_definition(const struct api_req *r, const struct group *g)
{
    return strcmp(g->app_id, r->who.app.id) == 0 &&
           (strcmp(g->creator_id, r->who.user.id) == 0 || r->who.user.view_all_data);
}

/* Loads the group of r->param if the caller may read it as a definition. */
static bool load_readable(struct api_req *r, struct group *g)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_GROUP, id))
        return false;
    enum err e = store_group_get(r->api->store, id, r->a, g);
    if (e) {
        reply_store_error(r, e, "this action link group");
        return false;
    }
    if (!api_may_read_definition(r, g)) {
        reply_error(r, ERR_ACCESS, "only the app that created this definition, as its "
                                   "creator or a user with viewAllData, may use it");
        return false;
    }
    return true;
}

void h_definition_get(struct api_req *r)
{
    struct group g;
    if (load_readable(r, &g))
        reply_definition(r, 200, &g);
}

void h_definition_delete(struct api_req *r)
{
    struct group g;
    if (!load_readable(r, &g))
        return;
    enum err e = store_group_delete(r->api->store, g.id);
    if (e)
        reply_store_error(r, e, "this action link group");
    else
        reply_no_content(r);
}
