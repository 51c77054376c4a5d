/* The event hub. Subscribers arrive from I/O threads (h_events) through `incoming`, and
 * leave when their connection closes (on_close sets `gone`); everything else about them
 * belongs to the hub thread. */
#include "api/events.h"

#include "api/internal.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

enum {
    POLL_MS = 1000,          /* other nodes' changes are seen within this */
    HEARTBEAT_MS = 15000,    /* a comment line keeps proxies and clients from timing out */
    TRIM_EVERY_MS = 600000,  /* the log is trimmed this often ... */
    KEEP_MS = 2 * 3600000,   /* ... to this age (SPEC 9: at least one hour) */
    BATCH = 512,
};

struct subscriber {
    struct arena arena; /* owns the strings below */
    struct principal who;
    const char *api_root;
    const char *base_url;
    struct http_stream *stream;
    /* Last-Event-ID, else the log's end when it came (or -1): join() replays what came
     * after it, and events up to it are never sent to this stream */
    int64_t replay_after;
    bool gone;            /* guarded by the hub's mu */
    struct events *hub;
    struct subscriber *next;
};

struct events {
    struct api *api;
    pthread_t thread;
    pthread_mutex_t mu; /* guards incoming, notified, stopping, n_subs, every gone */
    pthread_cond_t cv;
    struct subscriber *incoming;
    bool notified, stopping;
    int n_subs;

    /* tests only (ACTIONLINKS_TEST_HUB_JOIN_DELAY_MS): how long the hub waits, when new
     * streams came, before it reads the log and takes them in, to widen that window */
    int join_delay_ms;

    /* the hub thread's own */
    struct subscriber *subs;
    int64_t cursor; /* the newest event handled */

    /* A second thread that writes half of a large fan-out while the hub writes the
     * other half (writing to a socket is most of a delivery's cost). */
    pthread_t helper;
    bool has_helper;
    pthread_mutex_t help_mu; /* guards the three below */
    pthread_cond_t help_cv;
    struct push_item *help_items; /* a fan-out the helper takes part in, NULL when none */
    size_t help_n;
    bool help_stop;
    atomic_size_t help_next; /* the next item of help_items to take (hub and helper) */
};

/* One stream's copy of an event, as delivered. */
struct push_item {
    struct http_stream *stream;
    const char *text;
    size_t len;
};

enum { HELP_FROM = 512 /* streams: a fan-out smaller than this is written by the hub alone */ };

static void push_items(const struct push_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        http_stream_push(items[i].stream, items[i].text, items[i].len);
}

/* Takes HELP_CHUNK items at a time until none is left: the hub and the helper share a
 * fan-out this way rather than by halves, so that one of them being kept off its core
 * (two cores, the clients of a benchmark on the same box) does not hold back the last
 * streams of its half. */
enum { HELP_CHUNK = 64 };

static void push_share(struct events *ev, const struct push_item *items, size_t n)
{
    for (;;) {
        size_t i = atomic_fetch_add(&ev->help_next, HELP_CHUNK);
        if (i >= n)
            return;
        push_items(items + i, n - i < HELP_CHUNK ? n - i : HELP_CHUNK);
    }
}

static void *helper_main(void *arg)
{
    struct events *ev = arg;
    pthread_setname_np(pthread_self(), "al-events-help");
    pthread_mutex_lock(&ev->help_mu);
    for (;;) {
        while (!ev->help_items && !ev->help_stop)
            pthread_cond_wait(&ev->help_cv, &ev->help_mu);
        if (!ev->help_items)
            break;
        struct push_item *items = ev->help_items;
        size_t n = ev->help_n;
        pthread_mutex_unlock(&ev->help_mu);
        push_share(ev, items, n);
        pthread_mutex_lock(&ev->help_mu);
        ev->help_items = NULL;
        pthread_cond_broadcast(&ev->help_cv);
    }
    pthread_mutex_unlock(&ev->help_mu);
    return NULL;
}

/* Writes every item, shared with the helper thread when there are many; returns when all
 * are written (the texts live in the caller's arena). */
static void push_all(struct events *ev, struct push_item *items, size_t n)
{
    if (!ev->has_helper || n < HELP_FROM) {
        push_items(items, n);
        return;
    }
    atomic_store(&ev->help_next, 0);
    pthread_mutex_lock(&ev->help_mu);
    ev->help_items = items;
    ev->help_n = n;
    pthread_cond_broadcast(&ev->help_cv);
    pthread_mutex_unlock(&ev->help_mu);
    push_share(ev, items, n);
    pthread_mutex_lock(&ev->help_mu);
    while (ev->help_items)
        pthread_cond_wait(&ev->help_cv, &ev->help_mu);
    pthread_mutex_unlock(&ev->help_mu);
}

