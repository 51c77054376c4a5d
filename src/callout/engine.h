/* The callout engine: sends HTTP requests with libcurl's multi interface on its own
 * thread, many at once on non-blocking I/O, keeping connections to each destination
 * alive. It knows nothing of the store: jobs come in through engine_submit, results go
 * out through a callback. Whoever submits decides how many are in flight (the engine
 * never queues): see the dispatcher in api/dispatch.c. */
#ifndef AL_ENGINE_H
#define AL_ENGINE_H

#include "core/arena.h"
#include "domain/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine_job {
    idbuf execution_id;
    enum http_method method;
    const char *url; /* absolute */
    struct header *headers;
    size_t n_headers;
    const char *body;   /* NULL: none */
    bool trusted;       /* a call to this server itself (SPEC 7.4): no address policy */
    void *user;         /* the submitter's, handed back with the result */
    struct arena arena; /* owns the strings above; the engine frees it */
};

enum engine_outcome {
    ENGINE_ANSWERED, /* an HTTP answer, any status */
    ENGINE_FAILED,   /* no answer: DNS, connect, TLS, timeout, closed */
    ENGINE_REFUSED,  /* the destination address is not allowed (SPEC 7.6) */
};

struct engine_result {
    const char *execution_id;
    void *user;
    enum engine_outcome outcome;
    long http_code; /* ENGINE_ANSWERED */
    int64_t elapsed_ms;
    const char *diagnostic;   /* the SPEC 7.7 line */
    const char *scrubbed_url; /* scheme://host[:port]/path */
};

/* Called when a job ends, on the engine's thread — or on engine_submit's caller's, when
 * there was no memory to queue the job (it fails as "out of memory"): every submitted
 * job ends exactly once. The result lives until it returns; no engine lock is held. */
typedef void (*engine_done_cb)(void *ctx, const struct engine_result *r);

struct engine_opts {
    size_t max_in_flight; /* connections in all */
    size_t per_host;      /* connections to one host */
    long connect_timeout_ms;
    long timeout_ms;
    bool allow_http;         /* else https only */
    const char *allow_cidrs; /* --callout-allow */
    size_t max_response;     /* bytes of an answer kept; reading stops past it */
    const char *user_agent;
};

struct engine;

/* Process-wide setup and teardown of libcurl: once, before any thread starts, and once
 * at the end. */
void engine_global_init(void);
void engine_global_cleanup(void);

/* Starts the engine thread. NULL with a reason in why on failure (a bad allow list). */
struct engine *engine_new(const struct engine_opts *o, engine_done_cb done, void *ctx, char *why,
                          size_t why_len);
/* Hands a job (allocated with malloc) to the engine, which frees it when it ends. */
void engine_submit(struct engine *e, struct engine_job *job);
/* Lets the transfers under way finish (each is bounded by its timeout) and ends the
 * thread; the engine may still be handed to curl by another engine's thread finishing a
 * submit, so it is freed only by engine_free, once every engine that could submit to it
 * is stopped too. */
void engine_stop(struct engine *e);
/* engine_stop, then frees it. */
void engine_free(struct engine *e);

#endif
