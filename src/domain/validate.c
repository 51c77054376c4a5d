/* Each rule returns at the first violation with a message "<field>: <rule>"; fields are
 * named as the client wrote them, links by index (actionLinks[1].method). */
#include "domain/validate.h"

#include "core/clock.h"
#include "domain/labels.h"
#include "domain/render.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static enum err fail(struct validate_error *e, enum err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum err fail(struct validate_error *e, enum err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

bool validate_bool(const json_t *v, bool *out)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v); /* a NUL inside must not pass for the end */
        if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
            *out = s[0] == 't';
            return true;
        }
    }
    return false;
}

bool validate_header_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

int validate_json_depth(const char *text, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max && (max = depth) > limit)
                return max;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

/* A JSON null counts as absent. */
static const json_t *field(const json_t *o, const char *name)
{
    const json_t *v = json_object_get(o, name);
    return json_is_null(v) ? NULL : v;
}

static enum err enum_field(const json_t *o, const char *name, const char *path,
                           int (*from_name)(const char *), const char *allowed, int *out,
                           struct validate_error *e)
{
    const json_t *v = field(o, name);
    if (!v)
        return fail(e, ERR_INPUT, "%s: is required", path);
    int x = json_is_string(v) ? from_name(json_string_value(v)) : -1;
    if (x < 0)
        return fail(e, ERR_INPUT, "%s: must be one of %s", path, allowed);
    *out = x;
    return ERR_OK;
}

bool validate_has_control(const char *s, bool allow_tab)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && !(allow_tab && *s == '\t')) || *s == 0x7f)
            return true;
    return false;
}

static enum err check_vars(const char *s, const char *path, struct validate_error *e)
{
    char bad[64];
    if (!render_check(s, bad, sizeof(bad)))
        return fail(e, ERR_INPUT, "%s: unknown context variable {!%s}", path, bad);
    return ERR_OK;
}

static enum err check_url(const char *url, const char *path, const struct validate_opts *o,
                          struct validate_error *e)
{
    size_t n = strlen(url);
    if (n == 0)
        return fail(e, ERR_INPUT, "%s: is required", path);
    if (n > VALIDATE_MAX_URL)
        return fail(e, ERR_INPUT, "%s: must be at most %d bytes", path, VALIDATE_MAX_URL);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return fail(e, ERR_INPUT, "%s: must not contain spaces or control characters", path);
    const char *rest = NULL;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0) {
        if (!o->allow_http)
            return fail(e, ERR_INPUT,
                        "%s: http URLs are refused; use https (or start the server with "
                        "--allow-http-callouts)",
                        path);
        rest = url + 7;
    } else if (strncmp(url, "/services/", 10) == 0) {
        return check_vars(url, path, e);
    } else {
        return fail(e, ERR_INPUT,
                    "%s: must be an absolute https URL or a relative URL starting with "
                    "/services/",
                    path);
    }
    /* The authority: up to the first / ? #; the host is what stands after any userinfo
     * and before any port. */
    size_t auth_len = strcspn(rest, "/?#");
    const char *host = rest;
    for (const char *at = rest; at < rest + auth_len; at++)
        if (*at == '@')
            host = at + 1;
    size_t host_len = (size_t)(rest + auth_len - host);
    if (host_len && host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        host_len = close ? (size_t)(close - host - 1) : 0;
    } else {
        const char *colon = memchr(host, ':', host_len);
        if (colon)
            host_len = (size_t)(colon - host);
    }
    if (host_len == 0)
        return fail(e, ERR_INPUT, "%s: must name a host", path);
    return check_vars(url, path, e);
}

enum err validate_action_url(const char *url, const char *field, const struct validate_opts *o,
                             struct validate_error *e)
{
    return check_url(url, field, o, e);
}

static enum err check_user_id(const json_t *l, const char *name, const char *path,
                              char out[ID_LEN + 1], struct validate_error *e)
{
    const json_t *v = field(l, name);
    out[0] = '\0';
    if (!v)
        return ERR_OK;
    if (!json_is_string(v) || !id_parse(json_string_value(v), ID_USER, out)) {
        out[0] = '\0';
        return fail(e, ERR_ID, "%s: must be a user id", path);
    }
    return ERR_OK;
}

