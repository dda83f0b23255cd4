-- judge.lua: GSM8K graded by an LLM judge (--judge-model, default -m) against
-- the reference solution; verdict and explanation recorded (evals/judge.lua).
local gsm8k, judge = require "gsm8k", require "evals.judge"
return {
    name = "gsm8k_judge",
    dataset = gsm8k.dataset,
    options = { { name = "judge-model", arg = "MODEL", help = "the model that grades (default: -m)" } },
    models = function(opt) return { opt["judge-model"] } end,   -- preflighted with -m
    solve = function(item, ctx)
        local reply = ctx.chat { messages = gsm8k.prompt(item, ctx) }.content
        return judge.grade(ctx, { model = ctx.opt["judge-model"], question = item.question,
            reference = item.answer, answer = reply, extracted = gsm8k.extract(reply) })
    end,
}