static void sub_free(struct subscriber *s)
{
    http_stream_release(s->stream);
    arena_cleanup(&s->arena);
    free(s);
}

static void on_close(void *ctx)
{
    struct subscriber *s = ctx;
    pthread_mutex_lock(&s->hub->mu);
    s->gone = true;
    pthread_mutex_unlock(&s->hub->mu);
}

/* Renders one event for one subscriber: NULL if it does not concern them. Renderings are
 * shared through `cache`: an Api link's view in a Once scope is the same for every viewer
 * of one API version; other views (a Download/Ui redirect URL is signed for its viewer)
 * are the same for every stream of one user and version. */
enum { CACHE_SLOTS = 4096 };
struct render_cache {
    struct {
        const char *api_root;
        const char *user_id; /* NULL: the shared view */
        char *text;
    } slot[CACHE_SLOTS];
};

static char **cache_slot(struct render_cache *c, const char *api_root, const char *user_id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = api_root; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = user_id ? user_id : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        size_t k = (h + i) % CACHE_SLOTS;
        if (!c->slot[k].api_root) {
            c->slot[k].api_root = api_root;
            c->slot[k].user_id = user_id;
            return &c->slot[k].text;
        }
        if (strcmp(c->slot[k].api_root, api_root) == 0 &&
            ((!user_id && !c->slot[k].user_id) ||
             (user_id && c->slot[k].user_id && strcmp(user_id, c->slot[k].user_id) == 0)))
            return &c->slot[k].text;
    }
    return NULL; /* full: render without caching */
}

static char *render_for(struct events *ev, struct subscriber *s, const struct status_event *e,
                        const struct group *g, const struct link *k, struct render_cache *cache,
                        struct arena *scratch)
{
    if (e->scope_user_id[0] && strcmp(e->scope_user_id, s->who.user.id) != 0)
        return NULL;
    if (!api_link_visible(k, s->who.user.id))
        return NULL;
    bool shared = action_is_api(k->type) && !e->scope_user_id[0];
    char **slot = cache_slot(cache, s->api_root, shared ? NULL : s->who.user.id);
    if (slot && *slot)
        return *slot;
    struct api_req r = {.api = ev->api, .a = scratch, .who = s->who, .base_url = s->base_url,
                        .pc = {.api_root = s->api_root}};
    struct buf json;
    buf_init(&json, 0);
    if (!api_action_text(&r, g, k, &json)) {
        buf_cleanup(&json);
        return NULL;
    }
    char *text = arena_printf(scratch, "id: %lld\nevent: status\ndata: %s\n\n",
                              (long long)e->seq, json.data);
    buf_cleanup(&json);
    if (slot)
        *slot = text;
    return text;
}

/* Delivers events to the subscribers in `to` (a list linked by next, or one). */
static void deliver(struct events *ev, const struct status_event *events, size_t n,
                    struct subscriber *to, bool just_one)
{
    struct arena scratch;
    arena_init(&scratch);
    for (size_t i = 0; i < n; i++) {
        const struct status_event *e = &events[i];
        struct group g;
        if (store_group_get(ev->api->store, e->group_id, &scratch, &g) != ERR_OK)
            continue; /* deleted since */
        const struct link *k = NULL;
        for (size_t j = 0; j < g.n_links; j++)
            if (strcmp(g.links[j].id, e->link_id) == 0)
                k = &g.links[j];
        if (!k)
            continue;
        struct render_cache *cache = calloc(1, sizeof(*cache));
        size_t n_subs = 0;
        for (struct subscriber *s = to; s; s = just_one ? NULL : s->next)
            n_subs++;
        struct push_item *items = malloc((n_subs ? n_subs : 1) * sizeof(*items));
        if (!cache || !items) {
            free(cache);
            free(items);
            break;
        }
        size_t n_items = 0;
        for (struct subscriber *s = to; s; s = just_one ? NULL : s->next) {
            if (e->seq <= s->replay_after) /* before it came (the hub may have lagged) */
                continue;
            char *text = render_for(ev, s, e, &g, k, cache, &scratch);
            if (text)
                items[n_items++] = (struct push_item){s->stream, text, strlen(text)};
        }
        push_all(ev, items, n_items);
        free(items);
        free(cache);
    }
    arena_cleanup(&scratch);
}

