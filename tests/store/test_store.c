/* The storage conformance suite. Every case talks to the store through store.h only, so
 * the same program runs against each backend:
 *
 *     test_store <backend> <scratch-dir>      backend: sqlite | postgresql
 *
 * The backend decides one thing: how a test's location string is made (location_for).
 * Cases never assume an empty database (callout counts are compared before and after,
 * names are made from fresh ids), so a backend whose tests share one database, as a
 * PostgreSQL server may, runs them unchanged — except the two that trim events
 * (test_events, test_events_trim): a trim stops at the first recent event, so theirs
 * must be the store's oldest; such a backend gives those two a database of their own.
 *
 * The concurrency cases start their threads on a barrier so that the calls really
 * overlap; threads only record results, and the main thread asserts on them (cmocka's
 * asserts are not thread-safe). */
#include "core/arena.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/id.h"
#include "domain/model.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h> /* cmocka.h needs stdarg, stddef, stdint and setjmp first */

#include <cmocka.h>

enum backend { BACKEND_SQLITE, BACKEND_POSTGRESQL };

enum {
    LOCATION_MAX = 1024,
    WHY_MAX = 512,
    HASH_LEN = 64,   /* hex SHA-256, as the token and client secret hashes are */
    N_RACERS = 32,   /* threads racing for one row */
    RACE_ROUNDS = 4, /* fresh scopes raced for, per race case */
    N_WRITERS = 32,  /* threads writing distinct rows */
    N_OPENERS = 8,   /* threads opening one new location at once */
    N_READERS = 160, /* threads reading while others write: more than a server has */
    READS_EACH = 50,
    WRITES_EACH = 10,
    HOUR_MS = 3600000,
    /* exit status for "skipped", the automake convention; give ctest SKIP_RETURN_CODE 77 */
    EXIT_SKIP = 77,
};

static enum backend backend;
static const char *scratch_dir;

#define assert_err(got, want)                                                                      \
    do {                                                                                           \
        enum err got_ = (got), want_ = (want);                                                     \
        if (got_ != want_)                                                                         \
            fail_msg("%s: got %s, want %s", #got, err_code(got_), err_code(want_));                \
    } while (0)

/* Both NULL, or both strings and equal. */
#define assert_str_or_null(want, got)                                                              \
    do {                                                                                           \
        const char *w_ = (want), *g_ = (got);                                                      \
        if (!w_)                                                                                   \
            assert_null(g_);                                                                       \
        else {                                                                                     \
            assert_non_null(g_);                                                                   \
            assert_string_equal(w_, g_);                                                           \
        }                                                                                          \
    } while (0)

/* ---- where a test's database lives ---- */

static bool mkdirs(const char *path)
{
    char buf[LOCATION_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return false;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return false;
            if (!c)
                return true;
            *p = c;
        }
    }
}

static void remove_sqlite_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char p[LOCATION_MAX + 16];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

/* Writes into out the location of a fresh database for the named test. False (with a
 * message) when the backend cannot provide one. */
static bool location_for(const char *test, char *out, size_t n)
{
    switch (backend) {
    case BACKEND_SQLITE: {
        /* A file of its own per test. One left by an earlier run is removed, WAL and all;
         * this run's files stay behind for a person to inspect after a failure. */
        int w = snprintf(out, n, "%s/%s.db", scratch_dir, test);
        if (w < 0 || (size_t)w >= n) {
            print_message("scratch path too long for %s\n", test);
            return false;
        }
        remove_sqlite_files(out);
        return true;
    }
    case BACKEND_POSTGRESQL: {
        /* ==== PostgreSQL: fill in when store_pg.c exists. ====
         * The location is the connection string in AL_PG_URL (for example
         * postgresql://al@127.0.0.1/al_test). All tests share that one database, which
         * the cases allow for. If isolation per test is wanted, derive it here from
         * `test` (a schema per test through options=-csearch_path=..., created first). */
        const char *url = getenv("AL_PG_URL");
        if (!url || !*url) {
            print_message("AL_PG_URL is not set\n");
            return false;
        }
        int w = snprintf(out, n, "%s", url);
        return w >= 0 && (size_t)w < n;
    }
    }
    return false;
}

/* A location that the backend must refuse to open. */
static void bad_location(char *out, size_t n)
{
    switch (backend) {
    case BACKEND_SQLITE:
        snprintf(out, n, "%s/no-such-directory/x/store.db", scratch_dir);
        return;
    case BACKEND_POSTGRESQL:
        /* ==== PostgreSQL: a server that is not there. ==== */
        snprintf(out, n, "postgresql://al@127.0.0.1:1/al_none?connect_timeout=2");
        return;
    }
}

/* ---- fixture ---- */

struct fixture {
    char location[LOCATION_MAX];
    struct store *s;
    struct arena a; /* records built and loaded by the test body */
};

/* *state holds the test's name (cmocka's prestate) on the way in. */
static int setup(void **state)
{
    const char *test = *state;
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    arena_init(&f->a);
    char why[WHY_MAX] = "";
    if (!location_for(test, f->location, sizeof(f->location))) {
        free(f);
        return -1;
    }
    enum err r = store_open(f->location, &f->s, why, sizeof(why));
    if (r != ERR_OK) {
        print_message("store_open(%s): %s: %s\n", f->location, err_code(r), why);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    arena_cleanup(&f->a);
    free(f);
    return 0;
}

static struct store *open_again(const char *location)
{
    struct store *s = NULL;
    char why[WHY_MAX] = "";
    enum err r = store_open(location, &s, why, sizeof(why));
    if (r != ERR_OK)
        fail_msg("store_open(%s): %s: %s", location, err_code(r), why);
    assert_non_null(s);
    return s;
}

static void reopen(struct fixture *f)
{
    store_close(f->s);
    f->s = NULL;
    f->s = open_again(f->location);
}

/* ---- building records ---- */

static void id_copy(idbuf out, const char *id)
{
    snprintf(out, sizeof(idbuf), "%s", id ? id : "");
}

/* A unique stand-in for a hex SHA-256: the store treats it as an opaque key. */
static void fake_hash(char out[HASH_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    char id[ID_LEN + 1];
    id_new(ID_EXECUTION, id);
    for (int i = 0; i < HASH_LEN; i++) {
        unsigned char c = (unsigned char)id[i % ID_LEN];
        out[i] = hex[(i < 2 * ID_LEN ? (i & 1 ? c : c >> 4) : c + i) & 0xf];
    }
    out[HASH_LEN] = '\0';
}

static struct user make_user(struct arena *a, const char *manager_id)
{
    struct user u = {0};
    id_new(ID_USER, u.id);
    u.username = arena_printf(a, "user.%s@example.com", u.id);
    u.name = arena_printf(a, "Zoë O'Brien \"%s\"", u.id);
    id_copy(u.manager_id, manager_id);
    u.view_all_data = true;
    u.customize_application = false;
    u.password_hash =
        arena_printf(a, "$scrypt$ln=15,r=8,p=1$%s$QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", u.id);
    return u;
}

static struct user add_user(struct fixture *f, const char *manager_id)
{
    struct user u = make_user(&f->a, manager_id);
    assert_err(store_user_add(f->s, &u), ERR_OK);
    return u;
}

static struct app make_app(struct arena *a)
{
    struct app app = {0};
    id_new(ID_APP, app.id);
    app.name = arena_printf(a, "App %s", app.id);
    app.client_id = arena_printf(a, "3MVG9.%s", app.id);
    return app;
}

static struct app add_app(struct fixture *f)
{
    struct app app = make_app(&f->a);
    char secret[HASH_LEN + 1];
    fake_hash(secret);
    assert_err(store_app_add(f->s, &app, secret), ERR_OK);
    return app;
}

static struct header *make_headers(struct arena *a, size_t n, const char *tag)
{
    if (n == 0)
        return NULL;
    struct header *h = arena_alloc(a, n * sizeof(*h));
    for (size_t i = 0; i < n; i++) {
        h[i].name = arena_printf(a, "X-%s-%zu", tag, i);
        h[i].value = arena_printf(a, "value %zu of %s", i, tag);
    }
    return h;
}

/* A group of n links (n <= GROUP_MAX_LINKS) that between them use every link field:
 * headers (none, awkward values, the most allowed), request bodies (NULL, "", JSON with
 * escapes and non-ASCII), links for one user and links hidden from one user, template
 * ids. The array holds the links in reverse position order, so a store that answers in
 * insertion order is caught. target_user may be NULL. */
static struct group make_group(struct arena *a, size_t n, enum policy policy,
                               const char *creator_id, const char *app_id, const char *target_user)
{
    static const char *const labels[] = {"Approve", "Decline", "Download", "View"};
    struct group g = {0};
    int64_t now = clock_now_ms();
    id_new(ID_GROUP, g.id);
    g.category = policy == POLICY_UNLIMITED ? CATEGORY_OVERFLOW : CATEGORY_PRIMARY;
    g.policy = policy;
    g.expiration_ms = policy == POLICY_UNLIMITED ? 0 : now + 24 * (int64_t)HOUR_MS;
    id_copy(g.creator_id, creator_id);
    id_copy(g.app_id, app_id);
    if (policy == POLICY_ONCE_PER_USER)
        id_new(ID_GROUP_TEMPLATE, g.template_id);
    g.created_ms = now;
    g.modified_ms = now + 1;
    g.n_links = n;
    for (size_t i = 0; i < n; i++) {
        struct link *k = &g.links[i];
        id_new(ID_LINK, k->id);
        id_copy(k->group_id, g.id);
        k->position = (int)(n - 1 - i);
        k->label_key = labels[i % 4];
        k->created_ms = now + (int64_t)i;
        k->modified_ms = now + 100 + (int64_t)i;
        switch (i % 4) {
        case 0:
            k->type = ACTION_API;
            k->method = METHOD_POST;
            k->action_url = arena_printf(a, "https://api.example.com/approve/%s?x=1&y=%%20", k->id);
            k->requires_confirmation = true;
            k->group_default = true;
            k->n_headers = 4;
            k->headers = arena_alloc(a, k->n_headers * sizeof(*k->headers));
            k->headers[0] = (struct header){"Content-Type", "application/json; charset=utf-8"};
            k->headers[1] = (struct header){"Authorization", "Bearer {!userId} \"q\" \\ back"};
            k->headers[2] = (struct header){"X-Empty", ""};
            k->headers[3] = (struct header){"X-Unicode", "naïve ☃ 😀"};
            k->request_body = "{\"note\":\"line1\\nline2\",\"who\":\"{!actionLinkId}\","
                              "\"u\":\"é€😀\",\"q\":\"'\\\"\"}";
            break;
        case 1:
            k->type = ACTION_API_ASYNC;
            k->method = METHOD_PUT;
            k->action_url = "https://api.example.com/async";
            k->headers = NULL;
            k->n_headers = 0;
            k->request_body = ""; /* present but empty: not the same as absent */
            id_copy(k->user_id, target_user);
            break;
        case 2:
            k->type = ACTION_DOWNLOAD;
            k->method = METHOD_GET;
            k->action_url = "https://files.example.com/report.pdf";
            k->n_headers = LINK_MAX_HEADERS;
            k->headers = make_headers(a, k->n_headers, "Many");
            k->request_body = NULL;
            id_copy(k->excluded_user_id, target_user);
            id_new(ID_LINK_TEMPLATE, k->template_id);
            break;
        default:
            k->type = ACTION_UI;
            k->method = METHOD_GET;
            k->action_url = "/apex/ReviewPage?id=1";
            k->n_headers = 1;
            k->headers = make_headers(a, 1, "One");
            k->request_body = NULL;
            break;
        }
    }
    return g;
}

static struct group add_group(struct fixture *f, size_t n, enum policy policy)
{
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct group g = make_group(&f->a, n, policy, u.id, app.id, u.id);
    assert_err(store_group_create(f->s, &g), ERR_OK);
    return g;
}

static struct execution make_exec(const struct group *g, size_t link, const char *scope_user,
                                  const char *user, enum status status)
{
    struct execution e = {0};
    int64_t now = clock_now_ms();
    id_new(ID_EXECUTION, e.id);
    id_copy(e.group_id, g->id);
    id_copy(e.scope_user_id, scope_user);
    id_copy(e.link_id, g->links[link].id);
    id_copy(e.user_id, user);
    e.status = status;
    e.created_ms = now;
    e.modified_ms = now;
    e.diagnostic = NULL;
    return e;
}

static struct header callout_headers[] = {
    {"Content-Type", "application/json"},
    {"X-Rendered", "user=005000000000001"},
};

static struct callout make_callout(const struct execution *e)
{
    struct callout c = {0};
    id_copy(c.execution_id, e->id);
    c.type = ACTION_API;
    id_copy(c.user_id, e->user_id);
    id_new(ID_APP, c.app_id);
    c.method = METHOD_POST;
    c.url = "https://api.example.com/approve?rendered=1";
    c.host = "https://api.example.com:443";
    c.headers = callout_headers;
    c.n_headers = sizeof(callout_headers) / sizeof(callout_headers[0]);
    c.body = "{\"rendered\":true}";
    return c;
}

/* The counts of every state; and each time, the count of the queue alone (what metrics
 * read, through the queue's index) agrees with them. */
static struct callout_counts counts(struct store *s)
{
    struct callout_counts c;
    assert_err(store_callout_counts(s, &c), ERR_OK);
    int64_t queued = -1;
    assert_err(store_callouts_queued(s, &queued), ERR_OK);
    assert_int_equal(queued, c.queued);
    return c;
}

/* ---- comparing records ---- */

static void assert_user_eq(const struct user *want, const struct user *got, bool with_password)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->username, got->username);
    assert_string_equal(want->name, got->name);
    assert_string_equal(want->manager_id, got->manager_id);
    assert_int_equal(want->view_all_data, got->view_all_data);
    assert_int_equal(want->customize_application, got->customize_application);
    if (with_password)
        assert_str_or_null(want->password_hash, got->password_hash);
}

static void assert_app_eq(const struct app *want, const struct app *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->name, got->name);
    assert_string_equal(want->client_id, got->client_id);
}

static void assert_link_eq(const struct link *want, const struct link *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->group_id, got->group_id);
    assert_int_equal(want->position, got->position);
    assert_int_equal(want->type, got->type);
    assert_string_equal(want->action_url, got->action_url);
    assert_int_equal(want->method, got->method);
    assert_string_equal(want->label_key, got->label_key);
    assert_int_equal(want->requires_confirmation, got->requires_confirmation);
    assert_int_equal(want->group_default, got->group_default);
    assert_int_equal(want->n_headers, got->n_headers);
    for (size_t i = 0; i < want->n_headers; i++) {
        assert_string_equal(want->headers[i].name, got->headers[i].name);
        assert_string_equal(want->headers[i].value, got->headers[i].value);
    }
    assert_str_or_null(want->request_body, got->request_body);
    assert_string_equal(want->user_id, got->user_id);
    assert_string_equal(want->excluded_user_id, got->excluded_user_id);
    assert_string_equal(want->template_id, got->template_id);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->modified_ms, got->modified_ms);
}

/* got must hold want's links in position order, whatever order want has them in. */
static void assert_group_eq(const struct group *want, const struct group *got)
{
    assert_string_equal(want->id, got->id);
    assert_int_equal(want->category, got->category);
    assert_int_equal(want->policy, got->policy);
    assert_int_equal(want->expiration_ms, got->expiration_ms);
    assert_string_equal(want->creator_id, got->creator_id);
    assert_string_equal(want->app_id, got->app_id);
    assert_string_equal(want->template_id, got->template_id);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->modified_ms, got->modified_ms);
    assert_int_equal(want->n_links, got->n_links);
    for (size_t i = 0; i < got->n_links; i++) {
        if (i > 0)
            assert_true(got->links[i - 1].position < got->links[i].position);
        const struct link *match = NULL;
        for (size_t j = 0; j < want->n_links; j++)
            if (strcmp(want->links[j].id, got->links[i].id) == 0)
                match = &want->links[j];
        assert_non_null(match);
        assert_link_eq(match, &got->links[i]);
    }
}

static void assert_exec_eq(const struct execution *want, const struct execution *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->group_id, got->group_id);
    assert_string_equal(want->scope_user_id, got->scope_user_id);
    assert_string_equal(want->link_id, got->link_id);
    assert_string_equal(want->user_id, got->user_id);
    assert_int_equal(want->status, got->status);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->modified_ms, got->modified_ms);
    assert_str_or_null(want->diagnostic, got->diagnostic);
}

/* ---- threads ---- */

/* Starts n threads, each on fn(args + i * stride), and waits for all of them. */
static void run_threads(size_t n, void *(*fn)(void *), void *args, size_t stride)
{
    pthread_t *t = calloc(n, sizeof(*t));
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, (char *)args + i * stride), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    free(t);
}

/* ======================================================================================
 * Open and migrate
 * ====================================================================================== */

static void test_open_twice_keeps_org_id(void **state)
{
    struct fixture *f = *state;
    char org[ID_LEN + 1];
    snprintf(org, sizeof(org), "%s", store_org_id(f->s));
    assert_true(store_ping(f->s));
    struct user u = add_user(f, NULL);

    reopen(f); /* the second open finds the schema made by the first */
    assert_string_equal(store_org_id(f->s), org);
    assert_true(store_ping(f->s));
    reopen(f);
    assert_string_equal(store_org_id(f->s), org);

    struct user got;
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);
}

static void test_org_id_shape(void **state)
{
    struct fixture *f = *state;
    const char *org = store_org_id(f->s);
    assert_non_null(org);
    assert_int_equal(strlen(org), ID_LEN);
    assert_memory_equal(org, "00D", 3);
    for (size_t i = 3; i < ID_LEN; i++)
        assert_true(isalnum((unsigned char)org[i]));

    char parsed[ID_LEN + 1], long_form[ID_LEN18 + 1];
    assert_true(id_parse(org, ID_ORG, parsed));
    assert_string_equal(parsed, org);
    id_to18(org, long_form);
    assert_true(id_parse(long_form, ID_ORG, parsed));
    assert_string_equal(parsed, org);
    assert_false(id_parse(org, ID_USER, parsed));
}

static void test_open_bad_location(void **state)
{
    (void)state;
    char bad[LOCATION_MAX], why[WHY_MAX] = "";
    bad_location(bad, sizeof(bad));
    struct store *s = (struct store *)&bad; /* must be overwritten */
    enum err r = store_open(bad, &s, why, sizeof(why));
    assert_true(r != ERR_OK);
    assert_null(s);
    assert_true(why[0] != '\0');
}

/* ======================================================================================
 * Users and apps
 * ====================================================================================== */

static void test_user_round_trip(void **state)
{
    struct fixture *f = *state;
    struct user boss = add_user(f, NULL);

    struct user u = make_user(&f->a, boss.id);
    u.view_all_data = false;
    u.customize_application = true;
    assert_err(store_user_add(f->s, &u), ERR_OK);

    struct user got;
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);
    assert_string_equal(got.manager_id, boss.id);
    assert_err(store_user_by_name(f->s, u.username, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);

    /* the manager: no manager of its own, the opposite permissions */
    assert_err(store_user_by_name(f->s, boss.username, &f->a, &got), ERR_OK);
    assert_user_eq(&boss, &got, true);
    assert_string_equal(got.manager_id, "");
    assert_true(got.view_all_data);
    assert_false(got.customize_application);
}

static void test_user_without_password(void **state)
{
    struct fixture *f = *state;
    struct user u = make_user(&f->a, NULL);
    u.password_hash = NULL;
    u.view_all_data = false;
    u.customize_application = false;
    assert_err(store_user_add(f->s, &u), ERR_OK);

    struct user got;
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);
    assert_null(got.password_hash);

    u = make_user(&f->a, NULL);
    u.view_all_data = true;
    u.customize_application = true;
    assert_err(store_user_add(f->s, &u), ERR_OK);
    assert_err(store_user_by_name(f->s, u.username, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);
}

