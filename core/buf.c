/*
 * buf.c: oe_buf, the growable byte buffer (see buf.h). Kept apart from
 * http.c so that stream.c links alone (tests/fuzz/fuzz_stream.c). The data
 * is always NUL-terminated after len, so it can be read as a C string.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Makes room for n more bytes and the NUL after them. */
void buf_reserve(oe_buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        abort();
    b->data = d;
    b->cap = cap;
}

void buf_append(oe_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_free(oe_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
