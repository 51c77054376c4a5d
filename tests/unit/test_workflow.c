/* Unit tests for domain/workflow: every row of the SPEC 6 table for Once and OncePerUser
 * (and the Unlimited row), for each action type, with the precedence of SPEC 11.2; then a
 * sweep of every input combination against the table written out from the spec; then
 * workflow_may_complete_async (SPEC 11.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/workflow.h"

#define LINK_L "0AnLLLLLLLLLLLL" /* the link being PATCHed */
#define LINK_M "0AnMMMMMMMMMMMM" /* another link of the same group */
#define USER_U "005UUUUUUUUUUUU" /* the caller */
#define USER_V "005VVVVVVVVVVVV" /* someone else */

static const enum action_type all_types[] = {ACTION_API, ACTION_API_ASYNC, ACTION_DOWNLOAD,
                                             ACTION_UI};
static const enum status all_status[] = {STATUS_NEW, STATUS_PENDING, STATUS_SUCCESSFUL,
                                         STATUS_FAILED};
static const enum status exec_status[] = {STATUS_PENDING, STATUS_SUCCESSFUL, STATUS_FAILED};
static const enum status terminal_status[] = {STATUS_SUCCESSFUL, STATUS_FAILED};
static const enum policy tracked[] = {POLICY_ONCE, POLICY_ONCE_PER_USER};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Whose execution, of which link, is in the caller's scope. */
enum scope { NONE, OWN_L, OTHER_L, OWN_M, OTHER_M, SCOPE__COUNT };

static const char *const scope_names[] = {"none", "own/L", "other/L", "own/M", "other/M"};
static const char *const type_names[] = {"Api", "ApiAsync", "Download", "Ui"};
static const char *const status_names[] = {"New", "Pending", "Successful", "Failed"};
static const char *const policy_names[] = {"Once", "OncePerUser", "Unlimited"};
static const char *const action_names[] = {"REFUSE", "NOOP", "CREATE", "UPDATE"};

static struct execution exec_of(enum scope sc, enum status st)
{
    struct execution e;
    memset(&e, 0, sizeof(e));
    strcpy(e.id, "0AeEEEEEEEEEEEE");
    strcpy(e.group_id, "0AgGGGGGGGGGGGG");
    strcpy(e.link_id, sc == OWN_M || sc == OTHER_M ? LINK_M : LINK_L);
    strcpy(e.user_id, sc == OTHER_L || sc == OTHER_M ? USER_V : USER_U);
    e.status = st;
    return e;
}

static struct wf_decision decide(enum policy p, enum action_type t, bool expired, enum scope sc,
                                 enum status exec_st, enum status req, bool may)
{
    struct execution e = exec_of(sc, exec_st);
    if (p == POLICY_ONCE_PER_USER)
        strcpy(e.scope_user_id, e.user_id);
    struct wf_input in = {
        .policy = p,
        .type = t,
        .expired = expired,
        .requested = req,
        .link_id = LINK_L,
        .caller_id = USER_U,
        .exec = sc == NONE ? NULL : &e,
        .may_complete_async = may,
    };
    return workflow_decide(&in);
}

#define CTX_FMT "%s %s expired=%d scope=%s exec=%s -> %s may=%d"
#define CTX_ARGS(p, t, x, sc, st, rq, m)                                                           \
    policy_names[p], type_names[t], (int)(x), scope_names[sc], status_names[st], status_names[rq], \
        (int)(m)

/* Asserts the decision for one input, with the whole input in the failure message. */
static void expect(enum policy p, enum action_type t, bool x, enum scope sc, enum status st,
                   enum status rq, bool m, enum wf_action want_action, enum err want_err,
                   enum status want_to)
{
    struct wf_decision d = decide(p, t, x, sc, st, rq, m);
    if (d.action != want_action || d.err != want_err ||
        (want_action != WF_REFUSE && d.to != want_to))
        fail_msg(CTX_FMT ": got %s/%s/%s, want %s/%s/%s", CTX_ARGS(p, t, x, sc, st, rq, m),
                 action_names[d.action], err_code(d.err), status_names[d.to],
                 action_names[want_action], err_code(want_err),
                 want_action == WF_REFUSE ? "-" : status_names[want_to]);
}

