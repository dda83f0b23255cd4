-- explain.lua: `ollaeval explain RUN_DIR ITEM_ID` shows why an item's answer
-- was read as it was. It finds the item's last record in RUN_DIR/samples.jsonl,
-- runs the run's suite's extract again on the recorded content with a trace
-- (extract.lua's opts.trace), and prints the rule that fired (or why there
-- is no answer), the content with the answer's span marked, every candidate
-- considered and why each lost, the run-on cut if any, and the gold with the
-- comparison. A re-run that differs from the record (the grader changed
-- since the run) is said so.
--   M.main(run_dir, item_id) -> exit status: 0 shown, 1 not found or unreadable,
--   2 usage error.

local cjson = require "cjson.safe"
local extract = require "evals.extract"
local numeric = require "evals.numeric"

local M = {}

local format, sub, concat = string.format, string.sub, table.concat
local write = io.write


local function fail(status, fmt, ...)
    io.stderr:write("ollaeval explain: ", format(fmt, ...), "\n")
    return status
end


local function read_all(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local s = f:read("a")
    f:close()
    return s
end


-- The suite that graded the run: its recorded file if readable, else the
-- module evals.<name>; nil if neither loads.
local function load_suite(config)
    local file = type(config.suite_file) == "string" and config.suite_file or nil
    if file and io.open(file, "rb") then
        local ok, suite = pcall(dofile, file)
        if ok and type(suite) == "table" and suite.extract then return suite, file end
    end
    if type(config.suite) == "string" and config.suite:match("^[%w_]+$") then
        local ok, suite = pcall(require, "evals." .. config.suite)
        if ok and type(suite) == "table" and suite.extract then
            return suite, "evals." .. config.suite
        end
    end
    return nil
end


-- Text with the span s..e marked "[[...]]", cut to a window around it.
local function marked(text, s, e, width)
    width = width or 700
    if not s then
        if #text <= width then return text end
        return "..." .. sub(text, -width)
    end
    local lo = s - width // 2
    local hi = e + width // 4
    local head = lo > 1 and "..." or ""
    local tail = hi < #text and "..." or ""
    if lo < 1 then lo = 1 end
    return head .. sub(text, lo, s - 1) .. "[[" .. sub(text, s, e) .. "]]"
           .. sub(text, e + 1, hi) .. tail
end


local function indent(s)
    return "    " .. s:gsub("\n", "\n    ")
end


local function show(v)
    if v == nil then return "(none)" end
    return format("%q", tostring(v)):gsub("\\\n", "\\n")
end


-- Why candidate c lost to the winner w.
local function lost(c, w, reason)
    if not w then return "no candidate won" end
    if c.s < w.s then return "earlier in the text than the chosen one" end
    if c.s == w.s then return "same position, rule listed later in extract.RULES" end
    return "not chosen (" .. tostring(reason or "?") .. ")"
end


function M.main(...)
    local args = { ... }
    local dir, id = args[1], args[2]
    if not dir or not id or args[3] or dir:sub(1, 1) == "-" then
        return fail(2, "usage: ollaeval explain RUN_DIR ITEM_ID")
    end
    dir = dir:gsub("/+$", "")
    local run_text = read_all(dir .. "/run.json")
    local run = run_text and cjson.decode(run_text)
    if type(run) ~= "table" or type(run.config) ~= "table" then
        return fail(1, "%s is not a run folder (no readable run.json)", dir)
    end
    local journal = dir .. "/samples.jsonl"
    local f = io.open(journal, "rb")
    if not f then return fail(1, "%s: cannot open samples.jsonl", dir) end
    local rec, line_no, n = nil, nil, 0
    for line in f:lines() do
        n = n + 1
        if line:find(id, 1, true) then
            local r = cjson.decode(line)
            if type(r) == "table" and tostring(r.id) == id then rec, line_no = r, n end
        end
    end
    f:close()
    if not rec then
        return fail(1, "%s: no item %s in samples.jsonl (%d records); ids look like %q",
                    dir, id, n, "gsm8k-test-0001")
    end

    for k, v in pairs(rec) do if v == cjson.null then rec[k] = nil end end
    write(format("item %s  (%s line %d)\n", id, journal, line_no))
    if rec.error then
        write(format("not scored: %s (%s)\n", tostring(rec.error), tostring(rec.error_kind)))
        return 0
    end
    local content = type(rec.content) == "string" and rec.content or ""
    local suite, from = load_suite(run.config)
    if not suite then
        return fail(1, "cannot load the suite %s that graded %s", tostring(run.config.suite), dir)
    end

    -- the same call the runner made, with a trace
    local text = content
    if suite.split then text = suite.split(content, rec.thinking) end
    local trace = {}
    local answer, rule, s, e = suite.extract(text, nil, trace)
    local offset = trace.offset or 0
    if not trace.candidates and not trace.reason then
        -- a suite whose extract keeps no trace: show extract.lua's reading
        local t, _, _, off = extract.split_reasoning(text)
        extract.extract(t, { trace = trace })
        offset = off
        write(format("(%s keeps no trace; the candidates below are extract.lua's)\n", from))
    end

    write(format("suite     %s (%s)\n", tostring(run.config.suite), from))
    write(format("gold      %s\n", show(rec.gold)))
    if answer ~= nil then
        write(format("answer    %s   rule: %s   bytes %d-%d of the content\n",
                     show(answer), tostring(rule), s or 0, e or 0))
    else
        write(format("answer    (none)   reason: %s%s\n", tostring(rule),
                     trace.why and (" - " .. trace.why) or ""))
    end
    if rec.answer ~= answer or (rec.answer ~= nil and rec.rule ~= rule) then
        write(format("recorded  %s   rule: %s   (the grader has changed since the run)\n",
                     show(rec.answer), tostring(rec.rule)))
    end
    local ok = answer ~= nil and suite.correct(answer, rec.gold) or false
    local na = answer ~= nil and numeric.normalize(answer) or nil
    local ng = rec.gold ~= nil and numeric.normalize(rec.gold) or nil
    write(format("verdict   %s   (answer reads as %s, gold as %s)%s\n",
                 ok and "correct" or "wrong", show(na), show(ng),
                 (rec.correct ~= nil and rec.correct ~= ok)
                     and format("; recorded %s", rec.correct and "correct" or "wrong") or ""))
    if rec.reasoning_status == "unclosed" or rule == "unclosed_think" then
        write("note      the <think> block never closes: no answer is taken from it\n")
    end

    if trace.cut then
        write(format("run-on    cut at byte %d of the content: %s (the rest is ignored)\n",
                     trace.cut.at + offset, trace.cut.why))
    end
    local cands = trace.candidates or {}
    local winner = trace.winner and cands[trace.winner]
    write(format("candidates (%d)\n", #cands))
    table.sort(cands, function(a, b) return a.s < b.s end)
    for _, c in ipairs(cands) do
        local chosen = c == winner
        local why
        if chosen then
            why = trace.reason and ("chosen, then rejected: " .. trace.reason
                                    .. (c.why and (" - " .. c.why) or ""))
                  or ("chosen" .. (c.why and (": " .. c.why) or ": last in the text"))
        else
            why = lost(c, winner, trace.reason)
        end
        write(format("  %s %-12s %-22s bytes %d-%d  %s\n", chosen and "*" or " ", c.rule,
                     c.non_answer and "(no number)" or show(c.raw), (c.s or 0) + offset,
                     (c.e or c.s or 0) + offset, why))
    end
    if #cands == 0 and trace.reason then
        write(format("  (none: %s%s)\n", trace.reason, trace.why and (" - " .. trace.why) or ""))
    end
    write("content (the answer [[marked]])\n")
    write(indent(marked(content, s, e)), "\n")
    return 0
end


return M
