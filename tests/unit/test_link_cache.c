/* Unit tests for store/link_cache: a definition comes back whole (every string, header
 * and NULL in place, in the caller's arena), only under the epoch it was kept under;
 * a newer epoch drops everything, an older one neither reads nor adds; the budget holds;
 * and threads reading, adding and moving the epoch at once agree (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "store/link_cache.h"

/* A group numbered `n` with `links` links (the second has headers, the third a body and
 * a custom label), its text in a. */
static struct group make(struct arena *a, int n, size_t links)
{
    struct group g;
    memset(&g, 0, sizeof(g));
    snprintf(g.id, sizeof(g.id), "0Ag%012d", n);
    g.category = CATEGORY_PRIMARY;
    g.policy = POLICY_ONCE;
    g.expiration_ms = 1000 + n;
    snprintf(g.creator_id, sizeof(g.creator_id), "005%012d", n);
    g.bindings_json = n % 2 ? arena_printf(a, "{\"n\":%d}", n) : NULL;
    g.created_ms = g.modified_ms = 7;
    g.n_links = links;
    for (size_t i = 0; i < links; i++) {
        struct link *k = &g.links[i];
        snprintf(k->id, sizeof(k->id), "0An%010d%02d", n % 1000000, (int)i % 10);
        memcpy(k->group_id, g.id, sizeof(k->group_id));
        k->position = (int)i;
        k->type = i == 0 ? ACTION_API : ACTION_UI;
        k->action_url = arena_printf(a, "https://example.com/%d/%zu", n, i);
        k->label_key = "Approve";
        if (i == 1) {
            k->n_headers = 2;
            k->headers = arena_alloc(a, 2 * sizeof(struct header));
            k->headers[0] = (struct header){"Content-Type", "application/json"};
            k->headers[1] = (struct header){"X-N", arena_printf(a, "%d", n)};
        }
        if (i == 2) {
            k->request_body = "{\"ok\":true}";
            k->label = "Custom ☃";
            k->label_key = "None";
        }
    }
    return g;
}

