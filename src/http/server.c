/* Request life on libmicrohttpd 0.9.75:
 *   1st call: headers only; we allocate the request state and never queue a response
 *             here (MHD would then close keep-alive connections; DEPENDENCIES.md 2.1),
 *             except for a declared body so large that reading it is pointless;
 *   upload calls: the body is appended up to max_body, the rest counted and dropped;
 *   final call: the handler runs. If it answered, the response is queued. If it asked
 *             for a worker, the connection is suspended and handed to one, which runs the
 *             handler and resumes the connection; MHD calls us once more and the response
 *             is queued. If it asked to be resumed, the connection is suspended until
 *             http_resume, and MHD's next call runs the handler again. */
#include "http/server.h"

#include "core/buf.h"
#include "core/text.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Past this much discarded body the connection is dropped instead of drained. */
enum { DISCARD_FACTOR = 16 };

enum req_phase {
    PHASE_READING, /* the handler has not run yet */
    PHASE_RUNNING, /* suspended: a worker runs the handler, or it waits for http_resume */
    PHASE_AGAIN,   /* resumed by http_resume: run the handler again */
    PHASE_DONE     /* the response is ready */
};

struct http_conn {
    struct MHD_Connection *mhd;
    struct http_server *server;
    struct http_request req;
    struct http_response resp;
    struct arena arena;
    struct buf body;
    size_t discarded;
    enum req_phase phase; /* written by the worker before it resumes the connection */
    int later;            /* -1, or the enum http_later the handler asked for */
    struct http_conn *next_job;
};

enum { STREAM_MAX_PENDING = 1 << 20, STREAM_BLOCK = 4096, CONNECTION_MEMORY = 8192 };

struct http_stream {
    struct http_server *server;
    struct MHD_Connection *mhd;
    void (*on_close)(void *ctx);
    void *ctx;
    pthread_mutex_t mu; /* guards everything below */
    struct buf pending;
    bool suspended;                  /* the connection waits for data */
    int fd;                          /* the connection's socket */
    bool ending;                     /* send what is pending, then end */
    bool closed;                     /* the connection is gone */
    int refs;                        /* the server's and the pusher's */
    struct http_stream *prev, *next; /* in the server's list; guarded by server->streams_mu */
};

enum { MAX_IO_THREADS = 64, CONNECTION_LIMIT = 20000 /* over all the daemons */ };

struct http_server {
    /* One single-threaded daemon per I/O thread, each with its own listening socket in
     * one SO_REUSEPORT group: the kernel spreads connections over them evenly. (One
     * daemon with a thread pool shares one socket and lets whichever thread wakes first
     * accept, so a burst of connections could all land on one thread.) */
    struct MHD_Daemon *mhd[MAX_IO_THREADS];
    int n_mhd, n_daemons_planned;
    pthread_mutex_t streams_mu; /* guards streams */
    struct http_stream *streams;
    http_handler_cb handler;
    void *ctx;
    size_t max_body;
    int port;

    pthread_t *workers;
    int n_workers;
    pthread_mutex_t mu; /* guards jobs_head, jobs_tail, stopping */
    pthread_cond_t cv;
    struct http_conn *jobs_head, *jobs_tail;
    bool stopping;
    atomic_int active;   /* requests begun and not completed */
    atomic_bool closing; /* http_close has begun: new requests are turned away */
};

const char *http_header(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn->mhd, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn->mhd, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_client_addr(const struct http_request *r)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn->mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char text[INET6_ADDRSTRLEN] = "?";
    if (info && info->client_addr) {
        const struct sockaddr *sa = info->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof(text));
    }
    return arena_strdup(r->arena, text);
}

void http_add_header(struct http_response *resp, const char *name, const char *value)
{
    if (resp->n_headers < HTTP_MAX_EXTRA_HEADERS) {
        resp->headers[resp->n_headers].name = name;
        resp->headers[resp->n_headers].value = value;
        resp->n_headers++;
    }
}

