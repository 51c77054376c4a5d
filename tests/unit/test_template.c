/* Unit tests for domain/template: the field rules of ActionLinkGroupTemplate and
 * ActionLinkTemplate (each refusal names its field), publishing, the rules after
 * publishing, {!Bindings.key} substitution, the templateBindings input, and instantiation
 * with each visibility (SPEC 8, 11.8). */
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
#include "domain/template.h"

static const int64_t NOW = 1767225600000; /* 2026-01-01T00:00:00.000Z */
static const int64_t HOUR_MS = 3600000;

static struct arena arena;
static struct validate_error E;
/* Every document parsed in a test lives to its end: records borrow their strings. */
static json_t *docs[64];
static size_t n_docs;

static int setup(void **state)
{
    (void)state;
    arena_init(&arena);
    memset(&E, 0, sizeof(E));
    n_docs = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_docs; i++)
        json_decref(docs[i]);
    arena_cleanup(&arena);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    if (n_docs == sizeof(docs) / sizeof(docs[0]))
        fail_msg("raise the number of documents a test may parse");
    json_t *doc = json_loads(text, 0, &je);
    if (!doc)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return docs[n_docs++] = doc;
}

/* The message starts with the field it names. */
static void expect_field(const char *field)
{
    if (strncmp(E.msg, field, strlen(field)) != 0)
        fail_msg("expected a message about %s, got: %s", field, E.msg);
}

/* ---- group templates ---- */

static const char GT_OK[] = "{\"DeveloperName\":\"Approve_1\",\"MasterLabel\":\"Approve\","
                            "\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}";

static enum err read_gt(const char *text, struct group_template *t)
{
    return template_group_read(parse(text), true, t, &E);
}

static void test_group_defaults(void **state)
{
    (void)state;
    struct group_template t;
    assert_int_equal(read_gt(GT_OK, &t), ERR_OK);
    assert_string_equal(t.developer_name, "Approve_1");
    assert_string_equal(t.master_label, "Approve");
    assert_int_equal(t.category, CATEGORY_PRIMARY);
    assert_int_equal(t.policy, POLICY_ONCE);
    assert_int_equal(t.hours_until_expiration, -1);
    assert_false(t.published);
}

static void test_group_fields(void **state)
{
    (void)state;
    struct group_template t;
    assert_int_equal(read_gt("{\"DeveloperName\":\"A\",\"MasterLabel\":\"m\",\"Category\":"
                             "\"Overflow\",\"ExecutionsAllowed\":\"Unlimited\","
                             "\"HoursUntilExpiration\":8760,\"IsPublished\":\"true\"}",
                             &t),
                     ERR_OK);
    assert_int_equal(t.category, CATEGORY_OVERFLOW);
    assert_int_equal(t.policy, POLICY_UNLIMITED);
    assert_int_equal(t.hours_until_expiration, 8760);
    assert_true(t.published);
    assert_int_equal(read_gt("{\"DeveloperName\":\"A\",\"MasterLabel\":\"m\",\"Category\":"
                             "\"Primary\",\"ExecutionsAllowed\":\"OncePerUser\","
                             "\"HoursUntilExpiration\":0,\"IsPublished\":false}",
                             &t),
                     ERR_OK);
    assert_int_equal(t.hours_until_expiration, 0);
}

