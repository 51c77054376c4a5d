/* Mappings of the error table in err.h. */
#include "core/err.h"

static const int http_of[] = {
#define X(name, http, code) http,
    ERR_TABLE(X)
#undef X
};

static const char *const code_of[] = {
#define X(name, http, code) code,
    ERR_TABLE(X)
#undef X
};

int err_http_status(enum err e)
{
    return (unsigned)e < ERR__COUNT ? http_of[e] : 500;
}

const char *err_code(enum err e)
{
    return (unsigned)e < ERR__COUNT ? code_of[e] : "UNKNOWN_EXCEPTION";
}
