/*
 * lua_harness.h: a Lua 5.4 state for fuzzing the Lua code that reads outside
 * data. It opens the standard libraries and lua-cjson (as "cjson" and
 * "cjson.safe"), sets package.path to the repository ("./?.lua", so run
 * from the repository root, or set FUZZ_ROOT; the engine's modules
 * "ollaeval.NAME" from core/lua/NAME.lua), and runs core/prelude.lua with
 * stand-ins for the C engine and the command line: the prelude's globals
 * (jsonl, ...) are then the real ones. A target that links some of the
 * engine's C functions sets harness_core to them before harness_init: they
 * replace the stand-ins of the same name. Each target then loads a Lua snippet, CHECK, that
 * is called with the input and raises when an invariant breaks; the
 * harness turns that into abort(), which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_cjson(lua_State *L);
int luaopen_cjson_safe(lua_State *L);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *H;
static int check_ref = LUA_NOREF;
static const luaL_Reg *harness_core; /* real `core` functions, or NULL */

static const char stubs[] =
    /* the engine's C half, as no-ops; the command line main.c parses */
    "local root = ...\n"
    "local core = setmetatable({}, { __index = function() return function() end end })\n"
    "package.loaded['ollaeval.core'] = core\n"
    "table.insert(package.searchers, 2, function(name)\n"
    "  local m = name:match('^ollaeval%.(.+)$')\n"
    "  if m then return assert(loadfile(root .. '/core/lua/' .. m .. '.lua')) end\n"
    "end)\n"
    "return core, { options = {}, argv = { 'ollaeval' }, args = {}, script = 'fuzz', usage = '' }\n";

static void die_lua(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, lua_tostring(H, -1));
    abort();
}

/* Sets up the state and compiles `check` (a chunk returning the function
 * called with each input as a string). */
static void harness_init(const char *check)
{
    const char *root = getenv("FUZZ_ROOT");
    char path[4096];
    H = luaL_newstate();
    luaL_openlibs(H);
    luaL_getsubtable(H, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(H, luaopen_cjson);
    lua_setfield(H, -2, "cjson");
    lua_pushcfunction(H, luaopen_cjson_safe);
    lua_setfield(H, -2, "cjson.safe");
    lua_pop(H, 1);
    snprintf(path, sizeof path, "package.path = '%s/?.lua'", root ? root : ".");
    if (luaL_dostring(H, path) != LUA_OK)
        die_lua("package.path");
    if (luaL_loadstring(H, stubs) != LUA_OK)
        die_lua("stubs");
    lua_pushstring(H, root ? root : ".");
    if (lua_pcall(H, 1, 2, 0) != LUA_OK)
        die_lua("stubs");
    if (harness_core) {
        lua_pushvalue(H, -2); /* core */
        luaL_setfuncs(H, harness_core, 0);
        lua_pop(H, 1);
    }
    snprintf(path, sizeof path, "%s/core/prelude.lua", root ? root : ".");
    if (luaL_loadfile(H, path) != LUA_OK)
        die_lua("core/prelude.lua");
    lua_insert(H, -3); /* prelude(core, cmdline) */
    if (lua_pcall(H, 2, 0, 0) != LUA_OK)
        die_lua("running core/prelude.lua");
    if (luaL_loadstring(H, check) != LUA_OK || lua_pcall(H, 0, 1, 0) != LUA_OK)
        die_lua("the check chunk");
    check_ref = luaL_ref(H, LUA_REGISTRYINDEX);
}

/* Calls the check function with the input; an error is a finding. */
static void harness_run(const uint8_t *data, size_t size)
{
    lua_rawgeti(H, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(H, (const char *)data, size);
    if (lua_pcall(H, 1, 0, 0) != LUA_OK)
        die_lua("invariant broken");
    lua_settop(H, 0);
    lua_gc(H, LUA_GCSTEP, 0);
}