static void test_group_refusals(void **state)
{
    (void)state;
    struct {
        const char *json, *field;
    } cases[] = {
        {"{\"MasterLabel\":\"m\",\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
         "DeveloperName"},
        {"{\"DeveloperName\":\"a-b\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "DeveloperName"},
        {"{\"DeveloperName\":\"a b\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "DeveloperName"},
        {"{\"DeveloperName\":\"\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "DeveloperName"},
        {"{\"DeveloperName\":5,\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "DeveloperName"},
        {"{\"DeveloperName\":\"a\",\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
         "MasterLabel"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "MasterLabel"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"primary\","
         "\"ExecutionsAllowed\":\"Once\"}",
         "Category"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"ExecutionsAllowed\":\"Once\"}",
         "Category"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Twice\"}",
         "ExecutionsAllowed"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\",\"HoursUntilExpiration\":8761}",
         "HoursUntilExpiration"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\",\"HoursUntilExpiration\":-1}",
         "HoursUntilExpiration"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\",\"HoursUntilExpiration\":1.5}",
         "HoursUntilExpiration"},
        {"{\"DeveloperName\":\"a\",\"MasterLabel\":\"m\",\"Category\":\"Primary\","
         "\"ExecutionsAllowed\":\"Once\",\"IsPublished\":\"yes\"}",
         "IsPublished"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct group_template t;
        memset(&E, 0, sizeof(E));
        if (read_gt(cases[i].json, &t) != ERR_INPUT)
            fail_msg("case %zu accepted: %s", i, cases[i].json);
        expect_field(cases[i].field);
    }
}

static void test_group_name_lengths(void **state)
{
    (void)state;
    char name[100], text[400];
    struct group_template t;
    memset(name, 'a', 80);
    name[80] = '\0';
    snprintf(text, sizeof(text),
             "{\"DeveloperName\":\"%s\",\"MasterLabel\":\"%s\","
             "\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
             name, name);
    assert_int_equal(read_gt(text, &t), ERR_OK);
    strcat(name, "a");
    snprintf(text, sizeof(text),
             "{\"DeveloperName\":\"%s\",\"MasterLabel\":\"m\","
             "\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
             name);
    assert_int_equal(read_gt(text, &t), ERR_INPUT);
    expect_field("DeveloperName");
    snprintf(text, sizeof(text),
             "{\"DeveloperName\":\"a\",\"MasterLabel\":\"%s\","
             "\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
             name);
    assert_int_equal(read_gt(text, &t), ERR_INPUT);
    expect_field("MasterLabel");
    /* 80 characters of two bytes each are 80 characters */
    char wide[200] = "";
    for (int i = 0; i < 80; i++)
        strcat(wide, "\xc3\xa9");
    snprintf(text, sizeof(text),
             "{\"DeveloperName\":\"a\",\"MasterLabel\":\"%s\","
             "\"Category\":\"Primary\",\"ExecutionsAllowed\":\"Once\"}",
             wide);
    assert_int_equal(read_gt(text, &t), ERR_OK);
}

static void test_group_patch(void **state)
{
    (void)state;
    struct group_template t;
    assert_int_equal(read_gt(GT_OK, &t), ERR_OK);
    assert_int_equal(template_group_read(parse("{\"MasterLabel\":\"New\"}"), false, &t, &E),
                     ERR_OK);
    assert_string_equal(t.master_label, "New");
    assert_string_equal(t.developer_name, "Approve_1");
    assert_int_equal(template_group_read(parse("{\"HoursUntilExpiration\":null}"), false, &t, &E),
                     ERR_OK);
    assert_int_equal(t.hours_until_expiration, -1);
    assert_int_equal(template_group_read(parse("{\"Category\":null}"), false, &t, &E), ERR_INPUT);
    expect_field("Category");
}

static void test_group_after_publish(void **state)
{
    (void)state;
    struct group_template old, now;
    assert_int_equal(read_gt(GT_OK, &old), ERR_OK);
    old.published = true;
    now = old;
    now.master_label = "Another";
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_OK);
    now = old;
    now.published = false;
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_INPUT);
    expect_field("IsPublished");
    now = old;
    now.developer_name = "Other";
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_INPUT);
    expect_field("DeveloperName");
    now = old;
    now.category = CATEGORY_OVERFLOW;
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_INPUT);
    expect_field("Category");
    now = old;
    now.policy = POLICY_ONCE_PER_USER;
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_INPUT);
    expect_field("ExecutionsAllowed");
    now = old;
    now.hours_until_expiration = 5;
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_INPUT);
    expect_field("HoursUntilExpiration");
    /* before publishing, anything goes */
    old.published = false;
    now.published = false;
    assert_int_equal(template_group_change_check(&old, &now, &E), ERR_OK);
}

/* ---- link templates ---- */

static enum err read_lt(const char *text, bool allow_http, struct link_template *t)
{
    struct validate_opts vo = {.now_ms = NOW, .allow_http = allow_http};
    return template_link_read(parse(text), true, 7, &vo, t, &E);
}

#define LT(extra)                                                                                  \
    "{\"LinkType\":\"Api\",\"ActionUrl\":\"https://example.com/x\",\"Method\":\"HttpPost\","       \
    "\"LabelKey\":\"Approve\"" extra "}"

static void test_link_defaults(void **state)
{
    (void)state;
    struct link_template t;
    assert_int_equal(read_lt(LT(""), false, &t), ERR_OK);
    assert_int_equal(t.type, ACTION_API);
    assert_int_equal(t.method, METHOD_POST);
    assert_int_equal(t.visibility, VISIBILITY_EVERYONE);
    assert_int_equal(t.position, 7);
    assert_false(t.requires_confirmation);
    assert_false(t.group_default);
    assert_null(t.headers);
    assert_null(t.request_body);
    assert_null(t.label);
}

