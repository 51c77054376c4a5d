/* The one storage interface, in domain terms. No SQL above this line: a backend
 * (store_sqlite.c now, store_pg.c next) implements every function. All functions are
 * thread-safe and may be called from many threads at once. A function that writes
 * returns only after the change is durable (it survives a crash of the process and,
 * with default settings, of the machine); concurrent writers share commits.
 *
 * Nothing here assumes one process owns the database: uniqueness rules (one execution
 * per scope, unique usernames) are enforced by the database, and conditional writes
 * report ERR_CONFLICT so the caller can re-read and decide again.
 *
 * Loaded records put their strings in the arena the caller passes; they live as long as
 * it does. Errors: ERR_NOT_FOUND, ERR_CONFLICT, ERR_EXISTS as documented per function;
 * ERR_INPUT for a value the store cannot keep (text that is not UTF-8); ERR_UNAVAILABLE
 * when the database cannot be used. */
#ifndef AL_STORE_H
#define AL_STORE_H

#include "core/arena.h"
#include "core/err.h"
#include "domain/model.h"

struct store;

/* Opens (creating and migrating on first use) the store at location: a file path for
 * SQLite. On failure returns an error and writes a reason for a person into why. */
enum err store_open(const char *location, struct store **out, char *why, size_t why_len);
void store_close(struct store *s);
/* Keeps up to about `budget` bytes of group definitions in memory, so that reading a
 * link by id seldom reads its group from the database; 0 keeps none (the default). They
 * are checked against the database's definitions epoch on every read, so a change by any
 * process counts at once. Call before the store is shared between threads. */
void store_keep_definitions(struct store *s, size_t budget);
/* How many reads of a link the kept definitions answered, and how many they did not. */
void store_definitions_counts(struct store *s, uint64_t *found, uint64_t *missed);
/* The same for the kept executions of scopes (a budget of an eighth of the one above, on
 * top of it: a scope's execution, or that it has none, checked against an executions
 * epoch). */
void store_executions_counts(struct store *s, uint64_t *found, uint64_t *missed);
/* How many batches of writes ran a second time, each in a savepoint of its own, because
 * one of them was refused on the way without savepoints (for tests and the log). */
uint64_t store_write_replays(struct store *s);
/* The org's id (made when the database was created). */
const char *store_org_id(const struct store *s);
enum { STORE_KEY_HEX = 64 };
/* The client_id of the built-in web app, made with the database (SPEC issue 5). */
#define WEB_APP_CLIENT_ID "actionlinks-web"
/* The deployment's secret for signed values (hex, STORE_KEY_HEX characters), made with
 * the database so that every node shares it. */
const char *store_signing_key(const struct store *s);
/* Reads by the calling thread between begin and end see one consistent snapshot of the
 * database, and cost less than the same reads one by one. Nestable. Not for a thread
 * that writes in between and then reads what it wrote — end the snapshot first.
 * A snapshot may be the thread's previous one, when that began at most 2 ms ago and this
 * store has committed nothing since: it sees every write made through this store before
 * it began, but may miss writes other processes made in the last 2 ms (docs/DECISIONS.md).
 * Reads outside a snapshot always see every commit. */
void store_snapshot_begin(struct store *s);
/* The same, on a transaction begun now: it sees every commit, of any process, made before
 * its first read. */
void store_snapshot_begin_fresh(struct store *s);
/* How old (ms) a kept read transaction a snapshot may reuse: 2 unless changed (tests). */
void store_snapshot_reuse_ms(struct store *s, int ms);
void store_snapshot_end(struct store *s);
/* Whether the database answers. */
bool store_ping(struct store *s);

/* Users and apps. ERR_EXISTS when the username or app name is taken. */
enum err store_user_add(struct store *s, const struct user *u);
enum err store_user_get(struct store *s, const char *id, struct arena *a, struct user *out);
enum err store_user_by_name(struct store *s, const char *username, struct arena *a,
                            struct user *out);
