/*
 * sandbox.c: the limits that Lua code cannot lift by itself, and the few C
 * helpers the Lua half of the sandbox (core/lua/sandbox.lua) needs.
 *
 *   - the state's allocator, with a cap on the Lua heap (--lua-mem): it
 *     refuses to grow past the cap and never fails a shrink;
 *   - budgets: core.sbx_guard(fn, ...) calls fn under a CPU budget
 *     (--lua-cpu seconds of the callback's own running time; the time its
 *     task spends parked, waiting for the model, does not count). A count
 *     hook (every HOOK_EVERY instructions) checks it; once exceeded, the
 *     budget is "tripped": every hook call and every sandboxed pcall /
 *     xpcall / coroutine.resume re-raises, so pcall cannot absorb it, and
 *     the guard turns it into one clear error for its caller. A memory
 *     error inside a guard trips it the same way. The budget lives in a
 *     userdata on the guard's own stack frame (one spare userdata, kept in
 *     the registry, serves every guard that starts while no other holds
 *     it); sched.c tells us which task's budget is current
 *     (sandbox_enter/sandbox_leave around each resume), so parked time is
 *     not counted;
 *   - the watchdog thread: when a guarded callback runs far past its budget
 *     without the hook getting control back (one C call that never returns,
 *     such as string.find on a catastrophic pattern), it ends the process
 *     with exit status 6 and a message; the journal is flushed per record,
 *     so it is intact and the run resumes;
 *   - the boundary: core.sbx_boundary(constants) makes the copiers of a
 *     value crossing between the script and the engine and the crossings
 *     through which each function is called from the other side (a C
 *     closure: copy the arguments in, call under a budget or with it
 *     paused, copy the results out); sandbox.lua says what crosses and
 *     why. In C since every call of a suite's function crosses: no Lua
 *     call, no table per crossing, and a copy of a small table is one
 *     pass over it;
 *   - signals: sandbox_signal() (called from loop.c's SIGINT/SIGTERM
 *     handler) counts the signal and arms the hook on the running thread,
 *     as lua.c does, so spinning Lua code sees it: inside a guard the
 *     callback ends with "interrupted"; in trusted code it ends with an
 *     error if the event loop has not seen the signal within a second.
 *
 * Lifetimes: nothing here is freed by hand except the state itself
 * (lua_close); budgets are Lua userdata (the spare one lives as long as
 * the state: if the guard holding it never ends, a coroutine dropped while
 * parked inside its callback, later guards make their own); crossings and
 * copies are Lua values; the watchdog thread is detached and only reads
 * atomics.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "sandbox.h"

#define HOOK_EVERY 1000

enum { TRIP_NONE, TRIP_CPU, TRIP_MEM, TRIP_INT };

typedef struct budget {
    uint64_t used_ns;   /* running time of earlier slices */
    uint64_t resumed;   /* uv_hrtime() at the start of this slice */
    size_t printed;     /* bytes of print/warn output */
    int tripped;        /* TRIP_* */
    char where[160];    /* "file:line" where the CPU budget ran out */
} budget;

static struct {
    lua_State *main;            /* the main thread */
    lua_State *running;         /* the task thread being resumed, or NULL */
    budget *cur;                /* the budget of the running callback, or NULL */
    size_t used, cap;           /* bytes in the Lua heap, its cap (0: none) */
    uint64_t cpu_ns;            /* --lua-cpu */
    size_t print_cap;           /* --lua-print */
    size_t printed_free;        /* print output outside any guard */
    volatile sig_atomic_t signals;  /* SIGINT/SIGTERM so far */
    volatile sig_atomic_t seen;     /* signals the event loop has seen */
    uint64_t sig_at;
    int warn_on;
    _Atomic uint64_t deadline;  /* watchdog: 0, or uv_hrtime() past which we exit */
    budget *spare;              /* the budget guards reuse (a userdata in the registry) */
    int spare_ref, spare_busy;  /* its reference; a guard that has not ended holds it */
    int watchdog;               /* the thread is running */
} S = {.cpu_ns = 5000000000ull, .print_cap = 1 << 20, .cap = (size_t)256 << 20};

/* ---- the allocator ---- */

static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        S.used -= osize;
        return NULL;
    }
    if (nsize > osize && S.cap && S.used - osize + nsize > S.cap)
        return NULL; /* Lua collects and retries once, then "not enough memory" */
    void *p = realloc(ptr, nsize);
    if (!p)
        return nsize <= osize ? ptr : NULL; /* a shrink never fails */
    S.used = S.used - osize + nsize;
    return p;
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "ollaeval: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    return 0;
}

