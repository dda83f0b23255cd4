/*
 * main.c: the command line, in the shape of lua.c: main() creates the Lua
 * state and runs pmain() under lua_pcall; pmain is a row of named steps
 * (libraries, defaults, argv, the engine, the prelude, the script, the
 * run) that each return to it; main() then shuts the engine down, closes
 * the state and returns the exit status (README, --help):
 *   0 success; 1 a script error or a failed task; 2 a usage error;
 *   6 the watchdog (sandbox.c); 130 interrupted (SIGINT/SIGTERM); a script
 *   may return others (the runner's 3, 4, 5).
 * The state's allocator is sandbox.c's (the --lua-mem cap). The script is
 * loaded by the prelude (core/lua/sandbox.lua: sandboxed unless trusted);
 * main.c only hands it the path.
 * Engine options go before or after SCRIPT; anything else goes to the
 * script. Subcommands: `ollaeval sim ...` execs the simulator, the ollaeval-sim
 * binary beside this one (exec_sim; its sources are in core/sim/);
 * `ollaeval merge ...` and `ollaeval trust ...` run the embedded modules
 * evals.merge, evals.report, evals.compare, evals.runs, evals.explain,
 * evals.rescore, ollaeval.trust and evals.bench (LUA_CMDS), trusted.
 * The defaults come from core/lua/defaults.lua (read_defaults, the one
 * place C reads them). No Lua table is built here: lapi_push_cmdline()
 * hands the parsed command line to the prelude.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-cjson.h>
#include <curl/curl.h>

#include "oe.h"
#include "lapi.h"
#include "loop.h"
#include "autowin.h"
#include "sandbox.h"

int luaopen_cjson_safe(lua_State *L);

static const char *progname = "ollaeval";

/* Subcommands that are Lua modules: `ollaeval NAME ARGS` runs
 * require(MODULE).main(ARGS), whose result is the exit status. They are
 * the engine's own code and run trusted. */
static const struct {
    const char *name, *module;
} LUA_CMDS[] = {{"merge", "evals.merge"}, {"report", "evals.report"}, {"compare", "evals.compare"},
                {"runs", "evals.runs"}, {"explain", "evals.explain"}, {"rescore", "evals.rescore"},
                {"trust", "ollaeval.trust"}, {"bench", "evals.bench"}, {NULL, NULL}};

/* ---- engine options ---- */

typedef struct {
    const char *lng; /* long name, also the key in ollaeval.options */
    char shrt;
    int type;
    const char *arg;
    const char *help; /* a %s in it is replaced by the default */
    const char *def;  /* the key of the default in ollaeval.defaults, or NULL */
} optdef;