/* Reads and delivers every event after the cursor. */
static void catch_up(struct events *ev)
{
    if (!ev->subs) {
        /* nobody to tell: skip to the end (new subscribers replay what they ask for) */
        int64_t last;
        if (store_events_last(ev->api->store, &last) == ERR_OK && last > ev->cursor)
            ev->cursor = last;
        return;
    }
    for (;;) {
        struct arena a;
        arena_init(&a);
        struct status_event *events;
        size_t n = 0;
        if (store_events_since(ev->api->store, ev->cursor, BATCH, &a, &events, &n) != ERR_OK ||
            n == 0) {
            arena_cleanup(&a);
            return;
        }
        if (ev->subs)
            deliver(ev, events, n, ev->subs, false);
        ev->cursor = events[n - 1].seq;
        arena_cleanup(&a);
        if (n < BATCH)
            return;
    }
}

/* A new subscriber: replays what it missed since Last-Event-ID, up to the cursor, then
 * joins the live list. */
static void join(struct events *ev, struct subscriber *s)
{
    int64_t after = s->replay_after;
    while (after >= 0 && after < ev->cursor) {
        struct arena a;
        arena_init(&a);
        struct status_event *events;
        size_t n = 0;
        if (store_events_since(ev->api->store, after, BATCH, &a, &events, &n) != ERR_OK ||
            n == 0) {
            arena_cleanup(&a);
            break;
        }
        size_t upto = 0;
        while (upto < n && events[upto].seq <= ev->cursor)
            upto++;
        deliver(ev, events, upto, s, true);
        after = upto == n ? events[n - 1].seq : ev->cursor;
        arena_cleanup(&a);
    }
    /* An id line with no data sets the client's last event id without an event: a client
     * that reconnects before its first event still resumes from here. */
    char mark[48];
    int64_t upto = ev->cursor > s->replay_after ? ev->cursor : s->replay_after;
    int n = snprintf(mark, sizeof(mark), "id: %lld\n\n", (long long)upto);
    http_stream_push(s->stream, mark, (size_t)n);
    s->next = ev->subs;
    ev->subs = s;
}

static void sweep(struct events *ev)
{
    pthread_mutex_lock(&ev->mu);
    for (struct subscriber **p = &ev->subs; *p;) {
        struct subscriber *s = *p;
        if (s->gone) {
            *p = s->next;
            ev->n_subs--;
            pthread_mutex_unlock(&ev->mu);
            sub_free(s);
            pthread_mutex_lock(&ev->mu);
        } else {
            p = &s->next;
        }
    }
    pthread_mutex_unlock(&ev->mu);
}

static const char heartbeat[] = ": keep-alive\n\n";

static void *hub_main(void *arg)
{
    struct events *ev = arg;
    pthread_setname_np(pthread_self(), "al-events");
    int64_t now = clock_now_ms(), next_poll = now, next_beat = now + HEARTBEAT_MS,
            next_trim = now;
    pthread_mutex_lock(&ev->mu);
    for (;;) {
        while (!ev->notified && !ev->incoming && !ev->stopping && clock_now_ms() < next_poll) {
            int64_t wait = next_poll - clock_now_ms();
            struct timespec ts;
            clock_deadline(wait, &ts);
            pthread_cond_timedwait(&ev->cv, &ev->mu, &ts);
        }
        if (ev->stopping)
            break;
        struct subscriber *incoming = ev->incoming;
        ev->incoming = NULL;
        ev->notified = false;
        pthread_mutex_unlock(&ev->mu);

        if (incoming && ev->join_delay_ms)
            usleep((useconds_t)ev->join_delay_ms * 1000);
        catch_up(ev);
        for (struct subscriber *s = incoming, *next; s; s = next) {
            next = s->next;
            join(ev, s);
        }
        sweep(ev);
        now = clock_now_ms();
        if (now >= next_beat) {
            for (struct subscriber *s = ev->subs; s; s = s->next)
                http_stream_push(s->stream, heartbeat, sizeof(heartbeat) - 1);
            next_beat = now + HEARTBEAT_MS;
        }
        if (now >= next_trim) {
            store_events_trim(ev->api->store, now - KEEP_MS);
            next_trim = now + TRIM_EVERY_MS;
        }
        next_poll = now + POLL_MS;
        pthread_mutex_lock(&ev->mu);
    }
    pthread_mutex_unlock(&ev->mu);
    return NULL;
}

