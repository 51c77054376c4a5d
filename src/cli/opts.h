/* Command-line options: "--name value", "--name=value" and flags, each also read from an
 * environment variable (ACTIONLINKS_<NAME>, upper case, '-' as '_'). */
#ifndef AL_OPTS_H
#define AL_OPTS_H

#include <stdbool.h>
#include <stddef.h>

struct opt {
    const char *name; /* without the leading "--" */
    bool flag;        /* takes no value */
    const char *value; /* after parsing: the value, "1" for a set flag, or the default */
};

/* Parses argv[0..argc) into opts and up to max_pos positional arguments. On a usage
 * error, writes it to why and returns false. */
bool opts_parse(int argc, char **argv, struct opt *opts, size_t n_opts, const char **pos,
                size_t max_pos, size_t *n_pos, char *why, size_t why_len);
/* The option called name (which must exist). */
const char *opts_get(const struct opt *opts, size_t n_opts, const char *name);
bool opts_flag(const struct opt *opts, size_t n_opts, const char *name);

#endif
