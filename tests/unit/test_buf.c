/* Unit tests for core/buf: NUL termination, growth, the hard limit (nothing appended when
 * it would be passed), printf, and handing the data over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_init_empty(void **state)
{
    (void)state;
    struct buf b;
    memset(&b, 0x5a, sizeof(b));
    buf_init(&b, 123);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.limit, 123);
    buf_cleanup(&b); /* cleanup of a never-used buffer is fine */
    assert_null(b.data);
}

static void test_append_and_terminate(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_true(buf_append(&b, "abc", 3));
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_true(buf_append(&b, "defgh", 2));
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    assert_true(buf_puts(&b, "!"));
    assert_string_equal(b.data, "abcde!");
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.cap >= b.len + 1);
    buf_cleanup(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_append_nothing(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_true(buf_append(&b, NULL, 0));
    assert_non_null(b.data); /* always NUL-terminated once appended to */
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    assert_true(buf_puts(&b, ""));
    assert_int_equal(b.len, 0);
    buf_cleanup(&b);
}

static void test_embedded_nul_counts(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_true(buf_append(&b, "a\0b", 3));
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b\0", 4);
    buf_cleanup(&b);
}

static void test_growth(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        char c = (char)('a' + i % 26);
        assert_true(buf_append(&b, &c, 1));
        assert_true(b.cap > b.len);
    }
    assert_int_equal(b.len, N);
    assert_int_equal(b.data[N], '\0');
    for (int i = 0; i < N; i++)
        if (b.data[i] != (char)('a' + i % 26))
            fail_msg("byte %d lost in growth", i);
    /* geometric growth: capacity is within a factor 2 of what is needed */
    assert_true(b.cap <= 2 * (b.len + 1));
    buf_cleanup(&b);
}

static void test_growth_one_big_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    size_t n = 1000000;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'q', n);
    assert_true(buf_puts(&b, "head:"));
    assert_true(buf_append(&b, big, n));
    assert_int_equal(b.len, n + 5);
    assert_memory_equal(b.data, "head:qqq", 8);
    assert_int_equal(b.data[b.len - 1], 'q');
    assert_int_equal(b.data[b.len], '\0');
    free(big);
    buf_cleanup(&b);
}

static void test_limit_exact(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_true(buf_append(&b, "0123456789", 10)); /* exactly the limit */
    assert_int_equal(b.len, 10);
    assert_true(buf_append(&b, "", 0)); /* nothing more is fine */
    assert_false(buf_append(&b, "x", 1));
    assert_false(buf_puts(&b, "x"));
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    buf_cleanup(&b);
}

static void test_limit_nothing_appended(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_true(buf_puts(&b, "abcde"));
    /* 5 + 4 > 8: refused whole, not cut */
    assert_false(buf_append(&b, "fghi", 4));
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "abcde");
    assert_true(buf_append(&b, "fgh", 3));
    assert_string_equal(b.data, "abcdefgh");
    /* a single append bigger than the limit, on a fresh buffer */
    struct buf c;
    buf_init(&c, 8);
    assert_false(buf_append(&c, "123456789", 9));
    assert_int_equal(c.len, 0);
    buf_cleanup(&c);
    buf_cleanup(&b);
}

static void test_limit_huge_sizes(void **state)
{
    (void)state;
    /* sizes that would overflow an addition are refused, and p is never read */
    struct buf b;
    buf_init(&b, 1024);
    assert_true(buf_puts(&b, "x"));
    assert_false(buf_append(&b, "", SIZE_MAX));
    assert_false(buf_append(&b, "", SIZE_MAX - 1));
    assert_false(buf_append(&b, "", (size_t)1 << 62));
    assert_false(buf_append(&b, "", 1024)); /* 1 + 1024 > 1024 */
    assert_int_equal(b.len, 1);
    assert_string_equal(b.data, "x");
    buf_cleanup(&b);
}

