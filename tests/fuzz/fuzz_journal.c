/*
 * fuzz_journal.c: libFuzzer target for the journal reader of
 * evals/journal.lua (parse, the rules journal.each and resume apply to
 * samples.jsonl). Invariants: it never raises; either it finds a malformed
 * line in the middle (nil, its line number) or it returns the records, each
 * a table with an id, one per line before good_end, where good_end is 0 or
 * a newline, and a torn tail is reported exactly when bytes follow
 * good_end. tests/fuzz/run builds and runs it:
 *   FUZZ_SECONDS=30 tests/fuzz/run journal
 */
// build: /usr/lib/x86_64-linux-gnu/liblua5.4-cjson.a /usr/lib/x86_64-linux-gnu/liblua5.4.a -lm -ldl
#include "lua_harness.h"

static const char check[] =
    "local parse = require('evals.journal').parse\n"
    "return function(data)\n"
    "  local records, good_end, torn = parse(data)\n"
    "  if records == nil then\n"
    "    assert(math.type(good_end) == 'integer' and good_end >= 1, 'a bad line needs its number')\n"
    "    return\n"
    "  end\n"
    "  assert(math.type(good_end) == 'integer' and good_end >= 0 and good_end <= #data, 'good_end out of range')\n"
    "  assert(good_end == 0 or data:sub(good_end, good_end) == '\\n', 'good_end is not a newline')\n"
    "  local _, lines = data:sub(1, good_end):gsub('\\n', '')\n"
    "  assert(#records == lines, 'one record per line')\n"
    "  for _, r in ipairs(records) do\n"
    "    assert(type(r) == 'table' and r.id ~= nil and r.id == r.id, 'a record without an id')\n"
    "  end\n"
    "  assert((torn ~= nil) == (good_end < #data), 'torn must be reported exactly when bytes follow')\n"
    "  if torn then assert(torn.line == #records + 1 and torn.bytes == #data - good_end, 'torn tail misreported') end\n"
    "  local again = parse(data:sub(1, good_end))\n"
    "  assert(again and #again == #records, 'the good part must parse alone')\n"
    "end\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    harness_init(check);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_run(data, size);
    return 0;
}
