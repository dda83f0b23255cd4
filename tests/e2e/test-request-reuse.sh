#!/usr/bin/env bash
# test-request-reuse.sh: what goes on the wire when requests of every shape
# follow one another on the engine's reused easy handles (http.c keeps a
# POST's options for the next request, keeps parsed URLs and header lists):
# each request is exactly its own, whatever came before it. Against
# tests/lib/hostile.c in `request` mode, which answers every request with
# the request as it came; one request at a time (-c 1), so each reuses the
# handle of the one before.
set -u
. tests/lib/harness.sh
cc -O1 -o "$tmp/hostile" tests/lib/hostile.c || { echo "Bail out! cannot build tests/lib/hostile.c"; exit 1; }
"$tmp/hostile" request 0 >"$tmp/h.port" &
hpid=$!
trap 'kill $hpid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$tmp/h.port" ] && break; sleep 0.02; done
HURL=http://127.0.0.1:$(cat "$tmp/h.port")
ver=$("$bin" --version | awk '{print $2}')

cat >"$tmp/seq.lua" <<'LUA'
-- each request's head and body as the server saw them, one file per step
local core = require "ollaeval.core"
local url, dir = arg[1], arg[2]
local function save(name, r, err)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(r and r.body or ("FAILED " .. tostring(err)))
    f:close()
end
local function req(name, spec) save(name, http(spec)) end
req("post1", { url = url .. "/one", method = "POST", body = "{\"a\":1}",
               headers = { ["Content-Type"] = "application/json" } })
req("get", { url = url .. "/two" })
req("post-ua", { url = url .. "/three", method = "POST", body = "x=1",
                 headers = { ["User-Agent"] = "probe/1", ["X-Step"] = "3" } })
req("delete", { url = url .. "/four", method = "DELETE" })
local h = http { url = url .. "/five", method = "HEAD" } -- (no body: the server says it in a header)
save("head", { body = h and h.headers["x-request"] or "no answer" })
req("post2", { url = url .. "/one", method = "POST", body = "{\"b\":22}",
               headers = { ["Content-Type"] = "application/json" } })
req("post-put", { url = url .. "/six", method = "PUT", body = "put-body" })
req("post3", { url = url .. "/one", method = "POST", body = "{\"c\":333}",
               headers = { ["Content-Type"] = "application/json" } })
-- basic auth on one request, then none on the next to the same URL
save("auth", core.request { url = url .. "/one", method = "POST", body = "z", userpwd = "user:pw" })
req("noauth", { url = url .. "/one", method = "POST", body = "z" })
-- more distinct URLs than the parsed-URL stock holds: each goes where it says
local bad = 0
for i = 1, 40 do
    local r = http { url = url .. "/many/" .. i }
    if not (r and r.body:find("^GET /many/" .. i .. " HTTP/1.1\r\n")) then bad = bad + 1 end
end
save("many", { body = tostring(bad) })
LUA
"$bin" --trust "$tmp/seq.lua" -q -c 1 "$HURL" "$tmp" 2>"$tmp/seq.err"
rc=$?
ok "the sequence ran (exit $rc)" '[ $rc -eq 0 ]'
sed 's/^/# /' "$tmp/seq.err"

count() { grep -ci "^$1" "$tmp/$2"; }
line1() { head -n 1 "$tmp/$1" | tr -d '\r'; }
body() { awk 'BEGIN{RS="\r\n\r\n"} NR==2{printf "%s", $0}' "$tmp/$1"; }

ok "a POST: its method, path and body" '[ "$(line1 post1)" = "POST /one HTTP/1.1" ] && [ "$(body post1)" = "{\"a\":1}" ]'
ok "...its Content-Type and Content-Length" \
    'grep -qi "^Content-Type: application/json" "$tmp/post1" && grep -qi "^Content-Length: 7" "$tmp/post1"'
ok "...our User-Agent, once; no Expect" \
    '[ "$(count User-Agent: post1)" = 1 ] && grep -q "^User-Agent: ollaeval/$ver" "$tmp/post1" && [ "$(count Expect: post1)" = 0 ]'
ok "a GET after it: no body, no Content-Length, no Content-Type" \
    '[ "$(line1 get)" = "GET /two HTTP/1.1" ] && [ -z "$(body get)" ] &&
     [ "$(count Content-Length: get)" = 0 ] && [ "$(count Content-Type: get)" = 0 ]'
ok "...and our User-Agent" '[ "$(count User-Agent: get)" = 1 ]'
ok "a POST with its own User-Agent: that one only, and its other header" \
    '[ "$(count User-Agent: post-ua)" = 1 ] && grep -q "^User-Agent: probe/1" "$tmp/post-ua" &&
     grep -q "^X-Step: 3" "$tmp/post-ua" && [ "$(body post-ua)" = "x=1" ]'
ok "a DELETE after it: its method, no body, none of the headers before" \
    '[ "$(line1 delete)" = "DELETE /four HTTP/1.1" ] && [ -z "$(body delete)" ] &&
     [ "$(count X-Step: delete)" = 0 ] && [ "$(count Content-Length: delete)" = 0 ] &&
     grep -q "^User-Agent: ollaeval/" "$tmp/delete"'
ok "a HEAD: its method" '[ "$(line1 head)" = "HEAD /five HTTP/1.1" ]'
ok "a POST after them: a POST again, with its own body" \
    '[ "$(line1 post2)" = "POST /one HTTP/1.1" ] && [ "$(body post2)" = "{\"b\":22}" ] &&
     grep -qi "^Content-Length: 8" "$tmp/post2" && [ "$(count X-Step: post2)" = 0 ]'
ok "a PUT with a body" '[ "$(line1 post-put)" = "PUT /six HTTP/1.1" ] && [ "$(body post-put)" = "put-body" ]'
ok "a POST after the PUT" '[ "$(line1 post3)" = "POST /one HTTP/1.1" ] && [ "$(body post3)" = "{\"c\":333}" ]'
ok "basic auth when asked" 'grep -q "^Authorization: Basic dXNlcjpwdw==" "$tmp/auth"'
ok "...and none on the next request to the same URL" '[ "$(count Authorization: noauth)" = 0 ]'
ok "40 distinct URLs: each request went to its own" '[ "$(cat "$tmp/many")" = 0 ]'

# a proxy from the environment is still honoured (the engine only skips
# curl's look-ups when no *_proxy variable is set at start)
cat >"$tmp/one.lua" <<'LUA'
local r, err, kind = http { url = arg[1] .. "/p", timeout = 5 }
print(r and ("status " .. r.status .. " " .. r.body:match("^[^\r]*")) or ("failed " .. kind .. " " .. err))
LUA
out=$(http_proxy=http://127.0.0.1:1 "$bin" --trust "$tmp/one.lua" -q "$HURL" 2>&1)
ok "http_proxy set to a dead proxy: the request goes to it, and fails ($out)" \
    '[[ "$out" == "failed connection"* ]]'
out=$(http_proxy=http://127.0.0.1:1 no_proxy=127.0.0.1 "$bin" --trust "$tmp/one.lua" -q "$HURL" 2>&1)
ok "...no_proxy naming the host: it goes direct ($out)" '[ "$out" = "status 200 GET /p HTTP/1.1" ]'
out=$(env -u http_proxy -u no_proxy "$bin" --trust "$tmp/one.lua" -q "$HURL" 2>&1)
ok "...no proxy variable: direct ($out)" '[ "$out" = "status 200 GET /p HTTP/1.1" ]'
done_testing
