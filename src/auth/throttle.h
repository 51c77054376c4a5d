/* Slowing failed logins (issue 5): per username and per client address. After a few free
 * failures a key is locked for a time that doubles with each further failure (1 s, 2 s,
 * 4 s, … up to 5 minutes); while locked, attempts fail without the password being
 * checked. Locking instead of sleeping keeps an attacker from tying up server threads.
 * Kept in memory per process; thread-safe. */
#ifndef AL_THROTTLE_H
#define AL_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/* Failures allowed before locking: few for a username, more for an address, which many
 * people may share (an office behind one NAT). */
enum { THROTTLE_FREE_PER_USER = 3, THROTTLE_FREE_PER_ADDRESS = 20 };

struct throttle;

struct throttle *throttle_new(void);
void throttle_free(struct throttle *t);
/* Whether key may try now; *retry_ms says how long until it may (0 when it may). */
bool throttle_allowed(struct throttle *t, const char *key, int64_t now_ms, int64_t *retry_ms);
void throttle_failure(struct throttle *t, const char *key, int64_t now_ms, int free_failures);
void throttle_success(struct throttle *t, const char *key);

#endif
