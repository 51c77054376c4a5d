/* Unit tests for core/jsonw: every string comes out byte for byte as jansson's
 * json_dumps(JSON_COMPACT) prints it (the answers written directly must not differ from
 * the ones built as trees), and the small values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/jsonw.h"

static void expect_like_jansson(const char *s)
{
    struct buf b;
    buf_init(&b, 0);
    jw_string(&b, s);
    json_t *v = json_string(s);
    assert_non_null(v);
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(b.data, want);
    free(want);
    json_decref(v);
    buf_cleanup(&b);
}

static void test_strings_match_jansson(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "plain",
        "quote \" and backslash \\ and slash /",
        "\b\f\n\r\t",
        "\x01\x02\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* é € 😀 stay as UTF-8 */
        "\xe2\x80\xa8 line separator",
        "{!Bindings.x} <script>alert(1)</script> &amp;",
        "trailing escape\n",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_like_jansson(cases[i]);
    /* every single control character */
    for (int c = 1; c < 0x20; c++) {
        char s[4] = {'a', (char)c, 'b', 0};
        expect_like_jansson(s);
    }
}

static void test_small_values(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    jw_raw(&b, "[");
    jw_bool(&b, true);
    jw_raw(&b, ",");
    jw_bool(&b, false);
    jw_raw(&b, ",");
    jw_string_or_null(&b, NULL);
    jw_raw(&b, ",");
    jw_string_or_null(&b, "x");
    jw_raw(&b, "]");
    assert_string_equal(b.data, "[true,false,null,\"x\"]");
    assert_int_equal(b.len, strlen(b.data));
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_match_jansson),
        cmocka_unit_test(test_small_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