/* warn(): "@on"/"@off" switch it; messages go to stderr. */
static void warnf(void *ud, const char *msg, int tocont)
{
    static int cont;
    if (!cont && !tocont && msg[0] == '@') {
        if (strcmp(msg, "@on") == 0)
            S.warn_on = 1;
        else if (strcmp(msg, "@off") == 0)
            S.warn_on = 0;
        return;
    }
    if (S.warn_on) {
        if (!cont)
            fputs("Lua warning: ", stderr);
        fputs(msg, stderr);
        if (!tocont)
            fputc('\n', stderr);
    }
    cont = tocont;
}

lua_State *sandbox_newstate(void)
{
    lua_State *L = lua_newstate(l_alloc, NULL);
    if (L) {
        lua_atpanic(L, panic);
        lua_setwarnf(L, warnf, NULL);
        S.main = L;
    }
    return L;
}

size_t sandbox_heap(void)
{
    return S.used;
}

/* ---- the watchdog ---- */

static void *watchdog(void *arg)
{
    for (;;) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t d = atomic_load(&S.deadline);
        if (d && uv_hrtime() > d) {
            static const char msg[] =
                "\nollaeval: watchdog: a suite callback ran far past its CPU budget inside one C "
                "function that never returned to Lua (a pathological string pattern?); the run "
                "stops (exit status 6). The journal is intact: run the same command with -o "
                "RUN_DIR to resume, and fix the suite or raise --lua-cpu\n";
            if (write(2, msg, sizeof msg - 1) < 0) {
            }
            _exit(6);
        }
    }
    return NULL;
}

/* The hard deadline of the running slice of b: three times the budget plus
 * five seconds of running time (slack for a loaded machine). */
static void arm_watchdog(budget *b)
{
    if (!S.watchdog || !S.cpu_ns)
        return;
    uint64_t left = 3 * S.cpu_ns + 5000000000ull;
    left = b->used_ns < left ? left - b->used_ns : 0;
    atomic_store(&S.deadline, b->resumed + left);
}

static void start_watchdog(void)
{
    if (S.watchdog)
        return;
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals go to the main thread */
    if (pthread_create(&th, &a, watchdog, NULL) == 0)
        S.watchdog = 1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&a);
}

/* ---- the hook ---- */

static void hook(lua_State *L, lua_Debug *ar);

static void arm(lua_State *L, int count)
{
    lua_sethook(L, hook, LUA_MASKCOUNT, count);
}

static uint64_t elapsed(const budget *b)
{
    return b->used_ns + (uv_hrtime() - b->resumed);
}

