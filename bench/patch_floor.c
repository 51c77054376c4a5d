/* What S2 could be at best with our two libraries: a server that does nothing but what
 * every durable PATCH must, the way actionlinks does it, and none of the rest. It reads
 * the request with libmicrohttpd (two epoll daemons on one port, 8 KiB per connection,
 * as the server), suspends the connection, hands the write to one writer thread, which
 * inserts a row per PATCH like an execution (text key, unique group and scope, an event
 * row from a trigger, the epochs row once per commit) and commits all waiting writes at
 * once (WAL, synchronous=FULL); then resumes the connections, and each answers the same
 * bytes from memory (BODYFILE: one of our answers). No token, no reads, no JSON.
 * Any other request is answered {}.
 * docs/PERFORMANCE.md ("The floor of a PATCH") says what it showed.
 *
 * usage: patch_floor DBFILE BODYFILE [sqlite|fsync|answer]
 *   sqlite  as above (the default)
 *   fsync   the writer only writes a byte to DBFILE and fdatasyncs it per batch
 *   answer  no writer: every request is answered at once (libmicrohttpd alone)
 * Prints "listening on http://127.0.0.1:PORT" on stderr, serves until SIGTERM or SIGINT,
 * then prints {"writes":N,"commits":C} on stdout. */
#include <microhttpd.h>
#include <sqlite3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_SQLITE, MODE_FSYNC, MODE_ANSWER };
enum { DAEMONS = 2, CONNECTION_MEMORY = 8192, ID_MAX = 40 };

struct req {
    struct MHD_Connection *conn;
    struct req *next;
    int written; /* set by the writer before it resumes the connection */
    char id[ID_MAX];
};

static enum mode mode;
static char *answer;
static size_t answer_len;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct req *queue;
static _Atomic long long writes, commits; /* read by main at the end */

static sqlite3 *db;
static sqlite3_stmt *st_begin, *st_insert, *st_epoch, *st_commit;
static int fsync_fd = -1;

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        fprintf(stderr, "patch_floor: %s\n", sqlite3_errmsg(db));
    return rc == SQLITE_DONE;
}

static void write_batch(struct req *list)
{
    if (mode == MODE_FSYNC) {
        if (pwrite(fsync_fd, "x", 1, commits % 4096) != 1 || fdatasync(fsync_fd) != 0)
            perror("patch_floor: fdatasync");
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        step(st_begin);
        for (struct req *r = list; r; r = r->next) {
            char id[ID_MAX];
            snprintf(id, sizeof(id), "0Ae%015lld", writes);
            sqlite3_bind_text(st_insert, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st_insert, 2, r->id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st_insert, 3, ms);
            step(st_insert);
            writes++;
        }
        step(st_epoch);
        step(st_commit);
    }
    commits++;
}

static void *writer_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (!queue)
            pthread_cond_wait(&queue_cond, &queue_lock);
        struct req *list = queue;
        queue = NULL;
        pthread_mutex_unlock(&queue_lock);
        write_batch(list);
        for (struct req *r = list, *next; r; r = next) {
            next = r->next; /* r may be gone once its connection runs again */
            r->written = 1;
            MHD_resume_connection(r->conn);
        }
    }
    return NULL;
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
        snprintf(r->id, sizeof(r->id), "%s", slash ? slash + 1 : url);
        *state = r;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* the body is not read: every PATCH is the same */
        return MHD_YES;
    }
    int patch = strcmp(method, "PATCH") == 0;
    if (patch && mode != MODE_ANSWER && !r->written) {
        MHD_suspend_connection(conn);
        pthread_mutex_lock(&queue_lock);
        r->next = queue;
        queue = r;
        pthread_cond_signal(&queue_cond);
        pthread_mutex_unlock(&queue_lock);
        return MHD_YES;
    }
    /* anything else (wrk's GET /healthz once it has PATCHed every link it was given)
     * gets an answer without a status, which it does not count */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        patch ? answer_len : 2, patch ? answer : "{}", MHD_RESPMEM_PERSISTENT);
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