static void refused(enum policy p, enum action_type t, bool x, enum scope sc, enum status st,
                    enum status rq, bool m, enum err want)
{
    expect(p, t, x, sc, st, rq, m, WF_REFUSE, want, STATUS_NEW);
}

static void acts(enum policy p, enum action_type t, bool x, enum scope sc, enum status st,
                 enum status rq, bool m, enum wf_action a, enum status to)
{
    expect(p, t, x, sc, st, rq, m, a, ERR_OK, to);
}

static bool is_api(enum action_type t)
{
    return t == ACTION_API || t == ACTION_API_ASYNC;
}

/* ---- Row: any | any | any | in an Unlimited group -> 409 INVALID_STATUS_TRANSITION ---- */

static void test_unlimited_always_refused(void **state)
{
    (void)state;
    for (size_t t = 0; t < N(all_types); t++)
        for (size_t r = 0; r < N(all_status); r++)
            for (int x = 0; x <= 1; x++)
                for (int m = 0; m <= 1; m++) {
                    /* tried before expiry (SPEC 11.2) */
                    refused(POLICY_UNLIMITED, all_types[t], x, NONE, STATUS_NEW, all_status[r], m,
                            ERR_TRANSITION);
                    /* and before anything an execution (which cannot exist) would say */
                    for (int sc = OWN_L; sc < SCOPE__COUNT; sc++)
                        for (size_t s = 0; s < N(exec_status); s++)
                            refused(POLICY_UNLIMITED, all_types[t], x, (enum scope)sc,
                                    exec_status[s], all_status[r], m, ERR_TRANSITION);
                }
}

/* ---- Row: Api, ApiAsync | New | Pending | a user who sees the link -> created ---- */

static void test_api_new_to_pending_creates(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (int m = 0; m <= 1; m++) {
            acts(tracked[p], ACTION_API, false, NONE, STATUS_NEW, STATUS_PENDING, m, WF_CREATE,
                 STATUS_PENDING);
            acts(tracked[p], ACTION_API_ASYNC, false, NONE, STATUS_NEW, STATUS_PENDING, m,
                 WF_CREATE, STATUS_PENDING);
        }
}

static void test_api_new_to_terminal_refused(void **state)
{
    (void)state;
    /* no row lets a client create an Api execution in a terminal state */
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t r = 0; r < N(terminal_status); r++)
            for (int m = 0; m <= 1; m++) {
                refused(tracked[p], ACTION_API, false, NONE, STATUS_NEW, terminal_status[r], m,
                        ERR_TRANSITION);
                refused(tracked[p], ACTION_API_ASYNC, false, NONE, STATUS_NEW, terminal_status[r],
                        m, ERR_TRANSITION);
            }
}

/* ---- Row: Api, ApiAsync | any | Pending | the executing user, same link -> 200 current ---- */

static void test_api_pending_again_is_noop(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t s = 0; s < N(exec_status); s++)
            for (int x = 0; x <= 1; x++) /* an existing execution: expiry does not apply */
                for (int m = 0; m <= 1; m++) {
                    acts(tracked[p], ACTION_API, x, OWN_L, exec_status[s], STATUS_PENDING, m,
                         WF_NOOP, exec_status[s]);
                    acts(tracked[p], ACTION_API_ASYNC, x, OWN_L, exec_status[s], STATUS_PENDING, m,
                         WF_NOOP, exec_status[s]);
                }
}

/* ---- Row: any | any | any | anyone but the executing user in a Once scope, or another
 *      link of the group in the same scope -> 409 ALREADY_EXECUTED ---- */

