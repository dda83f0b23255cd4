-- evals/compare.lua: `ollaeval compare RUN_A RUN_B [--fail-if-worse Xpp]
-- [--seed N] [-o DIR]`: a paired comparison of two runs over the same
-- items. A is the baseline, B the candidate; differences are B - A.
--
-- It refuses runs over different datasets (dataset sha256) and warns when
-- the recorded prompts of matched items differ. Items are matched by id;
-- those scored in both runs are compared (the rest are counted). It prints
-- the result, and writes DIR/compare.json and DIR/compare.html (default DIR:
-- compare-<A>-vs-<B> beside RUN_B).
--
--   compute(A, B, opts) -> the comparison (a table; compare.json) from two
--                          runs as runs.load gives them; pure
--   main(args...)       -> exit status: 0 compared (and the gate, if any,
--                          passed); 1 the gate tripped: B's accuracy is
--                          below A's by more than X percentage points; 2
--                          usage error, or runs that cannot be compared
--                          (not run folders, different datasets)
local runs = require "evals.runs"
local stats = require "evals.stats"
local html = require "evals.html"
local metrics = require "evals.metrics"

local M = {}

local format, concat = string.format, table.concat
local val = runs.val

M.USAGE = "usage: ollaeval compare RUN_A RUN_B [--fail-if-worse Xpp] [--seed N] [-o DIR]"


-- An item's score: nil when it is not scored (an error), else a number.
function M.score(r)
    if val(r.error) ~= nil then return nil end
    local s = val(r.score)
    if type(s) == "number" then return s end
    if type(s) == "table" and type(val(s.value)) == "number" then return s.value end
    return val(r.correct) == true and 1 or 0
end


function M.group(r)
    local g = val(r.group) or val(r.subject) or val(r.subset)
    if type(g) == "string" or type(g) == "number" then return tostring(g) end
    return nil
end


local function side(run)
    local c, s = run.config, run.summary or {}
    local model = type(s.model) == "table" and s.model or {}
    local ds = type(s.dataset) == "table" and s.dataset or {}
    local suite = type(s.suite) == "table" and s.suite or {}
    return {
        dir = run.dir,
        suite = val(suite.name) or val(c.suite),
        model = val(model.name) or val(c.model),
        digest = val(model.digest),
        dataset_sha256 = val(c.dataset_sha256) or val(ds.sha256),
        started = val(run.manifest.started),
        status = val(s.status) or "unfinished",
        options = val(c.options),
    }
end


local function key(id) return type(id) .. ":" .. tostring(id) end


-- what the item was asked: the sha256 of its messages (a light load has it)
local function prompt_of(r)
    if r._prompt then return r._prompt end
    if val(r.messages) == nil then return nil end
    return runs.prompt_hash(r.messages)
end


local function median(xs)
    if #xs == 0 then return nil end
    return metrics.percentile(xs, 50)
end


