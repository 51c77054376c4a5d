/* Unit tests for store/exec_cache: an answer (an execution with its texts, or "none")
 * comes back whole under the two epochs it was kept under and no others; a newer
 * executions epoch drops everything; the budget holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/exec_cache.h"

static struct execution make(int n)
{
    struct execution e;
    memset(&e, 0, sizeof(e));
    snprintf(e.id, sizeof(e.id), "0Ae%012d", n);
    snprintf(e.group_id, sizeof(e.group_id), "0Ag%012d", n);
    snprintf(e.link_id, sizeof(e.link_id), "0An%012d", n);
    snprintf(e.user_id, sizeof(e.user_id), "005%012d", n);
    e.status = STATUS_PENDING;
    e.created_ms = 5;
    e.modified_ms = 6;
    e.deadline_ms = 7;
    e.diagnostic = n % 2 ? "HTTP 500: oops ☃" : NULL;
    e.user_username = "alice@example.com";
    e.user_name = "Alice";
    return e;
}

static void test_answers(void **state)
{
    (void)state;
    struct exec_cache *c = exec_cache_new(1 << 20);
    struct arena a;
    arena_init(&a);
    struct exec_epochs ep = {3, 9};
    struct execution e = make(1), got;
    bool has = true;
    assert_false(exec_cache_get(c, ep, e.group_id, "", &a, &got, &has));
    exec_cache_put(c, ep, e.group_id, "", &e);
    exec_cache_put(c, ep, e.group_id, "005000000000002", NULL); /* another scope: none */
    assert_true(exec_cache_get(c, ep, e.group_id, "", &a, &got, &has));
    assert_true(has);
    assert_string_equal(got.id, e.id);
    assert_string_equal(got.link_id, e.link_id);
    assert_int_equal(got.status, e.status);
    assert_int_equal(got.deadline_ms, 7);
    assert_string_equal(got.diagnostic, e.diagnostic);
    assert_string_equal(got.user_name, "Alice");
    assert_true(exec_cache_get(c, ep, e.group_id, "005000000000002", &a, &got, &has));
    assert_false(has);
    /* another auth epoch (the executing user may have been renamed): not an answer */
    assert_false(exec_cache_get(c, (struct exec_epochs){3, 10}, e.group_id, "", &a, &got, &has));
    /* an older executions epoch neither reads nor adds; a newer one drops everything */
    assert_false(exec_cache_get(c, (struct exec_epochs){2, 9}, e.group_id, "", &a, &got, &has));
    assert_false(exec_cache_get(c, (struct exec_epochs){4, 9}, e.group_id, "", &a, &got, &has));
    assert_false(exec_cache_get(c, ep, e.group_id, "", &a, &got, &has));
    /* dropped whole, buckets too (a few entries clear only theirs): kept again and found
     * under the new epoch, and many more after another drop */
    struct exec_epochs ep4 = {4, 9}, ep5 = {5, 9};
    exec_cache_put(c, ep4, e.group_id, "", &e);
    assert_true(exec_cache_get(c, ep4, e.group_id, "", &a, &got, &has));
    assert_true(has);
    assert_false(exec_cache_get(c, ep4, e.group_id, "005000000000002", &a, &got, &has));
    for (int n = 10; n < 2000; n++) {
        struct execution m = make(n);
        exec_cache_put(c, ep5, m.group_id, "", &m);
    }
    assert_false(exec_cache_get(c, ep5, e.group_id, "", &a, &got, &has));
    struct execution last = make(1999);
    assert_true(exec_cache_get(c, ep5, last.group_id, "", &a, &got, &has));
    assert_false(exec_cache_get(c, (struct exec_epochs){6, 9}, last.group_id, "", &a, &got, &has));
    assert_false(exec_cache_get(c, (struct exec_epochs){6, 9}, e.group_id, "", &a, &got, &has));
    uint64_t found, missed;
    exec_cache_counts(c, &found, &missed);
    assert_int_equal(found, 4);
    arena_cleanup(&a);
    exec_cache_free(c);
}

static void test_budget(void **state)
{
    (void)state;
    struct exec_cache *c = exec_cache_new(64 << 10);
    struct arena a;
    arena_init(&a);
    struct exec_epochs ep = {1, 1};
    for (int n = 0; n < 5000; n++) {
        struct execution e = make(n);
        exec_cache_put(c, ep, e.group_id, "", n % 3 ? &e : NULL);
    }
    struct execution newest = make(4999), oldest = make(0), got;
    bool has;
    assert_true(exec_cache_get(c, ep, newest.group_id, "", &a, &got, &has));
    assert_true(has);
    assert_string_equal(got.id, newest.id);
    assert_false(exec_cache_get(c, ep, oldest.group_id, "", &a, &got, &has));
    arena_cleanup(&a);
    exec_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
