-- evals/extract.lua: finding the final answer in a model's response.
--
--   split_reasoning(content, thinking) -> answer_text, reasoning, status
--   extract(text)  -> answer, rule      or nil, "no_answer"
--   strict(text)   -> answer            or nil
--
-- Answers are returned raw ("$1,234.50", "18 \text{ dollars}"); numeric.lua
-- normalises them.
--
-- How extract decides (peers.md §6; lm-eval #3438, #1204, #3214):
-- 1. Run-ons are cut first: a line starting "Question:" or "Q:" that comes
--    after an answer anchor starts an invented next problem (lm-eval stops
--    generation there with until=["Question:", "Q:"]), and "<|im_end|>",
--    "<|eot_id|>", "</s>" end the response.
-- 2. Every anchored rule is searched. Each match becomes a candidate at the
--    position where its value starts; the candidate LAST in the text wins
--    (self-corrections and recited few-shot answers come earlier), ties go to
--    the rule listed first in M.RULES.
--      marker        "#### N"
--      answer_is     "The answer is N", "The final answer is N" (any case)
--      answer_colon  "Answer: N", "ANSWER: N", "A: N" at the start of a line
--      boxed         "\boxed{...}", "\fbox{...}" (balanced braces)
--      final_line    "Final answer: N", "**Final Answer:** N", "Final Answer\n N"
--      bold          "**$18**", "**18 dollars**", "**Total: 18**", only when
--                    no digit follows it anywhere in the text
--    After a text anchor the value is the number right after it, unless that
--    number starts an expression ("Answer: 3 * 6 = 18"); then it is the last
--    number of the same line (for answer_is: the same sentence).
-- 3. No anchor: the last number in the text ("last_number"), skipping digits
--    glued to a preceding letter ("AZYUK2A", "x2").

local M = {}

local byte, find, match, sub, lower = string.byte, string.find, string.match,
                                      string.sub, string.lower
local type, error, ipairs = type, error, ipairs

M.RULES = { "marker", "answer_is", "answer_colon", "boxed", "final_line",
            "bold", "last_number" }
local PRIORITY = {}
for i, r in ipairs(M.RULES) do PRIORITY[r] = i end

local MINUS, EN_DASH = "\226\136\146", "\226\128\147"    -- U+2212, U+2013


-- Reasoning ------------------------------------------------------------------

-- Trim without "^%s*(.-)%s*$", which is slow on long texts.
local function trim(s)
    local a = find(s, "%S")
    if not a then return "" end
    local b = match(s, "^.*()%S")
    if a == 1 and b == #s then return s end
    return sub(s, a, b)
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


-- split_reasoning(content, thinking) -> answer_text, reasoning, status
-- Ollama's separate `thinking` field is the reasoning as is. In content,
-- "<think>...</think>" is removed; text after the last "</think>" is the
-- answer even without an opening tag (a chat template that pre-fills
-- "<think>"). A "<think>" that never closes gives answer_text "" and status
-- "unclosed": no answer is taken from half-finished thoughts.
function M.split_reasoning(content, thinking)
    if content ~= nil and type(content) ~= "string" then
        error("split_reasoning: content must be a string, got " .. type(content), 2)
    end
    content = content or ""
    local reasoning = (type(thinking) == "string" and thinking ~= "") and thinking
                      or nil
    if not find(content, "think>", 1, true) then
        return trim(content), reasoning, "ok"
    end
    local open, close = find_last(content, "<think>"), find_last(content, "</think>")
    if open and (not close or open > close) then
        local r = sub(content, open + 7)
        return "", reasoning and (reasoning .. "\n" .. r) or r, "unclosed"
    end
    if not close then return trim(content), reasoning, "ok" end
    local inner = sub(content, 1, close - 1)
    inner = match(inner, "^%s*<think>(.*)$") or inner
    return trim(sub(content, close + 8)),
           reasoning and (reasoning .. "\n" .. inner) or inner, "ok"
end


-- Numbers --------------------------------------------------------------------

local function is_digit(c) return c and c >= 48 and c <= 57 end
local function is_alpha(c)
    return c and ((c >= 65 and c <= 90) or (c >= 97 and c <= 122))
end


-- Sign and currency right after position i: returns the index after them.
local function skip_sign_currency(text, i)
    local c = byte(text, i)
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


-- The number starting at i (after sign and currency): returns raw, last
-- index; nil if there is none. Takes "1,234.50", "12,\!000", "1/2",
-- "28%", "\frac{1}{2}", ".5".
local function number_at(text, i)
    local j = skip_sign_currency(text, i)
    if byte(text, j) == 92 then                                   -- backslash
        local w = sub(text, j, j + 199)
        local e = match(w, "^\\[dtc]?frac%s*%b{}%s*%b{}()")
                  or match(w, "^\\[dtc]?frac%d%d()")
        if e then return sub(text, i, j + e - 2), j + e - 2 end
        return nil
    end
    local e = match(text, "^%d+()", j) or match(text, "^%.%d+()", j)
    if not e then return nil end
    while true do                                  -- thousands groups
        local g = match(text, "^,%d%d%d()", e)
                  or match(text, "^\226\128[\137\175]%d%d%d()", e)
                  or match(text, "^,\\!%s?%d%d%d()", e)
        if not g or is_digit(byte(text, g)) then break end
        e = g
    end
    e = match(text, "^%.%d+()", e) or e
    e = match(text, "^/%d+()", e) or e
    e = match(text, "^\\?%%()", e) or e
    return sub(text, i, e - 1), e - 1
end


-- The last number in text[lo..hi]: raw, start. Digits glued to a preceding
-- letter do not count. Linear in hi - lo + 1, however many numbers it skips.
local function last_number(text, lo, hi)
    local t, base = text, 0
    if lo > 1 or hi < #text then t, base = sub(text, lo, hi), lo - 1 end
    local d = match(t, "^.*()%d")
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
            -- currency and sign in front: "$18", "-$5", "−3"
            local p = s
            if byte(t, p - 1) == 36 then
                p = p - 1
                if byte(t, p - 1) == 92 then p = p - 1 end
            elseif p > 3 and sub(t, p - 3, p - 1) == "\226\130\172" then
                p = p - 3
            end
            local sign = 0
            if byte(t, p - 1) == 45 then sign = 1
            elseif p > 3 and sub(t, p - 3, p - 1) == MINUS then sign = 3 end
            if sign > 0 then
                local before = byte(t, p - sign - 1)
                if not (is_digit(before) or is_alpha(before)
                        or before == 41) then                     -- 3-5, x-5, )-5
                    p = p - sign
                end
            end
            local e = d
            if byte(t, e + 1) == 37 then e = e + 1 end            -- 28%
            return sub(t, p, e), p + base
        end
    end
    return nil
