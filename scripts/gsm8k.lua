-- gsm8k.lua: evaluate a model on GSM8K, 1,319 grade-school math problems.
--
--   ollaeval scripts/gsm8k.lua -m qwen3:8b                 # all of it
--   ollaeval scripts/gsm8k.lua -m qwen3:8b --limit 50 -c 8 # a quick look
--   ollaeval scripts/gsm8k.lua --help                      # every option
--
-- The suite itself (prompt, answer extraction, grading) is evals/gsm8k.lua;
-- evals/runner.lua does the rest: concurrency, progress, the run folder
-- (samples.jsonl, summary.json), resume and Ctrl-C. To write a new suite,
-- copy evals/gsm8k.lua and this file, and change the module name below.
local runner = require "evals.runner"
local suite = require "evals.gsm8k"

local opt = options(runner.options_for(suite))
return runner.run(suite, package.searchpath("evals.gsm8k", package.path), opt)
