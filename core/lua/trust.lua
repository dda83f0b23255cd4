-- ollaeval.trust: `ollaeval trust FILE...`, the trust store. A trusted file
-- runs outside the sandbox (as with --trust) for as long as its contents
-- stay the same: the store keeps each file's sha256 (and its path, for the
-- reader), one per line, in $XDG_CONFIG_HOME/ollaeval/trusted (else
-- ~/.config/ollaeval/trusted). A changed file must be trusted again.
local core = require "ollaeval.core"
local sandbox = require "ollaeval.sandbox"
local data = require "evals.data"

local format = string.format
local stderr = io.stderr

local M = {}

function M.main(...)
    local files = { ... }
    if #files == 0 or files[1] == "--help" or files[1] == "-h" then
        stderr:write("usage: ollaeval trust FILE...   (FILE then runs unsandboxed until it changes; "
            .. "the store: " .. (sandbox.trust_file()) .. ")\n")
        return #files == 0 and 2 or 0
    end
    local store, dir = sandbox.trust_file()
    if not data.mkdir_p(dir) then
        stderr:write("ollaeval trust: cannot create ", dir, "\n")
        return 1
    end
    local out, err = io.open(store, "ab")
    if not out then
        stderr:write("ollaeval trust: ", err, "\n")
        return 1
    end
    local status = 0
    for _, f in ipairs(files) do
        local sum, serr = core.sha256_file(f)
        local real = core.sbx_realpath(f)
        if not sum then
            stderr:write("ollaeval trust: ", serr or ("cannot read " .. f), "\n")
            status = 1
        else
            out:write(format("%s  %s\n", sum, real or f))
            print(format("trusted %s (sha256 %s)", f, sum))
        end
    end
    local ok, werr = out:close()
    if not ok then
        stderr:write("ollaeval trust: ", store, ": ", tostring(werr), "\n")
        return 1
    end
    return status
end

return M