/* Collapses repeated slashes and drops a trailing one. */
static char *normalise_path(struct arena *a, const char *url)
{
    size_t n = strlen(url);
    char *p = arena_alloc(a, n + 2), *w = p;
    if (*url != '/')
        *w++ = '/';
    for (const char *r = url; *r; r++)
        if (!(*r == '/' && w > p && w[-1] == '/'))
            *w++ = *r;
    if (w > p + 1 && w[-1] == '/')
        w--;
    if (w == p)
        *w++ = '/';
    *w = '\0';
    return p;
}

static void stream_unref(struct http_stream *st)
{
    pthread_mutex_lock(&st->mu);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->mu);
    if (!last)
        return;
    buf_cleanup(&st->pending);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct http_stream *st = cls;
    pthread_mutex_lock(&st->mu);
    ssize_t n;
    if (st->pending.len) {
        size_t take = st->pending.len < max ? st->pending.len : max;
        memcpy(out, st->pending.data, take);
        memmove(st->pending.data, st->pending.data + take, st->pending.len - take);
        st->pending.len -= take;
        n = (ssize_t)take;
    } else if (st->ending) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Nothing to send: sleep until a push resumes us (returning 0 without suspending
         * would make libmicrohttpd call again at once, a busy loop). libmicrohttpd asks
         * for more only once what it had was written, so from here the socket is idle
         * and a push may write to it directly (http_stream_push). */
        st->suspended = true;
        MHD_suspend_connection(st->mhd);
        n = 0;
    }
    pthread_mutex_unlock(&st->mu);
    return n;
}

static void stream_gone(void *cls)
{
    struct http_stream *st = cls;
    struct http_server *s = st->server;
    pthread_mutex_lock(&s->streams_mu);
    if (st->prev)
        st->prev->next = st->next;
    else
        s->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    pthread_mutex_unlock(&s->streams_mu);
    pthread_mutex_lock(&st->mu);
    st->closed = true;
    pthread_mutex_unlock(&st->mu);
    if (st->on_close)
        st->on_close(st->ctx);
    stream_unref(st);
}

struct http_stream *http_stream_open(struct http_request *req, struct http_response *resp,
                                     const char *content_type, void (*on_close)(void *ctx),
                                     void *ctx)
{
    struct http_stream *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    struct http_conn *c = req->conn;
    st->server = c->server;
    st->mhd = c->mhd;
    st->on_close = on_close;
    st->ctx = ctx;
    st->refs = 2;
    st->fd = -1;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info)
        st->fd = info->connect_fd;
    pthread_mutex_init(&st->mu, NULL);
    buf_init(&st->pending, STREAM_MAX_PENDING);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = 200;
    resp->content_type = content_type;
    resp->stream = st;
    /* a stream is quiet for long stretches: no idle timeout for it */
    MHD_set_connection_option(c->mhd, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)0);
    struct http_server *s = c->server;
    pthread_mutex_lock(&s->streams_mu);
    st->next = s->streams;
    if (s->streams)
        s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->streams_mu);
    return st;
}

bool http_stream_push(struct http_stream *st, const char *data, size_t len)
{
    pthread_mutex_lock(&st->mu);
    bool ok = !st->closed && !st->ending;
    if (ok && st->suspended && st->pending.len == 0 && st->fd >= 0 &&
        len <= STREAM_MAX_PENDING) {
        /* An idle stream: write to its socket at once instead of resuming the connection
         * for libmicrohttpd to do it (a lock, an eventfd write and two epoll changes for
         * each of 10,000 streams per event). The body is not chunked (see queue), so
         * what a short write leaves is simply sent next by libmicrohttpd (it always fits
         * the pending buffer: nothing is torn). This relies on libmicrohttpd 0.9.75 on
         * plain TCP (no TLS here): it calls stream_read again only once all it returned
         * before is written, so the socket of a suspended stream has nothing of its
         * queued (and it sends the headers before it first asks); and it never closes a
         * suspended connection, so the fd is ours to use
         * until stream_gone marks the stream closed (under st->mu). */
        ssize_t n = send(st->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)len) {
            pthread_mutex_unlock(&st->mu);
            return true;
        }
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        }
        /* the rest, or a failure (the client left): libmicrohttpd takes over */
    }
    if (ok && !buf_append(&st->pending, data, len)) {
        st->ending = true; /* a client this far behind is dropped; it can resume */
        ok = false;
    }
    if (st->suspended && !st->closed) {
        st->suspended = false;
        MHD_resume_connection(st->mhd);
    }
    pthread_mutex_unlock(&st->mu);
    return ok;
}

