/*
 * main.c: the command line. Parses the engine's options (before or after
 * SCRIPT; anything else goes to the script), creates the Lua state, loads
 * the embedded prelude, runs the script as the main task, and turns the
 * outcome into an exit status:
 *   0 success; 1 a script error or a failed task; 2 a usage error;
 *   130 interrupted (SIGINT/SIGTERM).
 * Subcommands: `ollaeval sim ...` runs the simulator (sim.c).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>
#include <lua-cjson.h>

#include "oe.h"
#include "sched.h"
#include <curl/curl.h>

int luaopen_cjson_safe(lua_State *L);

static const char *progname = "ollaeval";

/* ---- engine options ---- */

enum { T_FLAG, T_INT, T_NUM, T_STR, T_LIST };

typedef struct {
    const char *lng; /* long name, also the key in ollaeval.options */
    char shrt;
    int type;
    const char *arg, *help;
} optdef;

static const optdef OPTS[] = {
    {"model",       'm', T_STR,  "NAME", "model to evaluate"},
    {"endpoint",    'e', T_LIST, "URL",  "server URL; repeat for several servers; URL#N "
                                         "gives it its own -c (default: $OLLAMA_HOST, else "
                                         "http://localhost:11434)"},
    {"concurrency", 'c', T_INT,  "N",    "requests in flight at once, per endpoint (default 4)"},
    {"timeout",     0,   T_NUM,  "SECONDS", "per request, from when it is sent (default 900)"},
    {"idle-timeout", 0,  T_NUM,  "SECONDS", "streaming: longest wait for the next chunk (default 300)"},
    {"retries",     0,   T_INT,  "N",    "retries of a failed request (default 4)"},
    {"api",         0,   T_STR,  "NAME", "ollama or openai (default: openai for a URL ending in /v1)"},
    {"api-key-env", 0,   T_STR,  "VAR",  "environment variable with the API key (default OPENAI_API_KEY)"},
    {"stream",      0,   T_FLAG, NULL,   "stream responses (time to first token, idle timeout)"},
    {"limit",       0,   T_INT,  "N",    "evaluate only the first N items"},
    {"out",         'o', T_STR,  "DIR",  "run folder (default runs/<suite>-<model>-<time>)"},
    {"resume",      0,   T_FLAG, NULL,   "continue the run in --out, skipping items already scored"},
    {"fail-fast",   0,   T_FLAG, NULL,   "stop at the first item that raises an error"},
    {"shard",       0,   T_STR,  "I/N",  "evaluate only the I-th of N slices of the items (1 <= I <= N)"},
    {"seed",        0,   T_INT,  "N",    "seed for sampling and few-shot choice (default 0)"},
    {"quiet",       'q', T_FLAG, NULL,   "no progress output"},
    {"version",     0,   T_FLAG, NULL,   "print the version and exit"},
    {"help",        'h', T_FLAG, NULL,   "print this help (with SCRIPT: the script's options too)"},
    {NULL, 0, 0, NULL, NULL},
};

static void usage_text(FILE *f)
{
    fprintf(f,
            "usage: %s [options] SCRIPT [script options...]\n"
            "       %s sim [sim options...]     (simulator server; sim --help)\n"
            "       %s merge RUN_DIR... [-o OUT] (combine the folders of a --shard run)\n"
            "       %s explain RUN_DIR ITEM_ID  (why an item's answer was read as it was)\n"
            "\n"
            "Runs an evaluation script (Lua 5.4) whose requests go to an Ollama or\n"
            "OpenAI-compatible server, many at once. Engine options go before or after\n"
            "SCRIPT; any other option goes to the script.\n"
            "\nengine options:\n",
            progname, progname, progname, progname);
    for (const optdef *o = OPTS; o->lng; o++) {
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->shrt ? '-' : ' ', o->shrt ? o->shrt : ' ',
                 o->shrt ? ',' : ' ', o->lng, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "\nexamples:\n"
               "  %s scripts/gsm8k.lua -m qwen3:8b              GSM8K against local Ollama\n"
               "  %s scripts/gsm8k.lua -m qwen3:8b --limit 50   a quick look\n"
               "  %s scripts/gsm8k.lua --help                   the script's own options\n"
               "\nThe Lua API is documented in docs/api.md.\n",
            progname, progname, progname);
}

static void usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", progname);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see %s --help)\n", progname);
    exit(2);
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

