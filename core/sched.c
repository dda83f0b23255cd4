/*
 * sched.c: tasks and the request window.
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
 *
 * The request window: each endpoint (scheme://host:port) has a pool with a
 * limit; at most `limit` requests are in libcurl at once, the rest wait here
 * first in, first out, so a request's timeout never counts time queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "oe.h"
#include "sched.h"

oe_engine oe;

static struct {
    uv_loop_t *loop;
    lua_State *L;
    oe_task *ready_head, *ready_tail;
    int live;      /* tasks spawned and not finished */
    int next_id;
    oe_pool *pools;
    uint64_t t0;   /* uv_hrtime at start */
} S;

double oe_now(void)
{
    return (double)(uv_hrtime() - S.t0) / 1e6;
}

void sched_init(uv_loop_t *loop, lua_State *L)
{
    S.loop = loop;
    S.L = L;
    S.t0 = uv_hrtime();
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

/* Puts a parked task on the ready queue. `push` (may be NULL) pushes the
 * values the task resumes with onto its stack just before lua_resume. */
void sched_ready(oe_task *t, sched_push_fn push)
{
    t->push = push;
    t->state = TASK_READY;
    t->next = NULL;
    if (S.ready_tail)
        S.ready_tail->next = t;
    else
        S.ready_head = t;
    S.ready_tail = t;
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
    w->state = TASK_PARKED;
    w->waiting_on = target;
    w->wait_next = target->waiters;
    target->waiters = w;
}

/* ---- the loop ---- */

/* Resumes one ready task. lua_resume's outcomes: LUA_YIELD with the task
 * parked by a C function (chat, sleep, wait) leaves it parked; LUA_YIELD
 * from a plain coroutine.yield() puts it back at the end of the queue;
 * LUA_OK and errors finish the task. */
static void step(oe_task *t)
{
    lua_State *co = t->co;
    int nargs = t->nargs, nres = 0;
    t->nargs = 0;
    if (t->push)
        nargs = t->push(co, t);
    t->push = NULL;
    t->state = TASK_RUNNING;
    int status = lua_resume(co, S.L, nargs, &nres);
    if (status == LUA_YIELD) {
        lua_pop(co, nres);
        if (t->state == TASK_RUNNING)
            sched_ready(t, NULL);
        return;
    }
    finish(t, status, nres);
}

static void drain_ready(void)
{
    oe_task *t;
    while ((t = S.ready_head)) {
        S.ready_head = t->next;
        if (!S.ready_head)
            S.ready_tail = NULL;
        t->next = NULL;
        step(t);
    }
}

/* Failed tasks nobody waited for: reported with their tracebacks, and
 * the exit status becomes 1. */
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
            oe.task_failures++;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "ollaeval.failed");
}

/* Runs the main task (a registry ref to its handle) and everything it
 * spawns until no task is left. Returns LUA_OK, or the main task's error
 * status with its traceback left on top of S.L's stack. */
int sched_run(lua_State *L, oe_task *main_task)
{
    for (;;) {
        drain_ready();
        if (S.live == 0)
            break;
        if (main_task->state == TASK_DONE && !main_task->ok)
            break; /* a top-level error ends the run; shutdown frees the rest */
        if (!uv_loop_alive(S.loop) && !S.ready_head) {
            fprintf(stderr, "ollaeval: deadlock: %d task(s) wait for each other and "
                            "nothing is in flight\n", S.live);
            return LUA_ERRRUN;
        }
        uv_run(S.loop, UV_RUN_ONCE);
    }
    report_unobserved(L);
    return main_task->ok ? LUA_OK : LUA_ERRRUN;
}

/* ---- endpoint windows ---- */

/* The pool key of a URL: "scheme://host:port" (the authority part). */
static void pool_key(const char *url, char *key, size_t n)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t len = strcspn(p, "/?#");
    size_t pre = (size_t)(p - url);
    if (pre + len >= n)
        len = n - pre - 1;
    memcpy(key, url, pre + len);
    key[pre + len] = '\0';
}

