/* Unit tests for domain/validate: every rule of SPEC 4.1 and 5 for an Action Link Group
 * Definition Input, each as a case that checks the returned error and that the message
 * starts with the field it names ("actionLinks[1].method: ..."); then validate_bool,
 * validate_header_name and validate_json_depth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "domain/validate.h"

static const int64_t NOW = 1767225600000;    /* 2026-01-01T00:00:00.000Z */
static const int64_t JUNE_1 = 1780272000000; /* 2026-06-01T00:00:00.000Z */
static const int64_t DAY_MS = 86400000;

/* Per-test state, reset by setup/teardown. */
static struct arena arena;
static struct group G;
static struct validate_error E;
static json_t *body;
static bool allow_http;

static int setup(void **state)
{
    (void)state;
    arena_init(&arena);
    memset(&G, 0, sizeof(G));
    memset(&E, 0, sizeof(E));
    body = NULL;
    allow_http = false;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(body);
    body = NULL;
    arena_cleanup(&arena);
    return 0;
}

static const char *type_name(enum action_type t)
{
    static const char *const names[] = {"Api", "ApiAsync", "Download", "Ui"};
    return names[t];
}

static json_t *valid_link(enum action_type t)
{
    bool api = t == ACTION_API || t == ACTION_API_ASYNC;
    return json_pack("{s:s, s:s, s:s, s:s, s:b}", "actionType", type_name(t), "actionUrl",
                     "https://api.example.com/v1/items", "method", api ? "HttpPost" : "HttpGet",
                     "labelKey", "Add", "requiresConfirmation", 0);
}

/* Replaces the body with a valid one: n links of type t. */
static void fresh(const char *category, const char *policy, size_t n, enum action_type t)
{
    json_decref(body);
    json_t *links = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(links, valid_link(t));
    body = json_pack("{s:s, s:s, s:s, s:o}", "category", category, "executionsAllowed", policy,
                     "expirationDate", "2026-06-01T00:00:00.000Z", "actionLinks", links);
    assert_non_null(body);
}

static void fresh1(enum action_type t)
{
    fresh("Primary", "Once", 1, t);
}

static json_t *link_at(size_t i)
{
    json_t *l = json_array_get(json_object_get(body, "actionLinks"), i);
    assert_non_null(l);
    return l;
}

static void set_top(const char *key, json_t *v)
{
    json_object_set_new(body, key, v);
}

static void set_link(size_t i, const char *key, json_t *v)
{
    json_object_set_new(link_at(i), key, v);
}

static void del_link(size_t i, const char *key)
{
    json_object_del(link_at(i), key);
}

static enum err run(void)
{
    struct validate_opts o = {.now_ms = NOW, .allow_http = allow_http};
    memset(&G, 0, sizeof(G));
    memset(E.msg, 0, sizeof(E.msg));
    return validate_group_input(body, &o, &arena, &G, &E);
}

/* Validation refuses with code; the message is "<field>: ..." and contains rule. */
static void check_fail_at(enum err code, const char *field, const char *rule, int line)
{
    enum err r = run();
    if (r != code)
        fail_msg("line %d: want %s for %s, got %s (\"%s\")", line, err_code(code), field,
                 err_code(r), E.msg);
    size_t n = strlen(field);
    if (strncmp(E.msg, field, n) != 0 || E.msg[n] != ':' || E.msg[n + 1] != ' ')
        fail_msg("line %d: message \"%s\" does not start with \"%s: \"", line, E.msg, field);
    if (rule && !strstr(E.msg + n, rule))
        fail_msg("line %d: message \"%s\" does not say \"%s\"", line, E.msg, rule);
}
#define check_fail(code, field, rule) check_fail_at(code, field, rule, __LINE__)

static void check_ok_at(int line)
{
    enum err r = run();
    if (r != ERR_OK)
        fail_msg("line %d: want OK, got %s (\"%s\")", line, err_code(r), E.msg);
}
#define check_ok() check_ok_at(__LINE__)

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- the body ---- */

static void test_valid_minimal(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    check_ok();
    assert_int_equal(G.category, CATEGORY_PRIMARY);
    assert_int_equal(G.policy, POLICY_ONCE);
    assert_int_equal(G.expiration_ms, JUNE_1);
    assert_int_equal(G.n_links, 1);
    assert_int_equal(G.links[0].type, ACTION_API);
    assert_int_equal(G.links[0].method, METHOD_POST);
    assert_string_equal(G.links[0].action_url, "https://api.example.com/v1/items");
    assert_string_equal(G.links[0].label_key, "Add");
    assert_false(G.links[0].requires_confirmation);
    assert_false(G.links[0].group_default);
    assert_int_equal(G.links[0].n_headers, 0);
    assert_null(G.links[0].request_body);
    assert_string_equal(G.links[0].user_id, "");
    assert_string_equal(G.links[0].excluded_user_id, "");
}

