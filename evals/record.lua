-- record.lua: the sample record, one line of samples.jsonl per item: what
-- was asked, every call made, what came back, how it was scored. The schema
-- is written once, here (and as a table in docs/suites.md); the runner only
-- calls these.
--
-- Every record:
--   id                 the suite's id for the item (suite.id(item, index)), else index
--   index              1-based position of the item in the dataset (after --limit)
--   group              the item's group (suite.group_by), if the suite has one
--   metadata           the item's metadata (suite.metadata), if the suite has one
--   error              absent when the item was scored; else what went wrong
-- A scored record (every call succeeded and the suite scored the item):
--   messages           the messages of the graded call: the last call of the first sample
--   gold               the reference answer (suite.gold), if the suite has one
--   content, thinking  that call's reply, and the reasoning the server returned apart
--   reasoning_status   suite.split's verdict on inline reasoning ("ok", "unclosed", ...)
--   answer, rule, span the answer, the rule that found it, and its bytes {s, e} in
--                      content when extract gave them (null: none)
--   score              the first sample's score in [0, 1]; absent when unscored
--   correct            score == 1; absent when unscored
--   unscored           the reason the item is not scored (suite said so; not wrong)
--   explanation        why, as the suite (a judge) gave it
--   score_metadata     what the suite's score carried in `metadata`
--   strict_answer      the answer in the prompt's required format (suite.strict), or absent
--   strict_correct     the same test on strict_answer
--   done_reason        why that call's generation stopped ("stop", "length": truncated)
--   truncated_thinking true when a call ran out of tokens while thinking
--                      (done_reason "length", empty content): raise --num-predict
--   prompt_tokens, completion_tokens, thinking_tokens   summed over every call
--   ttft_ms, itl_ms    time to first token, mean inter-token latency (--stream)
--   latency_ms         summed over every call (each from send to its last byte)
--   attempts           requests made for the item (every call, 1 + retries each)
--   cached             true when the graded call came from the request cache (--cache)
--   overloads          503/429 replies it waited out, every call (back-pressure, not retries)
--   calls              one sample: every call, in order, as {name, model, endpoint,
--                      messages, content, thinking, done_reason, prompt_tokens,
--                      completion_tokens, thinking_tokens, latency_ms, attempts,
--                      final_url (only when a redirect was followed)};
--                      the graded call leaves out messages, content and thinking
--                      (they are the record's own)
--   samples            several samples (suite.samples > 1): per sample {sample,
--                      seed, score, correct, unscored, answer, rule, explanation,
--                      calls} (calls in full), and the top-level fields are the first's
--   scores, answers    several samples: each sample's score (null when unscored)
--                      and answer, in sample order
--   vote, votes        the answer as the majority vote counts it (suite.vote(answer)),
--                      when the suite has vote
-- A request that failed after its retries (redone on resume):
--   messages, gold     as above (messages of the failed call)
--   error              the message, naming the request ("HTTP 500 from URL: ...")
--   error_kind         "http", "timeout", "connection", "protocol", ...
--   attempts, calls    as above, up to the failed call
-- An error raised by the suite's own code for this item (redone on resume):
--   line               the item's line in the dataset file
--   error              the message with its traceback
--   error_kind         "script"
local cjson = require "cjson"

local M = {}

local null = cjson.null


local function all_calls(samples)
    if #samples == 1 then return samples[1].calls or {} end
    local list = {}
    for _, s in ipairs(samples) do
        for _, c in ipairs(s.calls or {}) do list[#list + 1] = c end
    end
    return list
end

local function empty(s) return s == nil or s == null or not tostring(s):find("%S") end

-- The request figures of every call: each summed over the calls that have
-- it (none has it: nil; tokens: 0), and whether one ran out of tokens while
-- thinking. One pass.
local function sums(calls)
    local pt, ct, tt, lat, att, ov, tthink
    for i = 1, #calls do
        local c = calls[i]
        local v = c.prompt_tokens
        if v then pt = (pt or 0) + v end
        v = c.completion_tokens
        if v then ct = (ct or 0) + v end
        v = c.thinking_tokens
        if v then tt = (tt or 0) + v end
        v = c.latency_ms
        if v then lat = (lat or 0) + v end
        v = c.attempts
        if v then att = (att or 0) + v end
        v = c.overloads
        if v then ov = (ov or 0) + v end
        if c.done_reason == "length" and empty(c.content) then tthink = true end
    end
    return pt or 0, ct or 0, tt, lat, att, ov, tthink
end

-- Fills the request figures of rec from every call.
local function figures(rec, calls)
    rec.prompt_tokens, rec.completion_tokens, rec.thinking_tokens, rec.latency_ms, rec.attempts, rec.overloads,
        rec.truncated_thinking = sums(calls)
end

-- correct from a score: true at 1, false below, nil when unscored
local function verdict(v)
    if v == nil then return nil end
    return v == 1
end


local function base(it, id, gold, group, meta)
    return { id = id, index = it.index, gold = gold, group = group, metadata = meta }
end

local NONE = {}


-- item(it, id, gold, samples, group, meta) -> the record of a scored item.
-- samples: what evals/solve.lua's sample() returned, in sample order, given
-- away to the record: with one sample its calls become the record's, the
-- graded call left without the text the record holds itself.
function M.item(it, id, gold, samples, group, meta)
    local s1 = samples[1]
    local calls = s1.calls
    local c = calls[#calls] or NONE
    local value = s1.value
    local pt, ct, tt, lat, att, ov, tthink = sums(all_calls(samples))
    -- every field at once: one table, sized once
    local rec = { id = id, index = it.index, gold = gold, group = group, metadata = meta,
        messages = c.messages, content = c.content, thinking = c.thinking, done_reason = c.done_reason,
        ttft_ms = c.ttft_ms, itl_ms = c.itl_ms, cached = c.cached,
        reasoning_status = s1.reasoning_status, answer = s1.answer, vote = s1.vote, rule = s1.rule, span = s1.span,
        score = value, unscored = s1.unscored, correct = verdict(value),
        explanation = s1.explanation, score_metadata = s1.score_metadata,
        strict_answer = s1.strict_answer, strict_correct = s1.strict_correct,
        prompt_tokens = pt, completion_tokens = ct, thinking_tokens = tt, latency_ms = lat, attempts = att,
        overloads = ov, truncated_thinking = tthink, calls = nil }
    if #samples == 1 then
        if c ~= NONE then c.messages, c.content, c.thinking = nil, nil, nil end
        rec.calls = calls
    else
        rec.samples, rec.scores, rec.answers = {}, {}, {}
        rec.vote = nil
        local votes, any = {}, false
        for i, s in ipairs(samples) do
            rec.samples[i] = { sample = s.sample, seed = s.seed, score = s.value, unscored = s.unscored,
                correct = verdict(s.value), answer = s.answer, rule = s.rule,
                explanation = s.explanation, score_metadata = s.score_metadata, calls = s.calls }
            rec.scores[i] = s.value == nil and null or s.value
            rec.answers[i] = s.answer == nil and null or s.answer
            votes[i] = s.vote == nil and null or s.vote
            any = any or s.vote ~= nil
        end
        if any then rec.votes = votes end
    end
    return rec
end


-- failed(it, id, gold, e, calls, group, meta) -> record
-- e: what ctx.chat raised ({err=, kind=, info=}).
function M.failed(it, id, gold, e, calls, group, meta)
    local rec = base(it, id, gold, group, meta)
    local c = calls[#calls]
    rec.messages = c and c.messages
    rec.error, rec.error_kind = e.err, e.kind
    figures(rec, calls)
    rec.calls = calls
    return rec
end


-- script_error(it, id, traceback, calls) -> record
function M.script_error(it, id, traceback, calls)
    local rec = { id = id, index = it.index, line = it.line, error = traceback, error_kind = "script" }
    if calls and #calls > 0 then rec.calls = calls end
    return rec
end


return M
