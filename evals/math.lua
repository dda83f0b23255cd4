-- evals/math.lua: the answer of a reply to a MATH problem, for suites such
-- as scripts/math500.lua. extract(text) -> answer, rule: evals/latex.lua's
-- extract (the last balanced \boxed{}, answer anchors, math spans); when that
-- finds only a bare number, a last line "#### X", "**X**", "Final answer: X"
-- or "The answer is X" gives the whole expression X instead (rules marker,
-- bold, final_line, answer_is). equal(a, b) is latex.equal.
local latex = require "evals.latex"

local M = {}

local LAST_LINE = { { "####%s*(.-)", "marker" }, { "%*%*(.-)%*%*", "bold" },
                    { "[Ff]inal [Aa]nswer:%s*(.-)", "final_line" }, { "[Tt]he answer is:?%s*(.-)", "answer_is" } }

function M.extract(text)
    local a, rule = latex.extract(text)
    if a and rule ~= "last_number" then return a, rule end
    local last = text:match("([^\n]*)%s*$")
    for _, r in ipairs(LAST_LINE) do
        local m = last:match("^%s*" .. r[1] .. "%.?%s*$")
        if m and m ~= "" then return m, r[2] end
    end
    return a, rule
end

M.equal = latex.equal

return M