static void test_valid_full(void **state)
{
    (void)state;
    fresh("Overflow", "OncePerUser", 4, ACTION_API);
    set_link(0, "actionType", json_string("ApiAsync"));
    set_link(0, "method", json_string("HttpPut"));
    set_link(0, "labelKey", json_string("Add to Calendar"));
    set_link(0, "requiresConfirmation", json_string("true"));
    set_link(0, "groupDefault", json_true());
    set_link(0, "headers",
             json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "Authorization", "value",
                       "Bearer {!callbackToken}", "name", "X-Org", "value", "{!orgId}"));
    set_link(0, "requestBody", json_string("{\"user\": \"{!userId}\"}\n"));
    set_link(0, "userId", json_string("005aB3cD9eF1gH2QEJ"));
    set_link(1, "actionType", json_string("Download"));
    set_link(1, "method", json_string("HttpGet"));
    set_link(1, "actionUrl", json_string("https://files.example.com/f?u={!userId}"));
    set_link(1, "excludedUserId", json_string("005ab3cd9ef1gh2qej"));
    set_link(1, "headers", json_array());
    set_link(1, "requestBody", json_null());
    set_link(2, "actionType", json_string("Ui"));
    set_link(2, "method", json_string("HttpGet"));
    set_link(2, "groupDefault", json_string("false"));
    set_link(3, "actionUrl", json_string("/services/data/v60.0/chatter/users/me"));
    set_link(3, "method", json_string("HttpGet"));
    set_link(3, "requiresConfirmation", json_true());
    set_top("someUnknownField", json_integer(1));
    set_link(2, "anotherUnknownField", json_pack("{s:[]}", "x"));
    check_ok();
    assert_int_equal(G.category, CATEGORY_OVERFLOW);
    assert_int_equal(G.policy, POLICY_ONCE_PER_USER);
    assert_int_equal(G.n_links, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(G.links[i].position, i);
    const struct link *k = &G.links[0];
    assert_int_equal(k->type, ACTION_API_ASYNC);
    assert_int_equal(k->method, METHOD_PUT);
    assert_string_equal(k->label_key, "Add to Calendar");
    assert_true(k->requires_confirmation);
    assert_true(k->group_default);
    assert_int_equal(k->n_headers, 2);
    assert_string_equal(k->headers[0].name, "Authorization");
    assert_string_equal(k->headers[0].value, "Bearer {!callbackToken}");
    assert_string_equal(k->headers[1].name, "X-Org");
    assert_string_equal(k->headers[1].value, "{!orgId}");
    assert_string_equal(k->request_body, "{\"user\": \"{!userId}\"}\n");
    assert_string_equal(k->user_id, "005aB3cD9eF1gH2");
    assert_string_equal(k->excluded_user_id, "");
    k = &G.links[1];
    assert_int_equal(k->type, ACTION_DOWNLOAD);
    assert_int_equal(k->method, METHOD_GET);
    assert_string_equal(k->action_url, "https://files.example.com/f?u={!userId}");
    assert_string_equal(k->excluded_user_id, "005aB3cD9eF1gH2"); /* case restored */
    assert_int_equal(k->n_headers, 0);
    assert_null(k->request_body);
    assert_false(k->group_default);
    k = &G.links[2];
    assert_int_equal(k->type, ACTION_UI);
    assert_false(k->group_default);
    k = &G.links[3];
    assert_int_equal(k->type, ACTION_API);
    assert_int_equal(k->method, METHOD_GET);
    assert_string_equal(k->action_url, "/services/data/v60.0/chatter/users/me");
    assert_true(k->requires_confirmation);
}

static void test_body_not_object(void **state)
{
    (void)state;
    body = json_array();
    check_fail(ERR_INPUT, "body", "object");
    json_decref(body);
    body = json_string("x");
    check_fail(ERR_INPUT, "body", "object");
}

/* ---- category, executionsAllowed ---- */

static void test_category(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_object_del(body, "category");
    check_fail(ERR_INPUT, "category", "is required");
    set_top("category", json_null());
    check_fail(ERR_INPUT, "category", "is required");
    static const char *const bad[] = {"Secondary", "primary", "PRIMARY", "", "Primary "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_top("category", json_string(bad[i]));
        check_fail(ERR_INPUT, "category", "must be one of Primary, Overflow");
    }
    set_top("category", json_integer(0));
    check_fail(ERR_INPUT, "category", "must be one of");
    set_top("category", json_true());
    check_fail(ERR_INPUT, "category", "must be one of");
    set_top("category", json_string("Overflow"));
    check_ok();
    assert_int_equal(G.category, CATEGORY_OVERFLOW);
}

static void test_executions_allowed(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_object_del(body, "executionsAllowed");
    check_fail(ERR_INPUT, "executionsAllowed", "is required");
    set_top("executionsAllowed", json_null());
    check_fail(ERR_INPUT, "executionsAllowed", "is required");
    static const char *const bad[] = {"once", "Twice", "OncePerUSER", "Unlimited!", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_top("executionsAllowed", json_string(bad[i]));
        check_fail(ERR_INPUT, "executionsAllowed", "must be one of Once, OncePerUser, Unlimited");
    }
    set_top("executionsAllowed", json_integer(1));
    check_fail(ERR_INPUT, "executionsAllowed", "must be one of");
    set_top("executionsAllowed", json_string("OncePerUser"));
    check_ok();
    assert_int_equal(G.policy, POLICY_ONCE_PER_USER);
}

static void test_unlimited_refuses_api_links(void **state)
{
    (void)state;
    fresh("Primary", "Unlimited", 1, ACTION_API);
    check_fail(ERR_INPUT, "executionsAllowed", "Api");
    fresh("Primary", "Unlimited", 1, ACTION_API_ASYNC);
    check_fail(ERR_INPUT, "executionsAllowed", "ApiAsync");
    /* the offending link is named too */
    fresh("Overflow", "Unlimited", 3, ACTION_UI);
    set_link(1, "actionType", json_string("Download"));
    set_link(2, "actionType", json_string("Api"));
    set_link(2, "method", json_string("HttpPost"));
    check_fail(ERR_INPUT, "executionsAllowed", "actionLinks[2]");
    /* Download and Ui are fine */
    fresh("Overflow", "Unlimited", 4, ACTION_UI);
    set_link(1, "actionType", json_string("Download"));
    check_ok();
    assert_int_equal(G.policy, POLICY_UNLIMITED);
}

