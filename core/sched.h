/* sched.h: tasks, the ready queue and the run loop (see sched.c). */
#ifndef SCHED_H
#define SCHED_H

#include "oe.h"

enum { TASK_READY, TASK_RUNNING, TASK_PARKED, TASK_DONE };
/* What a parked task waits for (set by the lapi.c function that parks it). */
enum { PARK_NONE, PARK_REQ, PARK_NEXT, PARK_SLEEP, PARK_WAIT, PARK_EXIT };

struct oe_task;
typedef int (*sched_push_fn)(lua_State *co, struct oe_task *t);
typedef void (*sched_cleanup_fn)(struct oe_task *t);

/* A task's state; lives inside its Lua handle (a userdata), anchored by
 * `ref` while the task can still run. */
typedef struct oe_task {
    lua_State *co;          /* its coroutine; NULL once finished */
    int ref;                /* registry anchor of the handle; LUA_NOREF when done */
    int id;
    int state;
    int nargs;              /* values already on co's stack for the next resume */
    sched_push_fn push;     /* or: pushes them just before the resume */
    int park;               /* what it is parked on: PARK_* */
    /* set by the C function that parked the task when the park can be
     * ended early (sleep): sched_wake() calls it, then resumes the task */
    sched_cleanup_fn cleanup;
    void *cdata;            /* the cleanup's data (the sleep timer) */
    void *io;               /* lapi.c: the task's request in progress (opaque here) */
    sched_cleanup_fn on_end;/* called once if the task ends with io still set */
    struct oe_task *next;   /* ready queue link */
    struct oe_task *waiters;      /* tasks parked in wait() on this one */
    struct oe_task *wait_next;    /* link in the target's waiters list */
    struct oe_task *waiting_on;
    void *budget;           /* sandbox.c: the budget of the callback it runs, or NULL */
    unsigned ok : 1, is_main : 1, observed : 1;
} oe_task;

/* How sched_run ended. */
enum { SCHED_DONE, SCHED_ERROR, SCHED_DEADLOCK, SCHED_EXIT };

void sched_init(uv_loop_t *loop, lua_State *L);
int sched_run(lua_State *L, oe_task *main_task, void (*at_main_end)(void));
oe_task *sched_current(lua_State *L);
oe_task *sched_spawn(lua_State *L, int nargs);
void sched_ready(oe_task *t, sched_push_fn push);
int sched_wake(oe_task *t, sched_push_fn push);
void sched_park(oe_task *t, int park);
void sched_wait(oe_task *w, oe_task *target);
void sched_exit(oe_task *t, int status);
int sched_exit_status(void);
int sched_push_task_result(lua_State *co, oe_task *target, int idx);
int sched_push_wait_result(lua_State *co, oe_task *w);
int sched_live(void);
int sched_parked(int park);
void sched_count_failure(void);
int sched_failures(void);

#endif