end


-- Values after anchors -------------------------------------------------------

-- "{...}" with balanced braces starting at o, at most 1000 bytes long.
local function braced(text, o)
    return match(sub(text, o, o + 999), "^%b{}")
end


-- Does an expression continue at i ("3 * 6 = 18", "5 − 2")? Same line only.
local function operator_follows(text, i)
    local j = match(text, "^[ \t]*()", i)
    local c = byte(text, j)
    if c == 42 then return byte(text, j + 1) ~= 42 end    -- "*", not "**" (bold)
    if c == 43 or c == 45 or c == 47 or c == 61 then return true end  -- + - / =
    local u = sub(text, j, j + 1)
    return u == "\195\151" or u == "\195\183" or sub(text, j, j + 2) == MINUS
end


-- The value that follows an anchor ending at i: raw, start; nil if none.
-- stop is the end of the anchor's line or sentence. With `immediate` only a
-- number right after the anchor counts (markers, strict mode); otherwise a
-- missing number or an expression falls back to the last number before stop.
local function value_after(text, i, stop, immediate)
    local j = match(text, "^[ \t%*_:]*()", i)       -- spaces, bold, colon
    if j > stop then                                  -- "Final Answer:\n\n18"
        j = match(text, "^%s*[%*_]*()", j)
        immediate = true
    end
    -- math delimiters: "\(18\)", "\[ 18 \]", "$\boxed{18}$", "$$18$$"
    local k = match(text, "^\\[%(%[]%s*()", j)
              or match(text, "^%$+()[\\%s]", j) or j
    if sub(text, k, k + 5) == "\\boxed" then
        local o = match(text, "^%s*(){", k + 6)
        local body = o and braced(text, o)
        if body then return trim(sub(body, 2, -2)), o + 1 end
    end
    local raw, e = number_at(text, k)
    if raw and not operator_follows(text, e + 1) then return raw, k end
    if immediate then return nil end
    return last_number(text, j, stop)
