/* Unit tests for callout/diag, the diagnostic lines of SPEC 7.7 and 11.5: the scrubbed URL
 * (scheme://host[:port]/path, default ports dropped, no query, fragment or userinfo, IPv6
 * hosts in brackets, "(invalid URL)"), the standard reason phrases (none for an unknown
 * code, and then no space either), the exact "answered" and "failed" lines, and the
 * escaping of the excerpt: the first 512 raw bytes, escaped afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "callout/diag.h"
#include "core/arena.h"

static int setup(void **state)
{
    struct arena *a = malloc(sizeof(*a));
    if (!a)
        return -1;
    arena_init(a);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    arena_cleanup(*state);
    free(*state);
    return 0;
}

/* ---- diag_url ------------------------------------------------------------------------ */

static void expect_url(struct arena *a, const char *in, const char *want)
{
    const char *got = diag_url(a, in);
    if (!got || strcmp(got, want) != 0)
        fail_msg("diag_url(\"%s\") = \"%s\", want \"%s\"", in, got ? got : "(null)", want);
}

static void test_url_plain(void **state)
{
    struct arena *a = *state;
    expect_url(a, "https://example.com/a/b", "https://example.com/a/b");
    expect_url(a, "http://example.com/a", "http://example.com/a");
    expect_url(a, "https://api.example.com/v1/items/42/", "https://api.example.com/v1/items/42/");
    expect_url(a, "https://example.com/a%20b/c%2Fd", "https://example.com/a%20b/c%2Fd");
}

/* The kept answers are diag_url's, for URLs seen again and after more distinct URLs than
 * are kept; URLs with a query, fragment or userinfo (or too long) are never kept. */
static void test_url_kept(void **state)
{
    struct arena *a = *state;
    struct diag_urls k = {0};
    char *longest = arena_alloc(a, DIAG_URL_KEPT_MAX + 64);
    strcpy(longest, "https://example.com/");
    memset(longest + strlen(longest), 'p', DIAG_URL_KEPT_MAX);
    longest[DIAG_URL_KEPT_MAX + 20] = '\0';
    const char *fixed[] = {
        "https://example.com:443/a",
        "http://u:p@10.0.0.1:80/x",
        "https://example.com/a?t=1",
        "https://example.com/a#frag",
        "not a url",
        longest,
    };
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3 * DIAG_URLS_KEPT; i++) {
            const char *url =
                i < 6 ? fixed[i]
                      : arena_printf(a, "https://h%d.example.com:%d/p/%d",
                                     (i * 7) % (2 * DIAG_URLS_KEPT), 8000 + i % 3, i % 5);
            const char *got = diag_url_kept(&k, a, url), *want = diag_url(a, url);
            if (strcmp(got, want) != 0)
                fail_msg("diag_url_kept(\"%s\") = \"%s\", want \"%s\"", url, got, want);
        }
    }
    for (int i = 0; i < DIAG_URLS_KEPT; i++)
        if (k.url[i])
            assert_null(strpbrk(k.url[i], "?#@"));
    /* as many URLs as are kept, seen again: every answer from what was kept */
    for (int round = 0; round < 3; round++) {
        unsigned kept = k.next;
        for (int i = 0; i < DIAG_URLS_KEPT; i++) {
            const char *url = arena_printf(a, "https://again%d.example.com:%d/p", i, 8000 + i);
            const char *got = diag_url_kept(&k, a, url), *want = diag_url(a, url);
            assert_string_equal(got, want);
        }
        if (round > 0)
            assert_int_equal(k.next, kept);
    }
    assert_string_equal(diag_url_kept(&k, a, NULL), diag_url(a, NULL));
    diag_urls_free(&k);
    diag_urls_free(&k); /* twice is harmless */
}

static void test_url_empty_path_is_slash(void **state)
{
    struct arena *a = *state;
    expect_url(a, "https://example.com", "https://example.com/");
    expect_url(a, "https://example.com?x=1", "https://example.com/");
}

static void test_url_default_ports_dropped(void **state)
{
    struct arena *a = *state;
    expect_url(a, "https://example.com:443/a", "https://example.com/a");
    expect_url(a, "http://example.com:80/a", "http://example.com/a");
    expect_url(a, "HTTPS://example.com:443/a", "https://example.com/a");
    expect_url(a, "https://[2001:db8::1]:443/a", "https://[2001:db8::1]/a");
}

