/*
 * jsonstr.c: the journal's lines (evals/journal.lua): core.json_line(head,
 * key, text, ...) and core.json_write(file, head, key, text, ...) make one
 * from lua-cjson's encoding of a record without its long texts (head) and
 * those texts (a reply's thinking and content run to kilobytes); the first
 * returns it, the second writes it to the journal at once, as one write,
 * without making it a Lua string the collector would then sweep. lua-cjson
 * still encodes every record; only the escaping of the long strings is
 * done here, because lua-cjson escapes a byte at a time through a table of
 * strings (about 13 instructions a byte) where this finds the next byte to
 * escape 16 bytes at a time (SSE2, else a byte at a time) and copies the
 * runs between escapes whole.
 *
 * The escaping is lua-cjson's (2.1.0), byte for byte: \b \t \n \f \r, \"
 * and \\, \u00XX (lowercase hex) for the other control bytes and DEL; every
 * other byte as it is (bytes >= 0x80 too, valid UTF-8 or not), except that
 * "/" stays "/" where lua-cjson writes "\/" (in head too: the journal's
 * lines have no "\/").
 *
 * Memory: the line is built in a buffer both functions keep between calls
 * (their upvalue, a userdata that owns it: Lua's allocator, so the
 * sandbox's memory cap counts it; freed with the state, or after a line
 * over 1 MiB), then pushed as a new string or written.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <lauxlib.h>

#include "lapi.h"

/* What follows the backslash for a byte that is escaped: 'u' for \u00XX,
 * 0 for a byte copied as it is. */
static const char ESC[256] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   'u',
    /* 0x80-0xff: copied */
};

/* The first byte of [p, end) that is escaped, or end. */
static const unsigned char *next_escaped(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i del = _mm_set1_epi8(0x7f), ctl = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        /* v == '"', v == '\\', v == DEL, v <= 0x1f (unsigned: min(v, 0x1f) == v) */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, del),
                                              _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)));
        int bits = _mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (p < end && !ESC[*p])
        p++;
    return p;
}

/* Writes the JSON string literal of p[0..n), quotes included, at o (room
 * for 6 n + 2 bytes); returns the end of what it wrote. */
static char *put_quoted(char *o, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *end = p + n;
    *o++ = '"';
    for (;;) {
        const unsigned char *run = p;
        p = next_escaped(p, end);
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p == end)
            break;
        char e = ESC[*p];
        *o++ = '\\';
        *o++ = e;
        if (e == 'u') {
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
        p++;
    }
    *o++ = '"';
    return o;
}

/* The buffer json_line and json_write keep between calls (their upvalue). */
typedef struct {
    char *p;
    size_t cap;
} line_buf;

#define KEEP_MAX (1u << 20) /* a buffer larger than this is freed after the line */

static void buf_resize(lua_State *L, line_buf *b, size_t cap)
{
    void *ud;
    lua_Alloc alloc = lua_getallocf(L, &ud);
    char *p = alloc(ud, b->p, b->cap, cap);
    if (!p && cap > 0)
        luaL_error(L, "json_line: not enough memory for a line of %zu bytes", cap);
    b->p = cap > 0 ? p : NULL;
    b->cap = cap;
}

static int buf_gc(lua_State *L)
{
    line_buf *b = lua_touserdata(L, 1);
    buf_resize(L, b, 0);
    return 0;
}

/* Builds the line of the arguments from index `at` on (head, key, text,
 * ...) in the buffer: head with each "\/" made "/", the members
 * "key":"text" added at its end (a pair whose text is nil or false is left
 * out), and "\n". Returns its length. A head that is not an object, a key
 * without its text, a key that is not a string or a text that is not a
 * string, nil or false raises. */
