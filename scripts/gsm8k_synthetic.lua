-- gsm8k_synthetic.lua: the GSM8K suite (gsm8k.lua beside this file) on the
-- project's own synthetic word problems (evals/synthetic.lua); what
-- `make demo` runs when GSM8K is not at hand. Its name is "synthetic", so
-- the table, summary.json and the run folder never call them GSM8K. The
-- problems come with --dataset:
--   ollaeval scripts/synthetic.lua --n 200 > problems.jsonl
--   ollaeval scripts/gsm8k_synthetic.lua -m qwen3:8b --dataset problems.jsonl
local suite = {}
for k, v in pairs(require "gsm8k") do suite[k] = v end
suite.name, suite.dataset, suite.train = "synthetic", nil, nil
suite.note = "synthetic problems made by evals/synthetic.lua, not GSM8K"
suite.id = function(_, index) return string.format("synthetic-%04d", index) end
return suite
