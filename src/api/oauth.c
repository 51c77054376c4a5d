/* OAuth 2.0 for Salesforce clients (SPEC 3, issue 5): POST /services/oauth2/token with the
 * password and refresh_token grants, form-encoded, and /services/oauth2/revoke. Errors are
 * {"error","error_description"} objects, as those clients expect. A failed login says
 * only "authentication failure", and failures lock the username and the client address
 * for a while (auth/throttle.h). */
#include "api/internal.h"

#include "auth/digest.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "core/clock.h"
#include "core/rand.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

enum { REFRESH_RANDOM_LEN = 64 };

static void oauth_error(struct api_req *r, int status, const char *error, const char *desc)
{
    reply_json(r, status, json_pack("{s:s, s:s}", "error", error, "error_description", desc));
}

/* Checks the client: its app, and its secret unless it is a public client. */
static bool client_ok(struct api_req *r, const char *client_id, const char *secret,
                      struct app *app)
{
    const char *secret_hash = NULL;
    bool public_client = false;
    enum err e = client_id ? store_app_by_client_id(r->api->store, client_id, r->a, app,
                                                    &secret_hash, &public_client)
                           : ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND) {
        oauth_error(r, 400, "invalid_client_id", "client identifier invalid");
        return false;
    }
    if (e) {
        oauth_error(r, 503, "server_error", "the database is unavailable");
        return false;
    }
    if (public_client)
        return true;
    char got[TOKEN_HASH_LEN + 1];
    if (secret)
        token_hash(secret, got);
    if (!secret || !secret_hash || strlen(secret_hash) != TOKEN_HASH_LEN ||
        CRYPTO_memcmp(got, secret_hash, TOKEN_HASH_LEN) != 0) {
        oauth_error(r, 400, "invalid_client", "invalid client credentials");
        return false;
    }
    return true;
}

/* Base64 of HMAC-SHA256(key, id + issued_at), as Salesforce signs its token answers. */
static const char *signature(struct api_req *r, const char *key, const char *id,
                             const char *issued_at)
{
    unsigned char md[DIGEST_LEN];
    unsigned int md_len = DIGEST_LEN;
    const char *msg = arena_printf(r->a, "%s%s", id, issued_at);
    digest_hmac_sha256(key, strlen(key), msg, strlen(msg), md);
    char *out = arena_alloc(r->a, 64);
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
    return out;
}

/* Issues an access token (with refresh_hash) and answers in the token endpoint's shape;
 * refresh is the new refresh token to hand out, or NULL. */
static void answer_tokens(struct api_req *r, const char *user_id, const char *app_id,
                          const char *refresh, const char *refresh_hash, const char *secret)
{
    char token[TOKEN_LEN + 1];
    int64_t expires;
    if (token_issue(r->api->store, user_id, app_id, r->api->cfg.token_ttl_s, refresh_hash, token,
                    &expires)) {
        oauth_error(r, 503, "server_error", "the database is unavailable");
        return;
    }
    char uid[ID_LEN18 + 1], oid[ID_LEN18 + 1];
    id_to18(user_id, uid);
    id_to18(store_org_id(r->api->store), oid);
    const char *base = public_base_url(r);
    const char *id = arena_printf(r->a, "%s/id/%s/%s", base, oid, uid);
    const char *issued_at = arena_printf(r->a, "%lld", (long long)clock_now_ms());
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "access_token", token,
                          "instance_url", base, "id", id, "token_type", "Bearer", "issued_at",
                          issued_at, "scope", "api refresh_token", "signature",
                          signature(r, secret ? secret : store_signing_key(r->api->store), id,
                                    issued_at));
    if (refresh)
        json_object_set_new(o, "refresh_token", json_string(refresh));
    OPENSSL_cleanse(token, sizeof(token));
    reply_json(r, 200, o);
}

