#!/usr/bin/env bash
# test-secrets.sh: secrets are never written. A password in the endpoint URL
# (-e http://alice:PASSWORD@host:port) is sent as basic auth but appears
# nowhere in the run folder, stdout or stderr (not in run.json's command, the
# summary's endpoints, the journal's errors or the resume hint); an API key
# a server echoes back in an error is scrubbed ("[API key]") from the
# message chat{} returns and the runner would store.
set -u
. tests/lib/harness.sh
synth_data
secret=hunter2pass
start_sim --time-scale 0 --dataset "$synth" --fault-500 0.3
gsm8k -e "http://alice:$secret@127.0.0.1:$PORT" --dataset "$synth" -o "$tmp/run" --limit 40 --retries 0 \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
ok "a run through a URL with a password: it ran, some items errored (exit 3)" \
    '[ $rc -eq 3 ] && [ "$(get "$tmp/run/summary.json" counts.errors)" -gt 0 ]'
ok "...the errors name the URL without the credentials" \
    'runcheck errors "$tmp/run/samples.jsonl" | grep -q "HTTP 500 from http://127.0.0.1:$PORT/api/chat"'
ok "...the password is nowhere: run folder, stdout, stderr" \
    '! grep -rq "$secret" "$tmp/run" "$tmp/out" "$tmp/err"'
ok "...nor the user name" '! grep -rq "alice" "$tmp/run" "$tmp/out" "$tmp/err"'
stop_sim "$PID"

cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
"$tmp/hostile" echo-auth 0 >"$tmp/h.port" & hpid=$!
for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
key=sk-test-SECRET-0123456789
cat >"$tmp/client.lua" <<'LUA'
local r, err, kind, info = chat { model = "m", endpoint = arg[1], messages = { { role = "user", content = "x" } } }
print(kind, err)
print("server_message", info.server_message)
LUA
OPENAI_API_KEY=$key "$bin" --trust "$tmp/client.lua" "http://127.0.0.1:$(cat "$tmp/h.port")/v1" >"$tmp/c.out" 2>&1
sed 's/^/# /' "$tmp/c.out"
ok "a server echoing the Authorization header in a 400: the key is not in the error nor the server message" \
    '! grep -q "SECRET" "$tmp/c.out"'
ok "...it reads [API key] where the server put 'Bearer <key>'" \
    'grep -q "^http	HTTP 400 from .*invalid credentials: \[API key\]" "$tmp/c.out" && grep -q "^server_message	invalid credentials: \[API key\]" "$tmp/c.out"'
kill "$hpid"; wait "$hpid" 2>/dev/null
done_testing