static void test_once_other_user_already_executed(void **state)
{
    (void)state;
    for (size_t t = 0; t < N(all_types); t++)
        for (size_t s = 0; s < N(exec_status); s++)
            for (size_t r = 0; r < N(all_status); r++)
                for (int x = 0; x <= 1; x++)
                    for (int m = 0; m <= 1; m++) {
                        enum action_type ty = all_types[t];
                        enum status st = exec_status[s], rq = all_status[r];
                        bool completes_pending = st == STATUS_PENDING &&
                                                 (rq == STATUS_SUCCESSFUL || rq == STATUS_FAILED);
                        /* the completion rows come first (checked in their own tests) */
                        if (completes_pending && ty != ACTION_DOWNLOAD && ty != ACTION_UI)
                            continue;
                        if (ty == ACTION_API_ASYNC && m && rq != STATUS_NEW && rq != STATUS_PENDING)
                            continue; /* a late completion through the app: its own test */
                        refused(POLICY_ONCE, ty, x, OTHER_L, st, rq, m, ERR_EXECUTED);
                    }
}

static void test_other_link_already_executed(void **state)
{
    (void)state;
    /* mutually exclusive links: whoever executed another link of the group in this scope,
     * nothing may happen to this one, whatever is asked (New included) */
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t t = 0; t < N(all_types); t++)
            for (size_t s = 0; s < N(exec_status); s++)
                for (size_t r = 0; r < N(all_status); r++)
                    for (int x = 0; x <= 1; x++)
                        for (int m = 0; m <= 1; m++) {
                            refused(tracked[p], all_types[t], x, OWN_M, exec_status[s],
                                    all_status[r], m, ERR_EXECUTED);
                            if (tracked[p] == POLICY_ONCE)
                                refused(tracked[p], all_types[t], x, OTHER_M, exec_status[s],
                                        all_status[r], m, ERR_EXECUTED);
                        }
}

/* ---- Row: Api | Pending | Successful/Failed | the callout result only -> clients 409 ---- */

static void test_api_completion_refused_to_clients(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t r = 0; r < N(terminal_status); r++)
            for (int x = 0; x <= 1; x++)
                for (int m = 0; m <= 1; m++) {
                    refused(tracked[p], ACTION_API, x, OWN_L, STATUS_PENDING, terminal_status[r], m,
                            ERR_TRANSITION);
                    /* SPEC 11.2: this row is tried before ALREADY_EXECUTED */
                    if (tracked[p] == POLICY_ONCE)
                        refused(tracked[p], ACTION_API, x, OTHER_L, STATUS_PENDING,
                                terminal_status[r], m, ERR_TRANSITION);
                }
}

/* ---- Row: ApiAsync | Pending | Successful/Failed | the creating app or callback -> 200 ---- */

static void test_apiasync_completion(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t r = 0; r < N(terminal_status); r++)
            for (int x = 0; x <= 1; x++) { /* completing is not creating: expiry is moot */
                enum status to = terminal_status[r];
                acts(tracked[p], ACTION_API_ASYNC, x, OWN_L, STATUS_PENDING, to, true, WF_UPDATE,
                     to);
                /* SPEC 11.4: anyone else gets 403 */
                refused(tracked[p], ACTION_API_ASYNC, x, OWN_L, STATUS_PENDING, to, false,
                        ERR_ACCESS);
                if (tracked[p] == POLICY_ONCE) {
                    /* the creator (or a viewAllData user) through the app, or the callback
                     * token, completes another user's execution; never ALREADY_EXECUTED */
                    acts(tracked[p], ACTION_API_ASYNC, x, OTHER_L, STATUS_PENDING, to, true,
                         WF_UPDATE, to);
                    refused(tracked[p], ACTION_API_ASYNC, x, OTHER_L, STATUS_PENDING, to, false,
                            ERR_ACCESS);
                }
            }
}

static void test_apiasync_late_completion_own(void **state)
{
    (void)state;
    /* SPEC 11.4: a late completion through the app is 409 INVALID_STATUS_TRANSITION */
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t s = 0; s < N(terminal_status); s++)
            for (size_t r = 0; r < N(terminal_status); r++)
                for (int m = 0; m <= 1; m++)
                    refused(tracked[p], ACTION_API_ASYNC, false, OWN_L, terminal_status[s],
                            terminal_status[r], m, ERR_TRANSITION);
}