static void hook(lua_State *L, lua_Debug *ar)
{
    budget *b = S.cur;
    if (S.signals > S.seen) {
        if (b) {
            b->tripped = TRIP_INT;
            arm(L, 1);
            luaL_error(L, "interrupted (Ctrl-C or SIGTERM)");
        }
        if (uv_hrtime() - S.sig_at > 1000000000ull) {
            S.seen = S.signals; /* once */
            luaL_error(L, "interrupted: Lua code ran for a second after Ctrl-C or SIGTERM "
                          "without returning to the engine");
        }
        return; /* the event loop will see it; keep the hook armed */
    }
    if (!b) {
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    if (b->tripped) {
        arm(L, 1);
        luaL_error(L, "%s", b->tripped == TRIP_MEM ? "not enough memory" : "CPU budget exceeded");
    }
    if (S.cpu_ns && elapsed(b) > S.cpu_ns) {
        b->tripped = TRIP_CPU;
        if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
            snprintf(b->where, sizeof b->where, "%s:%d: ", ar->short_src, ar->currentline);
        arm(L, 1);
        luaL_error(L, "CPU budget exceeded");
    }
}

/* ---- scheduling: the current budget follows the running task ---- */

void sandbox_enter(lua_State *co, void *bv)
{
    budget *b = bv;
    S.running = co;
    S.cur = b;
    if (b) {
        b->resumed = uv_hrtime();
        arm_watchdog(b);
    }
}

void *sandbox_leave(void)
{
    budget *b = S.cur;
    if (b)
        b->used_ns += uv_hrtime() - b->resumed;
    atomic_store(&S.deadline, 0);
    S.cur = NULL;
    S.running = NULL;
    return b;
}

/* ---- signals ---- */

int sandbox_signal(void)
{
    S.signals++;
    if (S.signals == 1)
        S.sig_at = uv_hrtime();
    /* lua_sethook may be called from a signal handler (ldebug.c) */
    if (S.running)
        lua_sethook(S.running, hook, LUA_MASKCOUNT, HOOK_EVERY);
    if (S.main)
        lua_sethook(S.main, hook, LUA_MASKCOUNT, HOOK_EVERY);
    return S.signals;
}

void sandbox_signal_seen(void)
{
    S.seen = S.signals;
}

int sandbox_signals(void)
{
    return S.signals;
}

/* ---- the guard ---- */

static const char *trip_message(lua_State *L, budget *b)
{
    switch (b->tripped) {
    case TRIP_CPU:
        return lua_pushfstring(L, "%sthe callback used more than its CPU budget of %f s "
                                  "(--lua-cpu SECONDS raises it)", b->where,
                               (double)S.cpu_ns / 1e9);
    case TRIP_MEM:
        return lua_pushfstring(L, "not enough memory: the Lua heap is capped at %d MiB "
                                  "(--lua-mem MIB raises it)", (int)(S.cap >> 20));
    default:
        return lua_pushliteral(L, "interrupted (Ctrl-C or SIGTERM)");
    }
}

/* The guard's message handler: the error as a string with a traceback.
 * A non-string error is stringified here, still inside the budget. */
static int guard_msgh(lua_State *L)
{
    budget *b = S.cur;
    if (b && b->tripped) {
        luaL_traceback(L, L, trip_message(L, b), 1);
        return 1;
    }
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- calls across the boundary ----
 * core.sbx_guard(fn, ...) and core.sbx_unguard(fn, ...) call fn with a
 * budget (below); core.sbx_wrap(f, guarded, copy_in, copy_out) -> w makes
 * the C closure through which a function crosses (sandbox.lua's guarded
 * and entry): w(...) passes each argument through copy_in (core.sbx_copier's
 * copy: tables copied, functions wrapped), calls f under a budget (guarded:
 * a script's function, as sbx_guard) or with the budget paused (an
 * engine's function, as sbx_unguard), and passes each result through
 * copy_out. Its upvalues: f, guarded, then copy_in's conv and memo and
 * copy_out's (the copies are made here, without calling the copiers). */
enum { W_FN = 1, W_GUARDED, W_IN_CONV, W_IN_MEMO, W_OUT_CONV, W_OUT_MEMO };

static void cross_value(lua_State *L, int i, int conv, int memo);

/* The frame of a call, above the caller's arguments (base of them):
 *   guarded, fresh budget: base+1 budget, base+2 message handler, base+3 fn
 *   guarded, nested:       base+1 fn (the running budget is shared)
 *   unguarded:             base+1 the paused budget (light userdata), base+2 fn
 * then fn's arguments. A continuation's ctx: base << 1 | copy (a crossing's:
 * the results are copied out). */
static int results(lua_State *L, lua_KContext ctx, int first)
{
    int top = lua_gettop(L);
    if (ctx & 1)
        for (int i = first; i <= top; i++)
            cross_value(L, i, lua_upvalueindex(W_OUT_CONV), lua_upvalueindex(W_OUT_MEMO));
    return top - first + 1;
}

static int nested_k(lua_State *L, int status, lua_KContext ctx)
{
    return results(L, ctx, (int)(ctx >> 1) + 1);
}

static int guard_k(lua_State *L, int status, lua_KContext ctx)
{
    int base = (int)(ctx >> 1);
    budget *b = lua_touserdata(L, base + 1);
    S.cur = NULL;
    atomic_store(&S.deadline, 0);
    if (b == S.spare)
        S.spare_busy = 0;
    if (S.signals <= S.seen)
        lua_sethook(L, NULL, 0, 0);
    if (status == LUA_OK || status == LUA_YIELD)
        return results(L, ctx, base + 3);
    if (status == LUA_ERRMEM)
        b->tripped = TRIP_MEM;
    if (b->tripped == TRIP_MEM) /* the callback's garbage goes now: lauxlib's */
        lua_gc(L, LUA_GCCOLLECT); /* buffers do not retry after a collection */
    if (b->tripped && status != LUA_ERRERR && lua_type(L, -1) == LUA_TSTRING) {
        return lua_error(L); /* the handler already wrote the budget's message */
    }
    if (b->tripped) {
        trip_message(L, b);
        return lua_error(L);
    }
    return lua_error(L);
}

static int unguard_k(lua_State *L, int status, lua_KContext ctx)
{
    int base = (int)(ctx >> 1);
    budget *b = lua_touserdata(L, base + 1);
    S.cur = b;
    if (b) {
        b->resumed = uv_hrtime();
        arm_watchdog(b);
        arm(L, b->tripped ? 1 : HOOK_EVERY);
    }
    if (status != LUA_OK && status != LUA_YIELD)
        return lua_error(L);
    return results(L, ctx, base + 2);
}

/* A fresh budget, pushed: the spare one (kept in the registry, so a guard
 * after a guard allocates nothing) unless a guard that has not ended holds
 * it (a task parked inside its callback), else a new userdata. */
static budget *push_budget(lua_State *L)
{
    budget *b;
    if (S.spare && !S.spare_busy) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, S.spare_ref);
        b = S.spare;
    } else {
        b = lua_newuserdatauv(L, sizeof *b, 0);
        if (!S.spare) {
            lua_pushvalue(L, -1);
            S.spare_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            S.spare = b;
        }
    }
    if (b == S.spare)
        S.spare_busy = 1;
    memset(b, 0, sizeof *b);
    return b;
}

/* The call: fn at index fn, its arguments from first to the caller's top
 * (base), each passed through the crossing's copy_in when copy. */
static int call_across(lua_State *L, int guarded, int fn, int first, int copy)
{
    int base = lua_gettop(L);
    luaL_checkstack(L, base - first + 8, "calling across the sandbox");
    int fresh = guarded && !S.cur;
    budget *b = NULL;
    if (fresh) {
        lua_pushnil(L); /* the budget, once the arguments are copied */
        lua_pushcfunction(L, guard_msgh);
    } else if (!guarded) {
        lua_pushnil(L); /* the paused budget, below */
    }
    lua_pushvalue(L, fn);
    for (int i = first; i <= base; i++) {
        lua_pushvalue(L, i);
        if (copy)
            cross_value(L, lua_gettop(L), lua_upvalueindex(W_IN_CONV), lua_upvalueindex(W_IN_MEMO));
    }
    int nargs = base - first + 1;
    lua_KContext ctx = (lua_KContext)base << 1 | (copy ? 1 : 0);
    if (fresh) {
        b = push_budget(L);
        lua_replace(L, base + 1);
        b->resumed = uv_hrtime();
        S.cur = b;
        arm_watchdog(b);
        arm(L, HOOK_EVERY);
        int status = lua_pcallk(L, nargs, LUA_MULTRET, base + 2, ctx, guard_k);
        return guard_k(L, status, ctx);
    }
    if (guarded) {
        lua_callk(L, nargs, LUA_MULTRET, ctx, nested_k);
        return nested_k(L, LUA_OK, ctx);
    }
    b = S.cur;
    if (b) {
        if (b->tripped) {
            trip_message(L, b);
            return lua_error(L);
        }
        b->used_ns += uv_hrtime() - b->resumed;
        lua_pushlightuserdata(L, b);
        lua_replace(L, base + 1);
    }
    S.cur = NULL;
    atomic_store(&S.deadline, 0);
    if (S.signals <= S.seen)
        lua_sethook(L, NULL, 0, 0); /* the engine's code runs at full speed */
    int status = lua_pcallk(L, nargs, LUA_MULTRET, 0, ctx, unguard_k);
    return unguard_k(L, status, ctx);
}

/* core.sbx_guard(fn, ...) -> fn's results. Calls fn under a fresh budget,
 * unless a budget is already running (then fn shares it). Errors come out
 * as a string with a traceback. May yield (fn may wait for the model). */
static int l_guard(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    return call_across(L, 1, 1, 2, 0);
}

/* core.sbx_unguard(fn, ...) -> fn's results: calls the engine's fn with the
 * running budget paused (the engine's own work is not the script's), then
 * resumes it. May yield. */
static int l_unguard(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    return call_across(L, 0, 1, 2, 0);
}

/* w(...): the crossing (see above) */
static int l_cross(lua_State *L)
{
    return call_across(L, lua_toboolean(L, lua_upvalueindex(W_GUARDED)), lua_upvalueindex(W_FN), 1, 1);
}

static int l_copy(lua_State *L);

static int l_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    for (int i = 3; i <= 4; i++)
        if (lua_tocfunction(L, i) != l_copy)
            luaL_typeerror(L, i, "copier");
    lua_settop(L, 4);
    lua_pushboolean(L, lua_toboolean(L, 2));
    lua_replace(L, 2);
    for (int i = 3; i <= 4; i++) {
        lua_getupvalue(L, i, 1);
        lua_getupvalue(L, i, 2);
    }
    lua_remove(L, 3);
    lua_remove(L, 3); /* f guarded in_conv in_memo out_conv out_memo */
    lua_pushcclosure(L, l_cross, 6);
    return 1;
}