static void test_url_other_ports_kept(void **state)
{
    struct arena *a = *state;
    expect_url(a, "https://example.com:8443/a", "https://example.com:8443/a");
    expect_url(a, "http://example.com:8080/a", "http://example.com:8080/a");
    /* The default of the other scheme is not the default of this one. */
    expect_url(a, "http://example.com:443/a", "http://example.com:443/a");
    expect_url(a, "https://example.com:80/a", "https://example.com:80/a");
    expect_url(a, "http://127.0.0.1:54321/x", "http://127.0.0.1:54321/x");
}

static void test_url_query_fragment_userinfo_dropped(void **state)
{
    struct arena *a = *state;
    expect_url(a, "https://example.com/a?secret=s3cr3t", "https://example.com/a");
    expect_url(a, "https://example.com/a#frag", "https://example.com/a");
    expect_url(a, "https://example.com/a?x=1&y=2#frag", "https://example.com/a");
    expect_url(a, "https://user:pass@example.com/a", "https://example.com/a");
    expect_url(a, "https://user@example.com:8443/a?token=abc#f", "https://example.com:8443/a");
    expect_url(a, "http://u:p@10.0.0.1:80/latest/meta-data?k=v",
               "http://10.0.0.1/latest/meta-data");
    /* Nothing of the secret survives anywhere in the line. */
    const char *got = diag_url(a, "https://admin:hunter2@example.com/p?api_key=topsecret#x");
    assert_null(strstr(got, "hunter2"));
    assert_null(strstr(got, "admin"));
    assert_null(strstr(got, "topsecret"));
    assert_null(strstr(got, "?"));
    assert_null(strstr(got, "#"));
}

static void test_url_ipv6_host_in_brackets(void **state)
{
    struct arena *a = *state;
    expect_url(a, "http://[::1]/x", "http://[::1]/x");
    expect_url(a, "http://[::1]:8080/x", "http://[::1]:8080/x");
    expect_url(a, "https://[2606:4700:4700::1111]/dns-query?name=x",
               "https://[2606:4700:4700::1111]/dns-query");
}

static void test_url_invalid(void **state)
{
    struct arena *a = *state;
    expect_url(a, "", "(invalid URL)");
    expect_url(a, "not a url", "(invalid URL)");
    expect_url(a, "http://", "(invalid URL)");
    expect_url(a, "https://exa mple.com/", "(invalid URL)");
    expect_url(a, "https://[::1/x", "(invalid URL)");
    expect_url(a, "https://example.com:99999/x", "(invalid URL)");
}

/* ---- diag_reason --------------------------------------------------------------------- */

