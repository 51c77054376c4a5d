/* Unit tests for domain/render: which {!name} placeholders are context variables (SPEC
 * 7.2), and filling them in, as they are or percent-encoded for URLs (SPEC 11.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "domain/render.h"

static struct arena arena;

static const struct render_ctx CTX = {
    .action_link_id = "0AnzzzzzzzzzzzzCAA",
    .action_link_group_id = "0AgABCDEFGHIJKL055",
    .community_id = "000000000000000000",
    .community_url = "",
    .org_id = "00D000000000000EAA",
    .user_id = "005aB3cD9eF1gH2QEJ",
    .callback_token = "00D000000000000EAA!AbC123xyz",
    .callback_url = "https://al.example.com/services/data/v66.0/connect/action-links/x",
};

static int setup(void **state)
{
    (void)state;
    arena_init(&arena);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    arena_cleanup(&arena);
    return 0;
}

/* ---- render_check ---- */

static void check_ok(const char *s)
{
    char bad[64] = "untouched";
    if (!render_check(s, bad, sizeof(bad)))
        fail_msg("render_check refused \"%s\" (bad = \"%s\")", s, bad);
}

static void check_bad(const char *s, const char *want_bad)
{
    char bad[64] = "";
    if (render_check(s, bad, sizeof(bad)))
        fail_msg("render_check accepted \"%s\"", s);
    assert_string_equal(bad, want_bad);
}

static void test_check_known(void **state)
{
    (void)state;
    check_ok("");
    check_ok("no variables at all");
    check_ok("{!actionLinkId}");
    check_ok("{!actionLinkGroupId}");
    check_ok("{!communityId}");
    check_ok("{!communityUrl}");
    check_ok("{!orgId}");
    check_ok("{!userId}");
    check_ok("{!callbackToken}");
    check_ok("{!callbackUrl}");
    check_ok("https://x.example.com/{!orgId}/{!userId}?l={!actionLinkId}&g={!actionLinkGroupId}"
             "&c={!communityId}{!communityUrl}&t={!callbackToken}&u={!callbackUrl}");
    check_ok("{!orgId}{!orgId}{!orgId}");
}

static void test_check_literal_text(void **state)
{
    (void)state;
    /* things that start with "{!" but are not placeholders are literal text */
    check_ok("{!}");
    check_ok("{!");
    check_ok("{!orgId");
    check_ok("{! orgId}");
    check_ok("{!org Id}");
    check_ok("{!org-Id}");
    check_ok("{{!orgId}}");
    check_ok("{!{!orgId}}");
    check_ok("!{orgId}");
    check_ok("{orgId}");
    check_ok("${orgId}");
    check_ok("{\"json\": {\"nested\": true}}");
}

static void test_check_unknown(void **state)
{
    (void)state;
    check_bad("{!nope}", "nope");
    check_bad("x{!OrgId}y", "OrgId"); /* case-sensitive */
    check_bad("{!orgid}", "orgid");
    check_bad("{!userID}", "userID");
    check_bad("{!Bindings.key}", "Bindings.key");
    check_bad("{!a_b.c9}", "a_b.c9");
    check_bad("{!orgId}{!userId}{!other}", "other"); /* the first unknown after known ones */
    check_bad("{!first}{!second}", "first");
    check_bad("{!orgIdX}", "orgIdX");
    check_bad("{!orgI}", "orgI");
    check_bad("{!{!inner}}", "inner");
}

static void test_check_truncates_name(void **state)
{
    (void)state;
    char bad[4] = "zzz";
    assert_false(render_check("{!abcdefgh}", bad, sizeof(bad)));
    assert_string_equal(bad, "abc");
    char one[1] = {'z'};
    assert_false(render_check("{!abcdefgh}", one, sizeof(one)));
    assert_int_equal(one[0], '\0');
}

/* ---- render_text ---- */

