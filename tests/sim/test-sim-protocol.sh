#!/usr/bin/env bash
# test-sim-protocol.sh: `ollaeval sim` speaks Ollama's and OpenAI's wire
# protocol as in shared/reference/protocols.md: endpoints, fields present and
# omitted, content types, exact error bodies, NDJSON and SSE framing, HTTP
# keep-alive, pipelining, malformed requests. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind

start_sim --time-scale 0 --tokens-min 20 --tokens-max 60 --seed 7
CHAT='{"model":"qwen3:8b","messages":[{"role":"user","content":"Say hello"}]'

req GET /
check "GET / says Ollama is running as text/plain" eval 'is 200 && body_is "Ollama is running" && hdr "Content-Type: text/plain; charset=utf-8"'
req HEAD / -I
check "HEAD / is 200" is 200
req GET /api/version
check "/api/version" eval 'is 200 && hasre "^\{\"version\":\"[0-9.]+\"\}$" && hdr "application/json; charset=utf-8"'
req GET /api/tags
check "/api/tags lists both default models" eval 'has "\"name\":\"qwen3:8b\"" && has "\"name\":\"llama3.2:3b\""'
check "/api/tags digests are 64 hex characters" eval '[ $(grep -oE "\"digest\":\"[0-9a-f]{64}\"" "$tmp/b" | wc -l) = 2 ]'
req POST /api/show -d '{"model":"qwen3:8b"}'
check "/api/show qwen3 has the thinking capability" eval 'is 200 && has "\"capabilities\":[\"completion\",\"tools\",\"thinking\"]" && lacks "digest"'
req POST /api/show -d '{"model":"llama3.2:3b"}'
check "/api/show llama3.2 has no thinking" eval 'is 200 && lacks "thinking"'
req POST /api/show -d '{"model":"nope:1b"}'
check "/api/show unknown model is 404" eval 'is 404 && body_is "{\"error\":\"model '"'"'nope:1b'"'"' not found\"}"'
req GET /api/nothing
check "unknown path is gin's 404" eval 'is 404 && body_is "404 page not found" && hdr "Content-Type: text/plain"'

# ---- /api/chat
req POST /api/chat -d "$CHAT"',"stream":false}'
check "chat non-streaming: 200 application/json; charset=utf-8" eval 'is 200 && hdr "Content-Type: application/json; charset=utf-8" && hdr "Content-Length:"'
check "chat: done, done_reason stop, metrics" eval 'has "\"done\":true,\"done_reason\":\"stop\"" && has "\"total_duration\":" && has "\"load_duration\":" && has "\"prompt_eval_count\":" && has "\"eval_count\":" && has "\"eval_duration\":"'
check "chat: created_at is RFC 3339 UTC, ns trimmed" hasre '"created_at":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]*[1-9])?Z"'
check "chat: qwen3 thinks by default (message.thinking)" has '"message":{"role":"assistant","content":"'
check "chat: thinking field present" has '","thinking":"Okay'
req POST /api/chat -d "$CHAT"',"stream":false,"think":false}'
check "chat think:false: no thinking field" eval 'is 200 && lacks "thinking"'
req POST /api/chat -d "$CHAT"',"stream":false,"think":false,"options":{"num_predict":5}}'
check "num_predict caps output: done_reason length, eval_count 5" eval 'has "\"done_reason\":\"length\"" && has "\"eval_count\":5,"'
req POST /api/chat -d "$CHAT"',"stream":false,"options":{"num_predict":0}}'
check "num_predict 0: zero eval_count omitted" eval 'is 200 && lacks "\"eval_count\"" && lacks "\"eval_duration\""'
req POST /api/chat -d "$CHAT"',"think":"high","stream":false}'
check "think level string accepted" eval 'is 200 && has "\"thinking\""'

req POST /api/chat -d "$CHAT"',"think":false}'
check "chat streams NDJSON by default" eval 'is 200 && hdr "Content-Type: application/x-ndjson" && hdr "Transfer-Encoding: chunked"'
check "NDJSON: only the last line has done:true, with done_reason and metrics" eval '[ "$(grep -c "\"done\":true" "$tmp/b")" = 1 ] && tail -n1 "$tmp/b" | grep -q "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":[0-9]*.*\"eval_count\":[0-9]"'
check "NDJSON: intermediate chunks carry no metrics" eval '! head -n -1 "$tmp/b" | grep -q "eval_count\|done\":true"'
check "NDJSON: every line is an object ending in }" eval '[ "$(grep -vc "^{.*}$" "$tmp/b")" = 0 ]'
req POST /api/chat -d "$CHAT"'}'
check "NDJSON with thinking: thinking chunks before content" eval 'head -n1 "$tmp/b" | grep -q "\"content\":\"\",\"thinking\":\"Okay,\""'

