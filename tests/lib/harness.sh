# tests/lib/harness.sh: the shared harness of the shell tests tests/*/test-*.sh.
# Source it from the repository root (tests/run runs the tests there):
#   set -u
#   . tests/lib/harness.sh
# It cds to the repository root and sets
#   root, bin         the repository root; the ollaeval binary ($OLLAEVAL, which
#                     tests/run sets; else ./ollaeval), as an absolute path
#   tmp               a temporary folder, removed at exit
#   gsm               the real GSM8K test set under $OLLAEVAL_SHARED (may be
#                     missing: call need_data "$gsm" before using it)
#   synth             1,319 synthetic GSM8K-shaped problems (evals/synthetic.lua,
#                     seed 0), made on first use of synth_data; the fixture for
#                     every test that does not need the real data
# and exports OLLAEVAL_BACKOFF_MS=20 (short retry backoff) unless it is set.
# TAP ("ok N - DESC" / "not ok N - DESC", counted in tap_n and tap_fails):
#   ok DESC EXPR      passes when EXPR (eval'd) holds
#   check DESC CMD... passes when CMD succeeds; a failure also prints the
#                     status and body of the last req
#   timing DESC CMD...  check on wall-clock time: skipped under valgrind
#                     (tests/run --valgrind sets OLLAEVAL_VALGRIND)
#   pass DESC, nok DESC  one passing, one failing line
#   done_testing      the plan line "1..N"; fails when a test failed. Last line
#                     of a test, or:
#   need_data FILE... real data the test cannot run without: when a FILE is
#                     missing the whole test is skipped ("1..0 # SKIP"), or
#                     fails when OLLAEVAL_REQUIRE_DATA=1 (CI, beside ../shared)
#   synth_data [N]    writes the synthetic fixture ($synth, or N problems to
#                     $tmp/synth-N.jsonl, printed) 
#   finish            stops every simulator with SIGTERM, checks (one more TAP
#                     line) that each exits 0 without sanitizer reports, then
#                     done_testing
# Simulators (`ollaeval sim`), each killed at exit even when the test stops
# midway:
#   start_sim [NAME] FLAGS...  starts `ollaeval sim --port 0 --quiet FLAGS` in
#                     the background with scripts/start-sim.sh, its output to
#                     $tmp/NAME.sim.out; sets URL, PORT and PID; "Bail out!"
#                     when it does not start.
#                     Not in $(...): a simulator started in a subshell would
#                     escape the cleanup and finish.
#   sims_under_valgrind  simulators started from now on run under
#                     $OLLAEVAL_VALGRIND (for the tests of the simulator itself)
#   stop_sim PID      stops one with SIGTERM and waits for it
#   stat KEY          the first integer value of "KEY": in $URL/stats
#                     (hides stat(1))
# HTTP with curl against $URL:
#   req METHOD PATH [CURL ARGS...]  status in S, headers in $tmp/h, body in $tmp/b
#   has STR, hasre ERE, lacks STR  the body contains STR, matches ERE, lacks STR
#   hdr STR           the headers contain STR (any case)
#   is CODE           the status is CODE
#   body_is STR       the body is exactly STR
# Runs and run folders:
#   gsm8k ARGS...     scripts/gsm8k.lua -m qwen3:8b ARGS...
#   get FILE PATH...  runcheck get: the value at each dotted PATH
#                     ("nil" when absent; "#lines" counts the lines)
#   runcheck CMD ARGS...  tests/lib/runcheck.lua: get, same, journal,
#                     attempts, errors, stats (see that file)
#   jlines FILE       the number of lines of FILE, 0 when it does not exist

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2
bin=${OLLAEVAL:-./ollaeval}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
gsm="${OLLAEVAL_SHARED:-$root/../shared}/datasets/gsm8k/test.jsonl"
tmp=$(mktemp -d)
synth=$tmp/synth.jsonl
export OLLAEVAL_BACKOFF_MS=${OLLAEVAL_BACKOFF_MS:-20}

