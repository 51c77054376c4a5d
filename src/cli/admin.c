/* The admin subcommands: user add, app add, token issue, token revoke. They open the
 * store directly (safe beside a running server: the store allows several processes). */
#include "cli/cli.h"

#include "auth/password.h"
#include "auth/token.h"
#include "cli/opts.h"
#include "core/clock.h"
#include "core/rand.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct store *open_store(const char *db)
{
    struct store *s = NULL;
    char why[512];
    if (store_open(db, &s, why, sizeof(why))) {
        fprintf(stderr, "actionlinks: %s\n", why);
        return NULL;
    }
    return s;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
}

static int fail_store(enum err e, const char *what)
{
    if (e == ERR_EXISTS)
        fprintf(stderr, "actionlinks: %s already exists\n", what);
    else if (e == ERR_NOT_FOUND)
        fprintf(stderr, "actionlinks: no such %s\n", what);
    else
        fprintf(stderr, "actionlinks: the database failed (%s)\n", err_code(e));
    return 1;
}

/* Reads one line (the password) from standard input, without its newline. */
static bool read_password(char *out, size_t cap)
{
    if (!fgets(out, (int)cap, stdin))
        return false;
    size_t n = strlen(out);
    if (n && out[n - 1] == '\n')
        out[--n] = '\0';
    if (n && out[n - 1] == '\r')
        out[--n] = '\0';
    return n > 0;
}

static bool valid_username(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 80)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* `user passwd USERNAME`: sets the password read from standard input. */
static int user_passwd(const char *username, const struct opt *o, size_t n)
{
    char pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
    if (!read_password(pw, sizeof(pw)) || strlen(pw) > PASSWORD_MAX) {
        fprintf(stderr, "actionlinks: expected a password of 1 to %d bytes on standard input\n",
                PASSWORD_MAX);
        return 2;
    }
    bool hashed = password_hash(pw, hash);
    OPENSSL_cleanse(pw, sizeof(pw));
    if (!hashed) {
        fprintf(stderr, "actionlinks: cannot hash the password\n");
        return 1;
    }
    struct store *s = open_store(opts_get(o, n, "db"));
    if (!s)
        return 1;
    struct arena a;
    arena_init(&a);
    struct user u;
    enum err e = store_user_by_name(s, username, &a, &u);
    if (!e)
        e = store_user_set_password(s, u.id, hash);
    int rc = e ? fail_store(e, "user") : 0;
    if (!e) {
        char id18[ID_LEN18 + 1];
        id_to18(u.id, id18);
        if (opts_flag(o, n, "json"))
            print_json(json_pack("{s:s, s:s}", "id", id18, "username", username));
        else
            printf("password set for %s\n", username);
    }
    arena_cleanup(&a);
    store_close(s);
    return rc;
}

int cli_user(int argc, char **argv)
{
    static const char usage[] =
        "usage: actionlinks user add USERNAME [--name NAME] [--password-stdin] "
        "[--view-all-data]\n         [--customize-application] [--manager USERNAME] "
        "[--db LOCATION] [--json]\n"
        "       actionlinks user passwd USERNAME [--db LOCATION] [--json]   (the new "
        "password on standard input)\n";
    struct opt o[] = {{"name", false, NULL},          {"password-stdin", true, NULL},
                      {"view-all-data", true, NULL},  {"customize-application", true, NULL},
                      {"manager", false, NULL},       {"db", false, "./actionlinks.db"},
                      {"json", true, NULL}};
    size_t n = sizeof(o) / sizeof(o[0]), n_pos;
    const char *pos[2];
    char why[256] = "";
    if (!opts_parse(argc, argv, o, n, pos, 2, &n_pos, why, sizeof(why)) || n_pos != 2 ||
        (strcmp(pos[0], "add") != 0 && strcmp(pos[0], "passwd") != 0)) {
        fprintf(stderr, "%s%s%s", why, why[0] ? "\n" : "", usage);
        return 2;
    }
    if (strcmp(pos[0], "passwd") == 0)
        return user_passwd(pos[1], o, n);
    if (!valid_username(pos[1])) {
        fprintf(stderr, "actionlinks: a username is 1 to 80 characters without spaces\n");
        return 2;
    }
    struct user u;
    memset(&u, 0, sizeof(u));
    char pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
    if (opts_flag(o, n, "password-stdin")) {
        if (!read_password(pw, sizeof(pw)) || strlen(pw) > PASSWORD_MAX) {
            fprintf(stderr, "actionlinks: expected a password of 1 to %d bytes on standard "
                            "input\n", PASSWORD_MAX);
            return 2;
        }
        bool ok = password_hash(pw, hash);
        OPENSSL_cleanse(pw, sizeof(pw));
        if (!ok) {
            fprintf(stderr, "actionlinks: cannot hash the password\n");
            return 1;
        }
        u.password_hash = hash;
    }
    struct store *s = open_store(opts_get(o, n, "db"));
    if (!s)
        return 1;
    int rc = 0;
    struct arena a;
    arena_init(&a);
    const char *manager = opts_get(o, n, "manager");
    if (manager) {
        struct user m;
        enum err e = store_user_by_name(s, manager, &a, &m);
        if (e) {
            rc = fail_store(e, "manager");
            goto out;
        }
        memcpy(u.manager_id, m.id, sizeof(u.manager_id));
    }
    id_new(ID_USER, u.id);
    u.username = pos[1];
    u.name = opts_get(o, n, "name") ? opts_get(o, n, "name") : pos[1];
    u.view_all_data = opts_flag(o, n, "view-all-data");
    u.customize_application = opts_flag(o, n, "customize-application");
    enum err e = store_user_add(s, &u);
    if (e) {
        rc = fail_store(e, "user");
        goto out;
    }
    char id18[ID_LEN18 + 1];
    id_to18(u.id, id18);
    if (opts_flag(o, n, "json"))
        print_json(json_pack("{s:s, s:s, s:s}", "id", id18, "username", u.username, "name",
                             u.name));
    else
        printf("created user %s (%s)\n", u.username, id18);
out:
    arena_cleanup(&a);
    store_close(s);
    return rc;
}

