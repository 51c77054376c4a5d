/* The single route table. A pattern segment "{v}" is an API version (vNN.N, 31.0 to
 * 66.0: another version is 404), "{id}" is any one segment, handed to the handler as
 * r->param. HEAD is served by the GET handler (the server drops the body). */
#include "api/internal.h"

#include "auth/token.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
    const char *method;
    const char *pattern;
    bool auth;
    void (*fn)(struct api_req *r);
};

/* Handlers that never block, so they run on the I/O thread: GETs (they only read), the
 * PATCH of a link and the POST of a group definition (they read, then wait for their
 * write with api_wait). Every other one may wait for a commit, so it runs on a worker;
 * so does /metrics, which counts the callout queue: however long that is, a scrape does
 * not hold up the requests of an I/O thread. */
static bool runs_on_io_thread(const struct route *route)
{
    return (strcmp(route->method, "GET") == 0 && route->fn != h_metrics) ||
           route->fn == h_link_patch || route->fn == h_definition_create;
}

static const struct route routes[] = {
    {"GET", "/services/data", false, h_versions},
    {"GET", "/services/data/{v}", false, h_version_root},
    {"GET", "/services/oauth2/userinfo", true, h_userinfo},
    {"POST", "/services/oauth2/token", false, h_oauth_token},
    {"POST", "/services/oauth2/revoke", false, h_oauth_revoke},
    {"GET", "/services/oauth2/revoke", false, h_oauth_revoke},
    {"GET", "/id/{id}/{id}", true, h_identity},
    {"GET", "/services/data/{v}/sobjects/User/{id}", true, h_user_sobject},
    {"POST", "/services/data/{v}/connect/action-link-group-definitions", true,
     h_definition_create},
    {"GET", "/services/data/{v}/connect/action-link-group-definitions/{id}", true,
     h_definition_get},
    {"DELETE", "/services/data/{v}/connect/action-link-group-definitions/{id}", true,
     h_definition_delete},
    {"GET", "/services/data/{v}/connect/action-link-groups/{id}", true, h_group_get},
    {"GET", "/services/data/{v}/connect/action-links/{id}", true, h_link_get},
    {"PATCH", "/services/data/{v}/connect/action-links/{id}", true, h_link_patch},
    {"GET", "/services/data/{v}/connect/action-links/{id}/diagnostic-info", true,
     h_link_diagnostic},
    {"GET", "/services/data/{v}/connect/action-link-events", true, h_events},
    {"POST", "/services/data/{v}/sobjects/ActionLinkGroupTemplate", true, h_gtemplate_create},
    {"GET", "/services/data/{v}/sobjects/ActionLinkGroupTemplate/{id}", true, h_gtemplate_get},
    {"PATCH", "/services/data/{v}/sobjects/ActionLinkGroupTemplate/{id}", true,
     h_gtemplate_update},
    {"DELETE", "/services/data/{v}/sobjects/ActionLinkGroupTemplate/{id}", true,
     h_gtemplate_delete},
    {"POST", "/services/data/{v}/sobjects/ActionLinkTemplate", true, h_ltemplate_create},
    {"GET", "/services/data/{v}/sobjects/ActionLinkTemplate/{id}", true, h_ltemplate_get},
    {"PATCH", "/services/data/{v}/sobjects/ActionLinkTemplate/{id}", true, h_ltemplate_update},
    {"DELETE", "/services/data/{v}/sobjects/ActionLinkTemplate/{id}", true, h_ltemplate_delete},
    {"POST", "/services/data/{v}/chatter/feed-elements", true, h_feed_create},
    {"GET", "/services/data/{v}/chatter/feed-elements/{id}", true, h_feed_get},
    {"DELETE", "/services/data/{v}/chatter/feed-elements/{id}", true, h_feed_delete},
    {"GET", "/services/data/{v}/chatter/feed-elements/{id}/capabilities/associated-actions",
     true, h_feed_actions},
    {"GET", "/services/data/{v}/chatter/feeds/news/me/feed-elements", true, h_news_feed},
    {"GET", "/action-link-redirect/{id}/{id}", false, h_redirect},
    {"GET", "/healthz", false, h_healthz},
    {"GET", "/readyz", false, h_readyz},
    {"GET", "/metrics", false, h_metrics},
    /* last: the page and its files (web/), any other one-segment path */
    {"GET", "/", false, h_ui},
    {"GET", "/{id}", false, h_ui},
};
enum { N_ROUTES = sizeof(routes) / sizeof(routes[0]) };

