#!/usr/bin/env bash
# test-report.sh: `ollaeval report RUN_DIR` and `ollaeval runs`, without a
# browser (tests/e2e/test-browser.sh opens the pages): report.html of a
# simulator run is one file with nothing to fetch, a CSP that allows only its
# own script by hash, the summary's numbers rendered statically, markup from
# the run shown as text, the same bytes each time; runs of 0, 1 and 30,000
# samples; `ollaeval runs` lists run folders newest first.
set -u
. tests/lib/harness.sh
mkrun() { "$bin" --trust tests/lib/mkrun.lua "$@"; }

# 1. a simulator run on synthetic data
synth=$(synth_data 200)
start_sim --time-scale 0 --parallel 16 --dataset "$synth"
"$bin" scripts/gsm8k.lua -q -m qwen3:8b -e "$URL" -c 8 --dataset "$synth" -o "$tmp/run" >/dev/null 2>&1
"$bin" report "$tmp/run" >"$tmp/r.out" 2>&1
rc=$?
page=$tmp/run/report.html
ok "ollaeval report: exit 0, prints the page's path" '[ $rc -eq 0 ] && [ "$(cat "$tmp/r.out")" = "$page" ] && [ -s "$page" ]'
cp "$page" "$tmp/first.html"
"$bin" report "$tmp/run" >/dev/null 2>&1
ok "the same run gives the same bytes" 'cmp -s "$page" "$tmp/first.html"'
ok "one Content-Security-Policy: default-src 'none', the script by its sha256" \
    '[ "$(grep -c "http-equiv=\"Content-Security-Policy\" content=\"default-src '"'"'none'"'"'; script-src '"'"'sha256-" "$page")" = 1 ]'
# the hash in the CSP is the sha256 of the one inline script
cat >"$tmp/hash.lua" <<'EOF'
local f = assert(io.open(arg[1], "rb")); local s = f:read("a"); f:close()
local csp = s:match("script%-src 'sha256%-([%w+/=]+)'")
local n, script = 0, nil
for attrs, body in s:gmatch("<script([^>]*)>(.-)</script>") do
    n = n + 1
    if attrs == "" then script = body end
end
local H = require "evals.html"
local css = s:match("style%-src 'sha256%-([%w+/=]+)'")
local style = s:match("<style>(.-)</style>")
print(n, csp == H.sha256_b64(script or "") and "match" or "mismatch", css == H.sha256_b64(style or "") and "match" or "mismatch")
EOF
ok "two script elements: the data and the script; the CSP hashes match the script and the style" \
    '[ "$("$bin" --trust "$tmp/hash.lua" "$page")" = "$(printf "2\tmatch\tmatch")" ]'
ok "nothing to fetch: no src=, href=, url( or @import" \
    '! grep -qiE "(src|href)=|url\(|@import" "$page"'
acc=$(get "$tmp/run/summary.json" metrics.accuracy)
pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
ok "the headline accuracy ($pct) is in the static HTML" 'grep -q "<div class=\"big\" data-value=\"[0-9.]*\">$pct</div>" "$page"'
ok "static sections: provenance, metrics, counts, performance, distributions" \
    'for s in provenance metrics counts performance distributions samples; do grep -q "<section id=\"$s\">" "$page" || exit 1; done'
ok "the run's model digest and dataset sha256 are shown" \
    'grep -q "$(get "$tmp/run/summary.json" model.digest)" "$page" && grep -q "$(get "$tmp/run/summary.json" dataset.sha256)" "$page"'
ok "the static counts equal the journal's" \
    '[ "$(grep -o "<tr data-count=\"all\"><td>samples</td><td class=\"n\">[0-9]*" "$page" | grep -o "[0-9]*$")" = 200 ]'
cat >"$tmp/report.lua" <<'EOF'
print(require("evals.report").write(arg[1]))
EOF
rm -f "$page"
ok "report.write(run_dir) from Lua writes the same page" \
    '[ "$("$bin" --trust "$tmp/report.lua" "$tmp/run")" = "$page" ] && cmp -s "$page" "$tmp/first.html"'

# 2. markup in ids, answers, outputs, model and suite names is text
mkrun "$tmp/xss" --payload --faults --n 120 --groups 3 --span
"$bin" report "$tmp/xss" >/dev/null 2>&1
x=$tmp/xss/report.html
ok "payload run: report written" '[ -s "$x" ]'
ok "no raw <img, <svg onload or <b> from the run in the page" '! grep -qE "<img|<svg onload|<b>" "$x"'
ok "exactly two </script>: the data cannot close its element" '[ "$(grep -o "</script>" "$x" | wc -l)" = 2 ]'
ok "the model name is shown escaped in the title and header" \
    'grep -q "<h1>suite&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" "$x"'
