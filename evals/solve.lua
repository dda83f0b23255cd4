-- solve.lua: one sample of one item, in the item's coroutine: the context a
-- suite's solve(item, ctx) gets, the declarative path (prompt, one chat,
-- extract, correct) as the default solve, and the score it returns made
-- into one shape. Every ctx.chat{} call is recorded (calls) and counted in
-- the run's counters (st).
--
--   sample(run, it, id, gold, j) -> s: {sample=, seed=, value= (nil when
--       unscored), unscored=, answer=, rule=, span=, explanation=,
--       score_metadata=, strict_answer=, strict_correct=, calls={...}}
--   raises {request=true, err=, kind=, info=} when a call failed after its
--   retries (ctx.chat raises it; the runner records a failed item) and the
--   suite's own errors as they are.
--   seed_of(seed, j) -> the seed of sample j (sample 1: --seed itself)
--   score(v) -> s  or  nil, err: a solve() result as {value=, ...}
local sandbox = require "ollaeval.sandbox"

local M = {}

local format, floor = string.format, math.floor

-- Sample j's seed: --seed for the first, then a hash of (--seed, j), so
-- that seeds of different runs and samples do not collide by arithmetic.
function M.seed_of(seed, j)
    if j == 1 then return seed end
    local h = ollaeval.sha256(format("%d/%d", seed, j))
    return tonumber(h:sub(1, 7), 16)
end


-- score(v [, own]): what solve() or correct() returned, as {value=,
-- unscored=, ...}; a table v is copied, unless own (the caller's own
-- table, as grade() makes it: then v itself is made the score).
function M.score(v, own)
    if v == true or v == false then return { value = v and 1 or 0 } end
    if type(v) == "number" then
        if v ~= v or v < 0 or v > 1 then return nil, format("a score must be in [0, 1], not %s", tostring(v)) end
        return { value = v }
    end
    if type(v) == "table" then
        local s = v
        if not own then
            s = {}
            for k, x in pairs(v) do s[k] = x end
        end
        if v.unscored ~= nil then
            s.value, s.unscored = nil, tostring(v.unscored)
            return s
        end
        local x = v.value
        if x == true or x == false then
            s.value = x and 1 or 0
            return s
        elseif type(x) == "number" and x >= 0 and x <= 1 then
            s.value = x
            return s
        end
        local inner, err = M.score(x)
        if not inner or type(v.value) == "table" then
            return nil, "a score table needs value = true, false or a number in [0, 1] (or unscored = REASON)"
                .. (err and (": " .. err) or "")
        end
        s.value = inner.value
        return s
    end
    return nil, format("solve() returned %s: return true/false, a number in [0, 1], {value=, answer=, "
        .. "explanation=, metadata=} or {unscored = REASON}", v == nil and "nothing" or type(v))
end


-- The record of one call (one table, its fields set at once: 16 of them,
-- the size of the table; final_url, rare, is a 17th).
local function call_record(req, model, res, err, kind, info)
    if res then
        local ttft, lat = res.ttft_ms, res.latency_ms
        local c = { name = req.name, model = res.model or model, messages = req.messages, endpoint = res.endpoint,
            content = res.content, thinking = res.thinking, done_reason = res.done_reason,
            prompt_tokens = res.prompt_tokens, completion_tokens = res.completion_tokens,
            thinking_tokens = res.thinking_tokens,
            latency_ms = lat and floor(lat * 1000 + 0.5) / 1000, attempts = res.attempts, overloads = res.overloads,
            cached = res.cached, ttft_ms = ttft and res.ttft_ms, itl_ms = ttft and res.itl_ms }
        local fu = res.final_url -- (where a redirect ended)
        if fu ~= nil then c.final_url = fu end
        return c
    end
    return { name = req.name, model = model, messages = req.messages,
        endpoint = info and info.endpoint, error = err, error_kind = kind, attempts = info and info.attempts,
        overloads = info and info.overloads }
end


-- The status codes of a server that refuses every request alike.
local REFUSED = { [400] = true, [401] = true, [403] = true, [404] = true }


-- The run's generation options (run.gen) hold the four the runner sets, and
-- no other: known once per run.gen table.
local PLAIN = { temperature = true, seed = true, num_predict = true, num_ctx = true }
local plain = setmetatable({}, { __mode = "k" }) -- run.gen -> true | false
local function is_plain(g)
    for k in pairs(g) do if not PLAIN[k] then return false end end
    return true
end