/* The functions of the boundary: conv(v) -> v as it crosses in one
 * direction when it is a function (guarded: into the engine, so a
 * script's function gets a guarded crossing; else into the script, an
 * engine's function an unguarded one), else v. A crossing given back
 * where it came from is its function again (a suite's extract =
 * lib.extract is called as it is); one already going this way stays as
 * it is. Each function has one crossing for as long as both live (the
 * cache is weak both ways: a crossing nobody holds can be made again
 * unseen). Upvalues: guarded, the cache, then the crossing's upvalues
 * from W_IN_CONV on. */
enum { C_GUARDED = 1, C_CACHE, C_IN_CONV, C_IN_MEMO, C_OUT_CONV, C_OUT_MEMO };

static int l_conv(lua_State *L)
{
    lua_settop(L, 1);
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return 1;
    int guarded = lua_toboolean(L, lua_upvalueindex(C_GUARDED));
    if (lua_tocfunction(L, 1) == l_cross) {
        lua_getupvalue(L, 1, W_GUARDED);
        int was_guarded = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (guarded && !was_guarded)
            lua_getupvalue(L, 1, W_FN);
        else
            lua_settop(L, 1);
        return 1;
    }
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(C_CACHE)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    lua_pushvalue(L, 1);
    lua_pushboolean(L, guarded);
    for (int up = C_IN_CONV; up <= C_OUT_MEMO; up++)
        lua_pushvalue(L, lua_upvalueindex(up));
    lua_pushcclosure(L, l_cross, 6);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, lua_upvalueindex(C_CACHE));
    return 1;
}