/* ---- expirationDate ---- */

static void test_expiration_required_and_format(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_object_del(body, "expirationDate");
    check_fail(ERR_INPUT, "expirationDate", "is required");
    set_top("expirationDate", json_null());
    check_fail(ERR_INPUT, "expirationDate", "is required");
    set_top("expirationDate", json_integer(1780272000000));
    check_fail(ERR_INPUT, "expirationDate", "ISO 8601");
    static const char *const bad[] = {"tomorrow",
                                      "2026-06-01",
                                      "2026-02-29T00:00:00Z",
                                      "2026-06-01T00:00:00",
                                      "2026-06-01T25:00:00Z",
                                      ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_top("expirationDate", json_string(bad[i]));
        check_fail(ERR_INPUT, "expirationDate", "ISO 8601");
    }
    /* the accepted input forms of SPEC 2 */
    static const char *const ok[] = {"2026-06-01T00:00:00.000Z", "2026-06-01T00:00:00Z",
                                     "2026-06-01T00:00:00+0000", "2026-06-01T00:00:00.000+00:00"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set_top("expirationDate", json_string(ok[i]));
        check_ok();
        assert_int_equal(G.expiration_ms, JUNE_1);
    }
    set_top("expirationDate", json_string("2026-06-01T00:00:00+05:30"));
    check_ok();
    assert_int_equal(G.expiration_ms, JUNE_1 - 330 * 60000);
}

static void test_expiration_window(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_top("expirationDate", json_string("2025-12-31T23:59:59.999Z"));
    check_fail(ERR_INPUT, "expirationDate", "in the future");
    set_top("expirationDate", json_string("2026-01-01T00:00:00.000Z")); /* exactly now */
    check_fail(ERR_INPUT, "expirationDate", "in the future");
    set_top("expirationDate", json_string("2020-01-01T00:00:00Z"));
    check_fail(ERR_INPUT, "expirationDate", "in the future");
    set_top("expirationDate", json_string("2026-01-01T00:00:00.001Z"));
    check_ok();
    assert_int_equal(G.expiration_ms, NOW + 1);
    /* SPEC 11.10: at most 365 days after creation (2026 is not a leap year) */
    set_top("expirationDate", json_string("2027-01-01T00:00:00.000Z"));
    check_ok();
    assert_int_equal(G.expiration_ms, NOW + 365 * DAY_MS);
    set_top("expirationDate", json_string("2027-01-01T00:00:00.001Z"));
    check_fail(ERR_INPUT, "expirationDate", "365 days");
    set_top("expirationDate", json_string("2030-01-01T00:00:00Z"));
    check_fail(ERR_INPUT, "expirationDate", "365 days");
}

/* ---- actionLinks ---- */

static void test_action_links_array(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_object_del(body, "actionLinks");
    check_fail(ERR_INPUT, "actionLinks", "is required");
    set_top("actionLinks", json_null());
    check_fail(ERR_INPUT, "actionLinks", "is required");
    set_top("actionLinks", json_object());
    check_fail(ERR_INPUT, "actionLinks", "must be an array");
    set_top("actionLinks", json_string("[]"));
    check_fail(ERR_INPUT, "actionLinks", "must be an array");
    set_top("actionLinks", json_array());
    check_fail(ERR_INPUT, "actionLinks", "1 to 3");
}

static void test_action_links_count(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 3; n++) {
        fresh("Primary", "Once", n, ACTION_API);
        check_ok();
        assert_int_equal(G.n_links, n);
    }
    fresh("Primary", "Once", 4, ACTION_API);
    check_fail(ERR_INPUT, "actionLinks", "1 to 3");
    fresh("Primary", "Once", 0, ACTION_API);
    check_fail(ERR_INPUT, "actionLinks", "1 to 3");
    for (size_t n = 1; n <= 4; n++) {
        fresh("Overflow", "Once", n, ACTION_API);
        check_ok();
        assert_int_equal(G.n_links, n);
    }
    fresh("Overflow", "Once", 5, ACTION_API);
    check_fail(ERR_INPUT, "actionLinks", "1 to 4");
    fresh("Overflow", "Once", 0, ACTION_API);
    check_fail(ERR_INPUT, "actionLinks", "1 to 4");
    fresh("Overflow", "Once", 40, ACTION_API);
    check_fail(ERR_INPUT, "actionLinks", "1 to 4");
}

static void test_link_not_object(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_array_set_new(json_object_get(body, "actionLinks"), 0, json_integer(1));
    check_fail(ERR_INPUT, "actionLinks[0]", "must be an object");
    fresh("Primary", "Once", 2, ACTION_API);
    json_array_set_new(json_object_get(body, "actionLinks"), 1, json_string("link"));
    check_fail(ERR_INPUT, "actionLinks[1]", "must be an object");
    fresh("Primary", "Once", 3, ACTION_API);
    json_array_set_new(json_object_get(body, "actionLinks"), 2, json_array());
    check_fail(ERR_INPUT, "actionLinks[2]", "must be an object");
}

/* ---- actionType ---- */

