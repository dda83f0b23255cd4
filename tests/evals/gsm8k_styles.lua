-- tests/evals/gsm8k_styles.lua: the modern-styles set. Each style rewrites a
-- real GSM8K model solution (example_model_solutions.jsonl: working lines,
-- then "A: N") into one of the answer styles of issue 16, and says what a
-- careful grader's label becomes: the original label when the rewrite keeps
-- the committed answer N, false when it leaves no single committed answer.
--
--   styles.list          -> { {name = ..., class = ..., rewrite = fn}... }
--   rewrite(ctx)         -> text, label   or nil (style does not apply)
--   ctx = { working = lines before "A:", answer = N (raw), label = bool,
--           question = text, gold = "18" }
--
-- Used by tests/evals/test-gsm8k-solutions.lua (agreement floors) and
-- bench/agreement.lua (before/after figures per class).

local M = {}

local format, match, gsub = string.format, string.match, string.gsub


-- The last number of the question that differs from the answer: a given.
local function given(ctx)
    local last
    for n in ctx.question:gmatch("%$?(%d[%d,]*%.?%d*)") do
        n = gsub(gsub(n, ",", ""), "%.$", "")
        if tonumber(n) and tonumber(n) ~= tonumber(ctx.answer)
           and tonumber(n) ~= tonumber(ctx.gold) then last = n end
    end
    return last
end


local function int(ctx) return match(ctx.answer, "^%d+$") and tonumber(ctx.answer) end


local function json_string(s)
    return '"' .. gsub(gsub(gsub(s, "\\", "\\\\"), '"', '\\"'), "\n", "\\n") .. '"'
end


-- The working cut inside its last equation, before the result: "... = ".
local function cut_mid(ctx)
    local w = gsub(ctx.working, "<<[^>]*>>", "")
    local head = match(w, "^(.*=)%s*%$?%d[^\n]*$")
    if not head or #head < 20 then return nil end
    return head
end


M.list = {
    { name = "as written", class = "-", rewrite = function(c)
        return c.working .. "\nA: " .. c.answer, c.label end },

    -- 1. a concluding sentence restating a given after the answer
    { name = "restated given after", class = "1", rewrite = function(c)
        local g = given(c)
        if not g then return nil end
        return c.working .. "\nSo the result is " .. c.answer .. ", working from the "
               .. g .. " in the problem.", c.label end },
    { name = "restated given before (look-alike)", class = "1", rewrite = function(c)
        local g = given(c)
        if not g then return nil end
        return c.working .. "\nStarting from the " .. g .. " in the problem, the result is "
               .. c.answer .. ".", c.label end },

    -- 2. structured answers
    { name = "json answer", class = "2", rewrite = function(c)
        return "```json\n{\"reasoning\": " .. json_string(c.working) .. ", \"answer\": \""
               .. c.answer .. "\"}\n```", c.label end },
    { name = "json unknown", class = "2", rewrite = function(c)
        return "{\"reasoning\": " .. json_string(c.working)
               .. ", \"answer\": \"Cannot be determined\"}", false end },

    -- 3. two different final answers; the look-alike is a self-correction
    { name = "two final answers", class = "3", rewrite = function(c)
        local n = int(c)
        if not n then return nil end
        local other = (c.answer ~= c.gold) and c.gold or tostring(n + 1)
        return c.working .. "\nAnswer: " .. c.answer .. "\nThe final answer is " .. other
               .. ".", false end },
    { name = "self-correction (look-alike)", class = "3", rewrite = function(c)
        local n = int(c)
        if not n then return nil end
        return "Answer: " .. (n + 1) .. "\nWait, let me recheck that.\n" .. c.working
               .. "\nAnswer: " .. c.answer, c.label end },

    -- 4. cut off mid-working
    { name = "cut off mid-equation", class = "4", rewrite = function(c)
        local head = cut_mid(c)
        if not head then return nil end
        return head, false end },
    { name = "cut off mid-sentence", class = "4", rewrite = function(c)
        local head = cut_mid(c)
        if not head then return nil end
        return gsub(head, "=$", "gives the"), false end },

    -- 5. run-on text after the answer
    { name = "invented next turn", class = "5", rewrite = function(c)
        return c.working .. "\nThe answer is " .. c.answer .. ".\n\nUser: Thanks! Now: Tom has "
               .. "3 apples and buys 4 more. How many?\nAssistant: 3 + 4 = 7. The answer is 7.",
               c.label end },
    { name = "repeated question", class = "5", rewrite = function(c)
        return c.working .. "\nSo the result is " .. c.answer .. ".\n\n" .. c.question,
               c.label end },

    -- 6. headings and labels
    { name = "heading then sentence", class = "6", rewrite = function(c)
        return c.working .. "\n\n### Final Answer:\nThe result is " .. c.answer .. ".",
               c.label end },

    -- 7. several quantities
    { name = "list of two numbers", class = "7", rewrite = function(c)
        local g = given(c)
        if not g then return nil end
        return c.working .. "\nAnswer: " .. c.answer .. ", " .. g, false end },
    { name = "thousands comma (look-alike)", class = "7", rewrite = function(c)
        local n = int(c)
        if not n or n < 1000 then return nil end
        local s = tostring(n):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
        return c.working .. "\nAnswer: " .. s, c.label end },

    -- 8. number forms
    { name = "scale word", class = "8", rewrite = function(c)
        local n = int(c)
        if not n or n < 1000 or n % 100 ~= 0 then return nil end
        local v = n / 1000
        local s = (v == math.floor(v)) and format("%d", v) or format("%g", v)
        return c.working .. "\nAnswer: " .. s .. " thousand", c.label end },
    { name = "scientific notation", class = "8", rewrite = function(c)
        local n = int(c)
        if not n or n < 100 or n % 10 ~= 0 then return nil end
        local k, m = 0, n
        while m % 10 == 0 do m, k = m // 10, k + 1 end
        return c.working .. "\nAnswer: " .. m .. " \\times 10^{" .. k .. "}", c.label end },
    { name = "hedged", class = "8", rewrite = function(c)
        local n = int(c)
        if not n then return nil end
        return c.working .. "\nAnswer: about " .. n .. " or " .. (n + 1), false end },
}


return M