static void test_user_duplicate_username(void **state)
{
    struct fixture *f = *state;
    struct user first = add_user(f, NULL);

    struct user second = make_user(&f->a, NULL);
    second.username = first.username;
    assert_err(store_user_add(f->s, &second), ERR_EXISTS);

    struct user got;
    assert_err(store_user_get(f->s, second.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_user_by_name(f->s, first.username, &f->a, &got), ERR_OK);
    assert_user_eq(&first, &got, true);

    /* the refusal left the store able to write */
    struct user third = add_user(f, first.id);
    assert_err(store_user_get(f->s, third.id, &f->a, &got), ERR_OK);
}

static void test_user_missing(void **state)
{
    struct fixture *f = *state;
    struct user ghost = make_user(&f->a, NULL);
    struct user got;
    assert_err(store_user_get(f->s, ghost.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_user_by_name(f->s, ghost.username, &f->a, &got), ERR_NOT_FOUND);
}

static void test_app_round_trip(void **state)
{
    struct fixture *f = *state;
    struct app app = add_app(f);
    struct app other = add_app(f);

    struct app got;
    assert_err(store_app_by_name(f->s, app.name, &f->a, &got), ERR_OK);
    assert_app_eq(&app, &got);
    assert_err(store_app_by_name(f->s, other.name, &f->a, &got), ERR_OK);
    assert_app_eq(&other, &got);

    struct app ghost = make_app(&f->a);
    assert_err(store_app_by_name(f->s, ghost.name, &f->a, &got), ERR_NOT_FOUND);
}

static void test_app_duplicate_name(void **state)
{
    struct fixture *f = *state;
    struct app first = add_app(f);

    struct app second = make_app(&f->a);
    second.name = first.name;
    char secret[HASH_LEN + 1];
    fake_hash(secret);
    assert_err(store_app_add(f->s, &second, secret), ERR_EXISTS);

    struct app got;
    assert_err(store_app_by_name(f->s, first.name, &f->a, &got), ERR_OK);
    assert_app_eq(&first, &got);
}

/* ======================================================================================
 * Tokens
 * ====================================================================================== */

static struct token_rec add_token(struct fixture *f, const char *user_id, const char *app_id,
                                  int64_t expires_ms, const char *callback_execution_id)
{
    struct token_rec t = {0};
    char *hash = arena_alloc(&f->a, HASH_LEN + 1);
    fake_hash(hash);
    t.hash = hash;
    id_copy(t.user_id, user_id);
    id_copy(t.app_id, app_id);
    t.expires_ms = expires_ms;
    id_copy(t.callback_execution_id, callback_execution_id);
    assert_err(store_token_add(f->s, &t), ERR_OK);
    return t;
}

static void test_token_principal(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct user boss = add_user(f, NULL);
    struct user u = add_user(f, boss.id);
    struct app app = add_app(f), other_app = add_app(f);
    struct token_rec t = add_token(f, u.id, app.id, now + 2 * HOUR_MS, NULL);
    struct token_rec t2 = add_token(f, boss.id, other_app.id, now + 2 * HOUR_MS, "");

    struct principal p;
    assert_err(store_token_principal(f->s, t.hash, now, &f->a, &p), ERR_OK);
    assert_user_eq(&u, &p.user, false);
    assert_app_eq(&app, &p.app);
    assert_string_equal(p.callback_execution_id, "");

    assert_err(store_token_principal(f->s, t2.hash, now, &f->a, &p), ERR_OK);
    assert_user_eq(&boss, &p.user, false);
    assert_app_eq(&other_app, &p.app);
    assert_string_equal(p.callback_execution_id, "");
}

static void test_token_callback_execution_id(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    char exec_id[ID_LEN + 1];
    id_new(ID_EXECUTION, exec_id);
    struct token_rec t = add_token(f, u.id, app.id, now + HOUR_MS, exec_id);

    struct principal p;
    assert_err(store_token_principal(f->s, t.hash, now, &f->a, &p), ERR_OK);
    assert_string_equal(p.callback_execution_id, exec_id);
    assert_user_eq(&u, &p.user, false);
    assert_app_eq(&app, &p.app);
}

static void test_token_expired(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);

    struct token_rec old = add_token(f, u.id, app.id, now - 1, NULL);
    struct principal p;
    assert_err(store_token_principal(f->s, old.hash, now, &f->a, &p), ERR_SESSION);

    /* the same token is alive before its expiry and dead after it */
    struct token_rec t = add_token(f, u.id, app.id, now + HOUR_MS, NULL);
    assert_err(store_token_principal(f->s, t.hash, now + HOUR_MS - 1, &f->a, &p), ERR_OK);
    assert_err(store_token_principal(f->s, t.hash, now + HOUR_MS + 1, &f->a, &p), ERR_SESSION);
    /* pinned so that every backend agrees: a token is dead at its expiry instant */
    assert_err(store_token_principal(f->s, t.hash, now + HOUR_MS, &f->a, &p), ERR_SESSION);
}

static void test_token_revoked(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct token_rec t = add_token(f, u.id, app.id, now + HOUR_MS, NULL);
    struct token_rec keep = add_token(f, u.id, app.id, now + HOUR_MS, NULL);

    struct principal p;
    assert_err(store_token_principal(f->s, t.hash, now, &f->a, &p), ERR_OK);
    assert_err(store_token_revoke(f->s, t.hash), ERR_OK);
    assert_err(store_token_principal(f->s, t.hash, now, &f->a, &p), ERR_SESSION);
    /* only that token: the user's other one still works */
    assert_err(store_token_principal(f->s, keep.hash, now, &f->a, &p), ERR_OK);
}

/* The auth epoch stands still while tokens are only added and read, and moves when a
 * token is revoked or a user changed, whoever does it: principals kept by a server are
 * trusted only while it stands still. */
static void test_auth_epoch(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms(), e0, e1, e2, e3;
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    assert_err(store_auth_epoch(f->s, &e0), ERR_OK);
    struct token_rec t = add_token(f, u.id, app.id, now + HOUR_MS, NULL);
    struct principal p;
    assert_err(store_token_principal(f->s, t.hash, now, &f->a, &p), ERR_OK);
    assert_err(store_auth_epoch(f->s, &e1), ERR_OK);
    assert_int_equal(e1, e0);

    assert_err(store_token_revoke(f->s, t.hash), ERR_OK);
    assert_err(store_auth_epoch(f->s, &e2), ERR_OK);
    assert_true(e2 != e1);

    assert_err(store_user_set_password(f->s, u.id, "scrypt$whatever"), ERR_OK);
    assert_err(store_auth_epoch(f->s, &e3), ERR_OK);
    assert_true(e3 != e2);
}

static void test_token_unknown(void **state)
{
    struct fixture *f = *state;
    char hash[HASH_LEN + 1];
    fake_hash(hash);
    struct principal p;
    assert_err(store_token_principal(f->s, hash, clock_now_ms(), &f->a, &p), ERR_SESSION);
}

static void test_token_revoke_unknown(void **state)
{
    struct fixture *f = *state;
    char hash[HASH_LEN + 1];
    fake_hash(hash);
    assert_err(store_token_revoke(f->s, hash), ERR_NOT_FOUND);
}

/* ======================================================================================
 * Groups
 * ====================================================================================== */

static void test_group_round_trip(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, GROUP_MAX_LINKS, POLICY_ONCE);

    struct group got;
    assert_err(store_group_get(f->s, g.id, &f->a, &got), ERR_OK);
    assert_group_eq(&g, &got);
    for (size_t i = 0; i < got.n_links; i++)
        assert_int_equal(got.links[i].position, (int)i);

    /* the awkward values, spelled out */
    const struct link *api = &got.links[GROUP_MAX_LINKS - 1]; /* array index 0 */
    assert_int_equal(api->type, ACTION_API);
    assert_string_equal(api->headers[2].value, "");
    assert_string_equal(api->headers[3].value, "naïve ☃ 😀");
    const struct link *async = &got.links[GROUP_MAX_LINKS - 2];
    assert_non_null(async->request_body);
    assert_string_equal(async->request_body, "");
    assert_int_equal(async->n_headers, 0);
    assert_string_equal(async->user_id, g.creator_id);
    const struct link *download = &got.links[GROUP_MAX_LINKS - 3];
    assert_null(download->request_body);
    assert_int_equal(download->n_headers, LINK_MAX_HEADERS);
    assert_string_equal(download->excluded_user_id, g.creator_id);
    assert_string_equal(download->user_id, "");
}

static void test_group_variants(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct group got;

    /* one link, never expires, no template, no targeted users */
    struct group one = make_group(&f->a, 1, POLICY_UNLIMITED, u.id, app.id, NULL);
    assert_err(store_group_create(f->s, &one), ERR_OK);
    assert_err(store_group_get(f->s, one.id, &f->a, &got), ERR_OK);
    assert_group_eq(&one, &got);
    assert_int_equal(got.expiration_ms, 0);
    assert_string_equal(got.template_id, "");

    /* from a template, per user, three links */
    struct group three = make_group(&f->a, 3, POLICY_ONCE_PER_USER, u.id, app.id, u.id);
    assert_true(three.template_id[0] != '\0');
    assert_err(store_group_create(f->s, &three), ERR_OK);
    assert_err(store_group_get(f->s, three.id, &f->a, &got), ERR_OK);
    assert_group_eq(&three, &got);
}

static void test_group_missing(void **state)
{
    struct fixture *f = *state;
    char id[ID_LEN + 1];
    id_new(ID_GROUP, id);
    struct group got;
    assert_err(store_group_get(f->s, id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_group_delete(f->s, id), ERR_NOT_FOUND);
    size_t index = 99;
    id_new(ID_LINK, id);
    assert_err(store_link_group(f->s, id, &f->a, &got, &index), ERR_NOT_FOUND);
}

static void test_link_group(void **state)
{
    struct fixture *f = *state;
    struct group a = add_group(f, GROUP_MAX_LINKS, POLICY_ONCE);
    struct group b = add_group(f, 2, POLICY_ONCE_PER_USER);

    const struct group *groups[] = {&a, &b};
    for (size_t gi = 0; gi < 2; gi++) {
        const struct group *g = groups[gi];
        for (size_t i = 0; i < g->n_links; i++) {
            struct group got;
            size_t index = 99;
            assert_err(store_link_group(f->s, g->links[i].id, &f->a, &got, &index), ERR_OK);
            assert_group_eq(g, &got);
            assert_true(index < got.n_links);
            assert_string_equal(got.links[index].id, g->links[i].id);
            assert_int_equal(got.links[index].position, g->links[i].position);
        }
    }
}

/* A group is written whole: when one of its links cannot be written, nothing is. */
static void test_group_create_is_atomic(void **state)
{
    struct fixture *f = *state;
    struct group a = add_group(f, 2, POLICY_ONCE);

    struct group b = make_group(&f->a, 3, POLICY_ONCE, a.creator_id, a.app_id, NULL);
    id_copy(b.links[2].id, a.links[0].id); /* the last link written collides */
    assert_true(store_group_create(f->s, &b) != ERR_OK);

    struct group got;
    size_t index;
    assert_err(store_group_get(f->s, b.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_link_group(f->s, b.links[0].id, &f->a, &got, &index), ERR_NOT_FOUND);
    assert_err(store_link_group(f->s, b.links[1].id, &f->a, &got, &index), ERR_NOT_FOUND);
    assert_err(store_group_get(f->s, a.id, &f->a, &got), ERR_OK);
    assert_group_eq(&a, &got);
    assert_err(store_link_group(f->s, a.links[0].id, &f->a, &got, &index), ERR_OK);
    assert_string_equal(got.id, a.id);
}

/* Bytes that are not UTF-8 (an HTTP header value may be Latin-1) are either kept exactly
 * or refused; never dropped from a write reported as done. */
static void test_group_never_drops_headers(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct group g = make_group(&f->a, 1, POLICY_ONCE, u.id, app.id, NULL);
    struct header h[] = {{"X-Plain", "ok"}, {"X-Latin1", "caf\xe9"}, {"X-After", "ok too"}};
    g.links[0].headers = h;
    g.links[0].n_headers = sizeof(h) / sizeof(h[0]);

    enum err r = store_group_create(f->s, &g);
    struct group got;
    if (r != ERR_OK) {
        assert_err(store_group_get(f->s, g.id, &f->a, &got), ERR_NOT_FOUND);
        return;
    }
    assert_err(store_group_get(f->s, g.id, &f->a, &got), ERR_OK);
    assert_group_eq(&g, &got);
}

static const char *fresh_owner(struct arena *a);
static void drain_queue(struct fixture *f);

/* Header bytes JSON must escape (quote, backslash, control characters) come back as
 * they went in, from a link and from a queued callout: ASCII ones are read without
 * jansson, the others (UTF-8) with it. */
static void test_group_headers_escaped(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    char controls[32];
    for (int i = 1; i < 32; i++)
        controls[i - 1] = (char)i;
    controls[31] = '\0';
    struct header ascii[] = {{"X-Quote", "a\"b\\c"},
                             {"X-Controls", "d\ne\tf\x01g\x7f"},
                             {"X-Empty", ""},
                             {"X-All", controls},
                             {"X-Like-Json", "\"],[\"x\",\"/\\u0041\"]"},
                             {"X\"Name\\", "/slash/"}};
    struct header utf8[] = {{"X-Plain", "ok"}, {"X-Utf8", "caf\xc3\xa9 \xe2\x82\xac"}};
    struct header *sets[] = {ascii, utf8};
    size_t sizes[] = {sizeof(ascii) / sizeof(ascii[0]), sizeof(utf8) / sizeof(utf8[0])};
    for (int k = 0; k < 2; k++) {
        struct group g = make_group(&f->a, 1, POLICY_ONCE, u.id, app.id, NULL);
        g.links[0].headers = sets[k];
        g.links[0].n_headers = sizes[k];
        assert_err(store_group_create(f->s, &g), ERR_OK);
        struct group got;
        assert_err(store_group_get(f->s, g.id, &f->a, &got), ERR_OK);
        assert_group_eq(&g, &got);

        struct callout co;
        struct execution e = make_exec(&g, 0, "", u.id, STATUS_PENDING);
        co = make_callout(&e);
        co.headers = sets[k];
        co.n_headers = sizes[k];
        assert_err(store_execution_create(f->s, &e, &co, NULL), ERR_OK);
        struct callout_room room = {.limit = 10, .per_host = 10};
        struct callout *out;
        size_t n = 0;
        assert_err(
            store_callouts_start(f->s, fresh_owner(&f->a), clock_now_ms(), &room, &f->a, &out, &n),
            ERR_OK);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].n_headers, sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++) {
            assert_string_equal(out[0].headers[i].name, sets[k][i].name);
            assert_string_equal(out[0].headers[i].value, sets[k][i].value);
        }
    }
}

static void test_group_delete(void **state)
{
    struct fixture *f = *state;
    struct group doomed = add_group(f, GROUP_MAX_LINKS, POLICY_ONCE_PER_USER);
    struct group kept = add_group(f, 2, POLICY_ONCE);
    struct user u1 = add_user(f, NULL), u2 = add_user(f, NULL);
    struct callout_counts before = counts(f->s);

    /* two executions with callouts and one without in the doomed group, one in the other */
    struct execution d1 = make_exec(&doomed, 0, u1.id, u1.id, STATUS_PENDING);
    struct execution d2 = make_exec(&doomed, 1, u2.id, u2.id, STATUS_PENDING);
    struct execution d3 =
        make_exec(&doomed, 2, doomed.creator_id, doomed.creator_id, STATUS_SUCCESSFUL);
    struct execution k1 = make_exec(&kept, 0, "", u1.id, STATUS_PENDING);
    struct callout c1 = make_callout(&d1), c2 = make_callout(&d2), ck = make_callout(&k1);
    assert_err(store_execution_create(f->s, &d1, &c1, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &d2, &c2, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &d3, NULL, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &k1, &ck, NULL), ERR_OK);
    assert_int_equal(counts(f->s).queued, before.queued + 3);

    assert_err(store_group_delete(f->s, doomed.id), ERR_OK);

    struct group got;
    struct execution e;
    size_t index;
    assert_err(store_group_get(f->s, doomed.id, &f->a, &got), ERR_NOT_FOUND);
    for (size_t i = 0; i < doomed.n_links; i++)
        assert_err(store_link_group(f->s, doomed.links[i].id, &f->a, &got, &index), ERR_NOT_FOUND);
    assert_err(store_execution_get(f->s, doomed.id, u1.id, &f->a, &e), ERR_NOT_FOUND);
    assert_err(store_execution_get(f->s, doomed.id, u2.id, &f->a, &e), ERR_NOT_FOUND);
    assert_err(store_execution_get(f->s, doomed.id, doomed.creator_id, &f->a, &e), ERR_NOT_FOUND);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued + 1);
    assert_int_equal(after.started, before.started);
    assert_int_equal(after.done, before.done);

    /* the other group is untouched */
    assert_err(store_group_get(f->s, kept.id, &f->a, &got), ERR_OK);
    assert_group_eq(&kept, &got);
    assert_err(store_execution_get(f->s, kept.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&k1, &e);

    /* gone means gone */
    assert_err(store_group_delete(f->s, doomed.id), ERR_NOT_FOUND);
}

/* ======================================================================================
 * Executions
 * ====================================================================================== */

static void test_execution_create_get(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 2, POLICY_ONCE);
    struct user u = add_user(f, NULL);

    struct execution e;
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_NOT_FOUND);

    struct execution want = make_exec(&g, 1, "", u.id, STATUS_PENDING);
    struct callout c = make_callout(&want);
    assert_err(store_execution_create(f->s, &want, &c, NULL), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&want, &e);
    assert_null(e.diagnostic);

    /* Download and Ui executions may start in a terminal state */
    struct group g2 = add_group(f, 3, POLICY_ONCE_PER_USER);
    struct execution done = make_exec(&g2, 2, u.id, u.id, STATUS_SUCCESSFUL);
    assert_err(store_execution_create(f->s, &done, NULL, NULL), ERR_OK);
    assert_err(store_execution_get(f->s, g2.id, u.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&done, &e);
}

static void test_execution_second_in_scope_conflicts(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 2, POLICY_ONCE);
    struct user u1 = add_user(f, NULL), u2 = add_user(f, NULL);
    struct callout_counts before = counts(f->s);

    struct execution first = make_exec(&g, 0, "", u1.id, STATUS_PENDING);
    struct callout c1 = make_callout(&first);
    assert_err(store_execution_create(f->s, &first, &c1, NULL), ERR_OK);

    /* another user, the other link, same scope: refused, and its callout is not queued */
    struct execution second = make_exec(&g, 1, "", u2.id, STATUS_PENDING);
    struct callout c2 = make_callout(&second);
    assert_err(store_execution_create(f->s, &second, &c2, NULL), ERR_CONFLICT);
    /* the same user again, the same link */
    struct execution again = make_exec(&g, 0, "", u1.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &again, NULL, NULL), ERR_CONFLICT);

    struct execution e;
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&first, &e);
    assert_int_equal(counts(f->s).queued, before.queued + 1);
}

static void test_execution_scopes_independent(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    struct group other = add_group(f, 2, POLICY_ONCE_PER_USER);
    struct user u1 = add_user(f, NULL), u2 = add_user(f, NULL);

    /* the everyone scope ("") and each user's scope are different rows */
    struct execution once = make_exec(&g, 0, "", u1.id, STATUS_PENDING);
    struct execution per1 = make_exec(&g, 0, u1.id, u1.id, STATUS_PENDING);
    struct execution per2 = make_exec(&g, 1, u2.id, u2.id, STATUS_FAILED);
    struct execution elsewhere = make_exec(&other, 0, u1.id, u1.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &once, NULL, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &per1, NULL, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &per2, NULL, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &elsewhere, NULL, NULL), ERR_OK);

    struct execution e;
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&once, &e);
    assert_err(store_execution_get(f->s, g.id, u1.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&per1, &e);
    assert_err(store_execution_get(f->s, g.id, u2.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&per2, &e);
    assert_err(store_execution_get(f->s, other.id, u1.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&elsewhere, &e);
    assert_err(store_execution_get(f->s, other.id, "", &f->a, &e), ERR_NOT_FOUND);
    assert_err(store_execution_get(f->s, other.id, u2.id, &f->a, &e), ERR_NOT_FOUND);

    /* each scope still holds at most one */
    struct execution dup = make_exec(&g, 1, u1.id, u1.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &dup, NULL, NULL), ERR_CONFLICT);
}

static void test_execution_update(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 1, POLICY_ONCE);
    struct user u = add_user(f, NULL);
    struct execution want = make_exec(&g, 0, "", u.id, STATUS_PENDING);
    struct callout c = make_callout(&want);
    assert_err(store_execution_create(f->s, &want, &c, NULL), ERR_OK);

    int64_t later = want.created_ms + 5000;
    /* the wrong `from` changes nothing */
    assert_err(store_execution_update(f->s, want.id, STATUS_NEW, STATUS_SUCCESSFUL, later, "nope"),
               ERR_CONFLICT);
    assert_err(
        store_execution_update(f->s, want.id, STATUS_FAILED, STATUS_SUCCESSFUL, later, "nope"),
        ERR_CONFLICT);
    struct execution e;
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&want, &e);

    /* the right one moves it, stamps it, and keeps its creation time */
    assert_err(store_execution_update(f->s, want.id, STATUS_PENDING, STATUS_FAILED, later,
                                      "HTTP 500 from api.example.com"),
               ERR_OK);
    want.status = STATUS_FAILED;
    want.modified_ms = later;
    want.diagnostic = "HTTP 500 from api.example.com";
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&want, &e);

    /* once moved, the old `from` no longer holds */
    assert_err(
        store_execution_update(f->s, want.id, STATUS_PENDING, STATUS_SUCCESSFUL, later + 1, NULL),
        ERR_CONFLICT);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_exec_eq(&want, &e);

    /* an execution that does not exist is never updated */
    char ghost[ID_LEN + 1];
    id_new(ID_EXECUTION, ghost);
    assert_true(store_execution_update(f->s, ghost, STATUS_PENDING, STATUS_SUCCESSFUL, later,
                                       NULL) != ERR_OK);
}

static void test_execution_update_keeps_diagnostic(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 1, POLICY_ONCE_PER_USER);
    struct user u = add_user(f, NULL);
    struct execution want = make_exec(&g, 0, u.id, u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &want, NULL, NULL), ERR_OK);

    /* NULL on a row that has none leaves none */
    int64_t t1 = want.created_ms + 10;
    assert_err(store_execution_update(f->s, want.id, STATUS_PENDING, STATUS_PENDING, t1, NULL),
               ERR_OK);
    struct execution e;
    assert_err(store_execution_get(f->s, g.id, u.id, &f->a, &e), ERR_OK);
    assert_null(e.diagnostic);
    assert_int_equal(e.modified_ms, t1);

    int64_t t2 = t1 + 10;
    assert_err(store_execution_update(f->s, want.id, STATUS_PENDING, STATUS_PENDING, t2,
                                      "HTTP 202: accepted, waiting for the callback"),
               ERR_OK);
    /* NULL keeps the line that is there */
    int64_t t3 = t2 + 10;
    assert_err(store_execution_update(f->s, want.id, STATUS_PENDING, STATUS_SUCCESSFUL, t3, NULL),
               ERR_OK);
    want.status = STATUS_SUCCESSFUL;
    want.modified_ms = t3;
    want.diagnostic = "HTTP 202: accepted, waiting for the callback";
    assert_err(store_execution_get(f->s, g.id, u.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&want, &e);
}

static void test_execution_callout_only_when_given(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 4, POLICY_ONCE_PER_USER);
    struct user u1 = add_user(f, NULL), u2 = add_user(f, NULL);
    struct callout_counts c0 = counts(f->s);

    struct execution without = make_exec(&g, 2, u1.id, u1.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &without, NULL, NULL), ERR_OK);
    struct callout_counts c1 = counts(f->s);
    assert_int_equal(c1.queued, c0.queued);
    assert_int_equal(c1.started, c0.started);
    assert_int_equal(c1.done, c0.done);

    struct execution with = make_exec(&g, 0, u2.id, u2.id, STATUS_PENDING);
    struct callout c = make_callout(&with);
    assert_err(store_execution_create(f->s, &with, &c, NULL), ERR_OK);
    struct callout_counts c2 = counts(f->s);
    assert_int_equal(c2.queued, c0.queued + 1);
    assert_int_equal(c2.started, c0.started);
    assert_int_equal(c2.done, c0.done);

    /* a callout with no headers and no body is a callout too */
    struct group g2 = add_group(f, 1, POLICY_ONCE);
    struct execution bare = make_exec(&g2, 0, "", u1.id, STATUS_PENDING);
    struct callout cb = make_callout(&bare);
    cb.method = METHOD_DELETE;
    cb.headers = NULL;
    cb.n_headers = 0;
    cb.body = NULL;
    assert_err(store_execution_create(f->s, &bare, &cb, NULL), ERR_OK);
    assert_int_equal(counts(f->s).queued, c0.queued + 2);
}

/* ======================================================================================
 * Concurrency
 * ====================================================================================== */

struct create_racer {
    pthread_barrier_t *start;
    struct store *s;
    struct execution e;
    struct callout c;
    enum err result;
};

static void *create_racer_main(void *arg)
{
    struct create_racer *x = arg;
    pthread_barrier_wait(x->start);
    x->result = store_execution_create(x->s, &x->e, &x->c, NULL);
    return NULL;
}

/* N_RACERS threads create an execution, each with its callout, in one scope at once,
 * through the given stores (round robin). Exactly one wins, and only its callout is
 * queued. */
static void race_for_scope(struct fixture *f, struct store **stores, size_t n_stores,
                           enum policy policy)
{
    struct group g = add_group(f, 2, policy);
    struct user users[N_RACERS];
    for (size_t i = 0; i < N_RACERS; i++)
        users[i] = add_user(f, NULL);
    struct user *same = &users[0]; /* OncePerUser: one user's double clicks */
    struct callout_counts before = counts(f->s);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_RACERS), 0);
    struct create_racer r[N_RACERS];
    for (size_t i = 0; i < N_RACERS; i++) {
        const char *who = policy == POLICY_ONCE ? users[i].id : same->id;
        r[i] = (struct create_racer){.start = &start, .s = stores[i % n_stores]};
        r[i].e = make_exec(&g, i % 2, model_scope_user(policy, who), who, STATUS_PENDING);
        r[i].c = make_callout(&r[i].e);
        r[i].result = ERR_INTERNAL;
    }
    run_threads(N_RACERS, create_racer_main, r, sizeof(r[0]));
    pthread_barrier_destroy(&start);

    size_t ok = 0, conflict = 0, winner = 0;
    for (size_t i = 0; i < N_RACERS; i++) {
        if (r[i].result == ERR_OK) {
            ok++;
            winner = i;
        } else if (r[i].result == ERR_CONFLICT) {
            conflict++;
        } else {
            fail_msg("racer %zu: %s", i, err_code(r[i].result));
        }
    }
    assert_int_equal(ok, 1);
    assert_int_equal(conflict, N_RACERS - 1);

    for (size_t i = 0; i < n_stores; i++) {
        struct execution e;
        assert_err(store_execution_get(stores[i], g.id, r[winner].e.scope_user_id, &f->a, &e),
                   ERR_OK);
        assert_exec_eq(&r[winner].e, &e);
        struct callout_counts after = counts(stores[i]);
        assert_int_equal(after.queued, before.queued + 1);
        assert_int_equal(after.started, before.started);
        assert_int_equal(after.done, before.done);
    }
}