void http_stream_end(struct http_stream *st)
{
    pthread_mutex_lock(&st->mu);
    st->ending = true;
    if (st->suspended && !st->closed) {
        st->suspended = false;
        MHD_resume_connection(st->mhd);
    }
    pthread_mutex_unlock(&st->mu);
}

void http_stream_release(struct http_stream *st)
{
    if (st)
        stream_unref(st);
}

static enum MHD_Result queue(struct http_conn *c)
{
    struct http_response *r = &c->resp;
    if (r->stream) {
        struct MHD_Response *m = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, r->stream, stream_gone);
        if (!m) {
            stream_gone(r->stream);
            return MHD_NO;
        }
        /* Not chunked: the body runs until the connection closes, so the event hub can
         * write to an idle stream's socket itself (http_stream_push). */
        MHD_set_response_options(m, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
        MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        for (int i = 0; i < r->n_headers; i++)
            MHD_add_response_header(m, r->headers[i].name, r->headers[i].value);
        enum MHD_Result ok = MHD_queue_response(c->mhd, (unsigned)r->status, m);
        MHD_destroy_response(m);
        return ok;
    }
    struct MHD_Response *m =
        MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (void *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!m)
        return MHD_NO;
    r->body = NULL; /* owned by MHD now */
    if (r->content_type)
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (int i = 0; i < r->n_headers; i++)
        MHD_add_response_header(m, r->headers[i].name, r->headers[i].value);
    enum MHD_Result ok = MHD_queue_response(c->mhd, (unsigned)r->status, m);
    MHD_destroy_response(m);
    return ok;
}

static void run_handler(struct http_conn *c)
{
    c->req.body = c->body.data ? c->body.data : "";
    c->req.body_len = c->body.len;
    /* each run starts from an empty answer: what an earlier run wrote before http_later
     * is dropped */
    free(c->resp.body);
    c->resp.body = NULL;
    c->resp.body_len = 0;
    c->resp.content_type = NULL;
    c->resp.n_headers = 0;
    c->resp.status = 500;
    c->later = -1;
    c->server->handler(c->server->ctx, &c->req, &c->resp);
}

void http_later(struct http_request *req, enum http_later how)
{
    struct http_conn *c = req->conn;
    c->later = (int)how;
    if (how == HTTP_ON_RESUME) {
        c->phase = PHASE_RUNNING;
        MHD_suspend_connection(c->mhd);
    }
}

void http_resume(struct http_request *req)
{
    struct http_conn *c = req->conn;
    c->phase = PHASE_AGAIN;
    MHD_resume_connection(c->mhd);
}

