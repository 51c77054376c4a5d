/* Small text helpers shared by the layers. */
#ifndef AL_TEXT_H
#define AL_TEXT_H

/* The value of a hexadecimal digit (either case), or -1. */
int text_hex_digit(char c);

#endif
