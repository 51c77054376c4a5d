/* What the PATCH floors share (bench/patch_floor.c over libmicrohttpd, and
 * bench/patch_floor_h2o.c over h2o, an experiment): the answer, read from a file; the
 * listening sockets; and the writer, one thread that takes every PATCH waiting, inserts
 * a row for each like an execution (a text key, unique group and scope, an event row
 * from a trigger, the epochs row once per commit), commits them at once (WAL,
 * synchronous=FULL) and hands each back to its HTTP side through floor_written, which
 * the including file defines. Header only: each floor is built from its one .c file.
 * docs/PERFORMANCE.md ("The floor of a PATCH") says what they showed. */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

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

enum floor_mode {
    FLOOR_SQLITE, /* the writer as above */
    FLOOR_FSYNC,  /* the writer only writes a byte to the file and fdatasyncs it */
    FLOOR_ANSWER  /* no writer: a PATCH is answered at once (the HTTP library alone) */
};
enum { FLOOR_ID_MAX = 40 };

struct floor_req {
    struct floor_req *next;
    char link_id[FLOOR_ID_MAX];
};

/* Called on the writer thread for each PATCH once its commit is durable. */
static void floor_written(struct floor_req *r);

static enum floor_mode floor_mode;
static char *floor_answer;
static size_t floor_answer_len;

static pthread_mutex_t floor_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t floor_cond = PTHREAD_COND_INITIALIZER;
static struct floor_req *floor_queue;
static _Atomic long long floor_writes, floor_commits; /* read by main at the end */
static sqlite3 *floor_db;
static sqlite3_stmt *floor_begin, *floor_insert, *floor_epoch, *floor_commit;
static int floor_fd = -1;

/* A write that fails ends the floor: it must never answer 200 for a row not stored. */
static void floor_step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(floor_db));
        _exit(1);
    }
    sqlite3_reset(st);
}

static void floor_write(struct floor_req *list)
{
    if (floor_mode == FLOOR_FSYNC) {
        if (pwrite(floor_fd, "x", 1, floor_commits % 4096) != 1 || fdatasync(floor_fd) != 0)
            perror("floor: fdatasync");
        for (struct floor_req *r = list; r; r = r->next)
            floor_writes++;
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        floor_step(floor_begin);
        for (struct floor_req *r = list; r; r = r->next) {
            char id[FLOOR_ID_MAX];
            snprintf(id, sizeof(id), "0Ae%015lld", (long long)floor_writes);
            sqlite3_bind_text(floor_insert, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(floor_insert, 2, r->link_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(floor_insert, 3, ms);
            floor_step(floor_insert);
            floor_writes++;
        }
        floor_step(floor_epoch);
        floor_step(floor_commit);
    }
    floor_commits++;
}

static void *floor_writer_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&floor_lock);
        while (!floor_queue)
            pthread_cond_wait(&floor_cond, &floor_lock);
        struct floor_req *list = floor_queue;
        floor_queue = NULL;
        pthread_mutex_unlock(&floor_lock);
        floor_write(list);
        for (struct floor_req *r = list, *next; r; r = next) {
            next = r->next; /* r may be gone once its HTTP side has it back */
            floor_written(r);
        }
    }
    return NULL;
}

/* Queues a PATCH (whose link_id is set) for the writer's next batch. */
static void floor_submit(struct floor_req *r)
{
    pthread_mutex_lock(&floor_lock);
    r->next = floor_queue;
    floor_queue = r;
    pthread_cond_signal(&floor_cond);
    pthread_mutex_unlock(&floor_lock);
}

static int floor_prepare(const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(floor_db, sql, -1, st, NULL) == SQLITE_OK)
        return 1;
    fprintf(stderr, "floor: %s: %s\n", sql, sqlite3_errmsg(floor_db));
    return 0;
}

static int floor_open_store(const char *path)
{
    char *msg = NULL;
    if (sqlite3_open(path, &floor_db) != SQLITE_OK ||
        sqlite3_exec(floor_db,
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
        fprintf(stderr, "floor: %s: %s\n", path, msg ? msg : sqlite3_errmsg(floor_db));
        return 0;
    }
    /* the group is the link's, as S2's links are numbered: 0An…N is in group 0Ag…N */
    return floor_prepare("BEGIN IMMEDIATE", &floor_begin) &&
           floor_prepare("INSERT OR FAIL INTO executions VALUES (?1, '0Ag' || substr(?2, 4), "
                         "'', ?2, '005000000000001AAA', 2, ?3, ?3)",
                         &floor_insert) &&
           floor_prepare("UPDATE epochs SET executions = executions + 1 WHERE id = 1",
                         &floor_epoch) &&
           floor_prepare("COMMIT", &floor_commit);
}

static int floor_read_answer(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        return 0;
    }
    long n = ftell(f);
    rewind(f);
    floor_answer = malloc(n > 0 ? (size_t)n : 1);
    floor_answer_len = floor_answer && n > 0 ? fread(floor_answer, 1, (size_t)n, f) : 0;
    fclose(f);
    return n > 0 && floor_answer_len == (size_t)n;
}

/* The signals that stop a floor: SIGTERM and SIGINT. */
static sigset_t floor_stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    return stop;
}

/* argv: DBFILE BODYFILE [sqlite|fsync|answer]. Reads the answer, opens the store (or
 * the file to fdatasync), blocks SIGTERM and SIGINT for every thread started after it
 * (floor_serve waits for them) and starts the writer. False after saying why. */
static int floor_start(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s DBFILE BODYFILE [sqlite|fsync|answer]\n", argv[0]);
        return 0;
    }
    const char *m = argc == 4 ? argv[3] : "sqlite";
    floor_mode = strcmp(m, "fsync") == 0    ? FLOOR_FSYNC
                 : strcmp(m, "answer") == 0 ? FLOOR_ANSWER
                                            : FLOOR_SQLITE;
    if (!floor_read_answer(argv[2]))
        return 0;
    if (floor_mode == FLOOR_SQLITE && !floor_open_store(argv[1]))
        return 0;
    if (floor_mode == FLOOR_FSYNC && (floor_fd = open(argv[1], O_RDWR | O_CREAT, 0600)) < 0) {
        perror(argv[1]);
        return 0;
    }
    sigset_t stop = floor_stop_signals();
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_t writer;
    return floor_mode == FLOOR_ANSWER ||
           pthread_create(&writer, NULL, floor_writer_main, NULL) == 0;
}

/* A listening socket on 127.0.0.1:*port that shares the port (SO_REUSEPORT), as the
 * server's I/O threads do; *port 0 takes a free one and sets *port. -1 on failure. */
static int floor_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("floor: listen");
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* Says where it listens, waits for SIGTERM or SIGINT, prints the counts and ends the
 * process (its HTTP threads are not stopped: the connections end with it). */
static int floor_serve(int port)
{
    fprintf(stderr, "listening on http://127.0.0.1:%d\n", port);
    sigset_t stop = floor_stop_signals();
    int sig;
    sigwait(&stop, &sig);
    printf("{\"writes\":%lld,\"commits\":%lld}\n", (long long)floor_writes,
           (long long)floor_commits);
    fflush(stdout);
    _exit(0);
}

#endif
