/* S5 client: opens NSTREAMS Server-Sent Events streams, says READY on stdout, waits for
 * a line "GO LINKID" on stdin, then sends one PATCH (status SuccessfulStatus on LINKID) and
 * measures, for every stream, the time from sending the PATCH to receiving the status event.
 * One thread, epoll, non-blocking sockets: a Python client would add its own per-read
 * cost (~tens of µs × 10,000 streams) to the latency it is supposed to measure.
 * Prints one JSON line per GO; any other line (or EOF) ends it.
 * usage: sse_client HOST PORT TOKENFILE NSTREAMS TIMEOUT_S */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_SENT, ST_OPEN, ST_GOT, ST_FAILED };

struct stream {
    int fd;
    int state;
    size_t sent;
    char carry[32];
    size_t n_carry;
    double got_at;
};

static struct sockaddr_in addr;
static char **tokens;
static int n_tokens;
static const char *host_port;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int open_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int request_for(int i, char *buf, size_t len)
{
    return snprintf(buf, len,
                    "GET /services/data/v66.0/connect/action-link-events HTTP/1.1\r\n"
                    "Host: %s\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                    host_port, tokens[i % n_tokens]);
}

/* Looks for `needle` in carry + data, keeping the tail as the next carry. */
static int scan(struct stream *s, const char *data, size_t n, const char *needle)
{
    char tmp[32 + 65536];
    memcpy(tmp, s->carry, s->n_carry);
    memcpy(tmp + s->n_carry, data, n);
    size_t total = s->n_carry + n;
    int found = memmem(tmp, total, needle, strlen(needle)) != NULL;
    size_t keep = total < sizeof(s->carry) ? total : sizeof(s->carry);
    memcpy(s->carry, tmp + total - keep, keep);
    s->n_carry = keep;
    return found;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT TOKENFILE NSTREAMS TIMEOUT_S\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[2]), n = atoi(argv[4]);
    double timeout = atof(argv[5]);
    static char hp[300];
    snprintf(hp, sizeof(hp), "%s:%d", argv[1], port);
    host_port = hp;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, argv[1], &addr.sin_addr);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    FILE *tf = fopen(argv[3], "r");
    if (!tf) {
        perror("tokens");
        return 1;
    }
    char line[512];
    tokens = calloc(100000, sizeof(char *));
    while (n_tokens < 100000 && fgets(line, sizeof(line), tf)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            tokens[n_tokens++] = strdup(line);
    }
    fclose(tf);
    if (!n_tokens) {
        fprintf(stderr, "no tokens\n");
        return 1;
    }

    struct stream *ss = calloc((size_t)n, sizeof(*ss));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event evs[1024];
    static char buf[65536];
    char req[1024];
    int next = 0, pending = 0, open_n = 0, failed = 0;
    double t_start = now_s();
    /* Phase 1: open every stream, at most 256 handshakes at a time (listen backlog). */
    while ((open_n + failed < n) && now_s() - t_start < 120) {
        while (next < n && pending < 256) {
            struct stream *s = &ss[next];
            s->fd = open_socket();
            if (s->fd < 0) {
                s->state = ST_FAILED;
                failed++;
                next++;
                continue;
            }
            s->state = ST_CONNECTING;
            struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e);
            next++;
            pending++;
        }
        int k = epoll_wait(ep, evs, 1024, 1000);
        for (int j = 0; j < k; j++) {
            int i = (int)evs[j].data.u32;
            struct stream *s = &ss[i];
            if (s->state == ST_CONNECTING && (evs[j].events & (EPOLLOUT | EPOLLERR))) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                int len = request_for(i, req, sizeof(req));
                if (err || write(s->fd, req, (size_t)len) != len) {
                    s->state = ST_FAILED;
                    failed++;
                    pending--;
                    close(s->fd);
                    continue;
                }
                s->state = ST_SENT;
                struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e);
                continue;
            }
            if (s->state == ST_SENT && (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                ssize_t r = read(s->fd, buf, sizeof(buf));
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN)
                        continue;
                    s->state = ST_FAILED;
                    failed++;
                    pending--;
                    close(s->fd);
                    continue;
                }
                if (s->n_carry == 0 && (r < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0)) {
                    fprintf(stderr, "stream %d: %.*s\n", i, (int)(r < 200 ? r : 200), buf);
                    s->state = ST_FAILED;
                    failed++;
                    pending--;
                    close(s->fd);
                    continue;
                }
                if (scan(s, buf, (size_t)r, ": connected")) {
                    s->state = ST_OPEN;
                    s->n_carry = 0;
                    open_n++;
                    pending--;
                } else if (s->n_carry == 0) {
                    s->n_carry = 1; /* headers seen */
                }
            }
        }
    }
    double t_open = now_s() - t_start;
    printf("READY %d %d %.3f\n", open_n, failed, t_open);
    fflush(stdout);

    /* Phase 2, once per "GO LINKID" line: one PATCH, then wait for the event on every
     * open stream. */
    while (fgets(line, sizeof(line), stdin) && strncmp(line, "GO ", 3) == 0) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *link_id = line + 3;
        int pfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(pfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
            perror("connect");
            return 1;
        }
        const char *body = "{\"status\":\"SuccessfulStatus\"}";
        char preq[1024];
        int plen = snprintf(preq, sizeof(preq),
                            "PATCH /services/data/v66.0/connect/action-links/%s HTTP/1.1\r\n"
                            "Host: %s\r\nAuthorization: Bearer %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n%s",
                            link_id, host_port, tokens[0], strlen(body), body);
        int open_now = 0;
        for (int i = 0; i < n; i++) {
            if (ss[i].state == ST_GOT)
                ss[i].state = ST_OPEN;
            if (ss[i].state == ST_OPEN) {
                ss[i].n_carry = 0;
                open_now++;
            }
        }
        double t0 = now_s();
        if (write(pfd, preq, (size_t)plen) != plen) {
            perror("write");
            return 1;
        }
        fcntl(pfd, F_SETFL, O_NONBLOCK);
        struct epoll_event pe = {.events = EPOLLIN, .data.u32 = (uint32_t)n};
        epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &pe);
        int got = 0, patch_status = 0, patch_open = 1;
        double patch_ms = -1;
        while ((got < open_now || patch_open) && now_s() - t0 < timeout) {
            int k = epoll_wait(ep, evs, 1024, 100);
            for (int j = 0; j < k; j++) {
                int i = (int)evs[j].data.u32;
                if (i == n) {
                    ssize_t r = read(pfd, buf, sizeof(buf) - 1);
                    if (r > 12 && !patch_status) {
                        buf[r] = '\0';
                        patch_status = atoi(buf + 9);
                        patch_ms = (now_s() - t0) * 1000;
                    }
                    if (r == 0 || (r < 0 && errno != EAGAIN)) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, pfd, NULL);
                        patch_open = 0;
                    }
                    continue;
                }
                struct stream *s = &ss[i];
                for (;;) {
                    ssize_t r = read(s->fd, buf, sizeof(buf));
                    if (r <= 0) {
                        if (r == 0 || errno != EAGAIN) {
                            epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
                            if (s->state == ST_OPEN)
                                s->state = ST_FAILED;
                        }
                        break;
                    }
                    if (s->state == ST_OPEN && scan(s, buf, (size_t)r, "event: status")) {
                        s->state = ST_GOT;
                        s->got_at = now_s();
                        got++;
                    }
                }
            }
        }
        close(pfd);
        double *lat = calloc((size_t)(got ? got : 1), sizeof(double));
        int m = 0;
        for (int i = 0; i < n; i++)
            if (ss[i].state == ST_GOT)
                lat[m++] = (ss[i].got_at - t0) * 1000;
        qsort(lat, (size_t)m, sizeof(double), cmp_double);
#define PCT(p) (m ? lat[(int)((m - 1) * (p))] : -1.0)
        printf("{\"streams\":%d,\"open\":%d,\"failed_open\":%d,\"open_s\":%.3f,\"received\":%d,"
               "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
               "\"patch_status\":%d,\"patch_ms\":%.2f}\n",
               n, open_now, failed, t_open, got, PCT(0.5), PCT(0.9), PCT(0.99),
               m ? lat[m - 1] : -1.0, patch_status, patch_ms);
        fflush(stdout);
        free(lat);
    }
    return 0;
}
