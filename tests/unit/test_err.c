/* Unit tests for core/err: every row of the error table of SPEC 2 maps to its HTTP status
 * and errorCode string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"

static void check(enum err e, int http, const char *code)
{
    assert_int_equal(err_http_status(e), http);
    assert_string_equal(err_code(e), code);
}

static void test_spec_table(void **state)
{
    (void)state;
    check(ERR_JSON, 400, "JSON_PARSER_ERROR");
    check(ERR_INPUT, 400, "INVALID_API_INPUT");
    check(ERR_ID, 400, "INVALID_ID_FIELD");
    check(ERR_STATUS, 400, "INVALID_STATUS");
    check(ERR_SESSION, 401, "INVALID_SESSION_ID");
    check(ERR_ACCESS, 403, "INSUFFICIENT_ACCESS");
    check(ERR_NOT_FOUND, 404, "NOT_FOUND");
    check(ERR_METHOD, 405, "METHOD_NOT_ALLOWED");
    check(ERR_TRANSITION, 409, "INVALID_STATUS_TRANSITION");
    check(ERR_EXECUTED, 409, "ALREADY_EXECUTED");
    check(ERR_EXPIRED, 409, "ACTION_LINK_EXPIRED");
    check(ERR_TOO_LARGE, 413, "REQUEST_TOO_LARGE");
    check(ERR_MEDIA, 415, "UNSUPPORTED_MEDIA_TYPE");
    check(ERR_INTERNAL, 500, "UNKNOWN_EXCEPTION");
    check(ERR_UNAVAILABLE, 503, "SERVER_UNAVAILABLE");
}

static void test_ok_is_zero(void **state)
{
    (void)state;
    assert_int_equal(ERR_OK, 0);
    assert_int_equal(err_http_status(ERR_OK), 200);
}

static void test_every_row_sane(void **state)
{
    (void)state;
    for (int e = 0; e < ERR__COUNT; e++) {
        int http = err_http_status((enum err)e);
        assert_true(http >= 200 && http <= 599);
        assert_true(e == ERR_OK || http >= 400);
        const char *code = err_code((enum err)e);
        assert_non_null(code);
        assert_true(code[0] != '\0');
        for (int f = e + 1; f < ERR__COUNT; f++)
            assert_string_not_equal(code, err_code((enum err)f));
    }
}

static void test_out_of_range(void **state)
{
    (void)state;
    check(ERR__COUNT, 500, "UNKNOWN_EXCEPTION");
    check((enum err)1000, 500, "UNKNOWN_EXCEPTION");
    check((enum err) - 1, 500, "UNKNOWN_EXCEPTION");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_table),
        cmocka_unit_test(test_ok_is_zero),
        cmocka_unit_test(test_every_row_sane),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