static int prepare(const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 1;
    fprintf(stderr, "patch_floor: %s: %s\n", sql, sqlite3_errmsg(db));
    return 0;
}

static int open_store(const char *path)
{
    char *msg = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=10000; "
                     "CREATE TABLE IF NOT EXISTS executions (id TEXT PRIMARY KEY, "
                     "group_id TEXT NOT NULL, scope_user_id TEXT NOT NULL, "
                     "link_id TEXT NOT NULL, user_id TEXT NOT NULL, status INTEGER NOT NULL, "
                     "created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL, "
                     "UNIQUE (group_id, scope_user_id)) STRICT, WITHOUT ROWID; "
                     "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, "
                     "group_id TEXT NOT NULL, link_id TEXT NOT NULL, "
                     "scope_user_id TEXT NOT NULL, created_ms INTEGER NOT NULL); "
                     "CREATE TRIGGER IF NOT EXISTS executions_created AFTER INSERT ON "
                     "executions BEGIN INSERT INTO events (group_id, link_id, scope_user_id, "
                     "created_ms) VALUES (NEW.group_id, NEW.link_id, NEW.scope_user_id, "
                     "NEW.created_ms); END; "
                     "CREATE TABLE IF NOT EXISTS epochs (id INTEGER PRIMARY KEY, "
                     "executions INTEGER NOT NULL); "
                     "INSERT OR IGNORE INTO epochs VALUES (1, 0);",
                     NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "patch_floor: %s: %s\n", path, msg ? msg : sqlite3_errmsg(db));
        return 0;
    }
    /* the group is the link's, as S2's links are numbered: 0An…N is in group 0Ag…N */
    return prepare("BEGIN IMMEDIATE", &st_begin) &&
           prepare("INSERT OR FAIL INTO executions VALUES (?1, '0Ag' || substr(?2, 4), '', "
                   "?2, '005000000000001AAA', 2, ?3, ?3)",
                   &st_insert) &&
           prepare("UPDATE epochs SET executions = executions + 1 WHERE id = 1", &st_epoch) &&
           prepare("COMMIT", &st_commit);
}

static int read_answer(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        return 0;
    }
    long n = ftell(f);
    rewind(f);
    answer = malloc(n > 0 ? (size_t)n : 1);
    answer_len = answer && n > 0 ? fread(answer, 1, (size_t)n, f) : 0;
    fclose(f);
    return answer_len == (size_t)n;
}

/* A listening socket on 127.0.0.1:port that shares the port (SO_REUSEPORT), as the
 * server's daemons do; port 0 takes a free one. */
static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0) {
        perror("patch_floor: listen");
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s DBFILE BODYFILE [sqlite|fsync|answer]\n", argv[0]);
        return 2;
    }
    const char *m = argc == 4 ? argv[3] : "sqlite";
    mode = strcmp(m, "fsync") == 0    ? MODE_FSYNC
           : strcmp(m, "answer") == 0 ? MODE_ANSWER
                                      : MODE_SQLITE;
    if (!read_answer(argv[2]))
        return 1;
    if (mode == MODE_SQLITE && !open_store(argv[1]))
        return 1;
    if (mode == MODE_FSYNC && (fsync_fd = open(argv[1], O_RDWR | O_CREAT, 0600)) < 0) {
        perror(argv[1]);
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread started below inherits it */
    pthread_t writer;
    if (mode != MODE_ANSWER && pthread_create(&writer, NULL, writer_main, NULL) != 0)
        return 1;
    int port = 0;
    for (int i = 0; i < DAEMONS; i++) {
        int fd = listen_on(port);
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
            return 1;
        port = ntohs(a.sin_port);
        if (!MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL,
                              NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END)) {
            fprintf(stderr, "patch_floor: cannot start libmicrohttpd\n");
            return 1;
        }
    }
    fprintf(stderr, "listening on http://127.0.0.1:%d\n", port);
    int sig;
    sigwait(&stop, &sig);
    /* the daemons are not stopped: the process ends, and connections with it */
    printf("{\"writes\":%lld,\"commits\":%lld}\n", writes, commits);
    fflush(stdout);
    _exit(0);
}
