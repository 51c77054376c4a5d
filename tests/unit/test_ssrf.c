/* Unit tests for callout/ssrf, the address policy of SPEC 7.6: parsing of the
 * --callout-allow list (single addresses, IPv4 and IPv6 CIDRs, spaces, the empty list,
 * malformed entries refused with a reason), and ssrf_allowed on every refused range with
 * its edges, public addresses, the IPv6 forms that carry an IPv4 address (IPv4-mapped,
 * NAT64, 6to4), and the allow list admitting refused addresses and nothing more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "callout/ssrf.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* Whether policy p allows a connection to the address text (IPv4 or IPv6). */
static bool allowed_by(const struct ssrf_policy *p, const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(443);
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(443);
    } else {
        fail_msg("test bug: \"%s\" is not an address", text);
    }
    return ssrf_allowed(p, (const struct sockaddr *)&ss);
}

static const struct ssrf_policy NO_ALLOW = {NULL, 0};

static void expect_refused(const struct ssrf_policy *p, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (allowed_by(p, list[i]))
            fail_msg("%s should be refused, but is allowed", list[i]);
}

static void expect_allowed(const struct ssrf_policy *p, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!allowed_by(p, list[i]))
            fail_msg("%s should be allowed, but is refused", list[i]);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define REFUSED(p, ...)                                                                            \
    do {                                                                                           \
        static const char *const list_[] = {__VA_ARGS__};                                          \
        expect_refused((p), list_, N(list_));                                                      \
    } while (0)
#define ALLOWED(p, ...)                                                                            \
    do {                                                                                           \
        static const char *const list_[] = {__VA_ARGS__};                                          \
        expect_allowed((p), list_, N(list_));                                                      \
    } while (0)

/* Parses list into p, failing the test with the reason if it is refused. */
static void init_ok(struct ssrf_policy *p, const char *list)
{
    char why[256] = "";
    memset(p, 0x5a, sizeof(*p)); /* the function must set every field */
    if (!ssrf_policy_init(p, list, why, sizeof(why)))
        fail_msg("\"%s\" refused: %s", list ? list : "(null)", why);
}

static void expect_cidr(const struct ssrf_cidr *c, int family, const char *addr, int prefix)
{
    unsigned char want[16] = {0};
    assert_int_equal(c->family, family);
    assert_int_equal(inet_pton(family, addr, want), 1);
    assert_memory_equal(c->addr, want, family == AF_INET ? 4 : 16);
    assert_int_equal(c->prefix, prefix);
}

/* ---- ssrf_policy_init -------------------------------------------------------------- */

static void test_init_null_and_empty(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, NULL);
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);
    ssrf_policy_cleanup(&p);

    init_ok(&p, "");
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);
    ssrf_policy_cleanup(&p);
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);
    ssrf_policy_cleanup(&p); /* twice is harmless */
}

static void test_init_single_v4_address(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "127.0.0.1");
    assert_int_equal(p.n_allow, 1);
    expect_cidr(&p.allow[0], AF_INET, "127.0.0.1", 32); /* an address is one host */
    ssrf_policy_cleanup(&p);
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);
}

static void test_init_single_v6_address(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "::1");
    assert_int_equal(p.n_allow, 1);
    expect_cidr(&p.allow[0], AF_INET6, "::1", 128);
    ssrf_policy_cleanup(&p);
}

static void test_init_v4_cidrs(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "10.0.0.0/8,192.168.1.0/24,127.0.0.1/32,0.0.0.0/0");
    assert_int_equal(p.n_allow, 4);
    expect_cidr(&p.allow[0], AF_INET, "10.0.0.0", 8);
    expect_cidr(&p.allow[1], AF_INET, "192.168.1.0", 24);
    expect_cidr(&p.allow[2], AF_INET, "127.0.0.1", 32);
    expect_cidr(&p.allow[3], AF_INET, "0.0.0.0", 0);
    ssrf_policy_cleanup(&p);
}

