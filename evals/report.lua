-- evals/report.lua: report.html, the page of one run (`ollaeval report
-- RUN_DIR`, and written at the end of a run). One self-contained file: the
-- summary is rendered here as static HTML (readable with JavaScript off),
-- the samples are embedded as JSON for the page's script, which only adds
-- the samples table (modes, search, sort) and its detail view, inserting
-- every string with textContent. The same run gives the same bytes.
--
--   build(run)     -> the page (a string), from runs.load(dir [, {light=true}])
--   write(dir)     -> path of dir/report.html  or  nil, err
--   main(dir)      -> `ollaeval report RUN_DIR`: exit status
--
-- Above EMBED_MAX samples the page embeds the failures (error, truncated,
-- no answer, wrong) first and an evenly spaced share of the correct ones,
-- EMBED_MAX in all, and says so; long strings are cut at STR_MAX, and
-- the detail fields stop once HEAVY_MAX bytes are embedded (the journal has
-- the rest). Record fields read: see evals/runs.lua.
local runs = require "evals.runs"
local html = require "evals.html"
local stats = require "evals.stats"
local metrics = require "evals.metrics"

local M = {}

local format, concat = string.format, table.concat
local esc, pct, num = html.esc, html.pct, html.num
local val = runs.val

M.EMBED_MAX = 20000
M.STR_MAX = 20000
M.HEAVY_MAX = 24 * 1024 * 1024


-- A record's class for the modes: error, noanswer, truncated, wrong, correct
local function class_of(r)
    if val(r.error) ~= nil then return "error" end
    local sc = val(r.score)
    if type(sc) == "table" then sc = val(sc.value) end
    local correct = val(r.correct) == true or (type(sc) == "number" and sc >= 1)
    if correct then return "correct" end
    if val(r.done_reason) == "length" then return "truncated" end
    if val(r.answer) == nil then return "noanswer" end
    return "wrong"
end
M.class_of = class_of


local function cut(s)
    s = val(s)
    if s == nil then return nil end
    if type(s) ~= "string" then s = html.json(s) end
    return html.cut(s, M.STR_MAX, function(rest) return format("\n… [cut: %d more bytes in samples.jsonl]", rest) end)
end


local function messages_of(m)
    m = val(m)
    if type(m) ~= "table" then return nil end
    local out = {}
    for i, x in ipairs(m) do
        if type(x) == "table" then
            local role = val(x.role)
            out[i] = { role = type(role) == "string" and role or role == nil and "?" or html.json(role),
                       content = cut(val(x.content)) or "" }
        else
            out[i] = { role = "?", content = cut(x) or "" }
        end
    end
    return out
end


local KNOWN = {}
for k in ("id index correct error error_kind answer gold done_reason reasoning_status completion_tokens "
    .. "thinking_tokens prompt_tokens latency_ms ttft_ms itl_ms attempts messages content thinking rule "
    .. "strict_answer strict_correct group subject subset cluster score calls span notes explanation line t_start t_end "
    .. "_line _prompt"):gmatch("%S+") do
    KNOWN[k] = true
end


