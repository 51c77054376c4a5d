/* Unit tests for core/arena: zeroed and aligned allocations that never overlap, chunk
 * growth (small and large requests), string copies, printf, and reuse after cleanup. */
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

#include "core/arena.h"

static const size_t ALIGN = _Alignof(max_align_t);

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_init_and_empty_cleanup(void **state)
{
    (void)state;
    struct arena a;
    memset(&a, 0x5a, sizeof(a));
    arena_init(&a);
    assert_null(a.head);
    arena_cleanup(&a);
    arena_cleanup(&a); /* twice is fine */
    assert_null(a.head);
}

static void test_alloc_zeroed_aligned(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    static const size_t sizes[] = {1,  2,   3,    7,    8,    15,   16,   17,   31,
                                   33, 100, 4095, 4096, 4097, 8192, 9000, 65536};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        unsigned char *p = arena_alloc(&a, sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % ALIGN, 0);
        assert_true(all_zero(p, sizes[i]));
        memset(p, 0xff, sizes[i]); /* the whole size is writable (ASan checks) */
    }
    arena_cleanup(&a);
}

static void test_alloc_zero_bytes(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    void *p = arena_alloc(&a, 0), *q = arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_true(p != q);
    arena_cleanup(&a);
}

struct rec {
    unsigned char *p;
    size_t n;
};

static void test_many_allocations_do_not_overlap(void **state)
{
    (void)state;
    enum { COUNT = 5000 };
    struct arena a;
    arena_init(&a);
    struct rec *recs = calloc(COUNT, sizeof(*recs));
    assert_non_null(recs);
    /* a mix of sizes across many chunks, including some bigger than half a chunk */
    for (int i = 0; i < COUNT; i++) {
        size_t n = (size_t)(i * 37 % 300) + (i % 97 == 0 ? 6000 : 0);
        recs[i].p = arena_alloc(&a, n);
        recs[i].n = n;
        assert_true(all_zero(recs[i].p, n));
        memset(recs[i].p, i & 0xff, n);
    }
    for (int i = 0; i < COUNT; i++)
        for (size_t j = 0; j < recs[i].n; j++)
            if (recs[i].p[j] != (unsigned char)(i & 0xff))
                fail_msg("allocation %d byte %zu was overwritten", i, j);
    free(recs);
    arena_cleanup(&a);
}

static void test_large_allocation_keeps_current_chunk(void **state)
{
    (void)state;
    /* a request of its own chunk does not waste the free space of the current chunk:
     * the next small allocation follows the previous one */
    struct arena a;
    arena_init(&a);
    char *p1 = arena_alloc(&a, 10);
    char *big = arena_alloc(&a, 100000);
    char *p2 = arena_alloc(&a, 10);
    size_t step = (10 + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    assert_ptr_equal(p2, p1 + step);
    assert_true(big + 100000 <= p1 || big >= p2 + 10);
    memset(big, 1, 100000);
    assert_true(all_zero((unsigned char *)p2, 10));
    arena_cleanup(&a);
}

static void test_large_first(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    unsigned char *big = arena_alloc(&a, 50000);
    memset(big, 7, 50000);
    unsigned char *small = arena_alloc(&a, 16);
    assert_true(all_zero(small, 16));
    memset(small, 9, 16);
    assert_int_equal(big[49999], 7);
    assert_int_equal(big[0], 7);
    arena_cleanup(&a);
}

static void test_strdup(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    const char *s = "hello, arena";
    char *d = arena_strdup(&a, s);
    assert_string_equal(d, s);
    assert_true(d != s);
    assert_null(arena_strdup(&a, NULL));
    assert_string_equal(arena_strdup(&a, ""), "");
    /* strndup copies exactly n bytes and terminates */
    char *n = arena_strndup(&a, "abcdef", 3);
    assert_string_equal(n, "abc");
    assert_string_equal(arena_strndup(&a, "abc", 0), "");
    assert_null(arena_strndup(&a, NULL, 5));
    char *z = arena_strndup(&a, "a\0b", 3); /* bytes, not a C string */
    assert_memory_equal(z, "a\0b\0", 4);
    /* a long string */
    char *big = malloc(20001);
    assert_non_null(big);
    memset(big, 'k', 20000);
    big[20000] = '\0';
    char *bd = arena_strdup(&a, big);
    assert_string_equal(bd, big);
    free(big);
    arena_cleanup(&a);
}

static void test_printf(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    assert_string_equal(arena_printf(&a, "%s/%d/%05.2f", "x", -12, 3.14159), "x/-12/03.14");
    assert_string_equal(arena_printf(&a, "%s", ""), "");
    char *long_s = arena_printf(&a, "%0*d", 10000, 7);
    assert_int_equal(strlen(long_s), 10000);
    assert_int_equal(long_s[9999], '7');
    assert_int_equal(long_s[0], '0');
    arena_cleanup(&a);
}

static void test_reuse_after_cleanup(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            unsigned char *p = arena_alloc(&a, 64);
            assert_true(all_zero(p, 64));
            memset(p, 0xaa, 64);
        }
        arena_cleanup(&a);
        assert_null(a.head);
    }
}

/* arena_alloc(n) in a child: it exits 3 if a pointer came back. */
static int alloc_in_child(size_t n)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(1);
        if (!freopen("/dev/null", "w", stderr)) /* an abort message here is expected */
            _exit(2);
        struct arena a;
        arena_init(&a);
        void *p = arena_alloc(&a, n);
        _exit(p ? 3 : 4);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_impossible_size_never_returns(void **state)
{
    (void)state;
    /* "Aborts on OOM": a request no machine can satisfy must not come back as a small
     * block because the rounding up wrapped around */
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 30};
    int failures = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int st = alloc_in_child(sizes[i]);
        if (WIFEXITED(st) && (WEXITSTATUS(st) == 3 || WEXITSTATUS(st) == 4)) {
            print_message("arena_alloc(SIZE_MAX - %zu) returned (exit %d)\n", SIZE_MAX - sizes[i],
                          WEXITSTATUS(st));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_empty_cleanup),
        cmocka_unit_test(test_alloc_zeroed_aligned),
        cmocka_unit_test(test_alloc_zero_bytes),
        cmocka_unit_test(test_many_allocations_do_not_overlap),
        cmocka_unit_test(test_large_allocation_keeps_current_chunk),
        cmocka_unit_test(test_large_first),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_reuse_after_cleanup),
        cmocka_unit_test(test_impossible_size_never_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