static void test_race_create_same_scope(void **state)
{
    struct fixture *f = *state;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        race_for_scope(f, &f->s, 1, POLICY_ONCE);
        race_for_scope(f, &f->s, 1, POLICY_ONCE_PER_USER);
    }
}

/* Two stores open on one location stand for two server processes (or nodes): the rule of
 * one execution per scope holds across them. */
static void test_race_across_two_stores(void **state)
{
    struct fixture *f = *state;
    struct store *stores[2] = {f->s, open_again(f->location)};
    assert_string_equal(store_org_id(stores[1]), store_org_id(stores[0]));

    /* each sees what the other writes */
    struct user u = add_user(f, NULL);
    struct user got;
    assert_err(store_user_get(stores[1], u.id, &f->a, &got), ERR_OK);
    struct user v = make_user(&f->a, u.id);
    assert_err(store_user_add(stores[1], &v), ERR_OK);
    assert_err(store_user_get(stores[0], v.id, &f->a, &got), ERR_OK);
    assert_user_eq(&v, &got, true);
    struct user clash = make_user(&f->a, NULL);
    clash.username = v.username;
    assert_err(store_user_add(stores[0], &clash), ERR_EXISTS);

    for (int round = 0; round < RACE_ROUNDS; round++)
        race_for_scope(f, stores, 2, round % 2 ? POLICY_ONCE_PER_USER : POLICY_ONCE);
    store_close(stores[1]);
}

struct update_racer {
    pthread_barrier_t *start;
    struct store *s;
    const char *execution_id;
    int64_t now_ms;
    char diagnostic[48];
    enum err result;
};

static void *update_racer_main(void *arg)
{
    struct update_racer *x = arg;
    pthread_barrier_wait(x->start);
    x->result = store_execution_update(x->s, x->execution_id, STATUS_PENDING, STATUS_SUCCESSFUL,
                                       x->now_ms, x->diagnostic);
    return NULL;
}

static void test_race_update_compare_and_set(void **state)
{
    struct fixture *f = *state;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        struct group g = add_group(f, 1, POLICY_ONCE);
        struct user u = add_user(f, NULL);
        struct execution want = make_exec(&g, 0, "", u.id, STATUS_PENDING);
        assert_err(store_execution_create(f->s, &want, NULL, NULL), ERR_OK);

        pthread_barrier_t start;
        assert_int_equal(pthread_barrier_init(&start, NULL, N_RACERS), 0);
        struct update_racer r[N_RACERS];
        for (size_t i = 0; i < N_RACERS; i++) {
            r[i] = (struct update_racer){.start = &start,
                                         .s = f->s,
                                         .execution_id = want.id,
                                         .now_ms = want.created_ms + 1 + (int64_t)i,
                                         .result = ERR_INTERNAL};
            snprintf(r[i].diagnostic, sizeof(r[i].diagnostic), "completed by racer %zu", i);
        }
        run_threads(N_RACERS, update_racer_main, r, sizeof(r[0]));
        pthread_barrier_destroy(&start);

        size_t ok = 0, conflict = 0, winner = 0;
        for (size_t i = 0; i < N_RACERS; i++) {
            if (r[i].result == ERR_OK) {
                ok++;
                winner = i;
            } else if (r[i].result == ERR_CONFLICT) {
                conflict++;
            } else {
                fail_msg("racer %zu: %s", i, err_code(r[i].result));
            }
        }
        assert_int_equal(ok, 1);
        assert_int_equal(conflict, N_RACERS - 1);

        want.status = STATUS_SUCCESSFUL;
        want.modified_ms = r[winner].now_ms;
        want.diagnostic = r[winner].diagnostic;
        struct execution e;
        assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
        assert_exec_eq(&want, &e);
    }
}

/* One thread's share of distinct rows, written at the same time as the others'. */
struct writer {
    pthread_barrier_t *start;
    struct store *s;
    struct arena a; /* this thread's, until it is joined */
    struct user u;
    struct app app;
    char token[HASH_LEN + 1];
    char secret[HASH_LEN + 1];
    int64_t token_expires_ms;
    struct group g;
    struct execution e;
    const char *failed; /* the first step that did not go as it should; NULL if none */
    enum err result;
};

#define WRITER_STEP(x, call, want)                                                                 \
    do {                                                                                           \
        enum err r_ = (call);                                                                      \
        if (r_ != (want)) {                                                                        \
            (x)->failed = #call;                                                                   \
            (x)->result = r_;                                                                      \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)

static void *writer_main(void *arg)
{
    struct writer *x = arg;
    struct token_rec t = {.hash = x->token, .expires_ms = x->token_expires_ms};
    id_copy(t.user_id, x->u.id);
    id_copy(t.app_id, x->app.id);
    struct callout c = make_callout(&x->e);
    int64_t done_ms = x->e.created_ms + 1;
    char diag[64];
    snprintf(diag, sizeof(diag), "HTTP 200 for %s", x->e.id);

    pthread_barrier_wait(x->start);
    WRITER_STEP(x, store_user_add(x->s, &x->u), ERR_OK);
    WRITER_STEP(x, store_app_add(x->s, &x->app, x->secret), ERR_OK);
    WRITER_STEP(x, store_token_add(x->s, &t), ERR_OK);
    WRITER_STEP(x, store_group_create(x->s, &x->g), ERR_OK);
    WRITER_STEP(x, store_execution_create(x->s, &x->e, &c, NULL), ERR_OK);
    WRITER_STEP(
        x, store_execution_update(x->s, x->e.id, STATUS_PENDING, STATUS_SUCCESSFUL, done_ms, diag),
        ERR_OK);
    x->e.status = STATUS_SUCCESSFUL;
    x->e.modified_ms = done_ms;
    x->e.diagnostic = arena_strdup(&x->a, diag);

    /* a write is visible to the writer as soon as the call returns */
    struct arena scratch;
    arena_init(&scratch);
    struct user u;
    struct group g;
    struct principal p;
    struct execution e;
    x->result = ERR_OK;
    if (store_user_get(x->s, x->u.id, &scratch, &u) != ERR_OK)
        x->failed = "read back the user";
    else if (store_group_get(x->s, x->g.id, &scratch, &g) != ERR_OK || g.n_links != 2)
        x->failed = "read back the group";
    else if (store_token_principal(x->s, x->token, x->e.created_ms, &scratch, &p) != ERR_OK ||
             strcmp(p.user.id, x->u.id) != 0)
        x->failed = "read back the token";
    else if (store_execution_get(x->s, x->g.id, x->e.scope_user_id, &scratch, &e) != ERR_OK ||
             e.status != STATUS_SUCCESSFUL)
        x->failed = "read back the execution";
    arena_cleanup(&scratch);
    return NULL;
}

static void writer_prepare(struct writer *x, pthread_barrier_t *start, struct store *s)
{
    *x = (struct writer){.start = start, .s = s, .result = ERR_INTERNAL};
    arena_init(&x->a);
    x->u = make_user(&x->a, NULL);
    x->app = make_app(&x->a);
    fake_hash(x->token);
    fake_hash(x->secret);
    x->token_expires_ms = clock_now_ms() + HOUR_MS;
    x->g = make_group(&x->a, 2, POLICY_ONCE_PER_USER, x->u.id, x->app.id, x->u.id);
    x->e = make_exec(&x->g, 1, x->u.id, x->u.id, STATUS_PENDING);
}

static void writer_verify(struct store *s, struct arena *a, const struct writer *x)
{
    struct user u;
    assert_err(store_user_get(s, x->u.id, a, &u), ERR_OK);
    assert_user_eq(&x->u, &u, true);
    assert_err(store_user_by_name(s, x->u.username, a, &u), ERR_OK);
    assert_string_equal(u.id, x->u.id);
    struct app app;
    assert_err(store_app_by_name(s, x->app.name, a, &app), ERR_OK);
    assert_app_eq(&x->app, &app);
    struct principal p;
    assert_err(store_token_principal(s, x->token, x->e.created_ms, a, &p), ERR_OK);
    assert_user_eq(&x->u, &p.user, false);
    assert_app_eq(&x->app, &p.app);
    struct group g;
    assert_err(store_group_get(s, x->g.id, a, &g), ERR_OK);
    assert_group_eq(&x->g, &g);
    struct execution e;
    assert_err(store_execution_get(s, x->g.id, x->u.id, a, &e), ERR_OK);
    assert_exec_eq(&x->e, &e);
}

/* Many threads writing distinct rows at once all succeed (the writes share commits) and
 * everything is there afterwards, also after the store is closed and opened again. */
static void test_concurrent_distinct_writes(void **state)
{
    struct fixture *f = *state;
    struct callout_counts before = counts(f->s);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_WRITERS), 0);
    struct writer *w = calloc(N_WRITERS, sizeof(*w));
    assert_non_null(w);
    for (size_t i = 0; i < N_WRITERS; i++)
        writer_prepare(&w[i], &start, f->s);
    run_threads(N_WRITERS, writer_main, w, sizeof(w[0]));
    pthread_barrier_destroy(&start);

    for (size_t i = 0; i < N_WRITERS; i++)
        if (w[i].failed)
            fail_msg("writer %zu: %s: %s", i, w[i].failed, err_code(w[i].result));
    for (size_t i = 0; i < N_WRITERS; i++)
        writer_verify(f->s, &f->a, &w[i]);
    assert_int_equal(counts(f->s).queued, before.queued + N_WRITERS);

    reopen(f);
    for (size_t i = 0; i < N_WRITERS; i++)
        writer_verify(f->s, &f->a, &w[i]);
    assert_int_equal(counts(f->s).queued, before.queued + N_WRITERS);

    for (size_t i = 0; i < N_WRITERS; i++)
        arena_cleanup(&w[i].a);
    free(w);
}

/* Writes that are refused, mixed into the same moment as writes that are not, undo only
 * themselves. */
struct mixed_writer {
    pthread_barrier_t *start;
    struct store *s;
    int kind; /* 0 new user, 1 taken username, 2 new execution, 3 execution in a taken scope */
    struct user u;
    struct execution e;
    struct callout c;
    enum err result;
};

static void *mixed_writer_main(void *arg)
{
    struct mixed_writer *x = arg;
    pthread_barrier_wait(x->start);
    if (x->kind < 2)
        x->result = store_user_add(x->s, &x->u);
    else
        x->result = store_execution_create(x->s, &x->e, &x->c, NULL);
    return NULL;
}

static void test_refusals_do_not_undo_neighbours(void **state)
{
    struct fixture *f = *state;
    struct user taken = add_user(f, NULL);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    struct execution holder = make_exec(&g, 0, taken.id, taken.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &holder, NULL, NULL), ERR_OK);
    struct callout_counts before = counts(f->s);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_WRITERS), 0);
    struct mixed_writer w[N_WRITERS];
    size_t new_executions = 0;
    for (size_t i = 0; i < N_WRITERS; i++) {
        w[i] = (struct mixed_writer){.start = &start, .s = f->s, .kind = (int)(i % 4)};
        w[i].u = make_user(&f->a, NULL);
        if (w[i].kind == 1)
            w[i].u.username = taken.username;
        const char *scope = w[i].kind == 3 ? taken.id : w[i].u.id;
        w[i].e = make_exec(&g, 1, scope, scope, STATUS_PENDING);
        w[i].c = make_callout(&w[i].e);
        w[i].result = ERR_INTERNAL;
        new_executions += w[i].kind == 2;
    }
    run_threads(N_WRITERS, mixed_writer_main, w, sizeof(w[0]));
    pthread_barrier_destroy(&start);

    static const enum err expected[] = {ERR_OK, ERR_EXISTS, ERR_OK, ERR_CONFLICT};
    for (size_t i = 0; i < N_WRITERS; i++)
        if (w[i].result != expected[w[i].kind])
            fail_msg("writer %zu (kind %d): got %s, want %s", i, w[i].kind, err_code(w[i].result),
                     err_code(expected[w[i].kind]));

    for (size_t i = 0; i < N_WRITERS; i++) {
        struct user u;
        struct execution e;
        switch (w[i].kind) {
        case 0:
            assert_err(store_user_get(f->s, w[i].u.id, &f->a, &u), ERR_OK);
            assert_user_eq(&w[i].u, &u, true);
            break;
        case 1:
            assert_err(store_user_get(f->s, w[i].u.id, &f->a, &u), ERR_NOT_FOUND);
            break;
        case 2:
            assert_err(store_execution_get(f->s, g.id, w[i].e.scope_user_id, &f->a, &e), ERR_OK);
            assert_exec_eq(&w[i].e, &e);
            break;
        default:
            assert_err(store_execution_get(f->s, g.id, taken.id, &f->a, &e), ERR_OK);
            assert_exec_eq(&holder, &e);
            break;
        }
    }
    assert_int_equal(counts(f->s).queued, before.queued + (int64_t)new_executions);
}

/* Writes that need no savepoint run in a batch without: when one of them is refused,
 * the batch is rolled back and runs again, each write in its savepoint. Queued faster
 * than the writer commits (the first half accepted ones, so that the batch that meets
 * the first refusal has accepted writes before it to undo and redo), creations of
 * executions in free and taken scopes, updates from the wrong status, and groups whose
 * second link's id is taken (refused after the group and its first link were written)
 * get the answers they would get alone, and exactly the accepted ones are written,
 * durably. */
struct queued_write {
    pthread_mutex_t *mu;
    pthread_cond_t *cv;
    size_t *left;
    enum err result;
};

static void queued_write_done(void *ctx, enum err result)
{
    struct queued_write *q = ctx;
    pthread_mutex_lock(q->mu);
    q->result = result;
    (*q->left)--;
    pthread_cond_broadcast(q->cv);
    pthread_mutex_unlock(q->mu);
}

enum { N_REPLAYED = 48 };

enum replayed_kind { RK_NEW, RK_TAKEN_SCOPE, RK_WRONG_STATUS, RK_GROUP, RK_GROUP_TAKEN_LINK };

static enum replayed_kind replayed_kind(size_t i)
{
    if (i < N_REPLAYED / 2)
        return i % 2 ? RK_GROUP : RK_NEW;
    static const enum replayed_kind mixed[] = {RK_TAKEN_SCOPE,      RK_NEW, RK_WRONG_STATUS,
                                               RK_GROUP_TAKEN_LINK, RK_NEW, RK_GROUP};
    return mixed[i % 6];
}

static const enum err replayed_answer[] = {
    [RK_NEW] = ERR_OK,   [RK_TAKEN_SCOPE] = ERR_CONFLICT,    [RK_WRONG_STATUS] = ERR_CONFLICT,
    [RK_GROUP] = ERR_OK, [RK_GROUP_TAKEN_LINK] = ERR_EXISTS,
};

struct replayed {
    struct queued_write q[N_REPLAYED];
    struct execution e[N_REPLAYED];
    struct callout c[N_REPLAYED];
    struct user users[N_REPLAYED];
    struct group groups[N_REPLAYED];
};

static void test_refusal_replays_batch(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    struct execution holder = make_exec(&g, 0, u.id, u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &holder, NULL, NULL), ERR_OK);
    struct group once = add_group(f, 1, POLICY_ONCE);
    struct execution done = make_exec(&once, 0, "", u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &done, NULL, NULL), ERR_OK);
    struct callout_counts before = counts(f->s);

    /* a store of its own: a writer that has not replayed yet */
    struct store *s = open_again(f->location);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    size_t left = N_REPLAYED;
    struct replayed *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    for (size_t i = 0; i < N_REPLAYED; i++) {
        enum replayed_kind k = replayed_kind(i);
        x->q[i] = (struct queued_write){&mu, &cv, &left, ERR_INTERNAL};
        x->users[i] = add_user(f, NULL);
        const char *scope = k == RK_TAKEN_SCOPE ? u.id : x->users[i].id;
        x->e[i] = make_exec(&g, 1, scope, x->users[i].id, STATUS_PENDING);
        x->c[i] = make_callout(&x->e[i]);
        x->groups[i] = make_group(&f->a, 2, POLICY_ONCE, u.id, app.id, u.id);
        if (k == RK_GROUP_TAKEN_LINK)
            id_copy(x->groups[i].links[1].id, g.links[0].id);
    }
    uint64_t replays = store_write_replays(s);
    for (size_t i = 0; i < N_REPLAYED; i++) {
        enum err r;
        switch (replayed_kind(i)) {
        case RK_WRONG_STATUS:
            r = store_execution_update_async(s, done.id, STATUS_SUCCESSFUL, STATUS_FAILED,
                                             clock_now_ms(), NULL, queued_write_done, &x->q[i]);
            break;
        case RK_GROUP:
        case RK_GROUP_TAKEN_LINK:
            r = store_group_create_async(s, &x->groups[i], queued_write_done, &x->q[i]);
            break;
        default:
            r = store_execution_create_async(s, &x->e[i], &x->c[i], NULL, queued_write_done,
                                             &x->q[i]);
            break;
        }
        assert_err(r, ERR_OK);
    }
    pthread_mutex_lock(&mu);
    while (left)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    assert_true(store_write_replays(s) > replays);

    size_t created = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N_REPLAYED; i++) {
            enum replayed_kind k = replayed_kind(i);
            struct execution got;
            struct group gg;
            if (x->q[i].result != replayed_answer[k])
                fail_msg("write %zu (kind %d): got %s, want %s", i, (int)k,
                         err_code(x->q[i].result), err_code(replayed_answer[k]));
            switch (k) {
            case RK_GROUP_TAKEN_LINK:
                assert_err(store_group_get(s, x->groups[i].id, &f->a, &gg), ERR_NOT_FOUND);
                break;
            case RK_GROUP:
                assert_err(store_group_get(s, x->groups[i].id, &f->a, &gg), ERR_OK);
                assert_group_eq(&x->groups[i], &gg);
                break;
            case RK_NEW:
                assert_err(store_execution_get(s, g.id, x->users[i].id, &f->a, &got), ERR_OK);
                assert_exec_eq(&x->e[i], &got);
                created += pass == 0;
                break;
            default:
                break;
            }
        }
        struct execution got;
        assert_err(store_execution_get(s, g.id, u.id, &f->a, &got), ERR_OK);
        assert_exec_eq(&holder, &got);
        assert_err(store_execution_get(s, once.id, "", &f->a, &got), ERR_OK);
        assert_exec_eq(&done, &got);
        struct group gg;
        assert_err(store_group_get(s, g.id, &f->a, &gg), ERR_OK);
        assert_group_eq(&g, &gg);
        assert_int_equal(counts(s).queued, before.queued + (int64_t)created);
        /* and so after a restart */
        store_close(s);
        s = open_again(f->location);
    }
    store_close(s);
    free(x);
    pthread_mutex_destroy(&mu);
    pthread_cond_destroy(&cv);
}

/* Several processes (or nodes) starting at once on a database nobody has made yet: every
 * one opens it, and they agree on the org. */
struct opener {
    pthread_barrier_t *start;
    const char *location;
    struct store *s;
    enum err result;
    char why[WHY_MAX];
};

static void *opener_main(void *arg)
{
    struct opener *x = arg;
    pthread_barrier_wait(x->start);
    x->result = store_open(x->location, &x->s, x->why, sizeof(x->why));
    return NULL;
}

static void test_concurrent_open(void **state)
{
    struct fixture *f = *state;
    char location[LOCATION_MAX];
    assert_true(location_for("test_concurrent_open_shared", location, sizeof(location)));

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_OPENERS), 0);
    struct opener o[N_OPENERS];
    for (size_t i = 0; i < N_OPENERS; i++)
        o[i] = (struct opener){.start = &start, .location = location, .result = ERR_INTERNAL};
    run_threads(N_OPENERS, opener_main, o, sizeof(o[0]));
    pthread_barrier_destroy(&start);

    for (size_t i = 0; i < N_OPENERS; i++)
        if (o[i].result != ERR_OK)
            fail_msg("opener %zu: %s: %s", i, err_code(o[i].result), o[i].why);
    for (size_t i = 1; i < N_OPENERS; i++)
        assert_string_equal(store_org_id(o[i].s), store_org_id(o[0].s));

    /* and each works: what one writes, the others read */
    struct user u = make_user(&f->a, NULL);
    assert_err(store_user_add(o[0].s, &u), ERR_OK);
    for (size_t i = 0; i < N_OPENERS; i++) {
        struct user got;
        assert_err(store_user_get(o[i].s, u.id, &f->a, &got), ERR_OK);
        store_close(o[i].s);
    }
}

/* Reads go on while writes do, from more threads than a server is likely to run: none is
 * refused, and a reader never sees a state that was not written. */
struct reader {
    pthread_barrier_t *start;
    struct store *s;
    const struct group *g;
    const char *scope_user_id;
    const char *failed;
    enum err result;
};

static void *reader_main(void *arg)
{
    struct reader *x = arg;
    struct arena a;
    arena_init(&a);
    pthread_barrier_wait(x->start);
    for (int i = 0; i < READS_EACH && !x->failed; i++) {
        struct group g;
        struct execution e;
        enum err r = store_group_get(x->s, x->g->id, &a, &g);
        if (r != ERR_OK || g.n_links != x->g->n_links) {
            x->failed = "store_group_get";
            x->result = r;
            break;
        }
        r = store_execution_get(x->s, x->g->id, x->scope_user_id, &a, &e);
        if (r != ERR_OK) {
            x->failed = "store_execution_get";
            x->result = r;
        } else if (e.status != STATUS_PENDING || e.modified_ms < e.created_ms) {
            x->failed = "an execution in a state never written";
        }
        arena_cleanup(&a);
    }
    arena_cleanup(&a);
    return NULL;
}

struct busy_writer {
    pthread_barrier_t *start;
    struct store *s;
    const char *execution_id;
    int64_t base_ms;
    const char *failed;
    enum err result;
};

static void *busy_writer_main(void *arg)
{
    struct busy_writer *x = arg;
    pthread_barrier_wait(x->start);
    for (int i = 0; i < WRITES_EACH; i++) {
        /* Pending to Pending: every write succeeds and changes the row */
        enum err r = store_execution_update(x->s, x->execution_id, STATUS_PENDING, STATUS_PENDING,
                                            x->base_ms + i, "still waiting");
        if (r != ERR_OK) {
            x->failed = "store_execution_update";
            x->result = r;
            break;
        }
    }
    return NULL;
}