static void test_link_accepts(void **state)
{
    (void)state;
    const char *ok[] = {
        LT(",\"Position\":0,\"IsConfirmationRequired\":true,\"IsGroupDefault\":\"true\""),
        LT(",\"Headers\":\"Authorization: Bearer {!Bindings.token}\\r\\nX-User: {!userId}"
           "\\n\\nX-Empty:\""),
        LT(",\"RequestBody\":\"{\\\"id\\\":\\\"{!Bindings.id}\\\",\\\"u\\\":\\\"{!userId}\\\"}\""),
        "{\"LinkType\":\"Api\",\"ActionUrl\":\"https://{!Bindings.host}/a/{!Bindings.id}?u="
        "{!userId}\",\"Method\":\"HttpGet\",\"LabelKey\":\"Approve\"}",
        "{\"LinkType\":\"Ui\",\"ActionUrl\":\"/services/apexrest/{!Bindings.x}\","
        "\"Method\":\"HttpGet\",\"LabelKey\":\"None\",\"Label\":\"Open it\"}",
        LT(",\"UserVisibility\":\"CustomUser\",\"UserAlias\":\"{!Bindings.who}\""),
        LT(",\"UserVisibility\":\"CustomExcludedUser\",\"UserAlias\":\"bob\""),
        LT(",\"UserVisibility\":\"Manager\""),
        LT(",\"UserVisibility\":\"Creator\""),
        LT(",\"UserVisibility\":\"EveryoneButCreator\""),
        LT(",\"Headers\":\"\",\"Label\":null,\"UserAlias\":\"\""),
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct link_template t;
        if (read_lt(ok[i], false, &t) != ERR_OK)
            fail_msg("case %zu refused: %s: %s", i, E.msg, ok[i]);
    }
    struct link_template t;
    assert_int_equal(read_lt("{\"LinkType\":\"Api\",\"ActionUrl\":\"http://127.0.0.1:9/x\","
                             "\"Method\":\"HttpPost\",\"LabelKey\":\"Approve\"}",
                             true, &t),
                     ERR_OK);
    assert_int_equal(read_lt(LT(",\"Headers\":\"\""), false, &t), ERR_OK);
    assert_null(t.headers);
}

/* 67 characters of three bytes: 201 bytes, under 80 characters */
#define W3 "\xe2\x82\xac"
#define W30                                                                                        \
    W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3 W3
#define LABEL_67_WIDE W30 W30 W3 W3 W3 W3 W3 W3 W3

