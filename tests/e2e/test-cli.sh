#!/usr/bin/env bash
# test-cli.sh: the command line: help, version, usage errors (exit 2),
# script errors (exit 1, FILE:LINE and a traceback), script options.
set -u
. tests/lib/harness.sh

out=$("$bin" --help); rc=$?
ok "--help exits 0" '[ $rc -eq 0 ]'
ok "--help lists engine options" 'grep -q -- "--concurrency" <<<"$out" && grep -q -- "--timeout" <<<"$out"'
ok "--version" '"$bin" --version | grep -q "^ollaeval [0-9]"'
"$bin" >/dev/null 2>&1; rc=$?
ok "no script: exit 2" '[ $rc -eq 2 ]'
err=$("$bin" -c abc x.lua 2>&1); rc=$?
ok "bad value: exit 2" '[ $rc -eq 2 ]'
ok "bad value: one line naming the option" '[ $(wc -l <<<"$err") -eq 1 ] && grep -q -- "--concurrency" <<<"$err"'
err=$("$bin" --timeout 2>&1); rc=$?
ok "missing value: exit 2" '[ $rc -eq 2 ] && grep -q -- "--timeout" <<<"$err"'
err=$("$bin" scripts/gsm8k.lua -m -q 2>&1); rc=$?
ok "an option where a value belongs (-m -q): exit 2, naming both" \
    '[ $rc -eq 2 ] && grep -qF -- "--model needs a value (NAME), not the option -q" <<<"$err"'
err=$("$bin" "$tmp/none.lua" 2>&1); rc=$?
ok "missing script: exit 1 with its name" '[ $rc -eq 1 ] && grep -q "none.lua" <<<"$err"'

printf 'local x = \n' > "$tmp/syntax.lua"
err=$("$bin" "$tmp/syntax.lua" 2>&1); rc=$?
ok "syntax error: exit 1, ollaeval: FILE:LINE:" '[ $rc -eq 1 ] && grep -q "^ollaeval: .*syntax.lua:[0-9]*:" <<<"$err"'

printf 'local function f() error("kaput") end\nf()\n' > "$tmp/rt.lua"
err=$("$bin" "$tmp/rt.lua" 2>&1); rc=$?
ok "runtime error: exit 1" '[ $rc -eq 1 ]'
ok "runtime error: FILE:LINE: message and a traceback" 'grep -q "^ollaeval: .*rt.lua:1: kaput" <<<"$err" && grep -q "stack traceback" <<<"$err"'

printf 'print(undefined_thing)\n' > "$tmp/strict.lua"
err=$("$bin" "$tmp/strict.lua" 2>&1); rc=$?
ok "reading an undefined global is an error" '[ $rc -eq 1 ] && grep -q "undefined global .undefined_thing." <<<"$err"'

cat > "$tmp/opts.lua" <<'LUA'
local o = options { { name = "shots", type = "integer", default = 0, help = "few-shot examples" },
                    { name = "tag", type = "string", help = "a label" } }
print("shots=" .. o.shots, "tag=" .. tostring(o.tag), "model=" .. tostring(ollaeval.options.model),
      "c=" .. ollaeval.options.concurrency)
LUA
out=$("$bin" "$tmp/opts.lua" --help); rc=$?
ok "script --help: exit 0, lists engine and script options" '[ $rc -eq 0 ] && grep -q -- "--concurrency" <<<"$out" && grep -q -- "--shots" <<<"$out" && grep -q "few-shot examples" <<<"$out"'
out=$("$bin" -m m1 "$tmp/opts.lua" --shots 5 -c 7 --tag=x)
ok "engine options before and after SCRIPT, script options to the script" '[ "$out" = "$(printf "shots=5\ttag=x\tmodel=m1\tc=7")" ]'
err=$("$bin" "$tmp/opts.lua" --nope 2>&1); rc=$?
ok "unknown script option: exit 2 naming it" '[ $rc -eq 2 ] && grep -q -- "--nope" <<<"$err"'
err=$("$bin" "$tmp/opts.lua" --shots many 2>&1); rc=$?
ok "bad script option value: exit 2 naming it" '[ $rc -eq 2 ] && grep -q -- "--shots" <<<"$err"'

printf 'spawn(function() error("lost task") end)\n' > "$tmp/task.lua"
err=$("$bin" "$tmp/task.lua" 2>&1); rc=$?
ok "a failed task nobody waits for: reported, exit 1" '[ $rc -eq 1 ] && grep -q "lost task" <<<"$err"'
printf 'return 3\n' > "$tmp/ret.lua"
"$bin" "$tmp/ret.lua"; rc=$?
ok "a number the script returns is the exit status" '[ $rc -eq 3 ]'
cd "$tmp" && printf 'local m = require "evals.extract"\nprint(type(m))\n' > "$tmp/emb.lua"
out=$("$bin" emb.lua 2>&1)
ok "embedded evals modules load from any directory" '[ "$out" = table ]'
done_testing