static void test_init_v6_cidrs(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "fd00::/8,::1/128,2001:db8::/32,::/0,::ffff:10.0.0.0/104");
    assert_int_equal(p.n_allow, 5);
    expect_cidr(&p.allow[0], AF_INET6, "fd00::", 8);
    expect_cidr(&p.allow[1], AF_INET6, "::1", 128);
    expect_cidr(&p.allow[2], AF_INET6, "2001:db8::", 32);
    expect_cidr(&p.allow[3], AF_INET6, "::", 0);
    expect_cidr(&p.allow[4], AF_INET6, "::ffff:10.0.0.0", 104);
    ssrf_policy_cleanup(&p);
}

static void test_init_mixed_with_spaces(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "  127.0.0.1/32 ,   ::1 ,10.1.0.0/16   ");
    assert_int_equal(p.n_allow, 3);
    expect_cidr(&p.allow[0], AF_INET, "127.0.0.1", 32);
    expect_cidr(&p.allow[1], AF_INET6, "::1", 128);
    expect_cidr(&p.allow[2], AF_INET, "10.1.0.0", 16);
    ssrf_policy_cleanup(&p);
}

static void test_init_host_bits_set(void **state)
{
    (void)state;
    /* 10.1.2.3/8 names the network 10/8: the prefix decides what matches. */
    struct ssrf_policy p;
    init_ok(&p, "10.1.2.3/8");
    assert_int_equal(p.n_allow, 1);
    assert_int_equal(p.allow[0].prefix, 8);
    assert_true(allowed_by(&p, "10.200.0.1"));
    ssrf_policy_cleanup(&p);
}

static void test_init_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "not-an-address",
        "localhost",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/x",
        "10.0.0.0/8x",
        "10.0.0.0/-1",
        "10.0.0.1/8/2",
        "1.2.3",
        "1.2.3.4.5",
        "256.0.0.1",
        "10.0.0.0 /8",
        "fe80::1%eth0",
        "::1::2",
        "/8",
        "[::1]",
        "127.0.0.1:80",
        "12345678901234567890123456789012345678901234567890123456789012345678", /* 68 */
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct ssrf_policy p;
        char why[256] = "";
        memset(&p, 0x5a, sizeof(p));
        if (ssrf_policy_init(&p, bad[i], why, sizeof(why)))
            fail_msg("malformed entry \"%s\" accepted", bad[i]);
        if (!strstr(why, "--callout-allow"))
            fail_msg("\"%s\": the reason does not name the option: \"%s\"", bad[i], why);
        if (!strstr(why, "not an address or CIDR"))
            fail_msg("\"%s\": the reason does not say what is wrong: \"%s\"", bad[i], why);
        /* Nothing is left allocated or half-filled. */
        assert_null(p.allow);
        assert_int_equal(p.n_allow, 0);
    }
}

static void test_init_reason_names_the_bad_entry(void **state)
{
    (void)state;
    struct ssrf_policy p;
    char why[256] = "";
    assert_false(ssrf_policy_init(&p, "127.0.0.1/32, bogus/7 ,::1", why, sizeof(why)));
    assert_string_equal(why, "--callout-allow: not an address or CIDR: bogus/7");
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);

    /* A bad entry after good ones frees them (checked by the sanitizers) and says which. */
    assert_false(ssrf_policy_init(&p, "10.0.0.0/8,192.168.0.0/16,172.16.0.0/99", why, sizeof(why)));
    assert_string_equal(why, "--callout-allow: not an address or CIDR: 172.16.0.0/99");
    assert_null(p.allow);
    assert_int_equal(p.n_allow, 0);
}

static void test_init_reason_fits_small_buffer(void **state)
{
    (void)state;
    struct ssrf_policy p;
    char why[16];
    memset(why, 'x', sizeof(why));
    assert_false(ssrf_policy_init(&p, "nonsense-entry-that-is-long", why, sizeof(why)));
    assert_int_equal(why[sizeof(why) - 1], '\0'); /* truncated, terminated */
    assert_int_equal(strlen(why), sizeof(why) - 1);
}

/* ---- ssrf_allowed: IPv4, no allow list --------------------------------------------- */

static void test_v4_loopback(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "127.0.0.0", "127.0.0.1", "127.0.0.2", "127.1.2.3", "127.255.255.255");
    ALLOWED(&NO_ALLOW, "126.255.255.255", "128.0.0.0");
}

