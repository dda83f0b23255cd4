#!/usr/bin/env bash
# scripts/start-sim.sh: the one way to start `ollaeval sim` in the background
# (the tests, bench/ and scripts/demo.sh use it).
#
# Run:    scripts/start-sim.sh [-b BINARY] [-l LOG] [-w WRAPPER] [SIM OPTIONS...]
#         prints "PID URL" once the simulator listens, exit 0; exit 1 with
#         what it said on stderr when it does not start within 10 s.
# Source: . scripts/start-sim.sh; start_sim_bg [-b ...] [SIM OPTIONS...]
#         the same in the calling shell, so the simulator is its child (it
#         can `wait` for its exit status); sets SIM_PID and SIM_URL.
# The simulator listens on a free port (--port 0); its stdout and stderr go
# to LOG (default: a temp file). WRAPPER (for example valgrind) runs it
# under that command: then the ollaeval-sim beside BINARY is run directly,
# since `ollaeval sim` execs it and the wrapper would not follow the exec.
# The caller owns the process and stops it with SIGTERM.
start_sim_bg() {
    local bin=./ollaeval log="" wrap="" _
    while [ $# -gt 0 ]; do
        case "$1" in
            -b) bin=$2; shift 2 ;;
            -l) log=$2; shift 2 ;;
            -w) wrap=$2; shift 2 ;;
            *) break ;;
        esac
    done
    [ -n "$log" ] || log=$(mktemp "${TMPDIR:-/tmp}/ollaeval-sim.XXXXXX")
    local cmd=("$bin" sim)
    [ -n "$wrap" ] && [ -x "$(dirname "$bin")/ollaeval-sim" ] && cmd=("$(dirname "$bin")/ollaeval-sim")
    # shellcheck disable=SC2086
    $wrap "${cmd[@]}" --port 0 "$@" >"$log" 2>&1 </dev/null &
    SIM_PID=$! SIM_URL=""
    for _ in $(seq 500); do
        # (the line may come after others: the dataset's, without --quiet)
        SIM_URL=$(sed -n 's/^ollaeval sim listening on \(http:[^ ]*\).*/\1/p' "$log" 2>/dev/null | head -n 1)
        [ -n "$SIM_URL" ] && return 0
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.02
    done
    kill "$SIM_PID" 2>/dev/null
    echo "start-sim: the simulator did not start: $(cat "$log")" >&2
    return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    start_sim_bg "$@" || exit 1
    echo "$SIM_PID $SIM_URL"
fi
