/* Unit tests for domain/present: the field sets and null rules of SPEC 4.2 (definition),
 * 4.3 (Platform Action and Platform Action Group) and 11.11, 18-character ids, ISO dates,
 * versioned URLs, and the one-element error array of SPEC 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/present.h"

#define ROOT "/services/data/v66.0"
#define GROUP_ID "0AgABCDEFGHIJKL"
#define GROUP_ID18 "0AgABCDEFGHIJKL055"
#define LINK_ID "0Anzzzzzzzzzzzz"
#define LINK_ID18 "0AnzzzzzzzzzzzzCAA"
#define USER_ID "005aB3cD9eF1gH2"
#define USER_ID18 "005aB3cD9eF1gH2QEJ"

static const int64_t T_2026 = 1795860930000; /* 2026-11-28T10:15:30.000Z */
static const struct present_ctx PC = {.api_root = ROOT};

static void expect_keys(const json_t *o, const char *const *keys, size_t n)
{
    assert_true(json_is_object(o));
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("key \"%s\" is missing", keys[i]);
    if (json_object_size(o) != n) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)o, k, v)
        {
            bool known = false;
            for (size_t i = 0; i < n; i++)
                known = known || strcmp(k, keys[i]) == 0;
            if (!known)
                fail_msg("unexpected key \"%s\"", k);
        }
    }
}

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static void expect_null(const json_t *o, const char *key)
{
    if (!json_is_null(json_object_get(o, key)))
        fail_msg("\"%s\" is not null", key);
}

static void sample_group(struct group *g)
{
    memset(g, 0, sizeof(*g));
    strcpy(g->id, GROUP_ID);
    g->category = CATEGORY_PRIMARY;
    g->policy = POLICY_ONCE_PER_USER;
    g->expiration_ms = T_2026 + 86400000;
    g->created_ms = T_2026;
    g->modified_ms = T_2026 + 1;
    g->n_links = 1;
    struct link *k = &g->links[0];
    strcpy(k->id, LINK_ID);
    strcpy(k->group_id, GROUP_ID);
    k->type = ACTION_API;
    k->action_url = "https://api.example.com/x";
    k->method = METHOD_POST;
    k->label_key = "Add";
    k->created_ms = T_2026;
    k->modified_ms = T_2026 + 2;
}

/* ---- definition (SPEC 4.2) ---- */

static const char *const DEF_KEYS[] = {"actionLinks",       "category",       "createdDate",
                                       "executionsAllowed", "expirationDate", "id",
                                       "modifiedDate",      "templateId",     "url"};
static const char *const LINK_KEYS[] = {"actionUrl",    "createdDate", "excludedUserId",
                                        "groupDefault", "headers",     "id",
                                        "label",        "labelKey",    "method",
                                        "modifiedDate", "requestBody", "requiresConfirmation",
                                        "templateId",   "type",        "userId"};

/* The definition's text as a tree, to look at its fields. */
static json_t *present_definition(const struct present_ctx *c, const struct group *g)
{
    struct buf b;
    buf_init(&b, 0);
    present_definition_write(&b, c, g);
    json_t *tree = json_loads(b.data, 0, NULL);
    buf_cleanup(&b);
    return tree;
}

