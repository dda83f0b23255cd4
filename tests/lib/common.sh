# tests/lib/common.sh: shared helpers of the shell tests that run whole
# evaluations against `ollaeval sim`. Source it after `set -u`:
#   . "$(dirname "$0")/lib/common.sh"
# It sets bin (the binary), tmp (a temp dir removed at exit), gsm (the
# GSM8K test set), and defines:
#   ok DESC EXPR          one TAP line: "ok N - DESC" when EXPR (eval'd) holds
#   start_sim NAME ARGS   starts `ollaeval sim --port 0 --quiet ARGS` in the
#                         background; sets SIM_URL and SIM_PID (killed at exit)
#   check ARGS            `ollaeval tests/lib/runcheck.lua ARGS`
#   finish                exits 1 when a test failed
n=0 fails=0
bin=${OLLAEVAL:?OLLAEVAL must name the binary (tests/run sets it)}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 2
gsm="${OLLAEVAL_SHARED:-$root/../shared}/datasets/gsm8k/test.jsonl"
tmp=$(mktemp -d)
sim_pids=()
cleanup() {
    local p
    for p in "${sim_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
# the runs go to $tmp; the backoff of retries is short unless a test says so
export OLLAEVAL_BACKOFF_MS=${OLLAEVAL_BACKOFF_MS:-20}

ok() {
    n=$((n + 1))
    if eval "$2"; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        fails=$((fails + 1))
    fi
}

start_sim() {
    local name=$1
    shift
    "$bin" sim --port 0 --quiet "$@" >"$tmp/$name.sim.log" 2>&1 &
    SIM_PID=$!
    sim_pids+=("$SIM_PID")
    SIM_URL=
    local i
    for i in $(seq 200); do
        SIM_URL=$(sed -n 's/^ollaeval sim listening on \(http:[^ ]*\).*/\1/p' "$tmp/$name.sim.log" 2>/dev/null | head -n 1)
        [ -n "$SIM_URL" ] && return 0
        sleep 0.025
    done
    echo "# the simulator did not start: $(cat "$tmp/$name.sim.log")"
    return 1
}

stop_sim() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

check() {
    "$bin" tests/lib/runcheck.lua "$@"
}

# the GSM8K entry script with the model the sim serves, quiet progress
gsm8k() {
    "$bin" scripts/gsm8k.lua -m qwen3:8b "$@"
}

finish() {
    [ "$fails" -eq 0 ]
}
