#!/usr/bin/env bash
# test-sim-defence.sh: the simulator defends itself against clients that
# misbehave: a client that pipelines requests and never reads stops being
# read once its unsent output passes --max-unsent and is closed after
# --write-timeout without progress; a slowloris client that never finishes
# its headers is closed after --header-timeout; other clients are answered
# meanwhile, and an idle keep-alive connection is left alone. Prints TAP.
set -u
. tests/lib/harness.sh
sims_under_valgrind

LIMIT=1048576
start_sim --time-scale 0 --tokens-min 3000 --tokens-max 3000 --max-unsent $LIMIT \
    --write-timeout 1500 --header-timeout 800

# ---- a pipelining client that never reads
body='{"model":"llama3.2:3b","stream":false,"prompt":"flood"}'
one="POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${#body}\r\n\r\n$body"
# 100 copies of 5,000 requests (73 MB; more than the kernel's buffers hold),
# then the client stays, never reading
for i in $(seq 5000); do printf "$one"; done >"$tmp/flood"
n_sent=500000
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
(for i in $(seq 100); do cat "$tmp/flood" >&3 2>/dev/null || exit 0; done; sleep 60) &
flooder=$!
exec 3>&-
for _ in $(seq 100); do [ "$(stat read_pauses)" -ge 1 ] && break; sleep 0.1; done
t0=$(date +%s%N)
req GET /api/version -m 5
t1=$(date +%s%N)
check "while a client floods without reading, another is answered" is 200
timing "... at once (under 1 s)" [ $(((t1 - t0) / 1000000)) -lt 1000 ]
req POST /api/chat -m 5 -d '{"model":"qwen3:8b","stream":false,"think":false,"options":{"num_predict":5},"messages":[{"role":"user","content":"hi"}]}'
check "... and a generation too" eval 'is 200 && has "\"done\":true"'
check "the flooded connection was paused (read_pauses 1)" [ "$(stat read_pauses)" = 1 ]
served=$(stat generate_requests) mu=$(stat max_unsent)
check "it stopped being served: $served of $n_sent requests" [ "$served" -lt 2000 ]
check "its unsent output stayed bounded: $mu bytes (limit $LIMIT + one reply)" [ "$mu" -lt $((LIMIT * 2)) ]
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
check "the simulator's memory stayed small (RSS $rss kB)" [ "$rss" -lt 400000 ]
for _ in $(seq 50); do [ "$(stat write_timeouts)" = 1 ] && break; sleep 0.1; done
check "after --write-timeout without progress the connection is closed" [ "$(stat write_timeouts)" = 1 ]
for _ in $(seq 50); do kill -0 "$flooder" 2>/dev/null || break; sleep 0.1; done
check "the flooding client sees its connection gone" eval '! kill -0 "$flooder" 2>/dev/null'
check "one connection left open (this /stats)" [ "$(stat connections)" = 1 ]

# ---- a client that reads slowly but steadily is never cut
start_sim --time-scale 0 --tokens-min 3000 --tokens-max 3000 --max-unsent $LIMIT --write-timeout 1500
head -c $(($(wc -c <"$tmp/flood") / 5000 * 300)) "$tmp/flood" >"$tmp/some" # 300 requests, about 11 MB of answers
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >>"$tmp/some"
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
cat "$tmp/some" >&3 &
for _ in $(seq 100); do [ "$(stat read_pauses)" -ge 1 ] && break; sleep 0.1; done # paused: now read
timeout 20 cat <&3 >"$tmp/slowread"
exec 3<&-
check "a pipelined client that reads late gets every answer, in order" eval '[ "$(grep -o "HTTP/1.1 200" "$tmp/slowread" | wc -l)" = 301 ] && tail -c 17 "$tmp/slowread" | grep -q "Ollama is running"'
check "... after being paused and resumed" eval '[ "$(stat read_pauses)" -ge 1 ] && [ "$(stat write_timeouts)" = 0 ]'

# ---- slowloris: headers that never end
start_sim --time-scale 0 --header-timeout 800
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
(printf 'GET / HTTP/1.1\r\nHost: x\r\n' >&4; for i in $(seq 40); do printf 'X-Slow: %d\r\n' "$i" >&4 2>/dev/null || exit 0; sleep 0.2; done) &
t0=$(date +%s%N)
timeout 6 cat <&4 >"$tmp/loris"; rc=$?
t1=$(date +%s%N)
exec 4<&-
check "slowloris: the connection is closed (EOF, nothing sent)" eval '[ $rc = 0 ] && [ ! -s "$tmp/loris" ]'
timing "... after the header timeout (0.8 s, closed in $(((t1 - t0) / 1000000)) ms)" eval '[ $(((t1 - t0) / 1000000)) -ge 700 ] && [ $(((t1 - t0) / 1000000)) -lt 3000 ]'
check "/stats header_timeouts 1" [ "$(stat header_timeouts)" = 1 ]
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
(printf 'GET /api/version HTTP/1.1\r\n' >&4; sleep 0.2; printf 'Host: x\r\n' >&4; sleep 0.2; printf 'Connection: close\r\n\r\n' >&4) &
timeout 6 cat <&4 >"$tmp/slowok"
exec 4<&-
check "headers sent in pieces within the timeout are served" grep -q '"version"' "$tmp/slowok"
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n' >&4
sleep 1.2
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&4
timeout 6 cat <&4 >"$tmp/idle"
exec 4<&-
check "an idle keep-alive connection is not cut by the header timeout" eval '[ "$(grep -o "HTTP/1.1 200" "$tmp/idle" | wc -l)" = 2 ] && [ "$(stat header_timeouts)" = 1 ]'

"$bin" sim --header-timeout -1 >/dev/null 2>"$tmp/e"; rc=$?
check "a negative timeout is refused (exit 2)" eval '[ $rc = 2 ] && grep -q -- "--header-timeout" "$tmp/e"'
finish
