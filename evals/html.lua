-- evals/html.lua: the pieces of a self-contained HTML page that report.lua
-- and compare.lua share. Pure string building, deterministic output.
--
--   esc(s)          text as HTML text or attribute value (& < > " ')
--   json(v)         canonical JSON for embedding in <script type=
--                   "application/json"> (ollaeval.canon's SCRIPT style):
--                   object keys sorted, "<", ">", "&" and U+2028/U+2029
--                   escaped as \uXXXX, so no string can close the element;
--                   NaN and infinities become null
--   page{ title=, body=, data= (or data_json=, already encoded with json),
--         script=, css= } -> the whole document: one
--                   file, no network. The Content-Security-Policy forbids
--                   every fetch (default-src 'none') and allows the one
--                   inline script and the one style element by their sha256
--                   (computed here with ollaeval.sha256), and data: images
--   bar(v, lo, hi)  an inline SVG bar for a value in [0, 1] with its interval
--   hist(series, opts) an inline SVG histogram of one or more series
--   line(ys, opts)  an inline SVG line chart of evenly spaced values
--   pct(x [, d])    "12.34%"; num(x) a short number
--   cut(s, max [, tail]) s cut to at most max bytes at a UTF-8 boundary,
--                   tail(rest_bytes) appended when cut
--   script(js)      a page's script: the shared helpers (D, el, clear,
--                   controls, table, drawer; see M.JS), then js, inside one
--                   strict function
--   save(path, text) -> path  or  nil, err: the page written atomically
--                   (a temporary file, then a rename)
local cjson = require "cjson"
local canon = require "ollaeval.canon"

local M = {}

local format, concat, byte, char = string.format, table.concat, string.byte, string.char
local type, tostring, pairs, ipairs = type, tostring, pairs, ipairs
local floor, huge = math.floor, math.huge
local null = cjson.null

local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }


function M.esc(s)
    if s == nil or s == null then return "" end
    return (tostring(s):gsub("[&<>\"']", ESC))
end


-- canonical JSON for a page's data (ollaeval.canon, style SCRIPT)
function M.json(v)
    return canon.encode(v, canon.SCRIPT)
end


local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


