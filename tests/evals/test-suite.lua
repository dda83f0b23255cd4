-- tests/evals/test-suite.lua: a suite table checked (evals/suite.lua), the
-- records it makes summarised as they stream (evals/summary.lua), and the
-- letters of multiple-choice replies (evals/mmlu.lua).
local T = require "tests.lib.tap"
local suite = require "evals.suite"
local summary = require "evals.summary"
local mmlu = require "evals.mmlu"

local function base()
    return { name = "t", prompt = function() end, extract = function() end, gold = function() end,
             correct = function() end }
end

-- unknown fields: named, with the nearest known one
local s = base()
s.strcit = function() end
s.group_bye = "type"
local spec = assert(suite.check(s, "dir/t.lua"))
T.eq(#spec.warnings, 2, "two unknown fields, two warnings")
T.ok(spec.warnings[2]:find("unknown field 'strcit'", 1, true) and spec.warnings[2]:find("did you mean 'strict'", 1, true),
    "strcit: named, and 'strict' suggested")
T.ok(spec.warnings[1]:find("did you mean 'group_by'", 1, true), "group_bye: 'group_by' suggested")
T.eq(#assert(suite.check(base(), "t.lua")).warnings, 0, "a clean suite: no warning")

-- required fields, types
local bad, err = suite.check({ name = "t", prompt = function() end }, "t.lua")
T.ok(not bad and err:find("missing the required field 'extract'", 1, true) and err:find("solve", 1, true),
    "a declarative suite without extract: named, and solve offered")
T.ok(suite.check({ name = "t", solve = function() end }, "t.lua"), "solve alone is a suite")
bad, err = suite.check({ solve = function() end }, "t.lua")
T.ok(not bad and err:find("'name'", 1, true), "a suite needs a name")
bad, err = suite.check({ name = "t", solve = "x" }, "t.lua")
T.ok(not bad and err:find("'solve' must be a function", 1, true), "a field of the wrong type is named")
bad, err = suite.check({ name = "t", solve = function() end, metrics = { "best@3" } }, "t.lua")
T.ok(not bad and err:find("metric 'best@3'", 1, true), "an unknown metric is named")
bad, err = suite.check({ name = "t", solve = function() end, samples = 0 }, "t.lua")
T.ok(not bad and err:find("samples", 1, true), "samples must be >= 1")

-- defaults and the parts the runner uses
spec = assert(suite.check({ name = "t", solve = function() end, dataset = "x.jsonl", group_by = "type",
                            metadata = { "type", "level" } }, "/a/b/t.lua"))
T.eq(spec.version, "1", "version defaults to 1")
T.eq(spec.samples, 1, "samples defaults to 1")
T.eq(spec.metrics[1].name, "accuracy", "metrics default to accuracy")
T.eq(spec.dataset.local_path, "/a/b/x.jsonl", "a dataset file is found beside the suite")
T.eq(spec.group({ type = "bio" }), "bio", "group_by names an item field")
T.eq(spec.meta({ type = "bio", level = 3, other = 1 }).level, 3, "metadata lists item fields")
T.eq(spec.meta({ type = "bio", level = 3, other = 1 }).other, nil, "...and only those")
spec = assert(suite.check({ name = "t", solve = function() end,
                            dataset = { url = "https://x/y.jsonl", file = "y.jsonl", sha256 = "00" } }, "t.lua"))
T.eq(spec.dataset.local_path, nil, "a dataset with a url is downloaded, file names the cached copy")

-- summary: streamed twice, the last record of an id wins, no record kept
local records = {
    { id = "a", index = 1, error = "HTTP 500", error_kind = "http" },
    { id = "a", index = 1, score = 1, correct = true, answer = "4", group = "g1", done_reason = "stop",
      completion_tokens = 10, prompt_tokens = 5, calls = { { latency_ms = 10 } } },
    { id = "b", index = 2, score = 0, correct = false, answer = "5", group = "g1", done_reason = "stop",
      completion_tokens = 20, prompt_tokens = 5, calls = { { latency_ms = 20 }, { latency_ms = 30 } } },
    { id = "c", index = 3, unscored = "the judge gave no verdict", group = "g2",
      calls = { { latency_ms = 40 } } },
    { id = "d", index = 4, score = 0, correct = false, done_reason = "length", content = "",
      truncated_thinking = true, group = "g2", calls = { { latency_ms = 50 } } },
}
local passes = 0
local source = function()
    passes = passes + 1
    local i = 0
    return function() i = i + 1 return records[i] end
end
local sm = summary.summarize(source, { group_by = "grp" })
T.eq(passes, 2, "a streaming source is read twice")
T.eq(sm.n, 4, "four items")
T.eq(sm.errors, 0, "the errored record was redone: no error")
T.eq(sm.scored, 3, "three scored")
T.eq(sm.unscored, 1, "one unscored, counted apart")
T.eq(sm.unscored_reasons["the judge gave no verdict"], 1, "...with its reason")
T.eq(sm.values.accuracy.value, 1 / 3, "accuracy over the scored items only")
T.eq(sm.truncated_thinking, 1, "ran out of tokens while thinking: counted")
T.eq(sm.calls, 5, "every call's latency counted")
T.eq(sm.latency_ms.p50, 30, "latency percentiles over calls (exact below metrics.SKETCH_EXACT calls)")
-- two of the four items have no token counts (a server that gives none):
-- the means are over the two that have them, and say so
T.eq(sm.tokens.prompt_mean, 5, "prompt tokens: the mean over the items that report them, not 10/4")
T.eq(sm.tokens.completion_mean, 15, "completion tokens: the mean over the items that report them")
T.ok(sm.tokens.prompt_items == 2 and sm.tokens.completion_items == 2 and sm.tokens.items == 4,
    "...and how many of the items reported them")
T.eq(sm.tokens.prompt_total, 10, "the totals are unchanged")
local g = summary.groups(sm)
T.eq(g.g1.accuracy, 0.5, "group g1 accuracy")
T.eq(g.g2.n, 1, "group g2: one scored item")
local mb = summary.metrics(sm)
T.eq(mb.strict_accuracy, nil, "no strict rule: no strict accuracy")
T.near(mb.truncated_thinking_rate, 1 / 4, 1e-12, "truncated_thinking_rate over the items done")
local out = {}
local sink = { write = function(_, ...) for _, x in ipairs { ... } do out[#out + 1] = x end end, flush = function() end }
summary.print_table(sink, "title", sm, {})
local text = table.concat(out)
T.ok(not text:find("strict"), "the table has no strict accuracy line")
T.ok(text:find("by grp:", 1, true) and text:find("g1", 1, true), "the table has the group rows")
T.ok(text:find("raise --num-predict", 1, true), "the table says to raise --num-predict")
T.ok(text:find("unscored", 1, true), "the table counts the unscored item")
T.ok(text:find("5 prompt, 15 output per item", 1, true) and text:find("(counts from 2 of 4 items)", 1, true),
    "the table's token means say how many items gave counts")
local none = summary.summarize({ { id = "x", score = 1, correct = true, answer = "1", calls = { {} } } })
T.ok(none.tokens.prompt_mean == require("cjson").null and none.tokens.prompt_items == 0,
    "no item with token counts: the mean is null, not 0")
out = {}
summary.print_table(sink, "title", none, {})
T.ok(table.concat(out):find("- prompt, - output per item (counts from 0 of 1 items)", 1, true),
    "...and the table shows - for it")

-- samples: maj over votes
sm = summary.summarize({ { id = "a", scores = { 0, 1, 1 }, answers = { "7", "8.0", "8" }, votes = { "7", "8", "8" } } },
    { metrics = assert(suite.check({ name = "t", solve = function() end, metrics = { "maj@3", "pass@3" } }, "t")).metrics })
T.eq(sm.values["maj@3"].value, 1, "maj@3 counts the votes (8.0 and 8 are one)")
T.eq(sm.values["pass@3"].value, 1, "pass@3")

-- one-sample records: a reducer of the suite's own that keeps the samples
-- it is given gets each record's own list (only first and mean, which keep
-- nothing, are given one list filled anew); both count the same
local kept = {}
local keeper = { { name = "accuracy", reduce = function(samples)
    kept[#kept + 1] = samples
    return require("evals.reduce").mean(samples)
end } }
local recs = { { id = "a", score = 1, answer = "3" }, { id = "b", score = 0, answer = "4" },
               { id = "c", score = 1, answer = "5" } }
local sk = summary.summarize(recs, { metrics = keeper })
T.ok(#kept == 3 and kept[1] ~= kept[2] and kept[1][1].answer == "3" and kept[3][1].answer == "5",
    "a reducer that keeps the samples gets a list of its own per record")
local sp = summary.summarize(recs)
T.ok(sk.values.accuracy.value == 2 / 3 and sp.values.accuracy.value == 2 / 3 and sp.values.accuracy.n == 3,
    "the mean of one-sample records is the same either way")

-- letters
local cases = {
    { "work\n#### C", "C", "marker" }, { "The answer is (B).", "B", "answer" }, { "so $\\boxed{D}$", "D", "boxed" },
    { "Step one\n**A**\n", "A", "line" }, { "Answer: **C**", "C", "answer" }, { "I pick option B", "B", "option" },
    { "The correct answer is B.", "B", "answer" }, { "**Answer: B**", "B", "answer" }, { "Answer: (B)", "B", "answer" },
    { "A is wrong, so C", "C", "last_letter" }, { "I think B. Answer: D", "D", "answer" },
    { "Answer: E", nil, "no_letter" }, { "nothing", nil, "no_letter" },
}
for _, c in ipairs(cases) do
    local l, rule = mmlu.letter(c[1], 4)
    T.ok(l == c[2] and rule == c[3], string.format("letter(%s) = %s (%s)", (c[1]:gsub("\n", "\\n")), tostring(c[2]), c[3]))
end
T.eq(mmlu.choices { "x", "y" }, "A. x\nB. y", "choices are lettered")

-- scores as solve() may return them (evals/solve.lua)
local solve = require "evals.solve"
T.eq(solve.score(true).value, 1, "score: true is 1")
T.eq(solve.score(0.25).value, 0.25, "score: a number in [0, 1]")
T.ok(not solve.score(1.5), "score: 1.5 is refused")
local sc = solve.score { value = false, answer = "7", explanation = "no" }
T.ok(sc.value == 0 and sc.answer == "7" and sc.explanation == "no", "score: a table keeps answer and explanation")
sc = solve.score { unscored = "no verdict" }
T.ok(sc.value == nil and sc.unscored == "no verdict", "score: unscored, with its reason")
local _, serr = solve.score(nil)
T.ok(serr and serr:find("returned nothing", 1, true), "score: nothing returned is named")
T.eq(solve.seed_of(42, 1), 42, "seed of sample 1 is --seed")
T.ok(solve.seed_of(42, 2) ~= solve.seed_of(42, 3) and solve.seed_of(42, 2) == solve.seed_of(42, 2),
    "seeds of samples 2 and 3 differ, and are reproducible")
T.ok(solve.seed_of(1, 2) ~= solve.seed_of(2, 1), "seed 1 sample 2 is not seed 2 sample 1")

-- scripts/gsm8k.lua (the suite) and evals/gsm8k.lua (the library) agree
local file, lib = dofile("scripts/gsm8k.lua"), require "evals.gsm8k"
T.eq(file.dataset.sha256, lib.dataset.sha256, "gsm8k: the suite file and the library pin the same test set")
T.eq(file.train.sha256, lib.train.sha256, "gsm8k: ...and the same train set")
local pool = { { question = "Q1?", answer = "a <<1+1=2>>2\n#### 2" }, { question = "Q2?", answer = "b\n#### 3" },
               { question = "Q3?", answer = "c\n#### 4" } }
local item = { question = "How many?", answer = "x\n#### 1,234" }
for _, k in ipairs { 0, 2 } do
    local a = file.prompt(item, { shots = k, fewshot_pool = pool, seed = 7 })
    local b = lib.prompt(item, { shots = k, fewshot_pool = pool, seed = 7 })
    local same = #a == #b
    for i = 1, #a do same = same and a[i].role == b[i].role and a[i].content == b[i].content end
    T.ok(same, string.format("gsm8k: the suite file's prompt is the library's (%d shots)", k))
end
T.eq(file.gold(item), lib.gold(item), "gsm8k: the same gold")
T.done()
