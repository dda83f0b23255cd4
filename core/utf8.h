/*
 * utf8.h: the UTF-8 check of outside text (the lines of a JSONL dataset):
 * the verdict and the position Lua's utf8.len(s) gives (strict: no
 * overlong form, no surrogate, nothing above U+10FFFF), in C with an ASCII
 * fast path. Pure: no allocation, no state.
 */
#ifndef OE_UTF8_H
#define OE_UTF8_H

#include <stddef.h>

#include <lua.h>

/* 0 when s[0..n) is valid UTF-8, else the 1-based position of the first
 * byte of the first invalid sequence (utf8.len's second result). */
size_t oe_utf8_invalid(const char *s, size_t n);

/* core.utf8_valid(s) -> true  or  nil, position (as utf8.len(s) fails) */
int oe_l_utf8_valid(lua_State *L);

#endif