-- The detail of one record for the page (strings cut, the span split out).
local function detail_of(r)
    local d = { messages = messages_of(r.messages), thinking = cut(r.thinking), rule = val(r.rule),
        strict_answer = val(r.strict_answer), strict_correct = val(r.strict_correct),
        reasoning_status = val(r.reasoning_status), done_reason = val(r.done_reason),
        prompt_tokens = val(r.prompt_tokens), thinking_tokens = val(r.thinking_tokens),
        ttft_ms = val(r.ttft_ms), attempts = val(r.attempts), error = cut(r.error), error_kind = val(r.error_kind),
        notes = cut(val(r.notes) or val(r.explanation) or (type(val(r.score)) == "table" and val(r.score.explanation) or nil)),
        line = val(r.line), journal_line = val(r._line) }
    local content = val(r.content)
    local span = val(r.span)
    local s1 = type(span) == "table" and math.tointeger(span[1])
    local s2 = type(span) == "table" and math.tointeger(span[2])
    if type(content) == "string" and s1 and s2 and s1 >= 1 and s2 >= s1 and s2 <= #content then
        d.content_parts = { cut(content:sub(1, s1 - 1)), content:sub(s1, s2), cut(content:sub(s2 + 1)) }
    else
        d.content = cut(content)
    end
    local calls = val(r.calls)
    if type(calls) == "table" and #calls > 0 then
        d.calls = {}
        for i, c in ipairs(calls) do
            if type(c) == "table" then
                d.calls[i] = { messages = messages_of(c.messages), content = cut(c.content), thinking = cut(c.thinking),
                    done_reason = val(c.done_reason), completion_tokens = val(c.completion_tokens),
                    latency_ms = val(c.latency_ms), name = val(c.name) }
            else
                d.calls[i] = { content = cut(c) }
            end
        end
    end
    local extra = {}
    local keys = {}
    for k in pairs(r) do if type(k) == "string" and not KNOWN[k] then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do extra[#extra + 1] = { k, cut(r[k]) or "null" } end
    if #extra > 0 then d.extra = extra end
    return d
end


local function short(v)
    v = val(v)
    if v == nil then return nil end
    if type(v) == "table" then v = html.json(v) end
    return html.cut(tostring(v), 300)
end


-- Which records the page embeds (indices into run.records), and a note
-- when not all: the failures first, rarest class first (errors, truncated,
-- no answer, wrong), keeping at least a fifth of the room for correct ones;
-- a class that does not fit whole is taken evenly spaced.
local function spread(list, k, into)
    if k >= #list then
        for _, x in ipairs(list) do into[#into + 1] = x end
        return #list
    end
    for j = 0, k - 1 do into[#into + 1] = list[math.floor(j * #list / k) + 1] end
    return k
end


local function choose(records)
    local n = #records
    local pick = {}
    if n <= M.EMBED_MAX then
        for i = 1, n do pick[i] = i end
        return pick, nil
    end
    local by = { error = {}, truncated = {}, noanswer = {}, wrong = {}, correct = {} }
    for i, r in ipairs(records) do local t = by[class_of(r)]; t[#t + 1] = i end
    local nfails = n - #by.correct
    local keep_correct = math.min(#by.correct, math.max(M.EMBED_MAX - nfails, M.EMBED_MAX // 5))
    local room = M.EMBED_MAX - keep_correct
    local taken = {}
    for _, c in ipairs { "error", "truncated", "noanswer", "wrong" } do
        taken[c] = spread(by[c], room, pick)
        room = room - taken[c]
    end
    taken.correct = spread(by.correct, keep_correct, pick)
    table.sort(pick)
    local parts = {}
    for _, c in ipairs { "error", "truncated", "noanswer", "wrong", "correct" } do
        if #by[c] > 0 then
            local what = ({ error = "errors", truncated = "truncated", noanswer = "without an answer", wrong = "wrong",
                   correct = "correct" })[c]
            parts[#parts + 1] = taken[c] == #by[c] and format("all %d %s", taken[c], what)
                or format("%d of %d %s", taken[c], #by[c], what)
        end
    end
    local note = format("This run has %d samples; the page embeds %d of them (%s; a class that does not fit "
        .. "whole is sampled evenly). Every sample is in samples.jsonl; the numbers above count them all.",
        n, #pick, concat(parts, ", "))
    return pick, note
end


local function kv_table(rows)
    local out = { '<table class="kv">' }
    for _, r in ipairs(rows) do
        if r[2] ~= nil and r[2] ~= "" then
            out[#out + 1] = format("<tr><td>%s</td><td>%s</td></tr>", esc(r[1]), r.raw and r[2] or esc(r[2]))
        end
    end
    out[#out + 1] = "</table>"
    return concat(out)
end


-- the strings and numbers of a list, joined; anything else as JSON
local function join(t)
    if type(t) ~= "table" then return t ~= nil and tostring(t) or nil end
    local out = {}
    for i, v in ipairs(t) do out[i] = (type(v) == "string" or type(v) == "number") and tostring(v) or html.json(v) end
    return concat(out, ", ")
end


local function sorted_keys(t)
    local k = {}
    for x in pairs(t) do k[#k + 1] = x end
    table.sort(k, function(a, b) return tostring(a) < tostring(b) end)
    return k
end


local function opts_text(t)
    t = val(t)
    if type(t) ~= "table" then return short(t) end
    local parts = {}
    for _, k in ipairs(sorted_keys(t)) do
        local v = val(t[k])
        if v ~= nil then
            parts[#parts + 1] = tostring(k) .. "=" .. (type(v) == "table" and html.json(v)
                or type(v) == "number" and html.json(v) or tostring(v))
        end
    end
    return concat(parts, "  ")
end


local function percentiles(xs)
    if #xs == 0 then return nil end
    local p = metrics.percentiles(xs, { 50, 90, 95, 99 })
    p.max = p[99]
    for _, x in ipairs(xs) do if x > p.max then p.max = x end end
    return p
end


-- Everything the static page shows, from the run (records and summary).
local function analyse(run)
    local a = { n = #run.records, classes = { correct = 0, wrong = 0, noanswer = 0, truncated = 0, error = 0 },
        error_kinds = {}, reasoning = {}, groups = {}, group_order = {}, noanswer_all = 0, truncated_all = 0,
        lat = {}, ttft = {}, retries = 0, retried = 0, times = {},
        tok = { correct = {}, wrong = {} }, think = { correct = {}, wrong = {} }, latc = { correct = {}, wrong = {} } }
    for _, r in ipairs(run.records) do
        local c = class_of(r)
        a.classes[c] = a.classes[c] + 1
        if c == "error" then
            local k = tostring(val(r.error_kind) or "unknown")
            a.error_kinds[k] = (a.error_kinds[k] or 0) + 1
        else
            if val(r.answer) == nil then a.noanswer_all = a.noanswer_all + 1 end
            if val(r.done_reason) == "length" then a.truncated_all = a.truncated_all + 1 end
            local rs = val(r.reasoning_status)
            if rs ~= nil and rs ~= "ok" then a.reasoning[tostring(rs)] = (a.reasoning[tostring(rs)] or 0) + 1 end
            local side = c == "correct" and "correct" or "wrong"
            local t, th, l = val(r.completion_tokens), val(r.thinking_tokens), val(r.latency_ms)
            if type(t) == "number" then a.tok[side][#a.tok[side] + 1] = t end
            if type(th) == "number" and th > 0 then a.think[side][#a.think[side] + 1] = th end
            if type(l) == "number" then
                a.latc[side][#a.latc[side] + 1] = l
                a.lat[#a.lat + 1] = l
            end
            local tt = val(r.ttft_ms)
            if type(tt) == "number" then a.ttft[#a.ttft + 1] = tt end
            local g = val(r.group) or val(r.subject) or val(r.subset)
            if type(g) == "string" or type(g) == "number" then
                g = tostring(g)
                if not a.groups[g] then a.groups[g] = { n = 0, k = 0 }; a.group_order[#a.group_order + 1] = g end
                a.groups[g].n = a.groups[g].n + 1
                if c == "correct" then a.groups[g].k = a.groups[g].k + 1 end
            end
        end
        local t0, t1 = val(r.t_start), val(r.t_end)
        if type(t0) == "number" and type(t1) == "number" and t1 >= t0 then
            a.times[#a.times + 1] = { t0, t1, type(val(r.completion_tokens)) == "number" and r.completion_tokens or 0 }
        end
        local at = val(r.attempts)
        if type(at) == "number" and at > 1 then
            a.retries = a.retries + at - 1
            a.retried = a.retried + 1
        end
    end
    table.sort(a.group_order)
    a.scored = a.n - a.classes.error
    a.lat_p = percentiles(a.lat)
    a.ttft_p = percentiles(a.ttft)
    return a
end


-- The metric cards: summary.json's metrics (one source of truth), or, for a
-- run without a summary, accuracy from the journal.
local function metric_rows(run, a)
    local m = run.summary and type(run.summary.metrics) == "table" and run.summary.metrics
    local rows = {}
    if m then
        for _, k in ipairs(sorted_keys(m)) do
            if type(k) == "string" and not k:find("_stderr$") and not k:find("_ci95$") then
                local v = val(m[k])
                local ci = val(m[k .. "_ci95"])
                local row = { name = k, value = v, stderr = val(m[k .. "_stderr"]) }
                if type(ci) == "table" and type(ci[1]) == "number" and type(ci[2]) == "number" then
                    row.lo, row.hi = ci[1], ci[2]
                end
                rows[#rows + 1] = row
            end
        end
        -- accuracy first, then the rest by name
        table.sort(rows, function(x, y)
            local px, py = x.name == "accuracy" and 0 or 1, y.name == "accuracy" and 0 or 1
            if px ~= py then return px < py end
            return x.name < y.name
        end)
        return rows, "summary.json"
    end
    if a.scored > 0 then
        local lo, hi = stats.wilson(a.classes.correct, a.scored)
        rows[1] = { name = "accuracy", value = a.classes.correct / a.scored, lo = lo, hi = hi,
            stderr = metrics.binary_stderr(a.classes.correct, a.scored) }
    end
    return rows, "the journal (the run has no summary.json yet)"
end


local function fmt_metric(row)
    local v = row.value
    if type(v) == "number" then
        if v >= 0 and v <= 1 then return pct(v) end
        return num(v)
    end
    if type(v) == "table" then return html.json(v) end
    return v == nil and "–" or tostring(v)
end


local function hist_block(title, tbl, label)
    local series = {}
    if #tbl.correct > 0 then series[#series + 1] = { name = "correct", values = tbl.correct, class = "right" } end
    if #tbl.wrong > 0 then series[#series + 1] = { name = "not correct", values = tbl.wrong, class = "wrong" } end
    if #series == 0 then return "" end
    local med = function(xs) return #xs > 0 and num(metrics.percentile(xs, 50)) or "–" end
    return format('<div><h3>%s</h3>%s<div class="muted">median: correct %s, not correct %s</div></div>',
        esc(title), html.hist(series, { label = label }), med(tbl.correct), med(tbl.wrong))
end


M.SCRIPT = html.script [==[
  var rows = D.rows || [];
  var NAMES = { all: "All", correct: "Correct", wrong: "Wrong", noanswer: "No answer", truncated: "Truncated", error: "Error" };
  var mode = "all", query = "", sortKey = "i", sortDir = 1, shown = 500, selected = null;
  var root = document.getElementById("samples-app");
  if (!root) return;
  var bar = controls(root, ["all", "correct", "wrong", "noanswer", "truncated", "error"],
    function (m) { return NAMES[m]; },
    function (m) { return m === "all" ? rows.length : rows.filter(function (r) { return r.s === m; }).length; },
    function (m) { mode = m; shown = 500; update(); },
    "search id, answer, gold, output (regular expression)",
    function (q) { query = q; shown = 500; update(); });
  var COLS = [["i", "#", "n"], ["id", "id"], ["s", "result"], ["a", "answer"], ["g", "gold"], ["t", "tokens", "n"], ["l", "latency ms", "n"]];
  var grid = table(root, COLS.map(function (c) { return [c[1], c[2]]; }));
  var tbody = grid.tbody;
  COLS.forEach(function (c, k) {
    var th = grid.ths[k];
    th.style.cursor = "pointer";
    th.addEventListener("click", function () {
      if (sortKey === c[0]) sortDir = -sortDir; else { sortKey = c[0]; sortDir = 1; }
      update();
    });
  });
  var more = el("button", "", "show more");
  more.addEventListener("click", function () { shown += 2000; update(); });
  var moreBox = el("div", "controls");
  moreBox.appendChild(more);
  root.appendChild(moreBox);
  var detail = drawer(root);
  function matcher() {
    if (!query) return null;
    try { return new RegExp(query, "i"); } catch (e) {
      var q = query.toLowerCase();
      return { test: function (s) { return s.toLowerCase().indexOf(q) >= 0; } };
    }
  }
  function text(r) {
    var d = r.d || {}, s = String(r.id) + "\n" + (r.a == null ? "" : r.a) + "\n" + (r.g == null ? "" : r.g);
    if (d.content) s += "\n" + d.content;
    if (d.content_parts) s += "\n" + d.content_parts.join("");
    if (d.error) s += "\n" + d.error;
    return s;
  }
  function cmp(a, b) {
    var x = a[sortKey], y = b[sortKey];
    if (x == null && y == null) return a.i - b.i;
    if (x == null) return 1;
    if (y == null) return -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * sortDir || a.i - b.i;
    x = String(x); y = String(y);
    return (x < y ? -1 : x > y ? 1 : 0) * sortDir || a.i - b.i;
  }
  function update() {
    var re = matcher();
    var list = rows.filter(function (r) { return (mode === "all" || r.s === mode) && (!re || re.test(text(r))); });
    if (sortKey !== "i" || sortDir !== 1) list.sort(cmp);
    bar.mark(mode);
    clear(tbody);
    var frag = document.createDocumentFragment();
    list.slice(0, shown).forEach(function (r) {
      var tr = el("tr");
      tr.setAttribute("data-id", String(r.id));
      [r.i, r.id, NAMES[r.s] || r.s, r.a, r.g, r.t, r.l].forEach(function (v, k) {
        var td = el("td", COLS[k][2] || "", v);
        if (k === 2) td.className = r.s === "correct" ? "good" : "bad";
        tr.appendChild(td);
      });
      tr.addEventListener("click", function () { show(r); });
      if (selected === r) tr.className = "sel";
      frag.appendChild(tr);
    });
    tbody.appendChild(frag);
    bar.status.textContent = list.length + " shown of " + rows.length + " embedded" + (list.length > shown ? " (first " + shown + " listed)" : "");
    moreBox.style.display = list.length > shown ? "flex" : "none";
  }
  function pre(parent, title, s) {
    if (s == null || s === "") return;
    parent.appendChild(el("div", "role", title));
    parent.appendChild(el("pre", "", s));
  }
  function messages(parent, ms) {
    (ms || []).forEach(function (m) {
      var box = el("div", "msg");
      box.appendChild(el("span", "role", m.role));
      box.appendChild(el("pre", "", m.content));
      parent.appendChild(box);
    });
  }
  function thinking(parent, s) {
    if (!s) return;
    var det = el("details");
    det.appendChild(el("summary", "", "thinking (" + s.length + " characters)"));
    det.appendChild(el("pre", "", s));
    parent.appendChild(det);
  }
  function show(r) {
    selected = r;
    var d = r.d;
    clear(detail);
    detail.className = "open";
    var close = el("button", "close", "close ✕");
    close.addEventListener("click", hide);
    detail.appendChild(close);
    detail.appendChild(el("h3", "", "Item " + r.id));
    var kv = el("table", "kv");
    function row(k, v) {
      if (v === undefined || v === null || v === "") return;
      var tr = el("tr");
      tr.appendChild(el("td", "", k));
      tr.appendChild(el("td", "mono", typeof v === "object" ? JSON.stringify(v) : v));
      kv.appendChild(tr);
    }
    row("result", NAMES[r.s] || r.s);
    row("answer", r.a);
    row("gold", r.g);
    if (d) {
      row("rule", d.rule);
      row("strict answer", d.strict_answer);
      row("strict correct", d.strict_correct);
      row("done reason", d.done_reason);
      row("reasoning", d.reasoning_status);
      row("tokens", [d.prompt_tokens == null ? null : "prompt " + d.prompt_tokens, r.t == null ? null : "output " + r.t,
        d.thinking_tokens == null ? null : "thinking " + d.thinking_tokens].filter(Boolean).join(", "));
      row("latency", r.l == null ? null : r.l + " ms" + (d.ttft_ms == null ? "" : ", first token " + d.ttft_ms + " ms"));
      row("attempts", d.attempts);
      row("error kind", d.error_kind);
      row("dataset line", d.line);
      row("journal line", d.journal_line);
      (d.extra || []).forEach(function (x) { row(x[0], x[1]); });
    }
    detail.appendChild(kv);
    if (!d) {
      detail.appendChild(el("p", "muted", "The detail of this sample is not embedded (size limit); it is in samples.jsonl."));
      return;
    }
    pre(detail, "error", d.error);
    pre(detail, "grader notes", d.notes);
    if (d.messages) { detail.appendChild(el("h4", "", "messages")); messages(detail, d.messages); }
    thinking(detail, d.thinking);
    if (d.content_parts) {
      detail.appendChild(el("div", "role", "output (extracted answer marked)"));
      var p = el("pre");
      p.appendChild(document.createTextNode(d.content_parts[0] || ""));
      p.appendChild(el("mark", "", d.content_parts[1]));
      p.appendChild(document.createTextNode(d.content_parts[2] || ""));
      detail.appendChild(p);
    } else {
      pre(detail, "output", d.content);
    }
    (d.calls || []).forEach(function (c, k) {
      detail.appendChild(el("h4", "", "call " + (k + 1) + (c.name ? " (" + c.name + ")" : "")));
      messages(detail, c.messages);
      thinking(detail, c.thinking);
      pre(detail, "output", c.content);
    });
    detail.scrollTop = 0;
    update();
  }
  function hide() { selected = null; clear(detail); detail.className = ""; update(); }
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && selected) hide(); });
  function fromHash() {
    var m = /^#item=(.*)$/.exec(location.hash);
    if (!m) return;
    var id = decodeURIComponent(m[1]);
    for (var k = 0; k < rows.length; k++) if (String(rows[k].id) === id) { show(rows[k]); return; }
  }
  update();
  fromHash();
  window.addEventListener("hashchange", fromHash);
  document.body.setAttribute("data-ready", "1");
]==]


-- Throughput and in-flight over time, from records that carry t_start and
-- t_end (ms since the run started): TIMELINE_BINS bins over the run.
local TIMELINE_BINS = 60


local function timeline(times)
    if #times < 2 then return "" end
    local lo, hi = math.huge, -math.huge
    for _, t in ipairs(times) do
        if t[1] < lo then lo = t[1] end
        if t[2] > hi then hi = t[2] end
    end
    if hi <= lo then return "" end
    local nb, width = TIMELINE_BINS, (hi - lo) / TIMELINE_BINS
    local done, toks, delta = {}, {}, {}
    for b = 1, nb + 1 do done[b], toks[b], delta[b] = 0, 0, 0 end
    local function bin(x) return math.min(nb, math.floor((x - lo) / width) + 1) end
    for _, t in ipairs(times) do
        local e = bin(t[2])
        done[e] = done[e] + 1
        toks[e] = toks[e] + t[3]
        delta[bin(t[1])] = delta[bin(t[1])] + 1
        delta[e + 1] = delta[e + 1] - 1
    end
    local rate, tps, inflight, run = {}, {}, {}, 0
    for b = 1, nb do
        rate[b] = done[b] / (width / 1000)
        tps[b] = toks[b] / (width / 1000)
        run = run + delta[b]
        inflight[b] = run
    end
    local x1 = format("%.1f s", (hi - lo) / 1000)
    return concat {
        '<h3>Over time</h3><div class="hists">',
        "<div>", html.line(rate, { label = "items/s", x0 = "0 s", x1 = x1 }), "</div>",
        "<div>", html.line(tps, { label = "output tokens/s", x0 = "0 s", x1 = x1 }), "</div>",
        "<div>", html.line(inflight, { label = "in flight", x0 = "0 s", x1 = x1 }), "</div>",
        "</div>",
    }
end


local function title_of(run)
    local s, c = run.summary or {}, run.config
    local suite = type(s.suite) == "table" and val(s.suite.name) or val(c.suite) or "run"
    local model = type(s.model) == "table" and val(s.model.name) or val(c.model) or "?"
    return tostring(suite), tostring(model)
end


function M.build(run)
    local s, c, man = run.summary or {}, run.config, run.manifest
    local a = analyse(run)
    local suite, model = title_of(run)
    local body = {}
    local function w(x) body[#body + 1] = x end
    local status = val(s.status) or (run.summary and "?" or "unfinished (no summary.json)")
    w(format('<header><h1>%s — %s</h1><div class="sub">%s · %s · %s</div></header>\n<main>\n',
        esc(suite), esc(model), esc(status), esc(val(man.started) or ""), esc(run.dir)))

    -- provenance
    local sm = type(s.model) == "table" and s.model or {}
    local ss = type(s.suite) == "table" and s.suite or {}
    local sd = type(s.dataset) == "table" and s.dataset or {}
    local endpoints = join(val(s.endpoints))
    local dur = val(s.wall_time_s)
    w('<section id="provenance"><h2>Provenance</h2>')
    w(kv_table {
        { "suite", format("%s%s", suite, val(ss.version) and (" v" .. tostring(ss.version)) or "") },
        { "suite sha256", val(ss.sha256) or val(c.suite_sha256) },
        { "suite file", val(ss.file) or val(c.suite_file) },
        { "model", model },
        { "model digest", val(sm.digest) },
        { "model details", type(val(sm.details)) == "table" and opts_text(sm.details) or nil },
        { "context length", val(sm.context_length) and html.json(sm.context_length) or nil },
        { "endpoints", endpoints },
        { "server version", val(s.server_version) },
        { "dataset", val(sd.path) },
        { "dataset sha256", val(sd.sha256) or val(c.dataset_sha256) },
        { "options", opts_text(val(s.options) or c.options) },
        { "generation", type(val(s.options)) == "table" and opts_text(s.options.generation) or nil },
        { "seed", val(c.seed) ~= nil and html.json(c.seed) or nil },
        { "shard", val(c.shard) },
        { "merged from", join(val(man.merged_from)) },
        { "command", val(man.command) },
        { "started", val(man.started) },
        { "finished", val(s.finished) },
        { "wall time", type(dur) == "number" and format("%.1f s", dur) or nil },
        { "status", status },
        { "ollaeval", val(man.ollaeval) },
    })
    if run.torn then
        w(format('<p class="warn">The journal ends in a torn line (line %d), left out.</p>', run.torn))
    end
    w("</section>\n")

    -- headline metrics
    local rows, source = metric_rows(run, a)
    w('<section id="metrics"><h2>Metrics</h2><div class="cards">')
    for _, r in ipairs(rows) do
        if type(r.value) == "table" then
            -- a table of values (per group, per k, ...): one line each
            w(format('<div class="card" data-metric="%s"><div class="name">%s</div><table>', esc(r.name),
                esc((r.name:gsub("_", " ")))))
            for _, k in ipairs(sorted_keys(r.value)) do
                local v = val(r.value[k])
                local ci
                if type(v) == "table" then
                    local c = val(v.ci95)
                    if type(c) == "table" and type(c[1]) == "number" and type(c[2]) == "number" then ci = c end
                    if type(val(v.value)) == "number" then v = v.value end
                end
                w(format('<tr><td>%s</td><td class="n">%s</td><td class="muted">%s</td></tr>', esc(k),
                    esc(fmt_metric { value = v }), ci and format("%s – %s", pct(ci[1]), pct(ci[2])) or ""))
            end
            w("</table></div>")
            goto next_metric
        end
        w(format('<div class="card" data-metric="%s"><div class="name">%s</div><div class="big" data-value="%s">%s</div>',
            esc(r.name), esc((r.name:gsub("_", " "))), esc(type(r.value) == "number" and html.json(r.value) or ""),
            esc(fmt_metric(r))))
        if r.lo then
            w(format('<div class="muted">95%% CI %s – %s</div>', pct(r.lo), pct(r.hi)))
        elseif type(r.stderr) == "number" then
            w(format('<div class="muted">± %s (standard error)</div>', pct(r.stderr)))
        end
        if type(r.value) == "number" and r.value >= 0 and r.value <= 1 then w(html.bar(r.value, r.lo, r.hi)) end
        w("</div>")
        ::next_metric::
    end
    if #rows == 0 then w('<p class="muted">No metrics: nothing was scored.</p>') end
    w(format('</div><p class="muted">From %s.</p>', esc(source)))
    if #a.group_order > 0 then
        w('<h3>Per group</h3><table id="groups"><thead><tr><th>group</th><th class="n">n</th><th class="n">correct</th>'
            .. '<th class="n">accuracy</th><th>95% CI</th><th></th></tr></thead><tbody>')
        for _, g in ipairs(a.group_order) do
            local t = a.groups[g]
            local lo, hi = stats.wilson(t.k, t.n)
            w(format('<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%s</td><td>%s – %s</td><td>%s</td></tr>',
                esc(g), t.n, t.k, pct(t.k / t.n), pct(lo), pct(hi), html.bar(t.k / t.n, lo, hi, 120)))
        end
        w("</tbody></table>")
    end
    w("</section>\n")

    -- counts
    local cl = a.classes
    local count_rows = {
        { "samples", a.n, "all" }, { "scored", a.scored }, { "correct", cl.correct, "correct" },
        { "wrong (an answer, not the gold)", cl.wrong, "wrong" }, { "no answer", cl.noanswer, "noanswer" },
        { "truncated (done_reason length)", cl.truncated, "truncated" }, { "errors", cl.error, "error" },
    }
    w('<section id="counts"><h2>Counts</h2><table><tbody>')
    for _, r in ipairs(count_rows) do
        w(format('<tr%s><td>%s</td><td class="n">%d</td><td class="muted">%s</td></tr>',
            r[3] and format(' data-count="%s"', r[3]) or "", esc(r[1]), r[2],
            a.n > 0 and r[1] ~= "samples" and pct(r[2] / a.n, 1) or ""))
    end
    w("</tbody></table>")
    w(format('<p class="muted">Each sample is counted once above: error, then correct, then truncated, then no '
        .. 'answer, then wrong.%s</p>', a.noanswer_all > 0 and format(" Without an answer: %d scored samples in all, "
        .. "of them %d truncated.", a.noanswer_all, a.truncated_all) or ""))
    local rk = sorted_keys(a.reasoning)
    if #rk > 0 then
        w("<h3>Reasoning</h3><table><tbody>")
        for _, k in ipairs(rk) do
            w(format('<tr><td>%s</td><td class="n">%d</td></tr>', esc(k == "unclosed" and "ran out in thinking (unclosed)" or k),
                a.reasoning[k]))
        end
        w("</tbody></table>")
    end
    local ek = sorted_keys(a.error_kinds)
    if #ek > 0 then
        w('<h3>Errors by class</h3><table id="errors"><tbody>')
        for _, k in ipairs(ek) do w(format('<tr><td>%s</td><td class="n">%d</td></tr>', esc(k), a.error_kinds[k])) end
        w("</tbody></table>")
    end
    w("</section>\n")

    -- performance
    w('<section id="performance"><h2>Performance</h2>')
    local perf = {}
    local sess = type(s.this_session) == "table" and s.this_session or {}
    if type(dur) == "number" then perf[#perf + 1] = { "wall time", format("%.2f s", dur) } end
    if type(val(sess.items_per_s)) == "number" then
        perf[#perf + 1] = { "throughput", format("%.2f items/s (this session: %s items)", sess.items_per_s, num(val(sess.items))) }
    end
    local tk = type(s.tokens) == "table" and s.tokens or {}
    if type(val(tk.completion_total)) == "number" then
        perf[#perf + 1] = { "tokens", format("%s prompt, %s output in all (mean %s, %s)", num(val(tk.prompt_total)),
            num(tk.completion_total), num(val(tk.prompt_mean)), num(val(tk.completion_mean))) }
        if type(dur) == "number" and dur > 0 then
            perf[#perf + 1] = { "output tokens/s", num(tk.completion_total / dur) }
        end
    end
    perf[#perf + 1] = { "retries", format("%d (samples with more than one attempt: %d)", a.retries, a.retried) }
    local co = type(s.options) == "table" and val(s.options.concurrency)
    if co then perf[#perf + 1] = { "concurrency", html.json(co) } end
    w(kv_table(perf))
    local function ptable(title, p)
        if not p then return end
        w(format('<h3>%s</h3><table><thead><tr><th class="n">p50</th><th class="n">p90</th><th class="n">p95</th>'
            .. '<th class="n">p99</th><th class="n">max</th></tr></thead><tbody><tr><td class="n">%s</td><td class="n">%s</td>'
            .. '<td class="n">%s</td><td class="n">%s</td><td class="n">%s</td></tr></tbody></table>',
            esc(title), num(p[50]), num(p[90]), num(p[95]), num(p[99]), num(p.max)))
    end
    w(timeline(a.times))
    ptable("Latency (ms)", a.lat_p)
    ptable("Time to first token (ms)", a.ttft_p)
    w("</section>\n")

    -- distributions
    local hs = { hist_block("Output tokens", a.tok, "output tokens"), hist_block("Thinking tokens", a.think, "thinking tokens"),
        hist_block("Latency", a.latc, "latency ms") }
    local hb = concat(hs)
    if hb ~= "" then
        w('<section id="distributions"><h2>Distributions</h2><div class="legend muted"><span class="right"></span>correct'
            .. '<span class="wrong"></span>not correct (wrong, no answer, truncated)</div><div class="hists">')
        w(hb)
        w("</div></section>\n")
    end

    -- samples
    local pick, note = choose(run.records)
    local picked = {}
    for k, i in ipairs(pick) do picked[k] = run.records[i] end
    local full = runs.fetch(run, picked)
    local data_rows, heavy = {}, 0
    for _, r in ipairs(picked) do
        local row = { i = val(r.index) or i, id = r.id, s = class_of(r), a = short(r.answer), g = short(r.gold),
            t = val(r.completion_tokens), l = val(r.latency_ms) }
        if type(row.t) ~= "number" then row.t = nil end
        if type(row.l) ~= "number" then row.l = nil end
        local light_json = html.json(row)
        if heavy < M.HEAVY_MAX then
            local d = html.json(detail_of(full[r]))
            heavy = heavy + #d
            data_rows[#data_rows + 1] = light_json:sub(1, -2) .. ',"d":' .. d .. "}"
        else
            data_rows[#data_rows + 1] = light_json
        end
    end
    w('<section id="samples"><h2>Samples</h2>')
    if note then w(format('<p class="warn" id="embed-note">%s</p>', esc(note))) end
    if heavy >= M.HEAVY_MAX then
        w('<p class="warn">The detail of later samples is not embedded (the page would be too large); '
            .. 'samples.jsonl has it.</p>')
    end
    w(format('<noscript><p>The samples table needs JavaScript. The %d samples are in samples.jsonl.</p></noscript>', a.n))
    w('<div id="samples-app"></div></section>\n</main>')
    return html.page { title = format("%s — %s — ollaeval report", suite, model), body = concat(body),
        data_json = format('{"n":%d,"rows":[%s]}', a.n, concat(data_rows, ",")), script = M.SCRIPT }
end


function M.write(dir)
    local run, err = runs.load(dir, { light = true })
    if not run then return nil, err end
    return html.save(run.dir .. "/report.html", M.build(run))
end


function M.main(...)
    local args = { ... }
    if ollaeval.help or #args ~= 1 or args[1]:sub(1, 1) == "-" then
        local help = ollaeval.help
        ollaeval.help = false -- our own help, not the engine's
        local f = help and io.stdout or io.stderr
        f:write("usage: ollaeval report RUN_DIR\n"
            .. "Writes RUN_DIR/report.html: the run's page (one file, opens from disk with no network).\n")
        return help and 0 or 2
    end
    local path, err = M.write(args[1])
    if not path then
        io.stderr:write("ollaeval report: ", err, "\n")
        return err:find("not a run folder") and 2 or 4
    end
    io.stdout:write(path, "\n")
    return 0
end


return M