/* client_secret_hash: hex SHA-256 of the client secret. */
enum err store_app_add(struct store *s, const struct app *app, const char *client_secret_hash);
enum err store_app_by_name(struct store *s, const char *name, struct arena *a, struct app *out);
/* The app of an OAuth client_id, with the hash of its secret; *public_client for an app
 * that has no secret (the built-in web app, WEB_APP_CLIENT_ID). */
enum err store_app_by_client_id(struct store *s, const char *client_id, struct arena *a,
                                struct app *out, const char **secret_hash, bool *public_client);
/* Sets (or, with NULL, removes) a user's password hash. ERR_NOT_FOUND. */
enum err store_user_set_password(struct store *s, const char *user_id, const char *hash);

/* Access tokens, known by the hex SHA-256 of the token (the token itself is never
 * stored). */
struct token_rec {
    const char *hash;
    idbuf user_id;
    idbuf app_id;
    int64_t expires_ms;
    idbuf callback_execution_id; /* "" for an ordinary token */
    const char *refresh_hash;    /* the refresh token it came with, or NULL */
};
enum err store_token_add(struct store *s, const struct token_rec *t);
/* A number that changes whenever a token, a user or an app is changed or removed, by
 * any process on this database: a principal read while it was E is good while it is E. */
enum err store_auth_epoch(struct store *s, int64_t *out);
/* The principal behind a live token: ERR_SESSION if unknown, revoked or expired at now. */
enum err store_token_principal(struct store *s, const char *hash, int64_t now_ms,
                               struct arena *a, struct principal *out);
/* Revokes an access token, or a refresh token and every access token that came with
 * or from it. ERR_NOT_FOUND if no such token. */
enum err store_token_revoke(struct store *s, const char *hash);
/* OAuth refresh tokens. */
enum err store_refresh_add(struct store *s, const char *hash, const char *user_id,
                           const char *app_id);
/* The user and app of a live refresh token: ERR_SESSION if unknown or revoked. */
enum err store_refresh_get(struct store *s, const char *hash, char user_id[ID_LEN + 1],
                           char app_id[ID_LEN + 1]);

/* Groups with their links, written and deleted whole. */
enum err store_group_create(struct store *s, const struct group *g);
enum err store_group_get(struct store *s, const char *id, struct arena *a, struct group *out);
/* Loads the group that holds link_id; *index is the link's place in out->links. */
enum err store_link_group(struct store *s, const char *link_id, struct arena *a,
                          struct group *out, size_t *index);
/* Deletes the group, its links, executions and callouts. ERR_NOT_FOUND if absent. */
enum err store_group_delete(struct store *s, const char *id);

/* Executions. */
enum err store_execution_get(struct store *s, const char *group_id, const char *scope_user_id,
                             struct arena *a, struct execution *out);
/* Creates the scope's execution (created_ms is also its first modified_ms), its callout
 * when c is not NULL (queued; or, with c->owner, started by that node at created_ms, as a
 * claim would: the owner sends it once this is durable), and the execution's callback
 * token when t is not NULL, in one transaction. ERR_CONFLICT if the scope already has an
 * execution. */
enum err store_execution_create(struct store *s, const struct execution *e,
                                const struct callout *c, const struct token_rec *t);
/* Moves an execution from status `from` to `to` at now_ms, with a diagnostic line (NULL
 * keeps the old one). ERR_CONFLICT if its status is no longer `from`. */
enum err store_execution_update(struct store *s, const char *execution_id, enum status from,
                                enum status to, int64_t now_ms, const char *diagnostic);
/* The two writes above without waiting for them, for callers that must not block (an
 * HTTP I/O thread). ERR_OK means queued: done(ctx, result) is then called exactly once,
 * on a thread of the store's, when the result is durable (or failed); everything passed
 * must stay valid until then, and done must be quick and must not call the store. Any
 * other return means nothing was queued and done is not called. */
