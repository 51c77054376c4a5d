/* One thread runs a libcurl multi handle. Submitted jobs arrive in an inbox (mutex) and
 * curl_multi_wakeup interrupts the poll; finished transfers are reported through the
 * callback. Safety per SPEC 7.6 and DEPENDENCIES.md 2.8: only http(s), no redirects,
 * the address policy checked in the open-socket callback on the address being connected
 * to (after DNS, no second lookup), no Expect: 100-continue, bounded answers, timeouts. */
#include "callout/engine.h"

#include "callout/diag.h"
#include "callout/ssrf.h"
#include "core/buf.h"
#include "core/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { IDLE_HANDLES = 64 };

struct engine {
    struct engine_opts opts;
    struct ssrf_policy policy;
    engine_done_cb done;
    void *ctx;
    CURLM *multi; /* used by the engine thread only, but for curl_multi_wakeup */
    pthread_t thread;
    bool joined; /* engine_stop is done (its caller's thread only) */

    pthread_mutex_t mu; /* guards inbox_head, inbox_tail, stopping */
    struct inbox_item *inbox_head, *inbox_tail;
    bool stopping;

    /* Easy handles of ended transfers, reset and used again (engine thread only): making
     * and freeing one per callout was a tenth of the engine's instructions. */
    CURL *idle[IDLE_HANDLES];
    int n_idle;
    struct diag_urls shown; /* the URLs last shown in diagnostics (engine thread only) */
};

struct inbox_item {
    struct engine_job *job;
    struct inbox_item *next;
};

/* One transfer under way; engine thread only. */
struct xfer {
    struct engine *e;
    struct engine_job *job;
    CURL *easy;
    struct curl_slist *headers;
    struct buf answer;
    bool refused;   /* the address policy refused an address */
    bool opened;    /* a socket to an allowed address was opened */
    long status;    /* the code of the last status line seen */
    bool headers_done; /* the final (non-1xx) header block ended */
    bool truncated; /* the answer passed max_response: reading stopped */
    char error[CURL_ERROR_SIZE];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (!buf_append(&x->answer, p, len)) {
        /* Keep what fits, then stop reading: the status is already known. */
        size_t room = x->answer.limit - x->answer.len;
        buf_append(&x->answer, p, room);
        x->truncated = true;
        return 0;
    }
    return len;
}

/* Notes the end of the final header block: libcurl reports a transfer cut off inside
 * the headers as a success, and that must count as no answer. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;
    if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->headers_done = false;
    } else if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
        if (x->status >= 200)
            x->headers_done = true;
    }
    return len;
}

static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    struct xfer *x = arg;
    if (!x->job->trusted && !ssrf_allowed(&x->e->policy, &a->addr)) {
        x->refused = true;
        return CURL_SOCKET_BAD;
    }
    x->opened = true;
    return socket(a->family, a->socktype, a->protocol);
}

/* x's handle, once out of the multi handle, is kept for the next transfer (reset to
 * its defaults then) or freed. */
static void xfer_free(struct xfer *x)
{
    if (!x)
        return;
    if (x->easy && x->e->n_idle < IDLE_HANDLES)
        x->e->idle[x->e->n_idle++] = x->easy;
    else
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    buf_cleanup(&x->answer);
    if (x->job) {
        arena_cleanup(&x->job->arena);
        free(x->job);
    }
    free(x);
}

static bool has_header(const struct engine_job *j, const char *name)
{
    for (size_t i = 0; i < j->n_headers; i++)
        if (strcasecmp(j->headers[i].name, name) == 0)
            return true;
    return false;
}

static struct curl_slist *add_header(struct curl_slist *l, struct arena *a, const char *name,
                                     const char *value)
{
    /* "Name;" is curl's way to send a header with an empty value. */
    const char *line =
        value && *value ? arena_printf(a, "%s: %s", name, value) : arena_printf(a, "%s;", name);
    struct curl_slist *n = curl_slist_append(l, line);
    return n ? n : l;
}

/* A job that could not be started, reported as failed (its slot must come back) and
 * freed, with x when there is one. */
static void fail_unstarted(struct engine *e, struct engine_job *job, struct xfer *x,
                           const char *why)
{
    struct engine_result r = {job->execution_id, job->user, ENGINE_FAILED, 0, 0, why, ""};
    e->done(e->ctx, &r);
    if (x) {
        xfer_free(x); /* with the job */
        return;
    }
    arena_cleanup(&job->arena);
    free(job);
}

static void start(struct engine *e, struct engine_job *job)
{
    struct xfer *x = calloc(1, sizeof(*x));
    if (!x) {
        fail_unstarted(e, job, NULL, "out of memory");
        return;
    }
    x->e = e;
    x->job = job;
    buf_init(&x->answer, e->opts.max_response);
    CURL *h = NULL;
    if (e->n_idle) {
        h = e->idle[--e->n_idle];
        curl_easy_reset(h); /* every option back to its default: nothing of the last job */
    } else {
        h = curl_easy_init();
    }
    x->easy = h;
    if (!h) {
        fail_unstarted(e, job, x, "out of memory");
        return;
    }
    struct arena *a = &job->arena;
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_URL, job->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                     job->trusted || e->opts.allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* Never through a proxy from the environment: the address policy must see the real
     * destination (and calls to ourselves must stay local). */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, e->opts.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, e->opts.timeout_ms);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->error);
    curl_easy_setopt(h, CURLOPT_USERAGENT, e->opts.user_agent);
    if (job->trusted) /* never leave a connection to ourselves for another job to reuse */
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);

    switch (job->method) {
    case METHOD_HEAD:
        /* [decided] a HEAD request carries no body: its answer has none to delimit one */
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        break;
    case METHOD_GET:
        if (!job->body) {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            break;
        }
        /* a GET with the link's body (SPEC 7.1): sent like the others */
        __attribute__((fallthrough));
    default:
        if (job->method == METHOD_POST || job->body) {
            const char *body = job->body ? job->body : "";
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        }
        if (job->method != METHOD_POST)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method_verb(job->method));
        break;
    }
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < job->n_headers; i++)
        l = add_header(l, a, job->headers[i].name, job->headers[i].value);
    /* Send what the link says and no more: no Expect round trip, and none of curl's
     * default Accept or form Content-Type unless the link sets them. */
    l = curl_slist_append(l, "Expect:");
    if (!has_header(job, "Accept"))
        l = curl_slist_append(l, "Accept:");
    if (!has_header(job, "Content-Type"))
        l = curl_slist_append(l, "Content-Type:");
    x->headers = l;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);

    if (curl_multi_add_handle(e->multi, h) != CURLM_OK)
        fail_unstarted(e, job, x, "could not start the request");
}

