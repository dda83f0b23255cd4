/*
 * oe.h: what the engine's C files share: the map below, the embedded Lua
 * sources, oe_buf, the clock, and the command line main.c hands to Lua.
 *
 * Files and what each owns (an arrow is "calls"; there is no cycle):
 *   main.c   argv, a pmain under lua_pcall, the exit status    -> loop, lapi
 *   loop.c   the uv loop: init, signals, running the main task, the
 *            idle check, the ordered shutdown              -> sched, req, http
 *   lapi.c   the Lua-facing C functions (the `core` table): spawn, wait,
 *            sleep/wake, exit, request and its resume; the one file that
 *            makes the Lua tables (tasks' results: sched.c) -> sched, req, lsys
 *   lsys.c   sha256, fsync, isatty, interrupted, lock, truncate, linked,
 *            utf8_valid (joins the `core` table)          -> loop, utf8
 *   utf8.c   the UTF-8 check of outside text (utf8.len's verdict, in C)
 *   lcache.c the request cache's SQLite store: cache_open, get, put
 *            (joins the `core` table; the policy is lua/cache.lua)  -> (none)
 *   jsonstr.c json_line, json_write: a journal line from lua-cjson's
 *            encoding of a record and its long texts, escaped as lua-cjson
 *            escapes (joins the `core` table; for evals/journal.lua) -> (none)
 *   sandbox.c the Lua heap cap (the state's allocator), CPU budgets per
 *            callback (a count hook), the watchdog thread, the signal flag
 *            and hook; core.sbx_* (lua/sandbox.lua is the Lua half)  -> (none)
 *   sched.c  tasks (Lua coroutines), the ready queue, the run loop; knows
 *            no request; tells sandbox.c whose budget runs     -> sandbox
 *   req.c    oe_req from req_new to req_free; the per-endpoint windows
 *            (FIFO; fixed: at most N in flight; auto: the controller,
 *            fed from here)                            -> http, autowin
 *   autowin.c  the window controller of -c auto: a pure state machine
 *            (events and the time in, "may I send" out)         -> (none)
 *   http.c   libcurl's multi interface on libuv; reports to req.c through
 *            the callbacks given to http_init                   -> stream
 *   stream.c incremental NDJSON / SSE parsers for streamed responses
 *   buf.c    oe_buf, the growable byte buffer (buf.h, also the simulator's)
 *   prelude.lua, lua/NAME.lua  the Lua half of the API, embedded in the binary
 *            compiled (tools/embed.c, run at build time)
 *   The simulator (`ollaeval sim`) is its own binary, ollaeval-sim, built
 *   from core/sim/ (map in core/sim/sim.h); it shares only buf.h with the engine.
 *
 * libuv handles: every handle's data is either NULL or the allocation to
 * free when it closes (loop.c closes whatever is left at shutdown).
 */
#ifndef OE_H
#define OE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include <lua.h>

#include "buf.h" /* oe_buf */

#define OE_VERSION "0.1.0"

/* The embedded Lua modules (build/embedded.c, written at build time by
 * core/tools/embed.c): each compiled (lua_dump with its debug information,
 * under its chunk name "@FILE (embedded)", "@core/prelude.lua" for the
 * prelude), loaded with mode "b" by the engine alone (a sandboxed script's
 * load is text only and cannot reach these chunks). */
struct oe_embedded {
    const char *name;   /* module name: "prelude", "ollaeval.chat", "evals.gsm8k", ... */
    const char *file;   /* path in the source tree, for error messages */
    const char *sha256; /* hex sha256 of the source text (what a run records) */
    const char *chunk;  /* the compiled chunk */
    size_t len;         /* its length in bytes */
};
extern const struct oe_embedded oe_embedded[];

#include "buf.h" /* oe_buf, the growable byte buffer */

/* Milliseconds on a monotonic clock (differences only; core.now() counts
 * from the start of the run). */
static inline double oe_now(void)
{
    return (double)uv_hrtime() / 1e6;
}

/* The engine's option types (main.c parses them, lapi.c converts them). */
/* OPT_OPT: a value that may be left out (--cache, --cache PATH, --cache=PATH);
 * left out, the option's value is NULL and Lua sees true. */
enum { OPT_FLAG, OPT_INT, OPT_NUM, OPT_STR, OPT_LIST, OPT_OPT };

/* One engine option as given on the command line (already checked). */
typedef struct {
    const char *name; /* long name, the key in ollaeval.options */
    int type;
    const char *value;
} oe_optval;

/* The command line, parsed by main.c; lapi_push_cmdline() gives it to the
 * prelude, which builds the `ollaeval` table from it. Nothing here is
 * owned: the strings are argv's or main.c's. */
typedef struct {
    int argc;
    char **argv;
    const char *script;        /* SCRIPT, or the subcommand's name */
    const char *subcommand;    /* `ollaeval merge ...`: its module ("evals.merge"), or NULL */
    int help;                  /* --help was given */
    const oe_optval *opts;     /* engine options, in command-line order */
    int nopts;
    char **args;               /* the script's own arguments */
    int nargs;
    const char *usage;         /* the engine's --help text */
} oe_cmdline;


#endif
