/*
 * loop.c: the uv loop from start to end. loop_init() brings the engine up
 * (the scheduler, requests and libcurl, the SIGINT/SIGTERM handlers);
 * loop_run() runs the script's main task to the end and turns the outcome
 * into an exit status; loop_shutdown() takes it down in order: requests
 * first (queued, then in flight), libcurl, then every libuv handle (each
 * handle's data is NULL or the allocation to free), then the requests and
 * windows left. The Lua state is closed after it, by main.c.
 *
 * OLLAEVAL_CHECK_IDLE=1 (tests/run sets it for Lua tests): when the main
 * task ends, any other live task, any request not freed and any pending
 * sleep timer is reported on stderr and makes the exit status non-zero.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "loop.h"
#include "req.h"
#include "http.h"
#include "sched.h"
#include "sandbox.h"

static struct {
    uv_loop_t *loop;
    uv_async_t wake;  /* the signal handler wakes the loop with it */
    int check_idle;   /* OLLAEVAL_CHECK_IDLE=1 */
    int left;         /* what the idle check found */
    int up;           /* loop_init ran */
} P;

int loop_interrupted(void)
{
    return sandbox_signals();
}

/* SIGINT/SIGTERM: a real handler, so that Lua code spinning without
 * returning to the loop sees it too (sandbox_signal arms the hook); the
 * second one exits at once. Only async-signal-safe calls here. */
static void on_signal(int signum)
{
    if (sandbox_signal() >= 2) {
        static const char msg[] = "\nollaeval: interrupted twice: exiting now; the journal is intact\n";
        if (write(2, msg, sizeof msg - 1) < 0) {
        }
        _exit(130);
    }
    if (P.up)
        uv_async_send(&P.wake);
}

/* The loop saw the signal: Lua code is not stuck. */
static void on_wake(uv_async_t *h)
{
    sandbox_signal_seen();
}

/* mode, n: a new window's (-c: AUTOWIN_AUTO with n 0 for auto, n for
 * auto:N; AUTOWIN_FIXED with n); connect_timeout_ms, max_body: a request's
 * defaults; backoff_ms: the first hold after an overload (ollaeval.defaults,
 * read by main.c). */
int loop_init(lua_State *L, int mode, int n, long connect_timeout_ms, size_t max_body,
              double backoff_ms)
{
    P.loop = uv_default_loop();
    const char *ci = getenv("OLLAEVAL_CHECK_IDLE");
    P.check_idle = ci && strcmp(ci, "1") == 0;
    sched_init(P.loop, L);
    if (req_init(P.loop, mode, n, connect_timeout_ms, max_body, backoff_ms) != 0)
        return -1;
    P.up = 1;
    uv_async_init(P.loop, &P.wake, on_wake);
    uv_unref((uv_handle_t *)&P.wake);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

/* Called by sched_run as the main task ends: what is still alive then was
 * left behind by the script (OLLAEVAL_CHECK_IDLE). */
static void check_idle(void)
{
    if (!P.check_idle)
        return;
    int tasks = sched_live() - sched_parked(PARK_EXIT);
    int reqs = req_live(), timers = sched_parked(PARK_SLEEP);
    if (tasks + reqs + timers == 0)
        return;
    int inflight, queued;
    req_totals(&inflight, &queued);
    fprintf(stderr, "ollaeval: OLLAEVAL_CHECK_IDLE: left when the main task ended: "
                    "%d task(s), %d request(s) (%d in flight, %d queued), %d sleep timer(s)\n",
            tasks, reqs, inflight, queued, timers);
    P.left = 1;
}

static void report(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "ollaeval: %s\n", msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
}

/* [-(nargs+1), +0] Runs fn(args...) (on L's stack) as the main task, with
 * everything it spawns, and returns the exit status: the integer the main
 * task returned (else 0), os.exit's status, 1 after an error or a failed
 * task nobody waited for, 130 after SIGINT/SIGTERM. */
int loop_run(lua_State *L, int nargs)
{
    oe_task *t = sched_spawn(L, nargs);                 /* handle */
    t->is_main = 1;
    int rc = sched_run(L, t, check_idle), status = 0;
    if (rc == SCHED_EXIT) {
        status = sched_exit_status();
    } else if (rc == SCHED_DONE) {
        int n = sched_push_task_result(L, t, -1);       /* handle ok res... */
        if (n >= 2 && lua_isinteger(L, -(n - 1)))
            status = (int)lua_tointeger(L, -(n - 1));
        lua_pop(L, n);
    } else {
        if (rc == SCHED_ERROR) {
            sched_push_task_result(L, t, -1);           /* handle false tb */
            report(L);
            lua_pop(L, 1);
        }
        status = 1;
    }
    lua_pop(L, 1);
    if (rc != SCHED_EXIT) {
        if (status == 0 && sched_failures() > 0)
            status = 1;
        if (loop_interrupted() && (status == 0 || rc == SCHED_ERROR))
            status = 130;
    }
    if (P.left && status == 0)
        status = 1;
    return status;
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

void loop_shutdown(void)
{
    if (!P.up)
        return;
    P.up = 0;
    req_cancel_all();
    http_shutdown();
    uv_walk(P.loop, close_walk, NULL);
    while (uv_run(P.loop, UV_RUN_DEFAULT) != 0)
        ;
    req_shutdown();
    uv_loop_close(P.loop);
}