static void test_definition_minimal(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    json_t *d = present_definition(&PC, &g);
    expect_keys(d, DEF_KEYS, sizeof(DEF_KEYS) / sizeof(DEF_KEYS[0]));
    assert_string_equal(str(d, "id"), GROUP_ID18);
    assert_string_equal(str(d, "category"), "Primary");
    assert_string_equal(str(d, "executionsAllowed"), "OncePerUser");
    assert_string_equal(str(d, "createdDate"), "2026-11-28T10:15:30.000Z");
    assert_string_equal(str(d, "modifiedDate"), "2026-11-28T10:15:30.001Z");
    assert_string_equal(str(d, "expirationDate"), "2026-11-29T10:15:30.000Z");
    assert_string_equal(str(d, "url"), ROOT "/connect/action-link-group-definitions/" GROUP_ID18);
    expect_null(d, "templateId");
    json_t *links = json_object_get(d, "actionLinks");
    assert_int_equal(json_array_size(links), 1);
    json_t *k = json_array_get(links, 0);
    expect_keys(k, LINK_KEYS, sizeof(LINK_KEYS) / sizeof(LINK_KEYS[0]));
    assert_string_equal(str(k, "id"), LINK_ID18);
    assert_string_equal(str(k, "type"), "Api");
    assert_string_equal(str(k, "method"), "HttpPost");
    assert_string_equal(str(k, "actionUrl"), "https://api.example.com/x");
    assert_string_equal(str(k, "labelKey"), "Add");
    assert_string_equal(str(k, "label"), "Add");
    assert_string_equal(str(k, "createdDate"), "2026-11-28T10:15:30.000Z");
    assert_string_equal(str(k, "modifiedDate"), "2026-11-28T10:15:30.002Z");
    /* SPEC 11.11: headers [] when none, omitted booleans false, other absent values null */
    assert_true(json_is_array(json_object_get(k, "headers")));
    assert_int_equal(json_array_size(json_object_get(k, "headers")), 0);
    assert_true(json_is_false(json_object_get(k, "groupDefault")));
    assert_true(json_is_false(json_object_get(k, "requiresConfirmation")));
    expect_null(k, "requestBody");
    expect_null(k, "userId");
    expect_null(k, "excludedUserId");
    expect_null(k, "templateId");
    json_decref(d);
}

static void test_definition_full(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    g.expiration_ms = 0; /* never: from a template without HoursUntilExpiration */
    strcpy(g.template_id, "07gzBCDEaBCDEFz");
    g.category = CATEGORY_OVERFLOW;
    g.policy = POLICY_UNLIMITED;
    struct header hs[] = {{"Authorization", "Bearer x"}, {"X-A", "{!userId}"}};
    struct link *k = &g.links[0];
    k->type = ACTION_API_ASYNC;
    k->headers = hs;
    k->n_headers = 2;
    k->request_body = "{\"a\":1}";
    k->requires_confirmation = true;
    k->group_default = true;
    k->label_key = "Add to Calendar";
    strcpy(k->user_id, USER_ID);
    strcpy(k->template_id, "07labAbcdefghiJ");
    g.links[1] = g.links[0];
    g.links[1].n_headers = 0;
    g.links[1].user_id[0] = '\0';
    strcpy(g.links[1].excluded_user_id, USER_ID);
    strcpy(g.links[1].id, "0AnABCDEFGHIJKL");
    g.n_links = 2;

    json_t *d = present_definition(&PC, &g);
    expect_null(d, "expirationDate");
    assert_string_equal(str(d, "templateId"), "07gzBCDEaBCDEFzQXP");
    assert_string_equal(str(d, "category"), "Overflow");
    assert_string_equal(str(d, "executionsAllowed"), "Unlimited");
    json_t *links = json_object_get(d, "actionLinks");
    assert_int_equal(json_array_size(links), 2);
    json_t *j = json_array_get(links, 0);
    assert_string_equal(str(j, "type"), "ApiAsync");
    assert_string_equal(str(j, "label"), "Add to Calendar");
    assert_string_equal(str(j, "requestBody"), "{\"a\":1}");
    assert_true(json_is_true(json_object_get(j, "requiresConfirmation")));
    assert_true(json_is_true(json_object_get(j, "groupDefault")));
    assert_string_equal(str(j, "userId"), USER_ID18);
    expect_null(j, "excludedUserId");
    assert_string_equal(str(j, "templateId"), "07labAbcdefghiJABQ");
    json_t *h = json_object_get(j, "headers");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(str(json_array_get(h, 0), "name"), "Authorization");
    assert_string_equal(str(json_array_get(h, 0), "value"), "Bearer x");
    assert_string_equal(str(json_array_get(h, 1), "name"), "X-A");
    assert_string_equal(str(json_array_get(h, 1), "value"), "{!userId}");
    assert_int_equal(json_object_size(json_array_get(h, 0)), 2);
    json_t *j2 = json_array_get(links, 1);
    assert_string_equal(str(j2, "id"), "0AnABCDEFGHIJKL055");
    expect_null(j2, "userId");
    assert_string_equal(str(j2, "excludedUserId"), USER_ID18);
    assert_int_equal(json_array_size(json_object_get(j2, "headers")), 0);
    json_decref(d);
}