static enum err read_headers(const json_t *l, const char *p, struct arena *a, struct link *k,
                             struct validate_error *e)
{
    static const char *const refused[] = {"Host", "Content-Length", "Transfer-Encoding",
                                          "Connection"};
    const json_t *hs = field(l, "headers");
    if (!hs)
        return ERR_OK;
    if (!json_is_array(hs))
        return fail(e, ERR_INPUT, "%s.headers: must be an array of {\"name\",\"value\"}", p);
    size_t n = json_array_size(hs);
    if (n == 0)
        return ERR_OK;
    if (!action_is_api(k->type))
        return fail(e, ERR_INPUT, "%s.headers: only Api and ApiAsync links have headers", p);
    if (n > LINK_MAX_HEADERS)
        return fail(e, ERR_INPUT, "%s.headers: at most %d headers", p, LINK_MAX_HEADERS);
    k->headers = arena_alloc(a, n * sizeof(*k->headers));
    for (size_t i = 0; i < n; i++) {
        const json_t *h = json_array_get(hs, i);
        const json_t *name = json_object_get(h, "name"), *value = json_object_get(h, "value");
        if (!json_is_object(h) || !json_is_string(name) || !json_is_string(value))
            return fail(e, ERR_INPUT,
                        "%s.headers[%zu]: must be {\"name\": string, "
                        "\"value\": string}",
                        p, i);
        const char *nm = json_string_value(name), *val = json_string_value(value);
        if (!validate_header_name(nm))
            return fail(e, ERR_INPUT, "%s.headers[%zu].name: is not a valid header name", p, i);
        for (size_t r = 0; r < sizeof(refused) / sizeof(refused[0]); r++)
            if (strcasecmp(nm, refused[r]) == 0)
                return fail(e, ERR_INPUT, "%s.headers[%zu].name: %s may not be set", p, i,
                            refused[r]);
        if (json_string_length(value) > VALIDATE_MAX_HEADER_VALUE)
            return fail(e, ERR_INPUT, "%s.headers[%zu].value: must be at most %d bytes", p, i,
                        VALIDATE_MAX_HEADER_VALUE);
        if (strlen(val) != json_string_length(value) || validate_has_control(val, true))
            return fail(e, ERR_INPUT, "%s.headers[%zu].value: must not contain control characters",
                        p, i);
        char vp[96];
        snprintf(vp, sizeof(vp), "%s.headers[%zu].value", p, i);
        enum err r = check_vars(val, vp, e);
        if (r)
            return r;
        k->headers[i].name = nm;
        k->headers[i].value = val;
    }
    k->n_headers = n;
    return ERR_OK;
}

static enum err read_link(const json_t *l, size_t index, const struct validate_opts *o,
                          struct arena *a, struct link *k, struct validate_error *e)
{
    char p[32], f[96];
    snprintf(p, sizeof(p), "actionLinks[%zu]", index);
    if (!json_is_object(l))
        return fail(e, ERR_INPUT, "%s: must be an object", p);
    int x = 0;
    enum err r;

#define PATH(name) (snprintf(f, sizeof(f), "%s.%s", p, name), f)
    if ((r = enum_field(l, "actionType", PATH("actionType"), action_type_from_name,
                        "Api, ApiAsync, Download, Ui", &x, e)))
        return r;
    k->type = (enum action_type)x;

    const json_t *url = field(l, "actionUrl");
    if (!url)
        return fail(e, ERR_INPUT, "%s: is required", PATH("actionUrl"));
    if (!json_is_string(url))
        return fail(e, ERR_INPUT, "%s: must be a string", PATH("actionUrl"));
    if ((r = check_url(json_string_value(url), PATH("actionUrl"), o, e)))
        return r;
    k->action_url = json_string_value(url);

    if ((r = enum_field(l, "method", PATH("method"), method_from_name,
                        "HttpDelete, HttpGet, HttpHead, HttpPatch, HttpPost, HttpPut", &x, e)))
        return r;
    k->method = (enum http_method)x;
    if (!action_is_api(k->type) && k->method != METHOD_GET)
        return fail(e, ERR_INPUT, "%s: %s links must use HttpGet", PATH("method"),
                    action_type_name(k->type));

    const json_t *lk = field(l, "labelKey");
    if (!lk)
        return fail(e, ERR_INPUT, "%s: is required", PATH("labelKey"));
    if (!json_is_string(lk))
        return fail(e, ERR_INPUT, "%s: must be a string", PATH("labelKey"));
    if (strcmp(json_string_value(lk), "None") == 0)
        return fail(e, ERR_INPUT, "%s: None is only allowed with a template Label",
                    PATH("labelKey"));
    if (!labels_find(json_string_value(lk)))
        return fail(e, ERR_INPUT, "%s: is not a predefined label key", PATH("labelKey"));
    k->label_key = json_string_value(lk);