static void assert_same(const struct group *want, const struct group *got)
{
    assert_string_equal(want->id, got->id);
    assert_int_equal(want->expiration_ms, got->expiration_ms);
    assert_string_equal(want->creator_id, got->creator_id);
    if (want->bindings_json)
        assert_string_equal(want->bindings_json, got->bindings_json);
    else
        assert_null(got->bindings_json);
    assert_int_equal(want->n_links, got->n_links);
    for (size_t i = 0; i < want->n_links; i++) {
        const struct link *w = &want->links[i], *k = &got->links[i];
        assert_string_equal(w->id, k->id);
        assert_string_equal(w->group_id, k->group_id);
        assert_int_equal(w->type, k->type);
        assert_string_equal(w->action_url, k->action_url);
        assert_string_equal(w->label_key, k->label_key);
        assert_int_equal(w->label == NULL, k->label == NULL);
        if (w->label)
            assert_string_equal(w->label, k->label);
        assert_int_equal(w->request_body == NULL, k->request_body == NULL);
        if (w->request_body)
            assert_string_equal(w->request_body, k->request_body);
        assert_int_equal(w->n_headers, k->n_headers);
        for (size_t j = 0; j < w->n_headers; j++) {
            assert_string_equal(w->headers[j].name, k->headers[j].name);
            assert_string_equal(w->headers[j].value, k->headers[j].value);
        }
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    struct link_cache *c = link_cache_new(1 << 20);
    assert_non_null(c);
    struct arena a, b;
    arena_init(&a);
    arena_init(&b);
    struct group g = make(&a, 1, GROUP_MAX_LINKS), got;
    size_t index = 99;
    assert_false(link_cache_get(c, 5, g.links[0].id, &b, &got, &index));
    link_cache_put(c, 5, &g);
    for (size_t i = 0; i < g.n_links; i++) {
        assert_true(link_cache_get(c, 5, g.links[i].id, &b, &got, &index));
        assert_int_equal(index, i);
        assert_same(&g, &got);
        /* the copy is the caller's: writing to it leaves the kept one alone */
        ((char *)got.links[i].action_url)[0] = 'X';
    }
    arena_cleanup(&a); /* the kept copy does not point into the arena it came from */
    g = make(&a, 1, GROUP_MAX_LINKS);
    assert_true(link_cache_get(c, 5, g.links[3].id, &b, &got, &index));
    assert_same(&g, &got);
    struct link_cache_stats st;
    link_cache_stats(c, &st);
    assert_int_equal(st.entries, GROUP_MAX_LINKS);
    assert_int_equal(st.hits, GROUP_MAX_LINKS + 1);
    assert_int_equal(st.misses, 1);
    arena_cleanup(&a);
    arena_cleanup(&b);
    link_cache_free(c);
}

static void test_epochs(void **state)
{
    (void)state;
    struct link_cache *c = link_cache_new(1 << 20);
    struct arena a;
    arena_init(&a);
    struct group g = make(&a, 2, 2), h = make(&a, 3, 2), got;
    size_t index;
    link_cache_put(c, 10, &g);
    /* a reader of an older view neither reads what is kept nor adds */
    assert_false(link_cache_get(c, 9, g.links[0].id, &a, &got, &index));
    link_cache_put(c, 9, &h);
    assert_false(link_cache_get(c, 10, h.links[0].id, &a, &got, &index));
    assert_true(link_cache_get(c, 10, g.links[0].id, &a, &got, &index));
    /* a newer epoch drops everything, and what was read before it is not added */
    assert_false(link_cache_get(c, 11, g.links[0].id, &a, &got, &index));
    struct link_cache_stats st;
    link_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    link_cache_put(c, 10, &g);
    assert_false(link_cache_get(c, 11, g.links[0].id, &a, &got, &index));
    link_cache_put(c, 11, &g);
    assert_true(link_cache_get(c, 11, g.links[1].id, &a, &got, &index));
    assert_int_equal(index, 1);
    arena_cleanup(&a);
    link_cache_free(c);
}

static void test_budget(void **state)
{
    (void)state;
    enum { BUDGET = 64 << 10, GROUPS = 2000 };
    struct link_cache *c = link_cache_new(BUDGET);
    struct arena a;
    arena_init(&a);
    for (int n = 0; n < GROUPS; n++) {
        struct group g = make(&a, n, 3);
        link_cache_put(c, 1, &g);
    }
    struct link_cache_stats st;
    link_cache_stats(c, &st);
    assert_true(st.bytes <= BUDGET);
    assert_true(st.entries > 0 && st.entries < GROUPS * 3);
    /* a group goes whole: the links of a dropped group do not linger in other shards */
    assert_int_equal(st.entries % 3, 0);
    /* the newest are kept, the oldest went */
    struct group newest = make(&a, GROUPS - 1, 3), oldest = make(&a, 0, 3), got;
    size_t index;
    assert_true(link_cache_get(c, 1, newest.links[2].id, &a, &got, &index));
    assert_same(&newest, &got);
    assert_false(link_cache_get(c, 1, oldest.links[0].id, &a, &got, &index));
    /* a group kept again becomes the newest: the next evictions spare it */
    struct group again = make(&a, GROUPS - 40, 3);
    assert_true(link_cache_get(c, 1, again.links[0].id, &a, &got, &index));
    link_cache_put(c, 1, &again);
    for (int n = GROUPS; n < GROUPS + 8; n++) { /* fewer than a shard holds */
        struct group g = make(&a, n, 3);
        link_cache_put(c, 1, &g);
    }
    assert_true(link_cache_get(c, 1, again.links[1].id, &a, &got, &index));
    assert_same(&again, &got);
    link_cache_stats(c, &st);
    assert_true(st.bytes <= BUDGET);
    assert_int_equal(st.entries % 3, 0);
    /* a group larger than the budget allows is not kept */
    struct link_cache *tiny = link_cache_new(256);
    struct group g = make(&a, 1, GROUP_MAX_LINKS);
    link_cache_put(tiny, 1, &g);
    assert_false(link_cache_get(tiny, 1, g.links[0].id, &a, &got, &index));
    link_cache_free(tiny);
    arena_cleanup(&a);
    link_cache_free(c);
}

/* Readers and writers at once, with the epoch moving: every hit is whole, is the group
 * its link belongs to, and is the group as it was at the reader's epoch (the action URL
 * names the epoch). Failures are counted, not asserted (cmocka's asserts are for the
 * main thread). */
struct worker {
    struct link_cache *c;
    int seed;
    int hits, wrong;
};

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same(const struct group *want, const struct group *got)
{
    if (strcmp(want->id, got->id) != 0 || want->n_links != got->n_links ||
        !same_text(want->bindings_json, got->bindings_json))
        return false;
    for (size_t i = 0; i < want->n_links; i++) {
        const struct link *w = &want->links[i], *k = &got->links[i];
        if (strcmp(w->id, k->id) != 0 || !same_text(w->action_url, k->action_url) ||
            !same_text(w->label, k->label) || !same_text(w->request_body, k->request_body) ||
            w->n_headers != k->n_headers)
            return false;
        for (size_t j = 0; j < w->n_headers; j++)
            if (!same_text(w->headers[j].name, k->headers[j].name) ||
                !same_text(w->headers[j].value, k->headers[j].value))
                return false;
    }
    return true;
}

static void *hammer(void *arg)
{
    struct worker *w = arg;
    struct arena a;
    arena_init(&a);
    unsigned r = (unsigned)w->seed;
    for (int i = 0; i < 20000; i++) {
        r = r * 1103515245u + 12345u;
        int n = (int)(r >> 8) % 300;
        int64_t epoch = 1 + i / 5000;
        struct group want = make(&a, n, 3), got;
        want.links[0].action_url = arena_printf(&a, "https://example.com/%d/at/%lld", n,
                                                (long long)epoch);
        size_t index;
        if (link_cache_get(w->c, epoch, want.links[n % 3].id, &a, &got, &index)) {
            if (index != (size_t)(n % 3) || !same(&want, &got))
                w->wrong++;
            w->hits++;
        } else {
            link_cache_put(w->c, epoch, &want);
        }
        if (i % 64 == 0) {
            arena_cleanup(&a);
            arena_init(&a);
        }
    }
    arena_cleanup(&a);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct link_cache *c = link_cache_new(48 << 10);
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.c = c, .seed = i + 1};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    int hits = 0, wrong = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        hits += w[i].hits;
        wrong += w[i].wrong;
    }
    assert_true(hits > 0);
    assert_int_equal(wrong, 0);
    link_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
