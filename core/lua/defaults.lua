-- ollaeval.defaults: every default of the engine, in one table. The Lua
-- modules read it; so does C, once (main.c's read_defaults: the window's
-- size, the connect timeout and the values --help shows). Keys are the
-- engine options' names where there is one.
return {
    concurrency = "auto",                 -- -c: requests in flight per endpoint (auto, auto:N, N)
    timeout = 900,                        -- --timeout, seconds, from when a request is sent
    ["idle-timeout"] = 300,               -- --idle-timeout, seconds between streamed chunks
    ["max-concurrency"] = 4096,           -- -c above this is capped (with a message)
    deadline = 3600,                      -- --deadline, seconds for one chat{}: every attempt,
                                          --   overload wait and backoff
    ["down-wait"] = 30,                   -- --down-wait, seconds a dead single endpoint is probed
                                          --   before the run pauses (exit status 5)
    retries = 4,                          -- --retries
    seed = 0,                             -- --seed
    ["api-key-env"] = "OPENAI_API_KEY",   -- --api-key-env
    endpoint = "http://localhost:11434",  -- -e, when $OLLAMA_HOST is unset
    ["connect-timeout"] = 10,             -- seconds to connect (http{connect_timeout=})
    ["max-body"] = 64 * 1024 * 1024,      -- bytes of a response body at most (http{max_body=})
    ["jsonl-max-line"] = 16 * 1024 * 1024, -- bytes of a JSONL line at most (jsonl{max_line=})
    ["backoff-ms"] = 500,
    ["lua-cpu"] = 5,                      -- --lua-cpu, seconds of a sandboxed callback's own running time
    ["lua-mem"] = 256,                    -- --lua-mem, MiB of Lua heap at most
    ["lua-print"] = 1024 * 1024,          -- --lua-print, bytes a sandboxed callback may print                 -- the first retry's wait ($OLLAEVAL_BACKOFF_MS)
}
