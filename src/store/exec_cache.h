/* The execution of a scope (a group and a user, or the group alone for Once), or the fact
 * that it has none, kept in memory so that reading a link seldom reads its execution
 * from the database.
 *
 * An answer is kept with the database's executions epoch (moved by every commit that
 * writes an execution, by any process: by the writer once per commit since schema 7,
 * by trigger for removals) and auth epoch
 * (the executing user's name comes with it) under which it was read, and used only by a
 * reader that read the same two values. A newer executions epoch drops everything: under
 * a stream of clicks nothing stays long, and nothing is wrong.
 *
 * It holds at most about `budget` bytes (oldest first out); safe from any thread. */
#ifndef AL_EXEC_CACHE_H
#define AL_EXEC_CACHE_H

#include "core/arena.h"
#include "domain/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct exec_cache;

/* The two epochs an answer is good for. */
struct exec_epochs {
    int64_t executions, auth;
};

struct exec_cache *exec_cache_new(size_t budget);
void exec_cache_free(struct exec_cache *c);

/* The kept answer for (group_id, scope_user_id) at ep: true when there is one, with
 * *has telling whether the scope has an execution (then in *out, its text in a). */
bool exec_cache_get(struct exec_cache *c, struct exec_epochs ep, const char *group_id,
                    const char *scope_user_id, struct arena *a, struct execution *out,
                    bool *has);

/* Keeps the answer read at ep: e, or NULL when the scope has no execution. */
void exec_cache_put(struct exec_cache *c, struct exec_epochs ep, const char *group_id,
                    const char *scope_user_id, const struct execution *e);

/* Answers given and not given, for tests and the log. */
void exec_cache_counts(struct exec_cache *c, uint64_t *found, uint64_t *missed);

#endif