static void *worker_main(void *arg)
{
    struct http_server *s = arg;
    pthread_setname_np(pthread_self(), "al-worker");
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->jobs_head && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        struct http_conn *c = s->jobs_head;
        if (!c)
            break;
        s->jobs_head = c->next_job;
        if (!s->jobs_head)
            s->jobs_tail = NULL;
        pthread_mutex_unlock(&s->mu);

        c->req.on_worker = true;
        run_handler(c);
        c->req.on_worker = false;
        c->phase = PHASE_DONE;
        MHD_resume_connection(c->mhd);

        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Hands c to a worker; false when the server is stopping (then the caller runs it). */
static bool enqueue(struct http_server *s, struct http_conn *c)
{
    pthread_mutex_lock(&s->mu);
    bool ok = !s->stopping;
    if (ok) {
        c->phase = PHASE_RUNNING;
        MHD_suspend_connection(c->mhd);
        c->next_job = NULL;
        if (s->jobs_tail)
            s->jobs_tail->next_job = c;
        else
            s->jobs_head = c;
        s->jobs_tail = c;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mhd, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct http_conn *c = *con_cls;

    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return MHD_NO;
        c->mhd = mhd;
        c->server = s;
        arena_init(&c->arena);
        buf_init(&c->body, s->max_body);
        c->req.arena = &c->arena;
        c->req.conn = c;
        c->req.method = arena_strdup(&c->arena, method);
        c->req.path = normalise_path(&c->arena, url);
        *con_cls = c;
        atomic_fetch_add(&s->active, 1);
        /* Answered at once, before the body (MHD then closes the connection): while
         * stopping (never suspend then: a suspended connection would abort the daemon's
         * stop), and for a declared body too large to be worth draining. */
        const char *cl = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "Content-Length");
        c->req.stopping = atomic_load(&s->closing);
        c->req.body_too_large = cl && strtoull(cl, NULL, 10) > s->max_body * DISCARD_FACTOR;
        if (!c->req.stopping && !c->req.body_too_large)
            return MHD_YES;
        run_handler(c);
        c->phase = PHASE_DONE;
        return queue(c);
    }

    if (*upload_data_size) {
        if (c->phase == PHASE_READING && !c->req.body_too_large &&
            !buf_append(&c->body, upload_data, *upload_data_size)) {
            c->req.body_too_large = true;
            buf_cleanup(&c->body);
        }
        if (c->req.body_too_large) {
            c->discarded += *upload_data_size;
            if (c->discarded > s->max_body * DISCARD_FACTOR)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (c->phase == PHASE_DONE)
        return queue(c);
    if (c->phase == PHASE_RUNNING)
        return MHD_YES; /* resumed spuriously: the worker or the resumer has not finished */
    run_handler(c);
    if (c->later == HTTP_ON_RESUME)
        return MHD_YES; /* suspended by http_later */
    if (c->later == HTTP_ON_WORKER && enqueue(s, c))
        return MHD_YES;
    if (c->later == HTTP_ON_WORKER) { /* stopping: no workers left, run it here */
        c->req.on_worker = true;
        run_handler(c);
    }
    c->phase = PHASE_DONE;
    return queue(c);
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mhd;
    (void)toe;
    struct http_conn *c = *con_cls;
    if (!c)
        return;
    atomic_fetch_sub(&c->server->active, 1);
    free(c->resp.body);
    buf_cleanup(&c->body);
    arena_cleanup(&c->arena);
    free(c);
    *con_cls = NULL;
}

/* Percent-decodes in place, except %00: a NUL would cut the path short and route the
 * request somewhere else. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (p[0] == '%' && (hi = text_hex_digit(p[1])) >= 0 && (lo = text_hex_digit(p[2])) >= 0 &&
            (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_msg(LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* A listening TCP socket on addr; with reuse_port, in the SO_REUSEPORT group of the
 * others bound to the same port. -1 with errno set on failure. */
static int listen_socket(const struct sockaddr_storage *addr, bool reuse_port)
{
    int family = addr->ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (reuse_port)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)addr, len) != 0 || listen(fd, 1024) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int socket_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    return ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                         : ((struct sockaddr_in *)&a)->sin_port);
}

static void set_port(struct sockaddr_storage *addr, int port)
{
    if (addr->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)addr)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)addr)->sin_port = htons((uint16_t)port);
}

static struct MHD_Daemon *start_daemon(struct http_server *s, int fd, bool v6)
{
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                            (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)(CONNECTION_LIMIT / s->n_daemons_planned),
                            /* per connection: headers, buffers; the default (32 KiB) makes 10,000
                             * open event streams cost 320 MiB */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape, s, MHD_OPTION_EXTERNAL_LOGGER,
                            on_mhd_log, s, MHD_OPTION_END);
}