# --- TAP -----------------------------------------------------------------------
tap_n=0 tap_fails=0
pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
tap_fail() { tap_n=$((tap_n + 1)); tap_fails=$((tap_fails + 1)); echo "not ok $tap_n - $1"; }
nok() { tap_fail "$1"; echo "# status=${S:-} body: $(head -c 400 "$tmp/b" 2>/dev/null)"; }
# no locals in ok, check and timing: EXPR and CMD see the caller's variables
ok() { if eval "$2"; then pass "$1"; else tap_fail "$1"; fi; }
check() { if "${@:2}"; then pass "$1"; else nok "$1"; fi; }
timing() {
    if [ -n "${OLLAEVAL_VALGRIND:-}" ]; then
        pass "$1 # SKIP under valgrind"
    else
        check "$@"
    fi
}
done_testing() {
    echo "1..$tap_n"
    [ "$tap_fails" -eq 0 ]
}
need_data() {
    local f
    for f in "$@"; do
        [ -s "$f" ] && continue
        if [ "${OLLAEVAL_REQUIRE_DATA:-0}" = 1 ]; then
            echo "not ok 1 - needs $f (OLLAEVAL_REQUIRE_DATA=1)"
            exit 1
        fi
        echo "1..0 # SKIP needs real data: $f (set OLLAEVAL_SHARED)"
        exit 0
    done
}
synth_data() {
    local n=${1:-1319} out=$synth
    [ -n "${1:-}" ] && out=$tmp/synth-$n.jsonl
    [ -s "$out" ] || "$bin" "$root/scripts/synthetic.lua" --n "$n" >"$out" || { echo "Bail out! cannot make $out"; exit 1; }
    [ -n "${1:-}" ] && echo "$out"
    return 0
}

# --- simulators ------------------------------------------------------------------
sim_pids=() sim_errs=() sim_count=0 sim_wrap=""
sims_under_valgrind() { sim_wrap=${OLLAEVAL_VALGRIND:-}; }

. "$root/scripts/start-sim.sh"
start_sim() {
    local name
    sim_count=$((sim_count + 1))
    case "${1:-}" in
        "" | -*) name=sim$sim_count ;;
        *) name=$1; shift ;;
    esac
    start_sim_bg -b "$bin" -l "$tmp/$name.sim.out" -w "$sim_wrap" --quiet "$@" ||
        { echo "Bail out! simulator $name did not start: $(cat "$tmp/$name.sim.out")"; exit 1; }
    PID=$SIM_PID URL=$SIM_URL
    PORT=${URL##*:}
    sim_pids+=("$PID")
    sim_errs+=("$tmp/$name.sim.out")
}

stop_sim() {
    local p keep=()
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    for p in "${sim_pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    sim_pids=("${keep[@]}")
}

finish() {
    local bad=0 p rc
    for p in "${sim_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        rc=$?
        [ "$rc" = 0 ] || { bad=1; echo "# simulator $p exited with $rc"; }
    done
    sim_pids=()
    if grep -lE "Sanitizer|runtime error|LEAK" "${sim_errs[@]}" /dev/null >/dev/null 2>&1; then
        bad=1
        grep -hE -A6 "Sanitizer|runtime error" "${sim_errs[@]}" /dev/null | head -n 40 | sed 's/^/# /'
    fi
    check "simulators stop cleanly on SIGTERM (exit 0, no sanitizer reports)" [ "$bad" = 0 ]
    done_testing
}

# at exit: kill the simulators and any other background job still running (a
# stopped one is continued so that it gets the signal), then remove $tmp
cleanup() {
    local p
    for p in "${sim_pids[@]}" $(jobs -p); do
        kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null
    done
    for p in "${sim_pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

stat() { curl -s "$URL/stats" | grep -oE "\"$1\":[0-9]+" | head -n1 | cut -d: -f2; }

# --- HTTP --------------------------------------------------------------------------
req() {
    local m=$1 p=$2
    shift 2
    S=$(curl -s -o "$tmp/b" -D "$tmp/h" -w '%{http_code}' -X "$m" "$URL$p" "$@")
}
has() { grep -qF -- "$1" "$tmp/b"; }
hasre() { grep -qE -- "$1" "$tmp/b"; }
lacks() { ! grep -qF -- "$1" "$tmp/b"; }
hdr() { grep -qiF -- "$1" "$tmp/h"; }
is() { [ "$S" = "$1" ]; }
body_is() { [ "$(cat "$tmp/b")" = "$1" ]; }

# --- runs ----------------------------------------------------------------------------
gsm8k() { "$bin" scripts/gsm8k.lua -m qwen3:8b "$@"; }
get() { runcheck get "$@"; }
runcheck() { "$bin" --trust tests/lib/runcheck.lua "$@"; }
jlines() { if [ -e "$1" ]; then grep -c '' "$1"; else echo 0; fi; }
