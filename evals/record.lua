-- record.lua: the sample record, one line of samples.jsonl per item: what
-- was asked, what came back, how it was graded. The schema is written once,
-- here (and as a table in docs/suites.md); the runner only calls these.
--
-- Every record:
--   id                 the suite's id for the item (suite.id(item, index)), else index
--   index              1-based position of the item in the dataset (after --limit)
--   error              absent when the item was scored; else what went wrong
-- A scored record (the request succeeded and the suite graded the answer):
--   messages           the chat messages sent
--   gold               the reference answer (suite.gold)
--   content            the model's reply as received
--   thinking           the reasoning the server returned apart, or absent
--   reasoning_status   suite.split's verdict on inline reasoning ("ok", "unclosed", ...)
--   answer, rule       the extracted answer and the rule that found it (null: none)
--   correct            suite.correct(answer, gold); false without an answer
--   strict_answer      the answer in the prompt's required format (suite.strict), or absent
--   strict_correct     the same test on strict_answer
--   done_reason        why generation stopped ("stop", "length": truncated)
--   prompt_tokens, completion_tokens, thinking_tokens   as the server counted them
--   ttft_ms, itl_ms    time to first token and mean inter-token latency (--stream)
--   latency_ms         from send to the last byte, of the attempt that succeeded
--   attempts           requests made for this item (1 + retries; 0 when cached)
--   cached             true when the answer came from the request cache (--cache)
-- A request that failed after its retries (redone on resume):
--   messages, gold     as above
--   error              the message, naming the request ("HTTP 500 from URL: ...")
--   error_kind         "http", "timeout", "connection", "protocol", ...
--   attempts           requests made
-- An error raised by the suite's own code for this item (redone on resume):
--   line               the item's line in the dataset file
--   error              the message with its traceback
--   error_kind         "script"
local M = {}

local floor = math.floor


-- The item as it travels through the runner: {item=, index=, line=}.

-- scored(suite, it, id, messages, gold, res) -> record
-- res is chat{}'s result.
function M.scored(suite, it, id, messages, gold, res)
    local text, rstatus
    if suite.split then
        local _
        text, _, rstatus = suite.split(res.content, res.thinking)
    else
        text, rstatus = res.content, "ok"
    end
    local answer, rule = suite.extract(text)
    local strict_answer = suite.strict and suite.strict(text) or nil
    local rec = {
        id = id, index = it.index, messages = messages, gold = gold,
        content = res.content, thinking = res.thinking, reasoning_status = rstatus,
        answer = answer, rule = answer and rule or nil,
        correct = answer ~= nil and suite.correct(answer, gold) or false,
        strict_answer = strict_answer,
        strict_correct = strict_answer ~= nil and suite.correct(strict_answer, gold) or false,
        done_reason = res.done_reason,
        prompt_tokens = res.prompt_tokens, completion_tokens = res.completion_tokens,
        thinking_tokens = res.thinking_tokens,
        latency_ms = floor(res.latency_ms * 1000 + 0.5) / 1000,
        attempts = res.attempts, cached = res.cached,
    }
    if res.ttft_ms then rec.ttft_ms, rec.itl_ms = res.ttft_ms, res.itl_ms end
    return rec
end


-- failed(it, id, messages, gold, err, kind, info) -> record
-- err, kind, info: what chat{} returned instead of a result.
function M.failed(it, id, messages, gold, err, kind, info)
    return { id = id, index = it.index, messages = messages, gold = gold,
             error = err, error_kind = kind, attempts = info and info.attempts }
end


-- script_error(it, id, traceback) -> record
function M.script_error(it, id, traceback)
    return { id = id, index = it.index, line = it.line, error = traceback, error_kind = "script" }
end


return M