/* ---- Platform Action (SPEC 4.3) ---- */

static const char *const ACTION_KEYS[] = {"actionUrl",
                                          "apiName",
                                          "confirmationMessage",
                                          "createdRecords",
                                          "executingUser",
                                          "groupDefault",
                                          "iconUrl",
                                          "id",
                                          "label",
                                          "modifiedDate",
                                          "platformActionGroup",
                                          "status",
                                          "subtype",
                                          "type",
                                          "url"};

static json_t *action(const struct group *g, const struct link *k, enum status s,
                      const struct user *u, const char *action_url)
{
    struct action_view v = {.group = g,
                            .link = k,
                            .status = s,
                            .executing_user = u,
                            .modified_ms = T_2026 + 5,
                            .action_url = action_url};
    return present_action(&PC, &v);
}

/* Text b (then emptied) is jansson's compact dump of tree (then freed). */
static void assert_text_is_dump(struct buf *b, json_t *tree)
{
    assert_non_null(tree);
    char *dump = json_dumps(tree, JSON_COMPACT);
    assert_string_equal(b->data, dump);
    free(dump);
    json_decref(tree);
    buf_cleanup(b);
}

/* The text is what jansson writes for the same tree (the order, the escaping: the
 * writer replaced a jansson tree whose dump was the answer, and matched it byte for
 * byte), for definitions with every optional part and with none. */
static void test_definition_text_is_the_trees_dump(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    struct header hs[] = {{"Authorization", "Bearer \"x\"\\y"}, {"X-\tA", "{!userId}\x01\xc3\xa9"}};
    for (int variant = 0; variant < 3; variant++) {
        if (variant == 1) {
            g.expiration_ms = 0;
            strcpy(g.template_id, "07gzBCDEaBCDEFz");
            g.links[0].headers = hs;
            g.links[0].n_headers = 2;
            g.links[0].request_body = "{\"a\":\"</script>\n\"}";
            g.links[0].requires_confirmation = true;
            g.links[0].group_default = true;
            g.links[0].action_url = "https://x.test/a?b=\"c\"&d=/e";
            strcpy(g.links[0].user_id, USER_ID);
            strcpy(g.links[0].template_id, "07labAbcdefghiJ");
        }
        if (variant == 2) {
            g.links[1] = g.links[0];
            g.links[1].n_headers = 1;
            g.links[1].user_id[0] = '\0';
            strcpy(g.links[1].excluded_user_id, USER_ID);
            strcpy(g.links[1].id, "0AnABCDEFGHIJKL");
            g.links[1].label_key = "None";
            g.links[1].label = "Custom \"label\"";
            g.n_links = 2;
        }
        struct buf b;
        buf_init(&b, 0);
        present_definition_write(&b, &PC, &g);
        assert_text_is_dump(&b, present_definition(&PC, &g));
    }
}

