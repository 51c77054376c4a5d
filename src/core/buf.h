/* A growable byte buffer with a hard size limit, for bodies read from clients and
 * remote servers. The data is always NUL-terminated (the NUL is not counted). */
#ifndef AL_BUF_H
#define AL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len, cap;
    size_t limit; /* 0: no limit */
};

void buf_init(struct buf *b, size_t limit);
void buf_cleanup(struct buf *b);
/* Appends n bytes; false (and nothing appended) when the limit would be passed. */
bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data over to the caller (free with free()), leaving the buffer empty. */
char *buf_steal(struct buf *b);

#endif