static const optdef OPTS[] = {
    {"model",       'm', OPT_STR,  "NAME", "model to evaluate", NULL},
    {"endpoint",    'e', OPT_LIST, "URL",  "server URL; repeat for several servers; URL#N "
                                           "gives it its own -c (default: $OLLAMA_HOST, else "
                                           "%s)", "endpoint"},
    {"concurrency", 'c', OPT_STR,  "auto|auto:N|N", "requests in flight at once, per endpoint: "
                                           "auto learns it from the server (auto:N, at most N); "
                                           "N is a ceiling: the window starts at 4 and adapts to "
                                           "503/429 (default %s, at most 4096)", "concurrency"},
    {"timeout",     0,   OPT_NUM,  "SECONDS", "per request, from when it is sent (default %s)",
                                           "timeout"},
    {"idle-timeout", 0,  OPT_NUM,  "SECONDS", "streaming: longest wait for the next chunk "
                                           "(default %s)", "idle-timeout"},
    {"retries",     0,   OPT_INT,  "N",    "retries of a failed request; 503/429 (overload) wait "
                                           "instead, spending none (default %s)", "retries"},
    {"deadline",    0,   OPT_NUM,  "SECONDS", "longest time for one request with its retries and "
                                           "overload waits (default %s)", "deadline"},
    {"down-wait",   0,   OPT_NUM,  "SECONDS", "a single endpoint refusing connections is probed this "
                                           "long, then the run pauses, exit 5 (default %s)",
                                           "down-wait"},
    {"api",         0,   OPT_STR,  "NAME", "ollama or openai (default: openai for a URL ending in /v1)",
                                           NULL},
    {"api-key-env", 0,   OPT_STR,  "VAR",  "environment variable with the API key (default %s)",
                                           "api-key-env"},
    {"stream",      0,   OPT_FLAG, NULL,   "stream responses (time to first token, idle timeout)", NULL},
    {"max-completion-tokens", 0, OPT_FLAG, NULL, "openai API: send the token limit as max_completion_tokens "
                                           "(reasoning models refuse max_tokens)", NULL},
    {"limit",       0,   OPT_INT,  "N",    "evaluate only the first N items", NULL},
    {"out",         'o', OPT_STR,  "DIR",  "run folder (default runs/<suite>-<model>-<time>)", NULL},
    {"resume",      0,   OPT_FLAG, NULL,   "continue the run in --out, skipping items already scored",
                                           NULL},
    {"fail-fast",   0,   OPT_FLAG, NULL,   "stop at the first item that raises an error", NULL},
    {"shard",       0,   OPT_STR,  "I/N",  "evaluate only the I-th of N slices of the items "
                                           "(1 <= I <= N; default: from a Slurm or Kubernetes "
                                           "array job, docs/cluster.md)", NULL},
    {"shard-count", 0,   OPT_INT,  "N",    "the number of shards of a Kubernetes Indexed Job "
                                           "(JOB_COMPLETION_INDEX; else $OLLAEVAL_SHARD_COUNT)", NULL},
    {"cache",       0,   OPT_OPT,  "PATH", "answer identical requests from a request cache "
                                           "(SQLite; default requests.sqlite in the cache "
                                           "folder, docs/cache.md)", NULL},
    {"seed",        0,   OPT_INT,  "N",    "seed for sampling and few-shot choice (default %s)", "seed"},
    {"quiet",       'q', OPT_FLAG, NULL,   "no progress output", NULL},
    {"trust",       0,   OPT_FLAG, NULL,   "run SCRIPT with full privileges, outside the sandbox "
                                           "(see also `ollaeval trust FILE`)", NULL},
    {"lua-path",    0,   OPT_LIST, "DIR",  "load modules from DIR first, before the embedded ones "
                                           "(trusted; repeatable)", NULL},
    {"lua-cpu",     0,   OPT_NUM,  "SECONDS", "CPU budget of one sandboxed callback (default %s)",
                                           "lua-cpu"},
    {"lua-mem",     0,   OPT_NUM,  "MIB",  "cap on the Lua heap (default %s)", "lua-mem"},
    {"lua-print",   0,   OPT_INT,  "BYTES", "print output of one sandboxed callback at most "
                                           "(default %s)", "lua-print"},
    {"version",     0,   OPT_FLAG, NULL,   "print the version and exit", NULL},
    {"help",        'h', OPT_FLAG, NULL,   "print this help (with SCRIPT: the script's options too)",
                                           NULL},
    {NULL, 0, 0, NULL, NULL, NULL},
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

/* The defaults C needs, read once from ollaeval.defaults. */
static struct {
    char text[NOPTS][64];    /* per option, as --help shows it */
    const char *concurrency; /* -c's default ("auto"), in text[] */
    long connect_timeout_ms;
    size_t max_body;
    double backoff_ms;       /* the first wait after an overload ($OLLAEVAL_BACKOFF_MS) */
    int max_concurrency;     /* -c N and auto:N are capped at this */
} D;

/* [-0, +0] Reads core/lua/defaults.lua (embedded as ollaeval.defaults). */
static void read_defaults(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "ollaeval.defaults");
    lua_call(L, 1, 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    for (size_t i = 0; OPTS[i].lng; i++) {
        if (!OPTS[i].def)
            continue;
        lua_getfield(L, -1, OPTS[i].def);
        snprintf(D.text[i], sizeof D.text[i], "%s", luaL_tolstring(L, -1, NULL));
        lua_pop(L, 2);
    }
    for (size_t i = 0; OPTS[i].lng; i++)
        if (strcmp(OPTS[i].lng, "concurrency") == 0)
            D.concurrency = D.text[i];
    lua_getfield(L, -1, "connect-timeout");
    D.connect_timeout_ms = (long)(luaL_checknumber(L, -1) * 1000.0);
    lua_getfield(L, -2, "max-body");
    D.max_body = (size_t)luaL_checkinteger(L, -1);
    lua_getfield(L, -3, "backoff-ms");
    D.backoff_ms = luaL_checknumber(L, -1);
    lua_getfield(L, -4, "max-concurrency");
    D.max_concurrency = (int)luaL_checkinteger(L, -1);
    lua_pop(L, 5);
    const char *b = getenv("OLLAEVAL_BACKOFF_MS"); /* tests use a few ms */
    if (b && strtod(b, NULL) >= 0)
        D.backoff_ms = strtod(b, NULL);
}

static void usage_text(FILE *f)
{
    fprintf(f,
            "usage: %s [options] SCRIPT [script options...]\n"
            "       %s sim [sim options...]     (simulator server; sim --help)\n"
            "       %s merge RUN_DIR... [-o OUT] (combine the folders of a --shard run)\n"
            "       %s report RUN_DIR            (write RUN_DIR/report.html)\n"
            "       %s compare RUN_A RUN_B [--fail-if-worse Xpp] [-o DIR] (paired comparison)\n"
            "       %s runs [DIR] [--json]       (the run folders under DIR, default runs/)\n"
            "       %s explain RUN_DIR ITEM_ID  (why an item's answer was read as it was)\n"
            "       %s rescore RUN_DIR [--suite FILE] [-o OUT] (re-grade recorded answers)\n"
            "       %s trust FILE...            (run FILE unsandboxed until it changes)\n"
            "       %s bench -m MODEL [-e URL] [--quick] (sequential vs concurrent speed;\n"
            "                                  the concurrency and OLLAMA_NUM_PARALLEL to use)\n"
            "\n"
            "Runs an evaluation script (Lua 5.4) whose requests go to an Ollama or\n"
            "OpenAI-compatible server, many at once. Engine options go before or after\n"
            "SCRIPT; any other option goes to the script.\n"
            "\nengine options:\n",
            progname, progname, progname, progname, progname, progname, progname, progname, progname,
            progname);
    for (size_t i = 0; OPTS[i].lng; i++) {
        const optdef *o = &OPTS[i];
        char left[64], help[256];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s%s", o->shrt ? '-' : ' ', o->shrt ? o->shrt : ' ',
                 o->shrt ? ',' : ' ', o->lng, o->type == OPT_OPT ? " [" : o->arg ? " " : "",
                 o->arg ? o->arg : "", o->type == OPT_OPT ? "]" : "");
        snprintf(help, sizeof help, o->help, D.text[i]);
        fprintf(f, "  %-26s %s\n", left, help);
    }
    fprintf(f, "\nexamples:\n"
               "  %s scripts/gsm8k.lua -m qwen3:8b              GSM8K against local Ollama\n"
               "  %s scripts/gsm8k.lua -m qwen3:8b --limit 50   a quick look\n"
               "  %s scripts/gsm8k.lua --help                   the script's own options\n"
               "\nA script runs sandboxed unless trusted (--trust, `%s trust FILE`): no files\n"
               "but its own folder's and those named on the command line, no environment, no\n"
               "network but chat{} on the -e endpoints (docs/suites.md, \"The sandbox\").\n"
               "\nexit status: 0 every item scored; 1 a script or engine error stopped the run;\n"
               "2 usage error; 3 some items not scored; 4 the run folder cannot be written;\n"
               "5 the endpoint stayed down; 6 watchdog: a suite callback stuck in a C call;\n"
               "130 interrupted (SIGINT/SIGTERM).\n"
               "\nThe Lua API is documented in docs/api.md.\n",
            progname, progname, progname, progname);
}