static void test_apiasync_late_completion_by_creator(void **state)
{
    (void)state;
    /* The group's creator completes, through the creating app, another user's execution
     * of a Once link after it already ended (e.g. at the async deadline). SPEC 11.4 says
     * a late completion through the app is 409 INVALID_STATUS_TRANSITION, and SPEC 6 that
     * a completion a row allows is never refused as ALREADY_EXECUTED. */
    for (size_t s = 0; s < N(terminal_status); s++)
        for (size_t r = 0; r < N(terminal_status); r++)
            refused(POLICY_ONCE, ACTION_API_ASYNC, false, OTHER_L, terminal_status[s],
                    terminal_status[r], true, ERR_TRANSITION);
}

/* ---- Row: Download, Ui | New | Pending, Successful, Failed | a user who sees it ---- */

static void test_download_ui_new_creates_any(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (int t = 2; t < 4; t++)
            for (size_t r = 1; r < N(all_status); r++)
                for (int m = 0; m <= 1; m++)
                    acts(tracked[p], all_types[t], false, NONE, STATUS_NEW, all_status[r], m,
                         WF_CREATE, all_status[r]);
}

/* ---- Row: Download, Ui | Pending | Successful, Failed | the executing user ---- */

static void test_download_ui_completion(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (int t = 2; t < 4; t++)
            for (size_t r = 0; r < N(terminal_status); r++)
                for (int x = 0; x <= 1; x++)
                    for (int m = 0; m <= 1; m++) {
                        acts(tracked[p], all_types[t], x, OWN_L, STATUS_PENDING, terminal_status[r],
                             m, WF_UPDATE, terminal_status[r]);
                        /* someone else's execution of a Once link */
                        if (tracked[p] == POLICY_ONCE)
                            refused(tracked[p], all_types[t], x, OTHER_L, STATUS_PENDING,
                                    terminal_status[r], m, ERR_EXECUTED);
                    }
}

static void test_download_ui_pending_again_is_noop(void **state)
{
    (void)state;
    /* project decision (workflow.c): Pending -> Pending by the executing user is a 200
     * no-op, as for Api */
    for (size_t p = 0; p < N(tracked); p++)
        for (int t = 2; t < 4; t++)
            for (int x = 0; x <= 1; x++)
                acts(tracked[p], all_types[t], x, OWN_L, STATUS_PENDING, STATUS_PENDING, false,
                     WF_NOOP, STATUS_PENDING);
}

/* ---- Row: any | New | New | a user who sees the link -> 200 (Download/Ui; others 409) ---- */

static void test_new_to_new(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (int x = 0; x <= 1; x++) { /* nothing is created: expiry does not apply */
            acts(tracked[p], ACTION_DOWNLOAD, x, NONE, STATUS_NEW, STATUS_NEW, false, WF_NOOP,
                 STATUS_NEW);
            acts(tracked[p], ACTION_UI, x, NONE, STATUS_NEW, STATUS_NEW, false, WF_NOOP,
                 STATUS_NEW);
            refused(tracked[p], ACTION_API, x, NONE, STATUS_NEW, STATUS_NEW, false, ERR_TRANSITION);
            refused(tracked[p], ACTION_API_ASYNC, x, NONE, STATUS_NEW, STATUS_NEW, false,
                    ERR_TRANSITION);
        }
}

/* ---- Row: any | non-New | New | -> 409 INVALID_STATUS_TRANSITION ---- */

static void test_back_to_new_refused(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t t = 0; t < N(all_types); t++)
            for (size_t s = 0; s < N(exec_status); s++)
                for (int m = 0; m <= 1; m++)
                    refused(tracked[p], all_types[t], false, OWN_L, exec_status[s], STATUS_NEW, m,
                            ERR_TRANSITION);
    /* SPEC 11.2: ALREADY_EXECUTED comes before INVALID_STATUS_TRANSITION */
    for (size_t t = 0; t < N(all_types); t++)
        for (size_t s = 0; s < N(exec_status); s++)
            refused(POLICY_ONCE, all_types[t], false, OTHER_L, exec_status[s], STATUS_NEW, false,
                    ERR_EXECUTED);
}