static void test_action_type(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    del_link(0, "actionType");
    check_fail(ERR_INPUT, "actionLinks[0].actionType", "is required");
    set_link(0, "actionType", json_null());
    check_fail(ERR_INPUT, "actionLinks[0].actionType", "is required");
    static const char *const bad[] = {"api", "API", "Link", "Post", "", "Api "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "actionType", json_string(bad[i]));
        check_fail(ERR_INPUT, "actionLinks[0].actionType",
                   "must be one of Api, ApiAsync, "
                   "Download, Ui");
    }
    set_link(0, "actionType", json_integer(0));
    check_fail(ERR_INPUT, "actionLinks[0].actionType", "must be one of");
    for (int t = 0; t < ACTION_TYPE__COUNT; t++) {
        fresh1((enum action_type)t);
        check_ok();
        assert_int_equal(G.links[0].type, t);
    }
}

/* ---- actionUrl ---- */

static void test_action_url_presence(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    del_link(0, "actionUrl");
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "is required");
    set_link(0, "actionUrl", json_null());
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "is required");
    set_link(0, "actionUrl", json_string(""));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", NULL);
    set_link(0, "actionUrl", json_integer(5));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "must be a string");
    set_link(0, "actionUrl", json_pack("{}"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "must be a string");
}

static void test_action_url_length(void **state)
{
    (void)state;
    const char *prefix = "https://api.example.com/";
    size_t plen = strlen(prefix);
    char *url = repeat('a', VALIDATE_MAX_URL + 1);
    memcpy(url, prefix, plen);
    fresh1(ACTION_API);
    set_link(0, "actionUrl", json_string(url)); /* 4097 bytes */
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "4096");
    url[VALIDATE_MAX_URL] = '\0'; /* exactly 4096 bytes */
    set_link(0, "actionUrl", json_string(url));
    check_ok();
    assert_int_equal(strlen(G.links[0].action_url), 4096);
    free(url);
}

static void test_action_url_schemes(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "https://api.example.com/v1/items", "https://api.example.com",
        "HTTPS://API.EXAMPLE.COM/x",        "https://api.example.com:8443/x?a=1&b=2#frag",
        "https://198.51.100.7/x",           "/services/data/v60.0/chatter/feed-elements",
        "/services/apexrest/thing",
    };
    fresh1(ACTION_API);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set_link(0, "actionUrl", json_string(ok[i]));
        check_ok();
        assert_string_equal(G.links[0].action_url, ok[i]);
    }
    static const char *const bad[] = {
        "ftp://example.com/x",  "//example.com/x",  "services/data/v60.0/x",
        "/other/path",          "/Services/data/x", "javascript:alert(1)",
        "mailto:a@example.com", "example.com/x",    "https:/example.com",
        "file:///etc/passwd",   "/services",        "data:text/plain,hi",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "actionUrl", json_string(bad[i]));
        check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "https");
    }
}

static void test_action_url_http_needs_flag(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_link(0, "actionUrl", json_string("http://api.example.com/x"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "--allow-http-callouts");
    set_link(0, "actionUrl", json_string("HTTP://api.example.com/x"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "--allow-http-callouts");
    allow_http = true;
    set_link(0, "actionUrl", json_string("http://api.example.com/x"));
    check_ok();
    set_link(0, "actionUrl", json_string("http://"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "host");
}

static void test_action_url_host_and_chars(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    static const char *const no_host[] = {"https://", "https:///x", "https://?q=1", "https://#f"};
    for (size_t i = 0; i < sizeof(no_host) / sizeof(no_host[0]); i++) {
        set_link(0, "actionUrl", json_string(no_host[i]));
        check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "host");
    }
    static const char *const bad_chars[] = {
        "https://api.example.com/a b",  " https://api.example.com/",
        "https://api.example.com/\t",   "https://api.example.com/\r\nX: y",
        "https://api.example.com/\x7f", "/services/data/v60.0/a b",
    };
    for (size_t i = 0; i < sizeof(bad_chars) / sizeof(bad_chars[0]); i++) {
        set_link(0, "actionUrl", json_string(bad_chars[i]));
        check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "control characters");
    }
}

static void test_action_url_empty_host(void **state)
{
    (void)state;
    /* SPEC 4.1: an absolute https:// URL names a host; a port or user info alone does not */
    fresh1(ACTION_API);
    static const char *const no_host[] = {"https://:8443/x", "https://user@/x", "https://@",
                                          "https://:443"};
    for (size_t i = 0; i < sizeof(no_host) / sizeof(no_host[0]); i++) {
        set_link(0, "actionUrl", json_string(no_host[i]));
        check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "host");
    }
}

