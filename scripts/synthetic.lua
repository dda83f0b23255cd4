-- synthetic.lua: writes N grade-school word problems that the project makes
-- itself (evals/synthetic.lua), as GSM8K-shaped JSONL on stdout. For a demo
-- or a test on a machine without GSM8K; they are not GSM8K.
--
--   ollaeval scripts/synthetic.lua --n 200 --seed 1 > synthetic.jsonl
-- It runs sandboxed, so its output is capped by --lua-print (1 MiB, about
-- 3,000 problems): add --lua-print BYTES for more.
local cjson = require "cjson"
local synthetic = require "evals.synthetic"

local opt = options {
    { name = "n", type = "integer", default = 1319, min = 0, help = "how many problems" },
    { name = "seed", type = "integer", default = 0, help = "which problems (the same seed gives the same file)" },
}
for _, item in ipairs(synthetic.items(opt.n, opt.seed)) do
    -- GSM8K's own layout: question first, ", " between the fields
    local line = '{"question": ' .. cjson.encode(item.question) .. ', "answer": ' .. cjson.encode(item.answer) .. "}"
    print((line:gsub("\\/", "/")))
end
return 0
