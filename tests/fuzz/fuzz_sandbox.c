/*
 * fuzz_sandbox.c: libFuzzer target for the sandboxed loader and its budgets
 * (core/sandbox.c, core/lua/sandbox.lua): each input is written as a suite
 * file and run sandboxed, as `ollaeval FILE` would, with a small CPU budget
 * (0.05 s), a 64 MiB heap cap and no print output. The invariant: it ends
 * (returns or raises) with the state intact, a raised error is a string, and
 * no escape works: after each input `io`, `os.execute` and the real string
 * table are as they were. The engine's calls (chat, sleep, ...) are no-ops
 * here; the watchdog thread is off (a hang is libFuzzer's -timeout). Run:
 *   FUZZ_SECONDS=10 tests/fuzz/run sandbox
 */
// build: core/sandbox.c /usr/lib/x86_64-linux-gnu/liblua5.4-cjson.a /usr/lib/x86_64-linux-gnu/liblua5.4.a /usr/lib/x86_64-linux-gnu/libuv_a.a -lpthread -ldl -lm
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../../core/sandbox.h"

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* no embedded modules: they are read from the tree (the current folder) */
const struct oe_embedded oe_embedded[] = {{0, 0, 0, 0, 0}};

static lua_State *L;
static int run_ref = LUA_NOREF;
static char dir[64], file[96];

static const char setup[] =
    "local core = ...\n"
    "local real_config = core.sbx_config\n"
    "core.sbx_config = function(t) t.watchdog = nil return real_config(t) end\n"
    "setmetatable(core, { __index = function() return function() end end })\n"
    "package.loaded['ollaeval.core'] = core\n"
    "package.path = './?.lua'\n"
    "table.insert(package.searchers, 2, function(name)\n"
    "  local m = name:match('^ollaeval%.(.+)$')\n"
    "  if m then return assert(loadfile('core/lua/' .. m .. '.lua')) end\n"
    "end)\n"
    "local cmdline = { options = { ['lua-cpu'] = 0.05, ['lua-mem'] = 64, ['lua-print'] = 0 },\n"
    "  argv = { 'ollaeval' }, args = {}, script = 'fuzz', usage = '' }\n"
    "assert(loadfile('core/prelude.lua'))(core, cmdline)\n"
    "local sandbox = require 'ollaeval.sandbox'\n"
    "local io0, exec0, upper0 = io, os.execute, string.upper\n"
    "return function(path)\n"
    "  local ok, err = pcall(function() return sandbox.load_script(path)() end)\n"
    "  if not ok and type(err) ~= 'string' then error('a non-string error: ' .. type(err)) end\n"
    "  assert(rawget(_G, 'io') == io0 and os.execute == exec0 and string.upper == upper0,\n"
    "         'the script changed the engine\\'s globals')\n"
    "  assert(not sandbox.trusted(), 'the fuzzed file ran trusted')\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    setenv("XDG_CONFIG_HOME", "/nonexistent", 1); /* no trust store */
    snprintf(dir, sizeof dir, "/tmp/fuzz_sandbox.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(file, sizeof file, "%s/suite.lua", dir);
    L = sandbox_newstate();
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_cjson);
    lua_setfield(L, -2, "cjson");
    lua_pushcfunction(L, luaopen_cjson_safe);
    lua_setfield(L, -2, "cjson.safe");
    lua_pop(L, 1);
    if (luaL_loadstring(L, setup) != LUA_OK)
        goto fail;
    lua_newtable(L);
    sandbox_register(L);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        goto fail;
    run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
fail:
    fprintf(stderr, "fuzz_sandbox: setup: %s\n", lua_tostring(L, -1));
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(file, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    lua_rawgeti(L, LUA_REGISTRYINDEX, run_ref);
    lua_pushstring(L, file);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_sandbox: invariant broken: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
