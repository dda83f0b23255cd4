#!/usr/bin/env bash
# test-sandbox.sh: a script runs sandboxed unless trusted. The escapes of
# docs/suites.md ("The sandbox") each fail cleanly and the engine goes on
# (tests/e2e/sandbox/escapes.lua prints a TAP line per escape); budgets end
# one callback, not the run; the watchdog ends a run stuck in one C call
# with exit 6, the journal resumable; signals reach spinning Lua; --help
# runs no code; the trust store; the module loader's order and record.
set -u
. tests/lib/harness.sh
synth_data

cp -r tests/e2e/sandbox "$tmp/sb"
ln -s /etc/passwd "$tmp/sb/escape.lua"                # a symlink leading out
printf '\033LuaT\0\031\223\r\n\032\n' > "$tmp/sb/compiled.lua" # what luac writes first
start_sim --time-scale 0 --dataset "$synth"

# the default CPU budget (--help's) ends a looping callback: in the
# background while the escapes run, as it spends all of that budget
cat > "$tmp/default-cpu.lua" <<'LUA'
local err
map({ 1 }, function() while true do end end, { on_error = function(_, _, tb) err = tostring(tb) end })
print(err)
return 0
LUA
"$bin" "$tmp/default-cpu.lua" >"$tmp/default-cpu.out" 2>&1 & default_pid=$!

# every escape, in sandboxed runs: the budget cases with a small --lua-cpu
# (each looping case spends all of it), the stack overflows with a large one
out=$("$bin" --lua-mem 128 --lua-cpu 1 "$tmp/sb/escapes.lua" -e "$URL" -m qwen3:8b 2>"$tmp/esc.err"); rc=$?
budgets=$("$bin" --lua-mem 128 --lua-cpu 0.2 "$tmp/sb/escapes.lua" budgets 2>"$tmp/budgets.err"); rc_budgets=$?
out=$out$'\n'$budgets
out=$out$'\n'$("$bin" --lua-cpu 30 "$tmp/sb/escapes.lua" stacks 2>/dev/null)
printf '%s\n' "$out" | grep -E '^(not )?ok ' | sed 's/^\(not \)\{0,1\}ok [0-9]* - /&escape: /' |
    while IFS= read -r line; do
        case "$line" in ok*) pass "${line#ok * - }" ;; *) nok "${line#not ok * - }" ;; esac
    done
tap_n=$((tap_n + $(printf '%s\n' "$out" | grep -cE '^(not )?ok ')))
tap_fails=$((tap_fails + $(printf '%s\n' "$out" | grep -c '^not ok ')))
ok "the escapes run to their end (exit 0: $rc)" \
    "printf '%s\n' \"\$out\" | grep -q '^1\.\.[0-9]' && [ \$rc -eq 0 ]"
ok "...and warn('@on') turned no warning on" '! grep -q "Lua warning" "$tmp/esc.err"'
ok "the budget cases run to their end at --lua-cpu 0.2 (exit 0: $rc_budgets)" \
    "printf '%s\n' \"\$budgets\" | grep -q '^1\.\.7$' && [ \$rc_budgets -eq 0 ]"
wait $default_pid; rc=$?
cpu_default=$("$bin" --help | sed -n 's/.*CPU budget of one sandboxed callback (default \([0-9.]*\)).*/\1/p')
cpu_said=$(sed -n 's/.*default-cpu.lua:2: the callback used more than its CPU budget of \([0-9.]*\) s.*/\1/p' "$tmp/default-cpu.out")
ok "the default CPU budget (--help: ${cpu_default:-?} s) ends a looping callback (${cpu_said:-no} s said), the run goes on (exit 0: $rc)" \
    '[ $rc -eq 0 ] && [ -n "$cpu_default" ] && [ -n "$cpu_said" ] && awk -v a="$cpu_said" -v b="$cpu_default" "BEGIN { exit !(a == b) }"'

# print flooding is cut at --lua-print, once noted
printf 'for i = 1, 1000 do print(string.rep("y", 99)) end\nreturn 0\n' > "$tmp/flood.lua"
"$bin" --lua-print 10000 "$tmp/flood.lua" >"$tmp/flood.out" 2>"$tmp/flood.err"; rc=$?
ok "print output is cut at --lua-print and said so" \
    '[ $rc -eq 0 ] && [ $(wc -c <"$tmp/flood.out") -le 10000 ] && grep -q "print output cut at 10000 bytes" "$tmp/flood.err"'

