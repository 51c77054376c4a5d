/* A placeholder is "{!" name "}" with name of letters, digits, '_' and '.'; anything
 * else that starts with "{!" is literal text. */
#include "domain/render.h"

#include "core/buf.h"

#include <string.h>
#include <strings.h>

static const char *const var_names[] = {
    "actionLinkId", "actionLinkGroupId", "communityId", "communityUrl", "orgId",
    "userId",       "callbackToken",     "callbackUrl"};
enum { VAR_COUNT = sizeof(var_names) / sizeof(var_names[0]) };

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

const char *render_next_var(const char *p, const char **name, size_t *name_len)
{
    for (const char *s = strstr(p, "{!"); s; s = strstr(s + 1, "{!")) {
        const char *n = s + 2, *q = n;
        while (name_char(*q))
            q++;
        if (q > n && *q == '}') {
            *name = n;
            *name_len = (size_t)(q - n);
            return s;
        }
    }
    return NULL;
}

static int var_index(const char *name, size_t len)
{
    for (int i = 0; i < VAR_COUNT; i++)
        if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
            return i;
    return -1;
}

bool render_check(const char *s, char *bad, size_t cap)
{
    const char *name;
    size_t len;
    for (const char *v = render_next_var(s, &name, &len); v;
         v = render_next_var(name + len + 1, &name, &len)) {
        if (var_index(name, len) < 0) {
            if (cap == 0)
                return false;
            size_t n = len < cap - 1 ? len : cap - 1;
            memcpy(bad, name, n);
            bad[n] = '\0';
            return false;
        }
    }
    return true;
}

static const char *var_value(const struct render_ctx *c, int i)
{
    const char *v[] = {
        c->action_link_id, c->action_link_group_id, c->community_id, c->community_url, c->org_id,
        c->user_id,        c->callback_token,       c->callback_url};
    return v[i] ? v[i] : "";
}

static void put_encoded(struct buf *b, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            buf_append(b, &c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

char *render_text(struct arena *a, const char *s, const struct render_ctx *ctx, bool url_encode)
{
    if (!s)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    const char *p = s, *name;
    size_t len;
    for (const char *v = render_next_var(p, &name, &len); v; v = render_next_var(p, &name, &len)) {
        buf_append(&b, p, (size_t)(v - p));
        int i = var_index(name, len);
        if (i < 0)
            buf_append(&b, v, (size_t)(name + len + 1 - v)); /* unknown: left as written */
        else if (url_encode)
            put_encoded(&b, var_value(ctx, i));
        else
            buf_puts(&b, var_value(ctx, i));
        p = name + len + 1;
    }
    buf_puts(&b, p);
    char *out = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_cleanup(&b);
    return out;
}

char *render_host_key(struct arena *a, const char *url)
{
    const char *sep = strstr(url, "://");
    if (url[0] == '/' || !sep)
        return arena_strdup(a, "self");
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < auth + auth_len; p++)
        if (*p == '@')
            host = p + 1;
    size_t host_len = (size_t)(auth + auth_len - host);
    const char *port = NULL;
    if (host_len && host[0] == '[') {
        const char *close = memchr(host, ']', host_len);
        if (close && close + 1 < auth + auth_len && close[1] == ':')
            port = close + 2;
        if (close)
            host_len = (size_t)(close + 1 - host);
    } else {
        const char *colon = memchr(host, ':', host_len);
        if (colon) {
            port = colon + 1;
            host_len = (size_t)(colon - host);
        }
    }
    size_t scheme_len = (size_t)(sep - url);
    bool https = scheme_len == 5 && strncasecmp(url, "https", 5) == 0;
    char *out = arena_printf(a, "%.*s://%.*s:%.*s", (int)scheme_len, url, (int)host_len, host,
                             port ? (int)(auth + auth_len - port) : (https ? 3 : 2),
                             port ? port : (https ? "443" : "80"));
    for (char *p = out; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}