    const json_t *rc = field(l, "requiresConfirmation");
    if (!rc)
        return fail(e, ERR_INPUT, "%s: is required", PATH("requiresConfirmation"));
    if (!validate_bool(rc, &k->requires_confirmation))
        return fail(e, ERR_INPUT, "%s: must be a boolean", PATH("requiresConfirmation"));

    const json_t *gd = field(l, "groupDefault");
    if (gd && !validate_bool(gd, &k->group_default))
        return fail(e, ERR_INPUT, "%s: must be a boolean", PATH("groupDefault"));

    if ((r = read_headers(l, p, a, k, e)))
        return r;

    const json_t *body = field(l, "requestBody");
    if (body) {
        if (!json_is_string(body))
            return fail(e, ERR_INPUT, "%s: must be a string", PATH("requestBody"));
        if (!action_is_api(k->type))
            return fail(e, ERR_INPUT, "%s: only Api and ApiAsync links have a body",
                        PATH("requestBody"));
        if (json_string_length(body) > VALIDATE_MAX_BODY)
            return fail(e, ERR_INPUT, "%s: must be at most %d bytes", PATH("requestBody"),
                        VALIDATE_MAX_BODY);
        if (strlen(json_string_value(body)) != json_string_length(body))
            return fail(e, ERR_INPUT, "%s: must not contain NUL characters", PATH("requestBody"));
        if ((r = check_vars(json_string_value(body), PATH("requestBody"), e)))
            return r;
        k->request_body = json_string_value(body);
    }

    if ((r = check_user_id(l, "userId", PATH("userId"), k->user_id, e)))
        return r;
    if ((r = check_user_id(l, "excludedUserId", PATH("excludedUserId"), k->excluded_user_id, e)))
        return r;
    if (k->user_id[0] && k->excluded_user_id[0])
        return fail(e, ERR_INPUT, "%s: userId and excludedUserId are exclusive",
                    PATH("excludedUserId"));
#undef PATH
    return ERR_OK;
}

enum err validate_group_input(const json_t *body, const struct validate_opts *o, struct arena *a,
                              struct group *g, struct validate_error *e)
{
    if (!json_is_object(body))
        return fail(e, ERR_INPUT, "body: must be a JSON object");
    int x = 0;
    enum err r;
    if ((r = enum_field(body, "category", "category", category_from_name, "Primary, Overflow", &x,
                        e)))
        return r;
    g->category = (enum category)x;
    if ((r = enum_field(body, "executionsAllowed", "executionsAllowed", policy_from_name,
                        "Once, OncePerUser, Unlimited", &x, e)))
        return r;
    g->policy = (enum policy)x;

    const json_t *exp = field(body, "expirationDate");
    if (!exp)
        return fail(e, ERR_INPUT, "expirationDate: is required");
    int64_t ms;
    if (!json_is_string(exp) || !clock_parse(json_string_value(exp), &ms))
        return fail(e, ERR_INPUT,
                    "expirationDate: must be an ISO 8601 date-time such as "
                    "2026-11-28T10:15:30.000Z");
    if (ms <= o->now_ms)
        return fail(e, ERR_INPUT, "expirationDate: must be in the future");
    if (ms > o->now_ms + (int64_t)VALIDATE_MAX_DAYS * 86400 * 1000)
        return fail(e, ERR_INPUT, "expirationDate: must be at most %d days from now",
                    VALIDATE_MAX_DAYS);
    g->expiration_ms = ms;

    const json_t *links = field(body, "actionLinks");
    if (!links)
        return fail(e, ERR_INPUT, "actionLinks: is required");
    if (!json_is_array(links))
        return fail(e, ERR_INPUT, "actionLinks: must be an array");
    size_t n = json_array_size(links), max = g->category == CATEGORY_PRIMARY ? 3 : 4;
    if (n < 1 || n > max)
        return fail(e, ERR_INPUT, "actionLinks: a group of category %s has 1 to %zu links",
                    category_name(g->category), max);
    int defaults = 0;
    for (size_t i = 0; i < n; i++) {
        struct link *k = &g->links[i];
        memset(k, 0, sizeof(*k));
        k->position = (int)i;
        if ((r = read_link(json_array_get(links, i), i, o, a, k, e)))
            return r;
        if (k->group_default && ++defaults > 1)
            return fail(e, ERR_INPUT,
                        "actionLinks[%zu].groupDefault: at most one link of a "
                        "group may be the default",
                        i);
        if (g->policy == POLICY_UNLIMITED && action_is_api(k->type))
            return fail(e, ERR_INPUT,
                        "executionsAllowed: Unlimited is not allowed with %s "
                        "links (actionLinks[%zu])",
                        action_type_name(k->type), i);
    }
    g->n_links = n;
    return ERR_OK;
}
