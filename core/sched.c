/*
 * sched.c: tasks, the ready queue and the run loop. It knows no request:
 * the C functions that park a task (lapi.c) say what it waits for and what
 * it resumes with.
 *
 * A task is a Lua coroutine the scheduler resumes. Its state lives in a
 * userdata (metatable "ollaeval.task") that is also the task handle Lua
 * sees; while the task can still run, the userdata is anchored in the
 * registry (task->ref), so neither it nor its thread can be collected. The
 * thread's extra space points back at the task, so a C function called from
 * Lua finds the task it runs in with sched_current().
 *
 * Lua runs only from sched_run(): libuv and libcurl callbacks never resume a
 * coroutine, they put its task on the ready queue (sched_ready) and return;
 * the loop below drains that queue between turns of uv_run().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "oe.h"
#include "sched.h"
#include "sandbox.h"

static struct {
    uv_loop_t *loop;
    lua_State *L;
    oe_task *ready_head, *ready_tail;
    int live;      /* tasks spawned and not finished */
    int next_id;
    int failures;  /* task errors nobody waited for, and items' (core.task_failed) */
    int exiting;   /* a task called os.exit: stop resuming Lua */
    int exit_status;
    int parked[PARK_EXIT + 1]; /* parked tasks by what they wait for */
} S;

void sched_init(uv_loop_t *loop, lua_State *L)
{
    S.loop = loop;
    S.L = L;
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "ollaeval.failed");
    *(oe_task **)lua_getextraspace(L) = NULL;
}

oe_task *sched_current(lua_State *L)
{
    return *(oe_task **)lua_getextraspace(L);
}

int sched_live(void)
{
    return S.live;
}

void sched_count_failure(void)
{
    S.failures++;
}

int sched_failures(void)
{
    return S.failures;
}

/* Puts a parked task on the ready queue. `push` (may be NULL) pushes the
 * values the task resumes with onto its stack just before lua_resume. */
void sched_ready(oe_task *t, sched_push_fn push)
{
    if (t->state == TASK_PARKED) {
        S.parked[t->park]--;
        t->park = PARK_NONE;
    }
    t->push = push;
    t->state = TASK_READY;
    t->next = NULL;
    if (S.ready_tail)
        S.ready_tail->next = t;
    else
        S.ready_head = t;
    S.ready_tail = t;
}

/* Ends a park early: runs the cleanup the parking function left (which
 * stops its timer, say) and readies the task. Returns 0 when the task is
 * not parked on something that can be ended early. */
int sched_wake(oe_task *t, sched_push_fn push)
{
    if (t->state != TASK_PARKED || !t->cleanup)
        return 0;
    sched_cleanup_fn fn = t->cleanup;
    t->cleanup = NULL;
    fn(t);
    t->cdata = NULL;
    sched_ready(t, push);
    return 1;
}

/* The running task t asks to end the run with `status` (os.exit): it stays
 * parked for good, no Lua runs any more, and sched_run returns SCHED_EXIT. */
void sched_exit(oe_task *t, int status)
{
    sched_park(t, PARK_EXIT);
    S.exiting = 1;
    S.exit_status = status;
}

int sched_exit_status(void)
{
    return S.exit_status;
}

/* Parks the running task on `park` (PARK_*); it resumes when someone
 * calls sched_ready() or sched_wake() on it. */
void sched_park(oe_task *t, int park)
{
    t->state = TASK_PARKED;
    t->park = park;
    S.parked[park]++;
}

/* Live tasks parked on `park` (PARK_SLEEP: pending sleep timers). */
int sched_parked(int park)
{
    return S.parked[park];
}

/* ---- spawning and finishing ---- */

/* [-n, +1]: pops fn and nargs arguments from L, pushes the task handle. The
 * task starts on the next turn of the scheduler, not inside spawn. */
oe_task *sched_spawn(lua_State *L, int nargs)
{
    lua_State *co = lua_newthread(L);                   /* fn args co */
    oe_task *t = lua_newuserdatauv(L, sizeof *t, 2);    /* fn args co ud */
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, "ollaeval.task");
    lua_rotate(L, -2, 1);                               /* fn args ud co */
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, -3, 1);                        /* ud.1 = co */
    lua_pop(L, 1);                                      /* fn args ud */
    lua_rotate(L, -(nargs + 2), 1);                     /* ud fn args */
    lua_xmove(L, co, nargs + 1);                        /* ud */
    t->co = co;
    t->id = ++S.next_id;
    t->nargs = nargs;
    *(oe_task **)lua_getextraspace(co) = t;
    lua_pushvalue(L, -1);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    S.live++;
    sched_ready(t, NULL);
    return t;
}

/* [-0, +0] Called once when a task's coroutine returns or raises. Keeps its
 * results (or error) in uservalue 2 as {n=, ...}, wakes the tasks waiting for
 * it and drops the anchor. nres values are on top of co's stack. */
static void finish(oe_task *t, int status, int nres)
{
    lua_State *L = S.L, *co = t->co;
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);          /* ud */
    if (status == LUA_OK) {
        lua_createtable(L, nres, 1);
        lua_xmove(co, L, nres);
        for (int i = nres; i >= 1; i--)
            lua_rawseti(L, -(i + 1), i);                /* ud {results} */
        lua_pushinteger(L, nres);
        lua_setfield(L, -2, "n");
        t->ok = 1;
    } else {
        const char *msg = lua_tostring(co, -1);
        if (!msg)
            msg = luaL_tolstring(co, -1, NULL);
        luaL_traceback(L, co, msg, 0);                  /* ud tb */
        lua_createtable(L, 1, 1);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, 1);
        lua_setfield(L, -2, "n");
        t->ok = 0;
    }
    lua_setiuservalue(L, -2, 2);                        /* ud.2 = results */
    lua_pushnil(L);
    lua_setiuservalue(L, -2, 1);                        /* drop the thread */
    lua_pop(L, 1);
    *(oe_task **)lua_getextraspace(co) = NULL;