static void test_action_shape(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    json_t *a = action(&g, &g.links[0], STATUS_NEW, NULL, NULL);
    expect_keys(a, ACTION_KEYS, sizeof(ACTION_KEYS) / sizeof(ACTION_KEYS[0]));
    assert_string_equal(str(a, "id"), LINK_ID18);
    assert_string_equal(str(a, "type"), "ActionLink");
    assert_string_equal(str(a, "subtype"), "Api");
    assert_string_equal(str(a, "status"), "NewStatus");
    assert_string_equal(str(a, "label"), "Add");
    assert_string_equal(str(a, "url"), ROOT "/connect/action-links/" LINK_ID18);
    assert_string_equal(str(a, "modifiedDate"), "2026-11-28T10:15:30.005Z");
    expect_null(a, "actionUrl"); /* Api: the URL never leaves the server */
    expect_null(a, "apiName");
    expect_null(a, "iconUrl");
    expect_null(a, "executingUser");
    expect_null(a, "confirmationMessage");
    assert_true(json_is_array(json_object_get(a, "createdRecords")));
    assert_int_equal(json_array_size(json_object_get(a, "createdRecords")), 0);
    assert_true(json_is_false(json_object_get(a, "groupDefault")));
    json_t *pg = json_object_get(a, "platformActionGroup");
    assert_int_equal(json_object_size(pg), 2);
    assert_string_equal(str(pg, "id"), GROUP_ID18);
    assert_string_equal(str(pg, "url"), ROOT "/connect/action-link-groups/" GROUP_ID18);
    json_decref(a);
}

static void test_action_label_per_status(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    g.links[0].label_key = "Send Email";
    static const char *const want_label[] = {"Send Email", "Send Email Pending", "Email Sent",
                                             "Send Email Failed"};
    static const char *const want_status[] = {"NewStatus", "PendingStatus", "SuccessfulStatus",
                                              "FailedStatus"};
    for (int s = 0; s < STATUS__COUNT; s++) {
        json_t *a = action(&g, &g.links[0], (enum status)s, NULL, NULL);
        assert_string_equal(str(a, "label"), want_label[s]);
        assert_string_equal(str(a, "status"), want_status[s]);
        json_decref(a);
    }
}

static void test_action_confirmation_message(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    g.links[0].label_key = "Add to Calendar";
    for (int rc = 0; rc <= 1; rc++)
        for (int s = 0; s < STATUS__COUNT; s++) {
            g.links[0].requires_confirmation = rc;
            json_t *a = action(&g, &g.links[0], (enum status)s, NULL, NULL);
            if (rc && s == STATUS_NEW)
                assert_string_equal(str(a, "confirmationMessage"),
                                    "Are you sure you want to Add to Calendar?");
            else
                expect_null(a, "confirmationMessage");
            json_decref(a);
        }
}

static void test_action_download_url_and_user(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    g.links[0].type = ACTION_DOWNLOAD;
    g.links[0].group_default = true;
    struct user u;
    memset(&u, 0, sizeof(u));
    strcpy(u.id, USER_ID);
    u.username = "ada@example.com";
    u.name = "Ada Lovelace";
    const char *redirect =
        "https://al.example.com/action-link-redirect/000000000000000000/" LINK_ID18 "?_bearer=t";
    json_t *a = action(&g, &g.links[0], STATUS_PENDING, &u, redirect);
    assert_string_equal(str(a, "subtype"), "Download");
    assert_string_equal(str(a, "actionUrl"), redirect);
    assert_true(json_is_true(json_object_get(a, "groupDefault")));
    json_t *eu = json_object_get(a, "executingUser");
    static const char *const user_keys[] = {"id", "displayName", "username", "url"};
    expect_keys(eu, user_keys, 4);
    assert_string_equal(str(eu, "id"), USER_ID18);
    assert_string_equal(str(eu, "displayName"), "Ada Lovelace");
    assert_string_equal(str(eu, "username"), "ada@example.com");
    assert_true(strncmp(str(eu, "url"), ROOT "/", strlen(ROOT "/")) == 0);
    assert_non_null(strstr(str(eu, "url"), USER_ID18));
    json_decref(a);
}

static void test_action_url_follows_version(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    struct present_ctx old = {.api_root = "/services/data/v31.0"};
    struct action_view v = {.group = &g, .link = &g.links[0], .status = STATUS_NEW};
    json_t *a = present_action(&old, &v);
    assert_string_equal(str(a, "url"), "/services/data/v31.0/connect/action-links/" LINK_ID18);
    assert_string_equal(str(json_object_get(a, "platformActionGroup"), "url"),
                        "/services/data/v31.0/connect/action-link-groups/" GROUP_ID18);
    json_decref(a);
}