/* core.sbx_boundary(memo) -> to_engine, to_suite, guarded, entry: the two
 * copiers of the boundary (to_suite with memo, the constants) and their
 * convs (a script's function as the engine calls it; an engine's as the
 * script calls it). */
static int l_boundary(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);                  /* 1 memo */
    for (int g = 1; g >= 0; g--) {     /* 2 guarded (into the engine), 3 entry */
        lua_pushboolean(L, g);
        lua_createtable(L, 0, 0);      /* the cache, weak both ways */
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "kv");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        for (int i = 0; i < 4; i++)
            lua_pushnil(L);            /* set below */
        lua_pushcclosure(L, l_conv, 6);
    }
    /* guarded: in = into the script (entry, memo), out = into the engine (guarded, none) */
    lua_pushvalue(L, 3);
    lua_setupvalue(L, 2, C_IN_CONV);
    lua_pushvalue(L, 1);
    lua_setupvalue(L, 2, C_IN_MEMO);
    lua_pushvalue(L, 2);
    lua_setupvalue(L, 2, C_OUT_CONV);
    /* entry: in = into the engine (guarded, none), out = into the script (entry, memo) */
    lua_pushvalue(L, 2);
    lua_setupvalue(L, 3, C_IN_CONV);
    lua_pushvalue(L, 3);
    lua_setupvalue(L, 3, C_OUT_CONV);
    lua_pushvalue(L, 1);
    lua_setupvalue(L, 3, C_OUT_MEMO);
    lua_pushvalue(L, 2);               /* to_engine */
    lua_pushnil(L);
    lua_pushcclosure(L, l_copy, 2);
    lua_pushvalue(L, 3);               /* to_suite */
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_copy, 2);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    return 4;
}

/* core.sbx_unwrap(w) -> f, guarded  when w is a crossing, else nothing */
static int l_unwrap(lua_State *L)
{
    if (lua_tocfunction(L, 1) != l_cross)
        return 0;
    lua_getupvalue(L, 1, W_FN);
    lua_getupvalue(L, 1, W_GUARDED);
    return 2;
}

/* core.sbx_is_task(thread) -> whether it is an engine task's coroutine */
static int l_is_task(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTHREAD);
    lua_State *co = lua_tothread(L, 1);
    lua_pushboolean(L, *(void **)lua_getextraspace(co) != NULL);
    return 1;
}

/* core.sbx_after(ok, ...) -> ok, ...: what the sandbox's pcall, xpcall and
 * coroutine.resume pass their results through. Re-raises when the running
 * budget is tripped (a memory error trips it), so pcall cannot absorb it. */
static int l_after(lua_State *L)
{
    budget *b = S.cur;
    if (b && !lua_toboolean(L, 1) && lua_type(L, 2) == LUA_TSTRING &&
        strcmp(lua_tostring(L, 2), "not enough memory") == 0)
        b->tripped = TRIP_MEM;
    if (b && b->tripped) {
        arm(L, 1);
        trip_message(L, b);
        return lua_error(L);
    }
    return lua_gettop(L);
}

