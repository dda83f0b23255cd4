-- GSM8K with its dataset downloaded from $BADINPUT_URL with a sha256 that
-- cannot match: the download must be refused and nothing cached.
local g = require "evals.gsm8k"
local s = {}
for k, v in pairs(g) do s[k] = v end
s.dataset = { url = os.getenv("BADINPUT_URL"), file = "test.jsonl",
              sha256 = "0000000000000000000000000000000000000000000000000000000000000000" }
return s