/* The text written directly is the tree's compact dump, byte for byte: same keys, same
 * order, same escaping, for every status, with and without a user and a URL, and with
 * text that needs escaping. */
static void test_action_text_is_the_trees_dump(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    struct user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", "005000000000001");
    u.username = "q\"uote@example.com";
    u.name = "Tab\there \xc3\xa9 </script>";
    static const enum status statuses[] = {STATUS_NEW, STATUS_PENDING, STATUS_SUCCESSFUL,
                                           STATUS_FAILED};
    for (size_t li = 0; li < g.n_links; li++)
        for (size_t si = 0; si < 4; si++)
            for (int with = 0; with < 2; with++) {
                g.links[li].requires_confirmation = with;
                struct action_view v = {.group = &g,
                                        .link = &g.links[li],
                                        .status = statuses[si],
                                        .executing_user = with ? &u : NULL,
                                        .modified_ms = T_2026 + 5,
                                        .action_url = with ? "https://x.test/a?b=\"c\"" : NULL};
                struct buf b;
                buf_init(&b, 0);
                present_action_write(&b, &PC, &v);
                assert_text_is_dump(&b, present_action(&PC, &v));
            }
}

/* ---- Platform Action Group ---- */

static void test_action_group(void **state)
{
    (void)state;
    struct group g;
    sample_group(&g);
    g.category = CATEGORY_OVERFLOW;
    json_t *actions = json_array();
    json_array_append_new(actions, action(&g, &g.links[0], STATUS_NEW, NULL, NULL));
    json_t *pg = present_action_group(&PC, &g, actions);
    static const char *const keys[] = {"category", "id", "modifiedDate", "platformActions", "url"};
    expect_keys(pg, keys, 5);
    assert_string_equal(str(pg, "category"), "Overflow");
    assert_string_equal(str(pg, "id"), GROUP_ID18);
    assert_string_equal(str(pg, "url"), ROOT "/connect/action-link-groups/" GROUP_ID18);
    assert_ptr_equal(json_object_get(pg, "platformActions"), actions);
    /* the latest of the group's and its actions' modification times */
    assert_string_equal(str(pg, "modifiedDate"), "2026-11-28T10:15:30.005Z");
    json_decref(pg);

    actions = json_array();
    g.modified_ms = T_2026 + 9000;
    json_array_append_new(actions, action(&g, &g.links[0], STATUS_NEW, NULL, NULL));
    pg = present_action_group(&PC, &g, actions);
    assert_string_equal(str(pg, "modifiedDate"), "2026-11-28T10:15:39.000Z");
    json_decref(pg);

    pg = present_action_group(&PC, &g, json_array());
    assert_int_equal(json_array_size(json_object_get(pg, "platformActions")), 0);
    json_decref(pg);
}

/* ---- errors (SPEC 2) ---- */

static void test_error(void **state)
{
    (void)state;
    json_t *e = present_error("NOT_FOUND", "The requested resource does not exist");
    assert_true(json_is_array(e));
    assert_int_equal(json_array_size(e), 1);
    json_t *o = json_array_get(e, 0);
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(str(o, "errorCode"), "NOT_FOUND");
    assert_string_equal(str(o, "message"), "The requested resource does not exist");
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definition_minimal),
        cmocka_unit_test(test_definition_full),
        cmocka_unit_test(test_definition_text_is_the_trees_dump),
        cmocka_unit_test(test_action_shape),
        cmocka_unit_test(test_action_label_per_status),
        cmocka_unit_test(test_action_confirmation_message),
        cmocka_unit_test(test_action_download_url_and_user),
        cmocka_unit_test(test_action_url_follows_version),
        cmocka_unit_test(test_action_text_is_the_trees_dump),
        cmocka_unit_test(test_action_group),
        cmocka_unit_test(test_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
