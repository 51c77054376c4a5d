/* The resources around the API proper: version discovery, identity, health. */
#include "api/internal.h"

#include "auth/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Salesforce's release name for an API version: 31.0 was Summer '14, and each version
 * after it is the next of Winter, Spring, Summer. */
static void release_label(int major, char *out, size_t n)
{
    static const char *const seasons[] = {"Summer", "Winter", "Spring"};
    int k = major - 31, year;
    switch (k % 3) {
    case 0:
        year = 14 + k / 3;
        break;
    case 1:
        year = 15 + (k - 1) / 3;
        break;
    default:
        year = 15 + (k - 2) / 3;
        break;
    }
    snprintf(out, n, "%s '%02d", seasons[k % 3], year);
}

/* The absolute identity URL of the caller: <base>/id/<org>/<user>. */
static const char *identity_url(struct api_req *r)
{
    char uid[ID_LEN18 + 1], oid[ID_LEN18 + 1];
    id_to18(r->who.user.id, uid);
    id_to18(store_org_id(r->api->store), oid);
    return arena_printf(r->a, "%s/id/%s/%s", public_base_url(r), oid, uid);
}

void h_versions(struct api_req *r)
{
    json_t *list = json_array();
    for (int v = API_MIN_VERSION; v <= API_MAX_VERSION; v++) {
        char label[32], url[64], version[16];
        release_label(v, label, sizeof(label));
        snprintf(url, sizeof(url), "/services/data/v%d.0", v);
        snprintf(version, sizeof(version), "%d.0", v);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s}", "label", label, "url", url, "version", version));
    }
    reply_json(r, 200, list);
}

void h_version_root(struct api_req *r)
{
    const char *root = r->pc.api_root;
    json_t *o = json_object();
    static const char *const names[] = {"chatter", "connect", "sobjects"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char url[96];
        snprintf(url, sizeof(url), "%s/%s", root, names[i]);
        json_object_set_new(o, names[i], json_string(url));
    }
    /* No token is needed here (SPEC 11.1); with one, clients (jsforce's identity()) find
     * the caller's identity URL. */
    if (token_authenticate(r->api->store, r->api->tokens, http_header(r->http, "Authorization"), r->a, &r->who) ==
        ERR_OK)
        json_object_set_new(o, "identity", json_string(identity_url(r)));
    reply_json(r, 200, o);
}

/* The identity service, in the shape Salesforce clients read (id, user_id,
 * organization_id, username, display_name). Only the caller's own identity. */
void h_identity(struct api_req *r)
{
    char org[ID_LEN + 1], user[ID_LEN + 1];
    if (!id_parse(r->param, ID_ORG, org) || !id_parse(r->param2, ID_USER, user) ||
        strcmp(org, store_org_id(r->api->store)) != 0 || strcmp(user, r->who.user.id) != 0) {
        reply_error(r, ERR_NOT_FOUND, "no identity at this URL for this token");
        return;
    }
    char uid[ID_LEN18 + 1], oid[ID_LEN18 + 1];
    id_to18(r->who.user.id, uid);
    id_to18(org, oid);
    json_t *o = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "id", identity_url(r),
                          "asserted_user", 1, "user_id", uid, "organization_id", oid, "username",
                          r->who.user.username, "nick_name", r->who.user.username, "display_name",
                          r->who.user.name, "active", 1, "user_type", "STANDARD");
    reply_json(r, 200, o);
}

void h_userinfo(struct api_req *r)
{
    char uid[ID_LEN18 + 1], oid[ID_LEN18 + 1];
    id_to18(r->who.user.id, uid);
    id_to18(store_org_id(r->api->store), oid);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "sub", identity_url(r), "user_id", uid,
                  "organization_id", oid, "preferred_username", r->who.user.username, "name",
                  r->who.user.name, "nickname", r->who.user.username, "user_type", "STANDARD");
    reply_json(r, 200, o);
}

void h_user_sobject(struct api_req *r)
{
    char id[ID_LEN + 1];
    if (!parse_id_or_reply(r, r->param, ID_USER, id))
        return;
    struct user u;
    enum err e = store_user_get(r->api->store, id, r->a, &u);
    if (e == ERR_NOT_FOUND) {
        reply_error(r, ERR_NOT_FOUND, "no user has this id");
        return;
    }
    if (e) {
        reply_error(r, ERR_UNAVAILABLE, "the database is unavailable; try again");
        return;
    }
    char id18[ID_LEN18 + 1];
    id_to18(u.id, id18);
    json_t *o = json_pack("{s:{s:s, s:s}, s:s, s:s, s:s}", "attributes", "type", "User", "url",
                          arena_printf(r->a, "%s/sobjects/User/%s", r->pc.api_root, id18), "Id",
                          id18, "Username", u.username, "Name", u.name);
    reply_json(r, 200, o);
}

void h_healthz(struct api_req *r)
{
    reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void h_readyz(struct api_req *r)
{
    if (store_ping(r->api->store))
        reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
    else
        reply_error(r, ERR_UNAVAILABLE, "the database does not answer");
}

/* Prometheus text (no token, SPEC 11.1). */
void h_metrics(struct api_req *r)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "# HELP actionlinks_up Whether the server is serving.\n"
                 "# TYPE actionlinks_up gauge\nactionlinks_up 1\n");
    if (r->api->dispatch)
        dispatch_metrics(r->api->dispatch, &b);
    free(r->resp->body);
    r->resp->status = 200;
    r->resp->body_len = b.len;
    r->resp->body = buf_steal(&b);
    r->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
