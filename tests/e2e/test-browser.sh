#!/usr/bin/env bash
# test-browser.sh: report.html and compare.html in a real headless browser
# (Debian's chromium driven by playwright-core, tests/e2e/browser/page.js),
# opened from file:// with every network request refused: none is
# attempted, no Content-Security-Policy violation, no script error; markup
# in answers, item ids and model names renders as text; the numbers shown
# equal summary.json's and compare.json's; runs of 0, 1 and 100,000 samples
# open (the last in under 2 s); with JavaScript off the metrics are there.
# A screenshot of each page is kept in $OLLAEVAL_ARTEFACTS (default
# build/test-artefacts/browser), its path printed.
# Every page opens in one browser process (tests/e2e/browser/page.js
# --jobs): the runs are made first, then the pages opened, then checked.
# Needs chromium and playwright-core (vendor/install.sh installs both):
# skipped without them, failed under OLLAEVAL_REQUIRE_BROWSER=1 (CI).
set -u
. tests/lib/harness.sh
chromium=${OLLAEVAL_CHROMIUM:-/usr/bin/chromium}
modules=${OLLAEVAL_NODE_MODULES:-$root/build/node/node_modules}
missing=""
[ -x "$chromium" ] || missing="$missing chromium ($chromium)"
command -v node >/dev/null 2>&1 || missing="$missing node"
[ -f "$modules/playwright-core/package.json" ] || missing="$missing playwright-core ($modules)"
if [ -n "$missing" ]; then
    if [ "${OLLAEVAL_REQUIRE_BROWSER:-0}" = 1 ]; then
        echo "not ok 1 - needs$missing (OLLAEVAL_REQUIRE_BROWSER=1; run vendor/install.sh)"
        exit 1
    fi
    echo "1..0 # SKIP needs$missing (vendor/install.sh installs them)"
    exit 0
fi
export OLLAEVAL_CHROMIUM=$chromium OLLAEVAL_NODE_MODULES=$modules
art=${OLLAEVAL_ARTEFACTS:-$root/build/test-artefacts}/browser
mkdir -p "$art"
mkrun() { "$bin" --trust tests/lib/mkrun.lua "$@"; }
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
# queue NAME PAGE [page.js flags]: a page to open, its result in $tmp/NAME.json
# and its screenshot in $art/NAME.png once open_pages ran
jobs=$tmp/pages.tsv
: >"$jobs"
queue() {
    local name=$1 page=$2 IFS=$'\t'
    shift 2
    printf '%s\n' "$tmp/$name.json	$page	$art/$name.png${*:+	$*}" >>"$jobs"
}
open_pages() { # opens every queued page in one browser
    node tests/e2e/browser/page.js --jobs "$jobs" 2>"$tmp/pages.err" ||
        echo "# page.js: $(head -c 600 "$tmp/pages.err")"
}
opened() { # NAME: the page opened, its screenshot kept
    if [ -s "$tmp/$1.json" ]; then
        echo "# screenshot: $art/$1.png"
    else
        echo "# page.js failed: $(head -c 600 "$tmp/$1.err" 2>/dev/null)"
        return 1
    fi
}
empty() { local v; v=$(get "$1" "$2"); [ "$v" = "{}" ] || [ "$v" = "[]" ]; }
clean() { # NAME: nothing requested, no CSP violation, no error, nothing injected
    empty "$tmp/$1.json" requests && empty "$tmp/$1.json" csp && empty "$tmp/$1.json" errors &&
        empty "$tmp/$1.json" injected && [ "$(get "$tmp/$1.json" xss)" = nil ]
}
has_text() { get "$1" text | grep -qF -- "$2"; }

