/* `actionlinks serve`: opens the store, starts the HTTP server, and waits for SIGTERM or
 * SIGINT, then finishes the requests under way and exits 0. Signals are blocked in every
 * thread and taken with sigwait, so no handler runs in a random thread. */
#include "cli/cli.h"

#include "api/api.h"
#include "api/events.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "cli/opts.h"
#include "core/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: actionlinks serve [--listen ADDR:PORT] [--db LOCATION] [--public-url URL]\n"
    "         [--callout-allow CIDR,...] [--allow-http-callouts] [--callout-timeout SECONDS]\n"
    "         [--async-deadline SECONDS] [--callout-max N] [--callout-per-host N]\n"
    "         [--callout-threads N]\n"
    "         [--callout-connect-timeout SECONDS] [--io-threads N] [--workers N]\n"
    "         [--max-body BYTES] [--token-ttl SECONDS] [--link-cache MIB]\n";

/* Splits "host:port" or "[v6]:port". */
static bool split_listen(const char *in, char *host, size_t host_len, int *port)
{
    const char *colon = strrchr(in, ':');
    if (!colon)
        return false;
    const char *h = in;
    size_t n = (size_t)(colon - in);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= host_len)
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535 || end == colon + 1)
        return false;
    *port = (int)p;
    return true;
}

static bool positive(const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

static void notify_events(void *ctx)
{
    events_notify(((struct api *)ctx)->events);
}

int cli_serve(int argc, char **argv)
{
    struct opt o[] = {
        {"listen", false, "127.0.0.1:8080"},
        {"db", false, "./actionlinks.db"},
        {"public-url", false, NULL},
        {"callout-allow", false, NULL},
        {"allow-http-callouts", true, NULL},
        {"callout-timeout", false, "10"},
        {"async-deadline", false, "86400"},
        {"io-threads", false, "2"},
        {"workers", false, "64"},
        {"max-body", false, "1048576"},
        {"callout-max", false, "256"},
        {"callout-per-host", false, "32"},
        {"callout-connect-timeout", false, "5"},
        {"callout-threads", false, "2"},
        {"token-ttl", false, "7200"},
        {"link-cache", false, "64"},
    };
    size_t n = sizeof(o) / sizeof(o[0]), n_pos;
    char why[512] = "", host[256];
    const char *pos[1];
    int port;
    long io_threads, workers, max_body, timeout, deadline, callout_max, per_host, connect_timeout,
        token_ttl, link_cache, callout_threads;
    if (!opts_parse(argc, argv, o, n, pos, 0, &n_pos, why, sizeof(why)) ||
        !split_listen(opts_get(o, n, "listen"), host, sizeof(host), &port) ||
        !positive(opts_get(o, n, "io-threads"), 64, &io_threads) || io_threads < 1 ||
        !positive(opts_get(o, n, "workers"), 4096, &workers) || workers < 1 ||
        !positive(opts_get(o, n, "max-body"), 1L << 30, &max_body) || max_body < 1024 ||
        !positive(opts_get(o, n, "callout-timeout"), 120, &timeout) || timeout < 1 ||
        !positive(opts_get(o, n, "async-deadline"), 1L << 40, &deadline) ||
        !positive(opts_get(o, n, "callout-max"), 100000, &callout_max) ||
        !positive(opts_get(o, n, "callout-per-host"), 100000, &per_host) || per_host < 1 ||
        !positive(opts_get(o, n, "callout-threads"), DISPATCH_MAX_ENGINES, &callout_threads) ||
        callout_threads < 1 ||
        !positive(opts_get(o, n, "callout-connect-timeout"), 120, &connect_timeout) ||
        connect_timeout < 1 ||
        !positive(opts_get(o, n, "token-ttl"), 10L * 365 * 86400, &token_ttl) || token_ttl < 1 ||
        !positive(opts_get(o, n, "link-cache"), 1L << 20, &link_cache)) {
        fprintf(stderr, "%s%s%s", argc && why[0] ? why : "", argc && why[0] ? "\n" : "", usage);
        return 2;
    }

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct store *store = NULL;
    if (store_open(opts_get(o, n, "db"), &store, why, sizeof(why))) {
        fprintf(stderr, "actionlinks: %s\n", why);
        return 1;
    }
    store_keep_definitions(store, (size_t)link_cache << 20);
    struct api api = {.store = store,
                      .cfg = {.allow_http_callouts = opts_flag(o, n, "allow-http-callouts"),
                              .public_url = opts_get(o, n, "public-url"),
                              .max_body = (size_t)max_body,
                              .async_deadline_ms = (int64_t)deadline * 1000,
                              .token_ttl_s = token_ttl}};
    api.throttle = throttle_new();
    api.tokens = token_cache_new();
    struct http_opts ho = {.host = host, .port = port, .io_threads = (int)io_threads,
                           .workers = (int)workers, .max_body = (size_t)max_body};
    struct http_server *http = http_open(&ho, api_handle, &api, why, sizeof(why));
    if (!http) {
        fprintf(stderr, "actionlinks: %s\n", why);
        throttle_free(api.throttle);
        token_cache_free(api.tokens);
        store_close(store);
        return 1;
    }
    /* Calls to ourselves (relative URLs, callbacks) go to the address we listen on. */
    bool v6 = strchr(host, ':') != NULL;
    const char *self_host = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1"
                            : strcmp(host, "::") == 0    ? "::1"
                                                         : host;
    char self_base[300];
    snprintf(self_base, sizeof(self_base), "http://%s%s%s:%d", v6 ? "[" : "", self_host,
             v6 ? "]" : "", http_port(http));
    api.cfg.self_base = self_base;
    char user_agent[64];
    snprintf(user_agent, sizeof(user_agent), "actionlinks/%s", AL_VERSION);
    struct dispatch_opts dopts = {.engine = {.max_in_flight = (size_t)callout_max,
                                             .per_host = (size_t)per_host,
                                             .connect_timeout_ms = connect_timeout * 1000,
                                             .timeout_ms = timeout * 1000,
                                             .allow_http = opts_flag(o, n, "allow-http-callouts"),
                                             .allow_cidrs = opts_get(o, n, "callout-allow"),
                                             .max_response = 65536,
                                             .user_agent = user_agent},
                                  .engines = (int)callout_threads,
                                  .self_base = self_base,
                                  .stale_ms = 5000,
                                  .on_change = notify_events,
                                  .on_change_ctx = &api};
    api.events = events_new(&api);
    if (!api.events) {
        fprintf(stderr, "actionlinks: cannot start the event hub\n");
        http_close(http);
        throttle_free(api.throttle);
        token_cache_free(api.tokens);
        store_close(store);
        return 1;
    }
    api.dispatch = dispatch_new(store, &dopts, why, sizeof(why));
    if (!api.dispatch) {
        fprintf(stderr, "actionlinks: %s\n", why);
        http_close(http);
        events_free(api.events);
        throttle_free(api.throttle);
        token_cache_free(api.tokens);
        store_close(store);
        return 1;
    }
    fprintf(stderr, "listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "",
            http_port(http));
    fflush(stderr);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("received signal %d; finishing requests under way", sig);
    http_close(http); /* ends the event streams too */
    dispatch_free(api.dispatch);
    events_free(api.events);
    throttle_free(api.throttle);
    token_cache_free(api.tokens);
    store_close(store);
    log_info("stopped");
    return 0;
}
