-- evals/gsm8k_synthetic.lua: the GSM8K suite's prompt and grading on the
-- project's own synthetic word problems (evals/synthetic.lua), for the demo
-- and dry runs on a machine without GSM8K. Its name is "synthetic", so the
-- table, summary.json and the run folder never call these problems GSM8K.
-- It names no dataset to fetch: pass the file with --dataset
-- (`ollaeval scripts/synthetic.lua --n N > FILE` writes one).
local gsm8k = require "evals.gsm8k"

local M = {}
for k, v in pairs(gsm8k) do M[k] = v end

M.name = "synthetic"
M.version = "1"
M.note = "synthetic problems made by evals/synthetic.lua, not GSM8K"
M.dataset = nil
M.train = nil
M.options = nil

function M.id(_, index)
    return string.format("synthetic-%04d", index)
end

return M
