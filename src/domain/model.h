/* The domain model: the enums with their wire names, and the records that the store
 * keeps. Strings in these records are borrowed: they live in the arena of the request
 * or operation that loaded them unless a function says otherwise. */
#ifndef AL_MODEL_H
#define AL_MODEL_H

#include "core/id.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATUS_TABLE(X)                                                                    \
    X(STATUS_NEW, "NewStatus")                                                             \
    X(STATUS_PENDING, "PendingStatus")                                                     \
    X(STATUS_SUCCESSFUL, "SuccessfulStatus")                                               \
    X(STATUS_FAILED, "FailedStatus")

#define ACTION_TYPE_TABLE(X)                                                               \
    X(ACTION_API, "Api")                                                                   \
    X(ACTION_API_ASYNC, "ApiAsync")                                                        \
    X(ACTION_DOWNLOAD, "Download")                                                         \
    X(ACTION_UI, "Ui")

/* wire name, and the verb used on the HTTP request line */
#define METHOD_TABLE(X)                                                                    \
    X(METHOD_DELETE, "HttpDelete", "DELETE")                                               \
    X(METHOD_GET, "HttpGet", "GET")                                                        \
    X(METHOD_HEAD, "HttpHead", "HEAD")                                                     \
    X(METHOD_PATCH, "HttpPatch", "PATCH")                                                  \
    X(METHOD_POST, "HttpPost", "POST")                                                     \
    X(METHOD_PUT, "HttpPut", "PUT")

#define CATEGORY_TABLE(X)                                                                  \
    X(CATEGORY_PRIMARY, "Primary")                                                         \
    X(CATEGORY_OVERFLOW, "Overflow")

#define POLICY_TABLE(X)                                                                    \
    X(POLICY_ONCE, "Once")                                                                 \
    X(POLICY_ONCE_PER_USER, "OncePerUser")                                                 \
    X(POLICY_UNLIMITED, "Unlimited")

#define VISIBILITY_TABLE(X)                                                                \
    X(VISIBILITY_CREATOR, "Creator")                                                       \
    X(VISIBILITY_EVERYONE, "Everyone")                                                     \
    X(VISIBILITY_EVERYONE_BUT_CREATOR, "EveryoneButCreator")                               \
    X(VISIBILITY_MANAGER, "Manager")                                                       \
    X(VISIBILITY_CUSTOM_USER, "CustomUser")                                                \
    X(VISIBILITY_CUSTOM_EXCLUDED_USER, "CustomExcludedUser")

#define X(name, ...) name,
enum visibility { VISIBILITY_TABLE(X) VISIBILITY__COUNT };
enum status { STATUS_TABLE(X) STATUS__COUNT };
enum action_type { ACTION_TYPE_TABLE(X) ACTION_TYPE__COUNT };
enum http_method { METHOD_TABLE(X) METHOD__COUNT };
enum category { CATEGORY_TABLE(X) CATEGORY__COUNT };
enum policy { POLICY_TABLE(X) POLICY__COUNT };
#undef X

/* Wire names (static strings), and lookups by exact wire name (-1 when unknown). */
const char *status_name(enum status s);
int status_from_name(const char *s);
const char *action_type_name(enum action_type t);
int action_type_from_name(const char *s);
const char *method_name(enum http_method m);
const char *method_verb(enum http_method m);
int method_from_name(const char *s);
const char *category_name(enum category c);
int category_from_name(const char *s);
const char *policy_name(enum policy p);
int policy_from_name(const char *s);
const char *visibility_name(enum visibility v);
int visibility_from_name(const char *s);

static inline bool action_is_api(enum action_type t)
{
    return t == ACTION_API || t == ACTION_API_ASYNC;
}

typedef char idbuf[ID_LEN + 1]; /* an id, "" when absent (the one typedef: a fixed array) */

struct user {
    idbuf id;
    const char *username;
    const char *name;
    idbuf manager_id;
    bool view_all_data;
    bool customize_application;
    const char *password_hash; /* NULL when the user has no password */
};

struct app {
    idbuf id;
    const char *name;
    const char *client_id;
};

/* Who is calling: resolved from a token. */
struct principal {
    struct user user;
    struct app app;
    /* For a callback token (SPEC 7.3): the one execution it may complete; "" otherwise. */
    idbuf callback_execution_id;
    int64_t expires_ms; /* when the token ends */
};