# a luac file as the script itself
printf '\033LuaT\0\031\223\r\n\032\n' > "$tmp/bin.lua"
err=$("$bin" "$tmp/bin.lua" 2>&1); rc=$?
ok "a compiled script file is refused (exit 1, says luac)" '[ $rc -eq 1 ] && printf "%s" "$err" | grep -q "compiled (luac) chunk"'

# --help runs none of the script's code
cat > "$tmp/help.lua" <<'LUA'
local opt = options { { name = "judge-model", help = "the judge" } }
local f = io.open("pwned.txt", "w")
return 0
LUA
(cd "$tmp" && "$bin" help.lua --help >"$tmp/help.out" 2>&1); rc=$?
ok "--help prints the script's options, exit 0" '[ $rc -eq 0 ] && grep -q -- "--judge-model" "$tmp/help.out"'
ok "...and its code could do nothing (no file made)" '[ ! -e "$tmp/pwned.txt" ]'
(cd "$tmp" && "$bin" --trust help.lua --help >/dev/null 2>&1)
ok "...not even with --trust" '[ ! -e "$tmp/pwned.txt" ]'

# the watchdog: one C call that never returns to the hook
cat > "$tmp/sb/stuck.lua" <<'LUA'
local runner = require "evals.runner"
local suite = {}
for k, v in pairs(require "evals.gsm8k") do suite[k] = v end
suite.name = "stuck"
suite.dataset = nil
local extract, n = suite.extract, 0
function suite.extract(text, ...)
    n = n + 1
    if n == 5 then
        return string.find(string.rep("a", 60), string.rep("a?", 60) .. string.rep("a", 60))
    end
    return extract(text, ...)
end
return suite
LUA
printf 'return require("evals.runner").main("stuck")\n' > "$tmp/sb/run-stuck.lua"
head -n 40 "$synth" > "$tmp/sb/items.jsonl"
t0=$(date +%s%N)
"$bin" "$tmp/sb/run-stuck.lua" -m qwen3:8b -e "$URL" -c 1 --lua-cpu 0.3 --dataset "$tmp/sb/items.jsonl" \
    -o "$tmp/stuck" >/dev/null 2>"$tmp/stuck.err"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "a callback stuck in one C call: the watchdog ends the run with exit 6 ($rc, ${ms} ms) and says why" \
    '[ $rc -eq 6 ] && grep -q "watchdog: a suite callback ran far past its CPU budget" "$tmp/stuck.err"'
n1=$(wc -l <"$tmp/stuck/samples.jsonl")
ok "...the journal is whole: the 4 items before it, every line parses" \
    '[ "$n1" -eq 4 ] && runcheck errors "$tmp/stuck/samples.jsonl" >/dev/null'
# the same suite fixed: resume continues from the journal
sed -i 's/n == 5/n == -1/' "$tmp/sb/stuck.lua"
"$bin" "$tmp/sb/run-stuck.lua" -m qwen3:8b -e "$URL" --dataset "$tmp/sb/items.jsonl" \
    -o "$tmp/stuck2" >/dev/null 2>&1; rc=$?
ok "...and the fixed suite (a new sha256, so a new folder) runs to the end (exit 0, 40 scored)" '[ $rc -eq 0 ] && [ "$(runcheck get "$tmp/stuck2/summary.json" counts.scored)" = 40 ]'

# signals reach Lua code that spins, sandboxed or trusted
printf 'while true do end\n' > "$tmp/spin.lua"
for mode in sandboxed trusted; do
    flag=""; [ $mode = trusted ] && flag=--trust
    "$bin" $flag --lua-cpu 100 "$tmp/spin.lua" 2>"$tmp/spin-$mode.err" & pid=$!
    sleep 0.5; kill -INT $pid
    for _ in $(seq 30); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    if kill -0 $pid 2>/dev/null; then kill -9 $pid; wait $pid; rc=killed; else wait $pid; rc=$?; fi
    ok "$mode: one Ctrl-C ends a spinning script (exit 130: $rc)" '[ "$rc" = 130 ] && grep -q interrupted "$tmp/spin-'$mode'.err"'