static void expect(const char *in, bool url, const char *want)
{
    char *out = render_text(&arena, in, &CTX, url);
    assert_non_null(out);
    assert_string_equal(out, want);
}

static void test_text_no_variables(void **state)
{
    (void)state;
    expect("", false, "");
    expect("", true, "");
    expect("plain text", false, "plain text");
    /* literal parts of a URL are never encoded, only inserted values are */
    expect("https://x.example.com/a b?q=1&r=%20", true, "https://x.example.com/a b?q=1&r=%20");
    assert_null(render_text(&arena, NULL, &CTX, false));
    const char *s = "copy";
    char *out = render_text(&arena, s, &CTX, false);
    assert_true(out != s);
}

static void test_text_each_variable(void **state)
{
    (void)state;
    expect("{!actionLinkId}", false, "0AnzzzzzzzzzzzzCAA");
    expect("{!actionLinkGroupId}", false, "0AgABCDEFGHIJKL055");
    expect("{!communityId}", false, "000000000000000000");
    expect("{!communityUrl}", false, "");
    expect("{!orgId}", false, "00D000000000000EAA");
    expect("{!userId}", false, "005aB3cD9eF1gH2QEJ");
    expect("{!callbackToken}", false, "00D000000000000EAA!AbC123xyz");
    expect("{!callbackUrl}", false,
           "https://al.example.com/services/data/v66.0/connect/action-links/x");
}

static void test_text_in_context(void **state)
{
    (void)state;
    expect("https://x.example.com/orgs/{!orgId}/users/{!userId}?link={!actionLinkId}", false,
           "https://x.example.com/orgs/00D000000000000EAA/users/005aB3cD9eF1gH2QEJ?link="
           "0AnzzzzzzzzzzzzCAA");
    expect("{!orgId}{!userId}", false, "00D000000000000EAA005aB3cD9eF1gH2QEJ");
    expect("a{!communityUrl}b", false, "ab");
    expect("{!orgId}-{!orgId}", false, "00D000000000000EAA-00D000000000000EAA");
    expect("{\"u\":\"{!userId}\"}", false, "{\"u\":\"005aB3cD9eF1gH2QEJ\"}");
}

static void test_text_literal_and_unknown_kept(void **state)
{
    (void)state;
    expect("{!nope}", false, "{!nope}");
    expect("{!nope}", true, "{!nope}");
    expect("a{!}b{!orgId", false, "a{!}b{!orgId");
    expect("{{!orgId}}", false, "{00D000000000000EAA}");
    expect("{!{!orgId}}", false, "{!00D000000000000EAA}");
    expect("{! orgId}{!orgId}", false, "{! orgId}00D000000000000EAA");
    expect("{!Bindings.x}/{!userId}", false, "{!Bindings.x}/005aB3cD9eF1gH2QEJ");
}

static void test_text_null_values_are_empty(void **state)
{
    (void)state;
    struct render_ctx empty;
    memset(&empty, 0, sizeof(empty));
    char *out = render_text(&arena,
                            "[{!actionLinkId}|{!actionLinkGroupId}|{!communityId}|"
                            "{!communityUrl}|{!orgId}|{!userId}|{!callbackToken}|"
                            "{!callbackUrl}]",
                            &empty, true);
    assert_string_equal(out, "[|||||||]");
}

static void test_text_values_not_expanded_again(void **state)
{
    (void)state;
    /* a value that looks like a placeholder is inserted as text, not filled in again */
    struct render_ctx c = CTX;
    c.user_id = "{!orgId}";
    char *out = render_text(&arena, "{!userId}", &c, false);
    assert_string_equal(out, "{!orgId}");
    out = render_text(&arena, "{!userId}", &c, true);
    assert_string_equal(out, "%7B%21orgId%7D");
}

