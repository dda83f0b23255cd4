-- dataset.lua: finds a suite's dataset the way a run does (evals/data.lua:
-- the cache, the download, the shared folder; each checked by sha256) and
-- prints its path on stdout; what it tried goes to stderr. Exit 0 when it
-- has the data, 1 when not. `make demo` uses it; it also fetches a dataset
-- ahead of a run on a machine that is offline later.
--
-- It writes to the dataset cache, so it runs trusted:
--   ollaeval --trust scripts/dataset.lua                  # GSM8K's test set
--   ollaeval --trust scripts/dataset.lua --suite evals.gsm8k --split train
--   ollaeval --trust scripts/dataset.lua --suite scripts/mmlu.lua    # a suite file
local data = require "evals.data"

local opt = options {
    { name = "suite", type = "string", default = "evals.gsm8k", arg = "MODULE|FILE",
      help = "the suite: a module name, or a suite file (.lua)" },
    { name = "split", type = "string", choices = { "test", "train" }, default = "test",
      help = "test: suite.dataset; train: suite.train" },
}
local suite = opt.suite:find("%.lua$") and dofile(opt.suite) or require(opt.suite)
local spec = opt.split == "train" and suite.train or suite.dataset
local function say(fmt, ...) io.stderr:write(string.format(fmt, ...), "\n") end
local path, err = data.resolve(spec, nil, say)
if not path then
    io.stderr:write("ollaeval: ", err, "\n")
    return 1
end
io.stdout:write(path, "\n")
return 0
