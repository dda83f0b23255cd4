/*
 * utf8.c: the UTF-8 check (utf8.h says what it accepts). ASCII, the bulk
 * of a dataset, is passed over eight bytes at a time; a multi-byte
 * sequence is decoded and held to the same limits as Lua's utf8_decode
 * in strict mode (lutf8lib.c), so the verdict and the position are the
 * ones utf8.len gives.
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#include "utf8.h"

size_t oe_utf8_invalid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i == n)
            break;
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        /* a lead byte: 110xxxxx, 1110xxxx or 11110xxx; a continuation
         * byte or a longer form (Lua decodes 5 and 6 bytes, above
         * U+10FFFF) starts no valid sequence */
        size_t k;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i + 1;
        }
        if (n - i - 1 < k)
            return i + 1; /* cut short by the end */
        for (size_t j = 1; j <= k; j++) {
            unsigned cc = s[i + j];
            if ((cc & 0xC0) != 0x80)
                return i + 1;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i + 1; /* overlong, too large, or a surrogate */
        i += k + 1;
    }
    return 0;
}

int oe_l_utf8_valid(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    size_t bad = oe_utf8_invalid(s, n);
    if (bad == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    lua_pushinteger(L, (lua_Integer)bad);
    return 2;
}
