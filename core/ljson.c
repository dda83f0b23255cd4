/*
 * ljson.c: core.json_encode(v), the JSON writer of the engine's hot path:
 * each journal record (evals/journal.lua) and each chat request body
 * (core/lua/chat.lua). It writes what lua-cjson writes for the same value,
 * byte for byte, but for "/", which it leaves as it is: strings are copied
 * in runs between the bytes that need escaping, and whole numbers below
 * 1e14 are written without printf. A value it does not take (a table with
 * holes or mixed keys, a number key, NaN or infinity, a function or a
 * userdata other than cjson.null, more than 1000 levels) gives nil: the
 * caller encodes it with lua-cjson, which writes it or raises its error.
 *
 * Lifetimes: the text is built in an oe_buf inside a userdata on the
 * call's stack: freed before the call returns, or by the userdata's __gc
 * when a memory error ends the call first.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "lapi.h"

enum { JSON_MAX_DEPTH = 1000 };

/* What a byte becomes in a JSON string: NULL as it is, else its escape
 * (lua-cjson's, without "\/"). */
static const char *esc[256];
static char esc_u[32][8];

static void init_esc(void)
{
    if (esc['"'])
        return;
    for (int c = 0; c < 32; c++) {
        snprintf(esc_u[c], sizeof esc_u[c], "\\u%04x", c);
        esc[c] = esc_u[c];
    }
    esc['\b'] = "\\b";
    esc['\t'] = "\\t";
    esc['\n'] = "\\n";
    esc['\f'] = "\\f";
    esc['\r'] = "\\r";
    esc['"'] = "\\\"";
    esc['\\'] = "\\\\";
    esc[127] = "\\u007f";
}

static void put(oe_buf *b, const char *s, size_t n)
{
    buf_append(b, s, n);
}

/* Whether any of the 8 bytes in x needs escaping (below 0x20, '"', '\\',
 * 0x7f): the usual "has a zero byte" test on x and on x xor each of them. */
static int special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t lt = (x - ones * 0x20) & ~x & high;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\'), del = x ^ (ones * 0x7f);
    q = (q - ones) & ~q & high;
    bs = (bs - ones) & ~bs & high;
    del = (del - ones) & ~del & high;
    return (lt | q | bs | del) != 0;
}

/* A string: runs of bytes that need no escape are copied as they are,
 * found 8 bytes at a time. */
static void put_string(oe_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n + 2);
    b->data[b->len++] = '"';
    size_t run = 0, i = 0;
    while (i < n) {
        size_t end = i + 8 <= n ? i + 8 : n;
        if (end == i + 8) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (!special8(x)) {
                i = end;
                continue;
            }
        }
        for (; i < end; i++) {
            const char *e = esc[(unsigned char)s[i]];
            if (e) {
                if (i > run)
                    put(b, s + run, i - run);
                put(b, e, strlen(e));
                run = i + 1;
            }
        }
    }
    if (n > run)
        put(b, s + run, n - run);
    put(b, "\"", 1);
}

static void put_integer(oe_buf *b, long long v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    put(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* As lua-cjson: "%.14g" of the number as a double. 0: written; -1: NaN or
 * infinity (not taken). */
static int put_number(lua_State *L, int idx, oe_buf *b)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v > -100000000000000LL && v < 100000000000000LL) {
            put_integer(b, (long long)v);
            return 0;
        }
    }
    double d = lua_tonumber(L, idx);
    if (!isfinite(d))
        return -1;
    if (d == floor(d) && fabs(d) < 1e14 && !(d == 0 && signbit(d))) {
        put_integer(b, (long long)d);
        return 0;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.14g", d);
    put(b, tmp, (size_t)n);
    return 0;
}

static int put_value(lua_State *L, int idx, oe_buf *b, int depth);

/* A table: an array when its keys are exactly 1..n, an object when they
 * are all strings ({} for none); else not taken. */
static int put_table(lua_State *L, int t, oe_buf *b, int depth)
{
    if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    lua_Integer n = 0, max = 0;
    int strings = 0, ints = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        n++;
        if (lua_type(L, -1) == LUA_TSTRING) {
            strings = 1;
        } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
            ints = 1;
            if (lua_tointeger(L, -1) > max)
                max = lua_tointeger(L, -1);
        } else {
            lua_pop(L, 1);
            return -1;
        }
    }
    if (n == 0) {
        put(b, "{}", 2);
        return 0;
    }
    if (strings && ints)
        return -1;
    if (ints) {
        if (max != n)
            return -1; /* holes: lua-cjson's sparse-array rules */
        put(b, "[", 1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (i > 1)
                put(b, ",", 1);
            lua_rawgeti(L, t, i);
            int rc = put_value(L, lua_gettop(L), b, depth + 1);
            lua_pop(L, 1);
            if (rc)
                return -1;
        }
        put(b, "]", 1);
        return 0;
    }
    put(b, "{", 1);
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (!first)
            put(b, ",", 1);
        first = 0;
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn); /* a string: not converted in place */
        put_string(b, k, kn);
        put(b, ":", 1);
        if (put_value(L, lua_gettop(L), b, depth + 1)) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    put(b, "}", 1);
    return 0;
}

static int put_value(lua_State *L, int idx, oe_buf *b, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_string(b, s, n);
        return 0;
    }
    case LUA_TNUMBER:
        return put_number(L, idx, b);
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx))
            put(b, "true", 4);
        else
            put(b, "false", 5);
        return 0;
    case LUA_TNIL:
        put(b, "null", 4);
        return 0;
    case LUA_TLIGHTUSERDATA: /* cjson.null */
        if (lua_touserdata(L, idx) != NULL)
            return -1;
        put(b, "null", 4);
        return 0;
    case LUA_TTABLE:
        return put_table(L, idx, b, depth);
    default:
        return -1;
    }
}

static int jsonbuf_gc(lua_State *L)
{
    buf_free(lua_touserdata(L, 1));
    return 0;
}

/* core.json_encode(v) -> the JSON text of v, or nil when lua-cjson must
 * write it (see above) */
static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    oe_buf *b = lua_newuserdatauv(L, sizeof *b, 0); /* 2 */
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, "ollaeval.jsonbuf");
    buf_reserve(b, 256);
    int rc = put_value(L, 1, b, 0);
    lua_settop(L, 2);
    if (rc)
        lua_pushnil(L);
    else
        lua_pushlstring(L, b->data, b->len);
    buf_free(b);
    return 1;
}

void ljson_register(lua_State *L)
{
    init_esc();
    luaL_newmetatable(L, "ollaeval.jsonbuf");
    lua_pushcfunction(L, jsonbuf_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
}