static void expect_reason(long code, const char *want)
{
    const char *got = diag_reason(code);
    if (!want && got)
        fail_msg("diag_reason(%ld) = \"%s\", want NULL", code, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("diag_reason(%ld) = \"%s\", want \"%s\"", code, got ? got : "(null)", want);
}

static void test_reason_standard(void **state)
{
    (void)state;
    /* RFC 9110 section 15 phrases. */
    expect_reason(100, "Continue");
    expect_reason(101, "Switching Protocols");
    expect_reason(200, "OK");
    expect_reason(201, "Created");
    expect_reason(202, "Accepted");
    expect_reason(203, "Non-Authoritative Information");
    expect_reason(204, "No Content");
    expect_reason(205, "Reset Content");
    expect_reason(206, "Partial Content");
    expect_reason(300, "Multiple Choices");
    expect_reason(301, "Moved Permanently");
    expect_reason(302, "Found");
    expect_reason(303, "See Other");
    expect_reason(304, "Not Modified");
    expect_reason(305, "Use Proxy");
    expect_reason(307, "Temporary Redirect");
    expect_reason(308, "Permanent Redirect");
    expect_reason(400, "Bad Request");
    expect_reason(401, "Unauthorized");
    expect_reason(402, "Payment Required");
    expect_reason(403, "Forbidden");
    expect_reason(404, "Not Found");
    expect_reason(405, "Method Not Allowed");
    expect_reason(406, "Not Acceptable");
    expect_reason(407, "Proxy Authentication Required");
    expect_reason(408, "Request Timeout");
    expect_reason(409, "Conflict");
    expect_reason(410, "Gone");
    expect_reason(411, "Length Required");
    expect_reason(412, "Precondition Failed");
    expect_reason(413, "Content Too Large");
    expect_reason(414, "URI Too Long");
    expect_reason(415, "Unsupported Media Type");
    expect_reason(416, "Range Not Satisfiable");
    expect_reason(417, "Expectation Failed");
    expect_reason(421, "Misdirected Request");
    expect_reason(422, "Unprocessable Content");
    expect_reason(426, "Upgrade Required");
    expect_reason(500, "Internal Server Error");
    expect_reason(501, "Not Implemented");
    expect_reason(502, "Bad Gateway");
    expect_reason(503, "Service Unavailable");
    expect_reason(504, "Gateway Timeout");
    expect_reason(505, "HTTP Version Not Supported");
    /* Registered by other RFCs (6585, 7725, 8470). */
    expect_reason(425, "Too Early");
    expect_reason(428, "Precondition Required");
    expect_reason(429, "Too Many Requests");
    expect_reason(431, "Request Header Fields Too Large");
    expect_reason(451, "Unavailable For Legal Reasons");
    expect_reason(511, "Network Authentication Required");
}

static void test_reason_other_registered_codes(void **state)
{
    (void)state;
    /* The rest of the IANA HTTP Status Code Registry with a live phrase (RFC 2518, 4918,
     * 5842, 3229, 8297, 2295): a WebDAV-style API answers 207 or 423 as readily as 429.
     * All mismatches are reported at once. */
    static const struct {
        long code;
        const char *reason;
    } registered[] = {
        {102, "Processing"},
        {103, "Early Hints"},
        {207, "Multi-Status"},
        {208, "Already Reported"},
        {226, "IM Used"},
        {423, "Locked"},
        {424, "Failed Dependency"},
        {506, "Variant Also Negotiates"},
        {507, "Insufficient Storage"},
        {508, "Loop Detected"},
    };
    char missing[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof(registered) / sizeof(registered[0]); i++) {
        const char *got = diag_reason(registered[i].code);
        if (!got || strcmp(got, registered[i].reason) != 0)
            used += (size_t)snprintf(missing + used, sizeof(missing) - used, " %ld=%s",
                                     registered[i].code, got ? got : "(null)");
    }
    if (used)
        fail_msg("no standard reason phrase for:%s", missing);
}

static void test_reason_unknown_is_null(void **state)
{
    (void)state;
    /* Unassigned, or "(Unused)" in RFC 9110 (306, 418). */
    static const long unknown[] = {0,   -1,  1,   99,  199, 209, 299, 306,  399,   418,
                                   420, 450, 499, 509, 599, 600, 999, 1000, 200200};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        expect_reason(unknown[i], NULL);
}

/* ---- diag_answered ------------------------------------------------------------------- */

static void expect_answered(struct arena *a, const char *verb, const char *url, long code,
                            int64_t ms, const char *body, size_t len, const char *want)
{
    const char *got = diag_answered(a, verb, diag_url(a, url), code, ms, body, len);
    if (!got || strcmp(got, want) != 0)
        fail_msg("diag_answered:\n got  \"%s\"\n want \"%s\"", got ? got : "(null)", want);
}

static void test_answered_basic(void **state)
{
    struct arena *a = *state;
    expect_answered(a, "POST", "https://api.example.com:8443/v1/x?token=abc#f", 200, 12, "ok", 2,
                    "POST https://api.example.com:8443/v1/x -> HTTP 200 OK in 12 ms; response: ok");
    expect_answered(
        a, "GET", "https://example.com:443/a", 404, 7, "answer 404", 10,
        "GET https://example.com/a -> HTTP 404 Not Found in 7 ms; response: answer 404");
    expect_answered(a, "DELETE", "http://h.example/r", 503, 0, "{\"e\":\"down\"}", 12,
                    "DELETE http://h.example/r -> HTTP 503 Service Unavailable in 0 ms; "
                    "response: {\"e\":\"down\"}");
    expect_answered(a, "PATCH", "https://example.com/p", 302, 3, "moved", 5,
                    "PATCH https://example.com/p -> HTTP 302 Found in 3 ms; response: moved");
}

static void test_answered_unknown_code_has_no_phrase(void **state)
{
    struct arena *a = *state;
    expect_answered(a, "GET", "https://example.com/", 299, 3, "", 0,
                    "GET https://example.com/ -> HTTP 299 in 3 ms; response: ");
    expect_answered(a, "PUT", "https://example.com/x", 599, 41, "z", 1,
                    "PUT https://example.com/x -> HTTP 599 in 41 ms; response: z");
}

static void test_answered_empty_and_null_body(void **state)
{
    struct arena *a = *state;
    expect_answered(a, "HEAD", "https://example.com/h", 204, 5, "", 0,
                    "HEAD https://example.com/h -> HTTP 204 No Content in 5 ms; response: ");
    expect_answered(a, "HEAD", "https://example.com/h", 204, 5, NULL, 0,
                    "HEAD https://example.com/h -> HTTP 204 No Content in 5 ms; response: ");
    /* body_len is what counts, not a NUL. */
    expect_answered(a, "GET", "https://example.com/", 200, 1, "abcdef", 3,
                    "GET https://example.com/ -> HTTP 200 OK in 1 ms; response: abc");
}

static void test_answered_large_ms(void **state)
{
    struct arena *a = *state;
    expect_answered(a, "GET", "https://example.com/", 200, INT64_C(123456789012), "", 0,
                    "GET https://example.com/ -> HTTP 200 OK in 123456789012 ms; response: ");
}

static void test_answered_escapes(void **state)
{
    struct arena *a = *state;
    /* \n \r \t \\ as two characters. */
    const char body1[] = "a\nb\rc\td\\e";
    expect_answered(a, "GET", "https://example.com/", 200, 1, body1, sizeof(body1) - 1,
                    "GET https://example.com/ -> HTTP 200 OK in 1 ms; response: "
                    "a\\nb\\rc\\td\\\\e");
    /* Other control bytes, DEL and bytes above 0x7e as \xHH, upper-case hex; a NUL inside
     * the body is a byte like any other. */
    const char body2[] = {'<',        0x00,       0x01,       0x07, 0x08,       0x0b,
                          0x0c,       0x1b,       0x1f,       0x7f, (char)0x80, (char)0xab,
                          (char)0xc3, (char)0xa9, (char)0xff, '>'};
    expect_answered(a, "GET", "https://example.com/", 500, 2, body2, sizeof(body2),
                    "GET https://example.com/ -> HTTP 500 Internal Server Error in 2 ms; "
                    "response: <\\x00\\x01\\x07\\x08\\x0B\\x0C\\x1B\\x1F\\x7F\\x80\\xAB\\xC3\\xA9"
                    "\\xFF>");
    /* Printable ASCII, 0x20 to 0x7e, stays as it is (quotes, space, tilde included). */
    char printable[0x7f - 0x20 + 1];
    size_t n = 0;
    for (int c = 0x20; c <= 0x7e; c++)
        if (c != '\\')
            printable[n++] = (char)c;
    printable[n] = '\0';
    char *want =
        arena_printf(a, "GET https://example.com/ -> HTTP 200 OK in 1 ms; response: %s", printable);
    expect_answered(a, "GET", "https://example.com/", 200, 1, printable, n, want);
}

static void test_answered_escape_is_not_a_prefix_of_another(void **state)
{
    struct arena *a = *state;
    /* A literal backslash followed by n is not a newline: "\\" then "n". */
    const char body[] = "\\n\n";
    expect_answered(a, "GET", "https://example.com/", 200, 1, body, sizeof(body) - 1,
                    "GET https://example.com/ -> HTTP 200 OK in 1 ms; response: \\\\n\\n");
}

static void test_answered_excerpt_is_512_raw_bytes(void **state)
{
    struct arena *a = *state;
    const char *prefix = "GET https://example.com/ -> HTTP 200 OK in 1 ms; response: ";

    /* 600 printable bytes: the first 512 are shown. */
    char body[600];
    memset(body, 'A', sizeof(body));
    body[511] = 'B';
    body[512] = 'C';
    char *want = arena_printf(a, "%s%.*s", prefix, 512, body);
    expect_answered(a, "GET", "https://example.com/", 200, 1, body, sizeof(body), want);
    assert_int_equal(strlen(want), strlen(prefix) + 512);

    /* Exactly 512 bytes: all shown. */
    expect_answered(a, "GET", "https://example.com/", 200, 1, body, 512, want);

    /* 511 bytes then a newline: the newline is the 512th raw byte, shown as \n; the
     * escaping does not count against the 512. */
    char b2[700];
    memset(b2, 'x', sizeof(b2));
    b2[511] = '\n';
    b2[512] = 'Y'; /* past the excerpt */
    want = arena_printf(a, "%s%.*s\\n", prefix, 511, b2);
    expect_answered(a, "GET", "https://example.com/", 200, 1, b2, sizeof(b2), want);

    /* 512 control bytes: each escaped to four characters, none cut off. */
    char b3[600];
    memset(b3, 0x01, sizeof(b3));
    size_t plen = strlen(prefix);
    char *w = arena_alloc(a, plen + 512 * 4 + 1);
    memcpy(w, prefix, plen);
    for (size_t i = 0; i < 512; i++)
        memcpy(w + plen + i * 4, "\\x01", 4);
    w[plen + 512 * 4] = '\0';
    expect_answered(a, "GET", "https://example.com/", 200, 1, b3, sizeof(b3), w);

    /* A multi-byte UTF-8 character split by the 512-byte cut: its first byte only. */
    char b4[514];
    memset(b4, 'q', sizeof(b4));
    b4[511] = (char)0xc3;
    b4[512] = (char)0xa9;
    want = arena_printf(a, "%s%.*s\\xC3", prefix, 511, b4);
    expect_answered(a, "GET", "https://example.com/", 200, 1, b4, sizeof(b4), want);
}

static void test_answered_never_shows_query_or_userinfo(void **state)
{
    struct arena *a = *state;
    const char *got =
        diag_answered(a, "POST", diag_url(a, "https://bob:pw123@example.com/hook?secret=s3cr3t"),
                      201, 9, "created", 7);
    assert_string_equal(got, "POST https://example.com/hook -> HTTP 201 Created in 9 ms; "
                             "response: created");
}

static void test_answered_invalid_url(void **state)
{
    struct arena *a = *state;
    expect_answered(a, "GET", "not a url", 200, 1, "ok", 2,
                    "GET (invalid URL) -> HTTP 200 OK in 1 ms; response: ok");
}

/* ---- diag_failed --------------------------------------------------------------------- */

static void expect_failed(struct arena *a, const char *verb, const char *url, const char *text,
                          int64_t ms, const char *want)
{
    const char *got = diag_failed(a, verb, diag_url(a, url), text, ms);
    if (!got || strcmp(got, want) != 0)
        fail_msg("diag_failed:\n got  \"%s\"\n want \"%s\"", got ? got : "(null)", want);
}

static void test_failed_lines(void **state)
{
    struct arena *a = *state;
    expect_failed(a, "GET", "http://10.0.0.1/latest?x=1", "destination address not allowed", 0,
                  "GET http://10.0.0.1/latest -> destination address not allowed after 0 ms");
    expect_failed(a, "POST", "http://169.254.169.254:80/latest/meta-data",
                  "destination address not allowed", 3,
                  "POST http://169.254.169.254/latest/meta-data -> destination address not "
                  "allowed after 3 ms");
    expect_failed(a, "PUT", "https://user:pw@h.example:443/p#f", "timed out", 10000,
                  "PUT https://h.example/p -> timed out after 10000 ms");
    expect_failed(a, "DELETE", "https://nx.invalid:8443/d", "could not resolve the host", 25,
                  "DELETE https://nx.invalid:8443/d -> could not resolve the host after 25 ms");
    expect_failed(a, "PATCH", "http://[::1]:9/x?k=v", "connection refused", 1,
                  "PATCH http://[::1]:9/x -> connection refused after 1 ms");
    expect_failed(a, "HEAD", "https://example.com", "TLS failure", INT64_C(120000),
                  "HEAD https://example.com/ -> TLS failure after 120000 ms");
    expect_failed(a, "GET", "::", "malformed URL", 0,
                  "GET (invalid URL) -> malformed URL after 0 ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_url_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_empty_path_is_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_default_ports_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_other_ports_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_query_fragment_userinfo_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_ipv6_host_in_brackets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_invalid, setup, teardown),
        cmocka_unit_test(test_reason_standard),
        cmocka_unit_test(test_reason_other_registered_codes),
        cmocka_unit_test(test_reason_unknown_is_null),
        cmocka_unit_test_setup_teardown(test_answered_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_unknown_code_has_no_phrase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_empty_and_null_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_large_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_escape_is_not_a_prefix_of_another, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answered_excerpt_is_512_raw_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_never_shows_query_or_userinfo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answered_invalid_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