static void test_v4_private_10(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "10.0.0.0", "10.0.0.1", "10.128.0.1", "10.255.255.255");
    ALLOWED(&NO_ALLOW, "9.255.255.255", "11.0.0.0");
}

static void test_v4_private_172_16(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "172.16.0.0", "172.16.0.1", "172.20.10.5", "172.31.255.255");
    ALLOWED(&NO_ALLOW, "172.15.255.255", "172.32.0.0", "172.0.0.1", "172.217.0.1");
}

static void test_v4_private_192_168(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "192.168.0.0", "192.168.0.1", "192.168.1.1", "192.168.255.255");
    ALLOWED(&NO_ALLOW, "192.167.255.255", "192.169.0.0");
}

static void test_v4_link_local_and_metadata(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "169.254.0.0", "169.254.0.1", "169.254.169.254", "169.254.170.2",
            "169.254.255.255");
    ALLOWED(&NO_ALLOW, "169.253.255.255", "169.255.0.0");
}

static void test_v4_carrier_grade_nat(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "100.64.0.0", "100.64.0.1", "100.100.100.200", "100.127.255.255");
    ALLOWED(&NO_ALLOW, "100.63.255.255", "100.128.0.0");
}

static void test_v4_this_network(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "0.0.0.0", "0.0.0.1", "0.1.2.3", "0.255.255.255");
    ALLOWED(&NO_ALLOW, "1.0.0.0", "1.0.0.1");
}

static void test_v4_multicast(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "224.0.0.0", "224.0.0.1", "224.0.0.251", "232.1.1.1", "239.255.255.250",
            "239.255.255.255");
    ALLOWED(&NO_ALLOW, "223.255.255.255");
}

static void test_v4_reserved_and_broadcast(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "240.0.0.0", "240.0.0.1", "250.1.2.3", "255.255.255.254", "255.255.255.255");
}

static void test_v4_other_special_ranges(void **state)
{
    (void)state;
    /* IETF protocol assignments and benchmarking (ssrf.c's table). */
    REFUSED(&NO_ALLOW, "192.0.0.0", "192.0.0.170", "192.0.0.255", "198.18.0.0", "198.19.255.255");
    ALLOWED(&NO_ALLOW, "192.0.1.0", "191.255.255.255", "198.17.255.255", "198.20.0.0");
}

static void test_v4_public(void **state)
{
    (void)state;
    ALLOWED(&NO_ALLOW, "8.8.8.8", "1.1.1.1", "93.184.216.34", "9.9.9.9", "151.101.1.69",
            "223.5.5.5", "13.107.42.14");
}

/* ---- ssrf_allowed: IPv6, no allow list --------------------------------------------- */

static void test_v6_unspecified_and_loopback(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "::", "::1", "0:0:0:0:0:0:0:1");
}

static void test_v6_ipv4_compatible(void **state)
{
    (void)state;
    /* ::a.b.c.d (deprecated IPv4-compatible) is inside ::/96, refused as a whole. */
    REFUSED(&NO_ALLOW, "::127.0.0.1", "::10.0.0.1", "::0.0.0.2");
}

static void test_v6_link_local(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "fe80::", "fe80::1", "fe80::fc:ff:fe00:1", "febf:ffff:ffff:ffff::1");
}

static void test_v6_site_local(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "fec0::1", "feff:ffff::1");
}

static void test_v6_unique_local(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "fc00::", "fc00::1", "fcff::1", "fd00::", "fd00::1", "fd00::2",
            "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ALLOWED(&NO_ALLOW, "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_v6_multicast(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "ff00::", "ff01::1", "ff02::1", "ff02::fb", "ff05::1:3", "ff0e::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_v6_discard(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "100::", "100::1", "100::ffff:ffff:ffff:ffff");
}

static void test_v6_ipv4_mapped(void **state)
{
    (void)state;
    /* Judged as the IPv4 address inside. */
    REFUSED(&NO_ALLOW, "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:172.16.0.1",
            "::ffff:192.168.1.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1", "::ffff:0.0.0.0",
            "::ffff:224.0.0.1", "::ffff:255.255.255.255");
    ALLOWED(&NO_ALLOW, "::ffff:8.8.8.8", "::ffff:1.1.1.1", "::ffff:93.184.216.34",
            "::ffff:172.32.0.0");
}

static void test_v6_nat64(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a00:1",
            "64:ff9b::169.254.169.254", "64:ff9b::c0a8:101");
    ALLOWED(&NO_ALLOW, "64:ff9b::808:808", "64:ff9b::1.1.1.1");
    /* The local-use NAT64 prefix is refused whatever it carries. */
    REFUSED(&NO_ALLOW, "64:ff9b:1::1", "64:ff9b:1::808:808");
}