static void test_reads_beside_writes(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, GROUP_MAX_LINKS, POLICY_ONCE);
    struct user u = add_user(f, NULL);
    struct execution want = make_exec(&g, 0, "", u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &want, NULL, NULL), ERR_OK);

    enum { N_BUSY_WRITERS = 16 };
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_READERS + N_BUSY_WRITERS), 0);
    struct reader *r = calloc(N_READERS, sizeof(*r));
    struct busy_writer w[N_BUSY_WRITERS];
    assert_non_null(r);
    for (size_t i = 0; i < N_READERS; i++)
        r[i] = (struct reader){.start = &start, .s = f->s, .g = &g, .scope_user_id = ""};
    for (size_t i = 0; i < N_BUSY_WRITERS; i++)
        w[i] = (struct busy_writer){
            .start = &start, .s = f->s, .execution_id = want.id, .base_ms = want.created_ms + 1};

    pthread_t *t = calloc(N_READERS + N_BUSY_WRITERS, sizeof(*t));
    assert_non_null(t);
    for (size_t i = 0; i < N_READERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
    for (size_t i = 0; i < N_BUSY_WRITERS; i++)
        assert_int_equal(pthread_create(&t[N_READERS + i], NULL, busy_writer_main, &w[i]), 0);
    for (size_t i = 0; i < N_READERS + N_BUSY_WRITERS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    free(t);
    pthread_barrier_destroy(&start);

    for (size_t i = 0; i < N_READERS; i++)
        if (r[i].failed)
            fail_msg("reader %zu: %s: %s", i, r[i].failed, err_code(r[i].result));
    for (size_t i = 0; i < N_BUSY_WRITERS; i++)
        if (w[i].failed)
            fail_msg("writer %zu: %s: %s", i, w[i].failed, err_code(w[i].result));
    free(r);

    struct execution e;
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &e), ERR_OK);
    assert_int_equal(e.status, STATUS_PENDING);
    assert_string_equal(e.diagnostic, "still waiting");
}

/* ======================================================================================
 * Durability across close and open
 * ====================================================================================== */

static void test_reopen_sees_everything(void **state)
{
    struct fixture *f = *state;
    int64_t now = clock_now_ms();
    char org[ID_LEN + 1];
    snprintf(org, sizeof(org), "%s", store_org_id(f->s));

    struct user boss = add_user(f, NULL);
    struct user u = add_user(f, boss.id);
    struct app app = add_app(f);
    struct token_rec live = add_token(f, u.id, app.id, now + HOUR_MS, NULL);
    struct token_rec revoked = add_token(f, u.id, app.id, now + HOUR_MS, NULL);
    assert_err(store_token_revoke(f->s, revoked.hash), ERR_OK);
    char callback_exec[ID_LEN + 1];
    id_new(ID_EXECUTION, callback_exec);
    struct token_rec callback = add_token(f, u.id, app.id, now + HOUR_MS, callback_exec);

    struct group g =
        make_group(&f->a, GROUP_MAX_LINKS, POLICY_ONCE_PER_USER, boss.id, app.id, u.id);
    assert_err(store_group_create(f->s, &g), ERR_OK);
    struct group gone = add_group(f, 1, POLICY_ONCE);
    assert_err(store_group_delete(f->s, gone.id), ERR_OK);

    struct execution done = make_exec(&g, 0, u.id, u.id, STATUS_PENDING);
    struct callout c = make_callout(&done);
    assert_err(store_execution_create(f->s, &done, &c, NULL), ERR_OK);
    assert_err(store_execution_update(f->s, done.id, STATUS_PENDING, STATUS_FAILED, now + 7,
                                      "timeout after 10 s"),
               ERR_OK);
    done.status = STATUS_FAILED;
    done.modified_ms = now + 7;
    done.diagnostic = "timeout after 10 s";
    struct execution pending = make_exec(&g, 1, boss.id, boss.id, STATUS_PENDING);
    struct callout c2 = make_callout(&pending);
    assert_err(store_execution_create(f->s, &pending, &c2, NULL), ERR_OK);
    struct callout_counts before = counts(f->s);

    reopen(f);

    assert_string_equal(store_org_id(f->s), org);
    struct user gu;
    assert_err(store_user_get(f->s, u.id, &f->a, &gu), ERR_OK);
    assert_user_eq(&u, &gu, true);
    assert_err(store_user_by_name(f->s, boss.username, &f->a, &gu), ERR_OK);
    assert_user_eq(&boss, &gu, true);
    struct app ga;
    assert_err(store_app_by_name(f->s, app.name, &f->a, &ga), ERR_OK);
    assert_app_eq(&app, &ga);
    struct principal p;
    assert_err(store_token_principal(f->s, live.hash, now, &f->a, &p), ERR_OK);
    assert_user_eq(&u, &p.user, false);
    assert_app_eq(&app, &p.app);
    assert_err(store_token_principal(f->s, revoked.hash, now, &f->a, &p), ERR_SESSION);
    assert_err(store_token_principal(f->s, callback.hash, now, &f->a, &p), ERR_OK);
    assert_string_equal(p.callback_execution_id, callback_exec);

    struct group gg;
    assert_err(store_group_get(f->s, g.id, &f->a, &gg), ERR_OK);
    assert_group_eq(&g, &gg);
    assert_err(store_group_get(f->s, gone.id, &f->a, &gg), ERR_NOT_FOUND);
    struct execution e;
    assert_err(store_execution_get(f->s, g.id, u.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&done, &e);
    assert_err(store_execution_get(f->s, g.id, boss.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&pending, &e);

    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued);
    assert_int_equal(after.started, before.started);
    assert_int_equal(after.done, before.done);

    /* the rules still hold on the reopened store */
    struct user dup = make_user(&f->a, NULL);
    dup.username = u.username;
    assert_err(store_user_add(f->s, &dup), ERR_EXISTS);
    struct execution again = make_exec(&g, 2, u.id, u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &again, NULL, NULL), ERR_CONFLICT);
}

/* ======================================================================================
 * The callout queue
 * ====================================================================================== */

enum {
    STALE_MS = 10000,  /* how long a node may go without a heartbeat */
    QUEUE_ROOM = 1000, /* room enough for every callout a case queues */
    N_QUEUED = 96,     /* callouts raced for */
    N_CLAIMERS = 16,   /* threads racing for them */
    CLAIM_EACH = 3,    /* the room each claimer asks for at a time */
    N_SCHEDULED = 10,  /* callouts of the room case */
};

static const char *fresh_owner(struct arena *a)
{
    char id[ID_LEN + 1];
    id_new(ID_EXECUTION, id);
    return arena_printf(a, "node-%s", id);
}

/* Starts and ends every callout queued so far (an earlier case's, in a database that
 * cases share) without touching their executions, so that a case sees only its own. */
static void drain_queue(struct fixture *f)
{
    const char *owner = fresh_owner(&f->a);
    int64_t now = clock_now_ms();
    struct callout_room room = {.limit = QUEUE_ROOM, .per_host = QUEUE_ROOM};
    for (int round = 0;; round++) {
        struct callout *got;
        size_t n;
        if (round == 100)
            fail_msg("the queue does not drain: started callouts are handed out again");
        assert_err(store_callouts_start(f->s, owner, now, &room, &f->a, &got, &n), ERR_OK);
        if (n == 0)
            break;
        struct callout_end *ends = arena_alloc(&f->a, n * sizeof(*ends));
        for (size_t i = 0; i < n; i++) {
            id_copy(ends[i].execution_id, got[i].execution_id);
            ends[i].status = STATUS_PENDING;
            ends[i].scrubbed_url = "https://drained.invalid/";
        }
        assert_err(store_callouts_finish(f->s, owner, now, ends, n), ERR_OK);
    }
    assert_int_equal(counts(f->s).queued, 0);
}

/* Queues a callout to host for a new execution of g (in a scope of its own) made at
 * created_ms; *c gets the callout as queued. */
static struct execution enqueue(struct fixture *f, const struct group *g, int64_t created_ms,
                                const char *host, struct callout *c)
{
    char scope[ID_LEN + 1];
    id_new(ID_USER, scope);
    struct execution e = make_exec(g, 0, scope, scope, STATUS_PENDING);
    e.created_ms = created_ms;
    e.modified_ms = created_ms;
    struct callout co = make_callout(&e);
    co.host = host;
    co.url = arena_printf(&f->a, "%s/hook/%s?token=secret-%s", host, e.id, e.id);
    co.created_ms = created_ms;
    assert_err(store_execution_create(f->s, &e, &co, NULL), ERR_OK);
    if (c)
        *c = co;
    return e;
}

static void assert_callout_eq(const struct callout *want, const struct callout *got)
{
    assert_string_equal(want->execution_id, got->execution_id);
    assert_int_equal(want->type, got->type);
    assert_string_equal(want->user_id, got->user_id);
    assert_string_equal(want->app_id, got->app_id);
    assert_int_equal(want->method, got->method);
    assert_string_equal(want->url, got->url);
    assert_string_equal(want->host, got->host);
    assert_int_equal(want->n_headers, got->n_headers);
    for (size_t i = 0; i < want->n_headers; i++) {
        assert_string_equal(want->headers[i].name, got->headers[i].name);
        assert_string_equal(want->headers[i].value, got->headers[i].value);
    }
    assert_str_or_null(want->body, got->body);
    assert_int_equal(want->created_ms, got->created_ms);
}

/* Starts callouts for owner and checks that exactly the executions in want (in that
 * order) were handed out. */
static void start_expect(struct fixture *f, const char *owner, int64_t now_ms,
                         const struct callout_room *room, const struct execution *const *want,
                         size_t n_want)
{
    struct callout *got;
    size_t n = 99;
    assert_err(store_callouts_start(f->s, owner, now_ms, room, &f->a, &got, &n), ERR_OK);
    if (n != n_want) {
        for (size_t i = 0; i < n; i++)
            print_message("handed out %s (created %lld)\n", got[i].execution_id,
                          (long long)got[i].created_ms);
        fail_msg("%zu callouts handed out, want %zu", n, n_want);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(got[i].execution_id, want[i]->id) != 0)
            fail_msg("callout %zu: got %s (created %lld), want %s (created %lld)", i,
                     got[i].execution_id, (long long)got[i].created_ms, want[i]->id,
                     (long long)want[i]->created_ms);
}

static struct execution exec_now(struct fixture *f, const struct execution *e)
{
    struct execution got;
    assert_err(store_execution_get(f->s, e->group_id, e->scope_user_id, &f->a, &got), ERR_OK);
    return got;
}

/* The execution as it was created, and moved since to status at now_ms with diagnostic. */
static void assert_exec_moved(struct fixture *f, const struct execution *e, enum status status,
                              int64_t now_ms, const char *diagnostic)
{
    struct execution want = *e;
    want.status = status;
    want.modified_ms = now_ms;
    want.diagnostic = diagnostic;
    struct execution got = exec_now(f, e);
    assert_exec_eq(&want, &got);
}

static int64_t events_last(struct store *s)
{
    int64_t seq = -1;
    assert_err(store_events_last(s, &seq), ERR_OK);
    assert_true(seq >= 0);
    return seq;
}

/* How many events were made after seq (at most QUEUE_ROOM). */
static size_t events_after(struct fixture *f, int64_t seq)
{
    struct status_event *ev;
    size_t n;
    assert_err(store_events_since(f->s, seq, QUEUE_ROOM, &f->a, &ev, &n), ERR_OK);
    return n;
}

/* A callout is stored whole with its execution, and handed out as it was queued, oldest
 * first (not in the order queued), each exactly once. */
static void test_callouts_start_oldest_first(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://api.example.com:443";
    int64_t base = clock_now_ms() - HOUR_MS;
    static const int order[] = {4, 2, 0, 3, 1}; /* queued in this order of age */
    struct execution e[5];
    struct callout c[5];
    struct callout_counts before = counts(f->s);
    for (size_t i = 0; i < 5; i++) {
        int k = order[i];
        e[k] = enqueue(f, &g, base + k, host, &c[k]);
    }
    /* one with no headers and no body, another type and method */
    char scope[ID_LEN + 1];
    id_new(ID_USER, scope);
    struct execution bare = make_exec(&g, 1, scope, scope, STATUS_PENDING);
    bare.created_ms = bare.modified_ms = base + 10;
    struct callout cb = make_callout(&bare);
    cb.type = ACTION_API_ASYNC;
    cb.method = METHOD_DELETE;
    cb.url = "/services/data/v1/things/1";
    cb.host = "https://self.example.com:8443";
    cb.headers = NULL;
    cb.n_headers = 0;
    cb.body = NULL;
    cb.created_ms = bare.created_ms;
    assert_err(store_execution_create(f->s, &bare, &cb, NULL), ERR_OK);
    struct callout_counts queued = counts(f->s);
    assert_int_equal(queued.queued, before.queued + 6);

    const char *owner = fresh_owner(&f->a), *second = fresh_owner(&f->a);
    int64_t now = clock_now_ms();
    struct callout_room two = {.limit = 2, .per_host = 10};
    struct callout *got;
    size_t n;
    assert_err(store_callouts_start(f->s, owner, now, &two, &f->a, &got, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_callout_eq(&c[0], &got[0]);
    assert_callout_eq(&c[1], &got[1]);
    struct callout_counts mid = counts(f->s);
    assert_int_equal(mid.queued, queued.queued - 2);
    assert_int_equal(mid.started, queued.started + 2);
    assert_int_equal(mid.done, queued.done);

    /* a second owner gets the rest, never the two already started */
    struct callout_room all = {.limit = QUEUE_ROOM, .per_host = QUEUE_ROOM};
    assert_err(store_callouts_start(f->s, second, now + 1, &all, &f->a, &got, &n), ERR_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 3; i++)
        assert_callout_eq(&c[2 + i], &got[i]);
    assert_callout_eq(&cb, &got[3]);

    /* and then nobody gets anything */
    const struct execution *none[1] = {NULL};
    start_expect(f, owner, now + 2, &all, none, 0);
    start_expect(f, fresh_owner(&f->a), now + 2, &all, none, 0);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued);
    assert_int_equal(after.started, before.started + 6);
    assert_int_equal(after.done, before.done);

    /* starting a callout does not change its execution */
    for (size_t i = 0; i < 5; i++) {
        struct execution now_e = exec_now(f, &e[i]);
        assert_exec_eq(&e[i], &now_e);
    }
}

/* The room: a limit in all, the default per host, and the room given for listed hosts
 * (also none, and a listed host with nothing queued); each call counts only what it hands
 * out. Host names are compared as they are, dots and colons and all. */
static void test_callouts_start_room(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *hosts[] = {"https://a.example.com:443", "https://b.example.com:443",
                           "http://c.example.com:8080"};
    int64_t base = clock_now_ms() - HOUR_MS;
    struct execution e[N_SCHEDULED]; /* e[i]: host i % 3, created base + i */
    for (size_t i = 0; i < N_SCHEDULED; i++)
        e[i] = enqueue(f, &g, base + (int64_t)i, hosts[i % 3], NULL);
    const char *owner = fresh_owner(&f->a);
    int64_t now = clock_now_ms();

    /* one per host, but two for b; d is listed with nothing queued */
    const char *listed[] = {hosts[1], "https://d.example.com:443"};
    const size_t listed_room[] = {2, 5};
    struct callout_room r1 = {
        .limit = 100, .per_host = 1, .hosts = listed, .host_room = listed_room, .n_hosts = 2};
    const struct execution *w1[] = {&e[0], &e[1], &e[2], &e[4]};
    start_expect(f, owner, now, &r1, w1, 4);

    /* the limit in all: the two oldest left, whatever their hosts */
    struct callout_room r2 = {.limit = 2, .per_host = 10};
    const struct execution *w2[] = {&e[3], &e[5]};
    start_expect(f, owner, now, &r2, w2, 2);

    /* no room for a: everything else */
    const char *no_a[] = {hosts[0]};
    const size_t zero[] = {0};
    struct callout_room r3 = {
        .limit = 10, .per_host = 10, .hosts = no_a, .host_room = zero, .n_hosts = 1};
    const struct execution *w3[] = {&e[7], &e[8]};
    start_expect(f, owner, now, &r3, w3, 2);

    /* no room at all */
    struct callout_room r4 = {.limit = 0, .per_host = 10};
    start_expect(f, owner, now, &r4, w3, 0);

    /* a's two, one call at a time */
    struct callout_room r5 = {.limit = 10, .per_host = 1};
    const struct execution *w5[] = {&e[6]}, *w6[] = {&e[9]};
    start_expect(f, owner, now, &r5, w5, 1);
    start_expect(f, owner, now, &r5, w6, 1);
    start_expect(f, owner, now, &r5, w6, 0);
}

/* Claimed callouts given back unsent are queued again with their age, for anyone to
 * claim; only their owner can give them back, and the owner cannot end them after. */
static void test_callouts_release(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://a.example.com:443";
    int64_t base = clock_now_ms() - HOUR_MS;
    struct execution e[3];
    for (size_t i = 0; i < 3; i++)
        e[i] = enqueue(f, &g, base + (int64_t)i, host, NULL);
    const char *owner = fresh_owner(&f->a), *other = fresh_owner(&f->a);
    struct callout_room room = {.limit = 10, .per_host = 10};
    const struct execution *all[] = {&e[0], &e[1], &e[2]};
    start_expect(f, owner, clock_now_ms(), &room, all, 3);
    struct callout_counts before = counts(f->s);

    idbuf ids[2];
    memcpy(ids[0], e[0].id, sizeof(ids[0]));
    memcpy(ids[1], e[2].id, sizeof(ids[1]));
    assert_err(store_callouts_release(f->s, other, ids, 2), ERR_OK);
    assert_int_equal(counts(f->s).started, before.started);
    assert_err(store_callouts_release(f->s, owner, ids, 2), ERR_OK);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.started, before.started - 2);
    assert_int_equal(after.queued, before.queued + 2);

    /* the owner can no longer end them; they go to the next claim, oldest first */
    struct callout_end end = {.status = STATUS_SUCCESSFUL, .diagnostic = "x", .scrubbed_url = ""};
    memcpy(end.execution_id, e[0].id, sizeof(end.execution_id));
    assert_err(store_callouts_finish(f->s, owner, clock_now_ms(), &end, 1), ERR_OK);
    assert_false(end.applied);
    assert_int_equal(exec_now(f, &e[0]).status, STATUS_PENDING);
    const struct execution *back[] = {&e[0], &e[2]};
    start_expect(f, other, clock_now_ms(), &room, back, 2);
    memcpy(end.execution_id, e[0].id, sizeof(end.execution_id));
    assert_err(store_callouts_finish(f->s, other, clock_now_ms(), &end, 1), ERR_OK);
    assert_true(end.applied);
    assert_int_equal(exec_now(f, &e[0]).status, STATUS_SUCCESSFUL);
}

/* A callout made started by its owner (the PATCH's own claim) is never handed out by a
 * claim; its owner ends it, another node cannot; and like a claimed one it is failed as
 * interrupted when its owner stops beating. */
static void test_callout_created_started(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://a.example.com:443";
    const char *owner = fresh_owner(&f->a), *other = fresh_owner(&f->a);
    int64_t t0 = clock_now_ms(), n = -1;
    assert_err(store_callouts_recover(f->s, owner, t0, STALE_MS, &n), ERR_OK); /* beats */
    struct callout_counts before = counts(f->s);
    struct execution mine[2];
    for (int i = 0; i < 2; i++) {
        char scope[ID_LEN + 1];
        id_new(ID_USER, scope);
        mine[i] = make_exec(&g, 0, scope, scope, STATUS_PENDING);
        struct callout co = make_callout(&mine[i]);
        co.host = host;
        co.owner = owner;
        assert_err(store_execution_create(f->s, &mine[i], &co, NULL), ERR_OK);
    }
    struct execution queued = enqueue(f, &g, t0, host, NULL);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.started, before.started + 2);
    assert_int_equal(after.queued, before.queued + 1);

    /* a claim hands out only the queued one */
    struct callout_room room = {.limit = 10, .per_host = 10};
    const struct execution *want[] = {&queued};
    start_expect(f, other, t0, &room, want, 1);

    /* another node cannot end it; its owner can */
    struct callout_end end = {.status = STATUS_SUCCESSFUL, .diagnostic = "ok", .scrubbed_url = ""};
    memcpy(end.execution_id, mine[0].id, sizeof(end.execution_id));
    assert_err(store_callouts_finish(f->s, other, t0, &end, 1), ERR_OK);
    assert_false(end.applied);
    assert_err(store_callouts_finish(f->s, owner, t0, &end, 1), ERR_OK);
    assert_true(end.applied);
    assert_int_equal(exec_now(f, &mine[0]).status, STATUS_SUCCESSFUL);

    /* its owner stops beating: the other one is failed as interrupted */
    int64_t later = t0 + STALE_MS + STALE_MS / 4;
    assert_err(store_callouts_recover(f->s, other, later, STALE_MS, &n), ERR_OK);
    assert_true(n >= 1);
    assert_exec_moved(f, &mine[1], STATUS_FAILED, later, DIAG_INTERRUPTED);
}

/* A queue for one destination with no room costs a claim nothing, and does not hide the
 * others behind it; with more destinations queued than a claim looks at (1,024), the
 * next claims go on from where it stopped, so every destination is served. */
static void test_callouts_start_many_hosts(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    int64_t base = clock_now_ms() - HOUR_MS;
    enum { BUSY = 50, HOSTS = 1100 };
    const char *busy = "https://busy.example.com:443";
    for (int i = 0; i < BUSY; i++)
        enqueue(f, &g, base + i, busy, NULL);
    struct execution *other = arena_alloc(&f->a, HOSTS * sizeof(*other));
    for (int i = 0; i < HOSTS; i++)
        other[i] = enqueue(f, &g, base + BUSY + i,
                           arena_printf(&f->a, "https://h%04d.example.com:443", i), NULL);
    const char *owner = fresh_owner(&f->a);
    const char *listed[] = {busy};
    const size_t none[] = {0};
    struct callout_room room = {.limit = 5000, .per_host = 1, .hosts = listed,
                                .host_room = none, .n_hosts = 1};
    bool seen[HOSTS] = {false};
    size_t total = 0;
    for (int claim = 0; claim < 3; claim++) {
        struct callout *got;
        size_t n;
        assert_err(store_callouts_start(f->s, owner, clock_now_ms(), &room, &f->a, &got, &n),
                   ERR_OK);
        for (size_t i = 0; i < n; i++) {
            assert_string_not_equal(got[i].host, busy);
            int k = atoi(got[i].host + strlen("https://h"));
            assert_true(k >= 0 && k < HOSTS);
            assert_false(seen[k]);
            assert_string_equal(got[i].execution_id, other[k].id);
            seen[k] = true;
        }
        total += n;
    }
    assert_int_equal(total, HOSTS);
    /* the busy destination's queue is still all there, oldest first once it has room */
    struct callout_room two = {.limit = 2, .per_host = 10};
    struct callout *got;
    size_t n;
    assert_err(store_callouts_start(f->s, owner, clock_now_ms(), &two, &f->a, &got, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].host, busy);
    assert_true(got[0].created_ms == base && got[1].created_ms == base + 1);
    drain_queue(f);
}

