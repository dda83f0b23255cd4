-- evals/latex.lua: LaTeX answers (MATH-500): finding them and comparing them.
--
--   boxes(text)          -> { {body, s, e}... }  every balanced \boxed{} / \fbox{}
--   extract(text)        -> answer, rule, s, e   or  nil, "no_answer"
--   normalize(s)         -> canonical string (styling, spacing, units removed)
--   equal(a, b)          -> boolean: are two answers the same mathematical object
--   answer_of(s)         -> the answer in s (extract, or s itself when it is
--                           already a bare answer): what equal compares
--
-- extract, in order ("rule"):
--   boxed       the last balanced \boxed{...} (or \fbox, or "\boxed 5"); boxes
--               right before it join it when only punctuation, or "and"/"or"
--               with at most one more word, stands between ("\boxed{1} and
--               \boxed{2}" and "\boxed{1} papers and \boxed{2}" are the list
--               1, 2; "\boxed{1} no no no \boxed{2}" is 2)
--   answer      "The (final) answer is X", "Final Answer: X", "Answer: X",
--               "Answer \[ X \]": X is the math span after the anchor, else
--               the sentence, and in prose the part after its last " is "
--               ("Final Answer: The largest $n$ is 34." -> 34). "I hope it is
--               correct." is dropped.
--   math        the last math span ($...$, $$...$$, \(...\), \[...\]; inline
--               $...$ never spans a newline), joined with the spans right
--               before it as boxes are ("$21,16$ or $11$")
--   last_number extract.lua's last number, for prose without math
-- answer_of(s) returns s itself when it has no box, anchor, math span or prose
-- word (a word of three or more lower-case letters that is no function name).
--
-- normalize: "$", "\(", "\[" delimiters, \left \right \displaystyle, spacing
-- (\! \, \; \: \quad, spaces), \dfrac \tfrac \cfrac -> \frac, "\frac12" and
-- "\sqrt2" -> braces, a mixed number "15\frac{39}{40}" -> (15+\frac{39}{40}),
-- degrees (^\circ, °), "\%" and "%", "\$", \text{} /
-- \mbox{} / \textnormal{} / \mathrm{}: a unit after a number is dropped
-- ("15\mbox{ cm}^2" -> 15), other text is kept as its words, "\\" before a
-- letter is one backslash (an escaping artefact), a trailing "." goes.
--
-- equal(a, b) on the answers of both sides:
--   - the same normalised string;
--   - lists: top-level "," ";" "or" "and" "\cup" split a list. Lists are
--     ordered, unless either side is a set ("\{...\}"), uses ";" or "or", or
--     names its values ("a=4, -8, -10"): then order does not matter. A list
--     of one value in several forms ("15\frac{39}{40}, \frac{639}{40}") is
--     that value. A
--     thousands comma ("7,425,000", "11,\!111") is no separator; a lone comma
--     between a 4+-digit integer and 1-2 digits is a decimal comma ("1000,99").
--   - tuples and intervals "(a, b)", "[a, b)": the same brackets, items equal;
--     a chain "a < x < b" is the interval (a, b) (<= gives "[").
--   - sets "\{...\}" and "\pm" (x \pm y is the set {x+y, x-y}).
--   - matrices (pmatrix, bmatrix, array; in \left[ \right] or parentheses):
--     the same shape, entries equal.
--   - relations: "name = value" is its value ("x = 11", "(p,q) = (3,2)",
--     "|AB| = 1", "k = 1/3", the last value of a chain "x = 5+5+1 = 11",
--     "\approx" too); a gold "7 = 11a+c" (no name on the left) stays an
--     equation. Two equations are equal when lhs - rhs of one is a constant
--     multiple of the other's ("2x + 4y - 3 = 0" and "y = -x/2 + 3/4");
--     inequalities when a positive multiple ("-x > -1" and "x < 1").
--   - expressions: evaluated as real numbers (+ - * / ^, implicit products,
--     \frac, \sqrt[n]{}, \pi, e, \sin ... \sec \csc \cot, \ln \log \exp, !,
--     |x|, \sum_{k=a}^{b}), variables and unknown functions (f(x), F_k)
--     replaced by the same pseudo-random values on both sides at three
--     points; equal within a relative 1e-6, or, when one side is a decimal
--     written with 2+ places, equal after rounding the other side to those
--     places ("0.33" equals 1/3, "0.3" does not). A number with a base
--     subscript ("1112122_3") is compared literally.
-- Anything that does not parse is compared as its normalised string.

local extract_mod = require "evals.extract"
local numeric = require "evals.numeric"

local M = {}

local find, match, sub, gsub, lower, byte = string.find, string.match, string.sub,
    string.gsub, string.lower, string.byte
local concat = table.concat
local type, ipairs, tonumber, pcall, error = type, ipairs, tonumber, pcall, error
local abs, floor, huge = math.abs, math.floor, math.huge


-- Boxes ----------------------------------------------------------------------

