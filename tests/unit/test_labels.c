/* Unit tests for domain/labels: the generated table (137 rows, strcmp order, the same
 * texts as data/labels.tsv) and exact-key lookup, including keys that are prefixes of
 * other keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/labels.h"

static void check_texts(const char *key, const char *n, const char *p, const char *s, const char *f)
{
    const struct label_row *r = labels_find(key);
    if (!r)
        fail_msg("labels_find(\"%s\") = NULL", key);
    assert_string_equal(r->key, key);
    assert_string_equal(r->text[STATUS_NEW], n);
    assert_string_equal(r->text[STATUS_PENDING], p);
    assert_string_equal(r->text[STATUS_SUCCESSFUL], s);
    assert_string_equal(r->text[STATUS_FAILED], f);
    assert_string_equal(labels_text(key, STATUS_NEW), n);
    assert_string_equal(labels_text(key, STATUS_PENDING), p);
    assert_string_equal(labels_text(key, STATUS_SUCCESSFUL), s);
    assert_string_equal(labels_text(key, STATUS_FAILED), f);
}

/* ---- the table ---- */

static void test_row_count(void **state)
{
    (void)state;
    assert_int_equal(label_rows_count, 137);
}

static void test_sorted_strcmp_order(void **state)
{
    (void)state;
    for (size_t i = 1; i < label_rows_count; i++)
        if (strcmp(label_rows[i - 1].key, label_rows[i].key) >= 0)
            fail_msg("rows %zu and %zu out of order: \"%s\" >= \"%s\"", i - 1, i,
                     label_rows[i - 1].key, label_rows[i].key);
}

static void test_rows_complete(void **state)
{
    (void)state;
    for (size_t i = 0; i < label_rows_count; i++) {
        const struct label_row *r = &label_rows[i];
        assert_non_null(r->key);
        assert_true(r->key[0] != '\0');
        for (int s = 0; s < STATUS__COUNT; s++) {
            assert_non_null(r->text[s]);
            assert_true(r->text[s][0] != '\0');
            /* no stray field separators or line ends survived generation */
            assert_null(strpbrk(r->text[s], "\t\r\n"));
        }
        assert_null(strpbrk(r->key, "\t\r\n"));
        /* the New text of a predefined key is the key itself */
        assert_string_equal(r->text[STATUS_NEW], r->key);
    }
}

static void test_every_row_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < label_rows_count; i++) {
        assert_ptr_equal(labels_find(label_rows[i].key), &label_rows[i]);
        for (int s = 0; s < STATUS__COUNT; s++)
            assert_ptr_equal(labels_text(label_rows[i].key, (enum status)s), label_rows[i].text[s]);
    }
}

/* The path of data/labels.tsv, from this file's own path (tests/unit/test_labels.c). */
static bool tsv_path(char *out, size_t cap)
{
    const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_labels.c");
    if (!tail)
        return false;
    int n = snprintf(out, cap, "%.*sdata/labels.tsv", (int)(tail - me), me);
    return n > 0 && (size_t)n < cap;
}

static void test_matches_tsv(void **state)
{
    (void)state;
    char path[4096];
    FILE *f = tsv_path(path, sizeof(path)) ? fopen(path, "r") : NULL;
    if (!f) {
        skip(); /* the source tree is not where it was built from */
        return;
    }
    char line[1024];
    size_t rows = 0;
    bool header = true;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (header) {
            assert_string_equal(line, "labelKey\tNewStatus\tPendingStatus\tSuccessfulStatus\t"
                                      "FailedStatus");
            header = false;
            continue;
        }
        if (!line[0])
            continue;
        char *cols[5], *p = line;
        for (int c = 0; c < 5; c++) {
            cols[c] = p;
            p = strchr(p, '\t');
            if (c < 4) {
                if (!p)
                    fail_msg("labels.tsv: short line \"%s\"", cols[0]);
                *p++ = '\0';
            }
        }
        check_texts(cols[0], cols[1], cols[2], cols[3], cols[4]);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, label_rows_count);
}

/* ---- lookups ---- */