# ---- /api/generate
req POST /api/generate -d '{"model":"llama3.2:3b","prompt":"Why is the sky blue?","stream":false}'
check "generate: response, context, done" eval 'is 200 && has "\"response\":\"" && has "\"context\":[" && has "\"done\":true,\"done_reason\":\"stop\"" && lacks "thinking"'
req POST /api/generate -d '{"model":"llama3.2:3b","prompt":"Why is the sky blue?","raw":true,"stream":false}'
check "generate raw: no context" eval 'is 200 && lacks "context"'
req POST /api/generate -d '{"model":"llama3.2"}'
check "llama3.2 (no tag) means :latest, unknown" eval 'is 404 && body_is "{\"error\":\"model '"'"'llama3.2'"'"' not found\"}"'
req POST /api/generate -d '{"model":"qwen3:8b"}'
check "generate without prompt: done_reason load" eval 'is 200 && has "\"response\":\"\",\"done\":true,\"done_reason\":\"load\""'
req POST /api/generate -d '{"model":"qwen3:8b","keep_alive":0}'
check "generate without prompt, keep_alive 0: unload" has '"done_reason":"unload"'
req POST /api/generate -d '{"model":"qwen3:8b","prompt":"hi","options":{"num_predict":3}}'
check "generate streams NDJSON with response pieces" eval 'hdr "application/x-ndjson" && [ $(wc -l < "$tmp/b") = 4 ] && tail -n1 "$tmp/b" | grep -q "\"done_reason\":\"length\""'
req POST /api/chat -d '{"model":"qwen3:8b","messages":[]}'
check "chat with no messages: done_reason load" eval 'is 200 && has "\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"load\""'

# ---- errors
req POST /api/chat
check "empty body: 400 missing request body" eval 'is 400 && body_is "{\"error\":\"missing request body\"}" && hdr "application/json; charset=utf-8"'
req POST /api/chat -d '{"model":'
check "truncated JSON: 400 unexpected EOF" eval 'is 400 && body_is "{\"error\":\"unexpected EOF\"}"'
req POST /api/chat -d '{"model":}'
check "invalid JSON: 400 Go decode error" eval 'is 400 && has "{\"error\":\"invalid character '"'"'}'"'"' looking for beginning of value\"}"'
req POST /api/chat -d '{"messages":[]}'
check "missing model: 400 model is required" eval 'is 400 && body_is "{\"error\":\"model is required\"}"'
req POST /api/chat -d '{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}'
check "unknown model: 404" eval 'is 404 && body_is "{\"error\":\"model '"'"'gpt-9'"'"' not found\"}"'
req POST /api/chat -d '{"model":"llama3.2:3b","think":true,"messages":[{"role":"user","content":"x"}]}'
check "think on a model without thinking: 400" eval 'is 400 && body_is "{\"error\":\"\\\"llama3.2:3b\\\" does not support thinking\"}"'
req POST /api/chat -d '{"model":"llama3.2:3b","think":false,"stream":false,"messages":[{"role":"user","content":"x"}]}'
check "think:false accepted on any model" is 200
req POST /api/chat -d '{"model":"qwen3:8b","think":"extreme","messages":[{"role":"user","content":"x"}]}'
check "invalid think value: 400" eval 'is 400 && has "invalid think value: \\\"extreme\\\""'
req POST /api/chat -d '{"model":"qwen3:8b","options":{"num_ctx":"big"},"messages":[{"role":"user","content":"x"}]}'
check "wrong option type: 500 option must be of type integer" eval 'is 500 && body_is "{\"error\":\"option \\\"num_ctx\\\" must be of type integer\"}"'
req POST /api/chat -d '{"model":5,"messages":[]}'
check "wrong field type: 400 cannot unmarshal" eval 'is 400 && has "json: cannot unmarshal number into Go struct field ChatRequest.model of type string"'
req POST /api/chat -d '[1,2]'
check "non-object body: 400" eval 'is 400 && has "cannot unmarshal array into Go value"'
req POST /api/generate -d '{"model":"qwen3:8b","prompt":"x","format":"xml"}'
check "invalid format: 400" eval 'is 400 && has "invalid format: \\\"xml\\\"; expected \\\"json\\\" or a valid JSON Schema object"'
req POST /api/chat -d "$CHAT"',"stream":false,"think":false,"format":"json"}'
check "format json: content is a JSON object with the answer" eval 'is 200 && has "\"content\":\"{\\\"reasoning\\\": \\\"" && has "\\\"answer\\\": \\\""'