static void test_link_refusals(void **state)
{
    (void)state;
    char big_body[70000 + 64];
    snprintf(big_body, sizeof(big_body), LT(",\"RequestBody\":\"%0*d\""), 65537, 0);
    char many[32 * 16 + 200] = LT(",\"Headers\":\"");
    many[strlen(many) - 1] = '\0'; /* reopen the object */
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "X-%d: v\\n", i);
    strcat(many, "\"}");
    char long_value[9000 + 200];
    snprintf(long_value, sizeof(long_value), LT(",\"Headers\":\"X-A: %0*d\""), 8193, 0);
    struct {
        const char *json, *field;
    } cases[] = {
        {"{\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\",\"LabelKey\":\"Approve\"}",
         "LinkType"},
        {"{\"LinkType\":\"Api\",\"Method\":\"HttpGet\",\"LabelKey\":\"Approve\"}", "ActionUrl"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"ftp://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"Approve\"}",
         "ActionUrl"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"http://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"Approve\"}",
         "ActionUrl"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com/{!nope}\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"Approve\"}",
         "ActionUrl"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com/{!Bindings.}\",\"Method\":"
         "\"HttpGet\",\"LabelKey\":\"Approve\"}",
         "ActionUrl"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com\",\"LabelKey\":\"Approve\"}",
         "Method"},
        {"{\"LinkType\":\"Download\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpPost\","
         "\"LabelKey\":\"Download\"}",
         "Method"},
        {"{\"LinkType\":\"Ui\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpPut\","
         "\"LabelKey\":\"Approve\"}",
         "Method"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\"}",
         "LabelKey"},
        {LT(",\"LabelKey\":\"NoSuchKey\""), "LabelKey"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"None\"}",
         "Label"},
        {LT(",\"Label\":\"custom\""), "Label"},
        {"{\"LinkType\":\"Api\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"None\",\"Label\":\"" LABEL_67_WIDE "\"}",
         "Label"},
        {LT(",\"Headers\":\"NoColon\""), "Headers"},
        {LT(",\"Headers\":\"Bad Name: v\""), "Headers"},
        {LT(",\"Headers\":\"Host: e.com\""), "Headers"},
        {LT(",\"Headers\":\"content-length: 5\""), "Headers"},
        {LT(",\"Headers\":\"Transfer-Encoding: chunked\""), "Headers"},
        {LT(",\"Headers\":\"Connection: close\""), "Headers"},
        {LT(",\"Headers\":\"X-A: a\\u0001b\""), "Headers"},
        {LT(",\"Headers\":\"X-A: {!nope}\""), "Headers"},
        {LT(",\"Headers\":7"), "Headers"},
        {many, "Headers"},
        {long_value, "Headers"},
        {"{\"LinkType\":\"Ui\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"Approve\",\"Headers\":\"X-A: b\"}",
         "Headers"},
        {"{\"LinkType\":\"Download\",\"ActionUrl\":\"https://e.com\",\"Method\":\"HttpGet\","
         "\"LabelKey\":\"Approve\",\"RequestBody\":\"x\"}",
         "RequestBody"},
        {big_body, "RequestBody"},
        {LT(",\"RequestBody\":\"{!nope}\""), "RequestBody"},
        {LT(",\"Position\":-1"), "Position"},
        {LT(",\"Position\":\"1\""), "Position"},
        {LT(",\"Position\":null"), "Position"},
        {LT(",\"UserVisibility\":\"Nobody\""), "UserVisibility"},
        {LT(",\"UserVisibility\":\"CustomUser\""), "UserAlias"},
        {LT(",\"UserVisibility\":\"CustomExcludedUser\",\"UserAlias\":\"\""), "UserAlias"},
        {LT(",\"UserVisibility\":\"CustomUser\",\"UserAlias\":\"{!userId}\""), "UserAlias"},
        {LT(",\"IsConfirmationRequired\":\"yes\""), "IsConfirmationRequired"},
        {LT(",\"IsGroupDefault\":1"), "IsGroupDefault"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct link_template t;
        memset(&E, 0, sizeof(E));
        if (read_lt(cases[i].json, false, &t) != ERR_INPUT)
            fail_msg("case %zu accepted: %.200s", i, cases[i].json);
        expect_field(cases[i].field);
    }
}