/* Runs buf_append(n) on an unlimited buffer in a child process, where a wrap-around may
 * crash or loop for ever; the child exits 0 only if the append was refused. */
static int huge_append_in_child(size_t already, size_t n)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(1);                               /* a wrapped capacity can loop for ever */
        if (!freopen("/dev/null", "w", stderr)) /* a crash report here is expected noise */
            _exit(2);
        struct buf b;
        buf_init(&b, 0);
        for (size_t i = 0; i < already; i++)
            buf_append(&b, "x", 1);
        bool ok = buf_append(&b, "", n);
        _exit(ok ? 3 : 0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_unlimited_huge_sizes_refused(void **state)
{
    (void)state;
    /* "aborts only on out-of-memory, never on client-controlled sizes" (buf.c): with no
     * limit, a size whose len + n + 1 wraps around must be refused, not wrap the
     * capacity arithmetic */
    static const struct {
        size_t already, n;
    } cases[] = {{0, SIZE_MAX}, {3, SIZE_MAX - 2}, {0, SIZE_MAX - 10}};
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = huge_append_in_child(cases[i].already, cases[i].n);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            print_message("buf_append(unlimited, SIZE_MAX - %zu) after %zu bytes: child %s %d "
                          "(exit 3: accepted; exit 1 or a signal: crashed; signal 14: looped)\n",
                          SIZE_MAX - cases[i].n, cases[i].already,
                          WIFEXITED(st) ? "exited" : "killed by signal",
                          WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_true(buf_printf(&b, "%s=%d", "a", 42));
    assert_true(buf_printf(&b, ";%05.1f;%c", 3.14159, 'z'));
    assert_string_equal(b.data, "a=42;003.1;z");
    assert_int_equal(b.len, strlen("a=42;003.1;z"));
    assert_true(buf_printf(&b, "%s", ""));
    assert_int_equal(b.len, 12);
    /* longer than the first allocation */
    char big[3000];
    memset(big, 'w', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_true(buf_printf(&b, "[%s]", big));
    assert_int_equal(b.len, 12 + 2 + 2999);
    assert_int_equal(b.data[12], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    buf_cleanup(&b);
}

static void test_printf_limit(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 6);
    assert_true(buf_printf(&b, "%d", 123));
    assert_false(buf_printf(&b, "%d", 4567)); /* 3 + 4 > 6 */
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "123");
    assert_true(buf_printf(&b, "%d", 456)); /* exactly 6 */
    assert_string_equal(b.data, "123456");
    assert_false(buf_printf(&b, "%s", "x"));
    assert_true(buf_printf(&b, "%s", ""));
    assert_string_equal(b.data, "123456");
    buf_cleanup(&b);
}

static void test_steal(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_true(buf_puts(&b, "hello"));
    char *p = buf_steal(&b);
    assert_string_equal(p, "hello");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.limit, 100); /* the limit stays */
    /* the buffer can be used again, and is independent of the stolen data */
    assert_true(buf_puts(&b, "again"));
    assert_string_equal(b.data, "again");
    assert_string_equal(p, "hello");
    free(p);
    buf_cleanup(&b);
}

static void test_steal_empty(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    char *p = buf_steal(&b); /* never appended to: still a string the caller frees */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    assert_null(b.data);
}

static void test_limit_after_steal_counts_from_zero(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_true(buf_puts(&b, "abcd"));
    free(buf_steal(&b));
    assert_true(buf_puts(&b, "efgh"));
    assert_false(buf_puts(&b, "i"));
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_empty),
        cmocka_unit_test(test_append_and_terminate),
        cmocka_unit_test(test_append_nothing),
        cmocka_unit_test(test_embedded_nul_counts),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_growth_one_big_append),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_limit_nothing_appended),
        cmocka_unit_test(test_limit_huge_sizes),
        cmocka_unit_test(test_unlimited_huge_sizes_refused),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_printf_limit),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_steal_empty),
        cmocka_unit_test(test_limit_after_steal_counts_from_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