/* core.sbx_print(nbytes) -> true if that much more output fits the
 * callback's print cap (counted), else false (once over, always false). */
static int l_print(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    size_t *used = S.cur ? &S.cur->printed : &S.printed_free;
    int fits = *used <= S.print_cap && (size_t)n <= S.print_cap - *used;
    *used += fits ? (size_t)n : S.print_cap + 1;
    lua_pushboolean(L, fits);
    return 1;
}

/* core.sbx_config{cpu=SECONDS, mem=MIB, print=BYTES, watchdog=bool}:
 * the limits (0 turns one off); returns the ones in force. */
static int l_config(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "cpu") == LUA_TNUMBER)
        S.cpu_ns = (uint64_t)(lua_tonumber(L, -1) * 1e9);
    if (lua_getfield(L, 1, "mem") == LUA_TNUMBER) {
        lua_Number mib = lua_tonumber(L, -1);
        S.cap = mib > 0 ? (size_t)(mib * 1048576.0) : 0;
    }
    if (lua_getfield(L, 1, "print") == LUA_TNUMBER)
        S.print_cap = (size_t)lua_tointeger(L, -1);
    if (lua_getfield(L, 1, "watchdog") == LUA_TBOOLEAN && lua_toboolean(L, -1))
        start_watchdog();
    lua_pop(L, 4);
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, (double)S.cpu_ns / 1e9);
    lua_setfield(L, -2, "cpu");
    lua_pushnumber(L, (double)S.cap / 1048576.0);
    lua_setfield(L, -2, "mem");
    lua_pushinteger(L, (lua_Integer)S.print_cap);
    lua_setfield(L, -2, "print");
    return 1;
}

/* core.sbx_embedded(name) -> chunk, file, sha256  or  nil: the compiled
 * chunk (load it with mode "b"), its source file, its source's sha256 */
static int l_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    for (const struct oe_embedded *e = oe_embedded; e->name; e++)
        if (strcmp(e->name, name) == 0) {
            lua_pushlstring(L, e->chunk, e->len);
            lua_pushstring(L, e->file);
            lua_pushstring(L, e->sha256);
            return 3;
        }
    return 0;
}

/* core.sbx_realpath(path) -> the absolute path with no symlink, `.` or
 * `..`,  or  nil, message */
static int l_realpath(lua_State *L)
{
    const char *p = luaL_checkstring(L, 1);
    char *r = realpath(p, NULL);
    if (!r) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", p, strerror(errno));
        return 2;
    }
    lua_pushstring(L, r);
    free(r);
    return 1;
}

/* core.sbx_proxy(mt) -> a userdata with metatable mt: the read-only face
 * of an engine table (rawset, next and setmetatable do not work on it). */
static int l_proxy(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_newuserdatauv(L, 0, 0);
    lua_pushvalue(L, 1);
    lua_setmetatable(L, -2);
    return 1;
}

/* ---- the copies at the boundary ---- */

/* A copy of a table without metatables (raw reads), its functions passed
 * through conv and each nested table through memo first (a table memo
 * returns is used as it is: the run's constant tables); shared and cyclic
 * tables stay shared (seen: each original met so far -> its copy). memo
 * is a function (t -> its copy, or nil) or a table: t -> its copy, true
 * for a table to copy once, the first time it crosses, and to give again
 * after (the copy is kept there), or false for a table handed over: one
 * the engine made for the script and never reads again, which crosses as
 * it is, its values converted in place (and then is its own copy). Upvalues: 1 conv, 2 memo (or nil). The
 * stack of each level: the original at t, the copy on top. */
enum { COPY_MAX_DEPTH = 10000, SEEN_SLOTS = 8 };

/* seen: the first SEEN_SLOTS originals by address, their copies in stack
 * slots; after those, a table (light userdata address -> copy) in the slot
 * after them. The originals are alive while they are copied (the value
 * being copied holds them), so an address names one table. */
typedef struct {
    int base;        /* stack index of the first slot */
    int n;           /* tables seen */
    int conv, memo;  /* where conv and memo are (upvalue indices) */
    const void *orig[SEEN_SLOTS];
} copy_state;

/* Reserves the slots of cs on top of the stack. */
static void copy_begin(lua_State *L, copy_state *cs, int conv, int memo)
{
    luaL_checkstack(L, SEEN_SLOTS + 8, "copying a table");
    cs->base = lua_gettop(L) + 1;
    cs->n = 0;
    cs->conv = conv;
    cs->memo = memo;
    lua_settop(L, cs->base + SEEN_SLOTS);
}

