#!/usr/bin/env bash
# tests/engine/test-autowin.sh: the window controller (core/autowin.c) in
# virtual time: builds tests/engine/autowin_test.c (make test-bins, in the
# build folder of the binary under test: build-asan/ for build-asan/ollaeval)
# and runs it; it prints the TAP lines itself. Under tests/run --valgrind it
# runs a shorter table under valgrind.
set -u
. tests/lib/harness.sh
mode=release
case "$bin" in */build-asan/*) mode=asan ;; esac
dir=build
[ "$mode" = asan ] && dir=build-asan
if ! make -s MODE=$mode test-bins >"$tmp/make.out" 2>&1; then
    sed 's/^/# /' "$tmp/make.out"
    tap_fail "autowin_test builds (make MODE=$mode test-bins)"
    done_testing
    exit 1
fi
if [ -n "${OLLAEVAL_VALGRIND:-}" ]; then
    $OLLAEVAL_VALGRIND "$dir/autowin_test" --quick
else
    "$dir/autowin_test"
fi