/* "v66.0" → "66.0" when it is a version we serve, else NULL. */
static const char *version_of(struct arena *a, const char *seg, size_t n)
{
    if (n != 5 || seg[0] != 'v' || seg[3] != '.')
        return NULL;
    for (size_t i = 1; i < 5; i++)
        if (i != 3 && (seg[i] < '0' || seg[i] > '9'))
            return NULL;
    int major = (seg[1] - '0') * 10 + (seg[2] - '0');
    if (major < API_MIN_VERSION || major > API_MAX_VERSION || seg[4] != '0')
        return NULL;
    return arena_strndup(a, seg + 1, 4);
}

enum match { NO_MATCH, MATCH, BAD_VERSION };

/* A path or a pattern cut at its slashes: "/a/b" is "a", "b"; "/" is one empty segment.
 * Longer paths than any pattern are not cut further (they match none). */
enum { MAX_SEGMENTS = 8 };
struct segments {
    size_t n;
    const char *at[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
};

/* false when the path has more segments than any pattern (or does not begin with '/'). */
static bool split(const char *path, struct segments *out)
{
    out->n = 0;
    if (*path != '/')
        return false;
    const char *s = path;
    while (*s == '/') {
        if (out->n == MAX_SEGMENTS)
            return false;
        s++;
        const char *end = strchrnul(s, '/');
        out->at[out->n] = s;
        out->len[out->n++] = (size_t)(end - s);
        s = end;
    }
    return true;
}

static struct segments route_segments[N_ROUTES]; /* split_patterns, once */
static pthread_once_t route_segments_once = PTHREAD_ONCE_INIT;

/* Segment by segment, against the route's pattern as split_patterns cut it (the router
 * tries the routes in turn, most of them in vain: a different number of segments is the
 * quick no); what {v} and {id} matched is copied only once the whole path matched. */
static enum match match(int route, const struct segments *path, struct api_req *r)
{
    const struct segments *pat = &route_segments[route];
    if (pat->n != path->n)
        return NO_MATCH;
    int version = -1, params[2] = {-1, -1}, n_params = 0;
    for (size_t i = 0; i < pat->n; i++) {
        const char *p = pat->at[i];
        size_t pn = pat->len[i];
        if (pn == 3 && memcmp(p, "{v}", 3) == 0)
            version = (int)i;
        else if (pn == 4 && memcmp(p, "{id}", 4) == 0 && n_params < 2)
            params[n_params++] = (int)i;
        else if (pn != path->len[i] || memcmp(p, path->at[i], pn) != 0)
            return NO_MATCH;
    }
    const char *v = version >= 0 ? version_of(r->a, path->at[version], path->len[version]) : NULL;
    if (version >= 0 && !v)
        return BAD_VERSION;
    r->version = v;
    r->param =
        params[0] >= 0 ? arena_strndup(r->a, path->at[params[0]], path->len[params[0]]) : NULL;
    r->param2 =
        params[1] >= 0 ? arena_strndup(r->a, path->at[params[1]], path->len[params[1]]) : NULL;
    return MATCH;
}

static void split_patterns(void)
{
    for (int i = 0; i < N_ROUTES; i++)
        if (!split(routes[i].pattern, &route_segments[i]))
            abort(); /* a pattern longer than MAX_SEGMENTS: a programming error */
}

static void method_not_allowed(struct api_req *r, const struct segments *path)
{
    char allow[64] = "";
    for (int i = 0; i < N_ROUTES; i++) {
        struct api_req probe = *r;
        if (routes[i].fn == h_ui || match(i, path, &probe) != MATCH)
            continue;
        if (allow[0])
            strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
        strncat(allow, routes[i].method, sizeof(allow) - strlen(allow) - 1);
        if (strcmp(routes[i].method, "GET") == 0)
            strncat(allow, ", HEAD", sizeof(allow) - strlen(allow) - 1);
    }
    reply_error(r, ERR_METHOD, "this method is not allowed here; allowed: %s", allow);
    http_add_header(r->resp, "Allow", arena_strdup(r->a, allow));
}

static enum err authenticate(struct api_req *r, const struct route *route)
{
    enum err e = token_authenticate(r->api->store, r->api->tokens, http_header(r->http, "Authorization"), r->a,
                                    &r->who);
    /* A callback token is good for one PATCH of one link (SPEC 11.13); the handler
     * checks the link. */
    if (e == ERR_OK && r->who.callback_execution_id[0] && route->fn != h_link_patch)
        e = ERR_SESSION;
    if (e == ERR_SESSION)
        reply_error(r, ERR_SESSION, "Session expired or invalid");
    else if (e)
        reply_error(r, ERR_UNAVAILABLE, "the database is unavailable; try again");
    return e;
}

void api_handle(void *ctx, struct http_request *req, struct http_response *resp)
{
    if (req->state) { /* a handler's next step, its write being durable */
        struct api_req *again = req->state;
        again->then(again);
        return;
    }
    struct api_req *r = arena_alloc(req->arena, sizeof(*r));
    *r = (struct api_req){.api = ctx, .http = req, .resp = resp, .a = req->arena};
    if (req->body_too_large) {
        reply_error(r, ERR_TOO_LARGE, "the request body is larger than %zu bytes",
                    r->api->cfg.max_body);
        return;
    }
    if (req->stopping) {
        reply_error(r, ERR_UNAVAILABLE, "the server is stopping; try again");
        return;
    }
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    const struct route *found = NULL;
    bool path_known = false, bad_version = false;
    pthread_once(&route_segments_once, split_patterns);
    struct segments path;
    bool cut = split(req->path, &path);
    /* the routes of this method first: most requests name one of them */
    for (int i = 0; i < N_ROUTES && !found && cut; i++)
        if (strcmp(routes[i].method, method) == 0 && match(i, &path, r) == MATCH)
            found = &routes[i];
    /* else all of them, to tell a known path (405) or an API version not served (404) */
    for (int i = 0; i < N_ROUTES && !found && cut; i++) {
        enum match m = match(i, &path, r);
        if (m == BAD_VERSION)
            bad_version = true;
        if (m != MATCH)
            continue;
        if (routes[i].fn == h_ui && strcmp(method, "GET") != 0)
            continue; /* the page's catch-all makes no path "known" to other methods */
        path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            found = &routes[i];
    }
    if (!found) {
        if (path_known)
            method_not_allowed(r, &path);
        else if (bad_version)
            reply_error(r, ERR_NOT_FOUND, "this API version is not served; use v%d.0 to v%d.0",
                        API_MIN_VERSION, API_MAX_VERSION);
        else
            reply_error(r, ERR_NOT_FOUND, "the requested resource does not exist");
        return;
    }
    if (!req->on_worker && !runs_on_io_thread(found)) {
        http_later(req, HTTP_ON_WORKER);
        return;
    }
    r->pc.api_root = arena_join(r->a, "/services/data/v", r->version ? r->version : "66.0", NULL);
    /* A GET reads only: one snapshot for all its reads (one read transaction). A link's
     * PATCH makes its first reads in one snapshot too, a fresh one: it decides on them
     * and its write is conditional on them; the reads after a lost race come later, on
     * their own, and see every commit. Other writes read one by one. */
    bool snapshot = strcmp(method, "GET") == 0 && found->fn != h_events;
    bool fresh = found->fn == h_link_patch;
    if (snapshot)
        store_snapshot_begin(r->api->store);
    else if (fresh)
        store_snapshot_begin_fresh(r->api->store);
    if (!found->auth || !authenticate(r, found))
        found->fn(r);
    if (snapshot || fresh)
        store_snapshot_end(r->api->store);
}