typedef void (*store_done_cb)(void *ctx, enum err result);
enum err store_execution_create_async(struct store *s, const struct execution *e,
                                      const struct callout *c, const struct token_rec *t,
                                      store_done_cb done, void *ctx);
enum err store_execution_update_async(struct store *s, const char *execution_id,
                                      enum status from, enum status to, int64_t now_ms,
                                      const char *diagnostic, store_done_cb done, void *ctx);
/* store_group_create the same way (g must stay valid until done). */
enum err store_group_create_async(struct store *s, const struct group *g, store_done_cb done,
                                  void *ctx);
/* ---- templates (SPEC 8) ---- */

/* ERR_EXISTS when the DeveloperName is taken. */
enum err store_gtemplate_create(struct store *s, const struct group_template *t);
enum err store_gtemplate_get(struct store *s, const char *id, struct arena *a,
                             struct group_template *out);
/* Writes the fields a client may change (not the id, creator or creation time) over the
 * stored record. ERR_NOT_FOUND, ERR_EXISTS. */
enum err store_gtemplate_update(struct store *s, const struct group_template *t);
/* Deletes the group template, its link templates, and every group made from it (with
 * what store_group_delete removes). ERR_NOT_FOUND if absent. */
enum err store_gtemplate_delete(struct store *s, const char *id);

/* ERR_CONFLICT when the group template is published or gone: a published template's
 * links are fixed (SPEC 8), even against a concurrent publish. */
enum err store_ltemplate_create(struct store *s, const struct link_template *t);
enum err store_ltemplate_get(struct store *s, const char *id, struct arena *a,
                             struct link_template *out);
/* The link templates of a group template, in Position order (*out NULL when none). */
enum err store_ltemplates_of(struct store *s, const char *group_template_id, struct arena *a,
                             struct link_template **out, size_t *n);
/* The new text of one link made from a link template. */
struct link_render {
    idbuf link_id;
    const char *action_url;
    struct header *headers;
    size_t n_headers;
    const char *request_body;
};
/* Writes the fields a client may change over the stored record and, in the same
 * transaction, the new
 * texts of the links made from it (SPEC 8: edits apply to groups already made).
 * ERR_NOT_FOUND if absent. */
enum err store_ltemplate_update(struct store *s, const struct link_template *t,
                                const struct link_render *links, size_t n_links);
/* ERR_CONFLICT when its group template is published. */
enum err store_ltemplate_delete(struct store *s, const char *id);
/* A link made from a link template, with the bindings its group was made with. */
struct templated_link {
    idbuf link_id;
    idbuf group_id;
    const char *bindings_json;
};
enum err store_links_of_template(struct store *s, const char *link_template_id,
                                 struct arena *a, struct templated_link **out, size_t *n);

/* ---- the feed (SPEC 4.4) ---- */

/* Stores the item and its groups, in order. */
enum err store_feed_item_create(struct store *s, const struct feed_item *item);
/* The item with the groups it still carries (deleted groups are gone from it). */
enum err store_feed_item_get(struct store *s, const char *id, struct arena *a,
                             struct feed_item *out);
enum err store_feed_item_delete(struct store *s, const char *id);
/* Up to limit items, newest first (by created_ms, then id), strictly older than
 * (before_ms, before_id); before_id NULL starts at the newest. */
enum err store_feed_page(struct store *s, int64_t before_ms, const char *before_id,
                         size_t limit, struct arena *a, struct feed_item **out, size_t *n);

/* ---- the callout queue (SPEC 7.1). A node marks a callout started, durably, before it
 * sends it, and a started callout is never handed out again unless the node that
 * started it gives it back unsent (store_callouts_release): at most once. ---- */

/* Room for more callouts: at most `limit` in all, and for each host listed in `hosts`
 * at most the room given beside it; any other host gets `per_host`. A claim looks at up
 * to STORE_CLAIM_HOSTS destinations with queued callouts (the next one goes on after
 * the last it looked at). */
