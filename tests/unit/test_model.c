/* Unit tests for domain/model: the wire names of the enums (exact, case-sensitive) and
 * the scope user of each policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/model.h"

static void test_status_names(void **state)
{
    (void)state;
    static const char *const want[] = {"NewStatus", "PendingStatus", "SuccessfulStatus",
                                       "FailedStatus"};
    assert_int_equal(STATUS__COUNT, 4);
    for (int s = 0; s < STATUS__COUNT; s++) {
        assert_string_equal(status_name((enum status)s), want[s]);
        assert_int_equal(status_from_name(want[s]), s);
    }
    static const char *const bad[] = {
        "New",        "newstatus", "NEWSTATUS",     "",
        "NewStatus ", "Pending",   "SuccessStatus", "CompletedStatus"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(status_from_name(bad[i]), -1);
    assert_int_equal(status_from_name(NULL), -1);
}

static void test_action_type_names(void **state)
{
    (void)state;
    static const char *const want[] = {"Api", "ApiAsync", "Download", "Ui"};
    assert_int_equal(ACTION_TYPE__COUNT, 4);
    for (int t = 0; t < ACTION_TYPE__COUNT; t++) {
        assert_string_equal(action_type_name((enum action_type)t), want[t]);
        assert_int_equal(action_type_from_name(want[t]), t);
    }
    assert_int_equal(action_type_from_name("api"), -1);
    assert_int_equal(action_type_from_name("UI"), -1);
    assert_int_equal(action_type_from_name("Api Async"), -1);
    assert_int_equal(action_type_from_name(NULL), -1);
    assert_true(action_is_api(ACTION_API));
    assert_true(action_is_api(ACTION_API_ASYNC));
    assert_false(action_is_api(ACTION_DOWNLOAD));
    assert_false(action_is_api(ACTION_UI));
}

static void test_method_names(void **state)
{
    (void)state;
    static const char *const wire[] = {"HttpDelete", "HttpGet",  "HttpHead",
                                       "HttpPatch",  "HttpPost", "HttpPut"};
    static const char *const verb[] = {"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"};
    assert_int_equal(METHOD__COUNT, 6);
    for (int m = 0; m < METHOD__COUNT; m++) {
        assert_string_equal(method_name((enum http_method)m), wire[m]);
        assert_string_equal(method_verb((enum http_method)m), verb[m]);
        assert_int_equal(method_from_name(wire[m]), m);
        assert_int_equal(method_from_name(verb[m]), -1); /* the verb is not a wire name */
    }
    assert_int_equal(method_from_name("httpGet"), -1);
    assert_int_equal(method_from_name("HttpOptions"), -1);
    assert_int_equal(method_from_name(NULL), -1);
}

static void test_category_and_policy_names(void **state)
{
    (void)state;
    assert_string_equal(category_name(CATEGORY_PRIMARY), "Primary");
    assert_string_equal(category_name(CATEGORY_OVERFLOW), "Overflow");
    assert_int_equal(category_from_name("Primary"), CATEGORY_PRIMARY);
    assert_int_equal(category_from_name("Overflow"), CATEGORY_OVERFLOW);
    assert_int_equal(category_from_name("primary"), -1);
    assert_int_equal(category_from_name(NULL), -1);
    assert_string_equal(policy_name(POLICY_ONCE), "Once");
    assert_string_equal(policy_name(POLICY_ONCE_PER_USER), "OncePerUser");
    assert_string_equal(policy_name(POLICY_UNLIMITED), "Unlimited");
    assert_int_equal(policy_from_name("Once"), POLICY_ONCE);
    assert_int_equal(policy_from_name("OncePerUser"), POLICY_ONCE_PER_USER);
    assert_int_equal(policy_from_name("Unlimited"), POLICY_UNLIMITED);
    assert_int_equal(policy_from_name("once"), -1);
    assert_int_equal(policy_from_name("Once "), -1);
    assert_int_equal(policy_from_name(NULL), -1);
}

static void test_scope_user(void **state)
{
    (void)state;
    const char *caller = "005UUUUUUUUUUUU";
    assert_string_equal(model_scope_user(POLICY_ONCE, caller), "");
    assert_ptr_equal(model_scope_user(POLICY_ONCE_PER_USER, caller), caller);
    assert_string_equal(model_scope_user(POLICY_UNLIMITED, caller), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names), cmocka_unit_test(test_action_type_names),
        cmocka_unit_test(test_method_names), cmocka_unit_test(test_category_and_policy_names),
        cmocka_unit_test(test_scope_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