/* ---- Row: any | Successful/Failed | Pending/Successful/Failed | -> 409, except the
 *      same-user Pending row (Api/ApiAsync) ---- */

static void test_terminal_is_final(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++)
        for (size_t t = 0; t < N(all_types); t++)
            for (size_t s = 0; s < N(terminal_status); s++)
                for (size_t r = 1; r < N(all_status); r++) {
                    enum action_type ty = all_types[t];
                    enum status st = terminal_status[s], rq = all_status[r];
                    if (is_api(ty) && rq == STATUS_PENDING)
                        acts(tracked[p], ty, false, OWN_L, st, rq, false, WF_NOOP, st);
                    else
                        refused(tracked[p], ty, false, OWN_L, st, rq, false, ERR_TRANSITION);
                }
}

/* ---- Row: any | - | Pending | after expirationDate -> 409 ACTION_LINK_EXPIRED ---- */

static void test_expired(void **state)
{
    (void)state;
    for (size_t p = 0; p < N(tracked); p++) {
        for (size_t t = 0; t < N(all_types); t++)
            refused(tracked[p], all_types[t], true, NONE, STATUS_NEW, STATUS_PENDING, false,
                    ERR_EXPIRED);
        /* SPEC 11.2: any PATCH that would create an execution, so also a Download/Ui
         * New -> Successful/Failed */
        for (int t = 2; t < 4; t++)
            for (size_t r = 0; r < N(terminal_status); r++)
                refused(tracked[p], all_types[t], true, NONE, STATUS_NEW, terminal_status[r], false,
                        ERR_EXPIRED);
        /* a PATCH that would not create one follows the other rows */
        for (size_t r = 0; r < N(terminal_status); r++) {
            refused(tracked[p], ACTION_API, true, NONE, STATUS_NEW, terminal_status[r], false,
                    ERR_TRANSITION);
            refused(tracked[p], ACTION_API_ASYNC, true, NONE, STATUS_NEW, terminal_status[r], true,
                    ERR_TRANSITION);
        }
    }
}

static void test_expired_existing_execution_follows_rows(void **state)
{
    (void)state;
    /* SPEC 11.2: a PATCH on an execution that already exists follows the other rows after
     * expiry too */
    acts(POLICY_ONCE, ACTION_API, true, OWN_L, STATUS_PENDING, STATUS_PENDING, false, WF_NOOP,
         STATUS_PENDING);
    acts(POLICY_ONCE, ACTION_API_ASYNC, true, OWN_L, STATUS_PENDING, STATUS_SUCCESSFUL, true,
         WF_UPDATE, STATUS_SUCCESSFUL);
    acts(POLICY_ONCE_PER_USER, ACTION_UI, true, OWN_L, STATUS_PENDING, STATUS_FAILED, false,
         WF_UPDATE, STATUS_FAILED);
    refused(POLICY_ONCE, ACTION_DOWNLOAD, true, OTHER_L, STATUS_SUCCESSFUL, STATUS_PENDING, false,
            ERR_EXECUTED);
    refused(POLICY_ONCE, ACTION_API, true, OWN_M, STATUS_PENDING, STATUS_PENDING, false,
            ERR_EXECUTED);
    refused(POLICY_ONCE, ACTION_UI, true, OWN_L, STATUS_SUCCESSFUL, STATUS_FAILED, false,
            ERR_TRANSITION);
}

/* ---- A sweep of every combination against the table as the spec writes it ---- */

static struct wf_decision R(enum err e) {
    return (struct wf_decision){WF_REFUSE, e, STATUS_NEW};
}

static struct wf_decision
A(enum wf_action a, enum status to) {
    return (struct wf_decision){a, ERR_OK, to};
}