/* Prints a usage error; returns the exit status 2. */
static int usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", progname);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see %s --help)\n", progname);
    return 2;
}

static const optdef *find_opt(const char *arg, const char **inline_val)
{
    *inline_val = NULL;
    if (arg[0] == '-' && arg[1] == '-') {
        const char *name = arg + 2;
        size_t n = strcspn(name, "=");
        for (const optdef *o = OPTS; o->lng; o++)
            if (strlen(o->lng) == n && strncmp(o->lng, name, n) == 0) {
                if (name[n] == '=')
                    *inline_val = name + n + 1;
                return o;
            }
    } else if (arg[0] == '-' && arg[1] && arg[2] == '\0') {
        for (const optdef *o = OPTS; o->lng; o++)
            if (o->shrt == arg[1])
                return o;
    }
    return NULL;
}

/* Checks an option's value: 0 if good, else 2 (a usage error printed). */
static int check_value(const optdef *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case OPT_INT: {
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end || errno || n < 0 || n > INT_MAX)
            return usage_error("--%s: '%s' is not a whole number >= 0", o->lng, v);
        if (strcmp(o->lng, "shard-count") == 0 && n < 1)
            return usage_error("--%s: '%s' must be at least 1", o->lng, v);
        return 0;
    }
    case OPT_NUM: { /* seconds: finite, 1 ms at least (less would round to "none") */
        double d = strtod(v, &end);
        if (*v == '\0' || *end || errno || !(d > 0) || !isfinite(d))
            return usage_error("--%s: '%s' is not a positive number", o->lng, v);
        if (d < 0.001 || d > 1e6)
            return usage_error("--%s: '%s' is out of range (0.001 to 1e6 seconds)", o->lng, v);
        return 0;
    }
    case OPT_STR:
        if (*v == '\0')
            return usage_error("--%s: the value is empty%s", o->lng, "");
        if (strcmp(o->lng, "concurrency") == 0) {
            int mode, n;
            if (autowin_parse(v, &mode, &n) != 0)
                return usage_error("--%s: '%s' is not auto, auto:N or N (a whole number >= 1)",
                                   o->lng, v);
        }
        if (strcmp(o->lng, "api") == 0 && strcmp(v, "ollama") != 0 && strcmp(v, "openai") != 0)
            return usage_error("--%s: '%s' is not ollama or openai", o->lng, v);
        if (strcmp(o->lng, "shard") == 0) {
            int i = 0, n = 0, used = 0;
            if (sscanf(v, "%d/%d%n", &i, &n, &used) != 2 || v[used] || n < 1 || i < 1 || i > n)
                return usage_error("--%s: '%s' is not I/N with 1 <= I <= N", o->lng, v);
        }
        return 0;
    case OPT_LIST:
    case OPT_OPT:
        if (*v == '\0')
            return usage_error("--%s: the value is empty%s", o->lng, "");
        return 0;
    }
    return 0;
}