static void stop_helper(struct events *ev)
{
    if (!ev->has_helper)
        return;
    pthread_mutex_lock(&ev->help_mu);
    ev->help_stop = true;
    pthread_cond_broadcast(&ev->help_cv);
    pthread_mutex_unlock(&ev->help_mu);
    pthread_join(ev->helper, NULL);
}

/* The locks and ev itself, once no thread uses them. */
static void free_hub(struct events *ev)
{
    pthread_mutex_destroy(&ev->mu);
    pthread_cond_destroy(&ev->cv);
    pthread_mutex_destroy(&ev->help_mu);
    pthread_cond_destroy(&ev->help_cv);
    free(ev);
}

struct events *events_new(struct api *api)
{
    struct events *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->api = api;
    const char *delay = getenv("ACTIONLINKS_TEST_HUB_JOIN_DELAY_MS");
    ev->join_delay_ms = delay ? atoi(delay) : 0;
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->cv, NULL);
    pthread_mutex_init(&ev->help_mu, NULL);
    pthread_cond_init(&ev->help_cv, NULL);
    /* the helper first, so that has_helper is set before the hub reads it; without a
     * helper the hub writes everything itself */
    ev->has_helper = pthread_create(&ev->helper, NULL, helper_main, ev) == 0;
    if (store_events_last(api->store, &ev->cursor) != ERR_OK ||
        pthread_create(&ev->thread, NULL, hub_main, ev) != 0) {
        stop_helper(ev);
        free_hub(ev);
        return NULL;
    }
    return ev;
}

void events_notify(struct events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    /* with nobody listening the hub has nothing to do before its next poll (it then
     * skips to the end of the log): waking it on every PATCH cost S2 a tenth of its CPU */
    if (ev->n_subs || ev->incoming) {
        ev->notified = true;
        pthread_cond_signal(&ev->cv);
    }
    pthread_mutex_unlock(&ev->mu);
}

int events_subscribers(struct events *ev)
{
    pthread_mutex_lock(&ev->mu);
    int n = ev->n_subs;
    pthread_mutex_unlock(&ev->mu);
    return n;
}

void events_free(struct events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->stopping = true;
    pthread_cond_signal(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
    pthread_join(ev->thread, NULL);
    stop_helper(ev);
    for (struct subscriber *s = ev->subs, *next; s; s = next) {
        next = s->next;
        sub_free(s);
    }
    for (struct subscriber *s = ev->incoming, *next; s; s = next) {
        next = s->next;
        sub_free(s);
    }
    free_hub(ev);
}

/* GET /services/data/vNN.N/connect/action-link-events */
void h_events(struct api_req *r)
{
    struct events *ev = r->api->events;
    if (!ev) {
        reply_error(r, ERR_UNAVAILABLE, "live events are not available");
        return;
    }
    struct subscriber *s = calloc(1, sizeof(*s));
    if (!s) {
        reply_error(r, ERR_UNAVAILABLE, "out of memory");
        return;
    }
    arena_init(&s->arena);
    struct arena *a = &s->arena;
    s->hub = ev;
    s->who = r->who;
    s->who.user.username = arena_strdup(a, r->who.user.username);
    s->who.user.name = arena_strdup(a, r->who.user.name);
    s->who.user.password_hash = NULL;
    s->who.app.name = arena_strdup(a, r->who.app.name);
    s->who.app.client_id = arena_strdup(a, r->who.app.client_id);
    s->api_root = arena_strdup(a, r->pc.api_root);
    s->base_url = arena_strdup(a, public_base_url(r));
    /* Without Last-Event-ID, the stream gets the events after the end of the log as it is
     * now: the hub may read (or, with nobody listening, skip) events committed from now
     * on before it takes this stream in, and join() replays those to it. */
    int64_t end_now;
    s->replay_after = store_events_last(r->api->store, &end_now) == ERR_OK ? end_now : -1;
    const char *last = http_header(r->http, "Last-Event-ID");
    if (last) {
        char *end;
        long long v = strtoll(last, &end, 10);
        if (end != last && !*end && v >= 0)
            s->replay_after = v;
    }
    s->stream = http_stream_open(r->http, r->resp, "text/event-stream", on_close, s);
    if (!s->stream) {
        arena_cleanup(a);
        free(s);
        reply_error(r, ERR_UNAVAILABLE, "out of memory");
        return;
    }
    static const char hello[] = ": connected\nretry: 2000\n\n";
    http_stream_push(s->stream, hello, sizeof(hello) - 1);
    pthread_mutex_lock(&ev->mu);
    s->next = ev->incoming;
    ev->incoming = s;
    ev->n_subs++;
    pthread_cond_signal(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
}