static void test_action_url_context_variables(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_link(0, "actionUrl",
             json_string("https://api.example.com/{!actionLinkId}/{!actionLinkGroupId}?c="
                         "{!communityId}&u={!communityUrl}&o={!orgId}&me={!userId}&t="
                         "{!callbackToken}&cb={!callbackUrl}"));
    check_ok();
    set_link(0, "actionUrl", json_string("https://api.example.com/{!nope}"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "unknown context variable {!nope}");
    set_link(0, "actionUrl", json_string("/services/data/v60.0/{!UserId}"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "{!UserId}");
    set_link(0, "actionUrl", json_string("https://api.example.com/{!Bindings.key}"));
    check_fail(ERR_INPUT, "actionLinks[0].actionUrl", "{!Bindings.key}");
    /* not a placeholder: literal text */
    set_link(0, "actionUrl", json_string("https://api.example.com/{!}"));
    check_ok();
}

/* ---- method ---- */

static void test_method(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    del_link(0, "method");
    check_fail(ERR_INPUT, "actionLinks[0].method", "is required");
    set_link(0, "method", json_null());
    check_fail(ERR_INPUT, "actionLinks[0].method", "is required");
    static const char *const bad[] = {"POST", "httpPost", "HttpOptions", "HttpTrace", "Get", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "method", json_string(bad[i]));
        check_fail(ERR_INPUT, "actionLinks[0].method",
                   "HttpDelete, HttpGet, HttpHead, HttpPatch, HttpPost, HttpPut");
    }
    set_link(0, "method", json_integer(1));
    check_fail(ERR_INPUT, "actionLinks[0].method", "must be one of");
}

static void test_method_per_type(void **state)
{
    (void)state;
    static const char *const methods[] = {"HttpDelete", "HttpGet",  "HttpHead",
                                          "HttpPatch",  "HttpPost", "HttpPut"};
    for (int t = 0; t < ACTION_TYPE__COUNT; t++)
        for (int m = 0; m < METHOD__COUNT; m++) {
            fresh1((enum action_type)t);
            set_link(0, "method", json_string(methods[m]));
            if (t == ACTION_API || t == ACTION_API_ASYNC || m == METHOD_GET) {
                check_ok();
                assert_int_equal(G.links[0].method, m);
            } else {
                char rule[64];
                snprintf(rule, sizeof(rule), "%s links must use HttpGet",
                         type_name((enum action_type)t));
                check_fail(ERR_INPUT, "actionLinks[0].method", rule);
            }
        }
}

static void test_message_names_link_index(void **state)
{
    (void)state;
    /* the example of SPEC 5, word for word */
    fresh("Primary", "Once", 2, ACTION_API);
    set_link(1, "actionType", json_string("Ui"));
    set_link(1, "method", json_string("HttpPost"));
    assert_int_equal(run(), ERR_INPUT);
    assert_string_equal(E.msg, "actionLinks[1].method: Ui links must use HttpGet");
    /* errors in later links name their index */
    fresh("Overflow", "Once", 4, ACTION_API);
    set_link(3, "labelKey", json_string("Nope"));
    check_fail(ERR_INPUT, "actionLinks[3].labelKey", NULL);
    fresh("Overflow", "Once", 4, ACTION_API);
    del_link(2, "requiresConfirmation");
    check_fail(ERR_INPUT, "actionLinks[2].requiresConfirmation", "is required");
}

/* ---- labelKey ---- */

static void test_label_key(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    del_link(0, "labelKey");
    check_fail(ERR_INPUT, "actionLinks[0].labelKey", "is required");
    set_link(0, "labelKey", json_null());
    check_fail(ERR_INPUT, "actionLinks[0].labelKey", "is required");
    set_link(0, "labelKey", json_integer(7));
    check_fail(ERR_INPUT, "actionLinks[0].labelKey", "must be a string");
    set_link(0, "labelKey", json_string("None"));
    check_fail(ERR_INPUT, "actionLinks[0].labelKey", "template Label");
    static const char *const bad[] = {"Bogus", "add", "ADD", "Add ", " Add", "Add to", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "labelKey", json_string(bad[i]));
        check_fail(ERR_INPUT, "actionLinks[0].labelKey", "predefined label key");
    }
    static const char *const ok[] = {"Add", "Add to Calendar", "Add to Cart", "OK",
                                     "Yes", "Accept",          "Log a Call"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set_link(0, "labelKey", json_string(ok[i]));
        check_ok();
        assert_string_equal(G.links[0].label_key, ok[i]);
    }
}

/* ---- requiresConfirmation, groupDefault ---- */

static void test_requires_confirmation(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    del_link(0, "requiresConfirmation");
    check_fail(ERR_INPUT, "actionLinks[0].requiresConfirmation", "is required");
    set_link(0, "requiresConfirmation", json_null());
    check_fail(ERR_INPUT, "actionLinks[0].requiresConfirmation", "is required");
    json_t *bad[] = {json_string("yes"), json_string("True"), json_string("1"),
                     json_string(""),    json_integer(1),     json_integer(0),
                     json_array(),       json_object(),       json_real(1.0)};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "requiresConfirmation", bad[i]);
        check_fail(ERR_INPUT, "actionLinks[0].requiresConfirmation", "must be a boolean");
    }
    set_link(0, "requiresConfirmation", json_true());
    check_ok();
    assert_true(G.links[0].requires_confirmation);
    set_link(0, "requiresConfirmation", json_string("true"));
    check_ok();
    assert_true(G.links[0].requires_confirmation);
    set_link(0, "requiresConfirmation", json_string("false"));
    check_ok();
    assert_false(G.links[0].requires_confirmation);
    set_link(0, "requiresConfirmation", json_false());
    check_ok();
    assert_false(G.links[0].requires_confirmation);
}

static void test_group_default(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_link(0, "groupDefault", json_string("maybe"));
    check_fail(ERR_INPUT, "actionLinks[0].groupDefault", "must be a boolean");
    set_link(0, "groupDefault", json_integer(0));
    check_fail(ERR_INPUT, "actionLinks[0].groupDefault", "must be a boolean");
    set_link(0, "groupDefault", json_null()); /* absent */
    check_ok();
    assert_false(G.links[0].group_default);
    set_link(0, "groupDefault", json_string("true"));
    check_ok();
    assert_true(G.links[0].group_default);
}

