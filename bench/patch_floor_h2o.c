/* bench/patch_floor.c with h2o's own event loop in place of libmicrohttpd, to see
 * whether the HTTP library sets the floor (docs/PERFORMANCE.md, "The floor of a PATCH").
 * An experiment, not built by `make bench`: it needs Debian's libh2o-evloop-dev.
 *   gcc -O2 -o /tmp/patch_floor_h2o bench/patch_floor_h2o.c \
 *       $(pkg-config --cflags --libs libh2o-evloop sqlite3) -pthread
 * Two loop threads, each with a listening socket on the shared port; a PATCH is left
 * unanswered until the writer of bench/floor.h has committed it, which sends it back to
 * its loop through h2o's cross-thread queue (one wake-up for all of a loop's answers
 * waiting, where libmicrohttpd takes one per connection resumed).
 * usage and output: as bench/patch_floor.c (modes sqlite and answer). */
#define H2O_USE_LIBUV 0
#include "floor.h"

#include <h2o.h>
#include <h2o/multithread.h>

enum { LOOPS = 2 };

struct loop {
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_multithread_receiver_t receiver;
    int fd;
};

struct guard;
struct req {
    struct floor_req f;          /* first */
    h2o_multithread_message_t m; /* its way back to the loop */
    h2o_req_t *req;              /* NULL once h2o has dropped the request */
    struct guard *guard;
    struct loop *loop;
};

/* In the request's pool: tells the req when h2o frees the request (a client gone). */
struct guard {
    struct req *r;
};

static h2o_globalconf_t config;
static struct loop loops[LOOPS];

static void respond(h2o_req_t *req, const char *body, size_t len)
{
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json;charset=UTF-8"));
    h2o_send_inline(req, body, len);
}

static void floor_written(struct floor_req *f)
{
    struct req *r = (struct req *)f;
    h2o_multithread_send_message(&r->loop->receiver, &r->m);
}

/* On the loop's thread: the PATCHes the writer has sent back. */
static void on_written(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct req *r = H2O_STRUCT_FROM_MEMBER(struct req, m, m);
        if (r->req) {
            r->guard->r = NULL;
            respond(r->req, floor_answer, floor_answer_len);
        }
        free(r);
    }
}

static void on_dropped(void *p)
{
    struct guard *g = p;
    if (g->r)
        g->r->req = NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    int patch = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PATCH"));
    if (!patch || floor_mode == FLOOR_ANSWER) {
        respond(req, patch ? floor_answer : "{}", patch ? floor_answer_len : 2);
        return 0;
    }
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    r->req = req;
    r->loop = H2O_STRUCT_FROM_MEMBER(struct loop, ctx, req->conn->ctx);
    r->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*r->guard), on_dropped);
    r->guard->r = r;
    const char *p = req->path_normalized.base;
    size_t n = req->path_normalized.len, i = n;
    while (i && p[i - 1] != '/')
        i--;
    snprintf(r->f.link_id, sizeof(r->f.link_id), "%.*s", (int)(n - i), p + i);
    floor_submit(&r->f);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct loop *l = listener->data;
    h2o_socket_t *sock;
    if (!err && (sock = h2o_evloop_socket_accept(listener)))
        h2o_accept(&l->accept_ctx, sock);
}

static void *loop_main(void *arg)
{
    struct loop *l = arg;
    h2o_context_init(&l->ctx, h2o_evloop_create(), &config);
    l->accept_ctx.ctx = &l->ctx;
    l->accept_ctx.hosts = config.hosts;
    h2o_multithread_register_receiver(h2o_multithread_create_queue(l->ctx.loop), &l->receiver,
                                      on_written);
    h2o_socket_t *listener =
        h2o_evloop_socket_create(l->ctx.loop, l->fd, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = l;
    h2o_socket_read_start(listener, on_accept);
    while (h2o_evloop_run(l->ctx.loop, INT32_MAX) == 0)
        ;
    return NULL;
}

int main(int argc, char **argv)
{
    if (!floor_start(argc, argv))
        return 1;
    if (floor_mode == FLOOR_FSYNC) {
        fprintf(stderr, "patch_floor_h2o: modes sqlite and answer only\n");
        return 2;
    }
    h2o_config_init(&config);
    h2o_hostconf_t *host =
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_handler_t *handler =
        h2o_create_handler(h2o_config_register_path(host, "/", 0), sizeof(*handler));
    handler->on_req = on_req;
    int port = 0;
    for (int i = 0; i < LOOPS; i++) {
        pthread_t t;
        if ((loops[i].fd = floor_listen(&port)) < 0 ||
            pthread_create(&t, NULL, loop_main, &loops[i]) != 0)
            return 1;
    }
    return floor_serve(port);
}