static void password_grant(struct api_req *r, const struct form_field *f, size_t n)
{
    const char *client_id = form_get(r, f, n, "client_id");
    const char *secret = form_get(r, f, n, "client_secret");
    const char *username = form_get(r, f, n, "username");
    const char *password = form_get(r, f, n, "password");
    struct app app;
    if (!client_ok(r, client_id, secret, &app))
        return;
    if (!username || !password || strlen(username) > 256 || strlen(password) > PASSWORD_MAX) {
        oauth_error(r, 400, "invalid_grant", "authentication failure");
        return;
    }
    struct throttle *t = r->api->throttle;
    const char *user_key = arena_printf(r->a, "user:%s", username);
    const char *addr_key = arena_printf(r->a, "addr:%s", http_client_addr(r->http));
    int64_t now = clock_now_ms(), wait_user, wait_addr;
    bool allowed = throttle_allowed(t, user_key, now, &wait_user) &
                   throttle_allowed(t, addr_key, now, &wait_addr);
    struct user u;
    bool ok = allowed && store_user_by_name(r->api->store, username, r->a, &u) == ERR_OK &&
              u.password_hash && password_verify(password, u.password_hash);
    if (!ok) {
        if (allowed) {
            throttle_failure(t, user_key, now, THROTTLE_FREE_PER_USER);
            throttle_failure(t, addr_key, now, THROTTLE_FREE_PER_ADDRESS);
        }
        int64_t wait = wait_user > wait_addr ? wait_user : wait_addr;
        if (wait)
            http_add_header(r->resp, "Retry-After",
                            arena_printf(r->a, "%lld", (long long)(wait + 999) / 1000));
        oauth_error(r, 400, "invalid_grant", "authentication failure");
        return;
    }
    throttle_success(t, user_key); /* the address keeps its count: one success among many
                                      guesses must not reset it */

    char refresh[ID_LEN18 + 1 + REFRESH_RANDOM_LEN + 1], hash[TOKEN_HASH_LEN + 1];
    id_to18(store_org_id(r->api->store), refresh);
    refresh[ID_LEN18] = '!';
    if (!rand_base62(refresh + ID_LEN18 + 1, REFRESH_RANDOM_LEN)) {
        oauth_error(r, 500, "server_error", "no randomness");
        return;
    }
    token_hash(refresh, hash);
    if (store_refresh_add(r->api->store, hash, u.id, app.id)) {
        oauth_error(r, 503, "server_error", "the database is unavailable");
        return;
    }
    answer_tokens(r, u.id, app.id, refresh, hash, secret);
    OPENSSL_cleanse(refresh, sizeof(refresh));
}

static void refresh_grant(struct api_req *r, const struct form_field *f, size_t n)
{
    const char *client_id = form_get(r, f, n, "client_id");
    const char *secret = form_get(r, f, n, "client_secret");
    const char *refresh = form_get(r, f, n, "refresh_token");
    struct app app;
    if (!client_ok(r, client_id, secret, &app))
        return;
    char hash[TOKEN_HASH_LEN + 1], user_id[ID_LEN + 1], app_id[ID_LEN + 1];
    if (!refresh || strlen(refresh) > 256) {
        oauth_error(r, 400, "invalid_grant", "expired access/refresh token");
        return;
    }
    token_hash(refresh, hash);
    enum err e = store_refresh_get(r->api->store, hash, user_id, app_id);
    if (e == ERR_OK && strcmp(app_id, app.id) != 0)
        e = ERR_SESSION; /* another app's refresh token */
    if (e) {
        if (e == ERR_SESSION)
            oauth_error(r, 400, "invalid_grant", "expired access/refresh token");
        else
            oauth_error(r, 503, "server_error", "the database is unavailable");
        return;
    }
    answer_tokens(r, user_id, app_id, NULL, hash, secret);
}

void h_oauth_token(struct api_req *r)
{
    struct form_field f[API_MAX_FORM_FIELDS];
    size_t n = 0;
    if (!read_form(r, f, &n)) {
        oauth_error(r, 400, "invalid_request", "the body must be form-encoded fields");
        return;
    }
    const char *grant = form_get(r, f, n, "grant_type");
    if (grant && strcmp(grant, "password") == 0)
        password_grant(r, f, n);
    else if (grant && strcmp(grant, "refresh_token") == 0)
        refresh_grant(r, f, n);
    else
        oauth_error(r, 400, "unsupported_grant_type", "grant type not supported");
}

void h_oauth_revoke(struct api_req *r)
{
    struct form_field f[API_MAX_FORM_FIELDS];
    size_t n = 0;
    if (!read_form(r, f, &n)) {
        oauth_error(r, 400, "invalid_request", "the body must be form-encoded fields");
        return;
    }
    const char *token = form_get(r, f, n, "token");
    if (!token || !*token || strlen(token) > 256) {
        oauth_error(r, 400, "invalid_request", "the token parameter is required");
        return;
    }
    char hash[TOKEN_HASH_LEN + 1];
    token_hash(token, hash);
    enum err e = store_token_revoke(r->api->store, hash);
    if (e == ERR_NOT_FOUND)
        oauth_error(r, 400, "invalid_token", "invalid token");
    else if (e)
        oauth_error(r, 503, "server_error", "the database is unavailable");
    else {
        reply_no_content(r);
        r->resp->status = 200;
    }
}
