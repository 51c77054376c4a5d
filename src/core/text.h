/* Small text helpers shared by the layers. */
#ifndef AL_TEXT_H
#define AL_TEXT_H

#include <stddef.h>

/* The value of a hexadecimal digit (either case), or -1. */
int text_hex_digit(char c);

/* Writes the n bytes of in as 2n lowercase hexadecimal digits and a NUL into out. */
void text_hex(const unsigned char *in, size_t n, char *out);

#endif