/* A dispatcher's round: the ends recorded and the next claim made in one call. */
static void test_callouts_cycle(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://api.example.com:443";
    int64_t base = clock_now_ms() - HOUR_MS;
    struct execution e[3];
    for (int i = 0; i < 3; i++)
        e[i] = enqueue(f, &g, base + i, host, NULL);
    const char *owner = fresh_owner(&f->a);
    struct callout_room two = {.limit = 2, .per_host = 10};
    const struct execution *first[] = {&e[0], &e[1]}, *rest[] = {&e[2]};
    start_expect(f, owner, clock_now_ms(), &two, first, 2);
    struct callout_counts before = counts(f->s);

    struct callout_end ends[2];
    memset(ends, 0, sizeof(ends));
    for (int i = 0; i < 2; i++) {
        id_copy(ends[i].execution_id, e[i].id);
        ends[i].status = STATUS_SUCCESSFUL;
        ends[i].diagnostic = "HTTP 200";
        ends[i].scrubbed_url = "https://api.example.com/hook";
    }
    int64_t now = clock_now_ms();
    struct callout *got;
    size_t n;
    assert_err(store_callouts_cycle(f->s, owner, now, ends, 2, &two, &f->a, &got, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(got[0].execution_id, rest[0]->id);
    assert_true(ends[0].applied && ends[1].applied);
    assert_exec_moved(f, &e[0], STATUS_SUCCESSFUL, now, "HTTP 200");
    assert_exec_moved(f, &e[1], STATUS_SUCCESSFUL, now, "HTTP 200");
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.done, before.done + 2);
    assert_int_equal(after.started, before.started - 2 + 1);
    assert_int_equal(after.queued, before.queued - 1);
    drain_queue(f);
}

/* Many threads through two stores claim callouts at once: each callout goes to exactly
 * one of them, and only that owner can end it. */
struct claimer {
    pthread_barrier_t *start;
    struct store *s;
    const char *owner;
    idbuf got[N_QUEUED];
    size_t n;     /* kept in got */
    size_t total; /* handed out, kept or not */
    enum err result;
};

static void *claimer_main(void *arg)
{
    struct claimer *x = arg;
    struct arena a;
    arena_init(&a);
    struct callout_room room = {.limit = CLAIM_EACH, .per_host = N_QUEUED};
    x->result = ERR_OK;
    pthread_barrier_wait(x->start);
    for (;;) {
        struct callout *out;
        size_t n;
        enum err r = store_callouts_start(x->s, x->owner, clock_now_ms(), &room, &a, &out, &n);
        if (r != ERR_OK) {
            x->result = r;
            break;
        }
        if (n == 0)
            break;
        x->total += n;
        if (x->total > N_QUEUED)
            break; /* more than there are: the case fails on it */
        for (size_t i = 0; i < n && x->n < N_QUEUED; i++)
            id_copy(x->got[x->n++], out[i].execution_id);
    }
    arena_cleanup(&a);
    return NULL;
}

static struct callout_end *ends_of(struct arena *a, const struct claimer *x, enum status status)
{
    struct callout_end *ends = arena_alloc(a, (x->n ? x->n : 1) * sizeof(*ends));
    for (size_t i = 0; i < x->n; i++) {
        id_copy(ends[i].execution_id, x->got[i]);
        ends[i].status = status;
        ends[i].diagnostic = "HTTP 200";
        ends[i].scrubbed_url = "https://api.example.com/hook";
        ends[i].applied = status == STATUS_FAILED; /* the opposite of what is expected */
    }
    return ends;
}

static void test_callouts_race_to_start(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct store *stores[2] = {f->s, open_again(f->location)};
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    static const char *const hosts[] = {"https://a.example.com:443", "https://b.example.com:443",
                                        "https://c.example.com:443"};
    int64_t base = clock_now_ms() - HOUR_MS;
    struct execution *e = arena_alloc(&f->a, N_QUEUED * sizeof(*e));
    for (size_t i = 0; i < N_QUEUED; i++)
        e[i] = enqueue(f, &g, base + (int64_t)(i / 4), hosts[i % 3], NULL);
    struct callout_counts before = counts(f->s);

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_CLAIMERS), 0);
    struct claimer *c = calloc(N_CLAIMERS, sizeof(*c));
    assert_non_null(c);
    for (size_t i = 0; i < N_CLAIMERS; i++) {
        c[i].start = &start;
        c[i].s = stores[i % 2];
        c[i].owner = fresh_owner(&f->a);
        c[i].result = ERR_INTERNAL;
    }
    run_threads(N_CLAIMERS, claimer_main, c, sizeof(c[0]));
    pthread_barrier_destroy(&start);

    size_t total = 0;
    for (size_t i = 0; i < N_CLAIMERS; i++) {
        if (c[i].result != ERR_OK)
            fail_msg("claimer %zu: %s", i, err_code(c[i].result));
        total += c[i].total;
    }
    assert_int_equal(total, N_QUEUED);
    for (size_t k = 0; k < N_QUEUED; k++) {
        size_t holders = 0;
        for (size_t i = 0; i < N_CLAIMERS; i++)
            for (size_t j = 0; j < c[i].n; j++)
                holders += strcmp(c[i].got[j], e[k].id) == 0;
        if (holders != 1)
            fail_msg("callout %zu (%s) was handed out %zu times", k, e[k].id, holders);
    }
    struct callout_counts mid = counts(f->s);
    assert_int_equal(mid.queued, before.queued - N_QUEUED);
    assert_int_equal(mid.started, before.started + N_QUEUED);

    /* another owner cannot end them; the one that has them can, once */
    for (size_t i = 0; i < N_CLAIMERS; i++) {
        const struct claimer *thief = &c[(i + 1) % N_CLAIMERS];
        struct callout_end *ends = ends_of(&f->a, &c[i], STATUS_FAILED);
        assert_err(
            store_callouts_finish(stores[(i + 1) % 2], thief->owner, clock_now_ms(), ends, c[i].n),
            ERR_OK);
        for (size_t j = 0; j < c[i].n; j++)
            assert_false(ends[j].applied);
        ends = ends_of(&f->a, &c[i], STATUS_SUCCESSFUL);
        assert_err(store_callouts_finish(c[i].s, c[i].owner, clock_now_ms(), ends, c[i].n), ERR_OK);
        for (size_t j = 0; j < c[i].n; j++)
            assert_true(ends[j].applied);
    }
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued - N_QUEUED);
    assert_int_equal(after.started, before.started);
    assert_int_equal(after.done, before.done + N_QUEUED);
    for (size_t k = 0; k < N_QUEUED; k++)
        assert_int_equal(exec_now(f, &e[k]).status, STATUS_SUCCESSFUL);
    free(c);
    store_close(stores[1]);
}

/* The end of a callout: the execution gets its status and diagnostic only while Pending;
 * Pending (an ApiAsync 2xx) keeps it Pending with the diagnostic and makes no event; a
 * callout that is not the owner's, or is done, is not ended again. */
static void test_callouts_finish(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://api.example.com:443";
    int64_t base = clock_now_ms() - HOUR_MS;
    struct execution fails = enqueue(f, &g, base, host, NULL);
    struct execution waits = enqueue(f, &g, base + 1, host, NULL);
    struct execution works = enqueue(f, &g, base + 2, host, NULL);
    struct execution moved = enqueue(f, &g, base + 3, host, NULL);
    struct execution theirs = enqueue(f, &g, base + 4, host, NULL);
    struct execution later = enqueue(f, &g, base + 5, host, NULL); /* stays queued */
    const char *owner = fresh_owner(&f->a), *other = fresh_owner(&f->a);
    int64_t t0 = clock_now_ms();
    struct callout_room four = {.limit = 4, .per_host = 10}, one = {.limit = 1, .per_host = 10};
    const struct execution *mine[] = {&fails, &waits, &works, &moved}, *other_s[] = {&theirs};
    start_expect(f, owner, t0, &four, mine, 4);
    start_expect(f, other, t0, &one, other_s, 1);
    /* the callback came before the callout's answer */
    assert_err(store_execution_update(f->s, moved.id, STATUS_PENDING, STATUS_SUCCESSFUL, t0 + 1,
                                      "completed by callback"),
               ERR_OK);
    struct callout_counts before = counts(f->s);
    int64_t seq = events_last(f->s);

    char ghost[ID_LEN + 1];
    id_new(ID_EXECUTION, ghost);
    int64_t t1 = t0 + 50;
    struct callout_end ends[] = {
        {.status = STATUS_FAILED,
         .diagnostic = "HTTP 500 from api.example.com",
         .scrubbed_url = "https://api.example.com:443/hook/1"},
        {.status = STATUS_PENDING,
         .diagnostic = "HTTP 202: accepted, waiting for the callback",
         .scrubbed_url = "https://api.example.com:443/hook/2"},
        {.status = STATUS_SUCCESSFUL,
         .diagnostic = "HTTP 200",
         .scrubbed_url = "https://api.example.com:443/hook/3"},
        {.status = STATUS_FAILED,
         .diagnostic = "HTTP 500 too late",
         .scrubbed_url = "https://api.example.com:443/hook/4"},
        {.status = STATUS_FAILED,
         .diagnostic = "not mine to end",
         .scrubbed_url = "https://api.example.com:443/hook/5"},
        {.status = STATUS_FAILED,
         .diagnostic = "never queued",
         .scrubbed_url = "https://api.example.com:443/hook/6"},
        {.status = STATUS_FAILED,
         .diagnostic = "still queued",
         .scrubbed_url = "https://api.example.com:443/hook/7"},
    };
    const char *ids[] = {fails.id, waits.id, works.id, moved.id, theirs.id, ghost, later.id};
    static const bool applied[] = {true, true, true, true, false, false, false};
    enum { N_ENDS = sizeof(ends) / sizeof(ends[0]) };
    for (size_t i = 0; i < N_ENDS; i++) {
        id_copy(ends[i].execution_id, ids[i]);
        ends[i].applied = !applied[i];
    }
    assert_err(store_callouts_finish(f->s, owner, t1, ends, N_ENDS), ERR_OK);
    for (size_t i = 0; i < N_ENDS; i++)
        if (ends[i].applied != applied[i])
            fail_msg("end %zu (%s): applied %d, want %d", i, ends[i].diagnostic,
                     (int)ends[i].applied, (int)applied[i]);

    assert_exec_moved(f, &fails, STATUS_FAILED, t1, "HTTP 500 from api.example.com");
    assert_exec_moved(f, &waits, STATUS_PENDING, t1,
                      "HTTP 202: accepted, waiting for the callback");
    assert_exec_moved(f, &works, STATUS_SUCCESSFUL, t1, "HTTP 200");
    assert_exec_moved(f, &moved, STATUS_SUCCESSFUL, t0 + 1, "completed by callback");
    struct execution got = exec_now(f, &theirs);
    assert_exec_eq(&theirs, &got);
    got = exec_now(f, &later);
    assert_exec_eq(&later, &got);

    /* one event each for the two that changed status; none for the diagnostic alone */
    assert_int_equal(events_after(f, seq), 2);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued);
    assert_int_equal(after.started, before.started - 4);
    assert_int_equal(after.done, before.done + 4);

    /* done is done: not ended again, not handed out again (only the queued one is) */
    struct callout_end again = {.status = STATUS_SUCCESSFUL, .diagnostic = "again"};
    id_copy(again.execution_id, fails.id);
    again.applied = true;
    assert_err(store_callouts_finish(f->s, owner, t1 + 1, &again, 1), ERR_OK);
    assert_false(again.applied);
    assert_exec_moved(f, &fails, STATUS_FAILED, t1, "HTTP 500 from api.example.com");
    struct callout_room all = {.limit = QUEUE_ROOM, .per_host = QUEUE_ROOM};
    const struct execution *only_later[] = {&later};
    start_expect(f, fresh_owner(&f->a), t1 + 2, &all, only_later, 1);
    start_expect(f, owner, t1 + 2, &all, only_later, 0);

    /* the other owner ends its own */
    struct callout_end last = {.status = STATUS_FAILED, .diagnostic = "timeout after 10 s"};
    id_copy(last.execution_id, theirs.id);
    assert_err(store_callouts_finish(f->s, other, t1 + 3, &last, 1), ERR_OK);
    assert_true(last.applied);
    assert_exec_moved(f, &theirs, STATUS_FAILED, t1 + 3, "timeout after 10 s");
    /* and nothing at all is a valid batch */
    assert_err(store_callouts_finish(f->s, owner, t1 + 4, NULL, 0), ERR_OK);
}

/* A node that stopped beating had its started callouts interrupted: they are failed, and
 * their executions too if still Pending. A live node's are left alone, and the node that
 * calls recover beats by calling it. */