local function make_ctx(run, it, id, gold, j, calls)
    local st, O = run.st, ollaeval.options
    local seed = j == 1 and O.seed or M.seed_of(O.seed, j)
    -- (the tables below are made at their size: a constructor's fields,
    -- nil or not, size the table; filling it then moves nothing)
    local g, gen = run.gen, nil
    if plain[g] == nil then plain[g] = is_plain(g) end
    if plain[g] then -- (the runner's four, copied by name)
        gen = { temperature = g.temperature, seed = seed, num_predict = g.num_predict, num_ctx = g.num_ctx }
    else
        gen = { temperature = nil, seed = nil, num_predict = nil, num_ctx = nil }
        for k, v in pairs(g) do gen[k] = v end
        gen.seed = seed
    end
    -- the run's options and few-shot pool are the same for every item: a
    -- sandboxed suite gets one copy of each for the run (sandbox.constant)
    local ctx = {
        item = it.item, index = it.index, id = id, gold = gold, sample = j, samples = run.spec.samples,
        seed = O.seed, sample_seed = seed, opt = sandbox.constant(run.opt), options = gen, calls = calls,
        model = run.model, shots = run.prompt_opts.shots,
        fewshot_pool = sandbox.constant(run.prompt_opts.fewshot_pool), follow_up = M.follow_up,
    }
    -- ctx.chat{...}: chat{} with the run's generation options (a request's
    -- own options win), recorded; raises when the request failed.
    -- send(r, req): r, the engine's own copy of the suite's req, sent
    local function send(r, req)
        local ro = req.options
        local o = gen -- (chat{} only reads it, while it sends)
        if ro then
            o = { temperature = nil, seed = nil, num_predict = nil, num_ctx = nil }
            for k, v in pairs(gen) do o[k] = v end
            for k, v in pairs(ro) do o[k] = v end
        end
        r.options, r.name = o, nil
        if r.sample == nil then r.sample = j end -- the request cache keeps the samples of an item apart
        if r.think == nil then r.think = run.think end
        local model = r.model or run.model
        local res, err, kind, info = chat(r)
        local c = call_record(req, model, res, err, kind, info)
        calls[#calls + 1] = c
        st.calls = st.calls + 1
        if res then
            st.tokens = st.tokens + (res.completion_tokens or 0)
            return res
        end
        local status = info and info.status
        if kind ~= "context" and REFUSED[status] then -- (a prompt over the context fails its item only)
            run.fatal = run.fatal or (err .. ((status == 401 or status == 403) and " (check the API key)" or ""))
        end
        error({ request = true, err = err, kind = kind, info = info, calls = calls }, 0)
    end
    local function ctx_chat(req)
        if type(req) ~= "table" then error("ctx.chat{}: expected a table", 2) end
        local r = { messages = nil, options = nil, sample = nil, think = nil }
        for k, v in pairs(req) do r[k] = v end
        return send(r, req)
    end
    ctx.chat = ctx_chat
    -- ctx is the suite's from here on: the engine keeps what it needs
    -- (send, seed), and a sandboxed suite gets ctx itself, not a copy
    return sandbox.handover(ctx), send, seed
end

-- ctx.follow_up(messages, res, text): the conversation so far, the model's
-- reply (res of ctx.chat) and the user's next turn, as a new list.
function M.follow_up(messages, res, text)
    local m = { table.unpack(messages) }
    m[#m + 1] = { role = "assistant", content = res.content }
    m[#m + 1] = { role = "user", content = text }
    return m
end


-- grade(suite, res, gold, item) -> the sample's verdict {value=, answer=,
-- rule=, span=, reasoning_status=, strict_answer=, strict_correct=, ...}:
-- a reply (res: content, thinking) graded by the declarative fields (split,
-- extract, correct, strict). The run's declarative path and `ollaeval
-- rescore` both use it, so a rescore grades exactly as a run does.
function M.grade(suite, res, gold, item)
    -- (made at its size, with room for what sample() adds: nothing moves)
    local text, s = res.content, { answer = nil, rule = nil, span = nil, value = nil, reasoning_status = nil,
        strict_answer = nil, strict_correct = nil, sample = nil, seed = nil, calls = nil }
    if suite.split then
        local t, _, status = suite.split(res.content, res.thinking)
        text, s.reasoning_status = t, status
    end
    local answer, rule, from, to = suite.extract(text, item)
    s.answer, s.rule = answer, answer ~= nil and rule or nil
    if answer ~= nil and type(from) == "number" and type(to) == "number" then s.span = { from, to } end
    local v = false
    if answer ~= nil then v = suite.correct(answer, gold, item) end
    if v == nil then v = false end
    if type(v) == "table" then
        for k, x in pairs(v) do if s[k] == nil then s[k] = x end end
        s.value = v.value
    else
        s.value = v
    end
    if suite.strict then
        s.strict_answer = suite.strict(text)
        s.strict_correct = s.strict_answer ~= nil and suite.correct(s.strict_answer, gold, item) == true or false
    end
    return s
end


-- The declarative path: prompt, one call, extract, correct.
local function declarative(run, item, ctx, send, gold)
    local suite = run.spec.suite
    local messages = suite.prompt(item, ctx)
    -- (the request is the engine's own: sent as it is, not copied)
    local r = { messages = messages, options = nil, sample = nil, think = nil }
    local res = send(r, r)
    return M.grade(suite, res, gold, item)
end


function M.sample(run, it, id, gold, j)
    local calls = { nil } -- (room for the one call of most samples)
    local ctx, send, seed = make_ctx(run, it, id, gold, j, calls)
    local suite = run.spec.suite
    local v
    if suite.solve then
        v = suite.solve(it.item, ctx)
    else
        v = declarative(run, it.item, ctx, send, gold)
    end
    local s, err = M.score(v, not suite.solve) -- (grade's verdict is a table of its own)
    if not s then error(err, 0) end
    s.sample, s.seed, s.calls = j, seed, calls
    if s.metadata ~= nil then s.score_metadata, s.metadata = s.metadata, nil end
    return s
end


return M