local function b64(s)
    local out = {}
    for i = 1, #s, 3 do
        local a, b, c = byte(s, i, i + 2)
        local n = a * 65536 + (b or 0) * 256 + (c or 0)
        local x = {}
        for j = 1, 4 do
            local k = (n >> (6 * (4 - j))) & 63
            x[j] = B64:sub(k + 1, k + 1)
        end
        if not b then x[3], x[4] = "=", "=" elseif not c then x[4] = "=" end
        out[#out + 1] = concat(x)
    end
    return concat(out)
end
M.b64 = b64


function M.sha256_b64(s)
    local hex = ollaeval.sha256(s)
    return b64((hex:gsub("%x%x", function(h) return char(tonumber(h, 16)) end)))
end


function M.cut(s, max, tail)
    if #s <= max then return s end
    local k = max
    while k > 0 and (s:byte(k + 1) or 0) & 0xC0 == 0x80 do k = k - 1 end
    return s:sub(1, k) .. (tail and tail(#s - k) or "…")
end


function M.pct(x, d)
    if type(x) ~= "number" or x ~= x then return "–" end
    return format("%." .. (d or 2) .. "f%%", 100 * x)
end


function M.num(x)
    if type(x) ~= "number" or x ~= x then return "–" end
    if x == floor(x) and math.abs(x) < 1e15 then return format("%d", floor(x)) end
    if math.abs(x) >= 1000 then return format("%.0f", x) end
    if math.abs(x) >= 100 then return format("%.1f", x) end
    if math.abs(x) >= 10 then return format("%.1f", x) end
    if math.abs(x) >= 1 then return format("%.2f", x) end
    return format("%.3g", x)
end


-- A horizontal bar: the value filled, the interval as a whisker.
function M.bar(v, lo, hi, w)
    w = w or 160
    if type(v) ~= "number" or v ~= v then return "" end
    local function x(t) return format("%.1f", math.max(0, math.min(1, t)) * w) end
    local s = { format('<svg class="bar" width="%d" height="14" viewBox="0 0 %d 14" role="img" aria-label="%s">',
        w, w, M.pct(v)), format('<rect x="0" y="3" width="%d" height="8" class="bg"/>', w),
        format('<rect x="0" y="3" width="%s" height="8" class="fg"/>', x(v)) }
    if type(lo) == "number" and type(hi) == "number" then
        s[#s + 1] = format('<path d="M%s 7H%s M%s 2V12 M%s 2V12" class="ci"/>', x(lo), x(hi), x(lo), x(hi))
    end
    s[#s + 1] = "</svg>"
    return concat(s)
end


-- series = { { name=, values={...}, class= }, ... }; opts.bins (20),
-- opts.label (the x axis). Bars of each series side by side in each bin.
function M.hist(series, opts)
    opts = opts or {}
    local nb = opts.bins or 20
    local lo, hi = huge, -huge
    for _, s in ipairs(series) do
        for _, v in ipairs(s.values) do
            if v < lo then lo = v end
            if v > hi then hi = v end
        end
    end
    if lo == huge then return '<p class="muted">no values</p>' end
    if hi == lo then hi = lo + 1 end
    local width = (hi - lo) / nb
    local counts, maxc = {}, 1
    for si, s in ipairs(series) do
        local c = {}
        for b = 1, nb do c[b] = 0 end
        for _, v in ipairs(s.values) do
            local b = floor((v - lo) / width) + 1
            if b > nb then b = nb end
            c[b] = c[b] + 1
            if c[b] > maxc then maxc = c[b] end
        end
        counts[si] = c
    end
    local W, H, pad = 360, 120, 18
    local bw = (W - 2) / nb
    local out = { format('<svg class="hist" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">',
        W, H + pad, W, H + pad, M.esc(opts.label or "histogram")) }
    for si, s in ipairs(series) do
        local sw = bw / #series
        for b = 1, nb do
            local c = counts[si][b]
            if c > 0 then
                local h = c / maxc * (H - 4)
                out[#out + 1] = format('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="%s"><title>%s: %d in %s–%s</title></rect>',
                    1 + (b - 1) * bw + (si - 1) * sw, H - h, math.max(sw - 0.5, 0.5), h, M.esc(s.class or "fg"),
                    M.esc(s.name), c, M.num(lo + (b - 1) * width), M.num(lo + b * width))
            end
        end
    end
    out[#out + 1] = format('<line x1="0" y1="%d" x2="%d" y2="%d" class="axis"/>', H, W, H)
    out[#out + 1] = format('<text x="0" y="%d" class="tick">%s</text>', H + 13, M.esc(M.num(lo)))
    out[#out + 1] = format('<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>', W, H + 13, M.esc(M.num(hi)))
    out[#out + 1] = format('<text x="%d" y="%d" class="tick" text-anchor="middle">%s</text>', W // 2, H + 13,
        M.esc(opts.label or ""))
    out[#out + 1] = "</svg>"
    return concat(out)
end


-- ys: values at evenly spaced x; opts.label (the y quantity), opts.x0,
-- opts.x1 (the x range's labels).
function M.line(ys, opts)
    opts = opts or {}
    local maxy = 0
    for _, y in ipairs(ys) do if y > maxy then maxy = y end end
    if #ys < 2 then return "" end
    if maxy == 0 then maxy = 1 end
    local W, H, pad = 360, 100, 18
    local pts = {}
    for i, y in ipairs(ys) do
        pts[i] = format("%.1f,%.1f", (i - 1) / (#ys - 1) * (W - 2) + 1, H - y / maxy * (H - 16))
    end
    return concat {
        format('<svg class="line" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">', W, H + pad,
            W, H + pad, M.esc(opts.label or "")),
        format('<polyline points="%s" class="ln"/>', concat(pts, " ")),
        format('<line x1="0" y1="%d" x2="%d" y2="%d" class="axis"/>', H, W, H),
        format('<text x="2" y="10" class="tick">max %s</text>', M.esc(M.num(maxy))),
        format('<text x="0" y="%d" class="tick">%s</text>', H + 13, M.esc(opts.x0 or "")),
        format('<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>', W, H + 13, M.esc(opts.x1 or "")),
        format('<text x="%d" y="%d" class="tick" text-anchor="middle">%s</text>', W // 2, H + 13, M.esc(opts.label or "")),
        "</svg>",
    }
end


M.CSS = [[
:root{--fg:#1b1f24;--muted:#5c6670;--line:#d8dde3;--bg:#fff;--alt:#f5f7f9;--good:#1a7f37;--bad:#c62828;--warn:#9a6700;--acc:#2f6fdb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:14px 24px;border-bottom:1px solid var(--line);background:var(--alt)}
header h1{margin:0;font-size:20px}
header .sub{color:var(--muted)}
main{padding:8px 24px 40px;max-width:1400px}
section{margin:18px 0}
h2{font-size:16px;margin:18px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse}
th,td{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.kv td:first-child{color:var(--muted);padding-right:18px}
.big{font-size:26px;font-weight:700}
.muted{color:var(--muted)}
.good{color:var(--good)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:180px}
.card .name{color:var(--muted)}
svg .bg{fill:#e6eaee}svg .fg{fill:var(--acc)}svg .ci{stroke:#111;stroke-width:1.5;fill:none}
svg .ln{fill:none;stroke:var(--acc);stroke-width:1.5}svg .right{fill:var(--good)}svg .wrong{fill:var(--bad)}svg .axis{stroke:#999}svg .tick{font-size:10px;fill:var(--muted)}
.hists{display:flex;flex-wrap:wrap;gap:24px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.legend .right{background:var(--good)}.legend .wrong{background:var(--bad)}
.mono,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;background:var(--alt);border:1px solid var(--line);padding:8px;margin:4px 0;max-height:480px;overflow:auto}
#samples table{width:100%}
#samples tbody tr{cursor:pointer;border-top:1px solid var(--line)}
#samples tbody tr:hover{background:var(--alt)}
#samples tbody tr.sel{background:#e8f0fe}
#samples td{max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:6px 0}
.controls button{border:1px solid var(--line);background:var(--bg);padding:3px 10px;border-radius:4px;cursor:pointer;font:inherit}
.controls button.on{background:var(--acc);color:#fff;border-color:var(--acc)}
.controls input{padding:3px 6px;border:1px solid var(--line);border-radius:4px;font:inherit;min-width:240px}
#detail{display:none}
#detail.open{display:block;position:fixed;top:0;right:0;bottom:0;width:min(760px,55vw);overflow:auto;background:var(--bg);border-left:1px solid var(--line);box-shadow:-4px 0 16px rgba(0,0,0,.12);padding:10px 16px;z-index:2}
#detail .close{float:right;border:1px solid var(--line);background:var(--bg);border-radius:4px;padding:2px 8px;cursor:pointer;font:inherit}
#detail td{white-space:pre-wrap;word-break:break-word}
mark{background:#ffe58a}
.msg{margin:6px 0}.msg .role{font-weight:600;color:var(--muted)}
]]


-- The helpers script(js) puts before a page's own script, in the same
-- strict function (nothing is global):
--   D                   the page's data, parsed from the #data element
--   el(tag, cls, text)  a new element; text only ever by textContent
--   clear(e)            e without children
--   controls(root, modes, name, count, pick, placeholder, search)
--                       the bar above a table: a button per mode ("Name N",
--                       data-mode and data-count set; pick(mode) on click),
--                       a search box (search(text) as it changes) and a
--                       status line; returns { status, mark(mode) }, mark
--                       lighting the mode's button
--   table(root, heads)  a table of columns heads = [[label, class], ...]:
--                       returns { ths, tbody }
--   drawer(root)        the detail panel (#detail; class "open" shows it)
M.JS = [==[
  var D = JSON.parse(document.getElementById("data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }
  function controls(root, modes, name, count, pick, placeholder, search) {
    var bar = el("div", "controls"), buttons = {};
    modes.forEach(function (m) {
      var n = count(m);
      var b = el("button", "", name(m) + " " + n);
      b.setAttribute("data-mode", m);
      b.setAttribute("data-count", String(n));
      b.addEventListener("click", function () { pick(m); });
      buttons[m] = b;
      bar.appendChild(b);
    });
    var input = el("input");
    input.type = "search";
    input.placeholder = placeholder;
    input.addEventListener("input", function () { search(input.value); });
    bar.appendChild(input);
    var status = el("span", "muted");
    bar.appendChild(status);
    root.appendChild(bar);
    return { status: status, mark: function (mode) { for (var m in buttons) buttons[m].className = m === mode ? "on" : ""; } };
  }
  function table(root, heads) {
    var t = el("table"), thead = el("thead"), tr = el("tr"), ths = [];
    heads.forEach(function (h) { var th = el("th", h[1] || "", h[0]); ths.push(th); tr.appendChild(th); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el("tbody");
    t.appendChild(tbody);
    root.appendChild(t);
    return { ths: ths, tbody: tbody };
  }
  function drawer(root) {
    var d = el("div");
    d.id = "detail";
    root.appendChild(d);
    return d;
  }
]==]


function M.script(js)
    return '\n(function () {\n  "use strict";\n' .. M.JS .. js .. "})();\n"
end


-- save(path, text) -> path  or  nil, "cannot write PATH: why". Writes
-- PATH.tmp, then renames it over PATH: a reader sees the old page or the
-- new one, never half of one.
function M.save(path, text)
    local tmp = path .. ".tmp"
    local f, ferr = io.open(tmp, "wb")
    if not f then return nil, format("cannot write %s: %s", path, ferr) end
    local ok, werr = f:write(text)
    local cok, cerr = f:close()
    if not ok or not cok then
        os.remove(tmp)
        return nil, format("cannot write %s: %s", path, tostring(werr or cerr))
    end
    local rok, rerr = os.rename(tmp, path)
    if not rok then
        os.remove(tmp)
        return nil, format("cannot write %s: %s", path, rerr)
    end
    return path
end


-- title: plain text; body: HTML (the static page); data: a Lua value
-- embedded as JSON; script: the page's JavaScript (no data in it).
function M.page(p)
    local data = p.data_json or M.json(p.data)
    local script = p.script
    local css = M.CSS .. (p.css or "")
    local csp = "default-src 'none'; script-src 'sha256-" .. M.sha256_b64(script) .. "'; style-src 'sha256-"
        .. M.sha256_b64(css) .. "'; img-src data:; base-uri 'none'; form-action 'none'"
    return concat {
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        '<meta http-equiv="Content-Security-Policy" content="', csp, '">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="referrer" content="no-referrer">\n',
        "<title>", M.esc(p.title), "</title>\n<style>", css, "</style>\n</head>\n<body>\n",
        p.body,
        '\n<script type="application/json" id="data">', data, "</script>\n",
        "<script>", script, "</script>\n</body>\n</html>\n",
    }
end


return M