/* SPEC 6 in the order of SPEC 11.2; `may` is workflow_may_complete_async. */
static struct wf_decision
spec_decide(enum policy p, enum action_type t, bool expired, enum scope sc, enum status st,
            enum status rq, bool may)
{
    bool api = is_api(t);
    bool to_terminal = rq == STATUS_SUCCESSFUL || rq == STATUS_FAILED;
    if (p == POLICY_UNLIMITED)
        return R(ERR_TRANSITION);
    if (sc == NONE) {
        bool creates = api ? rq == STATUS_PENDING : rq != STATUS_NEW;
        if (expired && creates)
            return R(ERR_EXPIRED);
        if (rq == STATUS_NEW)
            return api ? R(ERR_TRANSITION) : A(WF_NOOP, STATUS_NEW);
        if (!creates)
            return R(ERR_TRANSITION);
        return A(WF_CREATE, rq);
    }
    bool same = sc == OWN_L || sc == OTHER_L, own = sc == OWN_L || sc == OWN_M;
    if (same && to_terminal) {
        if (t == ACTION_API && st == STATUS_PENDING)
            return R(ERR_TRANSITION);
        if (t == ACTION_API_ASYNC && st == STATUS_PENDING)
            return may ? A(WF_UPDATE, rq) : R(ERR_ACCESS);
        if (t == ACTION_API_ASYNC && may)
            return R(ERR_TRANSITION); /* late completion (SPEC 11.4) */
        if (!api && st == STATUS_PENDING && own)
            return A(WF_UPDATE, rq);
    }
    if (!same || !own)
        return R(ERR_EXECUTED);
    if (rq == STATUS_PENDING && (api || st == STATUS_PENDING))
        return A(WF_NOOP, st);
    return R(ERR_TRANSITION);
}

static void test_sweep_against_spec(void **state)
{
    (void)state;
    int checked = 0, mismatched = 0;
    for (int p = 0; p < POLICY__COUNT; p++)
        for (size_t t = 0; t < N(all_types); t++)
            for (int x = 0; x <= 1; x++)
                for (int sc = 0; sc < SCOPE__COUNT; sc++)
                    for (size_t s = 0; s < N(exec_status); s++)
                        for (size_t r = 0; r < N(all_status); r++)
                            for (int m = 0; m <= 1; m++) {
                                if (sc == NONE && s > 0)
                                    continue;
                                /* in OncePerUser the scope's execution is the caller's */
                                if (p == POLICY_ONCE_PER_USER && (sc == OTHER_L || sc == OTHER_M))
                                    continue;
                                enum action_type ty = all_types[t];
                                enum status st = sc == NONE ? STATUS_NEW : exec_status[s];
                                enum status rq = all_status[r];
                                struct wf_decision want =
                                    spec_decide((enum policy)p, ty, x, (enum scope)sc, st, rq, m);
                                struct wf_decision got =
                                    decide((enum policy)p, ty, x, (enum scope)sc, st, rq, m);
                                checked++;
                                if (got.action != want.action || got.err != want.err ||
                                    (want.action != WF_REFUSE && got.to != want.to)) {
                                    mismatched++;
                                    print_message("mismatch: " CTX_FMT ": got %s/%s, want %s/%s\n",
                                                  CTX_ARGS(p, ty, x, sc, st, rq, m),
                                                  action_names[got.action], err_code(got.err),
                                                  action_names[want.action], err_code(want.err));
                                }
                            }
    assert_true(checked > 500);
    assert_int_equal(mismatched, 0);
}

/* ---- workflow_may_complete_async (SPEC 11.4) ---- */

#define APP_1 "0H4AAAAAAAAAAA1"
#define APP_2 "0H4AAAAAAAAAAA2"
#define CREATOR "005CCCCCCCCCCCC"
#define EXECUTOR "005XXXXXXXXXXXX"
#define BYSTANDER "005YYYYYYYYYYYY"
#define EXEC_1 "0AeEEEEEEEEEEE1"
#define EXEC_2 "0AeEEEEEEEEEEE2"

