/* Unit tests for core/clock: the ISO 8601 output form of SPEC 2, and parsing of the forms
 * clients send (Z, +0000, +00:00, other offsets, no milliseconds, short fractions), with
 * refusal of impossible dates and garbage. Expected instants were computed independently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"

static const int64_t T_2026 = 1795860930000; /* 2026-11-28T10:15:30.000Z */

static void check_format(int64_t ms, const char *want)
{
    char out[CLOCK_ISO_LEN + 1];
    memset(out, '#', sizeof(out));
    clock_format(ms, out);
    assert_string_equal(out, want);
}

static void check_parse(const char *s, int64_t want)
{
    int64_t ms = -12345;
    if (!clock_parse(s, &ms))
        fail_msg("clock_parse refused \"%s\"", s);
    if (ms != want)
        fail_msg("clock_parse(\"%s\") = %lld, want %lld", s, (long long)ms, (long long)want);
}

static void check_refused(const char *s)
{
    int64_t ms = 777;
    if (clock_parse(s, &ms))
        fail_msg("clock_parse accepted \"%s\" as %lld", s, (long long)ms);
}

/* ---- clock_format ---- */

static void test_format_examples(void **state)
{
    (void)state;
    check_format(0, "1970-01-01T00:00:00.000Z");
    check_format(T_2026, "2026-11-28T10:15:30.000Z");
    check_format(T_2026 + 7, "2026-11-28T10:15:30.007Z");
    check_format(T_2026 + 999, "2026-11-28T10:15:30.999Z");
    check_format(1709251199999, "2024-02-29T23:59:59.999Z");
    check_format(1709251200000, "2024-03-01T00:00:00.000Z");
    check_format(951825600000, "2000-02-29T12:00:00.000Z");
    check_format(946684799999, "1999-12-31T23:59:59.999Z");
    check_format(4107542400000, "2100-03-01T00:00:00.000Z");
    check_format(2147483648000, "2038-01-19T03:14:08.000Z"); /* past 32-bit time_t */
    check_format(253402300799999, "9999-12-31T23:59:59.999Z");
}

static void test_format_before_epoch(void **state)
{
    (void)state;
    check_format(-1, "1969-12-31T23:59:59.999Z");
    check_format(-999, "1969-12-31T23:59:59.001Z");
    check_format(-1000, "1969-12-31T23:59:59.000Z");
    check_format(-1001, "1969-12-31T23:59:58.999Z");
}

static void test_format_length(void **state)
{
    (void)state;
    char out[CLOCK_ISO_LEN + 1];
    clock_format(T_2026, out);
    assert_int_equal(strlen(out), CLOCK_ISO_LEN);
    assert_int_equal(CLOCK_ISO_LEN, 24);
}

/* ---- clock_parse: accepted forms ---- */

static void test_parse_z_with_millis(void **state)
{
    (void)state;
    check_parse("2026-11-28T10:15:30.000Z", T_2026);
    check_parse("2026-11-28T10:15:30.123Z", T_2026 + 123);
    check_parse("1970-01-01T00:00:00.000Z", 0);
    check_parse("1969-12-31T23:59:59.999Z", -1);
    check_parse("2024-02-29T23:59:59.999Z", 1709251199999);
    check_parse("2000-02-29T12:00:00.000Z", 951825600000);
    check_parse("9999-12-31T23:59:59.999Z", 253402300799999);
}

static void test_parse_no_millis(void **state)
{
    (void)state;
    check_parse("2026-11-28T10:15:30Z", T_2026);
    check_parse("2026-11-28T10:15:30+0000", T_2026);
    check_parse("2026-11-28T10:15:30+00:00", T_2026);
}

static void test_parse_utc_offsets(void **state)
{
    (void)state;
    check_parse("2026-11-28T10:15:30.000+0000", T_2026);
    check_parse("2026-11-28T10:15:30.000+00:00", T_2026);
    check_parse("2026-11-28T10:15:30.000-0000", T_2026);
    check_parse("2026-11-28T10:15:30.000-00:00", T_2026);
}