struct header {
    const char *name;
    const char *value;
};

enum { GROUP_MAX_LINKS = 4, LINK_MAX_HEADERS = 32 };

struct link {
    idbuf id;
    idbuf group_id;
    int position;
    enum action_type type;
    const char *action_url;
    enum http_method method;
    const char *label_key;
    const char *label; /* a template's custom Label (label_key "None"), else NULL */
    bool requires_confirmation;
    bool group_default;
    struct header *headers;
    size_t n_headers;
    const char *request_body; /* NULL when absent */
    idbuf user_id;             /* only this user sees it */
    idbuf excluded_user_id;    /* this user does not */
    idbuf template_id;
    int64_t created_ms, modified_ms;
};

struct group {
    idbuf id;
    enum category category;
    enum policy policy;
    int64_t expiration_ms; /* 0: never */
    idbuf creator_id;
    idbuf app_id;
    idbuf template_id;
    const char *bindings_json; /* templateBindings it was made with (JSON object), or NULL */
    int64_t created_ms, modified_ms;
    struct link links[GROUP_MAX_LINKS];
    size_t n_links;
};

/* One execution per scope: (group, "") for Once, (group, user) for OncePerUser. */
struct execution {
    idbuf id;
    idbuf group_id;
    idbuf scope_user_id; /* "" for Once */
    idbuf link_id;
    idbuf user_id; /* the executing user */
    enum status status;
    int64_t created_ms, modified_ms;
    int64_t deadline_ms;    /* ApiAsync: Failed if still Pending then (SPEC 7.3); 0 never */
    const char *diagnostic; /* NULL until a callout has a result */
    /* the executing user's username and name, when loaded with it (else NULL) */
    const char *user_username, *user_name;
};

/* A callout rendered at PATCH time (SPEC 7.1), stored with its execution. */
struct callout {
    idbuf execution_id;
    enum action_type type; /* Api or ApiAsync: how the answer maps to a status */
    idbuf user_id;         /* the executing user, and the app that created the link: */
    idbuf app_id;          /* a relative URL is called as that user through that app */
    enum http_method method;
    const char *url;  /* absolute, or relative (/services/...) for a call to this server */
    const char *host; /* the destination the per-host limit counts: "scheme://host:port" */
    struct header *headers;
    size_t n_headers;
    const char *body; /* NULL: none */
    int64_t created_ms;
    /* NULL: queued. Else the node that sends it, which claimed it with the write that
     * makes it: stored started (state 1) by that owner at created_ms. */
    const char *owner;
};

/* An ActionLinkGroupTemplate (SPEC 8). */
struct group_template {
    idbuf id;
    const char *developer_name;
    const char *master_label;
    enum category category;
    enum policy policy;
    int hours_until_expiration; /* -1: not set */
    bool published;
    idbuf creator_id;
    int64_t created_ms, modified_ms;
};

/* An ActionLinkTemplate (SPEC 8). */
struct link_template {
    idbuf id;
    idbuf group_template_id;
    const char *action_url;
    const char *headers; /* "Name: value" lines, or NULL */
    bool requires_confirmation;
    bool group_default;
    const char *label; /* custom label, with label_key "None" */
    const char *label_key;
    enum action_type type;
    enum http_method method;
    int position;
    const char *request_body;
    const char *user_alias;
    enum visibility visibility;
    int64_t created_ms, modified_ms;
};

enum { FEED_MAX_GROUPS = 10 };

/* A post in the feed (SPEC 4.4). */
struct feed_item {
    idbuf id;
    idbuf actor_id;   /* who posted it */
    idbuf subject_id; /* whose feed it is on */
    const char *text;          /* the body's text: the segments' texts joined */
    const char *segments_json; /* the body's messageSegments, as posted (JSON array) */
    int64_t created_ms;
    idbuf group_ids[FEED_MAX_GROUPS]; /* the groups it carries, in order */
    size_t n_groups;
};

/* The diagnostics of SPEC 7.1 and 7.3 that are not an answer from the endpoint. */
#define DIAG_INTERRUPTED "interrupted: the server restarted before the endpoint answered"
#define DIAG_NO_CALLBACK "no completion callback before the deadline"

/* The scope user of a policy for a caller: "" for Once, the caller for OncePerUser. */
const char *model_scope_user(enum policy p, const char *caller_id);

#endif