static size_t build_line(lua_State *L, line_buf *b, int at)
{
    size_t hn;
    const char *h = luaL_checklstring(L, at, &hn);
    int top = lua_gettop(L);
    luaL_argcheck(L, hn >= 2 && h[0] == '{' && h[hn - 1] == '}', at, "not a JSON object");
    luaL_argcheck(L, (top - at) % 2 == 0, top, "a key without its text");
    size_t need = hn + 1;
    for (int i = at + 1; i < top; i += 2) {
        luaL_checktype(L, i, LUA_TSTRING);
        if (!lua_toboolean(L, i + 1))
            continue; /* a text left out */
        luaL_checktype(L, i + 1, LUA_TSTRING);
        size_t n = lua_rawlen(L, i) + lua_rawlen(L, i + 1);
        luaL_argcheck(L, n < (SIZE_MAX - need) / 6 - 6, i + 1, "too long");
        need += 6 * n + 6; /* the worst case: every byte \u00XX; 4 quotes, ':' and ',' */
    }
    if (need > b->cap)
        buf_resize(L, b, need < 4096 ? 4096 : need);
    char *o = b->p;
    /* head without its "}", with lua-cjson's "\/" as "/" */
    const char *p = h, *hend = h + hn - 1, *s;
    while ((s = memchr(p, '/', (size_t)(hend - p))) != NULL) {
        size_t k = (size_t)(s - p);
        if (k > 0 && s[-1] == '\\')
            k--;
        memcpy(o, p, k);
        o += k;
        *o++ = '/';
        p = s + 1;
    }
    memcpy(o, p, (size_t)(hend - p));
    o += hend - p;
    int first = hn == 2;
    for (int i = at + 1; i < top; i += 2) {
        if (!lua_toboolean(L, i + 1))
            continue;
        if (!first)
            *o++ = ',';
        first = 0;
        size_t n;
        const char *t = lua_tolstring(L, i, &n);
        o = put_quoted(o, (const unsigned char *)t, n);
        *o++ = ':';
        t = lua_tolstring(L, i + 1, &n);
        o = put_quoted(o, (const unsigned char *)t, n);
    }
    *o++ = '}';
    *o++ = '\n';
    return (size_t)(o - b->p);
}

/* core.json_line(head, key, text, ...) -> line
 * head: lua-cjson's encoding of a table as an object ("{...}"; lua-cjson
 * escapes every "/", as "\/"); then pairs of strings. The line, as a
 * string: see build_line. */
static int l_json_line(lua_State *L)
{
    line_buf *b = lua_touserdata(L, lua_upvalueindex(1));
    size_t n = build_line(L, b, 1);
    lua_pushlstring(L, b->p, n);
    if (b->cap > KEEP_MAX)
        buf_resize(L, b, 0);
    return 1;
}

/* core.json_write(file, head, key, text, ...) -> bytes  or  nil, message
 * The same line, written to the Lua file at once (an unbuffered file: one
 * write(2)) rather than made a string: the journal's append, which would
 * only write the string and drop it. A write that fails or falls short
 * returns nil and the system's message. */
static int l_json_write(lua_State *L)
{
    luaL_Stream *f = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (!f->closef)
        return luaL_error(L, "json_write: file is closed");
    line_buf *b = lua_touserdata(L, lua_upvalueindex(1));
    size_t n = build_line(L, b, 2);
    errno = 0;
    int ok = fwrite(b->p, 1, n, f->f) == n && fflush(f->f) == 0;
    int e = ok ? 0 : errno ? errno : EIO;
    if (b->cap > KEEP_MAX)
        buf_resize(L, b, 0);
    if (!ok) {
        errno = e;
        return luaL_fileresult(L, 0, NULL);
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* [-0, +0] Adds json_line and json_write to the table on top of L. */
void jsonstr_register(lua_State *L)
{
    line_buf *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->p = NULL;
    b->cap = 0;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, l_json_line, 1);
    lua_setfield(L, -3, "json_line");
    lua_pushcclosure(L, l_json_write, 1);
    lua_setfield(L, -2, "json_write");
}