static void test_parse_other_offsets(void **state)
{
    (void)state;
    /* 10:15:30 at -05:30 is 15:45:30Z */
    check_parse("2026-11-28T10:15:30.000-05:30", T_2026 + (5 * 60 + 30) * 60000);
    check_parse("2026-11-28T10:15:30.000-0530", T_2026 + (5 * 60 + 30) * 60000);
    check_parse("2026-11-28T10:15:30-05:30", 1795880730000);
    /* 10:15:30 at +05:30 is 04:45:30Z */
    check_parse("2026-11-28T10:15:30+05:30", 1795841130000);
    check_parse("2026-11-28T10:15:30.000+0530", 1795841130000);
    check_parse("2026-11-28T10:15:30.250+01:00", T_2026 - 3600000 + 250);
    check_parse("2026-11-28T10:15:30.000+23:59", T_2026 - (23 * 60 + 59) * 60000);
    check_parse("2026-11-28T10:15:30.000-23:59", T_2026 + (23 * 60 + 59) * 60000);
    /* an offset that moves the instant into the previous day and year */
    check_parse("2026-01-01T00:30:00+01:00", 1767223800000);
}

static void test_parse_short_fractions(void **state)
{
    (void)state;
    check_parse("2026-11-28T10:15:30.5Z", T_2026 + 500);
    check_parse("2026-11-28T10:15:30.05Z", T_2026 + 50);
    check_parse("2026-11-28T10:15:30.25Z", T_2026 + 250);
    check_parse("2026-11-28T10:15:30.0Z", T_2026);
    check_parse("2026-11-28T10:15:30.7+00:00", T_2026 + 700);
    check_parse("2026-11-28T10:15:30.07-0000", T_2026 + 70);
    /* digits past the millisecond are dropped, not rounded */
    check_parse("2026-11-28T10:15:30.1239Z", T_2026 + 123);
    check_parse("2026-11-28T10:15:30.123456789Z", T_2026 + 123);
}

static void test_parse_leap_days(void **state)
{
    (void)state;
    check_parse("2024-02-29T00:00:00Z", 1709164800000);
    check_parse("2000-02-29T12:00:00Z", 951825600000);
    check_parse("2400-02-29T00:00:00Z", 13574563200000);
}

/* A deadline is now + ms in CLOCK_REALTIME, with the nanoseconds kept below a second. */
static void test_deadline(void **state)
{
    (void)state;
    const int64_t cases[] = {0, 1, 999, 1000, 1500, 2999, 86400000};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t before = clock_now_ms();
        struct timespec ts;
        clock_deadline(cases[i], &ts);
        int64_t after = clock_now_ms();
        assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
        int64_t at = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        assert_true(at >= before + cases[i]);
        assert_true(at <= after + cases[i]);
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    /* every week (plus an odd number of ms) from 1970 to 2200 */
    char s[CLOCK_ISO_LEN + 1];
    for (int64_t ms = 0; ms < 7258118400000; ms += 7 * 86400000LL + 3600000 + 61001) {
        clock_format(ms, s);
        check_parse(s, ms);
    }
    /* every day of a leap year and a common year, at 23:59:59.999 */
    for (int64_t ms = 1704153599999; ms < 1767225599999; ms += 86400000) {
        clock_format(ms, s);
        check_parse(s, ms);
    }
}

/* ---- clock_parse: refusals ---- */

static void test_refuse_impossible_dates(void **state)
{
    (void)state;
    check_refused("2025-02-29T00:00:00.000Z"); /* not a leap year */
    check_refused("2026-02-29T00:00:00Z");
    check_refused("1900-02-29T00:00:00Z"); /* divisible by 100, not 400 */
    check_refused("2100-02-29T00:00:00Z");
    check_refused("2024-02-30T00:00:00Z");
    check_refused("2024-04-31T00:00:00Z");
    check_refused("2024-06-31T00:00:00Z");
    check_refused("2024-09-31T00:00:00Z");
    check_refused("2024-11-31T00:00:00Z");
    check_refused("2024-01-32T00:00:00Z");
    check_refused("2024-12-32T00:00:00Z");
    check_refused("2024-00-10T00:00:00Z");
    check_refused("2024-13-10T00:00:00Z");
    check_refused("2024-01-00T00:00:00Z");
    check_refused("2024-01-10T24:00:00Z");
    check_refused("2024-01-10T23:60:00Z");
    check_refused("2024-01-10T23:59:60Z"); /* no leap seconds */
    check_refused("2024-01-10T99:99:99Z");
}

static void test_refuse_month_ends_accepted(void **state)
{
    (void)state;
    /* the last real day of every month is accepted */
    static const char *const ok[] = {
        "2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z", "2025-03-31T00:00:00Z",
        "2025-04-30T00:00:00Z", "2025-05-31T00:00:00Z", "2025-06-30T00:00:00Z",
        "2025-07-31T00:00:00Z", "2025-08-31T00:00:00Z", "2025-09-30T00:00:00Z",
        "2025-10-31T00:00:00Z", "2025-11-30T00:00:00Z", "2025-12-31T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t ms;
        if (!clock_parse(ok[i], &ms))
            fail_msg("refused %s", ok[i]);
    }
}