static void test_group_default_at_most_one(void **state)
{
    (void)state;
    fresh("Primary", "Once", 2, ACTION_API);
    set_link(0, "groupDefault", json_true());
    set_link(1, "groupDefault", json_true());
    check_fail(ERR_INPUT, "actionLinks[1].groupDefault", "at most one");
    fresh("Overflow", "Once", 4, ACTION_API);
    set_link(0, "groupDefault", json_false());
    set_link(1, "groupDefault", json_string("true"));
    set_link(2, "groupDefault", json_false());
    set_link(3, "groupDefault", json_true());
    check_fail(ERR_INPUT, "actionLinks[3].groupDefault", "at most one");
    fresh("Overflow", "Once", 4, ACTION_API);
    set_link(2, "groupDefault", json_true());
    set_link(3, "groupDefault", json_false());
    check_ok();
    assert_false(G.links[0].group_default);
    assert_false(G.links[1].group_default);
    assert_true(G.links[2].group_default);
    assert_false(G.links[3].group_default);
}

/* ---- headers ---- */

static json_t *header(const char *name, const char *value)
{
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

static void test_headers_shape(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_link(0, "headers", json_string("X-A: b"));
    check_fail(ERR_INPUT, "actionLinks[0].headers", "must be an array");
    set_link(0, "headers", json_object());
    check_fail(ERR_INPUT, "actionLinks[0].headers", "must be an array");
    set_link(0, "headers", json_pack("[s]", "X-A: b"));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0]", "name");
    set_link(0, "headers", json_pack("[{s:s}]", "name", "X-A"));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0]", "value");
    set_link(0, "headers", json_pack("[{s:s}]", "value", "b"));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0]", "name");
    set_link(0, "headers", json_pack("[{s:i, s:s}]", "name", 1, "value", "b"));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0]", NULL);
    set_link(0, "headers", json_pack("[{s:s, s:i}]", "name", "X-A", "value", 2));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0]", NULL);
    set_link(
        0, "headers",
        json_pack("[o, o, {s:s, s:n}]", header("A", "1"), header("B", "2"), "name", "C", "value"));
    check_fail(ERR_INPUT, "actionLinks[0].headers[2]", NULL);
    set_link(0, "headers", json_null()); /* absent */
    check_ok();
    assert_int_equal(G.links[0].n_headers, 0);
    set_link(0, "headers", json_array());
    check_ok();
    assert_int_equal(G.links[0].n_headers, 0);
}

static void test_headers_only_for_api(void **state)
{
    (void)state;
    for (int t = ACTION_DOWNLOAD; t <= ACTION_UI; t++) {
        fresh1((enum action_type)t);
        set_link(0, "headers", json_pack("[o]", header("X-A", "b")));
        check_fail(ERR_INPUT, "actionLinks[0].headers", "only Api and ApiAsync");
        set_link(0, "headers", json_array()); /* an empty list says nothing */
        check_ok();
    }
    fresh1(ACTION_API_ASYNC);
    set_link(0, "headers", json_pack("[o]", header("X-A", "b")));
    check_ok();
    assert_int_equal(G.links[0].n_headers, 1);
}

static void test_headers_count(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    json_t *hs = json_array();
    for (int i = 0; i < LINK_MAX_HEADERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "X-H%d", i);
        json_array_append_new(hs, header(name, "v"));
    }
    set_link(0, "headers", hs);
    check_ok();
    assert_int_equal(G.links[0].n_headers, 32);
    assert_string_equal(G.links[0].headers[31].name, "X-H31");
    json_array_append_new(hs, header("X-H32", "v"));
    check_fail(ERR_INPUT, "actionLinks[0].headers", "at most 32");
}

static void test_headers_names(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    static const char *const bad[] = {"",   "X A", "X:A",      "X-A:", "(X)",   "X/A", "X;A", "X=A",
                                      "X@", "X\"", "\xc3\x9c", "X\tA", "X\x7f", "{X}", "X,A"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "headers", json_pack("[o]", header(bad[i], "v")));
        check_fail(ERR_INPUT, "actionLinks[0].headers[0].name", "not a valid header name");
    }
    static const char *const refused[] = {"Host",
                                          "host",
                                          "HOST",
                                          "Content-Length",
                                          "content-length",
                                          "Transfer-Encoding",
                                          "transfer-encoding",
                                          "Connection",
                                          "CONNECTION"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        set_link(0, "headers", json_pack("[o, o]", header("X-Ok", "1"), header(refused[i], "v")));
        check_fail(ERR_INPUT, "actionLinks[0].headers[1].name", "may not be set");
    }
    static const char *const ok[] = {"Authorization", "X-Api-Key",    "x",
                                     "Accept",        "Content-Type", "!#$%&'*+-.^_`|~09azAZ",
                                     "Hosts",         "X-Host",       "Connection-Id"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set_link(0, "headers", json_pack("[o]", header(ok[i], "v")));
        check_ok();
        assert_string_equal(G.links[0].headers[0].name, ok[i]);
    }
}