static void test_find_examples(void **state)
{
    (void)state;
    check_texts("Accept", "Accept", "Acceptance Pending", "Accepted", "Acceptance Failed");
    check_texts("Add", "Add", "Add Pending", "Added", "Add Failed");
    check_texts("Add to Calendar", "Add to Calendar", "Add to Calendar Pending",
                "Added to Calendar", "Add to Calendar Failed");
    check_texts("Add to Cart", "Add to Cart", "Add Pending", "Added", "Add Failed");
    check_texts("Call", "Call", "Call Pending", "Called", "Call Failed");
    check_texts("Call Me", "Call Me", "Call Pending", "Call Succeeded", "Call Failed");
    check_texts("Log", "Log", "Log Pending", "Logged", "Log Failed");
    check_texts("Log a Call", "Log a Call", "Log a Call Pending", "Logged a Call",
                "Log a Call Failed");
    check_texts("Send Email", "Send Email", "Send Email Pending", "Email Sent",
                "Send Email Failed");
    check_texts("OK", "OK", "OK Response Pending", "OK", "OK Response Failed");
    check_texts("Do", "Do", "Do Response Pending", "Do", "Do Response Failed");
    check_texts("Yes", "Yes", "Yes Response Pending", "Yes", "Yes Response Failed");
}

static void test_first_and_last(void **state)
{
    (void)state;
    /* the ends of the binary search */
    assert_ptr_equal(labels_find(label_rows[0].key), &label_rows[0]);
    assert_ptr_equal(labels_find(label_rows[label_rows_count - 1].key),
                     &label_rows[label_rows_count - 1]);
    assert_string_equal(label_rows[0].key, "Accept");
    assert_string_equal(label_rows[label_rows_count - 1].key, "Yes");
}

static void test_prefix_keys_are_distinct(void **state)
{
    (void)state;
    /* a key that is a prefix of another sorts first and finds only itself */
    static const char *const pairs[][2] = {
        {"Add", "Add to Calendar"},    {"Add", "Add to Cart"}, {"Call", "Call Me"},
        {"Convert", "Convert a Lead"}, {"Log", "Log a Call"},  {"Post", "Post Review"},
        {"Send", "Send Email"},        {"Do", "Donate"},       {"Down", "Download"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct label_row *a = labels_find(pairs[i][0]), *b = labels_find(pairs[i][1]);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(a != b);
        assert_true(a < b);
        assert_string_equal(a->key, pairs[i][0]);
        assert_string_equal(b->key, pairs[i][1]);
    }
    /* "OK" sorts before "Open" in strcmp order (upper case first) */
    assert_true(labels_find("OK") < labels_find("Open"));
}

static void test_find_refuses_near_misses(void **state)
{
    (void)state;
    static const char *const misses[] = {
        "",
        "A",
        "Ad",
        "Add ",
        " Add",
        "add",
        "ADD",
        "Add to",
        "Add to Cal",
        "Add to Calendar ",
        "Add to calendar",
        "Add\t",
        "Calendar",
        "None",
        "Call Me!",
        "Yes ",
        "Yess",
        "Zzz",
        "0",
        "Acc",
        "Accept\n",
        "Log a",
        "Send Email Now",
        "labelKey",
        "NewStatus",
        "Add Pending",
        "Added",
    };
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
        if (labels_find(misses[i]))
            fail_msg("labels_find(\"%s\") found a row", misses[i]);
    assert_null(labels_find(NULL));
}

static void test_text_of_unknown_key_is_key(void **state)
{
    (void)state;
    static const char unknown[] = "My Custom Label";
    for (int s = 0; s < STATUS__COUNT; s++)
        assert_ptr_equal(labels_text(unknown, (enum status)s), unknown);
    assert_null(labels_text(NULL, STATUS_NEW));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_row_count),
        cmocka_unit_test(test_sorted_strcmp_order),
        cmocka_unit_test(test_rows_complete),
        cmocka_unit_test(test_every_row_found),
        cmocka_unit_test(test_matches_tsv),
        cmocka_unit_test(test_find_examples),
        cmocka_unit_test(test_first_and_last),
        cmocka_unit_test(test_prefix_keys_are_distinct),
        cmocka_unit_test(test_find_refuses_near_misses),
        cmocka_unit_test(test_text_of_unknown_key_is_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
