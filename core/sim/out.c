/*
 * out.c: output helpers for the simulator: writing to an oe_buf (text,
 * printf, taking its data), JSON string escaping the way Go's encoding/json
 * does it (so bodies look like Ollama's), RFC 3339 timestamps. Growing and
 * freeing the buffer is core/buf.c's.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

void out_puts(oe_buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void out_putc(oe_buf *b, char c) { buf_append(b, &c, 1); }

void out_printf(oe_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *out_steal(oe_buf *b)
{
    if (!b->data)
        buf_reserve(b, 0), b->data[0] = 0;
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *out_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        abort();
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * Append s as a quoted JSON string, escaped as Go's json.Marshal does:
 * <, > and & as \u003c..., U+2028/9 escaped, invalid UTF-8 as \ufffd.
 */
void out_json_str(oe_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t adv = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' &&
            c != '&' && c < 0x80) {
            i++;
            continue;
        }
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x80) {
            memcpy(tmp, "\\u00", 4);
            tmp[4] = hex[c >> 4], tmp[5] = hex[c & 15], tmp[6] = 0;
            esc = tmp;
        } else {
            adv = utf8_len(u + i, n - i);
            if (adv == 0) {
                esc = "\\ufffd", adv = 1;
            } else if (adv == 3 && c == 0xe2 && u[i + 1] == 0x80 &&
                       (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
                esc = u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
            } else {
                i += adv;
                continue;
            }
        }
        buf_append(b, s + run, i - run);
        out_puts(b, esc);
        i += adv;
        run = i;
    }
    buf_append(b, s + run, n - run);
    out_putc(b, '"');
}

void out_json_cstr(oe_buf *b, const char *s) { out_json_str(b, s, strlen(s)); }

/* RFC 3339 UTC with nanoseconds, trailing zeros trimmed (Go's format). */
void out_rfc3339(char *out, size_t n, int64_t add_sec)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec + add_sec;
    gmtime_r(&t, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    if (ts.tv_nsec) {
        char frac[16];
        snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
        size_t fl = strlen(frac);
        while (frac[fl - 1] == '0')
            frac[--fl] = 0;
        snprintf(out + k, n - k, "%sZ", frac);
    } else {
        snprintf(out + k, n - k, "Z");
    }
}