ok "in the data, < is \\u003c" 'grep -q "\\\\u003cimg src=x onerror" "$x"'
ok "per-group table (3 groups)" '[ "$(grep -o "<table id=\"groups\">.*</table>" "$x" | grep -o "<tr><td>g[0-9]" | wc -l)" = 3 ]'
ok "errors by class" 'grep -q "<table id=\"errors\"><tbody><tr><td>http</td><td class=\"n\">1</td>" "$x"'
"$bin" --trust tests/lib/mkrun.lua "$tmp/u" --n 3 >/dev/null
printf '{"id":"x\xe2\x80\xa8y","index":4,"correct":true,"answer":"a\xe2\x80\xa9b","content":"\\u2028"}\n' >>"$tmp/u/samples.jsonl"
"$bin" report "$tmp/u" >/dev/null 2>&1
ok "U+2028 and U+2029 are escaped in the data" \
    'grep -q "x\\\\u2028y" "$tmp/u/report.html" && grep -q "a\\\\u2029b" "$tmp/u/report.html" && ! grep -q $'"'"'\xe2\x80\xa8'"'"' "$tmp/u/report.html"'

# 3. edge runs: 0 samples and no summary, 1 sample, a torn last line, 30,000 samples
mkdir -p "$tmp/empty"
printf '{"config":{"suite":"gsm8k","model":"m"},"started":"2026-01-01T00:00:00Z"}\n' >"$tmp/empty/run.json"
"$bin" report "$tmp/empty" >/dev/null 2>&1
ok "0 samples, no summary.json: a page that says nothing was scored" \
    '[ $? -eq 0 ] && grep -q "No metrics: nothing was scored" "$tmp/empty/report.html" && grep -q "unfinished" "$tmp/empty/report.html"'
mkrun "$tmp/one" --n 1 --acc 1
"$bin" report "$tmp/one" >/dev/null 2>&1
ok "1 sample: accuracy 100.00%" '[ $? -eq 0 ] && grep -q ">100.00%</div>" "$tmp/one/report.html"'
mkrun "$tmp/torn" --n 5 --no-summary
printf '{"id":"item-00006","ind' >>"$tmp/torn/samples.jsonl"
"$bin" report "$tmp/torn" >/dev/null 2>&1
ok "a torn last line is left out and said; the journal is not changed" \
    '[ $? -eq 0 ] && grep -q "torn line (line 6)" "$tmp/torn/report.html" && tail -c 5 "$tmp/torn/samples.jsonl" | grep -q "\"ind" && grep -q "From the journal" "$tmp/torn/report.html"'
mkrun "$tmp/bad" --n 5
sed -i '2s/.*/{not json/' "$tmp/bad/samples.jsonl"
"$bin" report "$tmp/bad" >/dev/null 2>"$tmp/bad.err"
ok "a malformed record in the middle: exit 4, the line named" '[ $? -eq 4 ] && grep -q "samples.jsonl:2: not a record" "$tmp/bad.err"'
# metrics the report does not know are shown as they are, tables of values too
mkrun "$tmp/gen" --n 50
cat >"$tmp/metrics.lua" <<'EOF'
local cjson = require "cjson"
local f = assert(io.open(arg[1])); local s = cjson.decode(f:read("a")); f:close()
s.metrics.maj_at_4, s.metrics.mean_tokens = 0.81, 312.5
s.metrics.per_group = { algebra = { value = 0.5, ci95 = { 0.3, 0.7 } }, geometry = 0.25, ["<b>x</b>"] = "n/a" }
f = assert(io.open(arg[1], "w")); f:write(cjson.encode(s)); f:close()
EOF
"$bin" --trust "$tmp/metrics.lua" "$tmp/gen/summary.json"
"$bin" report "$tmp/gen" >/dev/null 2>&1
g=$tmp/gen/report.html
ok "unknown metrics: a rate as a percentage, a count as a number" \
    'grep -q "data-metric=\"maj_at_4\"><div class=\"name\">maj at 4</div><div class=\"big\" data-value=\"0.81\">81.00%</div>" "$g" && grep -q ">312.5</div>" "$g"'
ok "a table-valued metric: one line per key, with its interval, keys escaped" \
    'grep -q "<tr><td>algebra</td><td class=\"n\">50.00%</td><td class=\"muted\">30.00% – 70.00%</td></tr>" "$g" && grep -q "<td>&lt;b&gt;x&lt;/b&gt;</td>" "$g"'