/* The copy on top replaces the slots: the stack as before copy_begin, and the copy. */
static void copy_end(lua_State *L, copy_state *cs)
{
    lua_replace(L, cs->base);
    lua_settop(L, cs->base);
}

static void seen_add(lua_State *L, copy_state *cs, int t, int c)
{
    const void *p = lua_topointer(L, t);
    if (cs->n < SEEN_SLOTS) {
        cs->orig[cs->n] = p;
        lua_pushvalue(L, c);
        lua_replace(L, cs->base + cs->n);
    } else {
        int tab = cs->base + SEEN_SLOTS;
        if (cs->n == SEEN_SLOTS) {
            lua_createtable(L, 0, SEEN_SLOTS);
            lua_replace(L, tab);
        }
        lua_pushlightuserdata(L, (void *)p);
        lua_pushvalue(L, c);
        lua_rawset(L, tab);
    }
    cs->n++;
}

/* Pushes the copy of the table at i made earlier in this copy and returns 1, or returns 0. */
static int seen_get(lua_State *L, copy_state *cs, int i)
{
    const void *p = lua_topointer(L, i);
    int inl = cs->n < SEEN_SLOTS ? cs->n : SEEN_SLOTS;
    for (int j = 0; j < inl; j++)
        if (cs->orig[j] == p) {
            lua_pushvalue(L, cs->base + j);
            return 1;
        }
    if (cs->n > SEEN_SLOTS) {
        lua_pushlightuserdata(L, (void *)p);
        if (lua_rawget(L, cs->base + SEEN_SLOTS) != LUA_TNIL)
            return 1;
        lua_pop(L, 1);
    }
    return 0;
}

static void copy_table(lua_State *L, int t, copy_state *cs, int depth);
static void push_crossed(lua_State *L, int i, copy_state *cs, int depth);

/* The table at i, handed over: each of its values replaced by the value
 * as it crosses (its keys must be plain values); pushes it. */
static void hand_over(lua_State *L, int i, int conv, int memo)
{
    copy_state cs;
    copy_begin(L, &cs, conv, memo);
    seen_add(L, &cs, i, i);
    lua_pushnil(L);
    while (lua_next(L, i)) { /* k x */
        int x = lua_gettop(L), k = x - 1;
        int kt = lua_type(L, k), xt = lua_type(L, x);
        if (kt == LUA_TTABLE || kt == LUA_TFUNCTION)
            luaL_error(L, "a table handed over to the sandbox has a %s key", lua_typename(L, kt));
        if (xt == LUA_TTABLE || xt == LUA_TFUNCTION) {
            lua_pushvalue(L, k);
            push_crossed(L, x, &cs, 1);
            lua_rawset(L, i); /* an existing field: allowed while traversing */
        }
        lua_pop(L, 1);
    }
    lua_pushvalue(L, i);
    copy_end(L, &cs);
}

/* Pushes memo's copy of the table at i and returns 1, or returns 0. */
static int memo_get(lua_State *L, int i, int conv, int memo)
{
    int ty = lua_type(L, memo);
    if (ty == LUA_TFUNCTION) {
        lua_pushvalue(L, memo);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        if (lua_toboolean(L, -1))
            return 1;
        lua_pop(L, 1);
        return 0;
    }
    if (ty != LUA_TTABLE)
        return 0;
    i = lua_absindex(L, i);
    lua_pushvalue(L, i);
    int vt = lua_rawget(L, memo);
    if (vt == LUA_TTABLE)
        return 1;
    if (vt != LUA_TBOOLEAN) {
        lua_pop(L, 1);
        return 0;
    }
    int once = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, i);
    if (once) { /* the first crossing: a copy of its own, kept */
        copy_state cs;
        copy_begin(L, &cs, conv, memo);
        copy_table(L, i, &cs, 0);
        copy_end(L, &cs);
        lua_rawset(L, memo);
        lua_pushvalue(L, i);
        lua_rawget(L, memo);
    } else { /* handed over: it is the script's now */
        lua_pushnil(L);
        lua_rawset(L, memo);
        hand_over(L, i, conv, memo);
    }
    return 1;
}

/* Pushes the value at i as it crosses. */
static void push_crossed(lua_State *L, int i, copy_state *cs, int depth)
{
    int ty = lua_type(L, i);
    if (ty == LUA_TFUNCTION) {
        lua_pushvalue(L, cs->conv);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
    } else if (ty != LUA_TTABLE) {
        lua_pushvalue(L, i);
    } else if (!seen_get(L, cs, i) && !memo_get(L, i, cs->conv, cs->memo)) {
        copy_table(L, i, cs, depth + 1);
    }
}