static void test_callouts_recover(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://api.example.com:443";
    const char *dead = fresh_owner(&f->a), *live = fresh_owner(&f->a), *caller = fresh_owner(&f->a);
    int64_t t0 = clock_now_ms(), n = -1;
    /* an earlier case's callouts started by nodes that are gone go first */
    assert_err(store_callouts_recover(f->s, caller, t0, STALE_MS, &n), ERR_OK);
    assert_err(store_callouts_recover(f->s, dead, t0, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_err(store_callouts_recover(f->s, live, t0, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);

    struct execution d1 = enqueue(f, &g, t0 - 40, host, NULL);
    struct execution d2 = enqueue(f, &g, t0 - 30, host, NULL);
    struct execution d3 = enqueue(f, &g, t0 - 20, host, NULL);
    struct execution l1 = enqueue(f, &g, t0 - 10, host, NULL);
    struct callout_room three = {.limit = 3, .per_host = 10};
    const struct execution *dead_s[] = {&d1, &d2, &d3}, *live_s[] = {&l1};
    start_expect(f, dead, t0, &three, dead_s, 3);
    start_expect(f, live, t0, &three, live_s, 1);
    assert_err(store_execution_update(f->s, d3.id, STATUS_PENDING, STATUS_SUCCESSFUL, t0 + 1,
                                      "completed by callback"),
               ERR_OK);
    struct callout_counts before = counts(f->s);
    int64_t seq = events_last(f->s);

    /* within the stale time every node is alive */
    int64_t t1 = t0 + STALE_MS / 2;
    assert_err(store_callouts_recover(f->s, live, t1, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(counts(f->s).started, before.started);

    /* dead last beat at t0; live beat at t1 */
    int64_t t2 = t0 + STALE_MS + STALE_MS / 4;
    assert_err(store_callouts_recover(f->s, live, t2, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_exec_moved(f, &d1, STATUS_FAILED, t2, DIAG_INTERRUPTED);
    assert_exec_moved(f, &d2, STATUS_FAILED, t2, DIAG_INTERRUPTED);
    assert_exec_moved(f, &d3, STATUS_SUCCESSFUL, t0 + 1, "completed by callback");
    struct execution got = exec_now(f, &l1);
    assert_exec_eq(&l1, &got);
    struct callout_counts mid = counts(f->s);
    assert_int_equal(mid.queued, before.queued);
    assert_int_equal(mid.started, before.started - 3);
    assert_int_equal(mid.done, before.done + 3);
    assert_int_equal(events_after(f, seq), 2);

    /* the dead node, come back, cannot end what was taken from it */
    struct callout_end late = {.status = STATUS_SUCCESSFUL, .diagnostic = "HTTP 200 at last"};
    id_copy(late.execution_id, d1.id);
    late.applied = true;
    assert_err(store_callouts_finish(f->s, dead, t2 + 1, &late, 1), ERR_OK);
    assert_false(late.applied);
    assert_exec_moved(f, &d1, STATUS_FAILED, t2, DIAG_INTERRUPTED);
    /* and nothing it had is handed out again */
    struct callout_room all = {.limit = QUEUE_ROOM, .per_host = QUEUE_ROOM};
    start_expect(f, dead, t2 + 1, &all, dead_s, 0);

    /* live's call at t2 was its heartbeat: another node's call soon after leaves it */
    int64_t t3 = t2 + STALE_MS / 2;
    assert_err(store_callouts_recover(f->s, caller, t3, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);
    got = exec_now(f, &l1);
    assert_exec_eq(&l1, &got);
    assert_int_equal(counts(f->s).started, mid.started);

    /* until live stops beating too */
    int64_t t4 = t2 + STALE_MS + STALE_MS / 4;
    assert_err(store_callouts_recover(f->s, caller, t4, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_exec_moved(f, &l1, STATUS_FAILED, t4, DIAG_INTERRUPTED);
    assert_int_equal(counts(f->s).started, mid.started - 1);
}

/* A node that leaves (a clean stop) is gone at once: what it had started is failed at the
 * next recover, however recently it beat. */
static void test_node_leave(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *host = "https://api.example.com:443";
    const char *leaving = fresh_owner(&f->a), *staying = fresh_owner(&f->a);
    int64_t t0 = clock_now_ms(), n = -1;
    assert_err(store_callouts_recover(f->s, leaving, t0, STALE_MS, &n), ERR_OK);
    assert_err(store_callouts_recover(f->s, staying, t0, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);
    struct execution q1 = enqueue(f, &g, t0 - 20, host, NULL);
    struct execution q2 = enqueue(f, &g, t0 - 10, host, NULL);
    struct callout_room one = {.limit = 1, .per_host = 10};
    const struct execution *w1[] = {&q1}, *w2[] = {&q2};
    start_expect(f, leaving, t0, &one, w1, 1);
    start_expect(f, staying, t0, &one, w2, 1);

    assert_err(store_callouts_recover(f->s, staying, t0 + 1, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_err(store_node_leave(f->s, leaving), ERR_OK);
    assert_err(store_callouts_recover(f->s, staying, t0 + 2, STALE_MS, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_exec_moved(f, &q1, STATUS_FAILED, t0 + 2, DIAG_INTERRUPTED);
    struct execution got = exec_now(f, &q2);
    assert_exec_eq(&q2, &got);
}

/* An ApiAsync execution still Pending at its deadline fails; one with no deadline, one
 * whose deadline is ahead, and one no longer Pending are left alone. */
static void test_async_expire(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    int64_t t0 = clock_now_ms(), n = -1;
    struct execution e[5];
    static const int64_t deadline_offset[] = {-1000, 0, HOUR_MS, 0, -1000};
    for (size_t i = 0; i < 5; i++) {
        char scope[ID_LEN + 1];
        id_new(ID_USER, scope);
        e[i] = make_exec(&g, 1, scope, scope, STATUS_PENDING);
        e[i].created_ms = e[i].modified_ms = t0 - 2000;
        e[i].deadline_ms = t0 + deadline_offset[i];
    }
    e[3].deadline_ms = 0; /* never */
    for (size_t i = 0; i < 5; i++)
        assert_err(store_execution_create(f->s, &e[i], NULL, NULL), ERR_OK);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(exec_now(f, &e[i]).deadline_ms, e[i].deadline_ms);
    /* the callback came in time for the last one */
    assert_err(store_execution_update(f->s, e[4].id, STATUS_PENDING, STATUS_SUCCESSFUL, t0 - 1500,
                                      "completed by callback"),
               ERR_OK);
    int64_t seq = events_last(f->s);

    /* past its deadline, and exactly at it */
    assert_err(store_async_expire(f->s, t0, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_exec_moved(f, &e[0], STATUS_FAILED, t0, DIAG_NO_CALLBACK);
    assert_exec_moved(f, &e[1], STATUS_FAILED, t0, DIAG_NO_CALLBACK);
    struct execution got = exec_now(f, &e[2]);
    assert_exec_eq(&e[2], &got);
    got = exec_now(f, &e[3]);
    assert_exec_eq(&e[3], &got);
    assert_exec_moved(f, &e[4], STATUS_SUCCESSFUL, t0 - 1500, "completed by callback");
    assert_int_equal(events_after(f, seq), 2);

    assert_err(store_async_expire(f->s, t0, &n), ERR_OK);
    assert_int_equal(n, 0);
    int64_t t1 = t0 + HOUR_MS + 1;
    assert_err(store_async_expire(f->s, t1, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_exec_moved(f, &e[2], STATUS_FAILED, t1, DIAG_NO_CALLBACK);
    got = exec_now(f, &e[3]);
    assert_exec_eq(&e[3], &got); /* 0: never */
    assert_exec_moved(f, &e[0], STATUS_FAILED, t0, DIAG_NO_CALLBACK);
}

/* The execution, its callout and its callback token are one write: all or nothing. */
static void test_execution_create_with_callback_token(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL), v = add_user(f, NULL);
    struct app app = add_app(f);
    struct group g = add_group(f, 2, POLICY_ONCE);
    int64_t now = clock_now_ms();
    struct callout_counts before = counts(f->s);

    struct execution e = make_exec(&g, 1, "", u.id, STATUS_PENDING);
    struct callout c = make_callout(&e);
    c.type = ACTION_API_ASYNC;
    char hash[HASH_LEN + 1];
    fake_hash(hash);
    struct token_rec t = {.hash = hash, .expires_ms = now + HOUR_MS};
    id_copy(t.user_id, u.id);
    id_copy(t.app_id, app.id);
    id_copy(t.callback_execution_id, e.id);
    assert_err(store_execution_create(f->s, &e, &c, &t), ERR_OK);
    struct principal p;
    assert_err(store_token_principal(f->s, hash, now, &f->a, &p), ERR_OK);
    assert_string_equal(p.callback_execution_id, e.id);
    assert_user_eq(&u, &p.user, false);
    assert_app_eq(&app, &p.app);
    assert_int_equal(counts(f->s).queued, before.queued + 1);

    /* refused in a taken scope: neither its callout nor its token is kept */
    struct execution lost = make_exec(&g, 0, "", v.id, STATUS_PENDING);
    struct callout lc = make_callout(&lost);
    char lost_hash[HASH_LEN + 1];
    fake_hash(lost_hash);
    struct token_rec lt = t;
    lt.hash = lost_hash;
    id_copy(lt.user_id, v.id);
    id_copy(lt.callback_execution_id, lost.id);
    assert_err(store_execution_create(f->s, &lost, &lc, &lt), ERR_CONFLICT);
    assert_err(store_token_principal(f->s, lost_hash, now, &f->a, &p), ERR_SESSION);
    assert_int_equal(counts(f->s).queued, before.queued + 1);
    struct execution got = exec_now(f, &e);
    assert_exec_eq(&e, &got);
}

/* ======================================================================================
 * Status events
 * ====================================================================================== */

static void assert_event(const struct status_event *ev, const struct execution *e,
                         int64_t created_ms)
{
    assert_string_equal(ev->group_id, e->group_id);
    assert_string_equal(ev->link_id, e->link_id);
    assert_string_equal(ev->scope_user_id, e->scope_user_id);
    assert_int_equal(ev->created_ms, created_ms);
}

static void test_events(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    struct user u1 = add_user(f, NULL), u2 = add_user(f, NULL);
    int64_t t = clock_now_ms() - 3 * HOUR_MS;
    int64_t last0 = events_last(f->s);

    struct execution once = make_exec(&g, 0, "", u1.id, STATUS_PENDING);
    once.created_ms = once.modified_ms = t;
    assert_err(store_execution_create(f->s, &once, NULL, NULL), ERR_OK);
    struct execution per = make_exec(&g, 1, u2.id, u2.id, STATUS_PENDING);
    per.created_ms = per.modified_ms = t + 10;
    assert_err(store_execution_create(f->s, &per, NULL, NULL), ERR_OK);
    /* writes that change no status make no event */
    struct execution refused = make_exec(&g, 1, "", u2.id, STATUS_PENDING);
    refused.created_ms = refused.modified_ms = t + 15;
    assert_err(store_execution_create(f->s, &refused, NULL, NULL), ERR_CONFLICT);
    assert_err(store_execution_update(f->s, once.id, STATUS_PENDING, STATUS_PENDING, t + 20,
                                      "HTTP 202: accepted"),
               ERR_OK);
    assert_err(store_execution_update(f->s, per.id, STATUS_NEW, STATUS_FAILED, t + 25, "nope"),
               ERR_CONFLICT);
    assert_err(
        store_execution_update(f->s, once.id, STATUS_PENDING, STATUS_SUCCESSFUL, t + 30, NULL),
        ERR_OK);
    assert_err(
        store_execution_update(f->s, per.id, STATUS_PENDING, STATUS_FAILED, t + 40, "HTTP 500"),
        ERR_OK);

    struct status_event *ev;
    size_t n = 99;
    assert_err(store_events_since(f->s, last0, QUEUE_ROOM, &f->a, &ev, &n), ERR_OK);
    assert_int_equal(n, 4);
    assert_event(&ev[0], &once, t);
    assert_event(&ev[1], &per, t + 10);
    assert_event(&ev[2], &once, t + 30);
    assert_event(&ev[3], &per, t + 40);
    assert_true(ev[0].seq > last0);
    for (size_t i = 1; i < n; i++)
        assert_true(ev[i].seq > ev[i - 1].seq);
    assert_int_equal(events_last(f->s), ev[3].seq);

    /* limit and after */
    struct status_event *page;
    assert_err(store_events_since(f->s, last0, 2, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(page[0].seq, ev[0].seq);
    assert_int_equal(page[1].seq, ev[1].seq);
    assert_err(store_events_since(f->s, page[1].seq, 2, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(page[0].seq, ev[2].seq);
    assert_event(&page[0], &once, t + 30);
    assert_int_equal(page[1].seq, ev[3].seq);
    assert_err(store_events_since(f->s, ev[0].seq, 1, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].seq, ev[1].seq);
    assert_err(store_events_since(f->s, ev[3].seq, 10, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_err(store_events_since(f->s, last0, 0, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 0);

    /* trimming forgets what is older than the cut, and only that */
    assert_err(store_events_trim(f->s, t + 30), ERR_OK);
    assert_err(store_events_since(f->s, last0, QUEUE_ROOM, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(page[0].seq, ev[2].seq);
    assert_int_equal(page[1].seq, ev[3].seq);
    assert_int_equal(events_last(f->s), ev[3].seq);
    /* all older than the cut: all go but the newest, which numbering goes on from */
    assert_err(store_events_trim(f->s, t + 41), ERR_OK);
    assert_err(store_events_since(f->s, last0, QUEUE_ROOM, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(page[0].seq, ev[3].seq);
    assert_int_equal(events_last(f->s), ev[3].seq);

    /* numbering goes on after a trim: a new event is newer than every one handed out */
    struct group g2 = add_group(f, 1, POLICY_ONCE);
    struct execution next = make_exec(&g2, 0, "", u1.id, STATUS_SUCCESSFUL);
    assert_err(store_execution_create(f->s, &next, NULL, NULL), ERR_OK);
    assert_err(store_events_since(f->s, ev[3].seq, QUEUE_ROOM, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_true(page[0].seq > ev[3].seq);
    assert_event(&page[0], &next, next.created_ms);
    assert_int_equal(events_last(f->s), page[0].seq);
}

/* The trim goes from the oldest on and stops at the first event of the kept window; one
 * dated far ahead (a clock running fast) does not stop it; the newest always stays. */
static void test_events_trim(void **state)
{
    struct fixture *f = *state;
    struct group g = add_group(f, 3, POLICY_ONCE_PER_USER);
    struct user u = add_user(f, NULL);
    int64_t t = clock_now_ms() - 3 * HOUR_MS, last0 = events_last(f->s);
    const int64_t made[] = {t, clock_now_ms() + 30 * 24 * (int64_t)HOUR_MS, t + 1};
    struct execution e[3];
    for (int i = 0; i < 3; i++) {
        char scope[ID_LEN + 1];
        id_new(ID_USER, scope);
        e[i] = make_exec(&g, (size_t)i, arena_strdup(&f->a, scope), u.id, STATUS_PENDING);
        e[i].created_ms = e[i].modified_ms = made[i];
        assert_err(store_execution_create(f->s, &e[i], NULL, NULL), ERR_OK);
    }
    assert_err(store_events_trim(f->s, t + 100), ERR_OK);
    struct status_event *ev;
    size_t n;
    assert_err(store_events_since(f->s, last0, QUEUE_ROOM, &f->a, &ev, &n), ERR_OK);
    assert_int_equal(n, 1); /* the newest, though old */
    assert_event(&ev[0], &e[2], t + 1);
    int64_t newest = ev[0].seq;
    /* nothing old left but the newest: a trim changes nothing */
    assert_err(store_events_trim(f->s, clock_now_ms()), ERR_OK);
    assert_int_equal(events_last(f->s), newest);
}

/* ======================================================================================
 * OAuth
 * ====================================================================================== */

static void test_app_by_client_id(void **state)
{
    struct fixture *f = *state;
    struct app app = make_app(&f->a), other = add_app(f);
    char secret[HASH_LEN + 1];
    fake_hash(secret);
    assert_err(store_app_add(f->s, &app, secret), ERR_OK);

    struct app got;
    const char *hash = NULL;
    bool public_client = true;
    assert_err(store_app_by_client_id(f->s, app.client_id, &f->a, &got, &hash, &public_client),
               ERR_OK);
    assert_app_eq(&app, &got);
    assert_non_null(hash);
    assert_string_equal(hash, secret);
    assert_false(public_client);
    assert_err(store_app_by_client_id(f->s, other.client_id, &f->a, &got, &hash, &public_client),
               ERR_OK);
    assert_app_eq(&other, &got);
    assert_string_not_equal(hash, secret);

    /* by client_id only: not by name, and not an unknown one */
    struct app ghost = make_app(&f->a);
    assert_err(store_app_by_client_id(f->s, ghost.client_id, &f->a, &got, &hash, &public_client),
               ERR_NOT_FOUND);
    assert_err(store_app_by_client_id(f->s, app.name, &f->a, &got, &hash, &public_client),
               ERR_NOT_FOUND);
}

/* A new store has the built-in web app: a public client, the same one after a reopen, and
 * a token through it resolves to it. */
static void test_web_app_exists(void **state)
{
    struct fixture *f = *state;
    struct app web;
    const char *hash = NULL;
    bool public_client = false;
    assert_err(store_app_by_client_id(f->s, WEB_APP_CLIENT_ID, &f->a, &web, &hash, &public_client),
               ERR_OK);
    assert_true(public_client);
    assert_string_equal(web.client_id, WEB_APP_CLIENT_ID);
    assert_non_null(web.name);
    char parsed[ID_LEN + 1];
    assert_true(id_parse(web.id, ID_APP, parsed));

    struct user u = add_user(f, NULL);
    struct token_rec t = add_token(f, u.id, web.id, clock_now_ms() + HOUR_MS, NULL);
    struct principal p;
    assert_err(store_token_principal(f->s, t.hash, clock_now_ms(), &f->a, &p), ERR_OK);
    assert_app_eq(&web, &p.app);

    reopen(f);
    struct app again;
    public_client = false;
    assert_err(
        store_app_by_client_id(f->s, WEB_APP_CLIENT_ID, &f->a, &again, &hash, &public_client),
        ERR_OK);
    assert_true(public_client);
    assert_app_eq(&web, &again);
}

static void test_user_set_password(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL), other = add_user(f, NULL);
    struct user got;

    const char *hash = "$scrypt$ln=15,r=8,p=1$bmV3$Tk VXIGhhc2ggw6k";
    assert_err(store_user_set_password(f->s, u.id, hash), ERR_OK);
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    u.password_hash = hash;
    assert_user_eq(&u, &got, true);
    assert_err(store_user_by_name(f->s, u.username, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);

    /* NULL removes it */
    assert_err(store_user_set_password(f->s, u.id, NULL), ERR_OK);
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    assert_null(got.password_hash);
    assert_err(store_user_set_password(f->s, u.id, hash), ERR_OK);
    assert_err(store_user_get(f->s, u.id, &f->a, &got), ERR_OK);
    assert_user_eq(&u, &got, true);

    /* only that user's */
    assert_err(store_user_get(f->s, other.id, &f->a, &got), ERR_OK);
    assert_user_eq(&other, &got, true);
    struct user ghost = make_user(&f->a, NULL);
    assert_err(store_user_set_password(f->s, ghost.id, hash), ERR_NOT_FOUND);
    assert_err(store_user_get(f->s, ghost.id, &f->a, &got), ERR_NOT_FOUND);
}

static struct token_rec add_token_from(struct fixture *f, const char *user_id, const char *app_id,
                                       const char *refresh_hash)
{
    struct token_rec t = {0};
    char *hash = arena_alloc(&f->a, HASH_LEN + 1);
    fake_hash(hash);
    t.hash = hash;
    id_copy(t.user_id, user_id);
    id_copy(t.app_id, app_id);
    t.expires_ms = clock_now_ms() + HOUR_MS;
    t.refresh_hash = refresh_hash;
    assert_err(store_token_add(f->s, &t), ERR_OK);
    return t;
}

static void test_refresh_tokens(void **state)
{
    struct fixture *f = *state;
    struct user u = add_user(f, NULL), v = add_user(f, NULL);
    struct app app = add_app(f), other = add_app(f);
    char r1[HASH_LEN + 1], r2[HASH_LEN + 1], ghost[HASH_LEN + 1];
    fake_hash(r1);
    fake_hash(r2);
    fake_hash(ghost);
    assert_err(store_refresh_add(f->s, r1, u.id, app.id), ERR_OK);
    assert_err(store_refresh_add(f->s, r2, v.id, other.id), ERR_OK);

    char user_id[ID_LEN + 1], app_id[ID_LEN + 1];
    assert_err(store_refresh_get(f->s, r1, user_id, app_id), ERR_OK);
    assert_string_equal(user_id, u.id);
    assert_string_equal(app_id, app.id);
    assert_err(store_refresh_get(f->s, r2, user_id, app_id), ERR_OK);
    assert_string_equal(user_id, v.id);
    assert_string_equal(app_id, other.id);
    assert_err(store_refresh_get(f->s, ghost, user_id, app_id), ERR_SESSION);
    /* an access token is not a refresh token */
    struct token_rec plain = add_token_from(f, u.id, app.id, NULL);
    assert_err(store_refresh_get(f->s, plain.hash, user_id, app_id), ERR_SESSION);

    /* access tokens that came with r1 (the first, and one from a refresh) and with r2 */
    struct token_rec a1 = add_token_from(f, u.id, app.id, r1);
    struct token_rec a2 = add_token_from(f, u.id, app.id, r1);
    struct token_rec b1 = add_token_from(f, v.id, other.id, r2);
    int64_t now = clock_now_ms();
    struct principal p;
    assert_err(store_token_principal(f->s, a1.hash, now, &f->a, &p), ERR_OK);
    assert_user_eq(&u, &p.user, false);

    /* revoking an access token leaves its refresh token */
    assert_err(store_token_revoke(f->s, a2.hash), ERR_OK);
    assert_err(store_token_principal(f->s, a2.hash, now, &f->a, &p), ERR_SESSION);
    assert_err(store_token_principal(f->s, a1.hash, now, &f->a, &p), ERR_OK);
    assert_err(store_refresh_get(f->s, r1, user_id, app_id), ERR_OK);

    /* revoking the refresh token revokes it and every access token from it */
    assert_err(store_token_revoke(f->s, r1), ERR_OK);
    assert_err(store_refresh_get(f->s, r1, user_id, app_id), ERR_SESSION);
    assert_err(store_token_principal(f->s, a1.hash, now, &f->a, &p), ERR_SESSION);
    assert_err(store_token_principal(f->s, a2.hash, now, &f->a, &p), ERR_SESSION);
    /* and nothing else */
    assert_err(store_token_principal(f->s, plain.hash, now, &f->a, &p), ERR_OK);
    assert_err(store_token_principal(f->s, b1.hash, now, &f->a, &p), ERR_OK);
    assert_user_eq(&v, &p.user, false);
    assert_err(store_refresh_get(f->s, r2, user_id, app_id), ERR_OK);
    /* a revoked token still exists; an unknown one does not */
    assert_err(store_token_revoke(f->s, r1), ERR_OK);
    assert_err(store_token_revoke(f->s, ghost), ERR_NOT_FOUND);

    reopen(f);
    assert_err(store_refresh_get(f->s, r1, user_id, app_id), ERR_SESSION);
    assert_err(store_refresh_get(f->s, r2, user_id, app_id), ERR_OK);
    assert_err(store_token_principal(f->s, a1.hash, now, &f->a, &p), ERR_SESSION);
    assert_err(store_token_principal(f->s, b1.hash, now, &f->a, &p), ERR_OK);
}

/* ======================================================================================
 * The feed
 * ====================================================================================== */

static struct feed_item make_item(struct arena *a, const char *actor, const char *subject,
                                  int64_t created_ms)
{
    struct feed_item it = {0};
    id_new(ID_FEED_ITEM, it.id);
    id_copy(it.actor_id, actor);
    id_copy(it.subject_id, subject);
    it.text = arena_printf(a, "Please approve ☃ \"%s\"\nline two", it.id);
    it.segments_json = arena_printf(
        a, "[{\"type\":\"Text\",\"text\":\"Please approve ☃ \\\"%s\\\"\\nline two\"}]", it.id);
    it.created_ms = created_ms;
    return it;
}

static void assert_item_eq(const struct feed_item *want, const struct feed_item *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->actor_id, got->actor_id);
    assert_string_equal(want->subject_id, got->subject_id);
    assert_string_equal(want->text, got->text);
    assert_string_equal(want->segments_json, got->segments_json);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->n_groups, got->n_groups);
    for (size_t i = 0; i < want->n_groups; i++)
        assert_string_equal(want->group_ids[i], got->group_ids[i]);
}

static void test_feed_item_round_trip(void **state)
{
    struct fixture *f = *state;
    struct user actor = add_user(f, NULL), subject = add_user(f, NULL);
    struct group g[FEED_MAX_GROUPS];
    for (size_t i = 0; i < FEED_MAX_GROUPS; i++)
        g[i] = add_group(f, 1, POLICY_ONCE);
    int64_t now = clock_now_ms();

    /* the groups in an order of their own, not the order of their ids */
    struct feed_item full = make_item(&f->a, actor.id, subject.id, now);
    full.n_groups = FEED_MAX_GROUPS;
    for (size_t i = 0; i < FEED_MAX_GROUPS; i++)
        id_copy(full.group_ids[i], g[(i * 7 + 3) % FEED_MAX_GROUPS].id);
    assert_err(store_feed_item_create(f->s, &full), ERR_OK);
    struct feed_item bare = make_item(&f->a, actor.id, actor.id, now + 1);
    assert_err(store_feed_item_create(f->s, &bare), ERR_OK);

    struct feed_item got;
    assert_err(store_feed_item_get(f->s, full.id, &f->a, &got), ERR_OK);
    assert_item_eq(&full, &got);
    assert_err(store_feed_item_get(f->s, bare.id, &f->a, &got), ERR_OK);
    assert_item_eq(&bare, &got);
    struct feed_item ghost = make_item(&f->a, actor.id, actor.id, now);
    assert_err(store_feed_item_get(f->s, ghost.id, &f->a, &got), ERR_NOT_FOUND);

    /* a deleted group is gone from the item; the others keep their order */
    const char *doomed = full.group_ids[4];
    assert_err(store_group_delete(f->s, doomed), ERR_OK);
    memmove(&full.group_ids[4], &full.group_ids[5], (FEED_MAX_GROUPS - 5) * sizeof(idbuf));
    full.n_groups--;
    assert_err(store_feed_item_get(f->s, full.id, &f->a, &got), ERR_OK);
    assert_item_eq(&full, &got);

    /* deleting an item deletes that item, not its groups */
    assert_err(store_feed_item_delete(f->s, full.id), ERR_OK);
    assert_err(store_feed_item_get(f->s, full.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_feed_item_get(f->s, bare.id, &f->a, &got), ERR_OK);
    assert_item_eq(&bare, &got);
    struct group gg;
    assert_err(store_group_get(f->s, full.group_ids[0], &f->a, &gg), ERR_OK);

    reopen(f);
    assert_err(store_feed_item_get(f->s, full.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_feed_item_get(f->s, bare.id, &f->a, &got), ERR_OK);
    assert_item_eq(&bare, &got);
}

/* newest first: created_ms descending, then id descending (byte order) */
static int item_newer_first(const void *pa, const void *pb)
{
    const struct feed_item *a = pa, *b = pb;
    if (a->created_ms != b->created_ms)
        return a->created_ms > b->created_ms ? -1 : 1;
    return -strcmp(a->id, b->id);
}

enum { N_ITEMS = 9, FEED_PAGE = 3 };

static void test_feed_page(void **state)
{
    struct fixture *f = *state;
    struct user actor = add_user(f, NULL);
    struct group g1 = add_group(f, 1, POLICY_ONCE), g2 = add_group(f, 1, POLICY_ONCE);
    /* in the future, so that these are the newest items in any database */
    int64_t base = clock_now_ms() + 1000 * (int64_t)HOUR_MS;
    static const int64_t offset[N_ITEMS] = {3, 1, 3, 0, 2, 3, 1, 3, 3};
    struct feed_item want[N_ITEMS];
    for (size_t i = 0; i < N_ITEMS; i++)
        want[i] = make_item(&f->a, actor.id, actor.id, base + offset[i]);
    /* ids that differ only in case, at one time: byte order puts 'B' before 'a' (a
     * collation of the database's locale would not). A first digit of 'z' is an id time
     * no id_new makes for centuries, so these collide with no other id. */
    want[7].id[3] = 'z';
    want[7].id[ID_LEN - 1] = 'a';
    memcpy(want[8].id, want[7].id, sizeof(idbuf));
    want[8].id[ID_LEN - 1] = 'B';
    want[2].n_groups = 2;
    id_copy(want[2].group_ids[0], g2.id);
    id_copy(want[2].group_ids[1], g1.id);
    want[6].n_groups = 1;
    id_copy(want[6].group_ids[0], g1.id);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_err(store_feed_item_create(f->s, &want[i]), ERR_OK);
    qsort(want, N_ITEMS, sizeof(want[0]), item_newer_first);

    /* the walk from the newest, a page at a time, gives each item once, in order */
    struct feed_item *page;
    size_t n = 99, seen = 0;
    assert_err(store_feed_page(f->s, 0, NULL, FEED_PAGE, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, FEED_PAGE);
    for (int pages = 0; n > 0 && seen < N_ITEMS; pages++) {
        assert_true(pages < N_ITEMS);
        assert_true(n <= FEED_PAGE);
        for (size_t i = 0; i < n && seen < N_ITEMS; i++)
            assert_item_eq(&want[seen++], &page[i]);
        const struct feed_item *last = &page[n - 1];
        assert_err(store_feed_page(f->s, last->created_ms, last->id, FEED_PAGE, &f->a, &page, &n),
                   ERR_OK);
    }
    assert_int_equal(seen, N_ITEMS);
    /* whatever follows is older */
    for (size_t i = 0; i < n; i++)
        assert_true(page[i].created_ms < base);

    /* from the middle of a run of equal times */
    size_t mid = 1;
    assert_int_equal(want[mid].created_ms, want[mid + 1].created_ms);
    assert_err(
        store_feed_page(f->s, want[mid].created_ms, want[mid].id, FEED_PAGE, &f->a, &page, &n),
        ERR_OK);
    assert_int_equal(n, FEED_PAGE);
    for (size_t i = 0; i < n; i++)
        assert_item_eq(&want[mid + 1 + i], &page[i]);
    /* no room: nothing */
    assert_err(store_feed_page(f->s, 0, NULL, 0, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 0);

    /* a deleted group is gone from the items on a page too */
    assert_err(store_group_delete(f->s, g1.id), ERR_OK);
    assert_err(store_feed_page(f->s, 0, NULL, N_ITEMS, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, N_ITEMS);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < page[i].n_groups; j++)
            assert_string_not_equal(page[i].group_ids[j], g1.id);
        assert_string_equal(page[i].id, want[i].id);
        size_t want_groups = 0;
        for (size_t j = 0; j < want[i].n_groups; j++)
            want_groups += strcmp(want[i].group_ids[j], g1.id) != 0;
        assert_int_equal(page[i].n_groups, want_groups);
    }
    /* and a deleted item is gone from the walk */
    assert_err(store_feed_item_delete(f->s, want[0].id), ERR_OK);
    assert_err(store_feed_page(f->s, 0, NULL, 1, &f->a, &page, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(page[0].id, want[1].id);
}

/* ======================================================================================
 * Templates
 * ====================================================================================== */

static struct group_template make_gtemplate(struct arena *a, const char *creator_id, bool published)
{
    struct group_template t = {0};
    int64_t now = clock_now_ms();
    id_new(ID_GROUP_TEMPLATE, t.id);
    t.developer_name = arena_printf(a, "Approval_%s", t.id);
    t.master_label = arena_printf(a, "Approval ☃ \"%s\"", t.id);
    t.category = CATEGORY_PRIMARY;
    t.policy = POLICY_ONCE_PER_USER;
    t.hours_until_expiration = 24;
    t.published = published;
    id_copy(t.creator_id, creator_id);
    t.created_ms = now;
    t.modified_ms = now + 1;
    return t;
}

static struct group_template add_gtemplate(struct fixture *f, bool published)
{
    struct user u = add_user(f, NULL);
    struct group_template t = make_gtemplate(&f->a, u.id, published);
    assert_err(store_gtemplate_create(f->s, &t), ERR_OK);
    return t;
}

static void assert_gtemplate_eq(const struct group_template *want, const struct group_template *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->developer_name, got->developer_name);
    assert_string_equal(want->master_label, got->master_label);
    assert_int_equal(want->category, got->category);
    assert_int_equal(want->policy, got->policy);
    assert_int_equal(want->hours_until_expiration, got->hours_until_expiration);
    assert_int_equal(want->published, got->published);
    assert_string_equal(want->creator_id, got->creator_id);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->modified_ms, got->modified_ms);
}

/* Every field set, or (bare) every optional one absent. */
static struct link_template make_ltemplate(struct arena *a, const char *group_template_id,
                                           int position, bool bare)
{
    struct link_template t = {0};
    int64_t now = clock_now_ms();
    id_new(ID_LINK_TEMPLATE, t.id);
    id_copy(t.group_template_id, group_template_id);
    t.action_url =
        arena_printf(a, "https://api.example.com/{!Bindings.id}/%d?u={!userId}", position);
    t.headers = bare ? NULL : "Content-Type: application/json\nX-Who: {!userId} ☃";
    t.requires_confirmation = !bare;
    t.group_default = position == 0;
    t.label = bare ? NULL : "Ship it";
    t.label_key = bare ? "Approve" : "None";
    t.type = bare ? ACTION_UI : ACTION_API;
    t.method = bare ? METHOD_GET : METHOD_POST;
    t.position = position;
    t.request_body = bare ? NULL : "{\"id\":\"{!Bindings.id}\",\"q\":\"'\\\"\"}";
    t.user_alias = bare ? NULL : "Approver";
    t.visibility = bare ? VISIBILITY_EVERYONE : VISIBILITY_CUSTOM_USER;
    t.created_ms = now + position;
    t.modified_ms = now + 100 + position;
    return t;
}

static void assert_ltemplate_eq(const struct link_template *want, const struct link_template *got)
{
    assert_string_equal(want->id, got->id);
    assert_string_equal(want->group_template_id, got->group_template_id);
    assert_string_equal(want->action_url, got->action_url);
    assert_str_or_null(want->headers, got->headers);
    assert_int_equal(want->requires_confirmation, got->requires_confirmation);
    assert_int_equal(want->group_default, got->group_default);
    assert_str_or_null(want->label, got->label);
    assert_string_equal(want->label_key, got->label_key);
    assert_int_equal(want->type, got->type);
    assert_int_equal(want->method, got->method);
    assert_int_equal(want->position, got->position);
    assert_str_or_null(want->request_body, got->request_body);
    assert_str_or_null(want->user_alias, got->user_alias);
    assert_int_equal(want->visibility, got->visibility);
    assert_int_equal(want->created_ms, got->created_ms);
    assert_int_equal(want->modified_ms, got->modified_ms);
}

static void test_gtemplate_round_trip(void **state)
{
    struct fixture *f = *state;
    struct group_template t = add_gtemplate(f, false);
    struct group_template got;
    assert_err(store_gtemplate_get(f->s, t.id, &f->a, &got), ERR_OK);
    assert_gtemplate_eq(&t, &got);

    /* made by the CLI: no creator, no expiration, published from the start */
    struct group_template cli = make_gtemplate(&f->a, NULL, true);
    cli.hours_until_expiration = -1;
    cli.category = CATEGORY_OVERFLOW;
    cli.policy = POLICY_UNLIMITED;
    assert_err(store_gtemplate_create(f->s, &cli), ERR_OK);
    assert_err(store_gtemplate_get(f->s, cli.id, &f->a, &got), ERR_OK);
    assert_gtemplate_eq(&cli, &got);

    /* the DeveloperName is unique */
    struct group_template dup = make_gtemplate(&f->a, t.creator_id, false);
    dup.developer_name = t.developer_name;
    assert_err(store_gtemplate_create(f->s, &dup), ERR_EXISTS);
    assert_err(store_gtemplate_get(f->s, dup.id, &f->a, &got), ERR_NOT_FOUND);

    /* an update writes every field */
    t.developer_name = arena_printf(&f->a, "Renamed_%s", t.id);
    t.master_label = "Renamed";
    t.category = CATEGORY_OVERFLOW;
    t.policy = POLICY_ONCE;
    t.hours_until_expiration = 72;
    t.published = true;
    t.modified_ms += 1000;
    assert_err(store_gtemplate_update(f->s, &t), ERR_OK);
    assert_err(store_gtemplate_get(f->s, t.id, &f->a, &got), ERR_OK);
    assert_gtemplate_eq(&t, &got);
    /* its old name is free again; another's is not */
    dup.developer_name = arena_printf(&f->a, "Approval_%s", t.id);
    assert_err(store_gtemplate_create(f->s, &dup), ERR_OK);
    struct group_template clash = t;
    clash.developer_name = cli.developer_name;
    clash.master_label = "clash";
    assert_err(store_gtemplate_update(f->s, &clash), ERR_EXISTS);
    assert_err(store_gtemplate_get(f->s, t.id, &f->a, &got), ERR_OK);
    assert_gtemplate_eq(&t, &got);

    struct group_template ghost = make_gtemplate(&f->a, NULL, false);
    assert_err(store_gtemplate_get(f->s, ghost.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_gtemplate_update(f->s, &ghost), ERR_NOT_FOUND);
    assert_err(store_gtemplate_delete(f->s, ghost.id), ERR_NOT_FOUND);

    reopen(f);
    assert_err(store_gtemplate_get(f->s, t.id, &f->a, &got), ERR_OK);
    assert_gtemplate_eq(&t, &got);
}

static void test_ltemplate_round_trip(void **state)
{
    struct fixture *f = *state;
    struct group_template gt = add_gtemplate(f, false), empty = add_gtemplate(f, false);
    /* written out of position order */
    struct link_template lt[3] = {make_ltemplate(&f->a, gt.id, 2, false),
                                  make_ltemplate(&f->a, gt.id, 0, true),
                                  make_ltemplate(&f->a, gt.id, 1, false)};
    for (size_t i = 0; i < 3; i++)
        assert_err(store_ltemplate_create(f->s, &lt[i]), ERR_OK);

    struct link_template got, *all;
    size_t n = 99;
    for (size_t i = 0; i < 3; i++) {
        assert_err(store_ltemplate_get(f->s, lt[i].id, &f->a, &got), ERR_OK);
        assert_ltemplate_eq(&lt[i], &got);
    }
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_ltemplate_eq(&lt[1], &all[0]);
    assert_ltemplate_eq(&lt[2], &all[1]);
    assert_ltemplate_eq(&lt[0], &all[2]);
    assert_err(store_ltemplates_of(f->s, empty.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(all);

    /* an update writes every field */
    struct link_template up = make_ltemplate(&f->a, gt.id, 3, true);
    id_copy(up.id, lt[0].id);
    up.created_ms = lt[0].created_ms;
    up.modified_ms = lt[0].modified_ms + 1000;
    up.visibility = VISIBILITY_MANAGER;
    up.type = ACTION_DOWNLOAD;
    assert_err(store_ltemplate_update(f->s, &up, NULL, 0), ERR_OK);
    assert_err(store_ltemplate_get(f->s, up.id, &f->a, &got), ERR_OK);
    assert_ltemplate_eq(&up, &got);
    lt[1].position = 4;
    lt[1].headers = "X-Now: set";
    lt[1].label = "Now labelled";
    lt[1].label_key = "None";
    lt[1].request_body = "";
    lt[1].user_alias = "Boss";
    lt[1].modified_ms += 5;
    assert_err(store_ltemplate_update(f->s, &lt[1], NULL, 0), ERR_OK);
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 3);
    assert_ltemplate_eq(&lt[2], &all[0]);
    assert_ltemplate_eq(&up, &all[1]);
    assert_ltemplate_eq(&lt[1], &all[2]);

    struct link_template ghost = make_ltemplate(&f->a, gt.id, 0, false);
    assert_err(store_ltemplate_get(f->s, ghost.id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_ltemplate_update(f->s, &ghost, NULL, 0), ERR_NOT_FOUND);
    assert_err(store_ltemplate_delete(f->s, ghost.id), ERR_NOT_FOUND);

    assert_err(store_ltemplate_delete(f->s, lt[2].id), ERR_OK);
    assert_err(store_ltemplate_get(f->s, lt[2].id, &f->a, &got), ERR_NOT_FOUND);
    assert_err(store_ltemplate_delete(f->s, lt[2].id), ERR_NOT_FOUND);
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_ltemplate_eq(&up, &all[0]);
    assert_ltemplate_eq(&lt[1], &all[1]);
}

/* A published group template's links are fixed: no link template is added or removed. */
static void test_ltemplate_published_conflicts(void **state)
{
    struct fixture *f = *state;
    struct group_template pub = add_gtemplate(f, true);
    struct link_template lt = make_ltemplate(&f->a, pub.id, 0, false);
    struct link_template got, *all;
    size_t n;
    assert_err(store_ltemplate_create(f->s, &lt), ERR_CONFLICT);
    assert_err(store_ltemplate_get(f->s, lt.id, &f->a, &got), ERR_NOT_FOUND);

    /* nor under a group template that is not there */
    struct group_template ghost = make_gtemplate(&f->a, NULL, false);
    struct link_template orphan = make_ltemplate(&f->a, ghost.id, 0, false);
    assert_err(store_ltemplate_create(f->s, &orphan), ERR_CONFLICT);
    assert_err(store_ltemplate_get(f->s, orphan.id, &f->a, &got), ERR_NOT_FOUND);

    /* made while a draft, then published */
    struct group_template gt = add_gtemplate(f, false);
    struct link_template kept = make_ltemplate(&f->a, gt.id, 0, false);
    assert_err(store_ltemplate_create(f->s, &kept), ERR_OK);
    gt.published = true;
    assert_err(store_gtemplate_update(f->s, &gt), ERR_OK);
    struct link_template more = make_ltemplate(&f->a, gt.id, 1, false);
    assert_err(store_ltemplate_create(f->s, &more), ERR_CONFLICT);
    assert_err(store_ltemplate_delete(f->s, kept.id), ERR_CONFLICT);
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_ltemplate_eq(&kept, &all[0]);

    /* a draft again: both are allowed */
    gt.published = false;
    assert_err(store_gtemplate_update(f->s, &gt), ERR_OK);
    assert_err(store_ltemplate_create(f->s, &more), ERR_OK);
    assert_err(store_ltemplate_delete(f->s, kept.id), ERR_OK);
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_ltemplate_eq(&more, &all[0]);
}

/* Link templates added while the group template is being published: none lands after the
 * publish is done. */
struct lt_adder {
    pthread_barrier_t *start;
    struct store *s;
    struct link_template t;           /* to add; unless publishing */
    const struct group_template *pub; /* to publish, and then list */
    struct arena a;
    struct link_template *listed;
    size_t n_listed;
    enum err result;
};

static void *lt_adder_main(void *arg)
{
    struct lt_adder *x = arg;
    pthread_barrier_wait(x->start);
    if (!x->pub) {
        x->result = store_ltemplate_create(x->s, &x->t);
        return NULL;
    }
    x->result = store_gtemplate_update(x->s, x->pub);
    if (x->result == ERR_OK)
        x->result = store_ltemplates_of(x->s, x->pub->id, &x->a, &x->listed, &x->n_listed);
    return NULL;
}

static void test_ltemplate_race_with_publish(void **state)
{
    struct fixture *f = *state;
    struct group_template gt = add_gtemplate(f, false);
    struct group_template published = gt;
    published.published = true;
    published.modified_ms += 1;

    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_RACERS), 0);
    struct lt_adder *x = calloc(N_RACERS, sizeof(*x));
    assert_non_null(x);
    size_t publisher = N_RACERS / 2;
    for (size_t i = 0; i < N_RACERS; i++) {
        x[i].start = &start;
        x[i].s = f->s;
        x[i].result = ERR_INTERNAL;
        arena_init(&x[i].a);
        if (i == publisher)
            x[i].pub = &published;
        else
            x[i].t = make_ltemplate(&f->a, gt.id, (int)i, i % 2);
    }
    run_threads(N_RACERS, lt_adder_main, x, sizeof(x[0]));
    pthread_barrier_destroy(&start);

    assert_err(x[publisher].result, ERR_OK);
    size_t added = 0;
    for (size_t i = 0; i < N_RACERS; i++) {
        if (i == publisher)
            continue;
        if (x[i].result != ERR_OK && x[i].result != ERR_CONFLICT)
            fail_msg("adder %zu: %s", i, err_code(x[i].result));
        added += x[i].result == ERR_OK;
    }
    struct link_template *all;
    size_t n;
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    /* exactly the ones that succeeded, all of them there when the publish was done */
    assert_int_equal(n, added);
    assert_int_equal(x[publisher].n_listed, added);
    for (size_t i = 0; i < N_RACERS; i++) {
        if (i == publisher)
            continue;
        struct link_template got;
        assert_err(store_ltemplate_get(f->s, x[i].t.id, &f->a, &got),
                   x[i].result == ERR_OK ? ERR_OK : ERR_NOT_FOUND);
    }
    struct link_template late = make_ltemplate(&f->a, gt.id, 99, false);
    assert_err(store_ltemplate_create(f->s, &late), ERR_CONFLICT);
    for (size_t i = 0; i < N_RACERS; i++)
        arena_cleanup(&x[i].a);
    free(x);
}

/* A group made from a template: its template_id, its bindings, and links from the link
 * templates. link k of g comes from lt[k] (NULL: a link of no template). */
static struct group add_group_from(struct fixture *f, const struct group_template *gt,
                                   const struct link_template *const *lt, size_t n,
                                   const char *bindings_json)
{
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct group g = make_group(&f->a, n, gt->policy, u.id, app.id, NULL);
    id_copy(g.template_id, gt->id);
    g.bindings_json = bindings_json;
    for (size_t i = 0; i < n; i++)
        id_copy(g.links[i].template_id, lt[i] ? lt[i]->id : NULL);
    assert_err(store_group_create(f->s, &g), ERR_OK);
    return g;
}

static const struct link *link_of(const struct group *g, const char *link_id)
{
    for (size_t i = 0; i < g->n_links; i++)
        if (strcmp(g->links[i].id, link_id) == 0)
            return &g->links[i];
    fail_msg("link %s is not in group %s", link_id, g->id);
    return NULL;
}

static void test_ltemplate_update_rerenders_links(void **state)
{
    struct fixture *f = *state;
    struct group_template gt = add_gtemplate(f, false);
    struct link_template lt = make_ltemplate(&f->a, gt.id, 0, false);
    struct link_template other = make_ltemplate(&f->a, gt.id, 1, false);
    struct link_template unused = make_ltemplate(&f->a, gt.id, 2, false);
    assert_err(store_ltemplate_create(f->s, &lt), ERR_OK);
    assert_err(store_ltemplate_create(f->s, &other), ERR_OK);
    assert_err(store_ltemplate_create(f->s, &unused), ERR_OK);
    const struct link_template *from[] = {&lt, &other, NULL};
    struct group g1 = add_group_from(f, &gt, from, 3, "{\"id\":\"1\"}");
    struct group g2 = add_group_from(f, &gt, from, 3, "{\"id\":\"2 ☃\"}");

    struct templated_link *tl;
    size_t n = 99;
    assert_err(store_links_of_template(f->s, lt.id, &f->a, &tl, &n), ERR_OK);
    assert_int_equal(n, 2);
    const struct group *groups[] = {&g1, &g2};
    for (size_t k = 0; k < 2; k++) {
        const struct templated_link *match = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(tl[i].link_id, groups[k]->links[0].id) == 0)
                match = &tl[i];
        assert_non_null(match);
        assert_string_equal(match->group_id, groups[k]->id);
        assert_str_or_null(groups[k]->bindings_json, match->bindings_json);
    }
    assert_err(store_links_of_template(f->s, unused.id, &f->a, &tl, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(tl);
    struct group got;
    assert_err(store_group_get(f->s, g1.id, &f->a, &got), ERR_OK);
    assert_group_eq(&g1, &got);
    assert_str_or_null(g1.bindings_json, got.bindings_json);

    /* the edit, with the texts of both links made from it */
    lt.action_url = "https://api2.example.com/v2/{!Bindings.id}";
    lt.headers = "Authorization: Bearer x\nX-Extra: ☃";
    lt.request_body = NULL;
    lt.modified_ms += 1000;
    struct header h1[] = {{"Authorization", "Bearer x"}, {"X-Extra", "☃"}};
    struct link_render render[] = {
        {.action_url = "https://api2.example.com/v2/1",
         .headers = h1,
         .n_headers = 2,
         .request_body = NULL},
        {.action_url = "https://api2.example.com/v2/2%20%E2%98%83",
         .headers = NULL,
         .n_headers = 0,
         .request_body = "{\"id\":\"2 ☃\"}"},
    };
    id_copy(render[0].link_id, g1.links[0].id);
    id_copy(render[1].link_id, g2.links[0].id);
    assert_err(store_ltemplate_update(f->s, &lt, render, 2), ERR_OK);

    struct link_template got_lt;
    assert_err(store_ltemplate_get(f->s, lt.id, &f->a, &got_lt), ERR_OK);
    assert_ltemplate_eq(&lt, &got_lt);
    for (size_t k = 0; k < 2; k++) {
        assert_err(store_group_get(f->s, groups[k]->id, &f->a, &got), ERR_OK);
        const struct link *was = &groups[k]->links[0];
        const struct link *now = link_of(&got, was->id);
        assert_string_equal(now->action_url, render[k].action_url);
        assert_int_equal(now->n_headers, render[k].n_headers);
        for (size_t i = 0; i < render[k].n_headers; i++) {
            assert_string_equal(now->headers[i].name, render[k].headers[i].name);
            assert_string_equal(now->headers[i].value, render[k].headers[i].value);
        }
        assert_str_or_null(render[k].request_body, now->request_body);
        /* the rest of the link, and the other links, are as they were */
        assert_int_equal(now->type, was->type);
        assert_int_equal(now->method, was->method);
        assert_int_equal(now->position, was->position);
        assert_string_equal(now->label_key, was->label_key);
        assert_string_equal(now->template_id, lt.id);
        assert_int_equal(now->created_ms, was->created_ms);
        for (size_t i = 1; i < groups[k]->n_links; i++)
            assert_link_eq(&groups[k]->links[i], link_of(&got, groups[k]->links[i].id));
    }
    /* an update under a published group template is allowed (its links stay the same) */
    gt.published = true;
    assert_err(store_gtemplate_update(f->s, &gt), ERR_OK);
    other.label = "Relabelled";
    other.modified_ms += 1;
    assert_err(store_ltemplate_update(f->s, &other, NULL, 0), ERR_OK);
    assert_err(store_ltemplate_get(f->s, other.id, &f->a, &got_lt), ERR_OK);
    assert_ltemplate_eq(&other, &got_lt);
}

/* Group definitions kept in memory (store_keep_definitions) are never older than what
 * the database says: a template's edit and a deletion by another handle on the same
 * database (another process, for the store) count at the next read. */
static void test_definitions_kept(void **state)
{
    struct fixture *f = *state;
    store_keep_definitions(f->s, 1 << 20);
    struct store *other = open_again(f->location);
    struct group_template gt = add_gtemplate(f, false);
    struct link_template lt = make_ltemplate(&f->a, gt.id, 0, false);
    assert_err(store_ltemplate_create(f->s, &lt), ERR_OK);
    const struct link_template *from[] = {&lt, NULL, NULL};
    struct group g = add_group_from(f, &gt, from, 3, "{\"id\":\"1\"}");
    struct group big = add_group(f, GROUP_MAX_LINKS, POLICY_ONCE);
    struct group got;
    size_t index;
    int64_t epoch;
    uint64_t found, missed, found0, missed0;

    /* read in snapshots, twice each: the second time from memory, and the same */
    store_definitions_counts(f->s, &found0, &missed0);
    for (int round = 0; round < 2; round++) {
        store_snapshot_begin(f->s);
        assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
        for (size_t i = 0; i < big.n_links; i++) {
            assert_err(store_link_group(f->s, big.links[i].id, &f->a, &got, &index), ERR_OK);
            assert_group_eq(&big, &got);
            assert_string_equal(got.links[index].id, big.links[i].id);
        }
        assert_err(store_link_group(f->s, g.links[0].id, &f->a, &got, &index), ERR_OK);
        assert_group_eq(&g, &got);
        assert_str_or_null(g.bindings_json, got.bindings_json);
        store_snapshot_end(f->s);
    }
    store_definitions_counts(f->s, &found, &missed);
    assert_int_equal(missed - missed0, 2); /* one read per group */
    assert_int_equal(found - found0, 2 * (big.n_links + 1) - 2);

    /* the template's edit, by the other handle, rewrites the link; read outside a
     * snapshot, every read sees it at once */
    lt.action_url = "https://api2.example.com/v2/{!Bindings.id}";
    lt.modified_ms += 1000;
    struct header h[] = {{"X-Edited", "yes"}};
    struct link_render render = {.action_url = "https://api2.example.com/v2/1", .headers = h,
                                 .n_headers = 1, .request_body = NULL};
    id_copy(render.link_id, g.links[0].id);
    assert_err(store_ltemplate_update(other, &lt, &render, 1), ERR_OK);
    assert_err(store_link_group(f->s, g.links[0].id, &f->a, &got, &index), ERR_OK);
    assert_string_equal(got.links[index].action_url, render.action_url);
    assert_int_equal(got.links[index].n_headers, 1);
    assert_string_equal(got.links[index].headers[0].value, "yes");

    /* Snapshots that may reuse a transaction for a minute: another handle's deletion is
     * not seen by a reused one (that is the reuse), a fresh one sees it; and a write
     * through this handle ends the reuse at once. */
    store_snapshot_reuse_ms(f->s, 60000);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_link_group(f->s, big.links[1].id, &f->a, &got, &index), ERR_OK);
    store_snapshot_end(f->s);
    assert_err(store_group_delete(other, big.id), ERR_OK);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_link_group(f->s, big.links[1].id, &f->a, &got, &index), ERR_OK);
    store_snapshot_end(f->s);
    store_snapshot_begin_fresh(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    for (size_t i = 0; i < big.n_links; i++)
        assert_err(store_link_group(f->s, big.links[i].id, &f->a, &got, &index), ERR_NOT_FOUND);
    store_snapshot_end(f->s);

    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_link_group(f->s, g.links[1].id, &f->a, &got, &index), ERR_OK);
    store_snapshot_end(f->s);
    assert_err(store_group_delete(f->s, g.id), ERR_OK);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    for (size_t i = 0; i < g.n_links; i++)
        assert_err(store_link_group(f->s, g.links[i].id, &f->a, &got, &index), ERR_NOT_FOUND);
    store_snapshot_end(f->s);

    /* so is a token revoked through it, though the snapshots before read the auth epoch
     * from one transaction */
    struct user u = add_user(f, NULL);
    struct app app = add_app(f);
    struct token_rec t = add_token(f, u.id, app.id, clock_now_ms() + HOUR_MS, NULL);
    int64_t before, after;
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &before), ERR_OK);
    store_snapshot_end(f->s);
    assert_err(store_token_revoke(f->s, t.hash), ERR_OK);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &after), ERR_OK);
    store_snapshot_end(f->s);
    assert_true(after != before);

    /* with the default (2 ms), the other handle's writes are seen once 2 ms are past */
    store_snapshot_reuse_ms(f->s, 2);
    struct group late = add_group(f, 2, POLICY_ONCE);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_link_group(f->s, late.links[0].id, &f->a, &got, &index), ERR_OK);
    store_snapshot_end(f->s);
    assert_err(store_group_delete(other, late.id), ERR_OK);
    usleep(5 * 1000);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_link_group(f->s, late.links[0].id, &f->a, &got, &index), ERR_NOT_FOUND);
    store_snapshot_end(f->s);
    store_close(other);
}

/* Executions of scopes kept in memory: an answer (an execution, or none) is used only
 * while no execution changed anywhere; a change by another handle or by this one is seen
 * by the next fresh snapshot, and by a reused one when it was this handle's. */
static void test_executions_kept(void **state)
{
    struct fixture *f = *state;
    store_keep_definitions(f->s, 1 << 20);
    struct store *other = open_again(f->location);
    struct group g = add_group(f, 2, POLICY_ONCE);
    struct user u = add_user(f, NULL);
    struct execution got;
    int64_t epoch;
    uint64_t found0, missed0, found, missed;

    store_executions_counts(f->s, &found0, &missed0);
    for (int i = 0; i < 2; i++) { /* none; the second time from memory */
        store_snapshot_begin(f->s);
        assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
        assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_NOT_FOUND);
        store_snapshot_end(f->s);
    }
    store_executions_counts(f->s, &found, &missed);
    assert_int_equal(found - found0, 1);
    assert_int_equal(missed - missed0, 1);

    /* created by the other handle: seen by a fresh snapshot */
    struct execution e = make_exec(&g, 0, "", u.id, STATUS_PENDING);
    assert_err(store_execution_create(other, &e, NULL, NULL), ERR_OK);
    store_snapshot_begin_fresh(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
    assert_int_equal(got.status, STATUS_PENDING);
    store_snapshot_end(f->s);
    for (int i = 0; i < 2; i++) { /* kept, and the same */
        store_snapshot_begin(f->s);
        assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
        assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
        assert_exec_eq(&e, &got);
        store_snapshot_end(f->s);
    }

    /* changed through this handle: seen at once, even by a snapshot that may reuse a
     * transaction for a minute */
    store_snapshot_reuse_ms(f->s, 60000);
    assert_err(store_execution_update(f->s, e.id, STATUS_PENDING, STATUS_SUCCESSFUL,
                                      clock_now_ms(), "done"), ERR_OK);
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
    assert_int_equal(got.status, STATUS_SUCCESSFUL);
    assert_string_equal(got.diagnostic, "done");
    store_snapshot_end(f->s);
    store_snapshot_reuse_ms(f->s, 2);

    /* kept again; then the executing user changes (the auth epoch moves): not used */
    for (int i = 0; i < 2; i++) {
        store_snapshot_begin(f->s);
        assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
        assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
        store_snapshot_end(f->s);
    }
    assert_err(store_user_set_password(other, u.id, "scrypt$changed"), ERR_OK);
    store_executions_counts(f->s, &found0, &missed0);
    store_snapshot_begin_fresh(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
    store_snapshot_end(f->s);
    store_executions_counts(f->s, &found, &missed);
    assert_int_equal(found, found0);
    assert_int_equal(missed, missed0 + 1);

    /* removed with its group by the other handle: gone for the next fresh snapshot */
    store_snapshot_begin(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_OK);
    store_snapshot_end(f->s);
    assert_err(store_group_delete(other, g.id), ERR_OK);
    store_snapshot_begin_fresh(f->s);
    assert_err(store_auth_epoch(f->s, &epoch), ERR_OK);
    assert_err(store_execution_get(f->s, g.id, "", &f->a, &got), ERR_NOT_FOUND);
    store_snapshot_end(f->s);
    store_close(other);
}

/* An execution read twice by snapshots of s: the second answer is the kept one. */
static void keep_execution(struct fixture *f, struct store *s, const struct execution *e)
{
    uint64_t found0, missed0, found, missed;
    store_executions_counts(s, &found0, &missed0);
    for (int i = 0; i < 2; i++) {
        struct execution got;
        int64_t epoch;
        store_snapshot_begin(s);
        assert_err(store_auth_epoch(s, &epoch), ERR_OK);
        assert_err(store_execution_get(s, e->group_id, e->scope_user_id, &f->a, &got), ERR_OK);
        assert_int_equal(got.status, e->status);
        store_snapshot_end(s);
    }
    store_executions_counts(s, &found, &missed);
    assert_int_equal(found, found0 + 1);
}

static struct execution fresh_execution(struct fixture *f, struct store *s,
                                        const struct execution *e)
{
    struct execution got;
    int64_t epoch;
    store_snapshot_begin_fresh(s);
    assert_err(store_auth_epoch(s, &epoch), ERR_OK);
    assert_err(store_execution_get(s, e->group_id, e->scope_user_id, &f->a, &got), ERR_OK);
    store_snapshot_end(s);
    return got;
}

/* Every way another process writes an execution moves the executions epoch (once per
 * transaction since schema 7, by the writer), so a kept answer is never used after it:
 * a callout's end, an ApiAsync answer that leaves it Pending with a diagnostic, an
 * interrupted callout failed by recovery, an ApiAsync deadline passed. */
static void test_executions_kept_every_write(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    store_keep_definitions(f->s, 1 << 20);
    struct store *other = open_again(f->location);
    struct group g = add_group(f, 2, POLICY_ONCE_PER_USER);
    const char *owner = fresh_owner(&f->a), *next = fresh_owner(&f->a);
    int64_t t0 = clock_now_ms(), n = -1;
    assert_err(store_callouts_recover(other, owner, t0, STALE_MS, &n), ERR_OK); /* beats */
    struct execution e[4];
    for (int i = 0; i < 4; i++) {
        char scope[ID_LEN + 1];
        id_new(ID_USER, scope);
        e[i] = make_exec(&g, 0, scope, scope, STATUS_PENDING);
        struct callout co = make_callout(&e[i]);
        co.owner = owner;
        if (i == 3)
            e[i].deadline_ms = t0 + 1000;
        assert_err(store_execution_create(f->s, &e[i], i == 3 ? NULL : &co, NULL), ERR_OK);
    }

    /* each kept just before the change */
    keep_execution(f, f->s, &e[0]);
    struct callout_end end = {.status = STATUS_SUCCESSFUL, .diagnostic = "ok", .scrubbed_url = ""};
    memcpy(end.execution_id, e[0].id, sizeof(end.execution_id));
    assert_err(store_callouts_finish(other, owner, t0, &end, 1), ERR_OK);
    assert_true(end.applied);
    assert_int_equal(fresh_execution(f, f->s, &e[0]).status, STATUS_SUCCESSFUL);

    keep_execution(f, f->s, &e[1]);
    end = (struct callout_end){
        .status = STATUS_PENDING, .diagnostic = "accepted", .scrubbed_url = ""};
    memcpy(end.execution_id, e[1].id, sizeof(end.execution_id));
    assert_err(store_callouts_finish(other, owner, t0, &end, 1), ERR_OK);
    assert_true(end.applied);
    struct execution got = fresh_execution(f, f->s, &e[1]);
    assert_int_equal(got.status, STATUS_PENDING);
    assert_non_null(got.diagnostic);
    assert_string_equal(got.diagnostic, "accepted");

    keep_execution(f, f->s, &e[2]);
    int64_t later = t0 + STALE_MS + STALE_MS / 4;
    assert_err(store_callouts_recover(other, next, later, STALE_MS, &n), ERR_OK);
    assert_true(n >= 1);
    got = fresh_execution(f, f->s, &e[2]);
    assert_int_equal(got.status, STATUS_FAILED);
    assert_string_equal(got.diagnostic, DIAG_INTERRUPTED);

    keep_execution(f, f->s, &e[3]);
    assert_err(store_async_expire(other, t0 + 2000, &n), ERR_OK);
    assert_true(n >= 1);
    assert_int_equal(fresh_execution(f, f->s, &e[3]).status, STATUS_FAILED);
    store_close(other);
}

/* Deleting a group template deletes its link templates and every group made from it,
 * with their links, executions, callouts and places in the feed. */
static void test_gtemplate_delete_cascades(void **state)
{
    struct fixture *f = *state;
    struct group_template gt = add_gtemplate(f, false), keep = add_gtemplate(f, false);
    struct link_template lt1 = make_ltemplate(&f->a, gt.id, 0, false);
    struct link_template lt2 = make_ltemplate(&f->a, gt.id, 1, true);
    struct link_template klt = make_ltemplate(&f->a, keep.id, 0, false);
    assert_err(store_ltemplate_create(f->s, &lt1), ERR_OK);
    assert_err(store_ltemplate_create(f->s, &lt2), ERR_OK);
    assert_err(store_ltemplate_create(f->s, &klt), ERR_OK);
    gt.published = true; /* published or not, it can be deleted */
    assert_err(store_gtemplate_update(f->s, &gt), ERR_OK);
    const struct link_template *from[] = {&lt1, &lt2}, *kfrom[] = {&klt};
    struct group g1 = add_group_from(f, &gt, from, 2, "{\"id\":\"1\"}");
    struct group g2 = add_group_from(f, &gt, from, 2, "{\"id\":\"2\"}");
    struct group kg = add_group_from(f, &keep, kfrom, 1, "{\"id\":\"k\"}");
    struct user u = add_user(f, NULL);
    struct callout_counts before = counts(f->s);
    struct execution e1 = make_exec(&g1, 0, u.id, u.id, STATUS_PENDING);
    struct execution e2 = make_exec(&g2, 1, u.id, u.id, STATUS_SUCCESSFUL);
    struct execution ke = make_exec(&kg, 0, u.id, u.id, STATUS_PENDING);
    struct callout c1 = make_callout(&e1), kc = make_callout(&ke);
    assert_err(store_execution_create(f->s, &e1, &c1, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &e2, NULL, NULL), ERR_OK);
    assert_err(store_execution_create(f->s, &ke, &kc, NULL), ERR_OK);
    struct feed_item item = make_item(&f->a, u.id, u.id, clock_now_ms());
    item.n_groups = 3;
    id_copy(item.group_ids[0], g1.id);
    id_copy(item.group_ids[1], kg.id);
    id_copy(item.group_ids[2], g2.id);
    assert_err(store_feed_item_create(f->s, &item), ERR_OK);

    assert_err(store_gtemplate_delete(f->s, gt.id), ERR_OK);

    struct group_template gtg;
    struct link_template ltg, *all;
    struct group gg;
    struct execution e;
    size_t n, index;
    assert_err(store_gtemplate_get(f->s, gt.id, &f->a, &gtg), ERR_NOT_FOUND);
    assert_err(store_ltemplate_get(f->s, lt1.id, &f->a, &ltg), ERR_NOT_FOUND);
    assert_err(store_ltemplate_get(f->s, lt2.id, &f->a, &ltg), ERR_NOT_FOUND);
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 0);
    const struct group *gone[] = {&g1, &g2};
    for (size_t k = 0; k < 2; k++) {
        assert_err(store_group_get(f->s, gone[k]->id, &f->a, &gg), ERR_NOT_FOUND);
        for (size_t i = 0; i < gone[k]->n_links; i++)
            assert_err(store_link_group(f->s, gone[k]->links[i].id, &f->a, &gg, &index),
                       ERR_NOT_FOUND);
        assert_err(store_execution_get(f->s, gone[k]->id, u.id, &f->a, &e), ERR_NOT_FOUND);
    }
    struct templated_link *tl;
    assert_err(store_links_of_template(f->s, lt1.id, &f->a, &tl, &n), ERR_OK);
    assert_int_equal(n, 0);
    struct callout_counts after = counts(f->s);
    assert_int_equal(after.queued, before.queued + 1);
    assert_int_equal(after.started, before.started);
    assert_int_equal(after.done, before.done);
    struct feed_item got_item;
    assert_err(store_feed_item_get(f->s, item.id, &f->a, &got_item), ERR_OK);
    assert_int_equal(got_item.n_groups, 1);
    assert_string_equal(got_item.group_ids[0], kg.id);

    /* the other template and its group are untouched */
    assert_err(store_gtemplate_get(f->s, keep.id, &f->a, &gtg), ERR_OK);
    assert_gtemplate_eq(&keep, &gtg);
    assert_err(store_ltemplates_of(f->s, keep.id, &f->a, &all, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_ltemplate_eq(&klt, &all[0]);
    assert_err(store_group_get(f->s, kg.id, &f->a, &gg), ERR_OK);
    assert_group_eq(&kg, &gg);
    assert_err(store_execution_get(f->s, kg.id, u.id, &f->a, &e), ERR_OK);
    assert_exec_eq(&ke, &e);
    assert_err(store_links_of_template(f->s, klt.id, &f->a, &tl, &n), ERR_OK);
    assert_int_equal(n, 1);

    assert_err(store_gtemplate_delete(f->s, gt.id), ERR_NOT_FOUND);
    /* its DeveloperName is free again */
    struct group_template again = make_gtemplate(&f->a, NULL, false);
    again.developer_name = gt.developer_name;
    assert_err(store_gtemplate_create(f->s, &again), ERR_OK);
}

/* Where store.h promises "*out NULL when none", an answer with nothing in it has a NULL
 * array, whatever room the caller offered. */
static void test_empty_answers_are_null(void **state)
{
    struct fixture *f = *state;
    drain_queue(f);
    struct callout_room room = {.limit = 4, .per_host = 4}, none = {.limit = 0, .per_host = 4};
    struct callout *c = (struct callout *)&room;
    size_t n = 99;
    assert_err(store_callouts_start(f->s, fresh_owner(&f->a), clock_now_ms(), &none, &f->a, &c, &n),
               ERR_OK);
    assert_int_equal(n, 0);
    assert_null(c);
    struct status_event *ev = (struct status_event *)&room;
    assert_err(store_events_since(f->s, events_last(f->s), 0, &f->a, &ev, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(ev);
    struct group_template gt = add_gtemplate(f, false);
    struct link_template *lts = (struct link_template *)&room;
    assert_err(store_ltemplates_of(f->s, gt.id, &f->a, &lts, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_null(lts);

    /* with room to spare: both are checked before the case fails */
    const char *wrong[2] = {NULL, NULL};
    n = 99;
    c = (struct callout *)&room;
    assert_err(store_callouts_start(f->s, fresh_owner(&f->a), clock_now_ms(), &room, &f->a, &c, &n),
               ERR_OK);
    assert_int_equal(n, 0);
    if (c)
        wrong[0] = "store_callouts_start handed out none, with room for 4: *out is not NULL";
    n = 99;
    ev = (struct status_event *)&room;
    assert_err(store_events_since(f->s, events_last(f->s), 10, &f->a, &ev, &n), ERR_OK);
    assert_int_equal(n, 0);
    if (ev)
        wrong[1] = "store_events_since found none, with a limit of 10: *out is not NULL";
    if (wrong[0] || wrong[1])
        fail_msg("%s%s%s", wrong[0] ? wrong[0] : "", wrong[0] && wrong[1] ? "; " : "",
                 wrong[1] ? wrong[1] : "");
}

/* ======================================================================================
 * Snapshots
 * ====================================================================================== */

/* What another thread commits while a snapshot is open. */
struct snapshot_write {
    struct store *s;
    const char *user_id;
    const char *hash;
    const struct group *g;
    const struct execution *e;
    enum err result;
};

static void *snapshot_write_main(void *arg)
{
    struct snapshot_write *x = arg;
    x->result = store_user_set_password(x->s, x->user_id, x->hash);
    if (x->result == ERR_OK)
        x->result = store_group_create(x->s, x->g);
    if (x->result == ERR_OK)
        x->result = store_execution_update(x->s, x->e->id, STATUS_PENDING, STATUS_SUCCESSFUL,
                                           x->e->created_ms + 1, "done meanwhile");
    return NULL;
}

/* The reading thread: it never writes. */
struct snapshot_reader {
    struct store *s;
    const char *warm_up; /* a location to read from first, on this thread, and close */
    const struct user *u;
    const char *new_hash;
    const struct group *g;
    const struct execution *e;
    struct snapshot_write w;
    int64_t seq;        /* the newest event in the snapshot; -1 until read */
    const char *failed; /* the first check that did not hold */
    enum err result;
};

/* What the reader sees: the old state (the write not yet visible) or the new one. */
static const char *snapshot_check(struct snapshot_reader *x, struct arena *a, bool old)
{
    struct user u;
    struct group g;
    struct execution e;
    int64_t seq;
    if ((x->result = store_user_get(x->s, x->u->id, a, &u)) != ERR_OK)
        return "store_user_get";
    if (!u.password_hash || strcmp(u.password_hash, old ? x->u->password_hash : x->new_hash))
        return old ? "the password set meanwhile is seen" : "the new password is not seen";
    x->result = store_group_get(x->s, x->g->id, a, &g);
    if (x->result != (old ? ERR_NOT_FOUND : ERR_OK))
        return old ? "the group made meanwhile is seen" : "the new group is not seen";
    if ((x->result = store_execution_get(x->s, x->e->group_id, x->e->scope_user_id, a, &e)))
        return "store_execution_get";
    if (e.status != (old ? STATUS_PENDING : STATUS_SUCCESSFUL))
        return old ? "the status set meanwhile is seen" : "the new status is not seen";
    if ((x->result = store_events_last(x->s, &seq)) != ERR_OK)
        return "store_events_last";
    if (x->seq < 0)
        x->seq = seq;
    else if (old ? seq != x->seq : seq <= x->seq)
        return old ? "the event made meanwhile is seen" : "the new event is not seen";
    x->result = ERR_OK;
    return NULL;
}

static void *snapshot_reader_main(void *arg)
{
    struct snapshot_reader *x = arg;
    struct arena a;
    arena_init(&a);
    if (x->warm_up) {
        struct store *other = NULL;
        char why[WHY_MAX];
        if (store_open(x->warm_up, &other, why, sizeof(why)) != ERR_OK) {
            x->failed = "open the other store";
            return NULL;
        }
        struct user u;
        store_user_get(other, x->u->id, &a, &u);
        store_close(other);
    }
    store_snapshot_begin(x->s);
    x->failed = snapshot_check(x, &a, true); /* the snapshot is taken by now */
    if (!x->failed) {
        pthread_t t;
        if (pthread_create(&t, NULL, snapshot_write_main, &x->w) != 0 || pthread_join(t, NULL) != 0)
            x->failed = "run the writer";
        else if (x->w.result != ERR_OK)
            x->failed = "the write meanwhile";
    }
    if (!x->failed && (x->failed = snapshot_check(x, &a, true)))
        x->failed = arena_printf(&a, "in the snapshot: %s", x->failed);
    if (!x->failed) { /* nested: the inner end does not end the outer snapshot */
        store_snapshot_begin(x->s);
        if ((x->failed = snapshot_check(x, &a, true)))
            x->failed = arena_printf(&a, "in the nested snapshot: %s", x->failed);
        store_snapshot_end(x->s);
        if (!x->failed && (x->failed = snapshot_check(x, &a, true)))
            x->failed = arena_printf(&a, "after the nested end: %s", x->failed);
    }
    store_snapshot_end(x->s);
    if (!x->failed && (x->failed = snapshot_check(x, &a, false)))
        x->failed = arena_printf(&a, "after the end: %s", x->failed);
    if (x->failed)
        x->failed = strdup(x->failed); /* outlives the arena */
    arena_cleanup(&a);
    return NULL;
}

static void snapshot_case(struct fixture *f, const char *warm_up)
{
    struct user u = add_user(f, NULL);
    struct group done = add_group(f, 1, POLICY_ONCE);
    struct execution e = make_exec(&done, 0, "", u.id, STATUS_PENDING);
    assert_err(store_execution_create(f->s, &e, NULL, NULL), ERR_OK);
    struct group later = make_group(&f->a, 2, POLICY_ONCE, u.id, done.app_id, NULL);
    struct snapshot_reader x = {.s = f->s,
                                .warm_up = warm_up,
                                .u = &u,
                                .new_hash = "changed",
                                .g = &later,
                                .e = &e,
                                .seq = -1};
    x.w = (struct snapshot_write){
        .s = f->s, .user_id = u.id, .hash = x.new_hash, .g = &later, .e = &e};
    run_threads(1, snapshot_reader_main, &x, sizeof(x));
    if (x.failed) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s (%s)", x.failed, err_code(x.result));
        free((void *)x.failed);
        fail_msg("%s", msg);
    }
}

/* Reads in a snapshot do not see what another thread commits meanwhile; after the
 * (outermost) end they do. */
static void test_snapshot(void **state)
{
    snapshot_case(*state, NULL);
}

/* The same on a thread that read from another store before (one since closed): a
 * process that reopens its store, or a thread serving two. */
static void test_snapshot_after_another_store(void **state)
{
    char other[LOCATION_MAX];
    assert_true(location_for("test_snapshot_after_another_store_other", other, sizeof(other)));
    snapshot_case(*state, other);
}

/* ====================================================================================== */

#define T(fn) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, #fn)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s sqlite|postgresql <scratch-dir>\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "sqlite") == 0) {
        backend = BACKEND_SQLITE;
    } else if (strcmp(argv[1], "postgresql") == 0) {
        backend = BACKEND_POSTGRESQL;
        if (!getenv("AL_PG_URL") || !*getenv("AL_PG_URL")) {
            printf("test_store postgresql: AL_PG_URL is not set (e.g. "
                   "postgresql://al@127.0.0.1/al_test); skipping\n");
            return EXIT_SKIP;
        }
    } else {
        fprintf(stderr, "%s: unknown backend %s (sqlite or postgresql)\n", argv[0], argv[1]);
        return 2;
    }
    scratch_dir = argv[2];
    if (!mkdirs(scratch_dir)) {
        fprintf(stderr, "%s: cannot create %s: %s\n", argv[0], scratch_dir, strerror(errno));
        return 2;
    }

    const struct CMUnitTest tests[] = {
        T(test_open_twice_keeps_org_id),
        T(test_org_id_shape),
        T(test_open_bad_location),
        T(test_user_round_trip),
        T(test_user_without_password),
        T(test_user_duplicate_username),
        T(test_user_missing),
        T(test_app_round_trip),
        T(test_app_duplicate_name),
        T(test_token_principal),
        T(test_token_callback_execution_id),
        T(test_token_expired),
        T(test_token_revoked),
        T(test_auth_epoch),
        T(test_token_unknown),
        T(test_token_revoke_unknown),
        T(test_group_round_trip),
        T(test_group_variants),
        T(test_group_missing),
        T(test_link_group),
        T(test_group_create_is_atomic),
        T(test_group_never_drops_headers),
        T(test_group_headers_escaped),
        T(test_group_delete),
        T(test_execution_create_get),
        T(test_execution_second_in_scope_conflicts),
        T(test_execution_scopes_independent),
        T(test_execution_update),
        T(test_execution_update_keeps_diagnostic),
        T(test_execution_callout_only_when_given),
        T(test_race_create_same_scope),
        T(test_race_across_two_stores),
        T(test_race_update_compare_and_set),
        T(test_concurrent_distinct_writes),
        T(test_refusals_do_not_undo_neighbours),
        T(test_refusal_replays_batch),
        T(test_concurrent_open),
        T(test_reads_beside_writes),
        T(test_reopen_sees_everything),
        T(test_callouts_start_oldest_first),
        T(test_callouts_start_many_hosts),
        T(test_callouts_cycle),
        T(test_callouts_start_room),
        T(test_callouts_race_to_start),
        T(test_callouts_release),
        T(test_callout_created_started),
        T(test_callouts_finish),
        T(test_callouts_recover),
        T(test_node_leave),
        T(test_async_expire),
        T(test_execution_create_with_callback_token),
        T(test_events),
        T(test_events_trim),
        T(test_empty_answers_are_null),
        T(test_app_by_client_id),
        T(test_web_app_exists),
        T(test_user_set_password),
        T(test_refresh_tokens),
        T(test_feed_item_round_trip),
        T(test_feed_page),
        T(test_gtemplate_round_trip),
        T(test_ltemplate_round_trip),
        T(test_ltemplate_published_conflicts),
        T(test_ltemplate_race_with_publish),
        T(test_ltemplate_update_rerenders_links),
        T(test_gtemplate_delete_cascades),
        T(test_definitions_kept),
        T(test_executions_kept),
        T(test_executions_kept_every_write),
        T(test_snapshot),
        T(test_snapshot_after_another_store),
    };
    char group_name[64];
    snprintf(group_name, sizeof(group_name), "store.%s", argv[1]);
    return cmocka_run_group_tests_name(group_name, tests, NULL, NULL);
}
