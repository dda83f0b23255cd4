-- gsm8k_synthetic.lua: the GSM8K prompt and grading on synthetic problems
-- (evals/gsm8k_synthetic.lua); what `make demo` runs when GSM8K is not at
-- hand. The problems come with --dataset:
--
--   ollaeval scripts/synthetic.lua --n 200 > problems.jsonl
--   ollaeval scripts/gsm8k_synthetic.lua -m qwen3:8b --dataset problems.jsonl
return require("evals.runner").main("evals.gsm8k_synthetic")
