-- selfcheck.lua: GSM8K with a self-check turn: ask, then ask the model to
-- check its answer; the second turn is graded, the first answer recorded.
local gsm8k = require "gsm8k"
local CHECK = "Here is the problem again:\n\n%s\n\nCheck your answer above step by step. If it is wrong, correct it. "
    .. "End with the final answer on its own line as \"#### N\"."
return {
    name = "gsm8k_selfcheck",
    dataset = gsm8k.dataset,
    gold = gsm8k.gold,
    solve = function(item, ctx)
        local messages = gsm8k.prompt(item, ctx)
        local first = ctx.chat { messages = messages }
        local second = ctx.chat { messages = ctx.follow_up(messages, first, CHECK:format(item.question)) }
        local a1, a2 = gsm8k.extract(first.content), gsm8k.extract(second.content)
        return { value = a2 ~= nil and gsm8k.correct(a2, ctx.gold), answer = a2,
                 metadata = { first_answer = a1, first_correct = a1 ~= nil and gsm8k.correct(a1, ctx.gold) } }
    end,
}
