/* The dispatcher thread, the engine's thread when a transfer ends, and the PATCHes
 * that claim their own callout (an I/O thread, then the store's thread). They share the
 * done list, the per-destination counts and the claimed callouts not yet sent (`ready`),
 * all under `mu`.
 *
 * A claim takes up to twice the room there is: what fits is sent, the rest waits in
 * `ready`, already started in the store. When a transfer ends, the engine's thread
 * sends the oldest ready callout that now has room (usually one to the same
 * destination) at once, without waiting for the dispatcher to record the result and
 * claim again (a commit): with a slot idle for a commit on every callout, S3 was bound
 * by the slots' round trips, not by CPU. None is sent while the heartbeat is late; each
 * round ends by sending every ready one that has room.
 *
 * A PATCH may claim its own callout (dispatch_reserve): when this node has room for it
 * and knows of none queued before it, the write that makes the callout stores it started
 * by this node, and once that is durable it joins the ready ones (dispatch_adopt) — no
 * claim, no second write of the row. `reserved` counts those whose write is under way. */
#include "api/dispatch.h"

#include "auth/token.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/rand.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TICK_MS = 1000, OWNER_LEN = 16, RETRIES = 3 };

enum outcome_label { OUT_SUCCESS, OUT_HTTP_ERROR, OUT_NETWORK_ERROR, OUT_REFUSED, OUT__COUNT };
static const char *const outcome_names[] = {"success", "http_error", "network_error", "refused"};
static const double buckets_s[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
enum { N_BUCKETS = sizeof(buckets_s) / sizeof(buckets_s[0]) };

/* What the dispatcher remembers of a job while the engine has it. */
struct job_note {
    enum action_type type;
    char *host;
    int engine; /* the engine it was sent to (take_slot) */
};

/* A finished job, handed from the engine thread. */
struct done_item {
    idbuf execution_id;
    struct job_note *note;
    enum engine_outcome outcome;
    long http_code;
    int64_t elapsed_ms;
    char *diagnostic;
    char *scrubbed_url;
    struct done_item *next;
};

struct host_slot {
    char *host;
    size_t in_flight; /* sent, not answered */
    size_t on[DISPATCH_MAX_ENGINES]; /* of which on each engine */
    size_t ready;     /* claimed, not sent */
    size_t reserved;  /* claimed by a PATCH whose write is not yet durable */
};

/* A claimed callout waiting for room at its destination. */
struct ready_item {
    struct engine_job *job;
    struct ready_item *next;
};

struct dispatch {
    struct store *store;
    /* The engines, each with its share of the limits (a destination's and the total):
     * a destination never has more connections than --callout-per-host in all. */
    struct engine *engines[DISPATCH_MAX_ENGINES];
    int n_engines;
    size_t eng_in_flight[DISPATCH_MAX_ENGINES]; /* with mu held */
    size_t eng_max[DISPATCH_MAX_ENGINES], eng_per_host[DISPATCH_MAX_ENGINES];
    struct dispatch_opts opts;
    char owner[OWNER_LEN + 1];
    pthread_t thread;

    pthread_mutex_t mu; /* guards all below but the metrics */
    pthread_cond_t cv;
    bool notified, stopping;
    struct done_item *done_head, *done_tail;
    struct host_slot *hosts;
    size_t n_hosts, cap_hosts;
    size_t in_flight, n_ready, n_reserved;
    struct ready_item *ready_head, *ready_tail;
    /* Whether callouts may be queued that the next round cannot all claim: set at the
     * start and when a PATCH found no room. A round that claimed all it found (with
     * room to spare everywhere) clears it, unless a PATCH found no room meanwhile
     * (backlog_gen). A PATCH claims its own callout only without a backlog: so it
     * never takes the room of callouts waiting for room, and goes before none of the
     * queued ones but those queued since the last round (the next one claims them). */
    uint64_t backlog_gen;
    bool backlog;
    /* a PATCH's callout became ready while the heartbeat was late: nothing is sent until
     * the dispatcher has given the ready ones back (another node may fail them) */
    bool must_release;

    _Atomic int64_t last_beat_ms; /* this node's last heartbeat written */
    idbuf *unreleased;            /* claimed, never sent, not yet given back (dispatcher thread) */
    size_t n_unreleased;

    /* metrics, read by /metrics from any thread */
    _Atomic uint64_t m_started, m_finished[OUT__COUNT], m_in_flight;
    _Atomic uint64_t m_claimed_patch, m_claimed_round;
    _Atomic uint64_t m_bucket[N_BUCKETS], m_count, m_sum_us;
};

static struct host_slot *host_slot(struct dispatch *d, const char *host)
{
    for (size_t i = 0; i < d->n_hosts; i++)
        if (strcmp(d->hosts[i].host, host) == 0)
            return &d->hosts[i];
    if (d->n_hosts == d->cap_hosts) {
        size_t cap = d->cap_hosts ? 2 * d->cap_hosts : 16;
        struct host_slot *h = realloc(d->hosts, cap * sizeof(*h));
        if (!h)
            abort();
        d->hosts = h;
        d->cap_hosts = cap;
    }
    struct host_slot *h = &d->hosts[d->n_hosts++];
    h->host = strdup(host);
    h->in_flight = h->ready = h->reserved = 0;
    memset(h->on, 0, sizeof(h->on));
    if (!h->host)
        abort();
    return h;
}

/* Drops hosts with nothing in flight, ready or reserved, so the list stays as small as
 * the traffic. */
static void hosts_compact(struct dispatch *d)
{
    size_t w = 0;
    for (size_t i = 0; i < d->n_hosts; i++) {
        if (d->hosts[i].in_flight || d->hosts[i].ready || d->hosts[i].reserved)
            d->hosts[w++] = d->hosts[i];
        else
            free(d->hosts[i].host);
    }
    d->n_hosts = w;
}

/* Takes a slot at h when there is room there and in all, on the least busy engine with
 * room in its shares; with mu held. The engine, or -1. */
static int take_slot(struct dispatch *d, struct host_slot *h)
{
    if (d->in_flight >= d->opts.engine.max_in_flight || h->in_flight >= d->opts.engine.per_host)
        return -1;
    int best = -1;
    for (int k = 0; k < d->n_engines; k++)
        if (h->on[k] < d->eng_per_host[k] && d->eng_in_flight[k] < d->eng_max[k] &&
            (best < 0 || d->eng_in_flight[k] < d->eng_in_flight[best]))
            best = k;
    if (best < 0)
        return -1;
    h->on[best]++;
    h->in_flight++;
    d->eng_in_flight[best]++;
    d->in_flight++;
    return best;
}

/* Whether other nodes surely still take this node for alive: a claimed callout is
 * sent only then, never after another node may have failed it as interrupted. */
static bool beat_fresh(struct dispatch *d)
{
    return clock_now_ms() - atomic_load(&d->last_beat_ms) <= d->opts.stale_ms / 2;
}

/* The oldest ready callout whose destination has room, its slot taken; with mu held.
 * None while stopping (they go back to the queue) or while the heartbeat is late. */
static struct engine_job *next_ready(struct dispatch *d)
{
    if (d->stopping || d->must_release || !d->ready_head ||
        d->in_flight >= d->opts.engine.max_in_flight || !beat_fresh(d))
        return NULL;
    for (struct ready_item **p = &d->ready_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        struct ready_item *it = *p;
        struct job_note *note = it->job->user;
        struct host_slot *h = host_slot(d, note->host);
        int engine = take_slot(d, h);
        if (engine < 0)
            continue;
        note->engine = engine;
        h->ready--;
        d->n_ready--;
        *p = it->next;
        if (d->ready_tail == it)
            d->ready_tail = prev;
        struct engine_job *job = it->job;
        free(it);
        return job;
    }
    return NULL;
}

static void job_drop(struct engine_job *job)
{
    struct job_note *note = job->user;
    free(note->host);
    free(note);
    arena_cleanup(&job->arena);
    free(job);
}

/* Puts job, claimed for host, behind the ready ones; with mu held. */
static void ready_push(struct dispatch *d, struct engine_job *job, const char *host)
{
    struct ready_item *it = calloc(1, sizeof(*it));
    if (!it)
        abort();
    it->job = job;
    if (d->ready_tail)
        d->ready_tail->next = it;
    else
        d->ready_head = it;
    d->ready_tail = it;
    host_slot(d, host)->ready++;
    d->n_ready++;
}

/* Gives every ready callout back to the queue, unsent (a stop, or a late heartbeat),
 * with those an earlier try could not give back. Their jobs are dropped at once (they
 * are never sent); their ids stay in `unreleased`, retried each round, until the store
 * has them queued again. */
static void release_ready(struct dispatch *d)
{
    pthread_mutex_lock(&d->mu);
    struct ready_item *list = d->ready_head;
    size_t n = d->n_ready;
    d->ready_head = d->ready_tail = NULL;
    d->n_ready = 0;
    d->must_release = false;
    for (size_t i = 0; i < d->n_hosts; i++)
        d->hosts[i].ready = 0;
    pthread_mutex_unlock(&d->mu);
    if (!n && !d->n_unreleased)
        return;
    idbuf *ids = realloc(d->unreleased, (d->n_unreleased + n) * sizeof(*ids));
    if (!ids)
        abort();
    d->unreleased = ids;
    for (struct ready_item *it = list, *next; it; it = next) {
        next = it->next;
        memcpy(ids[d->n_unreleased++], it->job->execution_id, sizeof(ids[0]));
        job_drop(it->job);
        free(it);
    }
    enum err r = store_callouts_release(d->store, d->owner, ids, d->n_unreleased);
    if (r != ERR_OK) {
        log_error("could not give %zu claimed callouts back to the queue (%s); trying again",
                  d->n_unreleased, err_code(r));
        return;
    }
    free(d->unreleased);
    d->unreleased = NULL;
    d->n_unreleased = 0;
}

static void send_job(struct dispatch *d, struct engine_job *job)
{
    atomic_fetch_add(&d->m_started, 1);
    atomic_fetch_add(&d->m_in_flight, 1);
    engine_submit(d->engines[((struct job_note *)job->user)->engine], job);
}

/* Sends every ready callout that has room now. Each round ends with it, so none waits
 * for a transfer's end that will not come (nothing in flight to its destination after
 * a late heartbeat held them back). */
static void send_ready(struct dispatch *d)
{
    for (;;) {
        pthread_mutex_lock(&d->mu);
        struct engine_job *job = next_ready(d);
        pthread_mutex_unlock(&d->mu);
        if (!job)
            return;
        send_job(d, job);
    }
}

/* The engine's thread: the exchange is over, so its slot is free, and the next ready
 * callout for that room is sent now. */
static void on_done(void *ctx, const struct engine_result *r)
{
    struct dispatch *d = ctx;
    struct done_item *it = calloc(1, sizeof(*it));
    if (!it)
        abort();
    snprintf(it->execution_id, sizeof(it->execution_id), "%s", r->execution_id);
    it->note = r->user;
    it->outcome = r->outcome;
    it->http_code = r->http_code;
    it->elapsed_ms = r->elapsed_ms;
    it->diagnostic = strdup(r->diagnostic ? r->diagnostic : "");
    it->scrubbed_url = strdup(r->scrubbed_url ? r->scrubbed_url : "");
    atomic_fetch_sub(&d->m_in_flight, 1);
    pthread_mutex_lock(&d->mu);
    if (d->done_tail)
        d->done_tail->next = it;
    else
        d->done_head = it;
    d->done_tail = it;
    struct job_note *note = r->user;
    struct host_slot *h = host_slot(d, note->host);
    h->on[note->engine]--;
    h->in_flight--;
    d->eng_in_flight[note->engine]--;
    d->in_flight--;
    struct engine_job *next = next_ready(d);
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (next)
        send_job(d, next);
}

static enum outcome_label label_of(const struct done_item *it)
{
    if (it->outcome == ENGINE_REFUSED)
        return OUT_REFUSED;
    if (it->outcome == ENGINE_FAILED)
        return OUT_NETWORK_ERROR;
    return it->http_code >= 200 && it->http_code < 300 ? OUT_SUCCESS : OUT_HTTP_ERROR;
}

/* SPEC 7.1: Api 2xx → Successful; ApiAsync 2xx → stays Pending; anything else → Failed. */
static enum status status_of(const struct done_item *it)
{
    if (label_of(it) != OUT_SUCCESS)
        return STATUS_FAILED;
    return it->note->type == ACTION_API_ASYNC ? STATUS_PENDING : STATUS_SUCCESSFUL;
}

/* The ends of the finished jobs, for the store (their slots were freed by on_done). */
static struct callout_end *ends_of(struct dispatch *d, struct done_item *list, size_t *n)
{
    *n = 0;
    for (struct done_item *it = list; it; it = it->next)
        (*n)++;
    struct callout_end *ends = calloc(*n ? *n : 1, sizeof(*ends));
    if (!ends)
        abort();
    size_t i = 0;
    for (struct done_item *it = list; it; it = it->next, i++) {
        memcpy(ends[i].execution_id, it->execution_id, sizeof(ends[i].execution_id));
        ends[i].status = status_of(it);
        ends[i].diagnostic = it->diagnostic;
        ends[i].scrubbed_url = it->scrubbed_url;
        atomic_fetch_add(&d->m_finished[label_of(it)], 1);
        atomic_fetch_add(&d->m_count, 1);
        atomic_fetch_add(&d->m_sum_us, (uint64_t)it->elapsed_ms * 1000);
        for (int b = 0; b < N_BUCKETS; b++)
            if ((double)it->elapsed_ms / 1000.0 <= buckets_s[b])
                atomic_fetch_add(&d->m_bucket[b], 1);
    }
    return ends;
}

static void free_done(struct done_item *list)
{
    for (struct done_item *it = list, *next; it; it = next) {
        next = it->next;
        free(it->note->host);
        free(it->note);
        free(it->diagnostic);
        free(it->scrubbed_url);
        free(it);
    }
}

/* Builds the engine's job for a claimed callout. */
static struct engine_job *job_for(struct dispatch *d, const struct callout *c)
{
    struct engine_job *j = calloc(1, sizeof(*j));
    struct job_note *note = calloc(1, sizeof(*note));
    if (!j || !note)
        abort();
    arena_init(&j->arena);
    struct arena *a = &j->arena;
    memcpy(j->execution_id, c->execution_id, sizeof(j->execution_id));
    j->method = c->method;
    j->body = arena_strdup(a, c->body);
    bool relative = c->url[0] == '/';
    size_t n = c->n_headers + (relative ? 1 : 0);
    j->headers = arena_alloc(a, (n ? n : 1) * sizeof(*j->headers));
    for (size_t i = 0; i < c->n_headers; i++) {
        j->headers[i].name = arena_strdup(a, c->headers[i].name);
        j->headers[i].value = arena_strdup(a, c->headers[i].value);
    }
    j->n_headers = c->n_headers;
    if (relative) {
        /* SPEC 7.4: a call to this server as the executing user through the app. */
        char token[TOKEN_LEN + 1];
        int64_t expires;
        int64_t ttl_s = d->opts.engine.timeout_ms / 1000 + 60;
        if (token_issue(d->store, c->user_id, c->app_id, ttl_s, NULL, token, &expires) == ERR_OK) {
            j->headers[j->n_headers].name = "Authorization";
            j->headers[j->n_headers].value = arena_printf(a, "Bearer %s", token);
            j->n_headers++;
        }
        j->url = arena_printf(a, "%s%s", d->opts.self_base, c->url);
        j->trusted = true;
    } else {
        j->url = arena_strdup(a, c->url);
    }
    note->type = c->type;
    note->host = strdup(c->host);
    if (!note->host)
        abort();
    j->user = note;
    return j;
}

/* Records ends alone, retried; tells the hub. */
static enum err record_ends(struct dispatch *d, struct callout_end *ends, size_t n)
{
    enum err r = ERR_UNAVAILABLE;
    for (int attempt = 0; attempt < RETRIES && r != ERR_OK; attempt++)
        r = store_callouts_finish(d->store, d->owner, clock_now_ms(), ends, n);
    if (r != ERR_OK)
        log_error("could not record %zu callout results: the database failed (%s)", n,
                  err_code(r));
    else if (d->opts.on_change)
        d->opts.on_change(d->opts.on_change_ctx);
    return r;
}

/* Room for a count that may reach limit. */
static size_t room_left(size_t used, size_t limit)
{
    return used < limit ? limit - used : 0;
}

/* Whether a claim surely took every queued callout: it stopped short of its limit, no
 * destination was full (the store skips those, however long their queue), none had its
 * room filled, and it did not reach the number of destinations a claim looks at. */
static bool claimed_all(const struct callout_room *room, const struct callout *calls, size_t n)
{
    if (n >= room->limit)
        return false;
    for (size_t i = 0; i < room->n_hosts; i++)
        if (room->host_room[i] == 0)
            return false;
    size_t hosts = 0;
    for (size_t i = 0; i < n; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(calls[j].host, calls[i].host) != 0;
        if (!first)
            continue;
        hosts++;
        size_t took = 0, have = room->per_host;
        for (size_t j = i; j < n; j++)
            took += strcmp(calls[j].host, calls[i].host) == 0;
        for (size_t j = 0; j < room->n_hosts; j++)
            if (strcmp(room->hosts[j], calls[i].host) == 0)
                have = room->host_room[j];
        if (took >= have)
            return false;
    }
    return hosts < STORE_CLAIM_HOSTS;
}

/* One round, in one transaction: records the ends of the finished jobs (done, taken over)
 * and claims as many queued callouts as there is room for, in flight and ready; sends
 * those that fit and keeps the others ready. Returns whether it filled all the room
 * (there may be more waiting). */
static bool run_round(struct dispatch *d, struct done_item *done)
{
    bool fresh = beat_fresh(d);
    pthread_mutex_lock(&d->mu);
    bool must_release = d->must_release;
    pthread_mutex_unlock(&d->mu);
    if (!fresh || d->n_unreleased || must_release)
        release_ready(d);
    size_t n_ends;
    struct callout_end *ends = ends_of(d, done, &n_ends);
    size_t max = d->opts.engine.max_in_flight, per_host = d->opts.engine.per_host;
    pthread_mutex_lock(&d->mu);
    hosts_compact(d);
    /* host names stay valid unlocked: only this thread frees them (hosts_compact) */
    const char **hosts = calloc(d->n_hosts + 1, sizeof(*hosts));
    size_t *rooms = calloc(d->n_hosts + 1, sizeof(*rooms));
    if (!hosts || !rooms)
        abort();
    for (size_t i = 0; i < d->n_hosts; i++) {
        struct host_slot *h = &d->hosts[i];
        hosts[i] = h->host;
        rooms[i] = room_left(h->in_flight + h->ready + h->reserved, 2 * per_host);
    }
    uint64_t gen = d->backlog_gen;
    struct callout_room room = {.limit =
                                    room_left(d->in_flight + d->n_ready + d->n_reserved, 2 * max),
                                .per_host = 2 * per_host,
                                .hosts = hosts,
                                .host_room = rooms,
                                .n_hosts = d->n_hosts};
    if (!fresh)
        room.limit = 0; /* claimed ones could not be sent */
    pthread_mutex_unlock(&d->mu);
    struct arena a;
    arena_init(&a);
    struct callout *calls = NULL;
    size_t n = 0;
    enum err r = ERR_OK;
    if (n_ends || room.limit) /* nothing to record and no room: no transaction */
        r = store_callouts_cycle(d->store, d->owner, clock_now_ms(), ends, n_ends, &room, &a,
                                 &calls, &n);
    bool claim_ok = r == ERR_OK;
    if (r && n_ends) {
        /* the claim and the results fail together: the results are retried on their
         * own (a failed claim is simply made again next round) */
        log_warn("a callout round failed (%s); recording its results alone", err_code(r));
        r = record_ends(d, ends, n_ends);
    } else if (r) {
        log_error("could not claim callouts: the database failed (%s)", err_code(r));
    } else if (n_ends && d->opts.on_change) {
        d->opts.on_change(d->opts.on_change_ctx);
    }
    free(ends);
    free_done(done);
    struct engine_job **jobs = calloc(n ? n : 1, sizeof(*jobs));
    if (!jobs)
        abort();
    for (size_t i = 0; i < n; i++)
        jobs[i] = job_for(d, &calls[i]);
    /* behind the ready ones, oldest first; then whatever has room is sent */
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < n; i++)
        ready_push(d, jobs[i], calls[i].host);
    free(jobs);
    atomic_fetch_add(&d->m_claimed_round, n);
    if (claim_ok && fresh && d->backlog_gen == gen && claimed_all(&room, calls, n))
        d->backlog = false;
    pthread_mutex_unlock(&d->mu);
    /* the claim took long enough for the heartbeat to be late: none of these may go */
    if (!beat_fresh(d))
        release_ready(d);
    send_ready(d);
    bool full = n > 0 && n == room.limit;
    arena_cleanup(&a);
    free(hosts);
    free(rooms);
    return full;
}