end


-- Lines and sentences are looked at up to WINDOW bytes past the anchor, so
-- a degenerate response ("Answer: y Answer: y ..." without newlines) stays
-- linear.
local WINDOW = 400


local function line_end(text, i)
    local w = sub(text, i, i + WINDOW - 1)
    local nl = find(w, "\n", 1, true)
    return i - 1 + (nl and nl - 1 or #w)
end


local function sentence_end(text, i)
    local w = sub(text, i, i + WINDOW - 1)
    local e = find(w, "\n", 1, true)
    local dot = find(w, "%.%s")
    if dot and (not e or dot < e) then return i - 1 + dot end
    return i - 1 + (e and e - 1 or #w)
end


-- Candidates -----------------------------------------------------------------

-- The winner so far: last position, then rule priority.
local function better(best, pos, rule)
    if not best.pos or pos > best.pos then return true end
    return pos == best.pos and PRIORITY[rule] < PRIORITY[best.rule]
end


local function offer(best, rule, raw, pos)
    if raw and raw ~= "" and better(best, pos, rule) then
        best.pos, best.rule, best.raw = pos, rule, raw
    end
end


local function find_markers(text, best)
    local init = 1
    while true do
        local a = find(text, "####", init, true)
        if not a then return end
        local i = match(text, "^#*()", a)
        offer(best, "marker", value_after(text, i, line_end(text, i), true))
        init = i
    end
end


-- Every "answer" in the lowered text: "answer is", "answer:", "final answer".
local function find_answer_words(text, lt, best, immediate)
    local init = 1
    while true do
        local a = find(lt, "answer", init, true)
        if not a then return end
        init = a + 6
        local final = find(sub(lt, a > 10 and a - 10 or 1, a - 1), "final[%s%*_]*$")
        local after = match(lt, "^[%*_]*[ \t]*()", init)
        if sub(lt, after, after + 2) == "is " or sub(lt, after, after + 2) == "is:"
           or sub(lt, after, after + 2) == "is\n" then
            local i = after + 2
            offer(best, "answer_is",
                  value_after(text, i, sentence_end(text, match(text, "^[%s:]*()", i)),
                              immediate))
        elseif not immediate then
            local colon = match(lt, "^%s*:()", after)
            if final then
                local i = colon or after
                offer(best, "final_line", value_after(text, i, line_end(text, i)))
            elseif colon then
                offer(best, "answer_colon", value_after(text, colon, line_end(text, colon)))
            end
        end
    end
end


-- "A: 18" at the start of a line (the GSM8K "Q: ... A: ..." format); the
-- number must follow directly, "A: Let's think..." opens a solution.
local function find_a_colon(text, best)
    local a = sub(text, 1, 2) == "A:" and 0 or find(text, "\nA:", 1, true)
    while a do
        local i = a + 3
        offer(best, "answer_colon", value_after(text, i, line_end(text, i), true))
        a = find(text, "\nA:", i, true)
    end
end


local function find_boxed(text, best, cmd)
    local init = 1
    while true do
        local a, b = find(text, cmd, init, true)
        if not a then return end
        init = b + 1
        local o = match(text, "^%s*(){", init)
        if o then
            local body = braced(text, o)
            if body then offer(best, "boxed", trim(sub(body, 2, -2)), o + 1) end
        end
    end
end


-- The last bold span holding a number, if no digit follows it.
local function find_bold(text, best)
    local init, last_a, last_inner, last_b = 1, nil, nil, nil
    while true do
        local a, b, inner = find(text, "%*%*([^%*\n]+)%*%*", init)
        if not a then break end
        if find(inner, "%d") then last_a, last_b, last_inner = a, b, inner end
        init = b + 1
    end
    if not last_a or find(text, "%d", last_b + 1) or #last_inner > 80 then return end
    local raw, s = last_number(last_inner, 1, #last_inner)
    if not raw then return end
    -- only unit words may follow the number inside the span
    local tail = sub(last_inner, s + #raw)
    if #tail > 30 or find(tail, "[^%a%s%.,!%%)]") then return end
    offer(best, "bold", raw, last_a + 1 + s)
end


-- Run-ons ----------------------------------------------------------------------

local END_TOKENS = { "<|im_end|>", "<|eot_id|>", "<|endoftext|>", "</s>" }


local ANCHORS = { "####", "nswer", "NSWER", "\\boxed", "\nA:" }


-- Where the first answer anchor is, or nil.
local function first_anchor(text)
    local first
    for _, needle in ipairs(ANCHORS) do
        local a = find(text, needle, 1, true)
        if a and (not first or a < first) then first = a end
    end
    return first
end


-- The text up to where a made-up continuation starts.
function M.cut_runon(text)
    for _, tok in ipairs(END_TOKENS) do
        local a = find(text, tok, 1, true)
        if a then text = sub(text, 1, a - 1) end
    end
    local init = find(text, "\nQ", 1, true) and first_anchor(text)
    while init do
        local a = find(text, "\nQ", init, true)
        if not a then break end
        if sub(text, a + 1, a + 9) == "Question:" or sub(text, a + 1, a + 2) == "Q:" then
            return sub(text, 1, a - 1)
        end
        init = a + 2
    end
    return text
end


-- Public -----------------------------------------------------------------------

local function check(text, fn)
    if type(text) ~= "string" then
        error(fn .. ": text must be a string, got " .. type(text), 3)
    end
end


-- The text up to any invented follow-on question, and the latest "#### N" or
-- "The (final) answer is N" in it (strict: the number right after the words).
local function markers(text, strict)
    text = M.cut_runon(text)
    local best = {}
    if find(text, "####", 1, true) then find_markers(text, best) end
    if find(text, "nswer", 1, true) or find(text, "NSWER", 1, true) then
        find_answer_words(text, lower(text), best, strict)
    end
    return text, best
end


-- extract(text) -> answer, rule  or  nil, "no_answer"
function M.extract(text)
    check(text, "extract")
    local best
    text, best = markers(text, false)
    if find(text, "A:", 1, true) then find_a_colon(text, best) end
    if find(text, "\\", 1, true) then
        find_boxed(text, best, "\\boxed")
        find_boxed(text, best, "\\fbox")
    end
    if find(text, "**", 1, true) then find_bold(text, best) end
    if best.rule then return best.raw, best.rule end
    local raw = last_number(text, 1, #text)
    if raw then return raw, "last_number" end
    return nil, "no_answer"
end


-- strict(text) -> answer or nil: the last "#### N" or "The answer is N" with
-- the number right after it (lm-eval's strict-match, but the last match).
function M.strict(text)
    check(text, "strict")
    local _, best = markers(text, true)
    return best.raw
end


return M