int cli_app(int argc, char **argv)
{
    static const char usage[] = "usage: actionlinks app add NAME [--db LOCATION] [--json]\n";
    struct opt o[] = {{"db", false, "./actionlinks.db"}, {"json", true, NULL}};
    size_t n = sizeof(o) / sizeof(o[0]), n_pos;
    const char *pos[2];
    char why[256] = "";
    if (!opts_parse(argc, argv, o, n, pos, 2, &n_pos, why, sizeof(why)) || n_pos != 2 ||
        strcmp(pos[0], "add") != 0 || !valid_username(pos[1])) {
        fprintf(stderr, "%s%s%s", why, why[0] ? "\n" : "", usage);
        return 2;
    }
    struct store *s = open_store(opts_get(o, n, "db"));
    if (!s)
        return 1;
    struct app app;
    memset(&app, 0, sizeof(app));
    char client_id[49], secret[65], hash[TOKEN_HASH_LEN + 1];
    id_new(ID_APP, app.id);
    app.name = pos[1];
    rand_base62(client_id, sizeof(client_id) - 1);
    rand_base62(secret, sizeof(secret) - 1);
    app.client_id = client_id;
    token_hash(secret, hash);
    enum err e = store_app_add(s, &app, hash);
    store_close(s);
    if (e)
        return fail_store(e, "app");
    char id18[ID_LEN18 + 1];
    id_to18(app.id, id18);
    if (opts_flag(o, n, "json"))
        print_json(json_pack("{s:s, s:s, s:s, s:s}", "id", id18, "name", app.name, "client_id",
                             client_id, "client_secret", secret));
    else
        printf("created app %s (%s)\nclient_id: %s\nclient_secret: %s\n", app.name, id18,
               client_id, secret);
    OPENSSL_cleanse(secret, sizeof(secret));
    return 0;
}

static int token_issue_cmd(const char *username, const struct opt *o, size_t n)
{
    const char *app_name = opts_get(o, n, "app");
    char *end;
    long long ttl = strtoll(opts_get(o, n, "ttl"), &end, 10);
    if (!app_name || *end || ttl < 1 || ttl > 10LL * 365 * 86400) {
        fprintf(stderr, "actionlinks: token issue needs --app NAME and a --ttl of 1 second "
                        "to 10 years\n");
        return 2;
    }
    struct store *s = open_store(opts_get(o, n, "db"));
    if (!s)
        return 1;
    struct arena a;
    arena_init(&a);
    struct user u;
    struct app app;
    int rc = 0;
    enum err e = store_user_by_name(s, username, &a, &u);
    if (e) {
        rc = fail_store(e, "user");
        goto out;
    }
    if ((e = store_app_by_name(s, app_name, &a, &app))) {
        rc = fail_store(e, "app");
        goto out;
    }
    char token[TOKEN_LEN + 1];
    int64_t expires;
    if ((e = token_issue(s, u.id, app.id, ttl, NULL, token, &expires))) {
        rc = fail_store(e, "token");
        goto out;
    }
    char when[CLOCK_ISO_LEN + 1];
    clock_format(expires, when);
    if (opts_flag(o, n, "json"))
        print_json(json_pack("{s:s, s:s}", "access_token", token, "expires_at", when));
    else
        printf("%s\n", token);
    OPENSSL_cleanse(token, sizeof(token));
out:
    arena_cleanup(&a);
    store_close(s);
    return rc;
}

static int token_revoke_cmd(const char *token, const struct opt *o, size_t n)
{
    struct store *s = open_store(opts_get(o, n, "db"));
    if (!s)
        return 1;
    char hash[TOKEN_HASH_LEN + 1];
    token_hash(token, hash);
    enum err e = store_token_revoke(s, hash);
    store_close(s);
    if (e)
        return fail_store(e, "token");
    if (opts_flag(o, n, "json"))
        print_json(json_pack("{s:b}", "revoked", 1));
    else
        puts("revoked");
    return 0;
}

int cli_token(int argc, char **argv)
{
    static const char usage[] =
        "usage: actionlinks token issue USERNAME --app NAME [--ttl SECONDS] [--db LOCATION] "
        "[--json]\n       actionlinks token revoke TOKEN [--db LOCATION] [--json]\n";
    struct opt o[] = {{"app", false, NULL},
                      {"ttl", false, "7200"},
                      {"db", false, "./actionlinks.db"},
                      {"json", true, NULL}};
    size_t n = sizeof(o) / sizeof(o[0]), n_pos;
    const char *pos[2];
    char why[256] = "";
    if (!opts_parse(argc, argv, o, n, pos, 2, &n_pos, why, sizeof(why)) || n_pos != 2) {
        fprintf(stderr, "%s%s%s", why, why[0] ? "\n" : "", usage);
        return 2;
    }
    if (strcmp(pos[0], "issue") == 0)
        return token_issue_cmd(pos[1], o, n);
    if (strcmp(pos[0], "revoke") == 0)
        return token_revoke_cmd(pos[1], o, n);
    fputs(usage, stderr);
    return 2;
}
