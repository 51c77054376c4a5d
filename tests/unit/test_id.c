/* Unit tests for core/id: new ids (prefix, alphabet, uniqueness, order, node bits), the
 * 18-character case-safe form of SPEC 3 against hand-computed examples, and parsing of the
 * 15- and 18-character forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/id.h"

/* SPEC 3: the bit mask of a chunk's upper-case letters indexes this alphabet. */
static const char spec_suffix[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const char spec_b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const int64_t spec_epoch_ms = 1704067200000; /* 2024-01-01T00:00:00Z, per id.c */

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

static bool all_b62(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(spec_b62, s[i]))
            return false;
    return true;
}

/* The 71-bit number in the 12 characters after the prefix. */
static unsigned __int128 decode12(const char *id15)
{
    unsigned __int128 v = 0;
    for (int i = 3; i < ID_LEN; i++)
        v = v * 62 + (unsigned)(strchr(spec_b62, id15[i]) - spec_b62);
    return v;
}

/* ---- id_prefix ---- */

static void test_prefixes(void **state)
{
    (void)state;
    assert_string_equal(id_prefix(ID_ORG), "00D");
    assert_string_equal(id_prefix(ID_USER), "005");
    assert_string_equal(id_prefix(ID_APP), "0H4");
    assert_string_equal(id_prefix(ID_GROUP), "0Ag");
    assert_string_equal(id_prefix(ID_LINK), "0An");
    assert_string_equal(id_prefix(ID_GROUP_TEMPLATE), "07g");
    assert_string_equal(id_prefix(ID_LINK_TEMPLATE), "07l");
    assert_string_equal(id_prefix(ID_FEED_ITEM), "0D5");
    /* every kind has a distinct 3-character prefix */
    for (int a = 0; a < ID_KIND__COUNT; a++) {
        assert_int_equal(strlen(id_prefix((enum id_kind)a)), 3);
        for (int b = a + 1; b < ID_KIND__COUNT; b++)
            assert_string_not_equal(id_prefix((enum id_kind)a), id_prefix((enum id_kind)b));
    }
}

/* ---- id_new ---- */

static void test_new_shape_every_kind(void **state)
{
    (void)state;
    for (int k = 0; k < ID_KIND__COUNT; k++) {
        char id[ID_LEN + 1];
        memset(id, 'x', sizeof(id));
        id_new((enum id_kind)k, id);
        assert_int_equal(strlen(id), ID_LEN);
        assert_memory_equal(id, id_prefix((enum id_kind)k), 3);
        assert_true(all_b62(id + 3, 12));
    }
}