done
"$bin" --trust --lua-cpu 100 "$tmp/spin.lua" 2>/dev/null & pid=$!
sleep 0.3; kill -TERM $pid; kill -TERM $pid
for _ in $(seq 20); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then kill -9 $pid; wait $pid; rc=killed; else wait $pid; rc=$?; fi
ok "SIGTERM twice exits at once (130: $rc)" '[ "$rc" = 130 ]'

# the trust store: keyed by sha256, so an edited file is sandboxed again
export XDG_CONFIG_HOME="$tmp/config"
printf 'return rawget(_G, "io") and 0 or 9\n' > "$tmp/t.lua"
"$bin" "$tmp/t.lua" 2>/dev/null; rc1=$?
"$bin" trust "$tmp/t.lua" >"$tmp/trust.out"; rc=$?
"$bin" "$tmp/t.lua"; rc2=$?
printf -- '-- edited\n' >> "$tmp/t.lua"
"$bin" "$tmp/t.lua" 2>/dev/null; rc3=$?
ok "ollaeval trust FILE: sandboxed before ($rc1), trusted after ($rc2), sandboxed again once edited ($rc3)" \
    '[ $rc -eq 0 ] && [ $rc1 -eq 9 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 9 ] && grep -q "^[0-9a-f]\{64\}  $tmp/t.lua$" "$tmp/config/ollaeval/trusted"'

# the loader: embedded first, a differing copy on disk named and not used
mkdir -p "$tmp/shadow/evals"
printf 'return { equal = function() return true end, normalize = function(s) return s end }\n' > "$tmp/shadow/evals/numeric.lua"
cat > "$tmp/shadow/which.lua" <<'LUA'
local n = require "evals.numeric"
for _, m in ipairs(ollaeval.modules()) do
    if m.name == "evals.numeric" then print(m.origin, m.path, #m.sha256) end
end
return n.equal("1", "2") and 9 or 0
LUA
out=$(cd "$tmp/shadow" && "$bin" which.lua 2>"$tmp/shadow.err"); rc=$?
ok "a planted evals/numeric.lua beside the script is not used (exit 0), recorded as embedded" \
    '[ $rc -eq 0 ] && [ "$(printf "%s" "$out" | cut -f1,2)" = "$(printf "embedded\tevals/numeric.lua")" ]'
ok "...and named in a warning with the flag that would use it" \
    'grep -q "evals/numeric.lua differs from the embedded evals.numeric; the embedded module is used (--lua-path" "$tmp/shadow.err"'
out=$(cd "$tmp/shadow" && "$bin" --trust which.lua 2>/dev/null); rc=$?
ok "...nor in the current folder when trusted" '[ $rc -eq 0 ]'
mkdir -p "$tmp/same/evals"
cp evals/numeric.lua "$tmp/same/evals/numeric.lua"
cp "$tmp/shadow/which.lua" "$tmp/same/which.lua"
out=$(cd "$tmp/same" && "$bin" which.lua 2>"$tmp/same.err"); rc=$?
ok "a copy on disk the same as the embedded module: no warning, recorded as embedded with its sha256" \
    '[ $rc -eq 0 ] && [ ! -s "$tmp/same.err" ] && [ "$out" = "$(printf "embedded\tevals/numeric.lua\t64")" ]'
out=$(cd "$tmp/shadow" && "$bin" --lua-path "$tmp/shadow" which.lua 2>/dev/null); rc=$?
ok "--lua-path DIR: the copy on disk is used, recorded with origin path" \
    '[ $rc -eq 9 ] && [ "$(printf "%s" "$out" | cut -f1,2)" = "$(printf "path\t$tmp/shadow/evals/numeric.lua")" ]'

# the shipped suite, sandboxed, end to end
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" --limit 50 -o "$tmp/gsm" >/dev/null 2>"$tmp/gsm.err"; rc=$?
ok "scripts/gsm8k.lua runs sandboxed with no --trust (exit 0, 50 scored)" \
    '[ $rc -eq 0 ] && [ "$(runcheck get "$tmp/gsm/summary.json" counts.scored)" = 50 ]'
finish