/* Checks a value and stores it in the options table at index t. */
static void set_opt(lua_State *L, int t, const optdef *o, const char *v)
{
    char *end;
    errno = 0;
    switch (o->type) {
    case T_INT: {
        long n = strtol(v, &end, 10);
        if (*v == '\0' || *end || errno || n < 0 || n > INT_MAX)
            usage_error("--%s: '%s' is not a whole number >= 0", o->lng, v);
        if (strcmp(o->lng, "concurrency") == 0 && n < 1)
            usage_error("--%s: '%s' must be at least 1", o->lng, v);
        lua_pushinteger(L, n);
        break;
    }
    case T_NUM: {
        double d = strtod(v, &end);
        if (*v == '\0' || *end || errno || !(d > 0))
            usage_error("--%s: '%s' is not a positive number", o->lng, v);
        lua_pushnumber(L, d);
        break;
    }
    case T_STR:
        if (*v == '\0')
            usage_error("--%s: the value is empty%s", o->lng, "");
        if (strcmp(o->lng, "api") == 0 && strcmp(v, "ollama") != 0 && strcmp(v, "openai") != 0)
            usage_error("--%s: '%s' is not ollama or openai", o->lng, v);
        if (strcmp(o->lng, "shard") == 0) {
            int i = 0, n = 0, used = 0;
            if (sscanf(v, "%d/%d%n", &i, &n, &used) != 2 || v[used] || n < 1 || i < 1 || i > n)
                usage_error("--%s: '%s' is not I/N with 1 <= I <= N", o->lng, v);
        }
        lua_pushstring(L, v);
        break;
    case T_LIST:
        if (*v == '\0')
            usage_error("--%s: the value is empty%s", o->lng, "");
        if (lua_getfield(L, t, o->lng) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, t, o->lng);
        }
        lua_pushstring(L, v);
        lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
        lua_pop(L, 1);
        return;
    default:
        lua_pushboolean(L, 1);
    }
    lua_setfield(L, t, o->lng);
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

/* package.searchers entry, after the file searchers: modules embedded in
 * the binary (evals.*), so a script runs from any directory. */
static int search_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (const struct oe_embedded *e = oe_embedded; e->name; e++)
        if (strcmp(e->name, name) == 0) {
            char chunk[300];
            snprintf(chunk, sizeof chunk, "@%s (embedded)", e->file);
            if (luaL_loadbuffer(L, e->src, strlen(e->src), chunk) != LUA_OK)
                return lua_error(L);
            lua_pushfstring(L, "%s (embedded)", e->file);
            return 2;
        }
    lua_pushfstring(L, "no embedded module '%s'", name);
    return 1;
}

static void setup_path(lua_State *L, const char *script)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char sdir[PATH_MAX];
    snprintf(sdir, sizeof sdir, "%s", script ? script : ".");
    slash = strrchr(sdir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(sdir, sizeof sdir, ".");
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/../?.lua;./?.lua;%s/?.lua;%s", sdir, sdir, exe,
                    lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 1);
    lua_getfield(L, -1, "searchers");
    lua_pushcfunction(L, search_embedded);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    lua_pop(L, 2);
}

static void preload(lua_State *L, const char *name, lua_CFunction f)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

static void on_signal(uv_signal_t *h, int signum)
{
    oe.interrupted++;
    if (oe.interrupted >= 2) {
        static const char msg[] = "\nollaeval: interrupted twice: exiting now; the journal is intact\n";
        if (write(2, msg, sizeof msg - 1) < 0) {
        }
        _exit(130);
    }
}