static void test_v6_6to4(void **state)
{
    (void)state;
    REFUSED(&NO_ALLOW, "2002:7f00:1::", "2002:7f00:1::1",
            "2002:a00:1::", "2002:a9fe:a9fe::", "2002:c0a8:101::1", "2002::");
    ALLOWED(&NO_ALLOW, "2002:808:808::", "2002:808:808::1", "2002:101:101::");
}

static void test_v6_public(void **state)
{
    (void)state;
    ALLOWED(&NO_ALLOW, "2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:81c::200e",
            "2620:fe::fe");
}

static void test_other_families_refused(void **state)
{
    (void)state;
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    snprintf(un.sun_path, sizeof(un.sun_path), "/tmp/x.sock");
    assert_false(ssrf_allowed(&NO_ALLOW, (const struct sockaddr *)&un));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    assert_false(ssrf_allowed(&NO_ALLOW, (const struct sockaddr *)&ss));

    /* Even an allow-everything list does not open other families. */
    struct ssrf_policy p;
    init_ok(&p, "0.0.0.0/0,::/0");
    assert_false(ssrf_allowed(&p, (const struct sockaddr *)&un));
    ssrf_policy_cleanup(&p);
}

/* ---- ssrf_allowed: the allow list --------------------------------------------------- */

static void test_allow_one_loopback_host(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "127.0.0.1/32");
    ALLOWED(&p, "127.0.0.1");
    REFUSED(&p, "127.0.0.2", "127.0.0.0", "127.255.255.255", "10.0.0.1", "169.254.169.254");
    /* The IPv4 entry also admits the IPv4-mapped IPv6 form of the same address... */
    ALLOWED(&p, "::ffff:127.0.0.1");
    REFUSED(&p, "::ffff:127.0.0.2", "::ffff:10.0.0.1");
    /* ...but not IPv6 loopback, which is another address. */
    REFUSED(&p, "::1", "::");
    /* Public addresses stay allowed. */
    ALLOWED(&p, "8.8.8.8", "::ffff:8.8.8.8", "2606:4700:4700::1111");
    ssrf_policy_cleanup(&p);
}

static void test_allow_plain_address_is_one_host(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "10.0.0.5");
    ALLOWED(&p, "10.0.0.5", "::ffff:10.0.0.5");
    REFUSED(&p, "10.0.0.4", "10.0.0.6");
    ssrf_policy_cleanup(&p);
}

static void test_allow_v4_networks(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "10.0.0.0/8, 192.168.1.0/24, 172.16.0.0/12");
    ALLOWED(&p, "10.0.0.0", "10.1.2.3", "10.255.255.255", "192.168.1.0", "192.168.1.77",
            "192.168.1.255", "172.16.0.0", "172.31.255.255", "::ffff:10.9.8.7",
            "::ffff:192.168.1.9");
    REFUSED(&p, "192.168.0.255", "192.168.2.0", "127.0.0.1", "169.254.169.254", "100.64.0.1",
            "::ffff:192.168.2.1", "::1");
    ssrf_policy_cleanup(&p);
}

static void test_allow_odd_prefix(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "100.64.0.0/10,10.0.0.128/25");
    ALLOWED(&p, "100.64.0.0", "100.127.255.255", "10.0.0.128", "10.0.0.255");
    REFUSED(&p, "10.0.0.127", "10.0.1.0");
    ssrf_policy_cleanup(&p);
}