static void tick(struct dispatch *d)
{
    int64_t n = 0, now = clock_now_ms();
    bool changed = false;
    enum err r = store_callouts_recover(d->store, d->owner, now, d->opts.stale_ms, &n);
    if (r == ERR_OK)
        atomic_store(&d->last_beat_ms, now);
    if (r == ERR_OK && n) {
        log_info("%lld callouts of a stopped node failed as interrupted", (long long)n);
        changed = true;
    }
    if (store_async_expire(d->store, now, &n) == ERR_OK && n) {
        log_info("%lld ApiAsync executions failed: no callback before the deadline",
                 (long long)n);
        changed = true;
    }
    if (changed && d->opts.on_change)
        d->opts.on_change(d->opts.on_change_ctx);
}

static void *dispatch_main(void *arg)
{
    struct dispatch *d = arg;
    pthread_setname_np(pthread_self(), "al-dispatch");
    int64_t next_tick = 0;
    bool more = false;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        /* a stopping dispatcher still waits (for results, and for its heartbeat's tick:
         * callouts under way keep it alive) unless it has ready ones to give back or
         * nothing left under way */
        while (!d->notified && !d->done_head && !more && clock_now_ms() < next_tick &&
               !(d->stopping && (d->n_ready || (d->in_flight == 0 && d->n_reserved == 0)))) {
            int64_t wait_ms = next_tick - clock_now_ms();
            struct timespec ts;
            clock_deadline(wait_ms, &ts);
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        }
        struct done_item *done = d->done_head;
        d->done_head = d->done_tail = NULL;
        bool stopping = d->stopping;
        d->notified = false;
        pthread_mutex_unlock(&d->mu);

        if (clock_now_ms() >= next_tick) {
            tick(d);
            next_tick = clock_now_ms() + TICK_MS;
        }
        if (stopping) {
            /* no new claims: the claimed ones not sent go back to the queue (the next
             * start, or another node, sends them), and the results of those under way
             * are recorded */
            release_ready(d);
            if (done) {
                size_t n_ends;
                struct callout_end *ends = ends_of(d, done, &n_ends);
                record_ends(d, ends, n_ends);
                free(ends);
                free_done(done);
            }
            more = false;
        } else {
            more = run_round(d, done);
        }

        pthread_mutex_lock(&d->mu);
        if (d->stopping && d->in_flight == 0 && d->n_ready == 0 && d->n_reserved == 0 &&
            !d->done_head)
            break;
    }
    pthread_mutex_unlock(&d->mu);
    store_node_leave(d->store, d->owner);
    return NULL;
}

