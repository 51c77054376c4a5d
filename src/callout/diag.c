/* Diagnostic lines. URLs are taken apart with curl's URL parser, the same one that makes
 * the request, so the line names what was actually called. */
#include "callout/diag.h"

#include "core/buf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *diag_url(struct arena *a, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        bool has_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
        bool default_port =
            has_port && ((strcasecmp(scheme, "https") == 0 && strcmp(port, "443") == 0) ||
                         (strcasecmp(scheme, "http") == 0 && strcmp(port, "80") == 0));
        out = arena_printf(a, "%s://%s%s%s%s", scheme, host, has_port && !default_port ? ":" : "",
                           has_port && !default_port ? port : "", path);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return out ? out : arena_strdup(a, "(invalid URL)");
}

char *diag_url_kept(struct diag_urls *k, struct arena *a, const char *url)
{
    if (!url)
        return diag_url(a, url);
    for (unsigned i = 0; i < DIAG_URLS_KEPT; i++)
        if (k->url[i] && strcmp(k->url[i], url) == 0)
            return arena_strdup(a, k->shown[i]);
    char *shown = diag_url(a, url);
    /* not kept: a URL that may hold a secret, or one that did not parse (which may have
     * been curl running out of memory) */
    if (strlen(url) > DIAG_URL_KEPT_MAX || strpbrk(url, "?#@") ||
        strcmp(shown, "(invalid URL)") == 0)
        return shown;
    char *u = strdup(url), *sh = strdup(shown);
    if (!u || !sh) {
        free(u);
        free(sh);
        return shown;
    }
    unsigned i = k->next++ % DIAG_URLS_KEPT;
    free(k->url[i]);
    free(k->shown[i]);
    k->url[i] = u;
    k->shown[i] = sh;
    return shown;
}

void diag_urls_free(struct diag_urls *k)
{
    for (unsigned i = 0; i < DIAG_URLS_KEPT; i++) {
        free(k->url[i]);
        free(k->shown[i]);
        k->url[i] = k->shown[i] = NULL;
    }
}

const char *diag_reason(long code)
{
    static const struct {
        long code;
        const char *reason;
    } reasons[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {102, "Processing"},
        {103, "Early Hints"},
        {207, "Multi-Status"},
        {208, "Already Reported"},
        {226, "IM Used"},
        {423, "Locked"},
        {424, "Failed Dependency"},
        {506, "Variant Also Negotiates"},
        {507, "Insufficient Storage"},
        {508, "Loop Detected"},
        {510, "Not Extended"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {305, "Use Proxy"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {413, "Content Too Large"},
        {414, "URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {421, "Misdirected Request"},
        {422, "Unprocessable Content"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {451, "Unavailable For Legal Reasons"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
        {511, "Network Authentication Required"},
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].code == code)
            return reasons[i].reason;
    return NULL;
}

static void escape_excerpt(struct buf *b, const char *body, size_t len)
{
    if (len > DIAG_EXCERPT)
        len = DIAG_EXCERPT;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)body[i];
        switch (c) {
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        default:
            if (c < 0x20 || c > 0x7e)
                buf_printf(b, "\\x%02X", c);
            else
                buf_append(b, &c, 1);
        }
    }
}

char *diag_answered(struct arena *a, const char *verb, const char *shown, long code, int64_t ms,
                    const char *body, size_t body_len)
{
    struct buf b;
    buf_init(&b, 0);
    const char *reason = diag_reason(code);
    buf_printf(&b, "%s %s -> HTTP %ld%s%s in %lld ms; response: ", verb, shown, code,
               reason ? " " : "", reason ? reason : "", (long long)ms);
    escape_excerpt(&b, body ? body : "", body ? body_len : 0);
    char *out = arena_strndup(a, b.data, b.len);
    buf_cleanup(&b);
    return out;
}

char *diag_failed(struct arena *a, const char *verb, const char *shown, const char *text,
                  int64_t ms)
{
    return arena_printf(a, "%s %s -> %s after %lld ms", verb, shown, text, (long long)ms);
}
