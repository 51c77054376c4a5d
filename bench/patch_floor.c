/* What S2 could be at best with our two libraries: a server that does nothing but what
 * every durable PATCH must, the way actionlinks does it, and none of the rest. It reads
 * the request with libmicrohttpd (two epoll daemons on one port, 8 KiB per connection,
 * as the server), suspends the connection and hands the PATCH to the writer of
 * bench/floor.h (a row like an execution, committed with the others waiting); once the
 * commit is durable the connection is resumed and answers the same bytes from memory
 * (BODYFILE: one of our answers). No token, no reads, no JSON. Anything but a PATCH is
 * answered {}.
 *
 * usage: patch_floor DBFILE BODYFILE [sqlite|fsync|answer]   (modes: bench/floor.h)
 * Prints "listening on http://127.0.0.1:PORT" on stderr, serves until SIGTERM or SIGINT,
 * then prints {"writes":N,"commits":C} on stdout. */
#include "floor.h"

#include <microhttpd.h>

enum { DAEMONS = 2, CONNECTION_MEMORY = 8192 };

struct req {
    struct floor_req f; /* first */
    struct MHD_Connection *conn;
    int written; /* set by the writer before it resumes the connection */
};

static void floor_written(struct floor_req *f)
{
    struct req *r = (struct req *)f;
    r->written = 1;
    MHD_resume_connection(r->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    (void)cls, (void)version, (void)upload;
    struct req *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof(*r))))
            return MHD_NO;
        r->conn = conn;
        const char *slash = strrchr(url, '/');
        snprintf(r->f.link_id, sizeof(r->f.link_id), "%s", slash ? slash + 1 : url);
        *state = r;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is not read: every PATCH is the same */
        return MHD_YES;
    }
    int patch = strcmp(method, "PATCH") == 0;
    if (patch && floor_mode != FLOOR_ANSWER && !r->written) {
        MHD_suspend_connection(conn);
        floor_submit(&r->f);
        return MHD_YES;
    }
    /* wrk's GET /healthz, once it has PATCHed every link it was given, gets an answer
     * without a status, which it does not count */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        patch ? floor_answer_len : 2, patch ? floor_answer : "{}", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json;charset=UTF-8");
    enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    free(*state);
    *state = NULL;
}

int main(int argc, char **argv)
{
    if (!floor_start(argc, argv))
        return 1;
    int port = 0;
    for (int i = 0; i < DAEMONS; i++) {
        int fd = floor_listen(&port);
        if (fd < 0 ||
            !MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                              NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END)) {
            fprintf(stderr, "patch_floor: cannot start libmicrohttpd\n");
            return 1;
        }
    }
    return floor_serve(port);
}
