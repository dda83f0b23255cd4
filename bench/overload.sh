#!/usr/bin/env bash
# bench/overload.sh: the full overload grid of tests/e2e/test-overload.sh:
# -c 32/64/256 against 4 slots with --max-queue 0/2/8 and --fault-500
# 0/0.05/0.1, the 1,319 synthetic problems per cell (27 runs; a few minutes
# on 2 cores). OVERLOAD_TIME_SCALE (default 0.001) sets the simulator's pace.
#   bench/overload.sh [BINARY]
set -u
cd "$(dirname "$0")/.." || exit 2
OVERLOAD_GRID=full exec tests/run "${1:-./ollaeval}" tests/e2e/test-overload.sh