static void test_link_headers_parse(void **state)
{
    (void)state;
    struct header *h;
    size_t n;
    assert_int_equal(
        template_headers_parse("A: 1\r\n\n  \nB:two words  \nC:", "Headers", &arena, &h, &n, &E),
        ERR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(h[0].name, "A");
    assert_string_equal(h[0].value, "1");
    assert_string_equal(h[1].name, "B");
    assert_string_equal(h[1].value, "two words");
    assert_string_equal(h[2].name, "C");
    assert_string_equal(h[2].value, "");
    assert_int_equal(template_headers_parse(NULL, "Headers", &arena, &h, &n, &E), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(h);
}

static void test_link_patch(void **state)
{
    (void)state;
    struct link_template t;
    struct validate_opts vo = {.now_ms = NOW};
    assert_int_equal(read_lt(LT(",\"Headers\":\"X-A: 1\""), false, &t), ERR_OK);
    assert_int_equal(
        template_link_read(parse("{\"Headers\":null,\"Position\":3}"), false, 0, &vo, &t, &E),
        ERR_OK);
    assert_null(t.headers);
    assert_int_equal(t.position, 3);
    /* the merged record is checked: a Ui link cannot keep HttpPost */
    assert_int_equal(template_link_read(parse("{\"LinkType\":\"Ui\"}"), false, 0, &vo, &t, &E),
                     ERR_INPUT);
    expect_field("Method");
    assert_int_equal(template_link_read(parse("{\"ActionUrl\":null}"), false, 0, &vo, &t, &E),
                     ERR_INPUT);
    expect_field("ActionUrl");
}

static void test_link_after_publish(void **state)
{
    (void)state;
    struct link_template old, now;
    assert_int_equal(read_lt(LT(",\"RequestBody\":\"{!Bindings.a}\",\"Headers\":\"X: "
                                "{!Bindings.b}\",\"UserVisibility\":\"CustomUser\","
                                "\"UserAlias\":\"{!Bindings.c}\""),
                             false, &old),
                     ERR_OK);
    now = old;
    now.action_url = "https://other.example.com/{!Bindings.a}/{!Bindings.c}?{!userId}";
    now.headers = "X: {!Bindings.a}\nY: {!orgId}";
    now.request_body = NULL;
    assert_int_equal(template_link_change_check(&old, &now, true, &E), ERR_OK);
    now.action_url = "https://e.com/{!Bindings.new}";
    assert_int_equal(template_link_change_check(&old, &now, true, &E), ERR_INPUT);
    expect_field("ActionUrl");
    assert_non_null(strstr(E.msg, "Bindings.new"));
    assert_int_equal(template_link_change_check(&old, &now, false, &E), ERR_OK);
    now = old;
    now.request_body = "{!Bindings.zz}";
    assert_int_equal(template_link_change_check(&old, &now, true, &E), ERR_INPUT);
    expect_field("RequestBody");
    const char *fields[] = {
        "LinkType",       "Method",   "UserVisibility", "Position", "IsConfirmationRequired",
        "IsGroupDefault", "LabelKey", "Label",          "UserAlias"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        now = old;
        switch (i) {
        case 0:
            now.type = ACTION_API_ASYNC;
            break;
        case 1:
            now.method = METHOD_PUT;
            break;
        case 2:
            now.visibility = VISIBILITY_EVERYONE;
            break;
        case 3:
            now.position = 9;
            break;
        case 4:
            now.requires_confirmation = true;
            break;
        case 5:
            now.group_default = true;
            break;
        case 6:
            now.label_key = "Decline";
            break;
        case 7:
            now.label = "x";
            break;
        case 8:
            now.user_alias = "bob";
            break;
        }
        memset(&E, 0, sizeof(E));
        assert_int_equal(template_link_change_check(&old, &now, true, &E), ERR_INPUT);
        expect_field(fields[i]);
        assert_int_equal(template_link_change_check(&old, &now, false, &E), ERR_OK);
    }
}

/* ---- publishing ---- */

static struct link_template lt_of(enum action_type type, bool group_default)
{
    struct link_template t;
    memset(&t, 0, sizeof(t));
    t.type = type;
    t.method = action_is_api(type) ? METHOD_POST : METHOD_GET;
    t.action_url = "https://example.com/{!Bindings.id}";
    t.label_key = "Approve";
    t.group_default = group_default;
    return t;
}

static void test_publish(void **state)
{
    (void)state;
    struct group_template g;
    memset(&g, 0, sizeof(g));
    g.category = CATEGORY_PRIMARY;
    g.policy = POLICY_ONCE;
    struct link_template l[5];
    for (int i = 0; i < 5; i++) {
        l[i] = lt_of(ACTION_UI, false);
        l[i].position = i;
    }
    assert_int_equal(template_publish_check(&g, l, 0, &E), ERR_INPUT);
    expect_field("IsPublished");
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_OK);
    assert_int_equal(template_publish_check(&g, l, 4, &E), ERR_INPUT);
    expect_field("IsPublished");
    g.category = CATEGORY_OVERFLOW;
    assert_int_equal(template_publish_check(&g, l, 4, &E), ERR_OK);
    assert_int_equal(template_publish_check(&g, l, 5, &E), ERR_INPUT);
    l[0].group_default = l[2].group_default = true;
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_INPUT);
    expect_field("IsPublished");
    l[2].group_default = false;
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_OK);
    g.policy = POLICY_UNLIMITED;
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_OK);
    l[1] = lt_of(ACTION_API_ASYNC, false);
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_INPUT);
    expect_field("ExecutionsAllowed");
    g.policy = POLICY_ONCE_PER_USER;
    assert_int_equal(template_publish_check(&g, l, 3, &E), ERR_OK);
}

/* ---- bindings ---- */

static struct template_bindings bindings_of(const char *json)
{
    struct template_bindings b;
    assert_int_equal(template_bindings_read(parse(json), &arena, &b, &E), ERR_OK);
    return b;
}

