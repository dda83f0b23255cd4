/*
 * buf.h: oe_buf, the growable byte buffer (buf.c). The one header the
 * engine (through oe.h) and the simulator (core/sim/) share. The buffer
 * owns its data: buf_free releases it; the data is always NUL-terminated
 * after len, so it can be read as a C string.
 */
#ifndef OE_BUF_H
#define OE_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} oe_buf;

void buf_reserve(oe_buf *b, size_t n); /* room for n more bytes and a NUL */
void buf_append(oe_buf *b, const void *p, size_t n);
void buf_free(oe_buf *b);

#endif
