/* Access tokens (SPEC 3): "<18-character org id>!<48 letters and digits>". Only the hex
 * SHA-256 of a token is ever stored; lookups go by that hash. */
#ifndef AL_TOKEN_H
#define AL_TOKEN_H

#include "core/arena.h"
#include "core/err.h"
#include "domain/model.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>

enum { TOKEN_RANDOM_LEN = 48, TOKEN_LEN = ID_LEN18 + 1 + TOKEN_RANDOM_LEN, TOKEN_HASH_LEN = 64 };

/* Writes a new token for the org into out (TOKEN_LEN + 1 bytes). */
bool token_new(const char *org_id, char out[TOKEN_LEN + 1]);
/* Writes the hex SHA-256 of a secret (a token or a client secret) into out. */
void token_hash(const char *secret, char out[TOKEN_HASH_LEN + 1]);
/* The token in an Authorization header value ("Bearer t" or "OAuth t"), or NULL. The
 * result points into header. */
const char *token_from_header(const char *header);
/* Issues a token for a user through an app, valid for ttl_s seconds, and stores its hash.
 * refresh_hash names the refresh token it comes with (NULL: none). */
enum err token_issue(struct store *s, const char *user_id, const char *app_id, int64_t ttl_s,
                     const char *refresh_hash, char out[TOKEN_LEN + 1], int64_t *expires_ms);
/* Principals of recently seen tokens, so that a request need not look its token up.
 * An entry is trusted while the store's auth epoch (store_auth_epoch) is the one it was
 * read at, and never past its token's expiry: a revocation by any process ends it at
 * once. Callback tokens are never kept (they are good for one use). */
struct token_cache;
struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *c);

/* Resolves an Authorization header to a principal: ERR_SESSION when the header is
 * missing, malformed, or names no live token. cache may be NULL. */
enum err token_authenticate(struct store *s, struct token_cache *cache,
                            const char *authorization, struct arena *a, struct principal *out);

#endif