static void test_bindings_read(void **state)
{
    (void)state;
    struct template_bindings b = bindings_of(
        "[{\"key\":\"Bindings.id\",\"value\":\"42\"},{\"key\":\"host\",\"value\":\"e.com\"}]");
    assert_int_equal(b.n, 2);
    assert_string_equal(b.v[0].key, "id");
    assert_string_equal(b.v[0].value, "42");
    assert_string_equal(b.v[1].key, "host");
    assert_int_equal(template_bindings_read(NULL, &arena, &b, &E), ERR_OK);
    assert_int_equal(b.n, 0);
    const char *bad[] = {
        "{}",
        "[{\"key\":\"a\"}]",
        "[{\"key\":\"a\",\"value\":1}]",
        "[{\"value\":\"x\"}]",
        "[{\"key\":\"a b\",\"value\":\"x\"}]",
        "[{\"key\":\"Bindings.\",\"value\":\"x\"}]",
        "[{\"key\":\"a\",\"value\":\"x\"},{\"key\":\"Bindings.a\",\"value\":\"y\"}]",
        "[5]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&E, 0, sizeof(E));
        if (template_bindings_read(parse(bad[i]), &arena, &b, &E) != ERR_INPUT)
            fail_msg("case %zu accepted: %s", i, bad[i]);
        expect_field("templateBindings");
    }
}

static void test_bind(void **state)
{
    (void)state;
    struct template_bindings b =
        bindings_of("[{\"key\":\"id\",\"value\":\"4 2\"},{\"key\":\"a.b\",\"value\":\"{x}\"}]");
    char missing[64] = "";
    char *out = template_bind(&arena, "/x/{!Bindings.id}?u={!userId}&{!Bindings.a.b}{!Bindings.id}",
                              &b, missing, sizeof(missing));
    assert_string_equal(out, "/x/4 2?u={!userId}&{x}4 2");
    assert_null(
        template_bind(&arena, "{!Bindings.nope}/{!Bindings.id}", &b, missing, sizeof(missing)));
    assert_string_equal(missing, "nope");
    assert_null(template_bind(&arena, NULL, &b, missing, sizeof(missing)));
    assert_string_equal(template_bind(&arena, "{!Bindings} {! Bindings.id} {!Bindings.id", &b,
                                      missing, sizeof(missing)),
                        "{!Bindings} {! Bindings.id} {!Bindings.id");
    /* round trip through the stored JSON */
    const char *json = template_bindings_json(&b, &arena);
    struct template_bindings back;
    template_bindings_from_json(json, &arena, &back);
    assert_int_equal(back.n, 2);
    assert_string_equal(
        template_bind(&arena, "{!Bindings.a.b}{!Bindings.id}", &back, missing, sizeof(missing)),
        "{x}4 2");
    template_bindings_from_json("not json", &arena, &back);
    assert_int_equal(back.n, 0);
}

/* ---- instantiation ---- */

static const char *CREATOR = "005aaaaaaaaaaaa", *MANAGER = "005bbbbbbbbbbbb",
                  *CUSTOM = "005ccccccccccc1", *NOBODY = "00Dzzzzzzzzzzzz";

static enum err resolve(void *arg, const char *alias, char out[ID_LEN + 1])
{
    (void)arg;
    if (strcmp(alias, "carol") == 0 || strcmp(alias, CUSTOM) == 0) {
        strcpy(out, CUSTOM);
        return ERR_OK;
    }
    if (strcmp(alias, "broken") == 0)
        return ERR_UNAVAILABLE;
    return ERR_NOT_FOUND;
}

static struct user creator;
static struct template_instance_opts inst_opts(bool with_manager)
{
    memset(&creator, 0, sizeof(creator));
    strcpy(creator.id, CREATOR);
    if (with_manager)
        strcpy(creator.manager_id, MANAGER);
    return (struct template_instance_opts){
        .creator = &creator, .nobody_id = NOBODY, .now_ms = NOW, .resolve_user = resolve};
}

static struct group_template published_gt(void)
{
    struct group_template g;
    memset(&g, 0, sizeof(g));
    strcpy(g.id, "07gaaaaaaaaaaaa");
    g.category = CATEGORY_OVERFLOW;
    g.policy = POLICY_ONCE_PER_USER;
    g.hours_until_expiration = -1;
    g.published = true;
    return g;
}