#if LUA_VERSION_RELEASE_NUM >= 50406
    lua_closethread(co, L);
#else
    lua_resetthread(co);
#endif
    t->co = NULL;
    t->state = TASK_DONE;
    S.live--;
    if (t->on_end) {
        sched_cleanup_fn fn = t->on_end;
        t->on_end = NULL;
        fn(t);
    }
    if (!t->ok && !t->waiters && !t->is_main) {
        /* nobody waits yet: keep the handle; sched_run reports it at the end
         * unless a wait() looks at it first */
        lua_getfield(L, LUA_REGISTRYINDEX, "ollaeval.failed");
        lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    for (oe_task *w = t->waiters, *next; w; w = next) {
        next = w->wait_next;
        w->waiting_on = NULL;
        sched_ready(w, sched_push_wait_result);
    }
    t->waiters = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
    t->ref = LUA_NOREF;
}

/* Pushes ok, results... of finished task `target` onto co. */
int sched_push_task_result(lua_State *co, oe_task *target, int idx)
{
    /* the handle is at idx on co's stack */
    lua_getiuservalue(co, idx, 2);
    lua_getfield(co, -1, "n");
    int n = (int)lua_tointeger(co, -1);
    lua_pop(co, 1);
    luaL_checkstack(co, n + 1, "too many results");
    lua_pushboolean(co, target->ok);
    for (int i = 1; i <= n; i++)
        lua_rawgeti(co, -1 - i, i);
    lua_remove(co, -(n + 2));
    target->observed = 1;
    return n + 1;
}

/* The waiter's stack holds the handle it waited on at its top (wait leaves
 * it there before yielding). */
int sched_push_wait_result(lua_State *co, oe_task *w)
{
    oe_task *target = luaL_checkudata(co, -1, "ollaeval.task");
    int n = sched_push_task_result(co, target, -1);
    lua_remove(co, -(n + 1));
    return n;
}

/* Parks the running task `w` until `target` finishes. */
void sched_wait(oe_task *w, oe_task *target)
{
    sched_park(w, PARK_WAIT);
    w->waiting_on = target;
    w->wait_next = target->waiters;
    target->waiters = w;
}

/* ---- the loop ---- */

/* Resumes one ready task. lua_resume's outcomes: LUA_YIELD with the task
 * parked by a C function (request, sleep, wait, exit) leaves it parked;
 * LUA_YIELD from a plain coroutine.yield() puts it back at the end of the
 * queue; LUA_OK and errors finish the task. Returns 1 when the main task
 * ended (returned, raised or asked to exit) in this step. */
static int step(oe_task *t)
{
    lua_State *co = t->co;
    int nargs = t->nargs, nres = 0;
    t->nargs = 0;
    if (t->push)
        nargs = t->push(co, t);
    t->push = NULL;
    t->state = TASK_RUNNING;
    sandbox_enter(co, t->budget);
    int status = lua_resume(co, S.L, nargs, &nres);
    t->budget = sandbox_leave();
    if (status == LUA_YIELD) {
        lua_pop(co, nres);
        if (t->state == TASK_RUNNING)
            sched_ready(t, NULL);
        return S.exiting;
    }
    finish(t, status, nres);
    return t->is_main;
}

/* Runs the ready tasks; `at_main_end` (may be NULL) is called once, right
 * after the main task ends. Stops early when a task asked to exit. */
static void drain_ready(oe_task *main_task, void (*at_main_end)(void))
{
    oe_task *t;
    while (!S.exiting && (t = S.ready_head)) {
        S.ready_head = t->next;
        if (!S.ready_head)
            S.ready_tail = NULL;
        t->next = NULL;
        if (step(t) && at_main_end) {
            at_main_end();
            at_main_end = NULL;
        }
    }
}

/* Failed tasks nobody waited for: reported with their tracebacks, and
 * counted (the exit status becomes 1). */
static void report_unobserved(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, "ollaeval.failed");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        oe_task *t = lua_touserdata(L, -2);
        if (!t->observed) {
            lua_getiuservalue(L, -2, 2);
            lua_rawgeti(L, -1, 1);
            fprintf(stderr, "ollaeval: task %d failed and nobody waited for it: %s\n", t->id,
                    lua_tostring(L, -1));
            lua_pop(L, 2);
            S.failures++;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "ollaeval.failed");
}

/* Runs the main task and everything it spawns until no task is left, the
 * main task raises, or a task asks to exit. `at_main_end` (may be NULL) is
 * called once when the main task ends. The main task's results or error
 * stay in its handle (sched_push_task_result reads them). */
int sched_run(lua_State *L, oe_task *main_task, void (*at_main_end)(void))
{
    int main_ended = 0;
    for (;;) {
        drain_ready(main_task, main_ended ? NULL : at_main_end);
        if (main_task->state == TASK_DONE || S.exiting)
            main_ended = 1;
        if (S.exiting)
            return SCHED_EXIT;
        if (S.live == 0)
            break;
        if (main_task->state == TASK_DONE && !main_task->ok)
            break; /* a top-level error ends the run; shutdown frees the rest */
        if (!uv_loop_alive(S.loop) && !S.ready_head) {
            fprintf(stderr, "ollaeval: deadlock: %d task(s) wait for each other and "
                            "nothing is in flight\n", S.live);
            return SCHED_DEADLOCK;
        }
        uv_run(S.loop, UV_RUN_ONCE);
    }
    report_unobserved(L);
    return main_task->ok ? SCHED_DONE : SCHED_ERROR;
}