mkrun "$tmp/times" --n 200 --times
"$bin" report "$tmp/times" >/dev/null 2>&1
ok "records with t_start and t_end: items/s, tokens/s and in flight over time" \
    '[ "$(grep -o "<polyline " "$tmp/times/report.html" | wc -l)" = 3 ] && grep -q "<h3>Over time</h3>" "$tmp/times/report.html"'
ok "records without them: no timeline" '! grep -q "<polyline " "$page"'
mkrun "$tmp/big" --n 30000 --acc 0.9 --faults
"$bin" report "$tmp/big" >/dev/null 2>&1
ok "30,000 samples: the page says it embeds 20,000 of them" \
    '[ $? -eq 0 ] && grep -q "This run has 30000 samples; the page embeds 20000 of them (all 309 errors, all 594 truncated, " "$tmp/big/report.html"'
"$bin" report "$tmp/nowhere" >/dev/null 2>"$tmp/nw.err"
ok "not a run folder: exit 2, named" '[ $? -eq 2 ] && grep -q "nowhere is not a run folder (no run.json)" "$tmp/nw.err"'
"$bin" report >/dev/null 2>"$tmp/nw.err"
ok "no argument: usage, exit 2" '[ $? -eq 2 ] && grep -q "usage: ollaeval report RUN_DIR" "$tmp/nw.err"'

# 4. ollaeval runs
mkdir -p "$tmp/runs"
mkrun "$tmp/runs/old" --started 2026-01-01T00:00:00Z --n 10 --acc 0.5
mkrun "$tmp/runs/new" --started 2026-03-01T00:00:00Z --n 20 --acc 0.8 --name llama3.2:3b
mkrun "$tmp/runs/going" --started 2026-02-01T00:00:00Z --n 5 --no-summary
mkdir -p "$tmp/runs/not-a-run"
"$bin" runs "$tmp/runs" >"$tmp/runs.out" 2>&1
ok "ollaeval runs: exit 0, a header and 3 runs" '[ $? -eq 0 ] && [ "$(wc -l <"$tmp/runs.out")" = 4 ]'
ok "newest first: new, going, old" \
    '[ "$(awk "NR > 1 { print \$NF }" "$tmp/runs.out" | xargs -n1 basename | tr "\n" " ")" = "new going old " ]'
ok "model, metric with its interval, items, status" \
    'grep -E "llama3.2:3b +acc 80.00% \([0-9.]+–[0-9.]+\) +20 +complete" "$tmp/runs.out" >/dev/null && grep -q "unfinished" "$tmp/runs.out"'
"$bin" runs "$tmp/runs" --json >"$tmp/runs.json"
ok "--json: an array, newest first, with the metric" \
    '[ "$(get "$tmp/runs.json" 1.model 1.metric 1.items 3.status | tr "\n" " ")" = "llama3.2:3b accuracy 20 complete " ]'
"$bin" runs "$tmp/empty-dir-$$" >/dev/null 2>"$tmp/rn.err"
ok "runs of a missing folder: exit 1, named" '[ $? -eq 1 ] && grep -q "no such folder" "$tmp/rn.err"'
mkdir -p "$tmp/none"
ok "runs of a folder without runs: says so" '[ "$("$bin" runs "$tmp/none")" = "no run folders under $tmp/none" ]'
ok "runs --json of a folder without runs: []" '[ "$("$bin" runs "$tmp/none" --json)" = "[]" ]'

# 5. the browser test without a browser: skipped with the reason, failed under OLLAEVAL_REQUIRE_BROWSER=1
out=$(env -u OLLAEVAL_REQUIRE_BROWSER OLLAEVAL_CHROMIUM=/nonexistent/chromium bash tests/e2e/test-browser.sh 2>&1)
ok "test-browser.sh without chromium: skipped, saying what is missing" \
    '[ $? -eq 0 ] && [ "$out" = "1..0 # SKIP needs chromium (/nonexistent/chromium) (vendor/install.sh installs them)" ]'
out=$(OLLAEVAL_REQUIRE_BROWSER=1 OLLAEVAL_NODE_MODULES=/nonexistent bash tests/e2e/test-browser.sh 2>&1)
ok "with OLLAEVAL_REQUIRE_BROWSER=1 it fails instead" '[ $? -eq 1 ] && [[ "$out" == "not ok 1 - needs"*"playwright-core (/nonexistent)"* ]]'
finish
