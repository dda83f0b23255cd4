-- tests/evals/test-template.lua: rendering, chat messages, deterministic few-shot.

local T = require "tests.lib.tap"
local P = require "evals.template"

-- render
local item = { question = "What is 2+2?", answer = "4", n = 3, x = 2.5, ok = true,
               meta = { source = "train", tags = { "a", "b" } } }
local render_rows = {
    { "Q: {{question}}", "Q: What is 2+2?" },
    { "{{ question }}|{{answer}}", "What is 2+2?|4" },
    { "n={{n}} x={{x}} ok={{ok}}", "n=3 x=2.5 ok=true" },
    { "from {{meta.source}}", "from train" },
    { "tag {{meta.tags.2}}", "tag b" },
    { "no fields", "no fields" },
    { "{{answer}}{{answer}}", "44" },
    { "100% {not a field} {{ answer }}", "100% {not a field} 4" },
    { "{{question}} %1 %%", "What is 2+2? %1 %%" },
}
for i, r in ipairs(render_rows) do
    T.eq(P.render(r[1], item), r[2], ("render row %d %q"):format(i, r[1]))
end
local s, err = P.render("Q: {{missing}}", item)
T.eq(s, nil, "missing field: nil")
T.ok(err and err:find("missing", 1, true) and err:find("'missing'", 1, true),
     "missing field: error names the field")
s, err = P.render("{{meta.nope}}", item)
T.ok(s == nil and err:find("meta.nope", 1, true), "missing nested field named")
s, err = P.render("{{meta}}", item)
T.ok(s == nil and err:find("meta", 1, true), "table field is an error")
T.eq(P.render("{{question}}", { question = "50% of {{x}}" }), "50% of {{x}}",
     "substituted values are not re-expanded")
T.ok(not pcall(P.render, nil, item), "render(nil template) raises")
T.ok(not pcall(P.render, "x", nil), "render(nil item) raises")

-- rng: fixed sequence (xorshift32), range
local r = P.rng(1234)
local first = { r:next(), r:next(), r:next() }
local r2 = P.rng(1234)
T.ok(first[1] == r2:next() and first[2] == r2:next() and first[3] == r2:next(),
     "same seed, same sequence")
T.ok(P.rng(1235):next() ~= first[1], "different seed, different sequence")
local in_range, counts = true, {}
local r3 = P.rng(7)
for _ = 1, 60000 do
    local v = r3:int(6)
    if v < 1 or v > 6 or math.type(v) ~= "integer" then in_range = false end
    counts[v] = (counts[v] or 0) + 1
end
T.ok(in_range, "int(6) stays in 1..6")
local balanced = true
for v = 1, 6 do
    if not counts[v] or math.abs(counts[v] - 10000) > 500 then balanced = false end
end
T.ok(balanced, "int(6) is roughly uniform over 60,000 draws")
local zero = P.rng(0)
T.ok(zero:next() ~= 0, "seed 0 works")
T.ok(not pcall(P.rng, 1.5), "non-integer seed raises")
-- pinned values: changing the generator changes every suite's few-shot picks
T.eq(P.rng(1):next(), (function()
    local x = ((1 * 2654435761 + 0x9e3779b9) & 0xffffffff)
    x = x ~ ((x << 13) & 0xffffffff); x = x ~ (x >> 17); x = x ~ ((x << 5) & 0xffffffff)
    return x
end)(), "rng(1) first value is xorshift32 of the hashed seed")

-- fewshot
local pool = {}
for i = 1, 100 do pool[i] = { question = "q" .. i, answer = "a" .. i } end
local a = P.fewshot(pool, 5, 1234)
local b = P.fewshot(pool, 5, 1234)
T.eq(#a, 5, "fewshot picks k")
local same, distinct, seen = true, true, {}
for i = 1, 5 do
    if a[i] ~= b[i] then same = false end
    if seen[a[i]] then distinct = false end
    seen[a[i]] = true
end
T.ok(same, "fewshot is deterministic for a seed")
T.ok(distinct, "fewshot picks distinct examples")
local c = P.fewshot(pool, 5, 99)
local differs = false
for i = 1, 5 do if a[i] ~= c[i] then differs = true end end
T.ok(differs, "another seed picks other examples")
T.eq(pool[1].question, "q1", "pool is not reordered")
T.eq(#P.fewshot(pool, 0, 1), 0, "k = 0 picks none")
T.eq(#P.fewshot({ pool[1], pool[2] }, 5, 1), 2, "k > #pool picks all")
local prefix = P.fewshot(pool, 3, 1234)
T.ok(prefix[1] == a[1] and prefix[2] == a[2] and prefix[3] == a[3],
     "fewshot(k) is a prefix of fewshot(k+n) for the same seed")
T.ok(not pcall(P.fewshot, pool, 1.5, 1), "non-integer k raises")

-- messages
local m = P.messages({ system = "Be brief.", user = "Q: {{question}}" }, item)
T.eq(#m, 2, "system + user")
T.eq(m[1].role, "system", "system first")
T.eq(m[1].content, "Be brief.", "system content")
T.eq(m[2].role, "user", "user last")
T.eq(m[2].content, "Q: What is 2+2?", "user content")
m = P.messages({ user = "{{question}}" }, item)
T.eq(#m, 1, "no system message unless asked")
local shots = { { question = "1+1?", answer = "2" }, { question = "2+3?", answer = "5" } }
m = P.messages({ user = "Q: {{question}}",
                 fewshot = { examples = shots, assistant = "A: {{answer}}" } }, item)
T.eq(#m, 5, "multiturn: 2 shots = 4 turns + question")
T.eq(m[1].role .. m[2].role .. m[3].role .. m[4].role .. m[5].role,
     "userassistantuserassistantuser", "multiturn roles alternate")
T.eq(m[1].content, "Q: 1+1?", "multiturn shot question")
T.eq(m[2].content, "A: 2", "multiturn shot answer")
T.eq(m[5].content, "Q: What is 2+2?", "multiturn question last")
m = P.messages({ system = "S", user = "Q: {{question}}",
                 fewshot = { examples = shots, assistant = "A: {{answer}}", mode = "single" } },
               item)
T.eq(#m, 2, "single: system + one user message")
T.eq(m[2].content, "Q: 1+1?\nA: 2\n\nQ: 2+3?\nA: 5\n\nQ: What is 2+2?", "single: inline shots")
m = P.messages({ user = "{{question}}",
                 fewshot = { examples = pool, k = 3, seed = 1234, assistant = "{{answer}}" } },
               item)
T.eq(#m, 7, "k = 3 from a pool")
T.eq(m[1].content, a[1].question, "k from a pool uses fewshot(pool, k, seed)")
local nothing, err2 = P.messages({ user = "{{nope}}" }, item)
T.ok(nothing == nil and err2:find("nope", 1, true), "messages: missing field is nil, err")
nothing, err2 = P.messages({ user = "{{question}}",
                             fewshot = { examples = { { question = "x" } },
                                         assistant = "{{answer}}" } }, item)
T.ok(nothing == nil and err2:find("answer", 1, true), "messages: shot missing a field")
T.ok(not pcall(P.messages, { system = "x" }, item), "messages without user raises")
T.ok(not pcall(P.messages, { user = "x", fewshot = { examples = shots, assistant = "a",
                                                    mode = "bogus" } }, item),
     "unknown fewshot mode raises")

T.done()