struct dispatch *dispatch_new(struct store *s, const struct dispatch_opts *o, char *why,
                              size_t why_len)
{
    struct dispatch *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->store = s;
    d->opts = *o;
    if (!rand_base62(d->owner, OWNER_LEN)) {
        free(d);
        return NULL;
    }
    d->backlog = true; /* until a round has looked at the queue */
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    /* as many engines as asked, but each with at least one connection to a destination
     * and in all: the limits are shared out, the first engines taking the remainders */
    size_t n = o->engines < 1 ? 1 : (size_t)o->engines;
    if (n > DISPATCH_MAX_ENGINES)
        n = DISPATCH_MAX_ENGINES;
    if (n > o->engine.per_host)
        n = o->engine.per_host;
    if (n > o->engine.max_in_flight)
        n = o->engine.max_in_flight ? o->engine.max_in_flight : 1;
    bool ok = true;
    for (size_t k = 0; k < n && ok; k++) {
        struct engine_opts eo = o->engine;
        eo.per_host = o->engine.per_host / n + (k < o->engine.per_host % n);
        eo.max_in_flight = o->engine.max_in_flight / n + (k < o->engine.max_in_flight % n);
        d->eng_per_host[k] = eo.per_host;
        d->eng_max[k] = eo.max_in_flight;
        ok = (d->engines[k] = engine_new(&eo, on_done, d, why, why_len)) != NULL;
        d->n_engines = (int)k + ok;
    }
    if (ok && pthread_create(&d->thread, NULL, dispatch_main, d) != 0) {
        snprintf(why, why_len, "cannot start the dispatcher thread");
        ok = false;
    }
    if (!ok) {
        for (int k = 0; k < d->n_engines; k++)
            engine_free(d->engines[k]);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        free(d);
        return NULL;
    }
    return d;
}

