#!/usr/bin/env bash
# test-ollama-defaults.sh: Ollama's defaults never bend a score. What chat{}
# sends, seen by a server that echoes each request body back as the answer
# (tests/lib/hostile.c echo): truncate:false on /api/chat; think sent
# explicitly, resolved from /api/show's capabilities (true for a thinking
# model, false otherwise) when the script leaves it out; on /v1 think becomes
# reasoning_effort, and --max-completion-tokens sends max_completion_tokens
# instead of max_tokens. keep_alive=0 and a load-time option that changes
# mid-run are refused; a reply without token counts gives nil, not 0; a
# prompt that does not fit the context is kind "context", not retried;
# --api openai on a URL
# without /v1 gets a hint.
set -u
. tests/lib/harness.sh
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
hpids=()
hostile() {
    "$tmp/hostile" "$@" >"$tmp/h.port" & hpids+=($!)
    for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
    HURL=http://127.0.0.1:$(cat "$tmp/h.port"); : >"$tmp/h.port"
}
hostile echo 0
cat >"$tmp/echo.lua" <<'LUA'
local url, model, think = arg[1], arg[2], arg[3]
if think == "true" then think = true elseif think == "false" then think = false else think = nil end
local r, err = chat { model = model, endpoint = url, think = think, retries = 0,
    options = { num_predict = 7, num_ctx = 64 }, messages = { { role = "user", content = "x" } } }
if not r then print("err", err) os.exit(1) end
print(r.content)
print("tokens", tostring(r.prompt_tokens), tostring(r.completion_tokens))
LUA
e() { "$bin" --trust "$tmp/echo.lua" "$@" 2>&1; }
out=$(e "$HURL" qwen-think); echo "# $out" | head -1
ok "/api/chat: truncate:false is sent" 'echo "$out" | grep -q "'"'"'truncate'"'"':false"'
ok "...a thinking model (capabilities has thinking), think left out: think:true sent explicitly" \
    'echo "$out" | grep -q "'"'"'think'"'"':true"'
out=$(e "$HURL" plain)
ok "...a model without the capability: think:false sent explicitly" 'echo "$out" | grep -q "'"'"'think'"'"':false"'
ok "...a reply without token counts gives nil (unknown), not 0" 'echo "$out" | grep -q "^tokens	nil	nil$"'
out=$(e "$HURL" plain true)
ok "...think given by the script is sent as given" 'echo "$out" | grep -q "'"'"'think'"'"':true"'
out=$(e "$HURL/v1" qwen-think)
ok "/v1 to Ollama: reasoning_effort sent (think is ignored there), max_tokens for num_predict" \
    'echo "$out" | grep -q "'"'"'reasoning_effort'"'"':'"'"'medium'"'"'" && echo "$out" | grep -q "'"'"'max_tokens'"'"':7" &&
     ! echo "$out" | grep -q "'"'"'think'"'"'"'
out=$("$bin" --trust --max-completion-tokens "$tmp/echo.lua" "$HURL/v1" plain false 2>&1)
ok "--max-completion-tokens: max_completion_tokens instead of max_tokens; think false as reasoning_effort none" \
    'echo "$out" | grep -q "'"'"'max_completion_tokens'"'"':7" && ! echo "$out" | grep -q "max_tokens" &&
     echo "$out" | grep -q "'"'"'reasoning_effort'"'"':'"'"'none'"'"'"'

cat >"$tmp/misuse.lua" <<'LUA'
local url = arg[1]
local m = { { role = "user", content = "x" } }
local ok, err = pcall(chat, { model = "m", endpoint = url, keep_alive = 0, messages = m })
print("keep_alive", ok, err)
assert(chat { model = "m", endpoint = url, options = { num_ctx = 4096 }, messages = m })
ok, err = pcall(chat, { model = "m", endpoint = url, options = { num_ctx = 8192 }, messages = m })
print("num_ctx", ok, err)
LUA
out=$("$bin" --trust "$tmp/misuse.lua" "$HURL" 2>&1)
ok "keep_alive=0 is refused, saying why" 'echo "$out" | grep -q "^keep_alive	false	.*keep_alive=0 unloads the model for every client"'
ok "a load-time option that changes mid-run (num_ctx 4096 then 8192) is refused" \
    'echo "$out" | grep -q "^num_ctx	false	.*options.num_ctx is 8192, but earlier requests .* sent 4096: it is a load-time option"'

hostile ctx 0
cat >"$tmp/ctx.lua" <<'LUA'
local r, err, kind, info = chat { model = "m", endpoint = arg[1], messages = { { role = "user", content = "x" } } }
print(kind, info.attempts, err)
LUA
out=$("$bin" --trust "$tmp/ctx.lua" "$HURL" 2>&1)
ok "a prompt over num_ctx (truncate:false): kind context, 1 attempt, a hint to raise num_ctx ($out)" \
    'echo "$out" | grep -q "^context	1	context: HTTP 400 from .*exceeds the context length (the prompt does not fit the model.s context: raise num_ctx"'

out=$("$bin" --trust --api openai -e "$HURL" "$tmp/ctx.lua" "$HURL" 2>&1)
ok "--api openai on a URL without /v1: a hint" 'echo "$out" | grep -q "did you mean -e $HURL/v1?"'

for p in "${hpids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
done_testing
