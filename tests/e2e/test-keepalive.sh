#!/usr/bin/env bash
# test-keepalive.sh: idle keep-alive connections. Between requests the
# engine leaves an idle connection's socket watched (http.c), but such a
# watch never keeps the run alive nor busy: a server that closes an idle
# connection is noticed and the next request goes on a new one; a script
# whose tasks wait for each other with only idle connections left is told
# it deadlocked instead of waiting forever. Against tests/lib/hostile.c in
# `keepalive` mode (answers on a keep-alive connection, closes it 100 ms
# later).
set -u
. tests/lib/harness.sh
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
"$tmp/hostile" keepalive 100 >"$tmp/h.port" &
hpid=$!
trap 'kill $hpid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
HURL=http://127.0.0.1:$(cat "$tmp/h.port")

cat >"$tmp/closed.lua" <<'LUA'
local msgs = { { role = "user", content = "What is 2+2?" } }
local r1, e1 = chat { model = "m", messages = msgs, retries = 0, think = false }
print("first " .. tostring(r1 and r1.content or e1))
-- the server closes the idle connection meanwhile
local cpu0 = os.clock()
sleep(400)
print("cpu while idle " .. tostring(os.clock() - cpu0 < 0.2))
local r2, e2 = chat { model = "m", messages = msgs, retries = 0, think = false }
print("second " .. tostring(r2 and r2.content or e2))
LUA
out=$(timeout 60 "$bin" --trust "$tmp/closed.lua" -q -c 1 -e "$HURL" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
ok "a request on a keep-alive connection (exit $rc)" '[ $rc -eq 0 ] && grep -q "^first The answer is 4.$" <<<"$out"'
ok "...the server closes it while idle: no busy loop meanwhile" 'grep -q "^cpu while idle true$" <<<"$out"'
ok "...the next request goes on a new connection, without a retry" 'grep -q "^second The answer is 4.$" <<<"$out"'

cat >"$tmp/deadlock.lua" <<'LUA'
local r = chat { model = "m", messages = { { role = "user", content = "hi" } }, retries = 0, think = false }
print("answered " .. tostring(r ~= nil))
local a, b
a = spawn(function() sleep(0) wait(b) end)
b = spawn(function() sleep(0) wait(a) end)
wait(a)
LUA
out=$(timeout 30 "$bin" --trust "$tmp/deadlock.lua" -q -c 1 -e "$HURL" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
ok "tasks waiting for each other after a request: told, not left waiting (exit $rc)" \
    '[ $rc -eq 1 ] && grep -q "^answered true$" <<<"$out" && grep -q "deadlock: 3 task(s) wait for each other" <<<"$out"'
done_testing