/* One pass of lua_next over a small table: its first PAIRS_HELD keys and
 * values are held on the stack while it is counted (for the copy's size),
 * and copied from there; a larger one's further entries by a second pass
 * from the last held key. */
enum { PAIRS_HELD = 16 };

static void copy_table(lua_State *L, int t, copy_state *cs, int depth)
{
    if (depth > COPY_MAX_DEPTH)
        luaL_error(L, "a table nested more than %d deep cannot cross the sandbox", COPY_MAX_DEPTH);
    luaL_checkstack(L, 2 * PAIRS_HELD + 8, "copying a table");
    int held = lua_gettop(L) + 1, n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) { /* ... k x */
        if (n < PAIRS_HELD) {
            lua_pushvalue(L, -2); /* k x k: the pair stays */
        } else {
            lua_pop(L, 1);
        }
        n++;
    }
    int nheld = n < PAIRS_HELD ? n : PAIRS_HELD;
    int narr = (int)lua_rawlen(L, t);
    if (narr > n)
        narr = n;
    lua_settop(L, held + 2 * nheld - 1); /* the pairs (the counting key is gone) */
    lua_createtable(L, narr, n - narr);
    int c = lua_gettop(L);
    seen_add(L, cs, t, c);
    for (int j = 0; j < nheld; j++) {
        push_crossed(L, held + 2 * j, cs, depth);
        push_crossed(L, held + 2 * j + 1, cs, depth);
        lua_rawset(L, c);
    }
    if (n > PAIRS_HELD) {
        lua_pushvalue(L, held + 2 * (PAIRS_HELD - 1));
        while (lua_next(L, t)) { /* c k x */
            int x = lua_gettop(L), k = x - 1;
            push_crossed(L, k, cs, depth);
            push_crossed(L, x, cs, depth);
            lua_rawset(L, c);
            lua_pop(L, 1); /* x: k stays for lua_next */
        }
    }
    lua_copy(L, c, held);
    lua_settop(L, held);
}

/* Replaces the value at i by the value as it crosses (raw: a table is
 * copied even if memo has it). */
static void cross_value_raw(lua_State *L, int i, int conv, int memo, int raw)
{
    int ty = lua_type(L, i);
    if (ty == LUA_TFUNCTION) {
        lua_pushvalue(L, conv);
        lua_pushvalue(L, i);
        lua_call(L, 1, 1);
        lua_replace(L, i);
    } else if (ty == LUA_TTABLE) {
        if (raw || !memo_get(L, i, conv, memo)) {
            copy_state cs;
            copy_begin(L, &cs, conv, memo);
            copy_table(L, i, &cs, 0);
            copy_end(L, &cs);
        }
        lua_replace(L, i);
    }
}

static void cross_value(lua_State *L, int i, int conv, int memo)
{
    cross_value_raw(L, i, conv, memo, 0);
}

/* The copier: copy(v [, raw]) -> v as it crosses: a table copied (unless
 * memo gives one; raw: copied all the same), a function through conv,
 * anything else as it is. */
static int l_copy(lua_State *L)
{
    lua_settop(L, 2);
    cross_value_raw(L, 1, lua_upvalueindex(1), lua_upvalueindex(2), lua_toboolean(L, 2));
    lua_settop(L, 1);
    return 1;
}

/* core.sbx_copier(conv [, memo]) -> copy(v [, raw]): see above */
static int l_copier(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushcclosure(L, l_copy, 2);
    return 1;
}

/* core.sbx_heap() -> bytes in the Lua heap, the cap */
static int l_heap(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)S.used);
    lua_pushinteger(L, (lua_Integer)S.cap);
    return 2;
}

static const luaL_Reg funcs[] = {
    {"sbx_guard",    l_guard},
    {"sbx_after",    l_after},
    {"sbx_unguard",  l_unguard},
    {"sbx_is_task",  l_is_task},
    {"sbx_print",    l_print},
    {"sbx_config",   l_config},
    {"sbx_embedded", l_embedded},
    {"sbx_realpath", l_realpath},
    {"sbx_proxy",    l_proxy},
    {"sbx_heap",     l_heap},
    {"sbx_copier",   l_copier},
    {"sbx_wrap",     l_wrap},
    {"sbx_boundary", l_boundary},
    {"sbx_unwrap",   l_unwrap},
    {NULL, NULL},
};

void sandbox_register(lua_State *L)
{
    luaL_setfuncs(L, funcs, 0);
}
