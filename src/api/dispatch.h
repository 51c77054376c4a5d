/* The dispatcher: moves callouts between the store and the engine (SPEC 7). On its own
 * thread it claims queued callouts from the store (marking them started, durably, before
 * they are sent: at most once), hands them to the engine within the global and per-host
 * limits, records results as execution statuses and diagnostics, beats this node's heart
 * so that other nodes can tell it is alive, fails the callouts of nodes that died, and
 * fails ApiAsync executions past their deadline. */
#ifndef AL_DISPATCH_H
#define AL_DISPATCH_H

#include "callout/engine.h"
#include "core/buf.h"
#include "store/store.h"

struct dispatch_opts {
    struct engine_opts engine; /* its limits are for all the engines together */
    int engines;               /* engine threads (1 to DISPATCH_MAX_ENGINES); 0 counts as 1 */
    const char *self_base; /* http://host:port of this server, for relative URLs */
    int64_t stale_ms;      /* a node silent this long is taken for dead */
    void (*on_change)(void *ctx); /* after statuses changed (results, recoveries) */
    void *on_change_ctx;
};

enum { DISPATCH_MAX_ENGINES = 8 };

struct dispatch;

struct dispatch *dispatch_new(struct store *s, const struct dispatch_opts *o, char *why,
                              size_t why_len);
/* A callout was queued: look now rather than at the next tick. Thread-safe. */
void dispatch_notify(struct dispatch *d);
/* A PATCH's own claim of the callout it makes, to an absolute URL (DECISIONS 21): true
 * when this node may store it started by itself — alive, not stopping, no callout known
 * to be queued before it, and room for it at host and in all (counted with those claimed
 * ahead). *owner is then this node's name, to store as the callout's owner, and exactly
 * one of dispatch_adopt (the write is durable: it is sent when it has a slot) or
 * dispatch_unreserve (the write was not made) must follow. Thread-safe; d may be NULL
 * (false). */
bool dispatch_reserve(struct dispatch *d, const char *host, const char **owner);
void dispatch_adopt(struct dispatch *d, const struct callout *c);
void dispatch_unreserve(struct dispatch *d, const char *host);
/* Appends the Prometheus text of the callout metrics. Thread-safe. */
void dispatch_metrics(struct dispatch *d, struct buf *out);
/* Stops claiming, gives the callouts claimed ahead back to the queue unsent, lets the
 * callouts under way finish and records them, then stops. */
void dispatch_free(struct dispatch *d);

#endif
