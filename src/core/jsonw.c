/* Escaping follows jansson 2.14's dump: '"', '\\' and the control characters below
 * 0x20 are escaped (\b \f \n \r \t by name, the rest as \u00XX in upper-case hex);
 * '/' and non-ASCII characters are written as they are. */
#include "core/jsonw.h"

#include <string.h>

void jw_raw(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void jw_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_append(b, "\"", 1);
    const char *run = s;
    for (const char *p = s;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(b, run, (size_t)(p - run));
        if (!ch)
            break;
        char esc[7] = {'\\', 0};
        size_t n = 2;
        switch (ch) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            n = 6;
        }
        buf_append(b, esc, n);
        run = p + 1;
    }
    buf_append(b, "\"", 1);
}

void jw_string_or_null(struct buf *b, const char *s)
{
    if (s)
        jw_string(b, s);
    else
        buf_append(b, "null", 4);
}

void jw_bool(struct buf *b, bool v)
{
    if (v)
        buf_append(b, "true", 4);
    else
        buf_append(b, "false", 5);
}
