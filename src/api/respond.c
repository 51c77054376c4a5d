/* Reply helpers and request-body parsing shared by every handler. */
#include "api/internal.h"

#include "core/text.h"

#include "domain/validate.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char json_content_type[] = "application/json;charset=UTF-8";

void reply_json(struct api_req *r, int status, json_t *body)
{
    if (!r->resp) {
        json_decref(body);
        return;
    }
    free(r->resp->body);
    r->resp->status = status;
    r->resp->body = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (!r->resp->body) {
        /* Only a bug gets here (a value jansson cannot encode): still answer in shape. */
        r->resp->status = 500;
        r->resp->body = strdup("[{\"errorCode\":\"UNKNOWN_EXCEPTION\",\"message\":"
                               "\"the answer could not be encoded\"}]");
    }
    r->resp->body_len = r->resp->body ? strlen(r->resp->body) : 0;
    r->resp->content_type = json_content_type;
    json_decref(body);
}

void reply_json_text(struct api_req *r, int status, struct buf *text)
{
    if (!r->resp) {
        buf_cleanup(text);
        return;
    }
    free(r->resp->body);
    r->resp->status = status;
    r->resp->body_len = text->len;
    r->resp->body = buf_steal(text);
    r->resp->content_type = json_content_type;
}

void reply_definition(struct api_req *r, int status, const struct group *g)
{
    struct buf b;
    buf_init(&b, 0);
    present_definition_write(&b, &r->pc, g);
    reply_json_text(r, status, &b);
}

void reply_error(struct api_req *r, enum err e, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* vsnprintf may have cut a multi-byte character: back up to a character boundary. */
    size_t n = strlen(msg);
    if (n == sizeof(msg) - 1) {
        while (n && ((unsigned char)msg[n - 1] & 0xc0) == 0x80)
            n--;
        if (n && (unsigned char)msg[n - 1] >= 0xc0)
            n--;
        msg[n] = '\0';
    }
    reply_json(r, err_http_status(e), present_error(err_code(e), msg));
}

void reply_no_content(struct api_req *r)
{
    if (!r->resp)
        return;
    free(r->resp->body);
    r->resp->body = NULL;
    r->resp->body_len = 0;
    r->resp->status = 204;
    r->resp->content_type = NULL;
}

static bool is_form_or_xml(const char *ct)
{
    if (!ct)
        return false;
    return strcasestr(ct, "xml") || strcasestr(ct, "x-www-form-urlencoded") ||
           strcasestr(ct, "multipart/form-data");
}

/* Past JSON's whitespace (RFC 8259: space, tab, CR, LF; not NUL). */
static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

bool read_body_one_word(struct api_req *r, const char *key, char *out, size_t cap)
{
    const char *p = r->http->body;
    size_t klen = strlen(key), n = 0;
    if (!p || is_form_or_xml(http_header(r->http, "Content-Type")))
        return false;
    const char *end = p + r->http->body_len;
    p = skip_space(p, end);
    if (end - p < (ptrdiff_t)klen + 3 || *p != '{' || p[1] != '"' ||
        memcmp(p + 2, key, klen) != 0 || p[2 + klen] != '"')
        return false;
    p = skip_space(p + klen + 3, end);
    if (p == end || *p++ != ':')
        return false;
    p = skip_space(p, end);
    if (p == end || *p++ != '"')
        return false;
    while (p < end && n + 1 < cap && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
        out[n++] = *p++;
    if (n == 0 || p == end || *p++ != '"')
        return false;
    p = skip_space(p, end);
    if (p == end || *p++ != '}' || skip_space(p, end) != end)
        return false;
    out[n] = '\0';
    return true;
}

enum err read_json_body(struct api_req *r, bool allow_empty, json_t **out)
{
    *out = NULL;
    const char *ct = http_header(r->http, "Content-Type");
    size_t n = r->http->body_len;
    const char *p = r->http->body;
    if (is_form_or_xml(ct)) {
        reply_error(r, ERR_MEDIA, "the body must be JSON; XML and form bodies are not supported");
        return ERR_MEDIA;
    }
    if (!p || skip_space(p, p + n) == p + n) {
        if (allow_empty)
            return ERR_OK;
        reply_error(r, ERR_JSON, "the request body is empty; a JSON object is expected");
        return ERR_JSON;
    }
    if (validate_json_depth(p, n, API_MAX_JSON_DEPTH) > API_MAX_JSON_DEPTH) {
        reply_error(r, ERR_JSON, "the JSON nests deeper than %d levels", API_MAX_JSON_DEPTH);
        return ERR_JSON;
    }
    json_error_t je;
    *out = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (!*out) {
        reply_error(r, ERR_JSON, "malformed JSON at line %d, column %d: %s", je.line, je.column,
                    je.text);
        return ERR_JSON;
    }
    return ERR_OK;
}

bool parse_id_or_reply(struct api_req *r, const char *in, enum id_kind kind, char out[ID_LEN + 1])
{
    if (id_parse(in, kind, out))
        return true;
    reply_error(r, ERR_ID, "invalid id: expected a %s id (15 or 18 characters starting %s)",
                kind == ID_GROUP  ? "group"
                : kind == ID_LINK ? "link"
                : kind == ID_USER ? "user"
                                  : "record",
                id_prefix(kind));
    return false;
}

const char *public_base_url(struct api_req *r)
{
    if (r->base_url)
        return r->base_url;
    const char *base = r->api->cfg.public_url;
    if (base && *base) {
        size_t n = strlen(base);
        while (n && base[n - 1] == '/')
            n--;
        return arena_strndup(r->a, base, n);
    }
    const char *host = http_header(r->http, "Host");
    return arena_join(r->a, "http://", host && *host ? host : "localhost", NULL);
}

/* Decodes a form component (+ is a space, %XX a byte) into the arena; NULL on a bad
 * escape or a NUL byte. */
static char *form_decode(struct arena *a, const char *s, size_t n)
{
    char *out = arena_alloc(a, n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *w++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < n ? text_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < n ? text_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return NULL;
            *w++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *w++ = s[i];
        }
    }
    *w = '\0';
    return out;
}

bool read_form(struct api_req *r, struct form_field *out, size_t *n)
{
    *n = 0;
    const char *p = r->http->body, *end = p + r->http->body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            if (*n >= API_MAX_FORM_FIELDS)
                return false;
            const char *name_end = eq ? eq : stop;
            out[*n].name = form_decode(r->a, p, (size_t)(name_end - p));
            out[*n].value =
                eq ? form_decode(r->a, eq + 1, (size_t)(stop - eq - 1)) : arena_strdup(r->a, "");
            if (!out[*n].name || !out[*n].value)
                return false;
            (*n)++;
        }
        p = stop + 1;
    }
    return true;
}

const char *form_get(struct api_req *r, const struct form_field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].name, name) == 0)
            return f[i].value;
    return http_query(r->http, name);
}

void api_wait(struct api_req *r, void *state, void (*then)(struct api_req *r))
{
    r->state = state;
    r->then = then;
    r->http->state = r;
    http_later(r->http, HTTP_ON_RESUME);
}
