/* Range tables and prefix matching. An IPv6 address that carries an IPv4 address
 * (::ffff:a.b.c.d, 64:ff9b::a.b.c.d, 2002:aabb:ccdd::) is judged as that IPv4 address, so
 * [::ffff:127.0.0.1] is loopback. */
#include "callout/ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct range {
    const char *addr;
    int prefix;
};

static const struct range refused_v4[] = {
    {"0.0.0.0", 8},      /* "this network", unspecified */
    {"10.0.0.0", 8},     /* private */
    {"100.64.0.0", 10},  /* carrier-grade NAT */
    {"127.0.0.0", 8},    /* loopback */
    {"169.254.0.0", 16}, /* link-local, cloud metadata */
    {"172.16.0.0", 12},  /* private */
    {"192.0.0.0", 24},   /* IETF protocol assignments */
    {"192.168.0.0", 16}, /* private */
    {"198.18.0.0", 15},  /* benchmarking */
    {"224.0.0.0", 4},    /* multicast */
    {"240.0.0.0", 4},    /* reserved, broadcast */
};

static const struct range refused_v6[] = {
    {"::", 96},          /* unspecified, loopback, IPv4-compatible */
    {"64:ff9b:1::", 48}, /* local-use NAT64 */
    {"100::", 64},       /* discard */
    {"fc00::", 7},       /* unique local (private) */
    {"fe80::", 10},      /* link-local */
    {"fec0::", 10},      /* site-local (deprecated) */
    {"ff00::", 8},       /* multicast */
};

static bool prefix_match(const unsigned char *a, const unsigned char *b, int prefix)
{
    int full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static bool in_ranges(int family, const unsigned char *addr, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char net[16];
        if (inet_pton(family, r[i].addr, net) == 1 && prefix_match(addr, net, r[i].prefix))
            return true;
    }
    return false;
}

/* The IPv4 address an IPv6 address carries, if it carries one. */
static bool embedded_v4(const unsigned char *a6, unsigned char v4[4])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(a6, mapped, 12) == 0 || memcmp(a6, nat64, 12) == 0) {
        memcpy(v4, a6 + 12, 4);
        return true;
    }
    if (a6[0] == 0x20 && a6[1] == 0x02) { /* 6to4 */
        memcpy(v4, a6 + 2, 4);
        return true;
    }
    return false;
}

static bool parse_cidr(const char *s, size_t len, struct ssrf_cidr *out)
{
    char text[64];
    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    char *slash = strchr(text, '/');
    int prefix = -1;
    if (slash) {
        for (const char *d = slash + 1; *d; d++)
            if (*d < '0' || *d > '9')
                return false;
        char *end;
        long p = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || p < 0 || p > 128)
            return false;
        prefix = (int)p;
        *slash = '\0';
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix > 32)
            return false;
        out->prefix = prefix < 0 ? 32 : prefix;
    } else if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = prefix < 0 ? 128 : prefix;
    } else {
        return false;
    }
    return true;
}

bool ssrf_policy_init(struct ssrf_policy *p, const char *list, char *why, size_t why_len)
{
    p->allow = NULL;
    p->n_allow = 0;
    if (!list || !*list)
        return true;
    size_t cap = 1;
    for (const char *c = list; *c; c++)
        cap += *c == ',';
    p->allow = calloc(cap, sizeof(*p->allow));
    if (!p->allow)
        return false;
    for (const char *s = list; *s;) {
        size_t len = strcspn(s, ",");
        while (len && s[0] == ' ') {
            s++;
            len--;
        }
        while (len && s[len - 1] == ' ')
            len--;
        if (len && !parse_cidr(s, len, &p->allow[p->n_allow++])) {
            snprintf(why, why_len, "--callout-allow: not an address or CIDR: %.*s", (int)len, s);
            ssrf_policy_cleanup(p);
            return false;
        }
        s += strcspn(s, ",");
        if (*s == ',')
            s++;
    }
    return true;
}

void ssrf_policy_cleanup(struct ssrf_policy *p)
{
    free(p->allow);
    p->allow = NULL;
    p->n_allow = 0;
}

static bool admitted(const struct ssrf_policy *p, int family, const unsigned char *addr)
{
    for (size_t i = 0; i < p->n_allow; i++)
        if (p->allow[i].family == family &&
            prefix_match(addr, p->allow[i].addr, p->allow[i].prefix))
            return true;
    return false;
}

bool ssrf_allowed(const struct ssrf_policy *p, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        return admitted(p, AF_INET, a) ||
               !in_ranges(AF_INET, a, refused_v4, sizeof(refused_v4) / sizeof(refused_v4[0]));
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *a =
            (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (admitted(p, AF_INET6, a))
            return true;
        unsigned char v4[4];
        if (embedded_v4(a, v4))
            return admitted(p, AF_INET, v4) ||
                   !in_ranges(AF_INET, v4, refused_v4, sizeof(refused_v4) / sizeof(refused_v4[0]));
        return !in_ranges(AF_INET6, a, refused_v6, sizeof(refused_v6) / sizeof(refused_v6[0]));
    }
    return false; /* unix sockets and anything else */
}