/* Parses argv into c: engine options anywhere, the first argument ending
 * in .lua (or else the first non-option argument) is SCRIPT, the rest go
 * to it. Returns -1 to go on, or an exit status (usage error, --version,
 * --help without SCRIPT). The arrays are userdata left on L's stack. */
static int parse_args(lua_State *L, int argc, char **argv, oe_cmdline *c)
{
    memset(c, 0, sizeof *c);
    c->argc = argc;
    c->argv = argv;
    oe_optval *opts = lua_newuserdatauv(L, sizeof *opts * (size_t)(argc + 1), 0);
    c->args = lua_newuserdatauv(L, sizeof *c->args * (size_t)(argc + 1), 0);
    c->opts = opts;
    /* `ollaeval merge DIR...`: "merge" stands where SCRIPT would */
    for (int i = 0; argc >= 2 && LUA_CMDS[i].name; i++)
        if (strcmp(argv[1], LUA_CMDS[i].name) == 0)
            c->subcommand = LUA_CMDS[i].module;
    int script_idx = c->subcommand ? 1 : 0;
    for (int i = 1; i < argc && !script_idx; i++) {
        size_t n = strlen(argv[i]);
        if (argv[i][0] != '-' && n > 4 && strcmp(argv[i] + n - 4, ".lua") == 0)
            script_idx = i;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        const optdef *o = find_opt(a, &val);
        if (o) {
            if (o->type == OPT_FLAG) {
                if (val)
                    return usage_error("--%s takes no value%s", o->lng, "");
                val = "";
            } else if (o->type == OPT_OPT && !val) {
                /* --cache PATH: the next argument, unless it is an option
                 * or SCRIPT; --cache alone: the default (value "") */
                if (i + 1 < argc && argv[i + 1][0] != '-' && i + 1 != script_idx)
                    val = argv[++i];
                else
                    val = NULL;
            } else if (!val) {
                if (i + 1 >= argc)
                    return usage_error("--%s needs a value (%s)", o->lng, o->arg);
                const char *unused;
                if (argv[i + 1][0] == '-' && find_opt(argv[i + 1], &unused)) { /* `-m -q`: not a model */
                    char what[160];
                    snprintf(what, sizeof what, "--%s needs a value (%s)", o->lng, o->arg);
                    return usage_error("%s, not the option %s", what, argv[i + 1]);
                }
                val = argv[++i];
            }
            if (val && check_value(o, val))
                return 2;
            opts[c->nopts++] = (oe_optval){o->lng, o->type, val};
            if (strcmp(o->lng, "help") == 0)
                c->help = 1;
            if (strcmp(o->lng, "version") == 0) {
                printf("ollaeval %s (%s, libuv %s, libcurl %s)\n", OE_VERSION, LUA_RELEASE,
                       uv_version_string(), curl_version_info(CURLVERSION_NOW)->version);
                return 0;
            }
        } else if (!c->script && (script_idx ? i == script_idx : a[0] != '-')) {
            c->script = a;
        } else {
            c->args[c->nargs++] = argv[i];
        }
    }
    if (!c->script) {
        usage_text(c->help ? stdout : stderr);
        return c->help ? 0 : 2;
    }
    if (!c->subcommand && access(c->script, R_OK) != 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", progname, c->script, strerror(errno));
        return 1;
    }
    /* the help text, for the prelude's --help (kept on L's stack) */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    usage_text(m);
    fclose(m);
    lua_pushlstring(L, text, len);
    free(text);
    c->usage = lua_tostring(L, -1);
    return -1;
}

