-- GSM8K, except that building the prompt of any item that mentions pens
-- raises: one item's bug, which the runner records as that item's error.
local g = require "evals.gsm8k"
local s = {}
for k, v in pairs(g) do s[k] = v end
s.name = "item-error"
local function build(item, opts)
    if item.question:find("pens", 1, true) then error("no pens allowed") end
    return g.prompt(item, opts)
end
function s.prompt(item, opts) return build(item, opts) end
return s
