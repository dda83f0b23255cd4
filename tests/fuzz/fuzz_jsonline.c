/*
 * fuzz_jsonline.c: libFuzzer target for core.json_line (core/jsonstr.c),
 * the escaping of a journal record's long texts. The oracle is lua-cjson:
 * the input as a text, a key and a field of the head is byte for byte what
 * journal.encode (lua-cjson, "\/" made "/") writes, and decodes back to the
 * input; journal.line of a record holding it decodes to that record.
 * tests/fuzz/run builds and runs it:
 *   FUZZ_SECONDS=30 tests/fuzz/run jsonline
 */
// build: core/jsonstr.c /usr/lib/x86_64-linux-gnu/liblua5.4-cjson.a /usr/lib/x86_64-linux-gnu/liblua5.4.a -lm -ldl
#include "lua_harness.h"

void jsonstr_register(lua_State *L);

static const char check[] =
    "local cjson = require('cjson')\n"
    "local line = require('ollaeval.core').json_line\n"
    "local J\n"
    "return function(s)\n"
    "  J = J or require('evals.journal')\n"
    "  local v = J.encode(s)\n"
    "  local l = line('{}', 'k', s)\n"
    "  assert(l == '{\"k\":' .. v .. '}\\n', 'a text escaped unlike lua-cjson')\n"
    "  assert(cjson.decode(l).k == s, 'a text does not decode back')\n"
    "  assert(line('{}', s, 'v') == '{' .. v .. ':\"v\"}\\n', 'a key escaped unlike lua-cjson')\n"
    "  assert(line('{}', 'a', nil, 'k', s) == l, 'a member without its text not left out')\n"
    "  local head = cjson.encode({ id = s })\n"
    "  assert(line(head, 't', s) == J.encode({ id = s }):sub(1, -2) .. ',\"t\":' .. v .. '}\\n',\n"
    "         'a head unescaped unlike journal.encode')\n"
    "  local rec = { id = s, thinking = s .. s .. s .. s, content = s:reverse() .. string.rep('.', 64) }\n"
    "  local r = cjson.decode(J.line(rec))\n"
    "  assert(r.id == rec.id and r.thinking == rec.thinking and r.content == rec.content, 'a record does not decode back')\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    harness_init("return function() end");
    /* the real json_line in the harness's stand-in core table, before
     * anything requires evals.journal */
    luaL_getsubtable(H, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(H, -1, "ollaeval.core");
    jsonstr_register(H);
    lua_pop(H, 2);
    luaL_unref(H, LUA_REGISTRYINDEX, check_ref);
    if (luaL_loadstring(H, check) != LUA_OK || lua_pcall(H, 0, 1, 0) != LUA_OK)
        die_lua("the check chunk");
    check_ref = luaL_ref(H, LUA_REGISTRYINDEX);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_run(data, size);
    return 0;
}