oe_pool *sched_pool(const char *url, int create)
{
    char key[256];
    pool_key(url, key, sizeof key);
    for (oe_pool *p = S.pools; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            return p;
    if (!create)
        return NULL;
    oe_pool *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    snprintf(p->key, sizeof p->key, "%s", key);
    p->limit = oe.concurrency > 0 ? oe.concurrency : 1;
    p->max_limit = p->limit;
    p->next = S.pools;
    S.pools = p;
    return p;
}

static void pool_pump(oe_pool *p)
{
    while (p->inflight < p->limit && p->head) {
        oe_req *r = p->head;
        p->head = r->next;
        if (!p->head)
            p->tail = NULL;
        r->next = NULL;
        p->queued--;
        p->inflight++;
        if (p->inflight > p->max_inflight)
            p->max_inflight = p->inflight;
        http_start(r);
    }
}

/* Takes ownership of r (from lapi.c) until it is handed to http.c. */
void sched_submit(oe_req *r)
{
    oe_pool *p = sched_pool(r->url, 1);
    r->pool = p;
    r->t_queued = oe_now();
    r->next = NULL;
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->queued++;
    pool_pump(p);
}

void sched_pool_set_limit(oe_pool *p, int limit)
{
    p->limit = limit < 1 ? 1 : limit;
    pool_pump(p);
}

/* From http.c: the transfer has ended; r is ours again. A task parked on
 * it resumes with the result (lapi.c pushes it); a task busy elsewhere (in
 * an on_token callback, say) takes it with core.request_wait(). */
void sched_req_done(oe_req *r)
{
    oe_pool *p = r->pool;
    if (r->easy == NULL && r->t_start) { /* it was in flight */
        p->inflight--;
        p->done++;
        pool_pump(p);
    }
    r->finished = 1;
    oe_task *t = r->task;
    if (t->state == TASK_PARKED && t->park == PARK_REQ)
        sched_ready(t, lapi_push_response);
}

/* From http.c: streamed text arrived. Wakes the task if it waits on the
 * request; otherwise the text accumulates until it asks again. */
void sched_req_progress(oe_req *r)
{
    oe_task *t = r->task;
    if (t->state == TASK_PARKED && t->park == PARK_REQ)
        sched_ready(t, lapi_push_progress);
}

/* Ends one request of a task: queued ones leave the queue, in-flight ones
 * are aborted; either way it finishes as "cancelled". */
void sched_req_cancel(oe_req *r)
{
    if (r->finished)
        return;
    if (r->easy) {
        http_cancel(r);
        return;
    }
    oe_pool *p = r->pool;
    oe_req **pp = &p->head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = r->next;
        if (p->tail == r)
            p->tail = prev;
        p->queued--;
    }
    r->next = NULL;
    r->err = OE_ECANCEL;
    snprintf(r->errmsg, sizeof r->errmsg, "%s: cancelled before it was sent", r->url);
    sched_req_done(r);
}

/* Cancels what is still queued or in flight (interrupt, shutdown). */
void sched_cancel_all(void)
{
    for (oe_pool *p = S.pools; p; p = p->next)
        while (p->head)
            sched_req_cancel(p->head);
}

oe_pool *sched_pools(void)
{
    return S.pools;
}

static void on_close_free(uv_handle_t *h)
{
    free(h->data);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, on_close_free);
}

/* Ordered shutdown: libcurl first, then every handle, then the loop. Every
 * handle's data is either NULL or the allocation to free when it closes. */
void sched_shutdown(void)
{
    http_shutdown();
    uv_walk(S.loop, close_walk, NULL);
    while (uv_run(S.loop, UV_RUN_DEFAULT) != 0)
        ;
    for (oe_pool *p = S.pools, *next; p; p = next) {
        next = p->next;
        for (oe_req *r = p->head, *rn; r; r = rn) {
            rn = r->next;
            req_free(r);
        }
        free(p);
    }
    S.pools = NULL;
}
