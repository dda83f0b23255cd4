-- tests/evals/test-answered.lua: ollaeval.answered's pure parts: the
-- authority a redirect is compared by, and how a message names a redirect.

local T = require "tests.lib.tap"
local A = require "ollaeval.answered"

T.eq(A.authority("http://127.0.0.1:11434/api/chat"), "http://127.0.0.1:11434", "scheme, host and port")
T.eq(A.authority("HTTP://Example.COM/v1"), "http://example.com:80", "lower case, the default port written out")
T.eq(A.authority("https://example.com"), "https://example.com:443", "https's default port")
T.eq(A.authority("http://alice:pw@host:8080/x"), "http://host:8080", "userinfo is not part of it")
T.eq(A.authority("http://[::1]:11434/api"), "http://[::1]:11434", "an IPv6 literal")
T.ok(A.authority("http://localhost:1/") ~= A.authority("http://127.0.0.1:1/"), "another host name is another host")
T.eq(A.where("http://h/api/chat", {}), "http://h/api/chat", "no redirect: the URL")
T.eq(A.where("http://h/api/chat", { final_url = "http://k/moved" }), "http://h/api/chat (redirected to http://k/moved)",
    "a redirect: named in the message")
T.eq(A.where("http://h/x", { final_url = "http://u:secret@k/y" }), "http://h/x (redirected to http://k/y)",
    "a Location's user:password is not repeated")
local f = { model = "m" }
A.check("http://h", "m", f, { final_url = "http://h/moved" })
T.eq(f.final_url, "http://h/moved", "check keeps final_url in the answer")

T.done()
