/* JSON-lines logger; one fputs per line so lines from threads never interleave. */
#include "core/log.h"

#include "core/clock.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
    min_level = level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[1024], line[2300], when[CLOCK_ISO_LEN + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    clock_format(clock_now_ms(), when);
    size_t n = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
                                when, names[level]);
    for (const char *p = msg; *p && n < sizeof(line) - 8; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            line[n++] = '\\';
            line[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(line + n, 7, "\\u%04x", c);
        } else {
            line[n++] = (char)c;
        }
    }
    line[n++] = '"';
    line[n++] = '}';
    line[n++] = '\n';
    line[n] = '\0';
    fputs(line, stderr);
}
