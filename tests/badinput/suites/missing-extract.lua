-- a suite without the required field `extract`
local g = require "evals.gsm8k"
return { name = "no-extract", version = "1", prompt = g.prompt, gold = g.gold, correct = g.correct }
