/* The storage conformance suite. Every case talks to the store through store.h only, so
 * the same program runs against each backend:
 *
 *     test_store <backend> <scratch-dir>      backend: sqlite | postgresql
 *
 * The backend decides one thing: how a test's location string is made (location_for).
 * Cases never assume an empty database (callout counts are compared before and after,
 * names are made from fresh ids), so a backend whose tests share one database, as a
 * PostgreSQL server may, runs them unchanged.
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

static struct callout_counts counts(struct store *s)
{
    struct callout_counts c;
    assert_err(store_callout_counts(s, &c), ERR_OK);
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
        T(test_token_unknown),
        T(test_token_revoke_unknown),
        T(test_group_round_trip),
        T(test_group_variants),
        T(test_group_missing),
        T(test_link_group),
        T(test_group_create_is_atomic),
        T(test_group_never_drops_headers),
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
        T(test_concurrent_open),
        T(test_reads_beside_writes),
        T(test_reopen_sees_everything),
    };
    char group_name[64];
    snprintf(group_name, sizeof(group_name), "store.%s", argv[1]);
    return cmocka_run_group_tests_name(group_name, tests, NULL, NULL);
}