static void test_text_url_encoding(void **state)
{
    (void)state;
    struct render_ctx c = CTX;
    c.user_id = "a b&c/d?e=f#g+h%i~j-k.l_m";
    char *out = render_text(&arena, "https://x.example.com/u/{!userId}?v={!userId}", &c, true);
    assert_string_equal(out, "https://x.example.com/u/a%20b%26c%2Fd%3Fe%3Df%23g%2Bh%25i~j-k.l_m"
                             "?v=a%20b%26c%2Fd%3Fe%3Df%23g%2Bh%25i~j-k.l_m");
    /* the same value in a header or body goes in as it is */
    out = render_text(&arena, "{!userId}", &c, false);
    assert_string_equal(out, "a b&c/d?e=f#g+h%i~j-k.l_m");
    /* the callback URL as a query parameter */
    out = render_text(&arena, "https://x.example.com/hook?cb={!callbackUrl}", &CTX, true);
    assert_string_equal(out, "https://x.example.com/hook?cb=https%3A%2F%2Fal.example.com%2F"
                             "services%2Fdata%2Fv66.0%2Fconnect%2Faction-links%2Fx");
    out = render_text(&arena, "{!callbackToken}", &CTX, true);
    assert_string_equal(out, "00D000000000000EAA%21AbC123xyz");
    /* 18-character ids are all unreserved: unchanged */
    out = render_text(&arena, "{!orgId}/{!communityId}", &CTX, true);
    assert_string_equal(out, "00D000000000000EAA/000000000000000000");
}

static void test_text_url_encoding_every_byte(void **state)
{
    (void)state;
    /* SPEC 11.6: everything but A-Z a-z 0-9 - . _ ~ is %HH with upper-case hex */
    static const char hex[] = "0123456789ABCDEF";
    struct render_ctx c = CTX;
    char value[2] = {0, 0};
    c.user_id = value;
    for (int b = 1; b < 256; b++) {
        value[0] = (char)b;
        char *out = render_text(&arena, "{!userId}", &c, true);
        bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                          (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' || b == '~';
        if (unreserved) {
            assert_int_equal(strlen(out), 1);
            assert_int_equal((unsigned char)out[0], b);
        } else {
            char want[4] = {'%', hex[b >> 4], hex[b & 15], 0};
            if (strcmp(out, want) != 0)
                fail_msg("byte 0x%02x: got \"%s\", want \"%s\"", b, out, want);
        }
    }
    /* UTF-8 is encoded byte by byte */
    c.user_id = "caf\xc3\xa9 \xe2\x82\xac";
    assert_string_equal(render_text(&arena, "{!userId}", &c, true), "caf%C3%A9%20%E2%82%AC");
    assert_string_equal(render_text(&arena, "{!userId}", &c, false), "caf\xc3\xa9 \xe2\x82\xac");
}

static void test_text_large(void **state)
{
    (void)state;
    /* many placeholders in a big body: every one filled, nothing lost */
    enum { REPS = 5000 };
    const char *unit = "<{!orgId}>";
    size_t ulen = strlen(unit);
    char *in = malloc(ulen * REPS + 1);
    assert_non_null(in);
    for (int i = 0; i < REPS; i++)
        memcpy(in + i * ulen, unit, ulen);
    in[ulen * REPS] = '\0';
    char *out = render_text(&arena, in, &CTX, false);
    assert_int_equal(strlen(out), (size_t)REPS * (18 + 2));
    for (int i = 0; i < REPS; i++)
        assert_memory_equal(out + i * 20, "<00D000000000000EAA>", 20);
    free(in);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_known),
        T(test_check_literal_text),
        T(test_check_unknown),
        T(test_check_truncates_name),
        T(test_text_no_variables),
        T(test_text_each_variable),
        T(test_text_in_context),
        T(test_text_literal_and_unknown_kept),
        T(test_text_null_values_are_empty),
        T(test_text_values_not_expanded_again),
        T(test_text_url_encoding),
        T(test_text_url_encoding_every_byte),
        T(test_text_large),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
