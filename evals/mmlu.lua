-- evals/mmlu.lua: multiple-choice questions with lettered choices (MMLU and
-- its kind): the prompt's choice list and the letter in a reply.
--
--   LETTERS              "A".."J"
--   choices(list)        "A. first\nB. second\n..."
--   prompt(item)         the chat messages for {question=, choices=, type=}:
--                        the subject, the question, the lettered choices, and
--                        "Answer: X" asked for
--   letter(text, n)      -> letter, rule  or  nil, "no_letter": the letter
--                           (of the first n) the reply chose; rules in order:
--     marker      "#### C"
--     answer      "Answer: C", "The (final/correct) answer is (C)", "answer is **C**"
--     boxed       "\boxed{C}", "\boxed{\text{C}}"
--     line        a line that is only the letter: "C", "(C)", "C.", "C)", "**C**",
--                 or starts with it and a choice text: "C) 42", "**C.** 42"
--     option      "option C", "choice C"
--     last_letter the last stand-alone capital letter among the first n
--   A later match of the same rule wins ("Answer: B ... Answer: C" is C).
local M = {}

M.LETTERS = { "A", "B", "C", "D", "E", "F", "G", "H", "I", "J" }

function M.choices(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = M.LETTERS[i] .. ". " .. tostring(c) end
    return table.concat(out, "\n")
end

function M.prompt(item)
    return { { role = "user", content = string.format(
        "The following is a multiple choice question about %s.\n\n%s\n\n%s\n\n"
        .. "Answer with the letter of the correct choice, ending with \"Answer: X\".",
        (tostring(item.type or "a subject"):gsub("_", " ")), item.question, M.choices(item.choices)) } }
end

local RULES = {
    { "marker", { "####%s*%(?%**([A-J])%f[^%w]" } },
    { "answer", { "[Aa]nswer%s*:%s*%**%s*%(?([A-J])%f[^%w]", "[Aa]nswer%s+is%s*:?%s*%**%s*%(?([A-J])%f[^%w]",
                  "ANSWER%s*:%s*%(?([A-J])%f[^%w]" } },
    { "boxed", { "\\boxed%s*{%s*([A-J])%s*}", "\\boxed%s*{%s*\\text%s*{%s*([A-J])%s*}%s*}" } },
    { "line", { "\n%s*%**%(?([A-J])[%.%)]?%**%s*\n", "\n%s*%**%(?([A-J])[%.%)]%**%s+[^\n]*" } },
    { "option", { "[Oo]ption%s+%(?([A-J])%f[^%w]", "[Cc]hoice%s+%(?([A-J])%f[^%w]" } },
}

function M.letter(text, n)
    if type(text) ~= "string" then return nil, "no_letter" end
    n = n or 10
    local t = "\n" .. text .. "\n"
    local function ok(l) return l and l:byte() - 64 <= n end
    for _, r in ipairs(RULES) do
        local best, at
        for _, pat in ipairs(r[2]) do
            local init = 1
            while true do
                local s, e, l = t:find(pat, init)
                if not s then break end
                if ok(l) and (not at or s > at) then best, at = l, s end
                init = s + 1
            end
        end
        if best then return best, r[1] end
    end
    local last
    for l in t:gmatch("%f[%w]([A-J])%f[^%w]") do
        if ok(l) then last = l end
    end
    if last then return last, "last_letter" end
    return nil, "no_letter"
end

return M
