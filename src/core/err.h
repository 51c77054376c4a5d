/* The project's one error enum. Each row names an error, the HTTP status it maps to
 * when it reaches a client, and its Salesforce errorCode string. ERR_OK is 0. */
#ifndef AL_ERR_H
#define AL_ERR_H

#define ERR_TABLE(X)                                                                   \
    X(ERR_OK, 200, "OK")                                                               \
    X(ERR_JSON, 400, "JSON_PARSER_ERROR")                                              \
    X(ERR_INPUT, 400, "INVALID_API_INPUT")                                             \
    X(ERR_ID, 400, "INVALID_ID_FIELD")                                                 \
    X(ERR_STATUS, 400, "INVALID_STATUS")                                               \
    X(ERR_SESSION, 401, "INVALID_SESSION_ID")                                          \
    X(ERR_ACCESS, 403, "INSUFFICIENT_ACCESS")                                          \
    X(ERR_NOT_FOUND, 404, "NOT_FOUND")                                                 \
    X(ERR_METHOD, 405, "METHOD_NOT_ALLOWED")                                           \
    X(ERR_TRANSITION, 409, "INVALID_STATUS_TRANSITION")                                \
    X(ERR_EXECUTED, 409, "ALREADY_EXECUTED")                                           \
    X(ERR_EXPIRED, 409, "ACTION_LINK_EXPIRED")                                         \
    X(ERR_TOO_LARGE, 413, "REQUEST_TOO_LARGE")                                         \
    X(ERR_MEDIA, 415, "UNSUPPORTED_MEDIA_TYPE")                                        \
    X(ERR_INTERNAL, 500, "UNKNOWN_EXCEPTION")                                          \
    X(ERR_UNAVAILABLE, 503, "SERVER_UNAVAILABLE")                                      \
    /* not seen by clients: a conditional write lost a race, the caller re-reads */   \
    X(ERR_CONFLICT, 409, "CONFLICT")                                                   \
    X(ERR_EXISTS, 400, "DUPLICATE_VALUE")

enum err {
#define X(name, http, code) name,
    ERR_TABLE(X)
#undef X
        ERR__COUNT
};

/* The HTTP status for an error. */
int err_http_status(enum err e);
/* The errorCode string, a static string. */
const char *err_code(enum err e);

#endif