enum { MANY = 100000 };

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_new_unique_and_increasing(void **state)
{
    (void)state;
    char(*ids)[ID_LEN + 1] = malloc(sizeof(*ids) * MANY);
    assert_non_null(ids);
    for (int i = 0; i < MANY; i++) {
        id_new(ID_LINK, ids[i]);
        /* base-62 digits are in ASCII order and fixed width: string order is time order */
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    }
    qsort(ids, MANY, sizeof(*ids), cmp_id);
    for (int i = 1; i < MANY; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void test_new_increasing_across_kinds(void **state)
{
    (void)state;
    /* one counter for every kind: the 12-character body keeps increasing */
    char prev[ID_LEN + 1], cur[ID_LEN + 1];
    id_new(ID_GROUP, prev);
    for (int i = 0; i < 1000; i++) {
        id_new((enum id_kind)(i % ID_KIND__COUNT), cur);
        assert_true(strcmp(prev + 3, cur + 3) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
}

static void test_new_embeds_time_and_node(void **state)
{
    (void)state;
    id_set_node(0x1234);
    int64_t before = clock_now_ms();
    char id[ID_LEN + 1];
    id_new(ID_USER, id);
    int64_t after = clock_now_ms();
    unsigned __int128 v = decode12(id);
    int64_t ms = (int64_t)(v >> 30) + spec_epoch_ms;
    assert_true(ms >= before);
    assert_true(ms <= after + 1000); /* the counter may run a little ahead of the clock */
    assert_int_equal((unsigned)(v >> 16) & 0x3fff, 0x1234);
}

static void test_set_node_masks_to_14_bits(void **state)
{
    (void)state;
    char id[ID_LEN + 1];
    id_set_node(0x4001);
    id_new(ID_USER, id);
    assert_int_equal((unsigned)(decode12(id) >> 16) & 0x3fff, 1);
    id_set_node(0xffff);
    id_new(ID_USER, id);
    assert_int_equal((unsigned)(decode12(id) >> 16) & 0x3fff, 0x3fff);
    id_set_node(0);
    id_new(ID_USER, id);
    assert_int_equal((unsigned)(decode12(id) >> 16) & 0x3fff, 0);
}

static void test_new_differs_by_node(void **state)
{
    (void)state;
    char a[ID_LEN + 1], b[ID_LEN + 1];
    id_set_node(1);
    id_new(ID_GROUP, a);
    id_set_node(2);
    id_new(ID_GROUP, b);
    assert_string_not_equal(a, b);
    assert_int_equal((unsigned)(decode12(a) >> 16) & 0x3fff, 1);
    assert_int_equal((unsigned)(decode12(b) >> 16) & 0x3fff, 2);
}

/* ---- id_to18 ---- */

static void check18(const char *id15, const char *want18)
{
    char out[ID_LEN18 + 1];
    memset(out, '#', sizeof(out));
    id_to18(id15, out);
    assert_string_equal(out, want18);
}

static void test_to18_hand_computed(void **state)
{
    (void)state;
    /* The example Salesforce gives: "VALDt" has V,A,L,D upper = bits 0-3 = 15 = 'P'. */
    check18("0015000000VALDt", "0015000000VALDtAAP");
    /* "00D00": D at index 2 -> 4 -> 'E' */
    check18("00D000000000000", "00D000000000000EAA");
    /* "0AgAB": A@1 A@3 B@4 -> 2+8+16 = 26 -> '0'; all upper -> 31 -> '5' */
    check18("0AgABCDEFGHIJKL", "0AgABCDEFGHIJKL055");
    /* "0Anzz": A@1 -> 2 -> 'C' */
    check18("0Anzzzzzzzzzzzz", "0AnzzzzzzzzzzzzCAA");
    /* "005aB": B@4 -> 16 -> 'Q'; "3cD9e": D@2 -> 4 -> 'E'; "F1gH2": F@0 H@3 -> 9 -> 'J' */
    check18("005aB3cD9eF1gH2", "005aB3cD9eF1gH2QEJ");
    /* "0H4Zz": H@1 Z@3 -> 10 -> 'K' */
    check18("0H4Zzzzzzzzzzzz", "0H4ZzzzzzzzzzzzKAA");
    /* "07gzB" -> 16 'Q'; "CDEaB": 0,1,2,4 -> 23 'X'; "CDEFz": 0-3 -> 15 'P' */
    check18("07gzBCDEaBCDEFz", "07gzBCDEaBCDEFzQXP");
    /* "0D5AB" -> 26 '0'; "CDEFG" -> 31 '5'; "HIJKa" -> 15 'P' */
    check18("0D5ABCDEFGHIJKa", "0D5ABCDEFGHIJKa05P");
    /* "07lab" -> 0 'A'; "Abcde" -> 1 'B'; "fghiJ" -> 16 'Q' */
    check18("07labAbcdefghiJ", "07labAbcdefghiJABQ");
    /* digits only */
    check18("000000000000000", "000000000000000AAA");
}

static void test_to18_every_mask(void **state)
{
    (void)state;
    /* For each chunk position and each of the 32 masks, the suffix letter is
     * spec_suffix[mask] and the other chunks stay 'A'. */
    for (int chunk = 0; chunk < 3; chunk++) {
        for (unsigned mask = 0; mask < 32; mask++) {
            char id15[ID_LEN + 1] = "abcdeabcdeabcde", want[ID_LEN18 + 1];
            for (int i = 0; i < 5; i++)
                if (mask & (1u << i))
                    id15[chunk * 5 + i] = (char)(id15[chunk * 5 + i] - 'a' + 'A');
            memcpy(want, id15, ID_LEN);
            want[15] = want[16] = want[17] = 'A';
            want[15 + chunk] = spec_suffix[mask];
            want[ID_LEN18] = '\0';
            check18(id15, want);
        }
    }
}

static void test_to18_digits_never_count(void **state)
{
    (void)state;
    check18("0123456789012ab", "0123456789012abAAA");
    check18("zzzzz99999ZZZZZ", "zzzzz99999ZZZZZAA5");
}

/* ---- id_parse ---- */

static void parse_ok(const char *in, enum id_kind kind, const char *want15)
{
    char out[ID_LEN + 1];
    memset(out, '#', sizeof(out));
    assert_true(id_parse(in, kind, out));
    assert_string_equal(out, want15);
}

static void parse_bad(const char *in, enum id_kind kind)
{
    char out[ID_LEN + 1];
    assert_false(id_parse(in, kind, out));
}

static void test_parse_15(void **state)
{
    (void)state;
    parse_ok("0AgABCDEFGHIJKL", ID_GROUP, "0AgABCDEFGHIJKL");
    parse_ok("005aB3cD9eF1gH2", ID_USER, "005aB3cD9eF1gH2");
    parse_ok("00D000000000000", ID_ORG, "00D000000000000");
    parse_ok("0H4ZzzzzzzzzzzZ", ID_APP, "0H4ZzzzzzzzzzzZ");
    parse_ok("0Anzzzzzzzzzzzz", ID_LINK, "0Anzzzzzzzzzzzz");
    parse_ok("07gzBCDEaBCDEFz", ID_GROUP_TEMPLATE, "07gzBCDEaBCDEFz");
    parse_ok("07labAbcdefghiJ", ID_LINK_TEMPLATE, "07labAbcdefghiJ");
    parse_ok("0D5ABCDEFGHIJKa", ID_FEED_ITEM, "0D5ABCDEFGHIJKa");
}

static void test_parse_18(void **state)
{
    (void)state;
    parse_ok("0AgABCDEFGHIJKL055", ID_GROUP, "0AgABCDEFGHIJKL");
    parse_ok("005aB3cD9eF1gH2QEJ", ID_USER, "005aB3cD9eF1gH2");
    parse_ok("00D000000000000EAA", ID_ORG, "00D000000000000");
    parse_ok("0AnzzzzzzzzzzzzCAA", ID_LINK, "0Anzzzzzzzzzzzz");
    parse_ok("07gzBCDEaBCDEFzQXP", ID_GROUP_TEMPLATE, "07gzBCDEaBCDEFz");
    parse_ok("07labAbcdefghiJABQ", ID_LINK_TEMPLATE, "07labAbcdefghiJ");
    parse_ok("0D5ABCDEFGHIJKa05P", ID_FEED_ITEM, "0D5ABCDEFGHIJKa");
    /* a lower-case suffix letter means the same */
    parse_ok("005aB3cD9eF1gH2qej", ID_USER, "005aB3cD9eF1gH2");
}

static void test_parse_18_case_folded(void **state)
{
    (void)state;
    /* A client (or a case-insensitive database) folded the case: the suffix restores it,
     * including the case of the key prefix itself. */
    parse_ok("005ab3cd9ef1gh2qej", ID_USER, "005aB3cD9eF1gH2");
    parse_ok("005AB3CD9EF1GH2QEJ", ID_USER, "005aB3cD9eF1gH2");
    parse_ok("0agabcdefghijkl055", ID_GROUP, "0AgABCDEFGHIJKL");
    parse_ok("0AGABCDEFGHIJKL055", ID_GROUP, "0AgABCDEFGHIJKL");
    parse_ok("0anzzzzzzzzzzzzcaa", ID_LINK, "0Anzzzzzzzzzzzz");
    parse_ok("0ANZZZZZZZZZZZZCAA", ID_LINK, "0Anzzzzzzzzzzzz");
    parse_ok("07gzbcdeabcdefzqxp", ID_GROUP_TEMPLATE, "07gzBCDEaBCDEFz");
    parse_ok("0d5abcdefghijka05p", ID_FEED_ITEM, "0D5ABCDEFGHIJKa");
    parse_ok("00d000000000000eaa", ID_ORG, "00D000000000000");
}

static void test_parse_round_trip_new_ids(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        enum id_kind kind = (enum id_kind)(i % ID_KIND__COUNT);
        char id[ID_LEN + 1], id18[ID_LEN18 + 1], folded[ID_LEN18 + 1];
        id_new(kind, id);
        id_to18(id, id18);
        assert_memory_equal(id18, id, ID_LEN);
        parse_ok(id, kind, id);
        parse_ok(id18, kind, id);
        memcpy(folded, id18, sizeof(folded));
        lower(folded);
        parse_ok(folded, kind, id);
        upper(folded);
        parse_ok(folded, kind, id);
    }
}

static void test_parse_wrong_prefix(void **state)
{
    (void)state;
    /* a link id is not a group id, and so on */
    parse_bad("0AnABCDEFGHIJKL", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL", ID_LINK);
    parse_bad("0AgABCDEFGHIJKL055", ID_LINK);
    parse_bad("005aB3cD9eF1gH2", ID_ORG);
    parse_bad("005aB3cD9eF1gH2QEJ", ID_APP);
    parse_bad("0015000000VALDt", ID_USER);
    parse_bad("0015000000VALDtAAP", ID_USER);
    /* the 15-character form is case-sensitive: "0ag" is not "0Ag" */
    parse_bad("0agABCDEFGHIJKL", ID_GROUP);
    parse_bad("0AGABCDEFGHIJKL", ID_GROUP);
    /* an 18-character id whose suffix says the prefix is "0AG" */
    parse_bad("0agabcdefghijkl555", ID_GROUP);
    /* every kind refuses every other kind's id */
    for (int a = 0; a < ID_KIND__COUNT; a++) {
        char id[ID_LEN + 1], id18[ID_LEN18 + 1];
        id_new((enum id_kind)a, id);
        id_to18(id, id18);
        for (int b = 0; b < ID_KIND__COUNT; b++) {
            char out[ID_LEN + 1];
            assert_int_equal(id_parse(id, (enum id_kind)b, out), a == b);
            assert_int_equal(id_parse(id18, (enum id_kind)b, out), a == b);
        }
    }
}

static void test_parse_bad_chars(void **state)
{
    (void)state;
    parse_bad("0AgABCDEFGHIJK-", ID_GROUP);
    parse_bad("0AgABCDEFG IJKL", ID_GROUP);
    parse_bad("0AgABCDEFG_IJKL", ID_GROUP);
    parse_bad("0AgABCDEFG!IJKL", ID_GROUP);
    parse_bad("0AgABCDEFG.IJKL", ID_GROUP);
    parse_bad("0AgABCDEFG/IJKL", ID_GROUP);
    parse_bad("0AgABCDEFG\xc3\xa9JKL", ID_GROUP); /* 15 bytes, one non-ASCII letter */
    parse_bad("0AgABCDEFGHIJKL05-", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL05 ", ID_GROUP);
    /* a suffix character outside A-Z0-5 (6..9 index nothing) */
    parse_bad("0AgABCDEFGHIJKL056", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL059", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL905", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL075", ID_GROUP);
    /* every byte that is not a letter or digit, at one position of a valid 15-char id */
    for (int c = 1; c < 256; c++) {
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            continue;
        char in[ID_LEN + 1] = "0AgABCDEFGHIJKL";
        in[9] = (char)c;
        parse_bad(in, ID_GROUP);
        char in18[ID_LEN18 + 1] = "0AgABCDEFGHIJKL055";
        in18[16] = (char)c;
        parse_bad(in18, ID_GROUP);
    }
}

static void test_parse_wrong_lengths(void **state)
{
    (void)state;
    const char *full = "0AgABCDEFGHIJKL055xyz";
    for (size_t n = 0; n <= strlen(full); n++) {
        if (n == ID_LEN || n == ID_LEN18)
            continue;
        char in[32];
        memcpy(in, full, n);
        in[n] = '\0';
        parse_bad(in, ID_GROUP);
    }
    parse_bad("", ID_GROUP);
    parse_bad(NULL, ID_GROUP);
    /* 16 and 17: a partial suffix is not an id */
    parse_bad("0AgABCDEFGHIJKL0", ID_GROUP);
    parse_bad("0AgABCDEFGHIJKL05", ID_GROUP);
}

static void test_parse_suffix_wins_over_case(void **state)
{
    (void)state;
    /* The suffix is authoritative: with "AAA" every letter of the body is lower case, */
    parse_ok("005AB3CD9EF1GH2AAA", ID_USER, "005ab3cd9ef1gh2");
    /* "CAA" leaves only the prefix's A upper case, */
    parse_ok("0AgABCDEFGHIJKLCAA", ID_GROUP, "0Agabcdefghijkl");
    /* and "555" would make the prefix "0AG": not a group id. */
    parse_bad("0Agabcdefghijkl555", ID_GROUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_new_shape_every_kind),
        cmocka_unit_test(test_new_unique_and_increasing),
        cmocka_unit_test(test_new_increasing_across_kinds),
        cmocka_unit_test(test_new_embeds_time_and_node),
        cmocka_unit_test(test_set_node_masks_to_14_bits),
        cmocka_unit_test(test_new_differs_by_node),
        cmocka_unit_test(test_to18_hand_computed),
        cmocka_unit_test(test_to18_every_mask),
        cmocka_unit_test(test_to18_digits_never_count),
        cmocka_unit_test(test_parse_15),
        cmocka_unit_test(test_parse_18),
        cmocka_unit_test(test_parse_18_case_folded),
        cmocka_unit_test(test_parse_round_trip_new_ids),
        cmocka_unit_test(test_parse_wrong_prefix),
        cmocka_unit_test(test_parse_bad_chars),
        cmocka_unit_test(test_parse_wrong_lengths),
        cmocka_unit_test(test_parse_suffix_wins_over_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