static void test_instantiate_visibility(void **state)
{
    (void)state;
    struct group_template gt = published_gt();
    struct link_template l[4];
    enum visibility vis[4] = {VISIBILITY_CREATOR, VISIBILITY_EVERYONE_BUT_CREATOR,
                              VISIBILITY_MANAGER, VISIBILITY_CUSTOM_USER};
    for (int i = 0; i < 4; i++) {
        l[i] = lt_of(ACTION_API, false);
        snprintf(l[i].id, sizeof(l[i].id), "07laaaaaaaaaaa%d", i);
        l[i].visibility = vis[i];
        l[i].position = 10 + i;
    }
    l[3].user_alias = "{!Bindings.who}";
    l[0].headers = "X-Id: {!Bindings.id}\nX-User: {!userId}";
    l[0].request_body = "id={!Bindings.id}";
    l[1].label_key = "None";
    l[1].label = "Custom";
    struct template_bindings b =
        bindings_of("[{\"key\":\"id\",\"value\":\"7\"},{\"key\":\"Bindings.who\",\"value\":"
                    "\"carol\"}]");
    struct template_instance_opts o = inst_opts(true);
    struct group g;
    assert_int_equal(template_instantiate(&gt, l, 4, &b, &o, &arena, &g, &E), ERR_OK);
    assert_int_equal(g.n_links, 4);
    assert_int_equal(g.category, CATEGORY_OVERFLOW);
    assert_int_equal(g.policy, POLICY_ONCE_PER_USER);
    assert_int_equal(g.expiration_ms, 0);
    assert_string_equal(g.template_id, gt.id);
    assert_string_equal(g.creator_id, CREATOR);
    assert_non_null(strstr(g.bindings_json, "\"who\":\"carol\""));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g.links[i].position, i);
        assert_string_equal(g.links[i].template_id, l[i].id);
        assert_string_equal(g.links[i].action_url, "https://example.com/7");
    }
    assert_string_equal(g.links[0].user_id, CREATOR);
    assert_string_equal(g.links[0].excluded_user_id, "");
    assert_int_equal(g.links[0].n_headers, 2);
    assert_string_equal(g.links[0].headers[0].value, "7");
    assert_string_equal(g.links[0].headers[1].value, "{!userId}");
    assert_string_equal(g.links[0].request_body, "id=7");
    assert_string_equal(g.links[1].user_id, "");
    assert_string_equal(g.links[1].excluded_user_id, CREATOR);
    assert_string_equal(g.links[1].label_key, "None");
    assert_string_equal(g.links[1].label, "Custom");
    assert_string_equal(g.links[2].user_id, MANAGER);
    assert_string_equal(g.links[3].user_id, CUSTOM);

    /* no manager: a userId nobody has; CustomExcludedUser by user id */
    l[3].visibility = VISIBILITY_CUSTOM_EXCLUDED_USER;
    l[3].user_alias = CUSTOM;
    o = inst_opts(false);
    assert_int_equal(template_instantiate(&gt, l, 4, &b, &o, &arena, &g, &E), ERR_OK);
    assert_string_equal(g.links[2].user_id, NOBODY);
    assert_string_equal(g.links[3].excluded_user_id, CUSTOM);
    assert_string_equal(g.links[3].user_id, "");
    l[2].visibility = VISIBILITY_EVERYONE;
    assert_int_equal(template_instantiate(&gt, l, 4, &b, &o, &arena, &g, &E), ERR_OK);
    assert_string_equal(g.links[2].user_id, "");
    assert_string_equal(g.links[2].excluded_user_id, "");
}