static bool may(const char *app, const char *user, bool view_all, const char *callback)
{
    struct group g;
    struct execution e;
    struct principal pr;
    memset(&g, 0, sizeof(g));
    memset(&e, 0, sizeof(e));
    memset(&pr, 0, sizeof(pr));
    strcpy(g.app_id, APP_1);
    strcpy(g.creator_id, CREATOR);
    strcpy(e.id, EXEC_1);
    strcpy(e.user_id, EXECUTOR);
    e.status = STATUS_PENDING;
    strcpy(pr.app.id, app);
    strcpy(pr.user.id, user);
    pr.user.view_all_data = view_all;
    strcpy(pr.callback_execution_id, callback);
    return workflow_may_complete_async(&g, &e, &pr);
}

static void test_may_complete_through_app(void **state)
{
    (void)state;
    assert_true(may(APP_1, EXECUTOR, false, ""));
    assert_true(may(APP_1, CREATOR, false, ""));
    assert_true(may(APP_1, BYSTANDER, true, ""));
    assert_false(may(APP_1, BYSTANDER, false, ""));
}

static void test_may_not_complete_through_other_app(void **state)
{
    (void)state;
    assert_false(may(APP_2, EXECUTOR, false, ""));
    assert_false(may(APP_2, CREATOR, false, ""));
    assert_false(may(APP_2, BYSTANDER, true, ""));
    assert_false(may(APP_2, CREATOR, true, ""));
}

static void test_may_complete_with_callback_token(void **state)
{
    (void)state;
    /* the callback token of this execution, whoever it names */
    assert_true(may(APP_1, EXECUTOR, false, EXEC_1));
    assert_true(may(APP_2, BYSTANDER, false, EXEC_1));
    /* the callback token of another execution is good for nothing here, even when its
     * app and user would otherwise qualify */
    assert_false(may(APP_1, EXECUTOR, false, EXEC_2));
    assert_false(may(APP_1, CREATOR, true, EXEC_2));
}

static void test_may_complete_all_combinations(void **state)
{
    (void)state;
    const char *apps[] = {APP_1, APP_2};
    const char *users[] = {EXECUTOR, CREATOR, BYSTANDER};
    const char *callbacks[] = {"", EXEC_1, EXEC_2};
    for (size_t a = 0; a < N(apps); a++)
        for (size_t u = 0; u < N(users); u++)
            for (int v = 0; v <= 1; v++)
                for (size_t c = 0; c < N(callbacks); c++) {
                    bool want;
                    if (callbacks[c][0])
                        want = c == 1;
                    else
                        want = a == 0 && (u == 0 || u == 1 || v);
                    if (may(apps[a], users[u], v, callbacks[c]) != want)
                        fail_msg("app=%s user=%s viewAll=%d callback=%s: want %d", apps[a],
                                 users[u], v, callbacks[c], (int)want);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited_always_refused),
        cmocka_unit_test(test_api_new_to_pending_creates),
        cmocka_unit_test(test_api_new_to_terminal_refused),
        cmocka_unit_test(test_api_pending_again_is_noop),
        cmocka_unit_test(test_once_other_user_already_executed),
        cmocka_unit_test(test_other_link_already_executed),
        cmocka_unit_test(test_api_completion_refused_to_clients),
        cmocka_unit_test(test_apiasync_completion),
        cmocka_unit_test(test_apiasync_late_completion_own),
        cmocka_unit_test(test_apiasync_late_completion_by_creator),
        cmocka_unit_test(test_download_ui_new_creates_any),
        cmocka_unit_test(test_download_ui_completion),
        cmocka_unit_test(test_download_ui_pending_again_is_noop),
        cmocka_unit_test(test_new_to_new),
        cmocka_unit_test(test_back_to_new_refused),
        cmocka_unit_test(test_terminal_is_final),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_expired_existing_execution_follows_rows),
        cmocka_unit_test(test_sweep_against_spec),
        cmocka_unit_test(test_may_complete_through_app),
        cmocka_unit_test(test_may_not_complete_through_other_app),
        cmocka_unit_test(test_may_complete_with_callback_token),
        cmocka_unit_test(test_may_complete_all_combinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