# the runs: a simulator run, markup payloads, 0, 1 and 100,000 samples, a comparison
synth=$(synth_data 300)
start_sim --time-scale 0 --parallel 16 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" -o "$tmp/run" >/dev/null 2>&1
"$bin" report "$tmp/run" >/dev/null
mkrun "$tmp/xss" --payload --faults --n 120 --groups 3 --span
"$bin" report "$tmp/xss" >/dev/null
mkdir -p "$tmp/empty"
printf '{"config":{"suite":"gsm8k","model":"m"},"started":"2026-01-01T00:00:00Z"}\n' >"$tmp/empty/run.json"
"$bin" report "$tmp/empty" >/dev/null
mkrun "$tmp/one" --n 1 --acc 1
"$bin" report "$tmp/one" >/dev/null
mkrun "$tmp/big" --n 100000 --acc 0.8 --faults
"$bin" report "$tmp/big" >/dev/null
mkrun "$tmp/pa" --pair 10,3,50,37 --side a --payload --groups 2
mkrun "$tmp/pb" --pair 10,3,50,37 --side b --payload --groups 2 --name "llama3.2:3b"
"$bin" compare "$tmp/pa" "$tmp/pb" -o "$tmp/cmp" >/dev/null

# the pages, all in one browser
queue report "$tmp/run/report.html" --click-first
queue report-wrong "$tmp/run/report.html" --mode wrong
queue report-search "$tmp/run/report.html" --search "gsm8k-test-0007"
queue report-sort "$tmp/run/report.html" --sort tokens --sort tokens
queue report-link "$tmp/run/report.html" --hash item=gsm8k-test-0042
queue report-nojs "$tmp/run/report.html" --js-off
queue xss "$tmp/xss/report.html" --click-first
queue xss-nojs "$tmp/xss/report.html" --js-off
queue zero "$tmp/empty/report.html"
queue one "$tmp/one/report.html" --click-first
queue big "$tmp/big/report.html" --alone # timed: opened by itself
queue compare "$tmp/cmp/compare.html"
queue compare-detail "$tmp/cmp/compare.html" --click-first
queue compare-nojs "$tmp/cmp/compare.html" --js-off
open_pages

# 1. a simulator run
s=$tmp/run/summary.json
check "report of a simulator run opens" opened report
r=$tmp/report.json
ok "no request besides the file, no CSP violation, no script error" 'clean report'
ok "the screenshot is kept" '[ -s "$art/report.png" ]'
for m in accuracy strict_accuracy no_answer_rate truncated_rate; do
    ok "$m shown equals summary.json's" 'near "$(get "$r" metrics.$m)" "$(get "$s" metrics.$m)" 1e-12'
done
n=$(get "$s" counts.n)
correct=$(awk -v a="$(get "$s" metrics.accuracy)" -v n="$(get "$s" counts.scored)" 'BEGIN { printf "%d", a * n + 0.5 }')
ok "mode counts: All = $n, Correct = $correct, Error = errors" \
    '[ "$(get "$r" counts.all)" = "$n" ] && [ "$(get "$r" counts.correct)" = "$correct" ] && [ "$(get "$r" counts.error)" = "$(get "$s" counts.errors)" ]'
ok "the modes add up to All" \
    '[ $(( $(get "$r" counts.correct) + $(get "$r" counts.wrong) + $(get "$r" counts.noanswer) + $(get "$r" counts.truncated) + $(get "$r" counts.error) )) = "$n" ]'
ok "the samples table lists the rows" '[ "$(get "$r" rows)" = "$n" ]'
ok "the detail view shows the first item, its messages and output" \
    'get "$r" detail | grep -q "^Item gsm8k-test-0001" && get "$r" detail | grep -q "^messages" && get "$r" detail | grep -q "^output"'
check "the Wrong mode opens" opened report-wrong
ok "Wrong mode: only wrong rows listed" '[ "$(get "$tmp/report-wrong.json" rows)" = "$(get "$r" counts.wrong)" ]'
check "search by id" opened report-search
ok "search narrows to one row" '[ "$(get "$tmp/report-search.json" rows)" = 1 ]'
maxtok=$(awk -F'"completion_tokens":' 'NF > 1 { split($2, a, /[,}]/); if (a[1] + 0 > m) m = a[1] + 0 } END { print m }' "$tmp/run/samples.jsonl")
check "sort by tokens, twice (descending)" opened report-sort
ok "sorted: the first row has the most output tokens ($maxtok)" \
    '[ "$(get "$tmp/report-sort.json" first_row | cut -f6)" = "$maxtok" ]'
