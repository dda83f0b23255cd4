-- evals/judge.lua: an LLM as the grader. grade(ctx, t) asks a judge model,
-- through ctx.chat (so the call is recorded as "judge"), whether an answer
-- matches a reference, and returns the score: {value=, answer=,
-- explanation = the judge's reply, metadata = {verdict=}}, or {unscored =
-- "the judge gave no verdict"} when its reply has no "VERDICT: CORRECT" or
-- "VERDICT: INCORRECT". t = {question=, reference=, answer= (the reply
-- graded), extracted= (recorded as the answer), model= (default -m),
-- prompt= (a format string of question, reference, answer; default PROMPT)}.
local M = {}

M.PROMPT = [[You are grading a student's answer to a problem.

Problem:
%s

Reference solution:
%s

Student's answer:
%s

Is the student's final answer the same as the reference's? Reply with one line of reasoning,
then a last line "VERDICT: CORRECT" or "VERDICT: INCORRECT".]]

function M.grade(ctx, t)
    local res = ctx.chat { name = "judge", model = t.model, options = { temperature = 0 },
        messages = { { role = "user", content = (t.prompt or M.PROMPT):format(t.question, t.reference, t.answer) } } }
    local verdict = res.content:match("VERDICT:%s*(%u+)[^\n]*%s*$") or res.content:match("VERDICT:%s*(%u+)")
    if verdict ~= "CORRECT" and verdict ~= "INCORRECT" then return { unscored = "the judge gave no verdict" } end
    return { value = verdict == "CORRECT", answer = t.extracted, explanation = res.content,
             metadata = { verdict = verdict } }
end

return M