# ---- OpenAI-compatible
OAI='{"model":"qwen3:8b","messages":[{"role":"user","content":"Say hello"}]'
req POST /v1/chat/completions -d "$OAI"',"reasoning_effort":"none","response_format":{"type":"json_object"}}'
check "/v1 response_format json_object: content is a JSON object" has '"content":"{\"reasoning\": \"'
req POST /v1/chat/completions -d "$OAI"'}'
check "/v1 non-streaming: chat.completion with usage" eval 'is 200 && hdr "Content-Type: application/json" && has "\"object\":\"chat.completion\"" && has "\"finish_reason\":\"stop\"" && hasre "\"usage\":\{\"prompt_tokens\":[0-9]+,\"completion_tokens\":[0-9]+,\"total_tokens\":[0-9]+\}"'
check "/v1 reasoning goes to message.reasoning" eval 'has "\"reasoning\":\"Okay" && lacks reasoning_content'
req POST /v1/chat/completions -d "$OAI"',"reasoning_effort":"none","max_tokens":4}'
check "/v1 reasoning_effort none, max_tokens: finish_reason length" eval 'is 200 && lacks reasoning && has "\"finish_reason\":\"length\"" && has "\"completion_tokens\":4"'
req POST /v1/chat/completions -d "$OAI"',"stream":true,"max_tokens":5}'
check "/v1 streaming: text/event-stream, ends with data: [DONE]" eval 'is 200 && hdr "Content-Type: text/event-stream" && [ "$(grep -v "^$" "$tmp/b" | tail -n1)" = "data: [DONE]" ]'
check "/v1 stream: role in first delta, finish chunk with empty delta" eval 'head -n1 "$tmp/b" | grep -q "\"delta\":{\"role\":\"assistant\"," && has "\"delta\":{},\"finish_reason\":\"length\"" && lacks "\"usage\""'
check "/v1 stream: events separated by blank lines" eval '[ "$(grep -c "^data: " "$tmp/b")" = "$(grep -c "^$" "$tmp/b")" ]'
req POST /v1/chat/completions -d "$OAI"',"stream":true,"max_tokens":5,"stream_options":{"include_usage":true}}'
check "/v1 include_usage: a choices:[] usage chunk before [DONE]" eval 'grep -v "^$" "$tmp/b" | tail -n2 | head -n1 | grep -q "\"choices\":\[\],\"usage\":{\"prompt_tokens\":[0-9]*,\"completion_tokens\":5,"'
req POST /v1/chat/completions -d '{"model":"nope","messages":[{"role":"user","content":"x"}]}'
check "/v1 unknown model: 404 not_found_error" eval 'is 404 && body_is "{\"error\":{\"message\":\"model '"'"'nope'"'"' not found\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}"'
req POST /v1/chat/completions -d '{"model":"qwen3:8b","messages":[{"role":"user","content":[{"type":"text","text":"parts"}]}],"stream":false}'
check "/v1 content parts accepted" is 200
req GET /v1/models
check "/v1/models lists models" eval 'is 200 && has "\"object\":\"list\"" && has "\"id\":\"qwen3:8b\""'

# ---- HTTP behaviour
n=$(curl -s -o /dev/null -w '%{num_connects}\n' "$URL/api/version" -o /dev/null "$URL/api/tags" | tr -d '\n')
check "keep-alive: two requests over one connection" [ "$n" = "10" ]
req GET /api/version -H 'Connection: close'
check "Connection: close is honoured" hdr "Connection: close"
raw() { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; printf "$1" >&3; timeout 2 cat <&3 >"$tmp/b"; exec 3<&-; }
raw 'GET /api/version HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
check "pipelined requests answered in order" eval '[ "$(grep -o "HTTP/1.1 200" "$tmp/b" | wc -l)" = 2 ] && tail -c 17 "$tmp/b" | grep -q "Ollama is running"'
raw 'BLAH BLAH\r\n\r\n'
check "malformed HTTP: 400 and close" eval 'head -n1 "$tmp/b" | grep -q "^HTTP/1.1 400"'
raw 'POST /api/chat HTTP/1.1\r\nContent-Length: zz\r\n\r\n'
check "bad Content-Length: 400" eval 'head -n1 "$tmp/b" | grep -q "^HTTP/1.1 400"'
head -c 3000000 /dev/zero | tr '\0' 'a' >"$tmp/big"
{ printf '{"model":"llama3.2:3b","stream":false,"prompt":"'; cat "$tmp/big"; printf '"}'; } >"$tmp/big.json"
# curl asks with Expect: 100-continue; waiting up to 30 s for the interim
# answer makes this a check of the answer, not of the machine's speed
req POST /api/generate --data-binary @"$tmp/big.json" --expect100-timeout 30
check "3 MB request body accepted" eval 'is 200 && has "\"prompt_eval_count\":7500"'
check "Expect: 100-continue answered with 100 Continue" eval 'head -n1 "$tmp/h" | grep -q "^HTTP/1.1 100 Continue"'

