/* The web page (issue 5): static files from web/, embedded at build time, served with a
 * strict Content-Security-Policy (no inline script or style, nothing from elsewhere). */
#include "api/internal.h"

#include <stdlib.h>
#include <string.h>

struct web_asset {
    const char *path, *content_type;
    const unsigned char *data;
    size_t len;
};
extern const struct web_asset web_assets[];

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void h_ui(struct api_req *r)
{
    const char *path = strcmp(r->http->path, "/") == 0 ? "/index.html" : r->http->path;
    for (const struct web_asset *w = web_assets; w->path; w++) {
        if (strcmp(w->path, path) != 0)
            continue;
        char *copy = malloc(w->len ? w->len : 1);
        if (!copy)
            break;
        memcpy(copy, w->data, w->len);
        free(r->resp->body);
        r->resp->status = 200;
        r->resp->body = copy;
        r->resp->body_len = w->len;
        r->resp->content_type = w->content_type;
        http_add_header(r->resp, "Content-Security-Policy", csp);
        http_add_header(r->resp, "X-Content-Type-Options", "nosniff");
        http_add_header(r->resp, "Referrer-Policy", "no-referrer");
        http_add_header(r->resp, "Cache-Control", "no-cache");
        return;
    }
    reply_error(r, ERR_NOT_FOUND, "the requested resource does not exist");
}