check "a deep link #item=gsm8k-test-0042 opens" opened report-link
ok "the deep link shows that item's detail" 'get "$tmp/report-link.json" detail_now | grep -q "^Item gsm8k-test-0042$"'
check "JavaScript off: the page opens" opened report-nojs
pct=$(awk -v a="$(get "$s" metrics.accuracy)" 'BEGIN { printf "%.2f%%", 100 * a }')
ok "JavaScript off: the accuracy ($pct) and the counts are shown" \
    'has_text "$tmp/report-nojs.json" "$pct" && has_text "$tmp/report-nojs.json" "Counts" && near "$(get "$tmp/report-nojs.json" metrics.accuracy)" "$(get "$s" metrics.accuracy)" 1e-12'
ok "JavaScript off: no request, no violation" 'clean report-nojs'

# 2. markup payloads in ids, answers, outputs, model and suite names
check "payload report opens" opened xss
ok "payloads: nothing injected, nothing ran, nothing requested" 'clean xss'
P='<img src=x onerror="window.__xss=1"><svg onload="window.__xss=2"></svg></script><b>'
ok "the model name renders literally" 'has_text "$tmp/xss.json" "qwen3:8b$P"'
ok "item ids render literally in the table" 'has_text "$tmp/xss.json" "item-00001<img src=x onerror="'
ok "the answer and the output render literally in the detail" \
    'get "$tmp/xss.json" detail | grep -qF -- "answer	2$P" && get "$tmp/xss.json" detail | grep -qF -- "#### 2$P"'
check "payload report, JavaScript off" opened xss-nojs
ok "JavaScript off: the payload run is clean too" 'clean xss-nojs && has_text "$tmp/xss-nojs.json" "suite$P"'

# 3. 0, 1 and 100,000 samples
check "0 samples: opens" opened zero
ok "0 samples: clean, All 0" 'clean zero && [ "$(get "$tmp/zero.json" counts.all)" = 0 ]'
check "1 sample: opens" opened one
ok "1 sample: clean, All 1, accuracy 1" 'clean one && [ "$(get "$tmp/one.json" counts.all)" = 1 ] && [ "$(get "$tmp/one.json" metrics.accuracy)" = 1 ]'
check "100,000 samples: opens" opened big
ms=$(get "$tmp/big.json" load_ms)
timing "100,000 samples: ready in under 2 s ($ms ms)" [ "$ms" -lt 2000 ]
ok "100,000 samples: clean, says what it embeds" \
    'clean big && has_text "$tmp/big.json" "This run has 100000 samples; the page embeds 20000" && [ "$(get "$tmp/big.json" counts.all)" = 20000 ]'
ok "100,000 samples: the metrics are the summary's" 'near "$(get "$tmp/big.json" metrics.accuracy)" "$(get "$tmp/big/summary.json" metrics.accuracy)" 1e-12'

# 4. compare.html
c=$tmp/cmp/compare.json
check "compare.html opens" opened compare
ok "compare: no request, no CSP violation, no error, nothing injected" 'clean compare'
ok "compare: A, B and B - A equal compare.json's" \
    'near "$(get "$tmp/compare.json" metrics.accuracy_a)" "$(get "$c" accuracy_a)" 1e-12 && near "$(get "$tmp/compare.json" metrics.delta)" "$(get "$c" delta)" 1e-12'
ok "compare: bucket counts equal the 2x2 table (10 regressed, 3 fixed)" \
    '[ "$(get "$tmp/compare.json" counts.regressed)" = 10 ] && [ "$(get "$tmp/compare.json" counts.fixed)" = 3 ] && [ "$(get "$tmp/compare.json" rows)" = 10 ]'
ok "compare: model names and ids with markup render literally" \
    'has_text "$tmp/compare.json" "llama3.2:3b$P" && has_text "$tmp/compare.json" "item-00001<img src=x"'
check "compare.html: clicking an item opens A and B side by side" opened compare-detail
ok "the side-by-side view shows both answers and outputs, markup as text" \
    'get "$tmp/compare-detail.json" detail | grep -q "^A: right" && get "$tmp/compare-detail.json" detail | grep -q "^B: wrong" && get "$tmp/compare-detail.json" detail | grep -qF -- "#### 2$P" && clean compare-detail'
check "compare.html, JavaScript off" opened compare-nojs
ok "compare, JavaScript off: the difference and McNemar p are shown" \
    'clean compare-nojs && has_text "$tmp/compare-nojs.json" "-7.00 pp" && has_text "$tmp/compare-nojs.json" "0.0923"'
finish
