/* The HTTP server: libmicrohttpd glue. It reads requests (bounding the body), calls the
 * handler, and writes the response. The handler first runs on the I/O thread that read
 * the request. A handler that would block (waiting for a durable commit) must not stay
 * there: it either asks to be run again on a worker thread (http_later(HTTP_ON_WORKER)),
 * or starts something that calls http_resume when done (http_later(HTTP_ON_RESUME)),
 * and is then run again on the I/O thread to finish. Either way the connection waits,
 * suspended, costing no CPU. The only file that includes <microhttpd.h>. */
#ifndef AL_SERVER_H
#define AL_SERVER_H

#include "core/arena.h"

#include <stdbool.h>
#include <stddef.h>

struct http_conn;

struct http_request {
    const char *method;
    const char *path; /* without repeated or trailing slashes; never empty ("/") */
    const char *body; /* NUL-terminated; "" when there is none */
    size_t body_len;
    bool body_too_large; /* the body passed the limit: it was discarded */
    bool on_worker;      /* this run of the handler is on a worker thread */
    bool stopping;       /* the server is stopping: answer at once, no http_later */
    void *state;         /* the handler's own, kept between its runs (in the arena) */
    struct arena *arena; /* freed when the request ends */
    struct http_conn *conn;
};

enum { HTTP_MAX_EXTRA_HEADERS = 8 };

struct http_stream;

struct http_response {
    int status;
    struct http_stream *stream; /* set by http_stream_open: the body is a live stream */
    char *body; /* malloc'd; taken over by the server */
    size_t body_len;
    const char *content_type; /* static or in the request arena */
    struct {
        const char *name, *value; /* static or in the request arena */
    } headers[HTTP_MAX_EXTRA_HEADERS];
    int n_headers;
};

/* Called for a request on an I/O thread, and again after each http_later. */
typedef void (*http_handler_cb)(void *ctx, struct http_request *req, struct http_response *resp);

enum http_later {
    HTTP_ON_WORKER, /* run the handler again at once, on a worker thread (it may block) */
    HTTP_ON_RESUME, /* run it again on an I/O thread once http_resume(req) is called */
};
/* From a handler: no answer yet (what it wrote to the response so far is ignored).
 * With HTTP_ON_RESUME the connection is suspended before this returns, so whatever
 * will call http_resume may be started after it. Never from a worker run. */
void http_later(struct http_request *req, enum http_later how);
/* Wakes a request that waits after http_later(HTTP_ON_RESUME); any thread, once. */
void http_resume(struct http_request *req);

struct http_opts {
    const char *host; /* numeric IPv4 or IPv6 address */
    int port;         /* 0: any free port */
    int io_threads;
    int workers;
    size_t max_body;
};

struct http_server;

/* Starts serving; NULL on failure with a reason in why. */
struct http_server *http_open(const struct http_opts *o, http_handler_cb handler, void *ctx,
                              char *why, size_t why_len);
/* The port actually bound. */
int http_port(const struct http_server *s);
/* Finishes the requests under way and stops. */
void http_close(struct http_server *s);

/* Live streams (Server-Sent Events): the response is sent with its headers now and a
 * body that grows as data is pushed (not chunked: it ends when the connection closes).
 * The connection is suspended while there is nothing to send, so an idle stream costs no
 * CPU, and a push to it is written to its socket by the pushing thread. Only on an I/O
 * thread (a GET).
 *
 * The stream is shared by the server and the pusher: each holds a reference, and
 * http_stream_release drops the pusher's. on_close(ctx) is called once, from an I/O
 * thread, when the client goes away or the server ends the stream. */
struct http_stream *http_stream_open(struct http_request *req, struct http_response *resp,
                                     const char *content_type, void (*on_close)(void *ctx),
                                     void *ctx);
/* Queues data for the client (thread-safe). False when the stream has ended, or when the
 * client is so far behind that max_pending bytes are waiting: then the stream is ended. */
bool http_stream_push(struct http_stream *st, const char *data, size_t len);
/* Ends the stream after what was pushed (thread-safe). */
void http_stream_end(struct http_stream *st);
void http_stream_release(struct http_stream *st);

/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *r, const char *name);
/* A query string argument, or NULL. */
const char *http_query(const struct http_request *r, const char *name);
/* The client's address as text ("127.0.0.1", "::1"), new in the request arena. */
const char *http_client_addr(const struct http_request *r);
/* Adds a response header; the strings must outlive the request. */
void http_add_header(struct http_response *resp, const char *name, const char *value);

#endif
