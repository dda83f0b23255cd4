/*
 * fuzz_jsonl.c: libFuzzer target for jsonl() (core/lua/jsonl.lua), the
 * reader of every dataset: the input is written to a file and read to the
 * end. The invariant: every item is a table with its line number, and any
 * error is a string "FILE:LINE: ..." naming the file (never another error,
 * a hang or a crash). tests/fuzz/run builds and runs it:
 *   FUZZ_SECONDS=30 tests/fuzz/run jsonl
 */
// build: core/utf8.c /usr/lib/x86_64-linux-gnu/liblua5.4-cjson.a /usr/lib/x86_64-linux-gnu/liblua5.4.a -lm -ldl
#include <unistd.h>

#include "lua_harness.h"
#include "../../core/utf8.h"

static char path[64];

static const char check[] =
    "local path = ...\n"
    "return function(data)\n"
    "  local f = assert(io.open(path, 'wb'))\n"
    "  f:write(data)\n"
    "  f:close()\n"
    "  local last = 0\n"
    "  local ok, err = pcall(function()\n"
    "    for item, n in jsonl(path, { max_line = 4096 }) do\n"
    "      assert(type(item) == 'table', 'item is not a table')\n"
    "      assert(math.type(n) == 'integer' and n > last, 'line numbers must grow')\n"
    "      last = n\n"
    "    end\n"
    "  end)\n"
    "  if not ok then\n"
    "    if type(err) ~= 'string' or err:sub(1, #path + 1) ~= path .. ':'\n"
    "       or not err:find('^%d+: ', #path + 2) then\n"
    "      error('jsonl raised something other than FILE:LINE: ...: ' .. tostring(err), 0)\n"
    "    end\n"
    "  end\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const luaL_Reg real[] = {{"utf8_valid", oe_l_utf8_valid}, {NULL, NULL}};
    harness_core = real;
    snprintf(path, sizeof path, "/tmp/fuzz_jsonl.%d.jsonl", (int)getpid());
    char chunk[sizeof check + 128];
    snprintf(chunk, sizeof chunk, "return (function(...) %s end)('%s')", check, path);
    harness_init(chunk);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_run(data, size);
    return 0;
}
