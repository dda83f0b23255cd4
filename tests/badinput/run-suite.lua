-- tests/badinput/run-suite.lua: runs the suite file named by $SUITE through
-- the generic runner, as a suite's entry script does:
--   SUITE=tests/badinput/suites/x.lua ollaeval tests/badinput/run-suite.lua -m M -e URL ...
local runner = require "evals.runner"
local file = os.getenv("SUITE") or error("set SUITE to a suite file")
local suite = dofile(file)
return runner.run(suite, file, options(runner.options_for(suite)))
