-- evals/extract.lua: finding the final answer in a model's response.
--
--   split_reasoning(content, thinking) -> answer_text, reasoning, status, offset
--   answer_text(content)   -> answer_text, status, offset  (no reasoning built)
--   extract(text [, opts]) -> answer, rule, s, e   or  nil, reason [, s, e]
--   strict(text [, opts])  -> answer               or  nil
--   cut_runon(text [, question [, full]]) -> text, cut_at, why
--
-- Answers are returned raw ("$1,234.50", "18 \text{ dollars}", "2.5 million");
-- numeric.lua normalises them. s and e are the byte positions (inclusive) of
-- the answer in text; offset is where answer_text starts in content, less 1.
-- opts (all optional): question = the problem statement (its numbers are
-- givens, its "how many X" the asked quantity); trace = a table that
-- extract fills with what it considered (explain.lua prints it):
-- trace.cut = {at, why}, trace.candidates = {{rule, raw, s, e, why}...},
-- trace.winner = index, trace.reason; full = true runs every rule's own
-- test, without the shortcuts below (tests compare the two).
--
-- Cost (grading runs once per sample, so it is on the hot path): every rule
-- is looked for only when a plain find shows its trigger ("####", "nswer",
-- "A:", "\\", "**", '":'); patterns are anchored at a known position, never
-- run over the whole text (an unanchored pattern costs a pass per start
-- byte); lines come from the newline positions cut_runon records while it
-- walks the text once (NL); the question is read only when a rule asks for
-- its givens or noun. Shortcuts, each a necessary condition checked on a few
-- bytes before the rule's own test (off with opts.full): hedged() needs a
-- letter, space or dash beside the value, or "etween" before it;
-- cut_runon's repeat checks need the question's first bytes in the text or
-- a final "?"; strict() after extract() on the same text reuses its cut
-- when the question played no part, and then its answer too: strict's
-- candidates are extract's markers and the "answer is" values a number
-- gives right after the anchor (candidate.direct), so strict costs a
-- comparison. The bold pattern is tried only where a plain find puts a
-- "**"; the question is read (read_question) only when a rule asks.
--
-- How extract decides (peers.md §6; lm-eval #3438, #1204, #3214):
-- 1. Run-ons are cut first (cut_runon): "<|im_end|>", "<|eot_id|>", "</s>" and
--    other end-of-turn tokens end the response; so does an invented next turn
--    ("User:", "Human:", "### Instruction" at the start of a line). A line
--    starting "Question:", "Q:", "Problem:" that comes after an answer anchor
--    or after working ("9 * 2 = 18") starts an invented next problem (lm-eval
--    stops generation there); after them, a final paragraph that is a
--    question (ends in "?"), or a line that starts with the question's first
--    40 bytes and goes on to its last 30, repeats the question. Before any
--    working, a restated question is kept.
-- 2. Every anchored rule is searched. Each match becomes a candidate at the
--    position where its value starts; the candidate LAST in the text wins
--    (self-corrections and recited few-shot answers come earlier), ties go to
--    the rule listed first in M.RULES.
--      json          {"answer": "120"} (also final_answer, result): a
--                    structured answer, often in a fenced block
--      marker        "#### N"
--      answer_is     "The answer is N", "The final answer is N" (any case)
--      answer_colon  "Answer: N", "ANSWER: N", "A: N" at the start of a line
--      boxed         "\boxed{...}", "\fbox{...}" (balanced braces)
--      final_line    "Final answer: N", "**Final Answer:** N", and headings
--                    "### Final Answer\n\nJanet makes $18." (the next line)
--      bold          "**$18**", "**18 dollars**", "**Total: 18**", only when
--                    no digit follows it anywhere in the text
--    After a text anchor the value is the number right after it, unless that
--    number starts an expression ("Answer: 3 * 6 = 18"); then it is picked
--    from the same line (for answer_is: the same sentence) as in rule 5.
--    The value may be a number word ("The answer is eighteen"), carry a
--    scale word ("2.5 million"), a power ("1.5 x 10^6", "2^10", "3e5") or be
--    a clock time ("2:00 pm", read as hours by numeric.lua).
--    An anchor whose value is an explicit non-answer ("unknown", "cannot be
--    determined", "not enough information"; any non-numeric json value) is
--    a candidate too: when it wins, there is no answer ("not_a_number"),
--    not a number fished out of the reasoning.
-- 3. The winner must be the single committed answer:
--    - "conflict": an earlier candidate with a different value, with no
--      working and no correction word ("wait", "actually", "mistake",
--      "recheck", ...) between the two: two final answers, not a
--      self-correction. Likewise an answer line right after a line of
--      working that ends at its result "= X" when the answer is neither X,
--      nor X rounded, nor X in another unit (x or / 10, 100, 1000, 60, 3600,
--      24, 7, 12, 52, 365, 16, 3), nor stated on that line
--      ("... 9 * 2 = 20\nAnswer: 18").
--    - "hedged": the value is one of alternatives or a range ("18 or 19",
--      "between 18 and 20", "18 to 20", "about 18-19"). "about 18" commits.
--    - "several": the value is one of several quantities ("45,27": a comma
--      that is no thousands separator; "15 sheep and 5 geese"), unless the
--      question's "how many X" names one of them; a question asking for a
--      total is never answered by its parts. One measure in two units
--      ("2 hours and 30 minutes", "18 dollars and 50 cents") is no list: its
--      first number stands.
-- 4. No anchor, and the response stops mid-working ("truncated"): it ends in
--    an operator, "=", an open bracket or calculator note "<<", an unclosed
--    "\(", a dangling word ("the", "of", "is", "with no", ...), an anchor
--    without its value ("... The answer"), or an expression whose last
--    operand is the last number ("$41.472+$8."). Its last number is no
--    stated answer.
-- 5. No anchor: the concluding sentence. When it states several numbers,
--    the answer is the one followed by the asked noun, else the one the
--    working last computed ("= X", or X rounded to a whole number), else the
--    last one that is not a given of the question; so a given restated after
--    the answer ("... 2 weeks to save the $10,000") is passed over
--    ("conclusion"). Otherwise it is the last number ("last_number"),
--    skipping digits glued to a preceding letter ("AZYUK2A", "x2"). A hedge
--    there is "hedged" too. Nothing: "no_answer".

local numeric = require "evals.numeric"

local M = {}

local byte, find, match, sub, lower, gsub = string.byte, string.find, string.match,
                                            string.sub, string.lower, string.gsub
local type, error, ipairs, tonumber = type, error, ipairs, tonumber
local setmetatable, rawget = setmetatable, rawget
local floor = math.floor

M.RULES = { "json", "marker", "answer_is", "answer_colon", "boxed", "final_line",
            "bold", "conclusion", "last_number" }
M.REASONS = { "no_answer", "not_a_number", "conflict", "hedged", "several",
              "truncated" }
local PRIORITY = {}
for i, r in ipairs(M.RULES) do PRIORITY[r] = i end

local MINUS, EN_DASH = "\226\136\146", "\226\128\147"    -- U+2212, U+2013


-- Reasoning ------------------------------------------------------------------

-- Whitespace bytes as %s sees them (C locale: \t \n \v \f \r and space).
local SPACE = { [9] = true, [10] = true, [11] = true, [12] = true, [13] = true,
                [32] = true }


-- The last byte position at or before hi that is not whitespace, or 0. A
-- byte loop from the end: trailing whitespace is short, and patterns such
-- as "^.*()%S" cost a pass over the whole text.
local function last_nonspace(s, hi)
    while hi > 0 and SPACE[byte(s, hi)] do hi = hi - 1 end
    return hi
end


-- Trim without "^%s*(.-)%s*$", which is slow on long texts. Also returns
-- how many bytes were dropped in front.
local function trim(s)
    local a
    if SPACE[byte(s, 1)] then a = find(s, "%S") elseif s ~= "" then a = 1 end
    if not a then return "", 0 end
    local b = #s
    if SPACE[byte(s, b)] then b = last_nonspace(s, b) end
    if a == 1 and b == #s then return s, 0 end
    return sub(s, a, b), a - 1
end


-- s without trailing space.
local function rtrim(s)
    local n = #s
    local b = last_nonspace(s, n)
    if b == n then return s end
    return sub(s, 1, b)
end


-- Last plain occurrence of needle in s, or nil.
local function find_last(s, needle)
    local last, init = nil, 1
    while true do
        local a = find(s, needle, init, true)
        if not a then return last end
        last, init = a, a + 1
    end
end


-- The answer part alone: answer_text, status, offset, and where the last
-- "<think>" and "</think>" are (nil when absent).
local function answer_part(content)
    -- no "<": no "<think>" or "</think>" (a rarer byte than "t" to look for)
    if not find(content, "<", 1, true) or not find(content, "think>", 1, true) then
        local t, off = trim(content)
        return t, "ok", off
    end
    local open, close = find_last(content, "<think>"), find_last(content, "</think>")
    if open and (not close or open > close) then
        return "", "unclosed", #content, open, close
    end
    if not close then
        local t, off = trim(content)
        return t, "ok", off, open
    end
    local t, off = trim(sub(content, close + 8))
    return t, "ok", close + 7 + off, open, close
end


-- split_reasoning(content, thinking) -> answer_text, reasoning, status, offset
-- Ollama's separate `thinking` field is the reasoning as is. In content,
-- "<think>...</think>" is removed; text after the last "</think>" is the
-- answer even without an opening tag (a chat template that pre-fills
-- "<think>"). A "<think>" that never closes gives answer_text "" and status
-- "unclosed": no answer is taken from half-finished thoughts. answer_text is
-- content:sub(offset + 1, offset + #answer_text).
function M.split_reasoning(content, thinking)
    if content ~= nil and type(content) ~= "string" then
        error("split_reasoning: content must be a string, got " .. type(content), 2)
    end
    content = content or ""
    local reasoning = (type(thinking) == "string" and thinking ~= "") and thinking
                      or nil
    local t, status, off, open, close = answer_part(content)
    if status == "unclosed" then
        local r = sub(content, open + 7)
        return "", reasoning and (reasoning .. "\n" .. r) or r, "unclosed", off
    end
    if not close then return t, reasoning, "ok", off end
    local inner = sub(content, 1, close - 1)
    inner = match(inner, "^%s*<think>(.*)$") or inner
    return t, reasoning and (reasoning .. "\n" .. inner) or inner, "ok", off
end


-- answer_text(content) -> answer_text, status, offset: split_reasoning
-- without building the reasoning (the graders need only the answer).
function M.answer_text(content)
    if type(content) ~= "string" then
        if content == nil then content = ""
        else error("answer_text: content must be a string, got " .. type(content), 2) end
    end
    local t, status, off = answer_part(content)
    return t, status, off
end


-- Numbers --------------------------------------------------------------------

-- The newline positions of the text cut_runon returned last (NL.text):
-- NL[1..NL.n]. Lines are then found without searching the text again.
local NL = { n = 0 }

-- The last cut_runon: its input, result, and whether the question played
-- no part (so strict(), which passes none, reuses it).
local LAST_CUT = {}

-- strict's answer for the text extract saw last (input), when the cut was
-- the same without the question: strict() right after extract() returns it.
local LAST_STRICT = {}


local function is_digit(c) return c and c >= 48 and c <= 57 end
local function is_alpha(c)
    return c and ((c >= 65 and c <= 90) or (c >= 97 and c <= 122))
end


-- Sign and currency right after position i: returns the index after them.
local function skip_sign_currency(text, i)
    local c = byte(text, i)
    if c and c >= 48 and c <= 57 then return i end               -- a digit: none
    if c == 45 or c == 43 then                                   -- - +
        i = i + 1
    elseif c == 226 and (sub(text, i, i + 2) == MINUS
                         or sub(text, i, i + 2) == EN_DASH) then
        i = i + 3
    end
    c = byte(text, i)
    if c == 36 then                                              -- $
        i = i + 1
    elseif c == 92 and byte(text, i + 1) == 36 then              -- \$
        i = i + 2
    elseif c == 226 and sub(text, i, i + 2) == "\226\130\172" then -- euro
        i = i + 3
    elseif c == 194 and byte(text, i + 1) == 163 then             -- pound
        i = i + 2
    end
    c = byte(text, i)
    if c == 45 then i = i + 1 end                                -- $-5
    return i
end


-- Powers and scientific notation after a number ending at e - 1: returns
-- the index after them (e when there are none).
local function exponent_at(text, e)
    local c = byte(text, e)
    if c == 101 or c == 69 then                                  -- 1.5e6
        local g = match(text, "^[eE][+-]?%d+()", e)
        if g and not is_alpha(byte(text, g)) then return g end
        return e
    end
    if c == 94 then                                              -- 2^10, 2^{10}
        return match(text, "^%^{?%d+}?()", e) or e
    end
    -- 1.5 x 10^6, 1.5 × 10^6, 1.5*10^6, 1.5 \times 10^{6}, 3·10^4, 3 \cdot 10^4
    local j = e
    while byte(text, j) == 32 do j = j + 1 end
    c = byte(text, j)
    if not (c == 120 or c == 42 or c == 92 or c == 194 or c == 195) then return e end
    local g = match(text, "^%s*[x%*]%s*()10%^", e)
              or match(text, "^%s*\195\151%s*()10%^", e)
              or match(text, "^%s*\194\183%s*()10%^", e)
              or match(text, "^%s*\\times%s*()10%^", e)
              or match(text, "^%s*\\cdot%s*()10%^", e)
    if g then return match(text, "^10%^{?[+-]?%d+}?()", g) or e end
    return e
end


-- Bytes after a run of digits that may continue the number (groups, decimals,
-- a clock time, exponents, a fraction, a percent, a scale word); after any
-- other byte, or a "." without a digit, the digits are the number.
local NUMBER_GOES_ON = {}
for _, b in ipairs({ 44, 226, 46, 58, 101, 69, 94, 32, 120, 42, 92, 194, 195, 47, 37 }) do
    NUMBER_GOES_ON[b] = true
end

local SCALE_WORDS = { thousand = true, million = true, billion = true, trillion = true }
local SCALE_FIRST = { [116] = true, [109] = true, [98] = true, [84] = true, [77] = true,
                      [66] = true }                                 -- t m b T M B


-- Number words at i ("eighteen", "two and a half thousand"): raw end or nil.
local function words_at(text, i)
    if not is_alpha(byte(text, i)) then return nil end
    local w = sub(text, i, i + 79)
    local d, rest = numeric.words(w)
    if not d then return nil end
    local raw = match(sub(w, 1, #w - #rest), "^(.-)[%s%-]*$")
    if match(rest, "^%s+of%f[%A]") then return nil end           -- "one of them"
    return i + #raw - 1
end


-- The number starting at i (after sign and currency): returns raw, last
-- index; nil if there is none. Takes "1,234.50", "12,\!000", "1/2",
-- "28%", "\frac{1}{2}", ".5", "2:00 pm", "1.5 x 10^6", "2.5 million", and
-- number words when words is set.
local function number_at(text, i, allow_words)
    local c, j = byte(text, i), i
    if not (c and c >= 48 and c <= 57) then               -- a digit: no sign, no currency
        j = skip_sign_currency(text, i)
        c = byte(text, j)
    end
    if c == 92 then                                               -- backslash
        local w = sub(text, j, j + 199)
        local e = match(w, "^\\[dtc]?frac%s*%b{}%s*%b{}()")
                  or match(w, "^\\[dtc]?frac%d%d()")
        if e then return sub(text, i, j + e - 2), j + e - 2 end
        return nil
    end
    local e
    if c and c >= 48 and c <= 57 then e = match(text, "^%d+()", j)
    elseif c == 46 then e = match(text, "^%.%d+()", j) end
    if not e then
        if allow_words and j == i then
            local we = words_at(text, i)
            if we then return sub(text, i, we), we, true end     -- (words)
        end
        return nil
    end
    c = byte(text, e)
    if not NUMBER_GOES_ON[c] or (c == 46 and not is_digit(byte(text, e + 1))) then
        return sub(text, i, e - 1), e - 1                         -- "18", "18.", "18\n"
    end
    while true do                                  -- thousands groups
        c = byte(text, e)
        local g
        if c == 44 then
            g = match(text, "^,%d%d%d()", e) or match(text, "^,\\!%s?%d%d%d()", e)
        elseif c == 226 then
            g = match(text, "^\226\128[\137\175]%d%d%d()", e)
        end
        if not g or is_digit(byte(text, g)) then break end
        e = g
    end
    local dec = c == 46 and match(text, "^%.%d+()", e)
    if dec then
        e = dec
    elseif c == 58 then
        local t = match(text, "^:%d%d()", e)                        -- 2:00 pm
        if t and not is_digit(byte(text, t)) then
            e = match(text, "^%s*[aApP]%.[mM]%.()", t) or match(text, "^%s*[aApP][mM]()", t) or t
            return sub(text, i, e - 1), e - 1
        end
    end
    e = exponent_at(text, e)
    c = byte(text, e)
    if c == 47 then e = match(text, "^/%d+()", e) or e; c = byte(text, e) end
    if c == 92 or c == 37 then e = match(text, "^\\?%%()", e) or e; c = byte(text, e) end
    if c == 32 and SCALE_FIRST[byte(text, e + 1)] then
        local w, we = match(text, "^%s+(%a+)()", e)                 -- 2.5 million
        if w and SCALE_WORDS[lower(w)] then e = we end
    end
    return sub(text, i, e - 1), e - 1
end


-- prefix_start(t, s, lo) -> where the number starting at s begins with its
-- currency and sign in front ("$18", "\\$5", "€3", "-$5", "−3"), not before
-- lo; a minus after a digit, a letter or ")" is an operator (3-5, x-5, )-5).
local function prefix_start(t, s, lo)
    local p = s
    if byte(t, p - 1) == 36 and p - 1 >= lo then
        p = p - 1
        if byte(t, p - 1) == 92 then p = p - 1 end
    elseif p > 3 and sub(t, p - 3, p - 1) == "\226\130\172" then
        p = p - 3
    end
    local sign = 0
    if byte(t, p - 1) == 45 then sign = 1
    elseif p > 3 and sub(t, p - 3, p - 1) == MINUS then sign = 3 end
    if sign > 0 and p - sign >= lo then
        local before = byte(t, p - sign - 1)
        if not (is_digit(before) or is_alpha(before) or before == 41) then p = p - sign end
    end
    return p
end

-- Every number in text[lo..hi], in order: {raw, s, e}. Digits glued to a
-- preceding letter do not count.
local numbers_in_window

local function numbers_in(text, lo, hi)
    if lo == 1 and hi == #text then return numbers_in_window(text, 1, hi) end
    local out = numbers_in_window(sub(text, lo, hi), 1, hi - lo + 1)
    for k = 1, #out do local n = out[k]; n[2], n[3] = n[2] + lo - 1, n[3] + lo - 1 end
    return out
end

function numbers_in_window(text, lo, hi)
    local out, i = {}, lo
    while true do
        local d = find(text, "%d", i)
        if not d or d > hi then return out end
        local s = d
        if byte(text, d - 1) == 46 and d - 1 >= lo then s = d - 1 end  -- .5
        if d > lo and is_alpha(byte(text, d - 1)) then
            i = (match(text, "^%d+()", d) or d + 1)
        else
            local p = prefix_start(text, s, lo)
            local raw, e = number_at(text, s)
            if not raw then
                e = match(text, "^%d+()", d) - 1
                raw = sub(text, s, e)
            end
            if e > hi then e = hi; raw = sub(text, s, e) end
            -- "$" and sign are kept in the raw answer, as before
            out[#out + 1] = { sub(text, p, s - 1) .. raw, p, e }
            i = e + 1
        end
    end
end


-- The last number in text[lo..hi]: raw, start. Digits glued to a preceding
-- letter do not count. Linear in hi - lo + 1, however many numbers it skips.
local function last_number(text, lo, hi)
    local t, base = text, 0
    if lo > 1 or hi < #text then t, base = sub(text, lo, hi), lo - 1 end
    local d = #t
    while d > 0 and not is_digit(byte(t, d)) do d = d - 1 end
    if d == 0 then d = nil end
    while d do
        local s = d
        while s > 1 do
            local c = byte(t, s - 1)
            if is_digit(c) or c == 44 or c == 46 or c == 47 then s = s - 1
            else break end
        end
        -- no leading ',' or '/', and '.' only as in ".5"
        while s < d do
            local c = byte(t, s)
            if c == 44 or c == 47 or (c == 46 and not is_digit(byte(t, s + 1))) then
                s = s + 1
            else
                break
            end
        end
        if s > 1 and is_alpha(byte(t, s - 1)) then
            d = nil                        -- "x2", "AZYUK2A": the digit before
            for q = s - 2, 1, -1 do
                if is_digit(byte(t, q)) then d = q; break end
            end
        else
            local p = prefix_start(t, s, 1) -- "$18", "-$5", "−3"
            local e = d
            if byte(t, e + 1) == 37 then e = e + 1 end            -- 28%
            -- a clock time "2:30" or a scale word "2.5 million" ending here
            local cs                                              -- "()%d%d?:%d%d$"
            if e >= 4 and byte(t, e - 2) == 58 and is_digit(byte(t, e)) and is_digit(byte(t, e - 1))
               and is_digit(byte(t, e - 3)) then
                cs = (e > 4 and is_digit(byte(t, e - 4))) and e - 4 or e - 3
            end
            if cs and cs >= p - 3 then
                local ce = match(t, "^%s*[aApP]%.[mM]%.()", e + 1) or match(t, "^%s*[aApP][mM]()", e + 1)
                if cs < p then p = cs end
                if ce then e = ce - 1 end
            elseif SPACE[byte(t, e + 1)] then
                local w, we = match(t, "^%s+(%a+)()", e + 1)
                if w and SCALE_WORDS[lower(w)] then e = we - 1 end
            end
            return sub(t, p, e), p + base
        end
    end
    return nil
end


-- The question: its numbers (normalised, a set) and the noun of "how many X".
local SKIP_NOUN = { more = true, fewer = true, less = true, extra = true,
                    additional = true, total = true, whole = true, full = true,
                    of = true, ["in"] = true }

local last_question, last_read

-- The question is read only when a rule asks for givens, noun or total:
-- most answers have an anchor with one number and never do.
local LAZY_QUESTION = {
    __index = function(t, k)
        if k ~= "givens" and k ~= "noun" and k ~= "total" then return nil end
        local r = M._read_question(rawget(t, 1))
        t.givens, t.noun, t.total = r.givens, r.noun or false, r.total or false
        return rawget(t, k)
    end,
}

-- One question is kept (the item being graded): a table keyed by question
-- would hash every new question in full.
local function read_question(q)
    if type(q) ~= "string" or q == "" then return nil end
    if q == last_question then return last_read end
    last_question, last_read = q, setmetatable({ q }, LAZY_QUESTION)
    return last_read
end


-- (uncached)
function M._read_question(q)
    local givens = {}
    for n in string.gmatch(q, "%d[%d,]*%.?%d*") do
        local v = numeric.normalize((gsub(gsub(n, "[,.]$", ""), ",", "")))
        if v then givens[v] = true end
    end
    local lq = lower(q)
    local noun
    local a = find(lq, "how many ", 1, true)
    while a do
        local pos = a + 9
        while true do
            local w, b = match(lq, "^(%a+)%s*()", pos)
            if not w then break end
            if not SKIP_NOUN[w] then noun = w; break end
            pos = b
        end
        a = find(lq, "how many ", a + 9, true)
    end
    local total = find(lq, "total", 1, true) or find(lq, "together", 1, true)
                  or find(lq, "in all", 1, true) or find(lq, "combined", 1, true)
                  or find(lq, "%f[%a]sum%f[%A]")
    return { givens = givens, noun = noun and (gsub(noun, "s$", "")), total = total and true }
end


-- The word right after a number ending at e, singular, lowered.
local function noun_after(text, e)
    local w = match(text, "^%s*(%a+)", e + 1)
    return w and (gsub(lower(w), "s$", ""))
end


-- The last computed result before position lo: the X of the last "= X".
-- (".*=%s*%$?(...)" in one match, but tried only at each "=", last first.)
local eq_at = {}

local function last_result(text, lo)
    local a = lo > 600 and lo - 600 or 1
    local w = sub(text, a, lo - 1)
    local n, p = 0, find(w, "=", 1, true)
    while p do
        n = n + 1
        eq_at[n] = p
        p = find(w, "=", p + 1, true)
    end
    for k = n, 1, -1 do
        local r = match(w, "^=%s*%$?(%-?%d[%d,]*%.?%d*)", eq_at[k])
        if r then return numeric.normalize((gsub(r, "%.$", ""))) end
    end
    return nil
end


-- The last position of the byte string ch in text[lo..hi], or nil.
local function last_in(text, ch, lo, hi)
    local last, p = nil, find(text, ch, lo, true)
    while p and p <= hi do
        last = p
        p = find(text, ch, p + 1, true)
    end
    return last
end


-- The answer among the numbers of text[lo..hi] (a concluding sentence or an
-- anchor's line): raw, s, e, how. One number: it. Several: the one with the
-- asked noun, else the working's last result, else the last non-given.
local function pick(text, lo, hi, q)              -- q: the question string or nil
    local eq = last_in(text, "=", lo, hi)                        -- "^.*()="
    if eq then
        local after = numbers_in(text, eq + 1, hi)
        if #after > 0 then lo = eq + 1 end
    end
    local nums = numbers_in(text, lo, hi)
    if #nums == 0 then return nil end
    local last = nums[#nums]
    if #nums == 1 then return last[1], last[2], last[3], "only" end
    if q then q = read_question(q) end          -- the question string: read now
    if q and q.noun then
        for k = #nums, 1, -1 do
            if noun_after(text, nums[k][3]) == q.noun then
                return nums[k][1], nums[k][2], nums[k][3], "asked noun"
            end
        end
    end
    local r = last_result(text, lo)
    if r then
        -- the result as computed, else rounded to a whole number ("= 2.2",
        -- "so 2 trays")
        local rv = tonumber(r) or 0
        for pass = 1, 2 do
            for k = #nums, 1, -1 do
                local v = numeric.normalize(nums[k][1])
                local nv = v and tonumber(v)
                if v == r or (pass == 2 and nv and rv ~= floor(rv)
                              and (nv == floor(rv) or nv == floor(rv) + 1)) then
                    return nums[k][1], nums[k][2], nums[k][3], "last result"
                end
            end
        end
    end
    if q then
        for k = #nums, 1, -1 do
            local v = numeric.normalize(nums[k][1])
            if v and not q.givens[v] then
                return nums[k][1], nums[k][2], nums[k][3], "not a given"
            end
        end
    end
    return last[1], last[2], last[3], "last"
end


-- Values after anchors -------------------------------------------------------

-- "{...}" with balanced braces starting at o, at most 1000 bytes long.
local function braced(text, o)
    return match(sub(text, o, o + 999), "^%b{}")
end


-- Does an expression continue at i ("3 * 6 = 18", "5 − 2")? Same line only.
local function operator_follows(text, i)
    local j, c = i, byte(text, i)
    if c == 32 or c == 9 then
        j = match(text, "^[ \t]*()", i)
        c = byte(text, j)
    end
    if not c or c == 10 or c == 46 then return false end  -- end, newline, "."
    if c == 42 then return byte(text, j + 1) ~= 42 end    -- "*", not "**" (bold)
    if c == 43 or c == 45 or c == 47 or c == 61 then return true end  -- + - / =
    local u = sub(text, j, j + 1)
    return u == "\195\151" or u == "\195\183" or sub(text, j, j + 2) == MINUS
end


-- Explicit non-answers after an anchor.
local NON_ANSWERS = { "unknown", "cannot be determined", "can't be determined",
                      "can not be determined", "not enough information",
                      "insufficient information", "not determinable", "indeterminate",
                      "undefined", "no solution", "not possible", "impossible",
                      "n/a", "none" }

local function non_answer(text, j, stop)
    local w = lower(sub(text, j, stop))
    w = match(w, "^[%s%*_\"'`$]*(.-)$")
    for k = 1, #NON_ANSWERS do
        local p = NON_ANSWERS[k]
        if sub(w, 1, #p) == p then return true end
    end
    return false
end


-- The value that follows an anchor ending at i: raw, s, e; nil if none;
-- false (and s) for an explicit non-answer. stop is the end of the anchor's
-- line or sentence. With `immediate` only a number right after the anchor
-- counts (markers, strict mode); otherwise a missing number or an
-- expression falls back to pick() over text[j..stop].
local function value_after(text, i, stop, immediate, q, heading)
    local j = match(text, "^[ \t%*_:]*()", i)       -- spaces, bold, colon
    if j > stop then                                  -- "Final Answer:\n\n18"
        j = match(text, "^%s*[%*_]*()", j)
        if heading then
            -- a heading: its value is the next line, a number or a sentence
            stop = match(text, "^[^\n]*()", j) - 1
        else
            immediate = true
        end
    end
    -- math delimiters: "\(18\)", "\[ 18 \]", "$\boxed{18}$", "$$18$$"
    local c, k = byte(text, j), j
    if c == 92 then k = match(text, "^\\[%(%[]%s*()", j) or j
    elseif c == 36 then k = match(text, "^%$+()[\\%s]", j) or j end
    if k ~= j then c = byte(text, k) end
    if c == 92 and sub(text, k, k + 5) == "\\boxed" then
        local o = match(text, "^%s*(){", k + 6)
        local body = o and braced(text, o)
        if body then
            local t, off = trim(sub(body, 2, -2))
            return t, o + 1 + off, o + off + #t, true
        end
    end
    local raw, e, words = number_at(text, k, not immediate)
    if raw and not operator_follows(text, e + 1) then return raw, k, e, not words end
    if immediate then return nil end
    local r, s, e2 = pick(text, j, stop, q)
    if r then return r, s, e2 end
    if non_answer(text, j, stop) then return false, j, stop end
    return nil
end


-- Lines and sentences are looked at up to WINDOW bytes past the anchor, so
-- a degenerate response ("Answer: y Answer: y ..." without newlines) stays
-- linear.
local WINDOW = 400


local function line_end(text, i)
    local nl
    if NL.text == text then                       -- the first newline at or after i
        local k = NL.n
        while k > 0 and NL[k] >= i do nl = NL[k]; k = k - 1 end
    else
        nl = find(text, "\n", i, true)
    end
    local last = i + WINDOW - 1
    if nl and nl - 1 <= last then return nl - 1 end
    return last < #text and last or #text
end


local function sentence_end(text, i)
    local n = #text
    if n - i < WINDOW and NL.text == text and i <= n then
        -- near the end (the usual answer): the newline from NL, the first
        -- ". " before it by plain finds, no copy of the window
        local nl
        local k = NL.n
        while k > 0 and NL[k] >= i do nl = NL[k]; k = k - 1 end
        local lim = nl or n
        local p = find(text, ".", i, true)
        while p and p < lim do
            if SPACE[byte(text, p + 1)] then return p end
            p = find(text, ".", p + 1, true)
        end
        return nl and nl - 1 or n
    end
    local w = sub(text, i, i + WINDOW - 1)
    local e = find(w, "\n", 1, true)
    local dot = find(w, "%.%s")
    if dot and (not e or dot < e) then return i - 1 + dot end
    return i - 1 + (e and e - 1 or #w)
end


-- Candidates -----------------------------------------------------------------

-- Every candidate is kept (for the conflict check and explain's trace).
local function offer(list, rule, raw, s, e, stop)
    if raw == nil or raw == "" then return end
    -- raw false: an explicit non-answer ("unknown") at s..e
    list[#list + 1] = { rule = rule, raw = raw ~= false and raw or nil, s = s, e = e,
                        non_answer = raw == false, stop = stop }
end


local function find_markers(text, list, a)         -- a: the first "####"
    while a do
        local i = match(text, "^#*()", a)
        local stop = line_end(text, i)
        local raw, s, e = value_after(text, i, stop, true)
        offer(list, "marker", raw, s, e, stop)
        a = find(text, "####", i, true)
    end
end


-- Every "answer" in the lowered text: "answer is", "answer:", "final answer".
local function find_answer_words(text, lt, list, immediate, q)
    local init = 1
    while true do
        local a = find(lt, "answer", init, true)
        if not a then return end
        init = a + 6
        local after = match(lt, "^[%*_]*[ \t]*()", init)
        local i1, i2, i3 = byte(lt, after, after + 2)            -- "is ", "is:", "is\n"
        if i1 == 105 and i2 == 115 and (i3 == 32 or i3 == 58 or i3 == 10) then
            local i = after + 2
            local stop = sentence_end(text, match(text, "^[%s:]*()", i))
            local raw, s, e, direct = value_after(text, i, stop, immediate, q)
            offer(list, "answer_is", raw, s, e, stop)
            -- what strict (immediate) takes here: the same value, or none
            if direct and raw ~= nil and raw ~= "" then list[#list].direct = true end
        elseif not immediate then
            local colon = match(lt, "^%s*:()", after)
            if find(sub(lt, a > 10 and a - 10 or 1, a - 1), "final[%s%*_]*$") then
                local i = colon or after
                local stop = line_end(text, i)
                local raw, s, e = value_after(text, i, stop, false, q, true)
                offer(list, "final_line", raw, s, e, stop)
            elseif colon then
                local stop = line_end(text, colon)
                local raw, s, e = value_after(text, colon, stop, false, q)
                offer(list, "answer_colon", raw, s, e, stop)
            end
        end
    end
end


-- "A: 18" at the start of a line (the GSM8K "Q: ... A: ..." format); the
-- number must follow directly, "A: Let's think..." opens a solution.
local function find_a_colon(text, list)
    local a = sub(text, 1, 2) == "A:" and 0 or find(text, "\nA:", 1, true)
    while a do
        local i = a + 3
        local stop = line_end(text, i)
        local raw, s, e = value_after(text, i, stop, true)
        offer(list, "answer_colon", raw, s, e, stop)
        a = find(text, "\nA:", i, true)
    end
end


local function find_boxed(text, list, cmd)
    local init = 1
    while true do
        local a, b = find(text, cmd, init, true)
        if not a then return end
        init = b + 1
        local o = match(text, "^%s*(){", init)
        if o then
            local body = braced(text, o)
            if body then
                local t, off = trim(sub(body, 2, -2))
                offer(list, "boxed", t, o + 1 + off, o + off + #t, o + #body - 2)
            end
        end
    end
end


-- The last bold span holding a number, if no digit follows it.
local function find_bold(text, list, a)            -- a: the first "**"
    local last_a, last_inner, last_b = nil, nil, nil
    -- find(text, "%*%*([^%*\n]+)%*%*", init), tried only where a "**" starts
    while a do
        local inner, b = match(text, "^%*%*([^%*\n]+)%*%*()", a)
        if inner then
            b = b - 1
            if find(inner, "%d") then last_a, last_b, last_inner = a, b, inner end
            a = find(text, "**", b + 1, true)
        else
            a = find(text, "**", a + 1, true)
        end
    end
    if not last_a or find(text, "%d", last_b + 1) or #last_inner > 80 then return end
    local raw, s = last_number(last_inner, 1, #last_inner)
    if not raw then return end
    -- only unit words may follow the number inside the span
    local tail = sub(last_inner, s + #raw)
    if #tail > 30 or find(tail, "[^%a%s%.,!%%)]") then return end
    offer(list, "bold", raw, last_a + 1 + s, last_a + s + #raw, last_b - 2)
end


-- {"answer": ...}: keys answer, final_answer, result (case, "_" and " "
-- ignored). A number or a string holding one is the value; anything else
-- (null, "unknown", "Cannot be determined") is an explicit non-answer.
local JSON_KEYS = { answer = true, finalanswer = true, result = true,
                    finalresult = true, numericalanswer = true, numericanswer = true }

local function find_json(text, list, q)
    local init = 1
    while true do
        local a, b, key = find(text, '"([%w_ ]+)"%s*:%s*', init)
        if not a then return end
        init = b + 1
        if JSON_KEYS[gsub(lower(key), "[_ ]", "")] then
            local c = byte(text, b + 1)
            if c == 34 then                                       -- "string"
                local e = b + 2
                while true do
                    local x = byte(text, e)
                    if not x or x == 10 then e = nil; break end
                    if x == 92 then e = e + 2
                    elseif x == 34 then break
                    else e = e + 1 end
                end
                if e then
                    local s0, e0 = b + 2, e - 1
                    local str = sub(text, s0, e0)
                    if numeric.normalize(str) then
                        local t, off = trim(str)
                        offer(list, "json", t, s0 + off, s0 + off + #t - 1, e0)
                    else
                        local raw, s, e2 = pick(text, s0, e0, q)
                        if raw then offer(list, "json", raw, s, e2, e0)
                        else offer(list, "json", false, s0, e0, e0) end
                    end
                end
            else
                local num = match(text, "^%-?%d[%d%.eE+%-]*", b + 1)
                if num then
                    offer(list, "json", num, b + 1, b + #num, b + #num)
                else
                    local lit = match(text, "^%a+", b + 1) or ""
                    offer(list, "json", false, b + 1, b + #lit, b + #lit)
                end
            end
        end
    end
end


-- Run-ons ----------------------------------------------------------------------

local END_TOKENS = { "<|im_end|>", "<|eot_id|>", "<|endoftext|>", "</s>",
                     "<|im_start|>", "<|start_header_id|>", "<start_of_turn>",
                     "<end_of_turn>", "<|user|>", "<|end|>", "[INST]" }

-- An invented next turn, at the start of a line.
local TURNS = { "User:", "USER:", "Human:", "HUMAN:", "### Human", "### User",
                "### Instruction", "Instruction:", "<|assistant|>" }

-- An invented next problem, at the start of a line, once there is an answer
-- or working before it.
local PROBLEMS = { "Question:", "Q:", "Problem:", "### Question", "**Question",
                   "### Problem", "**Problem", "Question ", "New question" }

local ANCHORS = { "####", "nswer", "NSWER", "\\boxed", "\nA:" }

-- TURNS and PROBLEMS by their first byte, so each line costs one lookup.
local BY_FIRST = {}
for kind, list in pairs({ turn = TURNS, problem = PROBLEMS }) do
    for _, p in ipairs(list) do
        local c = byte(p, 1) * 256 + byte(p, 2)
        BY_FIRST[c] = BY_FIRST[c] or {}
        table.insert(BY_FIRST[c], { p, kind })
    end
end
-- and the prefix all of a key's candidates share ("### "), checked first
for _, cands in pairs(BY_FIRST) do
    local cp = cands[1][1]
    for _, c in ipairs(cands) do
        while sub(c[1], 1, #cp) ~= cp do cp = sub(cp, 1, -2) end
    end
    cands.cp = #cp > 2 and cp or nil
end


-- Where the first answer anchor or piece of working is, or nil.
local function first_settled(text)
    local first
    for _, needle in ipairs(ANCHORS) do
        local a = find(text, needle, 1, true)
        if a and (not first or a < first) then first = a end
    end
    local w = find(text, "=", 1, true)              -- working: "= 18", "=$18"
    while w and not match(text, "^=%s*%$?%d", w) do w = find(text, "=", w + 1, true) end
    if w and (not first or w < first) then first = w end
    return first
end


-- cut_runon(text [, question [, full]]) -> the text up to where a made-up
-- continuation starts, the position cut at (nil if none) and why. full:
-- without the shortcuts (as opts.full).
function M.cut_runon(text, question, full)
    if question == nil and not full and text == LAST_CUT.input and LAST_CUT.no_question then
        return LAST_CUT.text, LAST_CUT.at, LAST_CUT.why    -- strict after extract
    end
    local input = text
    local cut_at, why
    local lt = find(text, "<", 1, true)        -- every end token but "[INST]" holds a "<"
    if (lt and (find(text, "<|", lt, true) or find(text, "</s>", lt, true)
                or find(text, "_of_turn>", lt, true)))
       or find(text, "[INST]", 1, true) then
        for k = 1, #END_TOKENS do
            local tok = END_TOKENS[k]
            local a = find(text, tok, 1, true)
            if a then text = sub(text, 1, a - 1); cut_at, why = a, "end token " .. tok end
        end
    end
    -- where the answer or working starts: only looked up when needed (once)
    local settled, looked = nil, false
    local nl, lines = find(text, "\n", 1, true), 0
    while nl do
        lines = lines + 1
        NL[lines] = nl
        local c1, c2 = byte(text, nl + 1, nl + 2)
        local cands = c2 and BY_FIRST[c1 * 256 + c2]
        if cands and (not cands.cp or sub(text, nl + 1, nl + #cands.cp) == cands.cp) then
            for k = 1, #cands do
                local p, kind = cands[k][1], cands[k][2]
                if sub(text, nl + 1, nl + #p) == p
                   and (p ~= "Question " or match(text, "^Question %d", nl + 1)) then
                    if kind == "turn" and find(sub(text, 1, nl), "%S") then
                        text, cut_at, why = sub(text, 1, nl - 1), nl, "new turn " .. p
                        nl = nil
                        break
                    elseif kind == "problem" then
                        if not looked then settled, looked = first_settled(text), true end
                        if settled and nl > settled then
                            text, cut_at, why = sub(text, 1, nl - 1), nl, "new problem " .. p
                            nl = nil
                            break
                        end
                    end
                end
            end
        end
        nl = nl and find(text, "\n", nl + 1, true)
    end
    NL.text, NL.n = text, lines               -- (trimmed to the final text below)
    local long_q = type(question) == "string" and #question >= 20
    local z = #text
    local cz = byte(text, z)
    if SPACE[cz] then z = last_nonspace(text, z); cz = byte(text, z) end
    local ends_q = cz == 63                                              -- "?"
    local repeat_check = long_q or ends_q
    -- both checks below need the question's first bytes in the text, or a
    -- final "?": without them, nothing is cut and the start of the working
    -- need not be looked up. head: the trimmed question's first 40 bytes.
    local question_free = false
    if long_q then
        local a = 1
        if SPACE[byte(question, 1)] then a = find(question, "%S") end
        local head = ""
        if a then
            local b, z = a + 39, last_nonspace(question, #question)
            if b > z then b = z end
            head = sub(question, a, b)
        end
        question_free = not find(text, head, 1, true)
    end
    if repeat_check and not full and not ends_q and question_free then
        repeat_check = false
    end
    if repeat_check and not looked then settled, looked = first_settled(text), true end
    if repeat_check and settled and settled > #text then settled = nil end
    if repeat_check and settled and find(text, "\n", settled, true) then
        -- the question repeated after the working: a line that starts with
        -- its first 40 bytes and goes on to its last 30
        if long_q then
            local qt = trim(question)
            local head, tail, qlen = sub(qt, 1, 40), sub(qt, -30), #qt
            local a = find(text, head, settled, true)
            while a do
                local ls = match(sub(text, 1, a - 1), "^.*()\n[ \t]*$")
                local z = ls and find(text, tail, a, true)
                if z and ls > settled and z <= a + qlen + 40 then
                    text, cut_at, why = sub(text, 1, ls - 1), ls, "repeated question"
                    break
                end
                a = find(text, head, a + 1, true)
            end
        end
        -- a final paragraph that is a question repeats the question
        local t = rtrim(text)
        if sub(t, -1) == "?" then
            local para = match(t, "^.*()\n%s*\n") or match(t, "^.*()\n")
            if para and para > settled and find(sub(t, 1, para), "%d") then
                text, cut_at, why = sub(text, 1, para - 1), para, "repeated question"
            end
        end
    end
    if cut_at then
        local n, len = NL.n, #text
        while n > 0 and NL[n] > len do n = n - 1 end
        NL.text, NL.n = text, n
    end
    -- the same cut without the question: its first bytes are not in the text
    LAST_CUT.input, LAST_CUT.text, LAST_CUT.at, LAST_CUT.why = input, text, cut_at, why
    LAST_CUT.no_question = not full and (not long_q or question_free)
    return text, cut_at, why
end


-- Checks on the winner -----------------------------------------------------------

local CUES = { "wait", "actually", "mistake", "correct", "recheck", "re-check",
               "recalc", "reconsider", "let me", "let's", "second thought", "oops",
               "sorry", "error", "instead", "double-check", "double check", "verify",
               "however", "but ", "hmm", "no,", "revis", "fix", "redo", "again" }

local function has_working(seg)
    return find(seg, "%d%s*[%+%-%*/=]%s*%$?%d") or find(seg, "=%s*%$?%-?%d")
           or find(seg, "%d%s*\195[\151\183]%s*%$?%d") or find(seg, "%d%s+x%s+%$?%d")
end


local function has_cue(seg)
    local l = lower(seg)
    for k = 1, #CUES do
        local c = CUES[k]
        if find(l, c, 1, true) then return c end
    end
    return nil
end


local function same_value(a, b)
    if a.raw == b.raw then return true end
    if not (a.raw and b.raw) then return false end
    return numeric.equal(a.raw, b.raw)
end


-- The earlier candidate the winner contradicts, or nil (and why not).
-- Candidates at the winner's value just before it reaffirm it; the check is
-- between the first of them and the last different one before.
local function before(a, b)
    if a.s ~= b.s then return a.s < b.s end
    return PRIORITY[a.rule] < PRIORITY[b.rule]
end

local function contradicted(text, list, w)
    if #list == 1 then return nil end
    local earlier = false                -- only candidates ending before w count
    for k = 1, #list do
        local c = list[k]
        if c.s < w.s and (c.e or c.s) < w.s then earlier = true; break end
    end
    if not earlier then return nil end
    local sorted = {}
    for k = 1, #list do                              -- insertion sort: lists are short
        local c = list[k]
        local j = k - 1
        while j > 0 and before(c, sorted[j]) do sorted[j + 1] = sorted[j]; j = j - 1 end
        sorted[j + 1] = c
    end
    local first = w
    for k = #sorted, 1, -1 do
        local c = sorted[k]
        if c ~= w and c.s < first.s and (c.e or c.s) < first.s then
            if same_value(c, w) then
                first = c
            else
                local seg = sub(text, (c.e or c.s) + 1, first.s - 1)
                if has_working(seg) then return nil, "working between" end
                local cue = has_cue(seg)
                if cue then return nil, ("correction word %q between"):format(cue) end
                return c
            end
        end
    end
    return nil
end


-- The position of the last newline before i, or 0.
local function newline_before(text, i)
    if NL.text == text then                       -- the text cut_runon returned
        local k = NL.n
        while k > 0 and NL[k] >= i do k = k - 1 end
        return k > 0 and NL[k] or 0
    end
    local hi, width = i - 1, 80                 -- lines are short: widening windows
    while true do
        local lo = hi - width + 1
        if lo <= 1 then return last_in(text, "\n", 1, hi) or 0 end
        local p = last_in(text, "\n", lo, hi)
        if p then return p end
        hi, width = lo - 1, width * 4
    end
end


-- gsub(s, "<<[^>]*>>", "") with plain finds: calculator notes dropped.
local function drop_notes(s)
    local p = find(s, "<<", 1, true)
    if not p then return s end
    local out, from = "", 1
    while p do
        local q = find(s, ">", p + 2, true)
        if not q then break end                   -- no later "<<" can close either
        if byte(s, q + 1) == 62 then
            out = out .. sub(s, from, p - 1)
            from = q + 2
            p = find(s, "<<", from, true)
        else
            p = find(s, "<<", p + 1, true)
        end
    end
    if from == 1 then return s end
    return out .. sub(s, from)
end


local UNIT_FACTORS = { 10, 100, 1000, 60, 3600, 24, 7, 12, 52, 365, 16, 3 }

-- An answer line right after working that ends "= X" with another value.
local function against_working(text, w)
    if w.rule ~= "answer_colon" and w.rule ~= "marker" and w.rule ~= "final_line" then
        return nil
    end
    local ls = newline_before(text, w.s)                          -- line start - 1
    local prev_end = ls - 1
    while prev_end > 0 and byte(text, prev_end) == 10 do prev_end = prev_end - 1 end
    if prev_end <= 0 then return nil end
    local ps = newline_before(text, prev_end)
    local eq = find(text, "=", ps + 1, true)
    if not eq or eq > prev_end then return nil end
    local prev = sub(text, ps + 1, prev_end)
    prev = drop_notes(prev)
    -- the line must end at its result: "= 18", "= $18 per day." (only a few
    -- unit words after it, no further sentence). Only the last "=" can start
    -- "=...$": no "=" may follow the number.
    eq = last_in(prev, "=", 1, #prev)
    if not eq then return nil end
    local x, tail = match(prev, "^=%s*%$?(%-?%d[%d,]*%.?%d*)([%a%s%.,!%%)%$']*)$", eq)
    if not x or #tail > 30 or find(tail, "[%.!,]%s*%a") then return nil end
    x = gsub(x, "%.$", "")
    if x == w.raw or numeric.equal(x, w.raw) then return nil end
    local line = sub(text, ls + 1, line_end(text, ls + 1))
    if #numbers_in(line, 1, #line) ~= 1 then return nil end      -- a bare answer line
    local xv, nv = tonumber(numeric.normalize(x) or ""), tonumber(numeric.normalize(w.raw) or "")
    if not (xv and nv) then return nil end
    if nv == floor(xv) or nv == floor(xv) + 1 or nv == floor(xv * 100 + 0.5) / 100 then
        return nil                                                -- rounded
    end
    -- the result restated in another unit ($0.10 -> 10 cents, 2 hours -> 120
    -- minutes, 0.25 -> 25%)
    for f = 1, #UNIT_FACTORS do
        local k = UNIT_FACTORS[f]
        local d1, d2 = nv - xv * k, nv * k - xv       -- (math.abs, without a call)
        if d1 < 0 then d1 = -d1 end
        if d2 < 0 then d2 = -d2 end
        if d1 < 1e-9 * k or d2 < 1e-9 * k then
            return nil
        end
    end
    local pn = numbers_in(prev, 1, #prev)
    for k = 1, #pn do
        if numeric.equal(pn[k][1], w.raw) then return nil end
    end
    return x
end


local HEDGE_WORDS = { "about", "around", "approximately", "roughly", "between",
                      "somewhere", "maybe", "perhaps", "likely", "probably" }

-- Could hedged() fire? Necessary conditions for its first test, from the
-- bytes around s..e: a letter, space, "-" or en dash right after; "-", or
-- [ro-\147] + spaces + "$"? right before; "etween" in the 40 bytes before.
local HEDGE_AFTER = { [45] = true, [226] = true }
for b = 65, 90 do HEDGE_AFTER[b], HEDGE_AFTER[b + 32] = true, true end
for b in pairs(SPACE) do HEDGE_AFTER[b] = true end

local function hedge_possible(text, s, e)
    if HEDGE_AFTER[byte(text, e + 1)] then return true end
    if s <= 1 then return false end
    local lo = s > 40 and s - 40 or 1
    local k = s - 1
    local b = byte(text, k)
    if b == 45 then return true end
    if b == 36 then
        k = k - 1
        b = k >= lo and byte(text, k) or nil
    end
    if k >= lo and SPACE[b] then                  -- spaces, then [ro-\147]
        repeat
            k = k - 1
            b = k >= lo and byte(text, k) or nil
        until not SPACE[b]
        if b == 114 or b == 111 or b == 45 or b == 147 then return true end
    end
    local p = find(text, "etween", lo, true)
    return p ~= nil and p + 5 <= s - 1
end


-- Is the value at s..e one of alternatives or a range?
local function hedged(text, s, e, full)
    if not full and not hedge_possible(text, s, e) then return nil end
    local after = sub(text, e + 1, e + 40)
    local before = sub(text, s > 40 and s - 40 or 1, s - 1)
    if not (find(after, "^[%a%s]-or") or find(after, "^%s*[t%-\226]") or find(before, "[ro%-\147]%s+%$?$")
            or find(before, "%-$") or find(before, "etween")) then
        return nil
    end
    if match(after, "^[%a%s]-%f[%a]or%s+%$?%d") and not match(after, "^%s*or so") then
        return "or"
    end
    if match(before, "%d[%a%s%$]-%f[%a]or%s+%$?$") then return "or" end
    if (match(after, "^%s*to%s+%$?%d") or match(before, "%d%s+to%s+%$?$"))
       and not match(lower(before), "from%s+%$?[%d,%.:]*%s*$")
       and not match(lower(before), "from%s+%$?[%d,%.:]+%s*[ap]?%.?m?%.?%s+to%s+%$?$") then
        return "range"
    end
    if match(after, "^%s*" .. EN_DASH .. "%s*%$?%d") or match(before, "%d%s*" .. EN_DASH .. "%s*%$?$") then
        return "range"
    end
    if not (find(before, "[Bb]etween") or find(after, "^%-") or find(before, "%d%-$")) then
        return nil
    end
    local lb = lower(before)
    if match(lb, "between%s+%$?$") and match(after, "^[%a%s]-and%s+%$?%d") then
        return "between"
    end
    if match(lb, "between%s+%$?[%d,%.]+[%a%s]-and%s+%$?$") then return "between" end
    for k = 1, #HEDGE_WORDS do
        local h = HEDGE_WORDS[k]
        if match(lb, "%f[%a]" .. h .. "%s+%$?$") and match(after, "^%-%s*%$?%d") then
            return "range"
        end
        if match(lb, "%f[%a]" .. h .. "%s+%$?%d+%-$") then return "range" end
    end
    return nil
end


local TWO_UNITS = { ["dollar+cent"] = true, ["hour+minute"] = true,
                    ["minute+second"] = true, ["feet+inche"] = true, ["foot+inche"] = true,
                    ["pound+ounce"] = true, ["year+month"] = true, ["week+day"] = true }

-- Is the value one of several quantities? Returns "several" or a better
-- pick (raw, s, e) from the question's asked noun.
local function several(text, w, q)
    if not w.raw or w.rule == "boxed" and find(w.raw, "\\", 1, true) then return nil end
    local stop = w.stop or w.e
    if stop <= w.e then return nil end                -- nothing after the value
    local comma = find(text, ",", w.e + 1, true)
    local et = stop - w.e >= 3 and find(text, "and", w.e + 1, true)
    if not ((comma and comma <= stop) or (et and et + 2 <= stop)) then return nil end
    local after = sub(text, w.e + 1, stop)
    if match(after, "^%s*,%s*%$?%-?%d") then return "several" end   -- 45,27 / 45, 27
    local nouns = match(after, "^%s*[%a%s]-%f[%a]and%s+%$?%d")   -- 15 sheep and 5 geese
    if not nouns then return nil end
    local n1 = noun_after(text, w.e)
    local nums = numbers_in(text, w.s, stop)
    if #nums < 2 then return nil end
    local n2 = noun_after(text, nums[2][3])
    -- one measure in two units: "18 dollars and 50 cents", "2 hours and 30
    -- minutes" (the first number stands; numeric.lua reads no compound)
    local pair = (n1 or "") .. "+" .. (n2 or "")
    if TWO_UNITS[pair] then return nil end
    if q then q = read_question(q) end
    if q and not q.total and q.noun then
        for _, n in ipairs(nums) do
            if noun_after(text, n[3]) == q.noun then return n end
        end
    end
    return "several"
end


-- Does the text stop mid-working? Returns why, or nil.
local DANGLING = { the = true, a = true, an = true, of = true, to = true, ["and"] = true,
                   ["or"] = true, is = true, are = true, was = true, were = true,
                   by = true, ["for"] = true, with = true, from = true, ["in"] = true,
                   at = true, so = true, which = true, that = true, ["then"] = true,
                   be = true, will = true, than = true, as = true, per = true,
                   his = true, her = true, their = true, its = true,
                   has = true, have = true, would = true, into = true, on = true,
                   we = true, get = true, gives = true, equals = true, makes = true,
                   no = true, ["not"] = true, about = true, some = true, any = true,
                   every = true, ["if"] = true, when = true, ["while"] = true,
                   where = true, who = true, whose = true, because = true, both = true }

local function truncated(text)
    local t = rtrim(text)
    if t == "" then return nil end
    local c = sub(t, -1)
    if find(c, "[=%+/%(%[{<,:\\]") or (c == "*" and sub(t, -2) ~= "**") then
        return ("ends in %q"):format(c)
    end
    if sub(t, -3) == "\195\151" or sub(t, -2) == "\195\151" then return "ends in an operator" end
    local n = #t
    if c == "-" and SPACE[byte(t, n - 1)] then return "ends in an operator" end  -- "%s%-$"
    local lt = lower(sub(t, -20))
    if find(lt, "answer[%s%*_:]*$") or find(lt, "####[%s]*$") then
        return "ends at an answer anchor, before its value"
    end
    local open = find_last(t, "<<")
    if open and not find(t, ">>", open, true) then return "inside a calculator note" end
    local k = n                                   -- "%s(%a+)$": the last word
    while k > 0 and is_alpha(byte(t, k)) do k = k - 1 end
    if k < n and k > 0 and SPACE[byte(t, k)] then
        local w = sub(t, k + 1)
        if DANGLING[lower(w)] and find(t, "%d") then
            return ("ends in the dangling word %q"):format(w)
        end
    end
    -- last operand of an unfinished expression: "$41.472+$8.", "16 - 3 - 4"
    -- (each pattern ends in [%d%.,] and needs its operator in the line)
    c = byte(t, n)
    if is_digit(c) or c == 46 or c == 44 then
        local nl = last_in(t, "\n", 1, n)
        local line = nl and sub(t, nl + 1) or t
        local expr = ((find(line, "+", 1, true) or find(line, "*", 1, true))
                      and match(line, "%d%s*[%+%*]%s*%$?[%d%.,]+%.?$"))
                     or (find(line, "-", 1, true) and match(line, "%d%s+%-%s+%$?[%d%.,]+%.?$"))
                     or (find(line, "\195\151", 1, true)
                         and match(line, "%d%s*\195\151%s*%$?[%d%.,]+%.?$"))
                     or (find(line, "x", 1, true) and match(line, "%d%s+x%s+%$?[%d%.,]+%.?$"))
        if expr then return "ends inside an expression" end
    end
    if find(t, "\\(", 1, true) then
        local dm = 0
        for _ in string.gmatch(t, "\\%(") do dm = dm + 1 end
        for _ in string.gmatch(t, "\\%)") do dm = dm - 1 end
        if dm > 0 then return "inside math \\(" end
    end
    return nil
end


-- Public -----------------------------------------------------------------------

local function check(text, fn)
    if type(text) ~= "string" then
        error(fn .. ": text must be a string, got " .. type(text), 3)
    end
end


-- The winner: last position, then rule priority.
local function winner(list)
    if #list == 1 then return list[1] end
    local best
    for k = 1, #list do
        local c = list[k]
        if not best or c.s > best.s
           or (c.s == best.s and PRIORITY[c.rule] < PRIORITY[best.rule]) then
            best = c
        end
    end
    return best
end


local function record(trace, list, w, reason, why)
    if not trace then return end
    trace.candidates = list
    for k, c in ipairs(list) do if c == w then trace.winner = k end end
    trace.reason, trace.why = reason, why
end


-- extract(text [, opts]) -> answer, rule, s, e   or  nil, reason [, s, e]
local NO_OPTS = {}

-- lower(text), kept for the next call (strict after extract lowers the same text).
local last_text, last_lower

local function lowered(text)
    if text ~= last_text then last_text, last_lower = text, lower(text) end
    return last_lower
end

function M.extract(text, opts)
    if type(text) ~= "string" then check(text, "extract") end
    opts = opts or NO_OPTS
    local trace, full = opts.trace, opts.full
    -- the question as given: read (read_question) only where a rule asks
    -- for its givens or noun
    local q = opts.question
    local cut_at, cut_why
    text, cut_at, cut_why = M.cut_runon(text, opts.question, full)
    if trace then trace.cut = cut_at and { at = cut_at, why = cut_why } or nil end
    local list = {}
    local hm = find(text, "####", 1, true)
    if hm then find_markers(text, list, hm) end
    if find(text, "nswer", 1, true) or find(text, "NSWER", 1, true) then
        find_answer_words(text, lowered(text), list, false, q)
    end
    if find(text, "A:", 1, true) then find_a_colon(text, list) end
    if find(text, "\\", 1, true) then
        find_boxed(text, list, "\\boxed")
        find_boxed(text, list, "\\fbox")
    end
    local bo = find(text, "**", 1, true)
    if bo then find_bold(text, list, bo) end
    local dq = find(text, '"', 1, true)
    if dq and (find(text, '":', dq, true) or find(text, '" :', dq, true)) then find_json(text, list, q) end
    if LAST_CUT.no_question and LAST_CUT.text == text then
        -- strict's candidates are the markers and the answer_is values a
        -- number gives right after the anchor: found above already
        local sw
        for k = 1, #list do
            local c = list[k]
            if c.rule == "marker" or c.direct then
                if not sw or c.s > sw.s or (c.s == sw.s and PRIORITY[c.rule] < PRIORITY[sw.rule]) then
                    sw = c
                end
            end
        end
        LAST_STRICT.input, LAST_STRICT.answer = LAST_CUT.input, sw and sw.raw or nil
    else
        LAST_STRICT.input = nil
    end

    local w = winner(list)
    if w then
        if w.non_answer then
            record(trace, list, w, "not_a_number", "the anchor states no number")
            return nil, "not_a_number", w.s, w.e
        end
        local c, why = contradicted(text, list, w)
        if c then
            w.why = "contradicts the earlier " .. c.rule .. " " .. tostring(c.raw)
            record(trace, list, w, "conflict", w.why)
            return nil, "conflict", w.s, w.e
        end
        local x = against_working(text, w)
        if x then
            w.why = "the working before it ends = " .. x
            record(trace, list, w, "conflict", w.why)
            return nil, "conflict", w.s, w.e
        end
        local h = hedged(text, w.s, w.e, full)
        if h then
            w.why = "hedged (" .. h .. ")"
            record(trace, list, w, "hedged", w.why)
            return nil, "hedged", w.s, w.e
        end
        local sv = several(text, w, q)
        if sv == "several" then
            w.why = "one of several quantities"
            record(trace, list, w, "several", w.why)
            return nil, "several", w.s, w.e
        elseif sv then
            w.why = "the asked quantity among several"
            w.raw, w.s, w.e = sv[1], sv[2], sv[3]
        end
        record(trace, list, w, nil, why)
        return w.raw, w.rule, w.s, w.e
    end

    local tr = truncated(text)
    if tr then
        record(trace, list, nil, "truncated", tr)
        return nil, "truncated"
    end
    -- the concluding sentence
    local t = rtrim(text)
    local last_raw, ls = last_number(t, 1, #t)
    if not last_raw then
        record(trace, list, nil, "no_answer", "no number")
        return nil, "no_answer"
    end
    -- the start of the sentence holding the last number
    local head = sub(t, 1, ls - 1)
    local sent = match(head, "^.*[%.!?]%s()") or 1
    local nl = last_in(t, "\n", sent, ls - 1)                     -- "^.*\n()"
    if nl then sent = nl + 1 end
    local raw, s, e, how = pick(t, sent, #t, q)
    local rule = (s == ls) and "last_number" or "conclusion"
    if not raw then
        raw, s, e, rule, how = last_raw, ls, ls + #last_raw - 1, "last_number", "last"
    end
    local c = { rule = rule, raw = raw, s = s, e = e, why = how }
    list[#list + 1] = c
    local h = hedged(text, s, e, full)
    if h then
        c.why = "hedged (" .. h .. ")"
        record(trace, list, c, "hedged", c.why)
        return nil, "hedged", s, e
    end
    record(trace, list, c, nil, how)
    return raw, rule, s, e
end


-- strict(text [, opts]) -> answer or nil: the last "#### N" or "The answer is
-- N" with the number right after it (lm-eval's strict-match, but the last
-- match). opts.full as for extract.
function M.strict(text, opts)
    local full = opts and opts.full
    -- (LAST_STRICT.input is a string when set)
    if not full and text == LAST_STRICT.input and text ~= nil then return LAST_STRICT.answer end
    if type(text) ~= "string" then check(text, "strict") end
    text = M.cut_runon(text, nil, full)
    local list = {}
    local hm = find(text, "####", 1, true)
    if hm then find_markers(text, list, hm) end
    if find(text, "nswer", 1, true) or find(text, "NSWER", 1, true) then
        find_answer_words(text, lowered(text), list, true)
    end
    local w = winner(list)
    return w and w.raw or nil
end


return M
