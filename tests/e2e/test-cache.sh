#!/usr/bin/env bash
# test-cache.sh: --cache on real runs of the binary against the simulator.
# A second identical run asks the server nothing and gives the same
# records (each saying cached); another model, another temperature or
# another seed asks again; --cache alone uses the cache folder; two runs
# sharing one cache at once both complete; a locked or corrupt cache is a
# warning and the run goes on without it.
set -u
. tests/lib/harness.sh
synth_data
start_sim c --time-scale 0 --parallel 16 --accuracy 0.6 --seed 9 --dataset "$synth"; c=$URL
gen() { curl -s "$c/stats" > "$tmp/st.json"; get "$tmp/st.json" generate_requests; }
db=$tmp/cache/requests.sqlite
run() { local out=$1; shift; "$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$c" -c 8 --dataset "$synth" --limit 30 -o "$tmp/$out" "$@"; }
cached_count() { grep -c '"cached":true' "$tmp/$1/samples.jsonl"; }

g0=$(gen)
run first --cache "$db" >/dev/null 2>"$tmp/first.err"; rc=$?
g1=$(gen)
ok "a first run with --cache PATH asks the server for every item ($((g1 - g0)))" '[ $rc -eq 0 ] && [ $((g1 - g0)) = 30 ] && [ -s "$db" ]'
ok "its records are not cached" '[ "$(cached_count first)" = 0 ]'
run again --cache="$db" >/dev/null 2>&1; rc=$?
g2=$(gen)
ok "the same run again asks the server nothing" '[ $rc -eq 0 ] && [ "$g2" = "$g1" ]'
ok "every record says cached" '[ "$(cached_count again)" = 30 ]'
ok "the same accuracy" '[ "$(get "$tmp/again/summary.json" metrics.accuracy)" = "$(get "$tmp/first/summary.json" metrics.accuracy)" ]'
"$bin" --trust tests/lib/records.lua same "$tmp/first/samples.jsonl" "$tmp/again/samples.jsonl" latency_ms,attempts,cached,overloads,calls > "$tmp/same.out"; rc=$?
ok "the same records but for timing and cached" '[ $rc -eq 0 ]' || cat "$tmp/same.out"

run temp --cache="$db" --temperature 0.5 >/dev/null 2>&1
g3=$(gen)
ok "another temperature asks again" '[ $((g3 - g2)) = 30 ] && [ "$(cached_count temp)" = 0 ]'
run seed --cache="$db" --seed 4 >/dev/null 2>&1
g4=$(gen)
ok "another seed asks again" '[ $((g4 - g3)) = 30 ] && [ "$(cached_count seed)" = 0 ]'
"$bin" scripts/gsm8k.lua -q -m llama3.2:3b -e "$c" -c 8 --dataset "$synth" --limit 30 -o "$tmp/other" --cache="$db" >/dev/null 2>&1
g5=$(gen)
ok "another model asks again, and is named in its own records" '[ $((g5 - g4)) = 30 ] && [ "$(cached_count other)" = 0 ]'
run numpred --cache="$db" --num-predict 100 >/dev/null 2>&1
g6=$(gen)
ok "another --num-predict asks again" '[ $((g6 - g5)) = 30 ]'
run partial --cache="$db" --limit 40 >/dev/null 2>&1
g7=$(gen)
ok "a longer run asks only for the new items" '[ $((g7 - g6)) = 10 ] && [ "$(cached_count partial)" = 30 ]'

# --cache alone: requests.sqlite under $OLLAEVAL_CACHE
OLLAEVAL_CACHE=$tmp/cdir run dflt --cache >/dev/null 2>&1; rc=$?
ok "--cache alone writes \$OLLAEVAL_CACHE/requests.sqlite" '[ $rc -eq 0 ] && [ -s "$tmp/cdir/requests.sqlite" ]'

