-- gsm8k_maj.lua: GSM8K (gsm8k.lua beside this file), five samples per item
-- at temperature 0.7, each with its own seed: maj@5 (majority vote over the
-- answers, compared as numbers), pass@1 and pass@5 (unbiased estimator).
--   ollaeval scripts/gsm8k_maj.lua -m qwen3:8b [--samples 10 --temperature 0.9]
local numeric = require "evals.numeric"

local suite = {}
for k, v in pairs(require "gsm8k") do suite[k] = v end
suite.name = "gsm8k_maj"
suite.samples = 5
suite.defaults = { temperature = 0.7 }
suite.metrics = { "maj@5", "pass@1", "pass@5" }
suite.vote = function(answer) return numeric.normalize(answer) or answer end
return suite