/* ---- running Lua ---- */

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = luaL_tolstring(L, 1, NULL);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* lua_pcall with a traceback; for setup code, never for tasks. */
static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    int status = lua_pcall(L, narg, nres, base);
    lua_remove(L, base);
    return status;
}

static void report(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
}

static const struct oe_embedded *embedded(const char *name)
{
    for (const struct oe_embedded *e = oe_embedded; e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* package.searchers entry for the prelude's own modules, until
 * ollaeval.sandbox installs the loader every later require goes through
 * (core/lua/sandbox.lua: the search order, the record of modules). */
static int search_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const struct oe_embedded *e = embedded(name);
    if (e) {
        /* the chunk carries its name, "@FILE (embedded)" */
        if (luaL_loadbufferx(L, e->chunk, e->len, e->file, "b") != LUA_OK)
            return lua_error(L);
        lua_pushfstring(L, "%s (embedded)", e->file);
        return 2;
    }
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
}

static void preload(lua_State *L, const char *name, lua_CFunction f)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Step: the standard libraries, cjson, the `core` table (as the module
 * ollaeval.core) and the searchers: the preload table and the embedded
 * modules only (no file on disk is searched before sandbox.lua's loader). */
static void open_libs(lua_State *L)
{
    luaL_openlibs(L);
    preload(L, "cjson", luaopen_cjson);
    preload(L, "cjson.safe", luaopen_cjson_safe);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchers");
    lua_pushcfunction(L, search_embedded);
    lua_rawseti(L, -2, 2);
    for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i > 2; i--) {
        lua_pushnil(L);
        lua_rawseti(L, -2, i);
    }
    lua_pop(L, 2);
}

/* Step: runs the embedded prelude with the `core` table and the command
 * line; it leaves the function the main task runs (main(chunk)). */
static void run_prelude(lua_State *L, const oe_cmdline *c)
{
    const struct oe_embedded *pre = embedded("prelude");
    if (!pre)
        luaL_error(L, "the prelude is not embedded in this binary");
    if (luaL_loadbufferx(L, pre->chunk, pre->len, "core/prelude.lua", "b") != LUA_OK)
        lua_error(L);
    luaL_requiref(L, "ollaeval.core", luaopen_core, 0);
    lapi_push_cmdline(L, c);
    if (docall(L, 2, 1) != LUA_OK)
        lua_error(L);
    luaL_checktype(L, -1, LUA_TFUNCTION);
}

/* Step: what the main task runs: for a subcommand, a chunk that runs its
 * module's main; for a script, its path (the prelude loads it, sandboxed
 * unless trusted: core/lua/sandbox.lua). */
static void load_script(lua_State *L, const oe_cmdline *c)
{
    if (c->subcommand) {
        char chunk[120];
        snprintf(chunk, sizeof chunk, "return require('%s').main(...)", c->subcommand);
        if (luaL_loadstring(L, chunk) != LUA_OK)
            lua_error(L);
    } else {
        lua_pushstring(L, c->script);
    }
}

/* Under lua_pcall: pmain(argc, argv) -> exit status. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    oe_cmdline c;
    open_libs(L);
    read_defaults(L);
    int status = parse_args(L, argc, argv, &c);
    if (status < 0) {
        const char *cv = D.concurrency; /* -c, the last one given, else the default */
        for (int i = 0; i < c.nopts; i++)
            if (strcmp(c.opts[i].name, "concurrency") == 0)
                cv = c.opts[i].value;
        int mode = AUTOWIN_AUTO, n = 0;
        if (!cv || autowin_parse(cv, &mode, &n) != 0)
            return luaL_error(L, "ollaeval.defaults: concurrency '%s' is not auto, auto:N or N",
                              cv ? cv : "(none)");
        if (n > D.max_concurrency) /* options.lua says so */
            n = D.max_concurrency;
        if (loop_init(L, mode, n, D.connect_timeout_ms, D.max_body, D.backoff_ms) != 0)
            return luaL_error(L, "cannot initialise libcurl");
        run_prelude(L, &c);                    /* main */
        load_script(L, &c);                    /* main chunk */
        status = loop_run(L, 1);
    }
    lua_pushinteger(L, status);
    return 1;
}

/* `ollaeval sim ARGS...`: replaces this process with the ollaeval-sim that
 * sits in the same folder as the running binary, with ARGS. Returns only on
 * failure (exit status 1). */
static int exec_sim(char **argv)
{
    static const char name[] = "ollaeval-sim";
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof name);
    if (n <= 0 || (size_t)n >= sizeof path - sizeof name) {
        fprintf(stderr, "%s sim: cannot find the running binary (/proc/self/exe): %s\n",
                progname, n < 0 ? strerror(errno) : "path too long");
        return 1;
    }
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    memcpy(slash ? slash + 1 : path, name, sizeof name);
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "%s sim: cannot run the simulator %s: %s (it is built beside ollaeval by `make`)\n",
            progname, path, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sim") == 0)
        return exec_sim(argv + 1);
    lua_State *L = sandbox_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create the Lua state: out of memory\n", progname);
        return 1;
    }
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = 1;
    if (lua_pcall(L, 2, 1, 0) == LUA_OK)
        status = (int)lua_tointeger(L, -1);
    else
        report(L);
    loop_shutdown();
    lua_close(L);
    fflush(stdout);
    return status;
}
