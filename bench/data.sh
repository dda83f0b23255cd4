# bench/data.sh, sourced by the bench scripts: the problems they run.
#   bench_data BINARY DIR   sets DATA to GSM8K's test set beside the
#                           repository ($OLLAEVAL_SHARED, else ../shared),
#                           else to DIR/synthetic.jsonl, 1,319 problems of
#                           its shape (scripts/synthetic.lua), and says so
#                           on stdout; returns 1 if they cannot be written.
bench_data() {
    local shared=${OLLAEVAL_SHARED:-../shared}
    DATA=$shared/datasets/gsm8k/test.jsonl
    [ -s "$DATA" ] && return 0
    DATA=$2/synthetic.jsonl
    "$1" scripts/synthetic.lua --n 1319 >"$DATA" || return 1
    echo "(no GSM8K at $shared: synthetic problems of the same shape)"
}