static void test_allow_v6_entries(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "fd00::/8");
    ALLOWED(&p, "fd00::1", "fd12:3456::1", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    REFUSED(&p, "fc00::1", "fe80::1", "::1", "ff02::1", "10.0.0.1");
    ssrf_policy_cleanup(&p);

    init_ok(&p, "::1");
    ALLOWED(&p, "::1");
    REFUSED(&p, "::", "::2", "127.0.0.1", "::ffff:127.0.0.1"); /* v6 entry: v6 only */
    ssrf_policy_cleanup(&p);

    init_ok(&p, "fe80::/64");
    ALLOWED(&p, "fe80::1", "fe80::fc:ff:fe00:1");
    REFUSED(&p, "fe80:0:0:1::1", "febf::1");
    ssrf_policy_cleanup(&p);
}

static void test_allow_mapped_entry(void **state)
{
    (void)state;
    /* An IPv6 entry written in the IPv4-mapped form admits that IPv6 form. */
    struct ssrf_policy p;
    init_ok(&p, "::ffff:127.0.0.1/128");
    ALLOWED(&p, "::ffff:127.0.0.1");
    REFUSED(&p, "::ffff:127.0.0.2", "::1");
    ssrf_policy_cleanup(&p);
}

static void test_allow_everything(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "0.0.0.0/0");
    ALLOWED(&p, "127.0.0.1", "10.0.0.1", "169.254.169.254", "255.255.255.255", "::ffff:127.0.0.1");
    REFUSED(&p, "::1", "fe80::1", "fd00::1"); /* an IPv4 list does not open IPv6 ranges */
    ssrf_policy_cleanup(&p);

    init_ok(&p, "::/0");
    ALLOWED(&p, "::1", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1");
    REFUSED(&p, "127.0.0.1", "10.0.0.1");
    ssrf_policy_cleanup(&p);
}

static void test_allow_list_does_not_refuse_public(void **state)
{
    (void)state;
    struct ssrf_policy p;
    init_ok(&p, "127.0.0.1/32,::1");
    ALLOWED(&p, "8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111");
    ssrf_policy_cleanup(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_null_and_empty),
        cmocka_unit_test(test_init_single_v4_address),
        cmocka_unit_test(test_init_single_v6_address),
        cmocka_unit_test(test_init_v4_cidrs),
        cmocka_unit_test(test_init_v6_cidrs),
        cmocka_unit_test(test_init_mixed_with_spaces),
        cmocka_unit_test(test_init_host_bits_set),
        cmocka_unit_test(test_init_malformed_refused),
        cmocka_unit_test(test_init_reason_names_the_bad_entry),
        cmocka_unit_test(test_init_reason_fits_small_buffer),
        cmocka_unit_test(test_v4_loopback),
        cmocka_unit_test(test_v4_private_10),
        cmocka_unit_test(test_v4_private_172_16),
        cmocka_unit_test(test_v4_private_192_168),
        cmocka_unit_test(test_v4_link_local_and_metadata),
        cmocka_unit_test(test_v4_carrier_grade_nat),
        cmocka_unit_test(test_v4_this_network),
        cmocka_unit_test(test_v4_multicast),
        cmocka_unit_test(test_v4_reserved_and_broadcast),
        cmocka_unit_test(test_v4_other_special_ranges),
        cmocka_unit_test(test_v4_public),
        cmocka_unit_test(test_v6_unspecified_and_loopback),
        cmocka_unit_test(test_v6_ipv4_compatible),
        cmocka_unit_test(test_v6_link_local),
        cmocka_unit_test(test_v6_site_local),
        cmocka_unit_test(test_v6_unique_local),
        cmocka_unit_test(test_v6_multicast),
        cmocka_unit_test(test_v6_discard),
        cmocka_unit_test(test_v6_ipv4_mapped),
        cmocka_unit_test(test_v6_nat64),
        cmocka_unit_test(test_v6_6to4),
        cmocka_unit_test(test_v6_public),
        cmocka_unit_test(test_other_families_refused),
        cmocka_unit_test(test_allow_one_loopback_host),
        cmocka_unit_test(test_allow_plain_address_is_one_host),
        cmocka_unit_test(test_allow_v4_networks),
        cmocka_unit_test(test_allow_odd_prefix),
        cmocka_unit_test(test_allow_v6_entries),
        cmocka_unit_test(test_allow_mapped_entry),
        cmocka_unit_test(test_allow_everything),
        cmocka_unit_test(test_allow_list_does_not_refuse_public),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
