/* The action-links API: routes requests to the handlers of each resource family. The
 * handler runs on the HTTP server's threads; everything it needs is in struct api,
 * which is read-only once the server runs. */
#ifndef AL_API_H
#define AL_API_H

#include "api/dispatch.h"
#include "http/server.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct api_config {
    bool allow_http_callouts;
    const char *public_url; /* NULL: http:// + the request's Host */
    const char *self_base;  /* http://host:port we listen on: callbacks when no public URL */
    size_t max_body;
    int64_t async_deadline_ms; /* 0: ApiAsync executions wait for their callback forever */
    int64_t token_ttl_s;       /* access tokens issued by the OAuth endpoint */
};

struct api {
    struct store *store;
    /* NULL: callouts stay queued (tests of the API alone). Made after the server listens
     * (its port is in the address of calls to itself), so read by handlers while it is
     * written: atomic, as is events. */
    struct dispatch *_Atomic dispatch;
    struct throttle *throttle; /* failed logins */
    struct token_cache *tokens; /* recently seen tokens' principals; NULL: none */
    struct events *_Atomic events; /* live status events; NULL: none */
    struct api_config cfg;
};

/* The http_handler_cb of the server; ctx is a struct api. */
void api_handle(void *ctx, struct http_request *req, struct http_response *resp);

#endif
