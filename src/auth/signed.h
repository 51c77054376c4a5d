/* Short-lived signed values, such as the _bearer of a redirect URL (SPEC 7.5): bound to
 * one link and one user, valid until an expiry, and checkable by any node that shares
 * the deployment's signing key (store_signing_key). Form: "<expiry ms>.<user id>.<hmac>",
 * only letters, digits and dots, so it needs no escaping in a URL. */
#ifndef AL_SIGNED_H
#define AL_SIGNED_H

#include "core/id.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SIGNED_MAX = 128, SIGNED_REDIRECT_TTL_MS = 10 * 60 * 1000 };

/* Writes the signed value for (link, user, expiry) into out (SIGNED_MAX bytes). */
void signed_make(const char *key, const char *link_id, const char *user_id, int64_t expires_ms,
                 char out[SIGNED_MAX]);
/* Checks value for link_id at now_ms; on success writes the user it was made for. */
bool signed_check(const char *key, const char *link_id, const char *value, int64_t now_ms,
                  char user_id[ID_LEN + 1]);

#endif