struct http_server *http_open(const struct http_opts *o, http_handler_cb handler, void *ctx,
                              char *why, size_t why_len)
{
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    bool is_v6 = false;
    if (inet_pton(AF_INET, o->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, o->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        is_v6 = true;
    } else {
        snprintf(why, why_len, "cannot listen on %s: not a numeric IP address", o->host);
        return NULL;
    }
    set_port(&addr, o->port);

    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->handler = handler;
    s->ctx = ctx;
    s->max_body = o->max_body;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->streams_mu, NULL);
    s->n_workers = o->workers > 0 ? o->workers : 1;
    s->workers = calloc((size_t)s->n_workers, sizeof(*s->workers));
    for (int i = 0; s->workers && i < s->n_workers; i++)
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            s->n_workers = i;
            break;
        }

    /* A port already in use must be an error, not a share: SO_REUSEPORT would let us
     * join another server's group on it. So the port is first taken without it. */
    int n = o->io_threads > 0 ? o->io_threads : 1;
    if (n > MAX_IO_THREADS)
        n = MAX_IO_THREADS;
    s->n_daemons_planned = n;
    int probe = listen_socket(&addr, false);
    int port = probe >= 0 ? socket_port(probe) : -1;
    if (probe >= 0)
        close(probe);
    if (port > 0)
        set_port(&addr, port);
    for (int i = 0; port > 0 && i < n; i++) {
        int fd = listen_socket(&addr, true);
        if (fd < 0)
            break;
        s->mhd[s->n_mhd] = start_daemon(s, fd, is_v6);
        if (!s->mhd[s->n_mhd])
            break; /* the socket is not closed here: libmicrohttpd may have closed it */
        s->n_mhd++;
    }
    if (s->n_mhd < n) {
        snprintf(why, why_len, "cannot listen on %s:%d (in use, or not an address here?)", o->host,
                 o->port);
        http_close(s);
        return NULL;
    }
    s->port = port;
    return s;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

/* Ends every stream and waits (a little) for their connections to finish: stopping the
 * daemon with a suspended connection aborts the process (DEPENDENCIES.md 2.2). */
static void end_streams(struct http_server *s)
{
    for (int tries = 0; tries < 300; tries++) {
        pthread_mutex_lock(&s->streams_mu);
        bool any = s->streams != NULL;
        for (struct http_stream *st = s->streams; st; st = st->next)
            http_stream_end(st);
        pthread_mutex_unlock(&s->streams_mu);
        if (!any)
            return;
        usleep(10000);
    }
    log_warn("some event streams did not end in time");
}

void http_close(struct http_server *s)
{
    if (!s)
        return;
    /* No new connections on any socket (the quiesced sockets are ours: closed at once,
     * so the kernel stops queueing connections on them); new requests on open
     * connections are turned away; the streams are ended. */
    atomic_store(&s->closing, true);
    for (int i = 0; i < s->n_mhd; i++) {
        MHD_socket fd = MHD_quiesce_daemon(s->mhd[i]);
        if (fd != MHD_INVALID_SOCKET)
            close(fd);
    }
    if (s->n_mhd)
        end_streams(s);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    /* The requests under way finish: a write they wait for completes (the store is
     * still open). Stopping a daemon with a suspended connection would abort the
     * process, so if some never finish, the daemons are left as they are. */
    for (int tries = 0; tries < 3000 && atomic_load(&s->active) > 0; tries++)
        usleep(10000);
    bool stuck = atomic_load(&s->active) > 0;
    if (stuck)
        log_warn("%d requests did not finish in time; not waiting for them",
                 atomic_load(&s->active));
    for (int i = 0; i < s->n_mhd && !stuck; i++)
        MHD_stop_daemon(s->mhd[i]);
    free(s->workers);
    pthread_mutex_destroy(&s->streams_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