static void test_headers_values(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    char *v = repeat('v', VALIDATE_MAX_HEADER_VALUE + 1);
    set_link(0, "headers", json_pack("[o]", header("X-Big", v)));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0].value", "8192");
    v[VALIDATE_MAX_HEADER_VALUE] = '\0';
    set_link(0, "headers", json_pack("[o]", header("X-Big", v)));
    check_ok();
    assert_int_equal(strlen(G.links[0].headers[0].value), 8192);
    free(v);

    static const char *const bad[] = {"a\nb", "a\rb",  "a\r\nX-Injected: 1",
                                      "\x01", "a\x1f", "a\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_link(0, "headers", json_pack("[o]", header("X-A", bad[i])));
        check_fail(ERR_INPUT, "actionLinks[0].headers[0].value", "control characters");
    }
    /* a NUL inside the JSON string */
    set_link(0, "headers",
             json_pack("[{s:s, s:o}]", "name", "X-A", "value", json_stringn("a\0b", 3)));
    check_fail(ERR_INPUT, "actionLinks[0].headers[0].value", "control characters");

    static const char *const ok[] = {"", "a\tb", "caf\xc3\xa9", "Bearer {!callbackToken}",
                                     "{!orgId}/{!userId}"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        set_link(0, "headers", json_pack("[o]", header("X-A", ok[i])));
        check_ok();
        assert_string_equal(G.links[0].headers[0].value, ok[i]);
    }
    set_link(0, "headers", json_pack("[o, o]", header("X-A", "1"), header("X-B", "{!secret}")));
    check_fail(ERR_INPUT, "actionLinks[0].headers[1].value", "unknown context variable {!secret}");
}

/* ---- requestBody ---- */

static void test_request_body(void **state)
{
    (void)state;
    fresh1(ACTION_API);
    set_link(0, "requestBody", json_integer(5));
    check_fail(ERR_INPUT, "actionLinks[0].requestBody", "must be a string");
    set_link(0, "requestBody", json_pack("{s:s}", "a", "b"));
    check_fail(ERR_INPUT, "actionLinks[0].requestBody", "must be a string");
    set_link(0, "requestBody", json_stringn("a\0b", 3));
    check_fail(ERR_INPUT, "actionLinks[0].requestBody", "NUL");
    set_link(0, "requestBody", json_string("{\"id\": \"{!whoever}\"}"));
    check_fail(ERR_INPUT, "actionLinks[0].requestBody", "unknown context variable {!whoever}");
    char *b = repeat('b', VALIDATE_MAX_BODY + 1);
    set_link(0, "requestBody", json_string(b));
    check_fail(ERR_INPUT, "actionLinks[0].requestBody", "65536");
    b[VALIDATE_MAX_BODY] = '\0';
    set_link(0, "requestBody", json_string(b));
    check_ok();
    assert_int_equal(strlen(G.links[0].request_body), 65536);
    free(b);
    set_link(0, "requestBody", json_string("line 1\nline 2\t{!userId}\r\n"));
    check_ok();
    assert_string_equal(G.links[0].request_body, "line 1\nline 2\t{!userId}\r\n");
    set_link(0, "requestBody", json_null());
    check_ok();
    assert_null(G.links[0].request_body);
}

static void test_request_body_only_for_api(void **state)
{
    (void)state;
    for (int t = ACTION_DOWNLOAD; t <= ACTION_UI; t++) {
        fresh1((enum action_type)t);
        set_link(0, "requestBody", json_string("x=1"));
        check_fail(ERR_INPUT, "actionLinks[0].requestBody", "only Api and ApiAsync");
        set_link(0, "requestBody", json_null());
        check_ok();
    }
    fresh1(ACTION_API_ASYNC);
    set_link(0, "requestBody", json_string("x=1"));
    check_ok();
    assert_string_equal(G.links[0].request_body, "x=1");
}

/* ---- userId, excludedUserId ---- */

static void test_user_ids(void **state)
{
    (void)state;
    static const char *const fields[] = {"userId", "excludedUserId"};
    for (int f = 0; f < 2; f++) {
        char path[64];
        snprintf(path, sizeof(path), "actionLinks[0].%s", fields[f]);
        fresh1(ACTION_API);
        static const char *const bad[] = {"me",
                                          "",
                                          "005aB3cD9eF1gH",
                                          "005aB3cD9eF1gH2Q",
                                          "0AgABCDEFGHIJKL",
                                          "00D000000000000EAA",
                                          "005aB3cD9eF1gH-",
                                          "005aB3cD9eF1gH2QE9"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            set_link(0, fields[f], json_string(bad[i]));
            check_fail(ERR_ID, path, "user id");
        }
        set_link(0, fields[f], json_integer(5));
        check_fail(ERR_ID, path, "user id");
        set_link(0, fields[f], json_null());
        check_ok();
        static const char *const ok[] = {"005aB3cD9eF1gH2", "005aB3cD9eF1gH2QEJ",
                                         "005AB3CD9EF1GH2QEJ"};
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
            set_link(0, fields[f], json_string(ok[i]));
            check_ok();
            assert_string_equal(f == 0 ? G.links[0].user_id : G.links[0].excluded_user_id,
                                "005aB3cD9eF1gH2");
        }
    }
}

static void test_user_ids_exclusive(void **state)
{
    (void)state;
    fresh1(ACTION_UI);
    set_link(0, "userId", json_string("005aB3cD9eF1gH2"));
    set_link(0, "excludedUserId", json_string("005000000000001"));
    check_fail(ERR_INPUT, "actionLinks[0].excludedUserId", "exclusive");
    set_link(0, "excludedUserId", json_null());
    check_ok();
}

/* ---- validate_bool ---- */

static void test_bool(void **state)
{
    (void)state;
    bool b = false;
    json_t *v = json_true();
    assert_true(validate_bool(v, &b));
    assert_true(b);
    json_decref(v);
    v = json_false();
    assert_true(validate_bool(v, &b));
    assert_false(b);
    json_decref(v);
    v = json_string("true");
    assert_true(validate_bool(v, &b));
    assert_true(b);
    json_decref(v);
    v = json_string("false");
    b = true;
    assert_true(validate_bool(v, &b));
    assert_false(b);
    json_decref(v);

    json_t *bad[] = {json_string("True"),  json_string("FALSE"), json_string("1"),
                     json_string("0"),     json_string(""),      json_string("yes"),
                     json_string("true "), json_integer(1),      json_integer(0),
                     json_real(0.0),       json_null(),          json_array(),
                     json_object()};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = true;
        if (validate_bool(bad[i], &b))
            fail_msg("validate_bool accepted case %zu", i);
        assert_true(b); /* untouched */
        json_decref(bad[i]);
    }
    assert_false(validate_bool(NULL, &b));
}

