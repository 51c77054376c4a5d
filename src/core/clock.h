/* Wall-clock time in milliseconds since the Unix epoch, and its ISO 8601 form. */
#ifndef AL_CLOCK_H
#define AL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum { CLOCK_ISO_LEN = 24 }; /* 2026-11-28T10:15:30.000Z */

int64_t clock_now_ms(void);
/* Monotonic milliseconds, for durations only. */
int64_t clock_mono_ms(void);
/* The CLOCK_REALTIME instant ms milliseconds from now, as pthread_cond_timedwait takes. */
void clock_deadline(int64_t ms, struct timespec *out);
/* Writes ms as 2026-11-28T10:15:30.000Z into out (CLOCK_ISO_LEN + 1 bytes). */
void clock_format(int64_t ms, char out[CLOCK_ISO_LEN + 1]);
/* Parses YYYY-MM-DDTHH:MM:SS[.fff](Z|+HHMM|+HH:MM|-HHMM|-HH:MM); false if malformed. */
bool clock_parse(const char *s, int64_t *ms);

#endif