req POST /api/generate -H 'Content-Type: application/json' --data-binary @- <<<'{"model":"llama3.2:3b","prompt":"ok","stream":false}'
check "server still serving after all that" is 200

# ---- determinism
req POST /api/chat -d "$CHAT"',"stream":false}'
sed 's/"created_at":"[^"]*"//; s/"done":true.*//' "$tmp/b" >"$tmp/c1"
req POST /api/chat -d "$CHAT"',"stream":false}'
sed 's/"created_at":"[^"]*"//; s/"done":true.*//' "$tmp/b" >"$tmp/c2"
check "same prompt twice: byte-identical message" cmp -s "$tmp/c1" "$tmp/c2"
start_sim --time-scale 0 --tokens-min 20 --tokens-max 60 --seed 7 --think-in-content
req POST /api/chat -d "$CHAT"',"stream":false,"think":false}'
sed 's/"created_at":"[^"]*"//; s/"done":true.*//' "$tmp/b" >"$tmp/c3"
req POST /api/chat -d "$CHAT"',"stream":false}'
check "--think-in-content: <think> at the start of content" eval 'has "\"content\":\"\\u003cthink\\u003e\\n" && lacks "\"thinking\""'
S1=$URL
start_sim --time-scale 0 --tokens-min 20 --tokens-max 60 --seed 7 --reasoning-field reasoning_content
req POST /api/chat -d "$CHAT"',"stream":false,"think":false}'
sed 's/"created_at":"[^"]*"//; s/"done":true.*//' "$tmp/b" >"$tmp/c4"
check "same seed, new process: identical content" cmp -s "$tmp/c3" "$tmp/c4"
req POST /v1/chat/completions -d "$OAI"'}'
check "--reasoning-field reasoning_content" has '"reasoning_content":"Okay'
start_sim --time-scale 0 --tokens-min 20 --tokens-max 60 --seed 8
req POST /api/chat -d "$CHAT"',"stream":false,"think":false}'
sed 's/"created_at":"[^"]*"//; s/"done":true.*//' "$tmp/b" >"$tmp/c5"
check "another seed: different content" eval '! cmp -s "$tmp/c3" "$tmp/c5"'

# ---- flags
"$bin" sim --parallel zero >/dev/null 2>"$tmp/e"; rc=$?
check "bad flag value: exit 2, names the flag" eval '[ $rc = 2 ] && grep -q -- "--parallel" "$tmp/e" && [ $(wc -l < "$tmp/e") = 1 ]'
cp "$bin" "$tmp/ollaeval-alone"
"$tmp/ollaeval-alone" sim --help >/dev/null 2>"$tmp/e"; rc=$?
check "ollaeval sim without ollaeval-sim beside it: exit 1, names it" eval '[ $rc = 1 ] && grep -q "cannot run the simulator $tmp/ollaeval-sim" "$tmp/e"'
check "ollaeval-sim is the same program" eval '"$(dirname "$bin")/ollaeval-sim" --help | grep -q "^usage: ollaeval sim"'
undocumented=$("$bin" sim --help | grep -oE '^  --[a-z0-9-]+' | tr -d ' ' | while read -r f; do
    case "$f" in --help | --fault-[0-9a-z]*) continue ;; esac
    grep -qF -- "\`$f" docs/sim.md || echo "$f"; done)
check "every flag of --help is in docs/sim.md${undocumented:+ (missing: $undocumented)}" [ -z "$undocumented" ]
"$bin" sim --help >"$tmp/e"; rc=$?
check "--help lists flags with defaults" eval '[ $rc = 0 ] && grep -q -- "--max-queue N .*(default 512)" "$tmp/e" && grep -q -- "--fault-stall" "$tmp/e"'

finish