# --cache before SCRIPT does not take SCRIPT as its PATH
before=$(gen)
OLLAEVAL_CACHE=$tmp/cdir "$bin" --cache scripts/gsm8k.lua -q -m qwen3:8b -e "$c" -c 8 --dataset "$synth" --limit 30 -o "$tmp/front" >/dev/null 2>&1; rc=$?
ok "--cache SCRIPT: the default cache, all hits" '[ $rc -eq 0 ] && [ "$(gen)" = "$before" ] && [ "$(cached_count front)" = 30 ]'
ok "--help lists --cache [PATH], --shard-count and rescore" '"$bin" --help | grep -q -- "--cache \[PATH\]" && "$bin" --help | grep -q -- "--shard-count N" && "$bin" --help | grep -q "rescore RUN_DIR"'

# two runs at once on one cache file, with different models: both whole
db2=$tmp/shared.sqlite
run p1 --cache="$db2" --limit 60 >/dev/null 2>"$tmp/p1.err" &
a=$!
"$bin" scripts/gsm8k.lua -q -m llama3.2:3b -e "$c" -c 8 --dataset "$synth" --limit 60 -o "$tmp/p2" --cache="$db2" >/dev/null 2>"$tmp/p2.err" &
b=$!
wait $a; ra=$?; wait $b; rb=$?
ok "two runs sharing a cache at once both complete" '[ $ra -eq 0 ] && [ $rb -eq 0 ] && [ "$(get "$tmp/p1/summary.json" counts.scored)" = 60 ] && [ "$(get "$tmp/p2/summary.json" counts.scored)" = 60 ]'
ok "without warnings" '! grep -q warning "$tmp/p1.err" "$tmp/p2.err"'
before=$(gen)
run p3 --cache="$db2" --limit 60 >/dev/null 2>&1
ok "and every answer they stored is whole: a third run is all hits" '[ "$(gen)" = "$before" ] && [ "$(cached_count p3)" = 60 ]'

# a corrupt cache: a warning, the run goes on and asks the server
printf 'SQLite format 3\0 but then garbage %.0s' $(seq 1 200) > "$tmp/corrupt.sqlite"
before=$(gen)
run corrupt --cache="$tmp/corrupt.sqlite" >/dev/null 2>"$tmp/corrupt.err"; rc=$?
ok "a corrupt cache: the run completes" '[ $rc -eq 0 ] && [ "$(get "$tmp/corrupt/summary.json" counts.scored)" = 30 ]'
ok "asking the server" '[ $(( $(gen) - before )) = 30 ]'
ok "with one warning naming the file" '[ "$(grep -c "warning: request cache $tmp/corrupt.sqlite" "$tmp/corrupt.err")" = 1 ] && grep -q "going on without the cache" "$tmp/corrupt.err"'

# a locked cache (another process holds an exclusive lock): a warning, the run goes on
if command -v sqlite3 >/dev/null; then
    cp "$db" "$tmp/locked.sqlite"
    rm -f "$tmp/locked.sqlite-wal" "$tmp/locked.sqlite-shm"
    mkfifo "$tmp/hold"
    ( sqlite3 "$tmp/locked.sqlite" < "$tmp/hold" >/dev/null 2>&1 ) &
    lockpid=$!
    exec 7>"$tmp/hold"
    printf 'PRAGMA journal_mode=DELETE;\nPRAGMA locking_mode=EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT count(*) FROM answers;\n' >&7
    # until the lock is held (another reader is refused), at most 10 s
    for _ in $(seq 200); do
        sqlite3 "$tmp/locked.sqlite" 'SELECT count(*) FROM answers;' >/dev/null 2>&1 || break
        sleep 0.05
    done
    before=$(gen)
    run locked --cache="$tmp/locked.sqlite" >/dev/null 2>"$tmp/locked.err"; rc=$?
    ok "a locked cache: the run completes" '[ $rc -eq 0 ] && [ "$(get "$tmp/locked/summary.json" counts.scored)" = 30 ]'
    ok "asking the server" '[ $(( $(gen) - before )) = 30 ]'
    ok "with one warning that it is locked" '[ "$(grep -c "warning: request cache" "$tmp/locked.err")" = 1 ] && grep -q "locked" "$tmp/locked.err"'
    exec 7>&-
    wait $lockpid
else
    echo "ok - # SKIP no sqlite3 command (vendor/deps.txt)"
fi
done_testing
