/*
 * fuzz_utf8.c: libFuzzer target for the UTF-8 check (core/utf8.c), the
 * verdict on every line of a dataset. The invariant: oe_utf8_invalid()
 * agrees with Lua's utf8.len (strict) on the input and on each of its
 * suffixes and prefixes at a few cuts, in verdict and in position (a
 * sequence cut by the end of a block or line is where they would differ
 * first). tests/fuzz/run builds and runs it:
 *   FUZZ_SECONDS=30 tests/fuzz/run utf8
 */
// build: core/utf8.c /usr/lib/x86_64-linux-gnu/liblua5.4.a -lm -ldl
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../../core/utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *H;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    H = luaL_newstate();
    luaL_openlibs(H);
    return 0;
}

/* utf8.len(s): 0 when valid, else the position it fails at */
static size_t lua_verdict(const char *s, size_t n)
{
    lua_getglobal(H, "utf8");
    lua_getfield(H, -1, "len");
    lua_pushlstring(H, s, n);
    if (lua_pcall(H, 1, 2, 0) != LUA_OK) {
        fprintf(stderr, "utf8.len raised: %s\n", lua_tostring(H, -1));
        abort();
    }
    size_t pos = lua_isnil(H, -2) ? (size_t)lua_tointeger(H, -1) : 0;
    lua_pop(H, 3);
    return pos;
}

static void agree(const char *s, size_t n)
{
    size_t want = lua_verdict(s, n), got = oe_utf8_invalid(s, n);
    if (want != got) {
        fprintf(stderr, "invariant: %zu bytes: utf8.len says %zu, oe_utf8_invalid %zu\n", n, want, got);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    agree(s, size);
    for (size_t cut = 1; cut < size && cut <= 9; cut++) {
        agree(s, size - cut);
        agree(s + cut, size - cut);
    }
    return 0;
}