enum { STORE_CLAIM_HOSTS = 1024 };
struct callout_room {
    size_t limit;
    size_t per_host;
    const char *const *hosts;
    const size_t *host_room;
    size_t n_hosts;
};
/* Marks up to the room's worth of queued callouts, oldest first, started by owner at
 * now_ms, and returns them (in the arena; *out NULL when none). */
enum err store_callouts_start(struct store *s, const char *owner, int64_t now_ms,
                              const struct callout_room *room, struct arena *a,
                              struct callout **out, size_t *n);
/* The end of one started callout. */
struct callout_end {
    idbuf execution_id;
    enum status status;     /* the execution's new status; Pending leaves it Pending */
    const char *diagnostic; /* the execution's diagnostic line */
    const char *scrubbed_url; /* kept in place of the URL (no query string) */
    bool applied;           /* out: false if the callout was no longer owner's to end */
};
/* Records the ends of n callouts started by owner, in one transaction: each callout is
 * done and its snapshot scrubbed; its execution, if still Pending, gets the status and
 * diagnostic. */
enum err store_callouts_finish(struct store *s, const char *owner, int64_t now_ms,
                               struct callout_end *ends, size_t n);
/* A dispatcher's round in one transaction (one commit): records the n_ends ends as
 * store_callouts_finish does, then claims as store_callouts_start does. On failure
 * neither is written. */
enum err store_callouts_cycle(struct store *s, const char *owner, int64_t now_ms,
                              struct callout_end *ends, size_t n_ends,
                              const struct callout_room *room, struct arena *a,
                              struct callout **out, size_t *n);
/* Gives n callouts started by owner but never sent back to the queue (queued again,
 * with their age): a node that claimed ahead and stops, or whose heart may have been
 * taken for dead. Callouts no longer owner's are left alone. */
enum err store_callouts_release(struct store *s, const char *owner, const idbuf *ids, size_t n);
/* Beats owner's heart at now_ms, and fails the callouts started by nodes whose heart has
 * not beaten for stale_ms, or that left: their executions, if Pending, become Failed with
 * DIAG_INTERRUPTED. *n: how many were failed. */
enum err store_callouts_recover(struct store *s, const char *owner, int64_t now_ms,
                                int64_t stale_ms, int64_t *n);
/* Removes owner from the nodes (a clean stop). */
enum err store_node_leave(struct store *s, const char *owner);
/* Fails ApiAsync executions still Pending at their deadline, with DIAG_NO_CALLBACK. */
enum err store_async_expire(struct store *s, int64_t now_ms, int64_t *n);

/* ---- status events (SPEC 9): one per change of an execution's status, in commit order,
 * written by the store itself with the change ---- */
struct status_event {
    int64_t seq;
    idbuf group_id;
    idbuf link_id;
    idbuf scope_user_id; /* "" for a Once execution: everyone who sees the link */
    int64_t created_ms;
};
/* Up to limit events with seq > after, oldest first (*out NULL when none). */
enum err store_events_since(struct store *s, int64_t after, size_t limit, struct arena *a,
                            struct status_event **out, size_t *n);
/* The newest event's seq (0 when there is none). */
enum err store_events_last(struct store *s, int64_t *seq);
/* Forgets events made before before_ms, from the oldest on, but never the newest: the
 * next event is numbered after it. */
enum err store_events_trim(struct store *s, int64_t before_ms);

/* The number of callouts in each state, for tests: it reads every callout ever made. */
struct callout_counts {
    int64_t queued, started, done;
};
enum err store_callout_counts(struct store *s, struct callout_counts *out);

/* The number of callouts waiting to be sent, for metrics: it reads the queue only (a
 * store keeps its ended callouts, and a scrape must not cost more as they grow). */
enum err store_callouts_queued(struct store *s, int64_t *out);

#endif
