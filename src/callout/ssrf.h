/* The address policy of outbound calls (SPEC 7.6): which addresses a callout may connect
 * to. Checked on the address actually being connected to, after DNS. */
#ifndef AL_SSRF_H
#define AL_SSRF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct ssrf_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct ssrf_policy {
    struct ssrf_cidr *allow; /* admitted even when in a refused range */
    size_t n_allow;
};

/* Parses "CIDR,CIDR,…" (an address without /N is one host) into p; NULL or "" is an
 * empty list. False with a reason in why on a malformed entry. */
bool ssrf_policy_init(struct ssrf_policy *p, const char *list, char *why, size_t why_len);
void ssrf_policy_cleanup(struct ssrf_policy *p);
/* Whether a connection to sa is allowed: not loopback, private, link-local, carrier-grade
 * NAT, multicast, unspecified, reserved, or their IPv6 equivalents (IPv4-mapped, NAT64 and
 * 6to4 forms are judged by the IPv4 address inside), unless the allow list admits it. */
bool ssrf_allowed(const struct ssrf_policy *p, const struct sockaddr *sa);

#endif