static void test_bool_embedded_nul(void **state)
{
    (void)state;
    /* "true\u0000" and "false\u0000x" are not the strings "true" and "false" */
    bool b = false;
    json_t *v = json_stringn("true\0", 5);
    bool took_true = validate_bool(v, &b);
    json_decref(v);
    v = json_stringn("false\0x", 7);
    bool took_false = validate_bool(v, &b);
    json_decref(v);
    assert_false(took_true);
    assert_false(took_false);
}

/* ---- validate_header_name ---- */

static bool rfc9110_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void test_header_name_every_byte(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, 0}, three[4] = {'X', (char)c, 'Y', 0};
        if (validate_header_name(one) != rfc9110_tchar(c))
            fail_msg("byte 0x%02x alone: got %d", c, (int)validate_header_name(one));
        if (validate_header_name(three) != rfc9110_tchar(c))
            fail_msg("byte 0x%02x inside: got %d", c, (int)validate_header_name(three));
    }
    assert_false(validate_header_name(""));
    assert_true(validate_header_name("Content-Type"));
    assert_true(validate_header_name("X-Request-ID"));
}

/* ---- validate_json_depth ---- */

static int depth(const char *s, int limit)
{
    return validate_json_depth(s, strlen(s), limit);
}

static void test_json_depth_basic(void **state)
{
    (void)state;
    assert_int_equal(depth("", 64), 0);
    assert_int_equal(depth("123", 64), 0);
    assert_int_equal(depth("\"x\"", 64), 0);
    assert_int_equal(depth("{}", 64), 1);
    assert_int_equal(depth("[]", 64), 1);
    assert_int_equal(depth("[][][]", 64), 1);
    assert_int_equal(depth("[[],[],{}]", 64), 2);
    assert_int_equal(depth("[[[]]]", 64), 3);
    assert_int_equal(depth("{\"a\":[1,{\"b\":2}],\"c\":{}}", 64), 3);
}

static void test_json_depth_strings(void **state)
{
    (void)state;
    /* brackets in strings do not count, escaped quotes do not end them */
    assert_int_equal(depth("\"[[[{{{\"", 64), 0);
    assert_int_equal(depth("[\"]]]]\"]", 64), 1);
    assert_int_equal(depth("[\"\\\"[[[\"]", 64), 1);
    assert_int_equal(depth("[\"\\\\\",[[]]]", 64), 3); /* "\\" ends at the second quote */
    assert_int_equal(depth("{\"k[\":\"{\",\"v\":[\"}\"]}", 64), 2);
    assert_int_equal(depth("[\"\\u005b\"]", 64), 1);
}

static void test_json_depth_limit(void **state)
{
    (void)state;
    enum { DEEP = 1000 };
    char *s = malloc(2 * DEEP + 1);
    assert_non_null(s);
    for (int n = 60; n <= 70; n++) {
        memset(s, '[', (size_t)n);
        memset(s + n, ']', (size_t)n);
        s[2 * n] = '\0';
        int want = n <= 64 ? n : 65; /* counting stops at limit + 1 */
        assert_int_equal(depth(s, 64), want);
    }
    memset(s, '[', DEEP);
    memset(s + DEEP, ']', DEEP);
    s[2 * DEEP] = '\0';
    assert_int_equal(depth(s, 64), 65);
    assert_int_equal(depth(s, 2000), DEEP);
    /* only len bytes are read */
    assert_int_equal(validate_json_depth(s, 10, 64), 10);
    assert_int_equal(validate_json_depth(s, 0, 64), 0);
    /* objects and arrays mixed */
    for (int i = 0; i < DEEP; i++)
        s[i] = i % 2 ? '[' : '{';
    s[DEEP] = '\0';
    assert_int_equal(depth(s, 64), 65);
    free(s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_valid_minimal),
        T(test_valid_full),
        T(test_body_not_object),
        T(test_category),
        T(test_executions_allowed),
        T(test_unlimited_refuses_api_links),
        T(test_expiration_required_and_format),
        T(test_expiration_window),
        T(test_action_links_array),
        T(test_action_links_count),
        T(test_link_not_object),
        T(test_action_type),
        T(test_action_url_presence),
        T(test_action_url_length),
        T(test_action_url_schemes),
        T(test_action_url_http_needs_flag),
        T(test_action_url_host_and_chars),
        T(test_action_url_empty_host),
        T(test_action_url_context_variables),
        T(test_method),
        T(test_method_per_type),
        T(test_message_names_link_index),
        T(test_label_key),
        T(test_requires_confirmation),
        T(test_group_default),
        T(test_group_default_at_most_one),
        T(test_headers_shape),
        T(test_headers_only_for_api),
        T(test_headers_count),
        T(test_headers_names),
        T(test_headers_values),
        T(test_request_body),
        T(test_request_body_only_for_api),
        T(test_user_ids),
        T(test_user_ids_exclusive),
        T(test_bool),
        T(test_bool_embedded_nul),
        T(test_header_name_every_byte),
        T(test_json_depth_basic),
        T(test_json_depth_strings),
        T(test_json_depth_limit),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