static uv_signal_t sigint, sigterm;

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sim") == 0)
        return sim_main(argc - 1, argv + 1);
    /* `ollaeval merge DIR...` and `ollaeval explain RUN_DIR ITEM_ID` run the
     * embedded modules evals.merge and evals.explain (their M.main) */
    const char *module = NULL;
    if (argc >= 2 && strcmp(argv[1], "merge") == 0)
        module = "evals.merge";
    else if (argc >= 2 && strcmp(argv[1], "explain") == 0)
        module = "evals.explain";
    int merge = module != NULL;

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create the Lua state: out of memory\n", progname);
        return 1;
    }
    luaL_openlibs(L);
    preload(L, "cjson", luaopen_cjson);
    preload(L, "cjson.safe", luaopen_cjson_safe);

    /* Parse: engine options anywhere, the first argument ending in .lua (or
     * else the first non-option argument) is SCRIPT, the rest go to it. */
    lua_newtable(L);
    int iopts = lua_gettop(L);
    lua_newtable(L);
    int iargs = lua_gettop(L);
    const char *script = NULL;
    int help = 0, nscript = 0, script_idx = 0;
    if (merge)
        script_idx = 1; /* "merge" or "explain" stands where SCRIPT would */
    for (int i = 1; i < argc && !script_idx; i++) {
        size_t n = strlen(argv[i]);
        if (argv[i][0] != '-' && n > 4 && strcmp(argv[i] + n - 4, ".lua") == 0)
            script_idx = i;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        const optdef *o = find_opt(a, &val);
        if (o) {
            if (o->type == T_FLAG) {
                if (val)
                    usage_error("--%s takes no value%s", o->lng, "");
                val = "";
            } else if (!val) {
                if (i + 1 >= argc)
                    usage_error("--%s needs a value (%s)", o->lng, o->arg);
                val = argv[++i];
            }
            set_opt(L, iopts, o, val);
            if (strcmp(o->lng, "help") == 0)
                help = 1;
            if (strcmp(o->lng, "version") == 0) {
                printf("ollaeval %s (%s, libuv %s, libcurl %s)\n", OE_VERSION, LUA_RELEASE,
                       uv_version_string(), curl_version_info(CURLVERSION_NOW)->version);
                lua_close(L);
                return 0;
            }
        } else if (!script && (script_idx ? i == script_idx : a[0] != '-')) {
            script = a;
        } else {
            lua_pushstring(L, a);
            lua_rawseti(L, iargs, ++nscript);
        }
    }
    if (!script) {
        usage_text(help ? stdout : stderr);
        lua_close(L);
        return help ? 0 : 2;
    }
    if (!merge && access(script, R_OK) != 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", progname, script, strerror(errno));
        lua_close(L);
        return 1;
    }

    /* The `ollaeval` table the prelude reads. */
    lua_createtable(L, 0, 8);
    lua_pushvalue(L, iopts);
    lua_setfield(L, -2, "options");
    lua_pushvalue(L, iargs);
    lua_setfield(L, -2, "args");
    lua_pushstring(L, script);
    lua_setfield(L, -2, "script");
    lua_pushstring(L, OE_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushboolean(L, help);
    lua_setfield(L, -2, "help");
    lua_createtable(L, argc, 0); /* the command line as given, for records */
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "argv");
    {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        usage_text(m);
        fclose(m);
        lua_pushlstring(L, text, len);
        free(text);
        lua_setfield(L, -2, "usage");
    }
    lua_setglobal(L, "ollaeval");
    /* arg, as lua.c: arg[0] is the script, arg[1..] its arguments */
    lua_pushstring(L, script);
    lua_rawseti(L, iargs, 0);
    lua_pushvalue(L, iargs);
    lua_setglobal(L, "arg");
    lua_settop(L, 0);

    oe.concurrency = 4;
    lua_getglobal(L, "ollaeval");
    lua_getfield(L, -1, "options");
    if (lua_getfield(L, -1, "concurrency") == LUA_TNUMBER)
        oe.concurrency = (int)lua_tointeger(L, -1);
    lua_settop(L, 0);

    uv_loop_t *loop = uv_default_loop();
    sched_init(loop, L);
    if (http_init(loop) != 0) {
        fprintf(stderr, "%s: cannot initialise libcurl\n", progname);
        return 1;
    }
    uv_signal_init(loop, &sigint);
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_unref((uv_handle_t *)&sigint);
    uv_unref((uv_handle_t *)&sigterm);
    setup_path(L, script);

    int status = 0;
    /* The prelude: core/prelude.lua, embedded; it gets the core table. */
    const struct oe_embedded *pre = &oe_embedded[0];
    luaL_requiref(L, "ollaeval.core", luaopen_core, 0);
    if (luaL_loadbuffer(L, pre->src, strlen(pre->src), "@core/prelude.lua") != LUA_OK) {
        report(L);
        status = 1;
    } else {
        lua_insert(L, -2);
        if (docall(L, 1, 0) != LUA_OK) {
            report(L);
            status = 1;
        }
    }
    char modchunk[64];
    if (merge)
        snprintf(modchunk, sizeof modchunk, "return require('%s').main(...)", module);
    if (status == 0 && merge && luaL_loadstring(L, modchunk) != LUA_OK) {
        report(L);
        status = 1;
    } else if (status == 0 && !merge && luaL_loadfile(L, script) != LUA_OK) {
        report(L);
        status = 1;
    }
    if (status == 0) {
        /* The script's chunk runs as the main task, so chat{} works at top
         * level; its arguments are the script's arguments. */
        lua_getglobal(L, "ollaeval");
        lua_getfield(L, -1, "main");
        lua_remove(L, -2);
        lua_insert(L, -2); /* main(chunk, args...) */
        lua_getglobal(L, "arg");
        int n = (int)luaL_len(L, -1);
        for (int i = 1; i <= n; i++)
            lua_rawgeti(L, -i, i);
        lua_remove(L, -(n + 1));
        oe_task *t = sched_spawn(L, n + 1);
        t->is_main = 1;
        int rc = sched_run(L, t);
        if (rc != LUA_OK) {
            /* the main task's error: its traceback is in the handle */
            if (t->state == TASK_DONE) {
                lua_getiuservalue(L, -1, 2);
                lua_rawgeti(L, -1, 1);
                report(L);
                lua_pop(L, 1);
            }
            status = 1;
        } else {
            lua_getiuservalue(L, -1, 2);
            lua_rawgeti(L, -1, 1);
            if (lua_isinteger(L, -1))
                status = (int)lua_tointeger(L, -1);
            lua_pop(L, 2);
        }
        lua_settop(L, 0);
    }
    if (status == 0 && oe.task_failures > 0)
        status = 1;
    if (oe.interrupted && status == 0)
        status = 130;
    sched_shutdown();
    lua_close(L);
    uv_loop_close(loop);
    fflush(stdout);
    return status;
}