/* Refused by the policy: every address tried was refused, none was opened. */
static bool refused_only(CURLcode code, const struct xfer *x)
{
    return x->refused && !x->opened &&
           (code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT);
}

static const char *error_text(CURLcode code, const struct xfer *x)
{
    if (refused_only(code, x))
        return "destination address not allowed";
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "could not resolve the host";
    case CURLE_COULDNT_CONNECT:
        return "connection refused";
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* also what libcurl says of an answer that is not HTTP */
        return x->opened ? "the answer was not HTTP" : "scheme not allowed";
    case CURLE_URL_MALFORMAT:
        return "malformed URL";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return "TLS failure";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "connection closed before a complete answer";
    default:
        return "request failed";
    }
}

static void finish(struct engine *e, struct xfer *x, CURLcode code)
{
    struct engine_job *job = x->job;
    struct arena *a = &job->arena;
    curl_off_t us = 0;
    long http = 0;
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
    struct engine_result r = {.execution_id = job->execution_id,
                              .user = job->user,
                              .elapsed_ms = (int64_t)(us / 1000),
                              .scrubbed_url = diag_url_kept(&e->shown, a, job->url)};
    const char *verb = method_verb(job->method);
    if (code == CURLE_OK && !x->headers_done)
        code = CURLE_PARTIAL_FILE; /* cut off inside the headers */
    if ((code == CURLE_OK || (code == CURLE_WRITE_ERROR && x->truncated)) && http > 0) {
        r.outcome = ENGINE_ANSWERED;
        r.http_code = http;
        r.diagnostic = diag_answered(a, verb, r.scrubbed_url, http, r.elapsed_ms, x->answer.data,
                                     x->answer.len);
    } else {
        r.outcome = refused_only(code, x) ? ENGINE_REFUSED : ENGINE_FAILED;
        r.diagnostic = diag_failed(a, verb, r.scrubbed_url, error_text(code, x), r.elapsed_ms);
    }
    e->done(e->ctx, &r);
    curl_multi_remove_handle(e->multi, x->easy);
    xfer_free(x);
}

static void *engine_main(void *arg)
{
    struct engine *e = arg;
    pthread_setname_np(pthread_self(), "al-callouts");
    int running = 0;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        struct inbox_item *items = e->inbox_head;
        e->inbox_head = e->inbox_tail = NULL;
        bool stopping = e->stopping;
        pthread_mutex_unlock(&e->mu);
        for (struct inbox_item *it = items, *next; it; it = next) {
            next = it->next;
            start(e, it->job);
            free(it);
        }

        curl_multi_perform(e->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(e->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            finish(e, x, m->data.result);
        }
        if (stopping && running == 0 && !items) {
            pthread_mutex_lock(&e->mu);
            bool empty = e->inbox_head == NULL;
            pthread_mutex_unlock(&e->mu);
            if (empty)
                break;
        }
        curl_multi_poll(e->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

void engine_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void engine_global_cleanup(void)
{
    curl_global_cleanup();
}

struct engine *engine_new(const struct engine_opts *o, engine_done_cb done, void *ctx, char *why,
                          size_t why_len)
{
    struct engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->opts = *o;
    e->done = done;
    e->ctx = ctx;
    if (!ssrf_policy_init(&e->policy, o->allow_cidrs, why, why_len)) {
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->mu, NULL);
    e->multi = curl_multi_init();
    if (!e->multi) {
        snprintf(why, why_len, "cannot start libcurl");
        ssrf_policy_cleanup(&e->policy);
        free(e);
        return NULL;
    }
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->per_host);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->max_in_flight);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)o->max_in_flight);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        snprintf(why, why_len, "cannot start the callout thread");
        curl_multi_cleanup(e->multi);
        ssrf_policy_cleanup(&e->policy);
        free(e);
        return NULL;
    }
    return e;
}

void engine_submit(struct engine *e, struct engine_job *job)
{
    struct inbox_item *it = malloc(sizeof(*it));
    if (!it) {
        fail_unstarted(e, job, NULL, "out of memory");
        return;
    }
    it->job = job;
    it->next = NULL;
    pthread_mutex_lock(&e->mu);
    if (e->inbox_tail)
        e->inbox_tail->next = it;
    else
        e->inbox_head = it;
    e->inbox_tail = it;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
}

void engine_stop(struct engine *e)
{
    if (!e || e->joined)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_mutex_unlock(&e->mu);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    e->joined = true;
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    engine_stop(e);
    for (int i = 0; i < e->n_idle; i++)
        curl_easy_cleanup(e->idle[i]);
    diag_urls_free(&e->shown);
    curl_multi_cleanup(e->multi);
    ssrf_policy_cleanup(&e->policy);
    pthread_mutex_destroy(&e->mu);
    free(e);
}