static void test_instantiate_refusals(void **state)
{
    (void)state;
    struct group_template gt = published_gt();
    struct link_template l[1] = {lt_of(ACTION_API, false)};
    struct template_instance_opts o = inst_opts(true);
    struct group g;
    struct template_bindings none = {NULL, 0};
    assert_int_equal(template_instantiate(&gt, l, 1, &none, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("templateBindings");
    assert_non_null(strstr(E.msg, "Bindings.id"));

    struct template_bindings b = bindings_of("[{\"key\":\"id\",\"value\":\"a b\"}]");
    assert_int_equal(template_instantiate(&gt, l, 1, &b, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("ActionUrl");

    b = bindings_of("[{\"key\":\"id\",\"value\":\"ok\"},{\"key\":\"who\",\"value\":\"zed\"}]");
    l[0].visibility = VISIBILITY_CUSTOM_USER;
    l[0].user_alias = "{!Bindings.who}";
    assert_int_equal(template_instantiate(&gt, l, 1, &b, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("UserAlias");
    l[0].user_alias = "{!Bindings.whom}";
    assert_int_equal(template_instantiate(&gt, l, 1, &b, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("templateBindings");
    l[0].user_alias = "broken";
    assert_int_equal(template_instantiate(&gt, l, 1, &b, &o, &arena, &g, &E), ERR_UNAVAILABLE);

    l[0].visibility = VISIBILITY_EVERYONE;
    l[0].headers = "X-A: {!Bindings.ctl}";
    struct template_bindings ctl = bindings_of(
        "[{\"key\":\"id\",\"value\":\"ok\"},{\"key\":\"ctl\",\"value\":\"a\\r\\nB: c\"}]");
    assert_int_equal(template_instantiate(&gt, l, 1, &ctl, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("Headers");

    gt.published = false;
    assert_int_equal(template_instantiate(&gt, l, 1, &ctl, &o, &arena, &g, &E), ERR_INPUT);
    expect_field("templateId");
}

static void test_instantiate_expiry(void **state)
{
    (void)state;
    struct group_template gt = published_gt();
    struct link_template l[1] = {lt_of(ACTION_UI, false)};
    l[0].action_url = "https://example.com/";
    struct template_bindings none = {NULL, 0};
    struct template_instance_opts o = inst_opts(true);
    struct group g;
    gt.hours_until_expiration = 24;
    assert_int_equal(template_instantiate(&gt, l, 1, &none, &o, &arena, &g, &E), ERR_OK);
    assert_int_equal(g.expiration_ms, NOW + 24 * HOUR_MS);
    o.expiration_ms = NOW + 2 * HOUR_MS;
    assert_int_equal(template_instantiate(&gt, l, 1, &none, &o, &arena, &g, &E), ERR_OK);
    assert_int_equal(g.expiration_ms, NOW + 2 * HOUR_MS);
    o.expiration_ms = 0;
    gt.hours_until_expiration = 0; /* 0 is "not set": never */
    assert_int_equal(template_instantiate(&gt, l, 1, &none, &o, &arena, &g, &E), ERR_OK);
    assert_int_equal(g.expiration_ms, 0);
    gt.hours_until_expiration = -1;
    assert_int_equal(template_instantiate(&gt, l, 1, &none, &o, &arena, &g, &E), ERR_OK);
    assert_int_equal(g.expiration_ms, 0);
}

static void test_instance_input(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    struct template_bindings b;
    int64_t exp;
    assert_int_equal(template_instance_input(parse("{\"templateId\":\"07gaaaaaaaaaaaa\","
                                                   "\"templateBindings\":[{\"key\":\"a\","
                                                   "\"value\":\"1\"}],\"expirationDate\":"
                                                   "\"2026-01-02T00:00:00.000Z\"}"),
                                             NOW, &arena, id, &b, &exp, &E),
                     ERR_OK);
    assert_string_equal(id, "07gaaaaaaaaaaaa");
    assert_int_equal(b.n, 1);
    assert_int_equal(exp, NOW + 24 * HOUR_MS);
    struct {
        const char *json, *field;
        enum err code;
    } cases[] = {
        {"{\"templateId\":\"0Agaaaaaaaaaaaa\"}", "templateId", ERR_ID},
        {"{\"templateId\":7}", "templateId", ERR_ID},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"actionLinks\":[]}", "actionLinks", ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"category\":\"Primary\"}", "category", ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"executionsAllowed\":\"Once\"}", "executionsAllowed",
         ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"templateBindings\":{}}", "templateBindings",
         ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"expirationDate\":\"2025-12-31T00:00:00Z\"}",
         "expirationDate", ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"expirationDate\":\"2027-01-02T00:00:00Z\"}",
         "expirationDate", ERR_INPUT},
        {"{\"templateId\":\"07gaaaaaaaaaaaa\",\"expirationDate\":\"tomorrow\"}", "expirationDate",
         ERR_INPUT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&E, 0, sizeof(E));
        if (template_instance_input(parse(cases[i].json), NOW, &arena, id, &b, &exp, &E) !=
            cases[i].code)
            fail_msg("case %zu: %s", i, cases[i].json);
        expect_field(cases[i].field);
    }
    /* null counts as absent */
    assert_int_equal(template_instance_input(parse("{\"templateId\":\"07gaaaaaaaaaaaa\","
                                                   "\"actionLinks\":null,\"category\":null}"),
                                             NOW, &arena, id, &b, &exp, &E),
                     ERR_OK);
    assert_int_equal(exp, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_group_defaults),
        T(test_group_fields),
        T(test_group_refusals),
        T(test_group_name_lengths),
        T(test_group_patch),
        T(test_group_after_publish),
        T(test_link_defaults),
        T(test_link_accepts),
        T(test_link_refusals),
        T(test_link_headers_parse),
        T(test_link_patch),
        T(test_link_after_publish),
        T(test_publish),
        T(test_bindings_read),
        T(test_bind),
        T(test_instantiate_visibility),
        T(test_instantiate_refusals),
        T(test_instantiate_expiry),
        T(test_instance_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