void dispatch_notify(struct dispatch *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->notified = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

bool dispatch_reserve(struct dispatch *d, const char *host, const char **owner)
{
    if (!d)
        return false;
    size_t max = d->opts.engine.max_in_flight, per_host = d->opts.engine.per_host;
    pthread_mutex_lock(&d->mu);
    bool ok = !d->stopping && !d->backlog && beat_fresh(d);
    if (ok) {
        struct host_slot *h = host_slot(d, host);
        ok = room_left(d->in_flight + d->n_ready + d->n_reserved, 2 * max) > 0 &&
             room_left(h->in_flight + h->ready + h->reserved, 2 * per_host) > 0;
        if (ok) {
            h->reserved++;
            d->n_reserved++;
        } else { /* the PATCH queues it, behind others that may be waiting for room */
            d->backlog = true;
            d->backlog_gen++;
        }
    }
    pthread_mutex_unlock(&d->mu);
    *owner = ok ? d->owner : NULL;
    return ok;
}

void dispatch_unreserve(struct dispatch *d, const char *host)
{
    pthread_mutex_lock(&d->mu);
    struct host_slot *h = host_slot(d, host);
    h->reserved--;
    d->n_reserved--;
    if (d->stopping) /* the stop waits for every PATCH's claim to end */
        pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void dispatch_adopt(struct dispatch *d, const struct callout *c)
{
    struct engine_job *job = job_for(d, c); /* an absolute URL: no token to make */
    atomic_fetch_add(&d->m_claimed_patch, 1);
    pthread_mutex_lock(&d->mu);
    host_slot(d, c->host)->reserved--;
    d->n_reserved--;
    ready_push(d, job, c->host);
    if (!beat_fresh(d)) { /* written while the node may have seemed dead: give it back */
        d->must_release = true;
        d->notified = true;
        pthread_cond_signal(&d->cv);
    } else if (d->stopping) { /* it goes back to the queue with the other ready ones */
        pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    send_ready(d);
}

void dispatch_metrics(struct dispatch *d, struct buf *b)
{
    int64_t queued;
    if (store_callouts_queued(d->store, &queued) != ERR_OK)
        queued = -1;
    buf_printf(b,
               "# HELP actionlinks_callouts_started_total Callouts handed to the network.\n"
               "# TYPE actionlinks_callouts_started_total counter\n"
               "actionlinks_callouts_started_total %llu\n",
               (unsigned long long)atomic_load(&d->m_started));
    buf_printf(b,
               "# HELP actionlinks_callouts_claimed_total Callouts this node took to send: "
               "by the PATCH that made them, or by the dispatcher from the queue.\n"
               "# TYPE actionlinks_callouts_claimed_total counter\n"
               "actionlinks_callouts_claimed_total{by=\"patch\"} %llu\n"
               "actionlinks_callouts_claimed_total{by=\"dispatcher\"} %llu\n",
               (unsigned long long)atomic_load(&d->m_claimed_patch),
               (unsigned long long)atomic_load(&d->m_claimed_round));
    buf_printf(b, "# HELP actionlinks_callouts_finished_total Callouts ended, by outcome.\n"
                  "# TYPE actionlinks_callouts_finished_total counter\n");
    for (int i = 0; i < OUT__COUNT; i++)
        buf_printf(b, "actionlinks_callouts_finished_total{outcome=\"%s\"} %llu\n",
                   outcome_names[i], (unsigned long long)atomic_load(&d->m_finished[i]));
    buf_printf(b,
               "# HELP actionlinks_callouts_in_flight Callouts sent and not yet answered.\n"
               "# TYPE actionlinks_callouts_in_flight gauge\n"
               "actionlinks_callouts_in_flight %llu\n",
               (unsigned long long)atomic_load(&d->m_in_flight));
    pthread_mutex_lock(&d->mu);
    size_t ready = d->n_ready;
    pthread_mutex_unlock(&d->mu);
    buf_printf(b,
               "# HELP actionlinks_callouts_ready Callouts claimed by this node, waiting for "
               "a free slot.\n"
               "# TYPE actionlinks_callouts_ready gauge\n"
               "actionlinks_callouts_ready %zu\n",
               ready);
    buf_printf(b,
               "# HELP actionlinks_callouts_queued Callouts waiting to be sent (all nodes).\n"
               "# TYPE actionlinks_callouts_queued gauge\n"
               "actionlinks_callouts_queued %lld\n",
               (long long)queued);
    buf_printf(b, "# HELP actionlinks_callout_duration_seconds Time from send to answer.\n"
                  "# TYPE actionlinks_callout_duration_seconds histogram\n");
    for (int i = 0; i < N_BUCKETS; i++)
        buf_printf(b, "actionlinks_callout_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets_s[i],
                   (unsigned long long)atomic_load(&d->m_bucket[i]));
    uint64_t count = atomic_load(&d->m_count);
    buf_printf(b,
               "actionlinks_callout_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
               "actionlinks_callout_duration_seconds_sum %.6f\n"
               "actionlinks_callout_duration_seconds_count %llu\n",
               (unsigned long long)count, (double)atomic_load(&d->m_sum_us) / 1e6,
               (unsigned long long)count);
}

void dispatch_free(struct dispatch *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    /* every engine's thread ends before any engine is freed: one that ended a transfer
     * may be finishing a submit to another (on_done sends the next ready callout) */
    for (int k = 0; k < d->n_engines; k++)
        engine_stop(d->engines[k]);
    for (int k = 0; k < d->n_engines; k++)
        engine_free(d->engines[k]);
    if (d->n_unreleased)
        log_warn("%zu claimed callouts could not be given back to the queue: they fail as "
                 "interrupted, as this node has left",
                 d->n_unreleased);
    free(d->unreleased);
    for (size_t i = 0; i < d->n_hosts; i++)
        free(d->hosts[i].host);
    free(d->hosts);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