-- The balanced {...} starting at o: its end, or nil. At most 4000 bytes, so
-- many unclosed boxes stay linear.
local function brace_end(text, o)
    local depth = 0
    for k = o, math.min(#text, o + 3999) do
        local c = byte(text, k)
        if c == 92 then                          -- skip "\{" and "\}"
            local d = byte(text, k + 1)
            if d == 123 or d == 125 then goto continue end
        end
        if c == 123 and byte(text, k - 1) ~= 92 then depth = depth + 1
        elseif c == 125 and byte(text, k - 1) ~= 92 then
            depth = depth - 1
            if depth == 0 then return k end
        end
        ::continue::
    end
    return nil
end


function M.boxes(text)
    local out, init = {}, 1
    while true do
        local a, b = find(text, "\\%a+", init)
        if not a then return out end
        local word = sub(text, a, b)
        init = b + 1
        if word == "\\boxed" or word == "\\fbox" then
            local o = match(text, "^%s*(){", b + 1)
            if o then
                local e = brace_end(text, o)
                if e then
                    out[#out + 1] = { sub(text, o + 1, e - 1), o + 1, e - 1 }
                    init = e + 1
                end
            else
                local s, v, e = match(text, "^ +()([^%s$]+)()", b + 1)   -- "\boxed 5"
                if s then out[#out + 1] = { v, s, e - 1 } end
            end
        end
    end
end


-- Only punctuation, or "and"/"or" with at most one more word ("papers and"),
-- between two spans: they join.
local function near(gap)
    gap = gsub(gsub(gap, "\\text%s*{([^}]*)}", " %1 "), "[%$%.,;{}]", " ")
    gap = gsub(gap, "\\%a+", " ")
    local n, connective = 0, false
    for w in gap:gmatch("%S+") do
        n = n + 1
        if w == "and" or w == "or" then connective = true end
    end
    return n == 0 or (n <= 2 and connective)
end


-- The last span of a list with the ones right before it joined: body, s, e.
local function joined(spans, text)
    local k = #spans
    local first = k
    while first > 1 and near(sub(text, spans[first - 1][3] + 2, spans[first][2] - 2)) do
        first = first - 1
    end
    if first == k then return spans[k][1], spans[k][2], spans[k][3] end
    local parts = {}
    for i = first, k do parts[#parts + 1] = spans[i][1] end
    return concat(parts, ", "), spans[first][2], spans[k][3]
end


-- Math spans: $...$ (one line), $$...$$, \(...\), \[...\].
local function math_spans(text)
    local out, i = {}, 1
    while true do
        local a = find(text, "[%$\\]", i)
        if not a then return out end
        local c2 = sub(text, a, a + 1)
        if c2 == "$$" then
            local e = find(text, "$$", a + 2, true)
            if not e then return out end
            out[#out + 1] = { sub(text, a + 2, e - 1), a + 2, e - 1 }
            i = e + 2
        elseif sub(text, a, a) == "$" and byte(text, a - 1) ~= 92 then
            local e = find(text, "[%$\n]", a + 1)
            if not e then return out end
            if sub(text, e, e) == "$" then
                out[#out + 1] = { sub(text, a + 1, e - 1), a + 1, e - 1 }
                i = e + 1
            else
                i = e + 1
            end
        elseif c2 == "\\(" or c2 == "\\[" then
            local close = c2 == "\\(" and "\\)" or "\\]"
            local e = find(text, close, a + 2, true)
            if not e then return out end
            out[#out + 1] = { sub(text, a + 2, e - 1), a + 2, e - 1 }
            i = e + 2
        else
            i = a + 1
        end
    end
end


local FUNCTION_WORDS = { sin = true, cos = true, tan = true, sec = true, csc = true,
    cot = true, log = true, exp = true, max = true, min = true, gcd = true, lcm = true,
    det = true, mod = true, ["and"] = true, ["or"] = true, arcsin = true, arccos = true,
    arctan = true, sinh = true, cosh = true, tanh = true, frac = true, sqrt = true,
    pmatrix = true, bmatrix = true, array = true, begin = true, ["end"] = true,
    text = true, left = true, right = true, cup = true, cap = true, infty = true,
    boxed = true, cdot = true, times = true, circ = true, pmod = true }

-- Does s hold prose (a word of three or more lower-case letters that is no
-- command or function name)?
local function prose(s)
    s = gsub(s, "\\%a+%s*%b{}", " ")                       -- \text{east} is an answer
    s = gsub(s, "\\%a+", " ")
    for w in s:gmatch("%f[%a]%l%l%l+%f[%A]") do
        if not FUNCTION_WORDS[w] then return true end
    end
    return false
end


local function trim(s) return match(s, "^%s*(.-)%s*$") end


-- extract(text) -> answer, rule, s, e  or  nil, "no_answer"
function M.extract(text)
    if type(text) ~= "string" then
        error("latex.extract: text must be a string, got " .. type(text), 2)
    end
    local boxes = M.boxes(text)
    if #boxes > 0 then
        local body, s, e = joined(boxes, text)
        return trim(body), "boxed", s, e
    end
    -- anchors
    local lt = lower(text)
    local best
    for _, pat in ipairs({ "answer is", "answer:", "answer" }) do
        local init = 1
        while true do
            local a, b = find(lt, pat, init, true)
            if not a then break end
            if not best or a > best[1] then best = { a, b } end
            init = b + 1
        end
        if best then break end
    end
    if best then
        local i = match(text, "^[%s:%*]*()", best[2] + 1)
        local spans = math_spans(sub(text, i))
        local first = spans[1]
        if first and match(sub(text, i, i + first[2] - 2), "^[%s%$\\%(%[]*$") then
            return trim(first[1]), "answer", i + first[2] - 1, i + first[3] - 1
        end
        if find(sub(text, i, i + 2), "^[%$\\]") then
            -- a math delimiter that never closes (inline $ across a newline)
            return nil, "no_answer"
        end
        local stop = find(text, "%.%s", i) or find(text, "\n", i, true) or #text + 1
        local sentence = gsub(sub(text, i, stop - 1), "%.$", "")
        local is = match(sentence, "^.*%s+is%s+()")
        local v = is and sub(sentence, is) or sentence
        local vs = i + (is or 1) - 1
        local inner = math_spans(v)
        if #inner == 1 and trim(gsub(v, "%$", "")) == trim(inner[1][1]) then
            v = inner[1][1]
        end
        v = gsub(v, "%$", "")
        if trim(v) ~= "" then return trim(v), "answer", vs, vs + #v - 1 end
    end
    local spans = math_spans(text)
    if #spans > 0 then
        local body, s, e = joined(spans, text)
        return trim(body), "math", s, e
    end
    local a, _, s, e = extract_mod.extract(text)
    if a then return a, "last_number", s, e end
    return nil, "no_answer"
end


-- answer_of(s): the answer in s, or s itself when it is a bare answer.
function M.answer_of(s)
    if type(s) ~= "string" then return nil end
    if find(s, "\\boxed", 1, true) or find(s, "\\fbox", 1, true)
       or find(lower(s), "answer", 1, true) then
        return (M.extract(s))
    end
    local spans = math_spans(s)
    if #spans > 0 then
        local outside = s
        for k = #spans, 1, -1 do
            outside = sub(outside, 1, spans[k][2] - 2) .. " " .. sub(outside, spans[k][3] + 2)
        end
        if prose(outside) then return (M.extract(s)) end
        -- "$21,16$ or $11$", "$125$ miles": the spans and their connectives
        return (gsub(gsub(s, "%$%$", " "), "%$", " "))
    end
    if prose(s) then return (M.extract(s)) end
    return s
end


-- Normalisation ----------------------------------------------------------------

local TEXT_CMDS = { text = true, mbox = true, textnormal = true, textrm = true,
    mathrm = true, textbf = true, mathbf = true, textit = true, mathit = true,
    emph = true, textsf = true, mathsf = true, operatorname = true }

local DROP = { left = "", right = "", displaystyle = "", textstyle = "", quad = " ",
    qquad = " ", dfrac = "\\frac", tfrac = "\\frac", cfrac = "\\frac", bigl = "",
    bigr = "", Bigl = "", Bigr = "", big = "", Big = "", dollar = "",
    degree = "", circ = "", ge = "\\geq", le = "\\leq", leqslant = "\\leq",
    geqslant = "\\geq", neq = "\\ne", lt = "<", gt = ">" }

function M.normalize(s)
    if type(s) ~= "string" then
        error("latex.normalize: string expected, got " .. type(s), 2)
    end
    s = gsub(s, "\\\\(%a)", "\\%1")                       -- "\\frac" -> "\frac"
    s = gsub(s, "\\\\", "\1")                              -- row breaks, kept aside
    s = gsub(s, ",\\!%s*", ",")                           -- 11,\! 111
    s = gsub(s, "\\[%(%)%[%]]", " ")
    s = gsub(s, "%$", " ")
    s = gsub(s, "\\boxed%s*(%b{})", function(b) return sub(b, 2, -2) end)
    -- text wrappers: a unit after a number goes (with its power), else words
    local function unit(num, cmd, body)
        local w = trim(sub(body, 2, -2))
        if TEXT_CMDS[cmd] and not find(body, "%d") and w ~= "and" and w ~= "or" then
            return num
        end
    end
    s = gsub(s, "(%d%s*)\\(%a+)%s*(%b{})%s*%^%s*{?%d+}?", unit)
    s = gsub(s, "(%d%s*)\\(%a+)%s*(%b{})", unit)
    s = gsub(s, "\\(%a+)%s*(%b{})", function(cmd, body)
        if TEXT_CMDS[cmd] then return " " .. sub(body, 2, -2) .. " " end
    end)
    s = gsub(s, "%^%s*{?%s*\\circ%s*}?", "")                    -- degrees
    s = gsub(s, "\\(%a+)", function(cmd)
        local r = DROP[cmd]
        if r then return r end
    end)
    s = gsub(s, "\\[!,;:]", " ")
    s = gsub(s, "\\ ", " ")
    s = gsub(s, "%^%s*{?%s*\\circ%s*}?", "")
    s = gsub(s, "\194\176", "")
    s = gsub(s, "\\%%", "")
    s = gsub(s, "%%", "")
    s = gsub(s, "\\%$", "")
    s = gsub(s, "\\frac%s*(%d)%s*(%d)", "\\frac{%1}{%2}")
    s = gsub(s, "\\frac%s*(%b{})%s*(%d)", "\\frac%1{%2}")
    s = gsub(s, "\\frac%s*(%d)%s*(%b{})", "\\frac{%1}%2")
    s = gsub(s, "\\sqrt%s*(%d+)", "\\sqrt{%1}")
    -- a mixed number: "15\frac{39}{40}" is 15 + 39/40
    s = gsub(s, "(%f[%w%.]%d+)\\frac{(%d+)}{(%d+)}", "(%1+\\frac{%2}{%3})")
    s = gsub(s, "\\sqrt%s+(%a)", "\\sqrt{%1}")
    -- unit words after a number at the end ("125 miles", "10 units")
    s = gsub(s, "^(%s*[%d%.,/%-]+)%s+%a[%a%s]*$", "%1")
    s = gsub(s, "%s+", " ")
    s = trim(s)
    s = gsub(s, "[%.]$", "")
    -- a single letter choice in parentheses: "(C)" -> "C"
    s = gsub(s, "^%((%u)%)$", "%1")
    s = gsub(s, "\1", "\\\\")
    return trim(s)
end


-- Structure ----------------------------------------------------------------------

-- Split s at top level (outside () [] {} and \left..\right) by separators.
local function split_top(s, seps)
    local parts, depth, last, i = {}, 0, 1, 1
    while i <= #s do
        local c = sub(s, i, i)
        if c == "(" or c == "[" or c == "{" then
            depth = depth + 1
        elseif c == ")" or c == "]" or c == "}" then
            depth = depth - 1
        elseif depth == 0 then
            for _, sep in ipairs(seps) do
                if sub(s, i, i + #sep - 1) == sep then
                    parts[#parts + 1] = sub(s, last, i - 1)
                    last = i + #sep
                    i = last - 1
                    break
                end
            end
        end
        i = i + 1
    end
    parts[#parts + 1] = sub(s, last)
    local out = {}
    for _, p in ipairs(parts) do
        p = trim(p)
        if p ~= "" then out[#out + 1] = p end
    end
    return out
end


-- Brackets balanced over the whole of s? ("(1,2)" yes, "(1)(2)" no)
local function wraps(s, open)
    local close = ({ ["("] = ")", ["["] = "]", ["{"] = "}" })[open]
    local depth = 0
    for i = 1, #s do
        local c = sub(s, i, i)
        if c == "(" or c == "[" or c == "{" then depth = depth + 1
        elseif c == ")" or c == "]" or c == "}" then
            depth = depth - 1
            if depth == 0 and i < #s then return false end
        end
    end
    return depth == 0 and sub(s, 1, 1) == open and close ~= nil
end


local RELATIONS = { { "\\leq", "<=" }, { "\\geq", ">=" }, { "<=", "<=" }, { ">=", ">=" },
                    { "\\ne", "!=" }, { "\\approx", "=" }, { "=", "=" }, { "<", "<" },
                    { ">", ">" }, { "\\in", "in" } }

-- Split at relation symbols (top level): parts, ops; nil when there is none.
local function split_relation(s)
    local parts, ops, depth, last, i = {}, {}, 0, 1, 1
    while i <= #s do
        local c = sub(s, i, i)
        if c == "(" or c == "[" or c == "{" then depth = depth + 1
        elseif c == ")" or c == "]" or c == "}" then depth = depth - 1
        elseif depth == 0 then
            for _, r in ipairs(RELATIONS) do
                local sym = r[1]
                if sub(s, i, i + #sym - 1) == sym
                   and not (sym:sub(1, 1) == "\\" and find(sub(s, i + #sym, i + #sym), "%a")) then
                    parts[#parts + 1] = trim(sub(s, last, i - 1))
                    ops[#ops + 1] = r[2]
                    last = i + #sym
                    i = last - 1
                    break
                end
            end
        end
        i = i + 1
    end
    if #ops == 0 then return nil end
    parts[#parts + 1] = trim(sub(s, last))
    return parts, ops
end


-- A name on the left of "=": letters, subscripts, |..|, a tuple of names.
local function is_name(s)
    s = gsub(gsub(s, "_%b{}", ""), "_%w", "")
    s = gsub(s, "\\%a+", "x")
    return s ~= "" and not find(s, "[%d%+%-%*/%^=]") and find(s, "%a") ~= nil
end


local parse_node


-- A matrix: rows of entries, or nil.
local function matrix(s)
    s = trim(s)
    local inner = match(s, "^%(%s*(\\begin.*\\end%s*{%a+})%s*%)$") or s
    inner = match(inner, "^%[%s*(\\begin.*\\end%s*{%a+})%s*%]$") or inner
    local env, body = match(inner, "^\\begin%s*{(%a+)}(.*)\\end%s*{%a+}$")
    if not env then return nil end
    if env == "array" then body = gsub(body, "^%s*%b{}", "") end
    local rows = {}
    for row in (body .. "\\\\"):gmatch("(.-)\\\\") do
        if trim(row) ~= "" then
            local cells = {}
            for cell in (row .. "&"):gmatch("(.-)&") do cells[#cells + 1] = trim(cell) end
            rows[#rows + 1] = cells
        end
    end
    return rows
end


-- parse_node(s) -> node: {kind = "list"|"tuple"|"set"|"matrix"|"rel"|"expr", ...}
function parse_node(s)
    s = trim(s)
    local m = matrix(s)
    if m then return { kind = "matrix", rows = m } end
    -- lists: ";" first (groups of solutions), then "or", then ",", "and", "\cup"
    local groups = split_top(s, { ";" })
    if #groups > 1 then
        local items = {}
        for _, g in ipairs(groups) do
            local n = parse_node(g)
            if n.kind == "list" then n = { kind = "tuple", open = "(", close = ")", items = n.items } end
            items[#items + 1] = n
        end
        return { kind = "list", items = items, unordered = true }
    end
    local ors = split_top(s, { " or ", "or(", ")or" })
    if #ors > 1 and find(s, "or", 1, true) then
        -- "(11,7)or(7,11)": put the brackets back
        local items = {}
        local fixed = gsub(gsub(s, "%)%s*or%s*%(", ") ; ("), "%s+or%s+", " ; ")
        for _, p in ipairs(split_top(fixed, { ";" })) do
            local n = parse_node(p)
            if n.kind == "list" then
                for _, x in ipairs(n.items) do items[#items + 1] = x end
            else
                items[#items + 1] = n
            end
        end
        return { kind = "list", items = items, unordered = true }
    end
    -- thousands commas are no separators
    local plain = gsub(s, "%s", "")
    if match(plain, "^%-?%d%d?%d?,%d%d%d[%d,]*%.?%d*$") and not find(plain, ",%d%d?%f[%D]")
       and not find(plain, ",%d%d%d%d") or match(plain, "^%d%d%d%d+,%d%d?$") then
        return { kind = "expr", src = s }
    end
    local items = split_top(s, { ",", " and ", "\\cup" })
    if #items > 1 or (#items == 1 and find(s, "^%s*and%s") ) then
        local list = { kind = "list", items = {} }
        for _, p in ipairs(items) do
            p = gsub(p, "^and%s+", "")
            local n = parse_node(p)
            if n.named then list.unordered = true end
            list.items[#list.items + 1] = n
        end
        return list
    end
    -- brackets: sets, tuples and intervals
    if sub(s, 1, 2) == "\\{" and sub(s, -2) == "\\}" then
        local n = parse_node(sub(s, 3, -3))
        local items = n.kind == "list" and n.items or { n }
        return { kind = "set", items = items }
    end
    if sub(s, 1, 1) == "{" and sub(s, -1) == "}" and wraps(s, "{") then
        local n = parse_node(sub(s, 2, -2))
        local items = n.kind == "list" and n.items or { n }
        return { kind = "set", items = items }
    end
    local o, c = sub(s, 1, 1), sub(s, -1)
    if (o == "(" or o == "[") and (c == ")" or c == "]") then
        local depth, ok = 0, true
        for i = 1, #s do
            local ch = sub(s, i, i)
            if ch == "(" or ch == "[" or ch == "{" then depth = depth + 1
            elseif ch == ")" or ch == "]" or ch == "}" then
                depth = depth - 1
                if depth == 0 and i < #s then ok = false; break end
            end
        end
        if ok then
            local inner = split_top(sub(s, 2, -2), { "," })
            if #inner > 1 then
                local items = {}
                for _, p in ipairs(inner) do items[#items + 1] = parse_node(p) end
                return { kind = "tuple", open = o, close = c, items = items }
            end
        end
    end
    -- \pm: a set of two
    local pa, pb = match(s, "^(.-)\\pm(.*)$")
    if pa and not find(pb, "\\pm", 1, true) then
        if trim(pa) == "" then
            return { kind = "set", items = { parse_node(pb), parse_node("-(" .. pb .. ")") } }
        end
        return { kind = "set", items = { parse_node(pa .. "+(" .. pb .. ")"),
                                         parse_node(pa .. "-(" .. pb .. ")") } }
    end
    -- relations
    local parts, ops = split_relation(s)
    if parts then
        if #parts == 3 and (ops[1] == "<" or ops[1] == "<=") and (ops[2] == "<" or ops[2] == "<=") then
            return { kind = "tuple", open = ops[1] == "<" and "(" or "[",
                     close = ops[2] == "<" and ")" or "]",
                     items = { parse_node(parts[1]), parse_node(parts[3]) }, chain = s }
        end
        local node = { kind = "rel", parts = parts, ops = ops, src = s }
        local all_eq = true
        for _, op in ipairs(ops) do if op ~= "=" then all_eq = false end end
        if #ops == 1 and ops[1] == "in" then all_eq = true end   -- "x \in [1, 2]"
        if all_eq and is_name(parts[1]) then
            node.value = parse_node(parts[#parts])
            node.named = true
        end
        return node
    end
    return { kind = "expr", src = s }
end


-- Expressions ----------------------------------------------------------------------

local FUNCS = {
    sin = math.sin, cos = math.cos, tan = math.tan,
    sec = function(x) return 1 / math.cos(x) end,
    csc = function(x) return 1 / math.sin(x) end,
    cot = function(x) return 1 / math.tan(x) end,
    arcsin = math.asin, arccos = math.acos, arctan = math.atan,
    ln = math.log, log = math.log, exp = math.exp,
    sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end,
    cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end,
}


-- Deterministic pseudo-random value for a name at a point.
local function hash(name, point)
    local h = 2166136261 + point * 7919
    for i = 1, #name do h = ((h ~ byte(name, i)) * 16777619) % 4294967296 end
    return h
end

local function var_value(name, point)
    return 0.6 + (hash(name, point) % 100000) / 100000 * 1.7   -- in (0.6, 2.3)
end

local function fn_value(name, x, point)
    local h = hash(name, point) % 1000 / 1000
    return math.sin(1.3 * x + 7 * h) + 1.5 + h
end


-- Tokens: {t = "num"|"id"|"cmd"|"op", v = ...}
local function tokenize(s)
    local toks, i = {}, 1
    while i <= #s do
        local c = sub(s, i, i)
        if find(c, "%s") then
            i = i + 1
        elseif find(c, "[%d%.]") then
            local num = match(s, "^%d*%.?%d+", i) or match(s, "^%d+%.?", i)
            if not num then error("bad number") end
            toks[#toks + 1] = { t = "num", v = tonumber(num), raw = num }
            i = i + #num
        elseif c == "\\" then
            local cmd = match(s, "^\\(%a+)", i)
            if not cmd then error("bad command") end
            toks[#toks + 1] = { t = "cmd", v = cmd }
            i = i + 1 + #cmd
        elseif find(c, "%a") then
            toks[#toks + 1] = { t = "id", v = c }
            i = i + 1
        elseif find(c, "[%+%-%*/%^_%(%){}%[%]|!,'=]") then
            toks[#toks + 1] = { t = "op", v = c }
            i = i + 1
        else
            error("unexpected " .. c)
        end
    end
    return toks
end


-- Evaluate the token list at a point. Raises on anything it cannot read.
local function evaluate(toks, point)
    local pos = 1
    local env = {}
    local function peek() return toks[pos] end
    local function take() pos = pos + 1; return toks[pos - 1] end
    local function is_op(t, v) return t and t.t == "op" and t.v == v end
    local function expect(v)
        local t = take()
        if not is_op(t, v) then error("expected " .. v) end
    end
    local expr, unary

    local function group()                     -- {expr} or a single token
        local t = peek()
        if is_op(t, "{") then
            take()
            local v = expr()
            expect("}")
            return v
        end
        return unary()
    end

    local function subscript_name()
        -- the subscript as a name part ("a_3", "F_{n-k}") and its value
        local t = peek()
        if is_op(t, "{") then
            take()
            local startp = pos
            local v = expr()
            local parts = {}
            for k = startp, pos - 1 do parts[#parts + 1] = tostring(toks[k].v) end
            expect("}")
            return v, concat(parts)
        end
        t = take()
        if not t then error("subscript") end
        if t.t == "num" then return t.v, t.raw end
        if t.t == "id" then return env[t.v] or var_value(t.v, point), t.v end
        error("subscript")
    end

    local function primary()
        local t = take()
        if not t then error("end of expression") end
        if t.t == "num" then
            if is_op(peek(), "_") then error("base subscript") end  -- 1112_3: literal
            return t.v
        end
        if t.t == "id" then
            if is_op(peek(), "_") then
                take()
                local v = subscript_name()
                return fn_value(t.v .. "_", v, point)
            end
            if t.v == "e" and not env.e then return math.exp(1) end
            if is_op(peek(), "(") and t.v:match("^[fghFGH]$") then
                take()
                local x = expr()
                expect(")")
                return fn_value(t.v, x, point)
            end
            return env[t.v] or var_value(t.v, point)
        end
        if t.t == "op" then
            if t.v == "(" or t.v == "[" then
                local v = expr()
                local c = take()
                if not (is_op(c, ")") or is_op(c, "]")) then error("unbalanced") end
                return v
            elseif t.v == "{" then
                local v = expr()
                expect("}")
                return v
            elseif t.v == "|" then
                local v = expr()
                expect("|")
                return abs(v)
            end
            error("unexpected " .. t.v)
        end
        -- commands
        local cmd = t.v
        if cmd == "frac" then
            local a = group()
            local b = group()
            return a / b
        elseif cmd == "sqrt" then
            local n = 2
            if is_op(peek(), "[") then
                take()
                n = expr()
                expect("]")
            end
            local v = group()
            if v < 0 and n == 2 then error("sqrt of negative") end
            return v ^ (1 / n)
        elseif cmd == "pi" then
            return math.pi
        elseif cmd == "infty" then
            return huge
        elseif cmd == "sum" or cmd == "prod" then
            expect("_")
            expect("{")
            local var = take()
            if not (var and var.t == "id") then error("sum variable") end
            expect("=")
            local lo = expr()
            expect("}")
            expect("^")
            local hi = group()
            local saved = env[var.v]
            local acc = cmd == "sum" and 0 or 1
            local startp = pos
            local endp
            lo, hi = floor(lo + 0.5), floor(hi + 0.5)
            if hi - lo > 10000 then error("sum too long") end
            for k = lo, hi do
                env[var.v] = k
                pos = startp
                local v = unary()
                while peek() and not is_op(peek(), "+") and not is_op(peek(), "-")
                      and not is_op(peek(), ")") and not is_op(peek(), "}")
                      and not is_op(peek(), "=") do
                    if is_op(peek(), "*") then take() end
                    v = v * unary()
                end
                endp = pos
                if cmd == "sum" then acc = acc + v else acc = acc * v end
            end
            if endp then pos = endp else
                -- empty range: skip the summand
                pos = startp
                unary()
            end
            env[var.v] = saved
            return acc
        elseif FUNCS[cmd] then
            local power
            if is_op(peek(), "^") then
                take()
                power = group()
            end
            local arg
            if is_op(peek(), "(") then
                take()
                arg = expr()
                expect(")")
            else
                arg = unary()
            end
            local v = FUNCS[cmd](arg)
            if power then v = v ^ power end
            return v
        elseif cmd == "cdot" or cmd == "times" then
            error("operator where a value was expected")
        elseif #cmd >= 2 then
            -- \alpha, \theta ...: a variable
            return env[cmd] or var_value("\\" .. cmd, point)
        end
        error("unknown command " .. cmd)
    end

    local function postfix()
        local v = primary()
        while true do
            if is_op(peek(), "!") then
                take()
                if v < 0 or v ~= floor(v) or v > 170 then error("factorial") end
                local r = 1
                for k = 2, v do r = r * k end
                v = r
            elseif is_op(peek(), "'") then
                error("prime")
            else
                return v
            end
        end
    end

    local function power()
        local v = postfix()
        if is_op(peek(), "^") then
            take()
            local p = group()
            return v ^ p
        end
        return v
    end

    function unary()
        local t = peek()
        if is_op(t, "-") then take(); return -unary() end
        if is_op(t, "+") then take(); return unary() end
        return power()
    end

    local function starts_factor(t)
        if not t then return false end
        if t.t == "num" or t.t == "id" then return true end
        if t.t == "cmd" then return t.v ~= "cdot" and t.v ~= "times" and t.v ~= "div" end
        return t.v == "(" or t.v == "{"
    end

    local function term()
        local v = unary()
        while true do
            local t = peek()
            if is_op(t, "*") or (t and t.t == "cmd" and (t.v == "cdot" or t.v == "times")) then
                take()
                v = v * unary()
            elseif is_op(t, "/") or (t and t.t == "cmd" and t.v == "div") then
                take()
                v = v / unary()
            elseif starts_factor(t) then
                v = v * power()
            else
                return v
            end
        end
    end

    function expr()
        local v = term()
        while true do
            local t = peek()
            if is_op(t, "+") then take(); v = v + term()
            elseif is_op(t, "-") then take(); v = v - term()
            else return v end
        end
    end

    local v = expr()
    if pos <= #toks then error("trailing input") end
    if v ~= v then error("not a number") end
    return v
end


-- Values of expression s at the three points, or nil.
local function values(s)
    local ok, toks = pcall(tokenize, s)
    if not ok then return nil end
    local out = {}
    for p = 1, 3 do
        local ok2, v = pcall(evaluate, toks, p)
        if not ok2 or type(v) ~= "number" then return nil end
        out[p] = v
    end
    return out
end


-- The decimal places a bare decimal literal is written with (2+), or nil.
local function places(s)
    local d = match(gsub(s, "%s", ""), "^%-?%d*%.(%d+)$")
    return d and #d >= 2 and #d or nil
end


local function close(x, y, d)
    if x == y then return true end
    if x ~= x or y ~= y or abs(x) == huge or abs(y) == huge then return false end
    if d then
        local f = 10 ^ d
        return abs(floor(x * f + 0.5) - floor(y * f + 0.5)) <= 0
    end
    return abs(x - y) <= 1e-6 * math.max(abs(x), abs(y), 1e-12)
end


local function expr_equal(a, b)
    if gsub(a, "%s", "") == gsub(b, "%s", "") then return true end
    local na, nb = numeric.normalize(a), numeric.normalize(b)
    if na and nb then
        if numeric.equal(a, b) then return true end
    end
    local va, vb = values(a), values(b)
    if not (va and vb) then return false end
    local da, db = places(a), places(b)
    for p = 1, 3 do
        if not close(va[p], vb[p], da or db) then return false end
    end
    return true
end


-- Is f a constant multiple of g over the points (positive when `positive`)?
local function proportional(fs, gs, positive)
    local ratio
    for p = 1, 3 do
        local f, g = fs[p], gs[p]
        if abs(g) < 1e-12 then
            if abs(f) > 1e-9 then return false end
        else
            local r = f / g
            if not ratio then ratio = r
            elseif abs(r - ratio) > 1e-6 * math.max(abs(r), abs(ratio)) then return false end
        end
    end
    if not ratio or abs(ratio) < 1e-12 then return false end
    return not positive or ratio > 0
end


-- Relations as "g > 0", "g >= 0" or "g = 0": op, expression.
local function canonical_relation(node)
    if #node.ops ~= 1 then
        local all_eq = true
        for _, op in ipairs(node.ops) do if op ~= "=" then all_eq = false end end
        if not all_eq then return nil end
    end
    local op, l, r = node.ops[1], node.parts[1], node.parts[#node.parts]
    if op == "=" then return "=", "(" .. l .. ")-(" .. r .. ")" end
    if op == "<" then return ">", "(" .. r .. ")-(" .. l .. ")" end
    if op == ">" then return ">", "(" .. l .. ")-(" .. r .. ")" end
    if op == "<=" then return ">=", "(" .. r .. ")-(" .. l .. ")" end
    if op == ">=" then return ">=", "(" .. l .. ")-(" .. r .. ")" end
    return nil
end


local node_equal

local function items_equal(xs, ys, unordered)
    if #xs ~= #ys then return false end
    if not unordered then
        for i = 1, #xs do
            if not node_equal(xs[i], ys[i]) then return false end
        end
        return true
    end
    local used = {}
    for i = 1, #xs do
        local found = false
        for j = 1, #ys do
            if not used[j] and node_equal(xs[i], ys[j]) then
                used[j], found = true, true
                break
            end
        end
        if not found then return false end
    end
    return true
end


local function value_of(n)
    if n.kind == "rel" and n.value then return value_of(n.value) end
    return n
end


function node_equal(a, b)
    if a.kind == "rel" and b.kind == "rel" then
        local oa, ea = canonical_relation(a)
        local ob, eb = canonical_relation(b)
        if oa and oa == ob then
            local fa, fb = values(ea), values(eb)
            if fa and fb and proportional(fa, fb, oa ~= "=") then return true end
        end
        if gsub(a.src, "%s", "") == gsub(b.src, "%s", "") then return true end
    end
    local va, vb = value_of(a), value_of(b)
    if va ~= a or vb ~= b then return node_equal(va, vb) end
    if a.kind == "list" and #a.items == 1 then return node_equal(a.items[1], b) end
    if b.kind == "list" and #b.items == 1 then return node_equal(a, b.items[1]) end
    -- one value stated in several forms ("15\frac{39}{40}, or \frac{639}{40}")
    for _, pair in ipairs({ { a, b }, { b, a } }) do
        local l, x = pair[1], pair[2]
        if l.kind == "list" and x.kind ~= "list" and x.kind ~= "set" then
            local same = true
            for i = 2, #l.items do
                if not node_equal(l.items[1], l.items[i]) then same = false; break end
            end
            if same then return node_equal(l.items[1], x) end
        end
    end
    if a.kind == "list" and b.kind == "list" then
        return items_equal(a.items, b.items, a.unordered or b.unordered)
    end
    if (a.kind == "set" or a.kind == "list") and (b.kind == "set" or b.kind == "list") then
        return items_equal(a.items, b.items, true)
    end
    if a.kind == "tuple" and b.kind == "tuple" then
        return a.open == b.open and a.close == b.close and items_equal(a.items, b.items, false)
    end
    if a.kind == "matrix" and b.kind == "matrix" then
        if #a.rows ~= #b.rows then return false end
        for i = 1, #a.rows do
            if #a.rows[i] ~= #b.rows[i] then return false end
            for j = 1, #a.rows[i] do
                if not expr_equal(a.rows[i][j], b.rows[i][j]) then return false end
            end
        end
        return true
    end
    if a.kind == "expr" and b.kind == "expr" then return expr_equal(a.src, b.src) end
    return false
end


-- equal(a, b) -> boolean
function M.equal(a, b)
    if a == nil or b == nil then return false end
    local xa, xb = M.answer_of(a), M.answer_of(b)
    if not (xa and xb) then return false end
    local na, nb = M.normalize(xa), M.normalize(xb)
    if na == "" or nb == "" then return false end
    if gsub(na, "%s", "") == gsub(nb, "%s", "") then return true end
    local ok, r = pcall(function() return node_equal(parse_node(na), parse_node(nb)) end)
    return ok and r or false
end


return M
