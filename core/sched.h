/* sched.h: tasks, the ready queue and endpoint windows (see sched.c). */
#ifndef SCHED_H
#define SCHED_H

#include "oe.h"

enum { TASK_READY, TASK_RUNNING, TASK_PARKED, TASK_DONE };
enum { PARK_NONE, PARK_REQ, PARK_SLEEP, PARK_WAIT };

typedef int (*sched_push_fn)(lua_State *co, struct oe_task *t);

/* A task's state; lives inside its Lua handle (a userdata), anchored by
 * `ref` while the task can still run. */
typedef struct oe_task {
    lua_State *co;          /* its coroutine; NULL once finished */
    int ref;                /* registry anchor of the handle; LUA_NOREF when done */
    int id;
    int state;
    int nargs;              /* values already on co's stack for the next resume */
    sched_push_fn push;     /* or: pushes them just before the resume */
    oe_req *active;         /* its request, from core.request until the result is taken */
    int park;               /* what it is parked on: PARK_REQ, PARK_SLEEP, PARK_WAIT */
    struct oe_task *next;   /* ready queue link */
    struct oe_task *waiters;      /* tasks parked in wait() on this one */
    struct oe_task *wait_next;    /* link in the target's waiters list */
    struct oe_task *waiting_on;
    unsigned ok : 1, is_main : 1, observed : 1;
} oe_task;

/* An endpoint's request window. */
typedef struct oe_pool {
    char key[256];          /* scheme://host:port */
    int limit;              /* requests in flight at most (adjustable) */
    int max_limit;          /* the configured ceiling */
    int inflight, queued, max_inflight;
    long done;
    oe_req *head, *tail;    /* FIFO of requests waiting for a slot */
    struct oe_pool *next;
} oe_pool;

void sched_init(uv_loop_t *loop, lua_State *L);
int sched_run(lua_State *L, oe_task *main_task);
void sched_shutdown(void);
oe_task *sched_current(lua_State *L);
oe_task *sched_spawn(lua_State *L, int nargs);
void sched_ready(oe_task *t, sched_push_fn push);
void sched_wait(oe_task *w, oe_task *target);
int sched_push_task_result(lua_State *co, oe_task *target, int idx);
int sched_push_wait_result(lua_State *co, oe_task *w);
int sched_live(void);
void sched_submit(oe_req *r);
void sched_req_done(oe_req *r);
void sched_req_progress(oe_req *r);
void sched_req_cancel(oe_req *r);
void sched_cancel_all(void);
oe_pool *sched_pool(const char *url, int create);
oe_pool *sched_pools(void);
void sched_pool_set_limit(oe_pool *p, int limit);

#endif