static void test_refuse_bad_offsets(void **state)
{
    (void)state;
    check_refused("2026-11-28T10:15:30.000+05");
    check_refused("2026-11-28T10:15:30.000+5:30");
    check_refused("2026-11-28T10:15:30.000+05:3");
    check_refused("2026-11-28T10:15:30.000+053");
    check_refused("2026-11-28T10:15:30.000+05::30");
    check_refused("2026-11-28T10:15:30.000+24:00");
    check_refused("2026-11-28T10:15:30.000+05:60");
    check_refused("2026-11-28T10:15:30.000+0a:00");
    check_refused("2026-11-28T10:15:30.000+");
    check_refused("2026-11-28T10:15:30.000-");
    check_refused("2026-11-28T10:15:30.000+05:30Z");
    check_refused("2026-11-28T10:15:30.000Z+00:00");
    check_refused("2026-11-28T10:15:30.000 +00:00");
    check_refused("2026-11-28T10:15:30.000UTC");
}

static void test_refuse_garbage(void **state)
{
    (void)state;
    check_refused("");
    check_refused("garbage");
    check_refused("2026-11-28");
    check_refused("2026-11-28T10:15");
    check_refused("2026-11-28T10:15Z");
    check_refused("2026-11-28T10:15:30");     /* no zone: local time is ambiguous */
    check_refused("2026-11-28T10:15:30.000"); /* likewise */
    check_refused("2026-11-28T10:15:30.Z");   /* a dot without digits */
    check_refused("2026-11-28T10:15:30.Z0");
    check_refused("2026-11-28T10:15:30.000Zjunk");
    check_refused("2026-11-28T10:15:30.000Z ");
    check_refused(" 2026-11-28T10:15:30.000Z");
    check_refused("2026-11-28 10:15:30.000Z");
    check_refused("2026/11/28T10:15:30.000Z");
    check_refused("2026-11-28T10-15-30.000Z");
    check_refused("26-11-28T10:15:30.000Z");
    check_refused("+2026-11-28T10:15:30.000Z");
    check_refused("2026-1-28T10:15:30.000Z");
    check_refused("2026-11-2T10:15:30.000Z");
    check_refused("2026-11-28T1:15:30.000Z");
    check_refused("2026-11-28T10:1:30.000Z");
    check_refused("2026-11-28T10:15:3.000Z");
    check_refused("2O26-11-28T10:15:30.000Z"); /* letter O */
    check_refused("2026-11-28T10:15:30,000Z"); /* comma fraction */
    check_refused("2026-1x-28T10:15:30.000Z");
    check_refused("2026-11-28T10:15:30.0a0Z");
    check_refused("1795860930000");
}

static void test_refuse_every_truncation(void **state)
{
    (void)state;
    /* no proper prefix of this valid date-time is itself valid */
    const char *full = "2026-11-28T10:15:30.123+05:30";
    char buf[64];
    for (size_t n = 0; n < strlen(full); n++) {
        memcpy(buf, full, n);
        buf[n] = '\0';
        check_refused(buf);
    }
}

static void test_refuse_keeps_output(void **state)
{
    (void)state;
    int64_t ms = 42;
    assert_false(clock_parse("2025-02-29T00:00:00Z", &ms));
    assert_false(clock_parse("nonsense", &ms));
    assert_int_equal(ms, 42);
}

/* ---- clocks ---- */

static void test_now_and_mono(void **state)
{
    (void)state;
    int64_t now = clock_now_ms();
    assert_true(now > 1704067200000); /* after 2024-01-01 */
    assert_true(now < 4102444800000); /* before 2100-01-01 */
    int64_t a = clock_mono_ms(), b = clock_mono_ms();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_examples),
        cmocka_unit_test(test_format_before_epoch),
        cmocka_unit_test(test_format_length),
        cmocka_unit_test(test_parse_z_with_millis),
        cmocka_unit_test(test_parse_no_millis),
        cmocka_unit_test(test_parse_utc_offsets),
        cmocka_unit_test(test_parse_other_offsets),
        cmocka_unit_test(test_parse_short_fractions),
        cmocka_unit_test(test_parse_leap_days),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refuse_impossible_dates),
        cmocka_unit_test(test_refuse_month_ends_accepted),
        cmocka_unit_test(test_refuse_bad_offsets),
        cmocka_unit_test(test_refuse_garbage),
        cmocka_unit_test(test_refuse_every_truncation),
        cmocka_unit_test(test_refuse_keeps_output),
        cmocka_unit_test(test_now_and_mono),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