-- The comparison of runs A and B (as runs.load returns them).
-- opts: seed (bootstrap), resamples, fail_if_worse (a fraction, 0.01 = 1 pp)
function M.compute(A, B, opts)
    opts = opts or {}
    local sa, sb = side(A), side(B)
    local res = { a = sa, b = sb, warnings = {} }
    local warn = function(fmt, ...) res.warnings[#res.warnings + 1] = format(fmt, ...) end
    if sa.dataset_sha256 and sb.dataset_sha256 and sa.dataset_sha256 ~= sb.dataset_sha256 then
        return nil, format("%s and %s are runs over different datasets (sha256 %s… vs %s…): "
            .. "a paired comparison needs the same items", A.dir, B.dir,
            tostring(sa.dataset_sha256):sub(1, 12), tostring(sb.dataset_sha256):sub(1, 12))
    end
    if not (sa.dataset_sha256 and sb.dataset_sha256) then
        warn("cannot check that both runs used the same dataset (no dataset sha256 recorded)")
    end
    if sa.suite ~= sb.suite then warn("the suites differ: %s vs %s", tostring(sa.suite), tostring(sb.suite)) end

    local in_b = {}
    for _, r in ipairs(B.records) do in_b[key(r.id)] = r end
    local in_a = {}
    local xa, xb, cl, pairs_ = {}, {}, {}, {}
    local only_a, errored, prompts_differ, prompt_ids = 0, 0, 0, {}
    local binary = true
    for _, ra in ipairs(A.records) do
        local k = key(ra.id)
        in_a[k] = true
        local rb = in_b[k]
        if not rb then
            only_a = only_a + 1
        else
            local a, b = M.score(ra), M.score(rb)
            if a == nil or b == nil then
                errored = errored + 1
            else
                if prompt_of(ra) ~= prompt_of(rb) then
                    prompts_differ = prompts_differ + 1
                    if #prompt_ids < 5 then prompt_ids[#prompt_ids + 1] = ra.id end
                end
                xa[#xa + 1], xb[#xb + 1] = a, b
                if (a ~= 0 and a ~= 1) or (b ~= 0 and b ~= 1) then binary = false end
                local c = val(ra.cluster)
                cl[#cl + 1] = c ~= nil and tostring(c) or nil
                pairs_[#pairs_ + 1] = { a = ra, b = rb, sa = a, sb = b }
            end
        end
    end
    local only_b = 0
    for _, rb in ipairs(B.records) do if not in_a[key(rb.id)] then only_b = only_b + 1 end end
    local n = #xa
    res.matched, res.only_a, res.only_b, res.errored = n, only_a, only_b, errored
    res.prompts_differ, res.prompts_differ_ids = prompts_differ, prompt_ids
    if only_a + only_b > 0 then
        warn("%d items are in only one run (A only %d, B only %d); compared on the %d items scored in both",
            only_a + only_b, only_a, only_b, n)
    end
    if errored > 0 then warn("%d matched items ended with an error in A or B and are left out", errored) end
    if prompts_differ > 0 then
        local ids = {}
        for i, id in ipairs(prompt_ids) do ids[i] = tostring(id) end
        warn("the prompts differ for %d of %d matched items (first: %s): the runs did not ask the same questions",
            prompts_differ, n, concat(ids, ", "))
    end
    local clusters = (#cl == n and n > 0) and cl or nil
    res.clustered = clusters ~= nil
    res.binary = binary

    -- B - A
    local p = stats.paired(xb, xa, clusters)
    res.accuracy_a, res.accuracy_b = p.mean_b, p.mean_a
    if n > 0 then
        local ka, kb = 0, 0
        for i = 1, n do ka, kb = ka + xa[i], kb + xb[i] end
        if binary then
            res.ci95_a = { stats.wilson(ka, n) }
            res.ci95_b = { stats.wilson(kb, n) }
        end
    end
    res.delta, res.se, res.mde = p.delta, p.se, p.mde
    if p.lo then res.ci95 = { p.lo, p.hi } end
    -- paired(xb, xa): its b is B right A wrong (fixed), its c A right B wrong (regressed)
    res.table = { both_right = p.both_right, regressed = p.c, fixed = p.b, both_wrong = p.both_wrong }
    if binary then res.mcnemar_p = stats.mcnemar_exact(p.c, p.b) end
    local seed = opts.seed or 0
    if n > 0 then res.bootstrap = stats.bootstrap(xb, xa, { seed = seed, resamples = opts.resamples, clusters = clusters }) end

    -- buckets, in the order of A's journal
    local buckets = { regressed = {}, fixed = {}, both_wrong = {}, both_right = {} }
    local items = {}
    local disc_a, disc_b = {}, {}
    for _, q in ipairs(pairs_) do
        if q.sa == 1 and q.sb == 0 then q.bucket = "regressed"
        elseif q.sa == 0 and q.sb == 1 then q.bucket = "fixed"
        elseif q.sa == 1 and q.sb == 1 then q.bucket = "both_right"
        elseif q.sa == 0 and q.sb == 0 then q.bucket = "both_wrong"
        elseif q.sb < q.sa then q.bucket = "regressed"
        elseif q.sb > q.sa then q.bucket = "fixed" end
        if q.bucket == "regressed" or q.bucket == "fixed" then
            disc_a[#disc_a + 1], disc_b[#disc_b + 1] = q.a, q.b
        end
    end
    -- the discordant items' outputs (a light load reads them back)
    local full_a, full_b = runs.fetch(A, disc_a), runs.fetch(B, disc_b)
    local function one(r, sc, full)
        local t = { score = sc, answer = val(r.answer), done_reason = val(r.done_reason),
                    tokens = val(r.completion_tokens), latency_ms = val(r.latency_ms) }
        -- the discordant items carry their outputs, for the side-by-side view
        local content = full[r] and val(full[r].content)
        if type(content) == "string" then t.content = html.cut(content, 8000) end
        return t
    end
    for _, q in ipairs(pairs_) do
        local b = q.bucket
        if b then local t = buckets[b]; t[#t + 1] = q.a.id end
        items[#items + 1] = { id = q.a.id, bucket = b or "same", gold = val(q.a.gold), a = one(q.a, q.sa, full_a),
            b = one(q.b, q.sb, full_b) }
    end
    res.buckets = buckets
    res.items = items

    -- per group, with Holm and BH across groups
    local gi, gorder = {}, {}
    for i, q in ipairs(pairs_) do
        local g = M.group(q.a)
        if g then
            if not gi[g] then gi[g] = { a = {}, b = {} }; gorder[#gorder + 1] = g end
            local t = gi[g]
            t.a[#t.a + 1], t.b[#t.b + 1] = xa[i], xb[i]
        end
    end
    table.sort(gorder)
    res.groups = {}
    if #gorder >= 2 then
        local ps = {}
        for _, g in ipairs(gorder) do
            local t = gi[g]
            local q = stats.paired(t.b, t.a)
            local row = { group = g, n = q.n, accuracy_a = q.mean_b, accuracy_b = q.mean_a, delta = q.delta,
                          regressed = q.c, fixed = q.b }
            if q.lo then row.ci95 = { q.lo, q.hi } end
            row.p = binary and stats.mcnemar_exact(q.c, q.b) or nil
            res.groups[#res.groups + 1] = row
            ps[#ps + 1] = row.p or 1
        end
        local holm, bh = stats.holm(ps), stats.bh(ps)
        for i, row in ipairs(res.groups) do row.p_holm, row.p_bh = holm[i], bh[i] end
    end

    -- paired performance: median ratios B/A, truncation flips
    local tr, lr, t_fixed, t_new = {}, {}, 0, 0
    for _, q in ipairs(pairs_) do
        local ta, tb = val(q.a.completion_tokens), val(q.b.completion_tokens)
        if type(ta) == "number" and type(tb) == "number" and ta > 0 and tb > 0 then tr[#tr + 1] = tb / ta end
        local la, lb = val(q.a.latency_ms), val(q.b.latency_ms)
        if type(la) == "number" and type(lb) == "number" and la > 0 and lb > 0 then lr[#lr + 1] = lb / la end
        local ea, eb = val(q.a.done_reason) == "length", val(q.b.done_reason) == "length"
        if ea and not eb then t_fixed = t_fixed + 1 end
        if eb and not ea then t_new = t_new + 1 end
    end
    res.performance = { tokens_ratio_median = median(tr), latency_ratio_median = median(lr),
        tokens_pairs = #tr, latency_pairs = #lr, truncated_in_a_only = t_fixed, truncated_in_b_only = t_new }

    if opts.fail_if_worse then
        local tripped = n > 0 and p.delta < -opts.fail_if_worse - 1e-12
        res.gate = { fail_if_worse = opts.fail_if_worse, tripped = tripped }
    end
    return res
end


local function pp(x, d)
    if type(x) ~= "number" then return "–" end
    return format("%+." .. (d or 2) .. "f pp", 100 * x)
end


local function ci(t)
    if type(t) ~= "table" then return "" end
    return format("%.2f–%.2f%%", 100 * t[1], 100 * t[2])
end


local function pval(p)
    if type(p) ~= "number" then return "–" end
    if p < 1e-4 then return format("%.1e", p) end
    return format("%.4f", p)
end
M.pval = pval


function M.text(r)
    local out = {}
    local function w(fmt, ...) out[#out + 1] = format(fmt, ...) end
    w("A  %s  %s  (%s)", tostring(r.a.suite), tostring(r.a.model), r.a.dir)
    w("B  %s  %s  (%s)", tostring(r.b.suite), tostring(r.b.model), r.b.dir)
    for _, x in ipairs(r.warnings) do w("warning: %s", x) end
    w("items              %d compared (A only %d, B only %d, errors left out %d)", r.matched, r.only_a, r.only_b,
        r.errored)
    if r.matched == 0 then return concat(out, "\n") .. "\n" end
    w("accuracy A         %s  (95%% CI %s)", html.pct(r.accuracy_a), ci(r.ci95_a))
    w("accuracy B         %s  (95%% CI %s)", html.pct(r.accuracy_b), ci(r.ci95_b))
    w("difference B - A   %s  (paired 95%% CI %s to %s%s)", pp(r.delta), pp(r.ci95 and r.ci95[1]),
        pp(r.ci95 and r.ci95[2]), r.clustered and ", clustered" or "")
    if r.mcnemar_p then w("McNemar exact p    %s", pval(r.mcnemar_p)) end
    if r.bootstrap then
        w("paired bootstrap   %s to %s, p %s (%d resamples, seed %d)", pp(r.bootstrap.lo), pp(r.bootstrap.hi),
            pval(r.bootstrap.p), r.bootstrap.resamples, r.bootstrap.seed)
    end
    if r.mde then
        w("MDE                differences below %.2f pp are likely to be missed with n = %d (α 0.05, power 0.8)",
            100 * r.mde, r.matched)
    end
    local t = r.table
    if r.binary then
        w("                   B right  B wrong")
        w("  A right          %7d  %7d   regressed %d", t.both_right, t.regressed, t.regressed)
        w("  A wrong          %7d  %7d   fixed %d", t.fixed, t.both_wrong, t.fixed)
    end
    local function ids(list, cap)
        local s = {}
        for i = 1, math.min(#list, cap) do s[i] = tostring(list[i]) end
        return concat(s, " ") .. (#list > cap and format(" … (%d more)", #list - cap) or "")
    end
    if #r.buckets.regressed > 0 then w("regressed          %s", ids(r.buckets.regressed, 20)) end
    if #r.buckets.fixed > 0 then w("fixed              %s", ids(r.buckets.fixed, 20)) end
    if #r.groups > 0 then
        w("per group (B - A; p exact McNemar, Holm and BH adjusted across %d groups):", #r.groups)
        for _, g in ipairs(r.groups) do
            w("  %-24s n %-6d %s -> %s  %s  p %s  holm %s  bh %s", g.group, g.n, html.pct(g.accuracy_a),
                html.pct(g.accuracy_b), pp(g.delta), pval(g.p), pval(g.p_holm), pval(g.p_bh))
        end
    end
    local pf = r.performance
    if pf.tokens_ratio_median or pf.latency_ratio_median then
        w("B / A (median)     output tokens %s, latency %s", pf.tokens_ratio_median
            and format("%.3f", pf.tokens_ratio_median) or "–",
            pf.latency_ratio_median and format("%.3f", pf.latency_ratio_median) or "–")
    end
    if pf.truncated_in_a_only + pf.truncated_in_b_only > 0 then
        w("truncated          %d in A only, %d in B only", pf.truncated_in_a_only, pf.truncated_in_b_only)
    end
    if r.gate then
        w("gate               %s: B - A = %s, fail below %s", r.gate.tripped and "FAILED" or "passed", pp(r.delta),
            pp(-r.gate.fail_if_worse))
    end
    return concat(out, "\n") .. "\n"
end



M.SCRIPT = html.script [==[
  var items = D.items || [];
  var root = document.getElementById("items-app");
  if (!root) return;
  var NAMES = { regressed: "Regressed", fixed: "Fixed", both_wrong: "Both wrong", both_right: "Both right", same: "Same" };
  var mode = "regressed", query = "", shown = 500;
  var bar = controls(root, ["regressed", "fixed", "both_wrong", "both_right", "all"],
    function (m) { return NAMES[m] || "All"; },
    function (m) { return m === "all" ? items.length : items.filter(function (r) { return r.bucket === m; }).length; },
    function (m) { mode = m; shown = 500; update(); },
    "search id, answers, gold",
    function (q) { query = q.toLowerCase(); update(); });
  var tbody = table(root, ["id", "bucket", "gold", "A answer", "B answer", "A tokens", "B tokens", "A ms", "B ms"]
    .map(function (h, k) { return [h, k >= 5 ? "n" : ""]; })).tbody;
  function s(v) { return v == null ? "" : String(v); }
  function update() {
    bar.mark(mode);
    var list = items.filter(function (r) {
      if (mode !== "all" && r.bucket !== mode) return false;
      if (!query) return true;
      return (s(r.id) + "\n" + s(r.gold) + "\n" + s(r.a.answer) + "\n" + s(r.b.answer)).toLowerCase().indexOf(query) >= 0;
    });
    clear(tbody);
    list.slice(0, shown).forEach(function (r) {
      var row = el("tr");
      [r.id, NAMES[r.bucket] || r.bucket, r.gold, r.a.answer, r.b.answer, r.a.tokens, r.b.tokens, r.a.latency_ms, r.b.latency_ms]
        .forEach(function (v, k) { row.appendChild(el("td", k >= 5 ? "n" : (k === 1 ? (r.bucket === "fixed" ? "good" : r.bucket === "regressed" ? "bad" : "") : ""), v)); });
      row.addEventListener("click", function () { show(r); });
      row.style.cursor = "pointer";
      tbody.appendChild(row);
    });
    bar.status.textContent = list.length + " items" + (list.length > shown ? " (first " + shown + " listed)" : "");
  }
  var detail = drawer(root);
  function show(r) {
    clear(detail);
    detail.className = "open";
    var close = el("button", "close", "close ✕");
    close.addEventListener("click", function () { detail.className = ""; });
    detail.appendChild(close);
    detail.appendChild(el("h3", "", "Item " + r.id + " (" + (NAMES[r.bucket] || r.bucket) + ")"));
    detail.appendChild(el("div", "muted", "gold: " + s(r.gold)));
    var grid = el("div", "sides");
    [["A", r.a], ["B", r.b]].forEach(function (x) {
      var col = el("div");
      col.appendChild(el("h4", "", x[0] + ": " + (x[1].score === 1 ? "right" : x[1].score === 0 ? "wrong" : s(x[1].score))));
      col.appendChild(el("div", "", "answer: " + s(x[1].answer)));
      col.appendChild(el("div", "muted", "done reason " + s(x[1].done_reason) + ", " + s(x[1].tokens) + " tokens, " + s(x[1].latency_ms) + " ms"));
      if (x[1].content != null) col.appendChild(el("pre", "", x[1].content));
      grid.appendChild(col);
    });
    detail.appendChild(grid);
  }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") detail.className = ""; });
  update();
  document.body.setAttribute("data-ready", "1");
]==]


-- compare.html: the static comparison (readable with JavaScript off) and
-- the matched items as data for the script's bucket table.
function M.html(r)
    local esc, pct = html.esc, html.pct
    local b = {}
    local function w(x) b[#b + 1] = x end
    local function side_rows(x)
        return { { "folder", x.dir }, { "suite", x.suite }, { "model", x.model }, { "model digest", x.digest },
                 { "dataset sha256", x.dataset_sha256 }, { "started", x.started }, { "status", x.status } }
    end
    w(format('<header><h1>%s vs %s</h1><div class="sub">A %s · B %s · %d items compared</div></header>\n<main>\n',
        esc(r.a.model), esc(r.b.model), esc(r.a.dir), esc(r.b.dir), r.matched))
    w('<section id="provenance"><h2>Runs</h2><table><thead><tr><th></th><th>A (baseline)</th><th>B (candidate)</th></tr></thead><tbody>')
    local ra, rb = side_rows(r.a), side_rows(r.b)
    for i, x in ipairs(ra) do
        w(format('<tr><td class="muted">%s</td><td class="mono">%s</td><td class="mono">%s</td></tr>', esc(x[1]),
            esc(x[2] and tostring(x[2]) or "–"), esc(rb[i][2] and tostring(rb[i][2]) or "–")))
    end
    w("</tbody></table>")
    w(format('<p>%d items compared (A only %d, B only %d, errors left out %d); prompts differ for %d.</p>',
        r.matched, r.only_a, r.only_b, r.errored, r.prompts_differ))
    for _, x in ipairs(r.warnings) do w(format('<p class="warn">warning: %s</p>', esc(x))) end
    w("</section>\n")
    w('<section id="headline"><h2>Accuracy</h2><div class="cards">')
    local function card(id, name, v, ci)
        w(format('<div class="card" data-metric="%s"><div class="name">%s</div><div class="big" data-value="%s">%s</div>',
            id, esc(name), type(v) == "number" and html.json(v) or "", pct(v)))
        if ci then w(format('<div class="muted">95%% CI %s – %s</div>', pct(ci[1]), pct(ci[2]))) end
        if type(v) == "number" then w(html.bar(v, ci and ci[1], ci and ci[2])) end
        w("</div>")
    end
    card("accuracy_a", "A", r.accuracy_a, r.ci95_a)
    card("accuracy_b", "B", r.accuracy_b, r.ci95_b)
    w(format('<div class="card" data-metric="delta"><div class="name">B − A</div><div class="big %s" data-value="%s">%s</div>',
        type(r.delta) == "number" and (r.delta < 0 and "bad" or r.delta > 0 and "good" or "") or "",
        type(r.delta) == "number" and html.json(r.delta) or "", esc(pp(r.delta))))
    if r.ci95 then w(format('<div class="muted">paired 95%% CI %s to %s%s</div>', esc(pp(r.ci95[1])), esc(pp(r.ci95[2])),
        r.clustered and " (clustered)" or "")) end
    w("</div></div>")
    local kv = {}
    if r.mcnemar_p then kv[#kv + 1] = { "McNemar exact p", pval(r.mcnemar_p), "mcnemar" } end
    if r.bootstrap then
        kv[#kv + 1] = { "paired bootstrap", format("%s to %s, p %s (%d resamples, seed %d)", pp(r.bootstrap.lo),
            pp(r.bootstrap.hi), pval(r.bootstrap.p), r.bootstrap.resamples, r.bootstrap.seed), "bootstrap" }
    end
    if r.mde then
        kv[#kv + 1] = { "minimum detectable difference", format("%.2f pp: differences below it are likely to be missed "
            .. "with n = %d (α 0.05, power 0.8)", 100 * r.mde, r.matched), "mde" }
    end
    if r.gate then
        kv[#kv + 1] = { "gate", format("%s: fail when B − A is below %s", r.gate.tripped and "FAILED" or "passed",
            pp(-r.gate.fail_if_worse)), "gate" }
    end
    w('<table class="kv">')
    for _, x in ipairs(kv) do w(format('<tr data-key="%s"><td>%s</td><td>%s</td></tr>', x[3], esc(x[1]), esc(x[2]))) end
    w("</table>")
    if r.binary and r.matched > 0 then
        local t = r.table
        w(format('<h3>2×2</h3><table id="table2x2"><thead><tr><th></th><th class="n">B right</th><th class="n">B wrong</th></tr></thead>'
            .. '<tbody><tr><td>A right</td><td class="n">%d</td><td class="n bad">%d regressed</td></tr>'
            .. '<tr><td>A wrong</td><td class="n good">%d fixed</td><td class="n">%d</td></tr></tbody></table>',
            t.both_right, t.regressed, t.fixed, t.both_wrong))
    end
    w("</section>\n")
    if #r.groups > 0 then
        w('<section id="groups"><h2>Per group</h2><table><thead><tr><th>group</th><th class="n">n</th><th class="n">A</th>'
            .. '<th class="n">B</th><th class="n">B − A</th><th>95% CI</th><th class="n">p</th><th class="n">Holm</th>'
            .. '<th class="n">BH</th></tr></thead><tbody>')
        for _, g in ipairs(r.groups) do
            w(format('<tr><td>%s</td><td class="n">%d</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>'
                .. '<td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td></tr>', esc(g.group), g.n,
                pct(g.accuracy_a), pct(g.accuracy_b), esc(pp(g.delta)),
                g.ci95 and esc(pp(g.ci95[1]) .. " to " .. pp(g.ci95[2])) or "–", pval(g.p), pval(g.p_holm), pval(g.p_bh)))
        end
        w('</tbody></table><p class="muted">p: exact McNemar per group; Holm and BH: adjusted across the groups.</p></section>\n')
    end
    local pf = r.performance
    w('<section id="performance"><h2>Paired performance</h2><table class="kv">')
    w(format("<tr><td>output tokens B / A (median)</td><td>%s (%d pairs)</td></tr>", pf.tokens_ratio_median and
        format("%.3f", pf.tokens_ratio_median) or "–", pf.tokens_pairs))
    w(format("<tr><td>latency B / A (median)</td><td>%s (%d pairs)</td></tr>", pf.latency_ratio_median and
        format("%.3f", pf.latency_ratio_median) or "–", pf.latency_pairs))
    w(format("<tr><td>truncated</td><td>%d in A only, %d in B only</td></tr></table></section>\n",
        pf.truncated_in_a_only, pf.truncated_in_b_only))
    w('<section id="buckets"><h2>Items</h2>')
    for _, k in ipairs { "regressed", "fixed" } do
        local list = r.buckets[k]
        local ids = {}
        for i = 1, math.min(#list, 2000) do ids[i] = esc(tostring(list[i])) end
        w(format('<details%s><summary>%s: %d</summary><p class="mono">%s%s</p></details>', k == "regressed" and " open" or "",
            k == "regressed" and "Regressed (A right, B wrong)" or "Fixed (A wrong, B right)", #list, concat(ids, " "),
            #list > 2000 and format(" … and %d more (compare.json has them all)", #list - 2000) or ""))
    end
    w(format('<p class="muted">Both right: %d. Both wrong: %d.</p>', #r.buckets.both_right, #r.buckets.both_wrong))
    w('<div id="items-app"></div></section>\n</main>')
    return html.page { title = format("compare %s vs %s — ollaeval", tostring(r.a.model), tostring(r.b.model)),
        body = concat(b), data = { items = r.items }, script = M.SCRIPT,
        css = ".sides{display:grid;grid-template-columns:1fr 1fr;gap:12px}" }
end


-- "1pp", "0.5pp", "1" -> 0.01, 0.005, 0.01
function M.parse_pp(s)
    local x = s and s:match("^%s*([%d.]+)%s*pp%s*$") or (s and s:match("^%s*([%d.]+)%s*$"))
    x = tonumber(x)
    if not x or x < 0 or x > 100 then return nil end
    return x / 100
end


function M.main(...)
    local args, dirs, gate = { ... }, {}, nil
    local i = 1
    if ollaeval.help then ollaeval.help = false; io.stdout:write(M.USAGE, "\n", [[
Compares run B (the candidate) with run A (the baseline) on the items both
scored, matched by id: accuracy of each, B - A with a paired 95% interval,
exact McNemar p, a paired bootstrap (--seed N, default 0), the minimum
detectable difference, the regressed / fixed items, per-group differences
(Holm and BH adjusted) and token and latency ratios. Writes compare.json and
compare.html to DIR (default: compare-A-vs-B beside RUN_B).
  --fail-if-worse Xpp   exit 1 when B - A is below -X percentage points
Exit status: 0 compared, 1 the gate tripped, 2 usage error or runs that
cannot be compared (different datasets).
]]) return 0 end
    while i <= #args do
        local a = args[i]
        if a == "--fail-if-worse" or a:find("^%-%-fail%-if%-worse=") then
            local v = a:match("^%-%-fail%-if%-worse=(.*)$")
            if not v then i = i + 1; v = args[i] end
            gate = M.parse_pp(v)
            if not gate then
                io.stderr:write("ollaeval compare: --fail-if-worse needs percentage points, like 1pp (got ",
                    tostring(v), ")\n")
                return 2
            end
        elseif a:sub(1, 1) == "-" then
            io.stderr:write("ollaeval compare: unknown option ", a, " (", M.USAGE, ")\n")
            return 2
        else
            dirs[#dirs + 1] = a
        end
        i = i + 1
    end
    if #dirs ~= 2 then
        io.stderr:write("ollaeval compare: two run folders expected (", M.USAGE, ")\n")
        return 2
    end
    local A, err = runs.load(dirs[1], { light = true })
    if not A then io.stderr:write("ollaeval compare: ", err, "\n") return 2 end
    local B, err2 = runs.load(dirs[2], { light = true })
    if not B then io.stderr:write("ollaeval compare: ", err2, "\n") return 2 end
    local r, cerr = M.compute(A, B, { seed = ollaeval.options.seed, fail_if_worse = gate })
    if not r then io.stderr:write("ollaeval compare: ", cerr, "\n") return 2 end
    local out = ollaeval.options.out
    if not out then
        local parent = B.dir:match("^(.*)/[^/]+$") or "."
        out = format("%s/compare-%s-vs-%s", parent, A.dir:match("([^/]+)$"), B.dir:match("([^/]+)$"))
    end
    require("evals.data").mkdir_p(out)
    local function write(path, text)
        local ok, werr = html.save(path, text)
        if not ok then io.stderr:write("ollaeval compare: ", werr, "\n") end
        return ok
    end
    io.stdout:write(M.text(r))
    if not write(out .. "/compare.json", html.json(r) .. "\n") then return 4 end
    if not write(out .. "/compare.html", M.html(r)) then return 4 end
    io.stdout:write(format("written            %s/compare.json, %s/compare.html\n", out, out))
    if r.gate and r.gate.tripped then return 1 end
    return 0
end


return M
