/*
 * lapi.c: the Lua-facing C functions, gathered in the `core` table that the
 * prelude (core/prelude.lua) and its modules (core/lua/) wrap into the
 * documented API; lsys.c adds the system ones, lcache.c the request cache's,
 * jsonstr.c json_line and json_write (the journal's lines). This file and
 * lapi_push_cmdline() are the C/Lua boundary: the tables Lua sees are made
 * here (and the task handles, in sched.c); req.c and http.c never see a
 * Lua value, and loop.c only reads the main task's result.
 *
 * Rules: misuse (a wrong argument type, a yielding call outside a task)
 * raises, and raises before anything is allocated; expected failures
 * (connection, timeout, HTTP errors) return nil, message, kind. Functions
 * marked "yields" park the calling task (sched_park) and return
 * lua_yield(); they are resumed from sched.c, never from a libuv or libcurl
 * callback: the callbacks here (on_done, on_progress, on_sleep) only put the
 * task on the ready queue, with the function that pushes its results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <limits.h>
#include <curl/curl.h>

#include <lauxlib.h>

#include "lapi.h"
#include "req.h"
#include "http.h"
#include "sched.h"
#include "stream.h"
#include "sandbox.h"

static double T0; /* oe_now() when the core table was made: core.now()'s zero */

static oe_task *current_task(lua_State *L, const char *what)
{
    oe_task *t = sched_current(L);
    if (!t)
        luaL_error(L, "%s must run in a task (the script's main chunk, spawn or map), "
                      "not in a plain coroutine", what);
    return t;
}

/* The task of a call that yields, checked before any state is touched:
 * it must run in a task, and where Lua can yield (not inside a C call such
 * as a table.sort comparator, a string.gsub callback or a metamethod). */
static oe_task *yielding_task(lua_State *L, const char *what)
{
    oe_task *t = current_task(L, what);
    if (!lua_isyieldable(L))
        luaL_error(L, "%s cannot be called here: it waits, and Lua cannot wait inside a C "
                      "call (a table.sort comparator, a string.gsub callback, a metamethod); "
                      "call it outside, e.g. compute the values first", what);
    return t;
}

/* ---- requests ---- */

static int push_response(lua_State *co, oe_task *t);
static int push_next(lua_State *co, oe_task *t);

/* The request's end (req.c, inside a libuv callback): wakes the task if it
 * waits for it. A request whose task has ended is freed here. */
static void on_done(oe_req *r)
{
    oe_task *t = r->ud;
    if (!t) {
        req_free(r);
        return;
    }
    if (t->state == TASK_PARKED && t->park == PARK_REQ)
        sched_ready(t, push_response);
    else if (t->state == TASK_PARKED && t->park == PARK_NEXT)
        sched_ready(t, push_next);
}

/* Streamed text arrived: wakes the task if it waits in request_next(). */
static void on_progress(oe_req *r)
{
    oe_task *t = r->ud;
    if (t && t->state == TASK_PARKED && t->park == PARK_NEXT)
        sched_ready(t, push_next);
}

/* The task ended with its request not taken (an on_token that raised, say):
 * the request is cancelled and freed when it ends. */
static void task_end(oe_task *t)
{
    oe_req *r = t->io;
    t->io = NULL;
    r->ud = NULL;
    if (r->finished)
        req_free(r);
    else
        req_cancel(r); /* on_done frees it */
}

static const char *typename_at(lua_State *L, int idx)
{
    return luaL_typename(L, idx);
}

static void check_opt(lua_State *L, int idx, int type, const char *k, const char *what)
{
    if (!lua_isnil(L, idx) && lua_type(L, idx) != type)
        luaL_error(L, "http{}: field '%s' must be %s, got %s", k, what, typename_at(L, idx));
}

/* A field in seconds, as whole ms (checked by check_seconds first). */
static long ms_of(lua_State *L, int idx, long def)
{
    return lua_isnil(L, idx) ? def : (long)(lua_tonumber(L, idx) * 1000.0 + 0.5);
}

/* Seconds: a finite number, 0 (none) or from 0.001 (1 ms) to 1e6. */
static void check_seconds(lua_State *L, int idx, const char *k)
{
    if (lua_isnil(L, idx))
        return;
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "http{}: field '%s' must be a number of seconds, got %s", k,
                   typename_at(L, idx));
    lua_Number v = lua_tonumber(L, idx);
    if (!(v == 0 || (v >= 0.001 && v <= 1e6)))
        luaL_error(L, "http{}: field '%s' must be 0 (none) or from 0.001 to 1e6 seconds, got %s",
                   k, lua_tostring(L, idx));
}

static char *dup_at(lua_State *L, int idx, const char *def)
{
    const char *s = lua_isnil(L, idx) ? def : lua_tostring(L, idx);
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* The request table's fields, each at a fixed stack slot. */
enum { F_URL = 2, F_METHOD, F_BODY, F_HEADERS, F_TIMEOUT, F_CONNECT, F_IDLE, F_DEADLINE,
       F_MAXBODY, F_STREAM, F_WANTHDR, F_PROGRESS, F_REQUEUE, F_USERPWD, F_END };
static const char *const FIELDS[] = {"url", "method", "body", "headers", "timeout",
    "connect_timeout", "idle_timeout", "deadline", "max_body", "stream", "want_headers",
    "progress", "requeue", "userpwd"};

/* core.request{method=, url=, headers={name=value}, body=, timeout=,
 * connect_timeout=, idle_timeout=, deadline=, max_body=, stream="ndjson"|"sse",
 * want_headers=, progress=, requeue=, userpwd="user:password" (basic auth)}
 * requeue: a 503/429 goes back to the front of the window's FIFO (req.c)
 * until `deadline` seconds from now have passed.
 * Without progress (yields): -> {status=, body=, headers= | retry_after=,
 *   queued_ms=, ttfb_ms=, total_ms=, overloads=, final_url= (after a redirect),
 *   stream=, out_of_quota=}  or  nil, message, kind,
 *   overloads (the 503/429 replies it was requeued after).
 * With progress (a streamed request): starts it and returns nothing at
 * once; core.request_next() then gives its text and its end.
 * Every field is checked before anything is allocated. */
static int l_request(lua_State *L)
{
    oe_task *t = yielding_task(L, "http{}");
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    for (int i = F_URL; i < F_END; i++)
        lua_getfield(L, 1, FIELDS[i - F_URL]);
    if (lua_type(L, F_URL) != LUA_TSTRING)
        return luaL_error(L, "http{}: 'url' (a string) is required");
    check_opt(L, F_METHOD, LUA_TSTRING, "method", "a string");
    check_opt(L, F_BODY, LUA_TSTRING, "body", "a string");
    check_opt(L, F_HEADERS, LUA_TTABLE, "headers", "a table");
    check_opt(L, F_USERPWD, LUA_TSTRING, "userpwd", "a string");
    for (int i = F_TIMEOUT; i <= F_DEADLINE; i++)
        check_seconds(L, i, FIELDS[i - F_URL]);
    if (!lua_isnil(L, F_MAXBODY) && (!lua_isinteger(L, F_MAXBODY) || lua_tointeger(L, F_MAXBODY) < 0))
        return luaL_error(L, "http{}: field 'max_body' must be a whole number of bytes");
    int format = 0;
    if (!lua_isnil(L, F_STREAM)) {
        const char *f = lua_type(L, F_STREAM) == LUA_TSTRING ? lua_tostring(L, F_STREAM) : "";
        if (strcmp(f, "ndjson") != 0 && strcmp(f, "sse") != 0)
            return luaL_error(L, "http{}: field 'stream' must be \"ndjson\" or \"sse\"");
        format = f[0] == 'n' ? STREAM_NDJSON : STREAM_SSE;
    }
    if (!lua_isnil(L, F_HEADERS)) {
        lua_pushnil(L);
        while (lua_next(L, F_HEADERS)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "http{}: header names must be strings, got %s",
                                  typename_at(L, -2));
            if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
                return luaL_error(L, "http{}: header '%s' must be a string, got %s",
                                  lua_tostring(L, -2), typename_at(L, -1));
            lua_pop(L, 1);
        }
    }
    if (t->io)
        return luaL_error(L, "http{}: this task already has a request in progress");
    int progress = format && lua_toboolean(L, F_PROGRESS);

    /* every field is good: nothing below raises */
    oe_req *r = req_new();
    r->url = dup_at(L, F_URL, NULL);
    if (!lua_isnil(L, F_BODY)) {
        size_t n;
        const char *b = lua_tolstring(L, F_BODY, &n);
        r->body = malloc(n + 1);
        if (!r->body)
            abort();
        memcpy(r->body, b, n + 1);
        r->body_len = n;
    }
    r->method = dup_at(L, F_METHOD, r->body ? "POST" : "GET");
    r->timeout_ms = ms_of(L, F_TIMEOUT, 0);
    r->connect_timeout_ms = ms_of(L, F_CONNECT, r->connect_timeout_ms);
    r->idle_timeout_ms = ms_of(L, F_IDLE, 0);
    r->requeue = lua_toboolean(L, F_REQUEUE);
    if (!lua_isnil(L, F_USERPWD))
        r->userpwd = dup_at(L, F_USERPWD, NULL);
    if (!lua_isnil(L, F_DEADLINE) && lua_tonumber(L, F_DEADLINE) > 0)
        r->deadline = oe_now() + lua_tonumber(L, F_DEADLINE) * 1000.0;
    if (!lua_isnil(L, F_MAXBODY))
        r->max_body = (size_t)lua_tointeger(L, F_MAXBODY);
    /* (a name or value is taken up to a NUL in it) */
    if (!lua_isnil(L, F_HEADERS)) {
        lua_pushnil(L);
        while (lua_next(L, F_HEADERS)) {
            const char *v = lua_tostring(L, -1); /* (a number becomes a string on the stack only) */
            http_header_add(lua_tostring(L, -2), v);
            lua_pop(L, 1);
        }
    }
    r->headers = http_headers_take(&r->headers_shared);
    if (format) {
        req_start_stream(r, format); /* after max_body: the cap covers the streamed text */
        r->stream->keep_new = progress;
    }
    r->want_headers = lua_toboolean(L, F_WANTHDR);
    r->want_progress = progress;
    r->on_done = on_done;
    r->on_progress = on_progress;
    r->ud = t;
    t->io = r;
    t->on_end = task_end;
    req_submit(r); /* queued in its window, then in flight; on_done when it ends */
    if (progress)
        return 0;
    sched_park(t, PARK_REQ);
    return lua_yield(L, 0);
}

static int has_text(const oe_req *r)
{
    return r->stream && (r->stream->new_content.len || r->stream->new_thinking.len);
}

/* core.request_next()  (yields until there is something to say): for the
 * task's streamed request, "text", new_content, new_thinking while it goes
 * on, then "done", res  or  "done", nil, message, kind. */
static int l_request_next(lua_State *L)
{
    oe_task *t = yielding_task(L, "request_next()");
    oe_req *r = t->io;
    if (!r)
        return luaL_error(L, "request_next(): no request in progress");
    if (r->finished || has_text(r))
        return push_next(L, t);
    sched_park(t, PARK_NEXT);
    return lua_yield(L, 0);
}

/* core.request_cancel(): ends the task's request now; request_next() then
 * says "done", nil, "...cancelled", "cancelled". */
static int l_request_cancel(lua_State *L)
{
    oe_task *t = current_task(L, "request_cancel()");
    if (t->io)
        req_cancel(t->io);
    return 0;
}

/* Resume values of request_next(): the text not yet given, else the end. */
static int push_next(lua_State *co, oe_task *t)
{
    oe_req *r = t->io;
    if (has_text(r)) {
        oe_stream *s = r->stream;
        lua_pushliteral(co, "text");
        lua_pushlstring(co, s->new_content.data ? s->new_content.data : "", s->new_content.len);
        lua_pushlstring(co, s->new_thinking.data ? s->new_thinking.data : "", s->new_thinking.len);
        s->new_content.len = s->new_thinking.len = 0;
        return 3;
    }
    lua_pushliteral(co, "done");
    return 1 + push_response(co, t);
}

static void setnum(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

/* The parsed stream, into the response table on top of L. */
static void push_stream(lua_State *L, const oe_req *r)
{
    const oe_stream *s = r->stream;
    lua_createtable(L, 0, 12);
    lua_pushlstring(L, s->content.data ? s->content.data : "", s->content.len);
    lua_setfield(L, -2, "content");
    if (s->thinking.len) {
        lua_pushlstring(L, s->thinking.data, s->thinking.len);
        lua_setfield(L, -2, "thinking");
    }
    lua_pushstring(L, s->done_reason);
    lua_setfield(L, -2, "done_reason");
    if (s->prompt_tokens >= 0) { /* else unknown: nil */
        lua_pushinteger(L, s->prompt_tokens);
        lua_setfield(L, -2, "prompt_tokens");
    }
    if (s->completion_tokens >= 0) {
        lua_pushinteger(L, s->completion_tokens);
        lua_setfield(L, -2, "completion_tokens");
    }
    lua_pushinteger(L, s->chunks);
    lua_setfield(L, -2, "chunks");
    if (s->t_first)
        setnum(L, "ttft_ms", s->t_first - r->t_start);
    if (s->t_first_content)
        setnum(L, "ttfc_ms", s->t_first_content - r->t_start);
    if (s->chunks > 1)
        setnum(L, "itl_ms", s->gap_sum / (double)(s->chunks - 1));
    if (s->final.len) {
        lua_pushlstring(L, s->final.data, s->final.len);
        lua_setfield(L, -2, "final");
    }
    lua_setfield(L, -2, "stream");
}

/* Parses the raw header block into a table of lowercased names. */
static void push_headers(lua_State *L, const oe_buf *b)
{
    lua_newtable(L);
    if (!b->data)
        return;
    const char *p = strchr(b->data, '\n'); /* skip the status line */
    while (p && *++p) {
        const char *eol = strchr(p, '\n');
        const char *colon = memchr(p, ':', eol ? (size_t)(eol - p) : strlen(p));
        if (colon) {
            luaL_Buffer name;
            luaL_buffinit(L, &name);
            for (const char *c = p; c < colon; c++)
                luaL_addchar(&name, (char)tolower((unsigned char)*c));
            luaL_pushresult(&name);
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = eol ? eol : v + strlen(v);
            while (e > v && (e[-1] == '\r' || e[-1] == ' '))
                e--;
            lua_pushlstring(L, v, (size_t)(e - v));
            lua_settable(L, -3);
        }
        p = eol;
    }
}

/* Resume values for a task whose request ended; frees the request. */
static int push_response(lua_State *co, oe_task *t)
{
    oe_req *r = t->io;
    t->io = NULL;
    t->on_end = NULL;
    int n;
    if (r->err == OE_OK && r->stream && r->status == 200 && r->stream->failed) {
        lua_pushnil(co);
        lua_pushfstring(co, "%s: %s", r->url, r->stream->error);
        lua_pushstring(co, r->stream->failed == 1 ? "server" : "protocol");
        lua_pushinteger(co, r->overloads);
        n = 4;
    } else if (r->err != OE_OK) {
        lua_pushnil(co);
        lua_pushstring(co, r->errmsg[0] ? r->errmsg : oe_errkind_name(r->err));
        lua_pushstring(co, oe_errkind_name(r->err));
        lua_pushinteger(co, r->overloads);
        n = 4;
    } else {
        lua_createtable(co, 0, 7);
        lua_pushinteger(co, r->status);
        lua_setfield(co, -2, "status");
        lua_pushlstring(co, r->resp_body.data ? r->resp_body.data : "", r->resp_body.len);
        lua_setfield(co, -2, "body");
        if (r->want_headers) {
            push_headers(co, &r->resp_headers);
            lua_setfield(co, -2, "headers");
        } else {
            double ra = req_retry_after_ms(r); /* seconds or an HTTP-date; -1 if unusable */
            if (ra > 0) {
                lua_pushnumber(co, ra / 1000.0);
                lua_setfield(co, -2, "retry_after");
            }
        }
        lua_pushinteger(co, r->overloads);
        lua_setfield(co, -2, "overloads");
        if (r->final_url) { /* a redirect was followed */
            lua_pushstring(co, r->final_url);
            lua_setfield(co, -2, "final_url");
        }
        /* waiting for a slot before it was first sent (overload waits after are not) */
        lua_pushnumber(co, (r->t_sent ? r->t_sent : r->t_start) - r->t_queued);
        lua_setfield(co, -2, "queued_ms");
        lua_pushnumber(co, r->t_first_byte ? r->t_first_byte - r->t_start : 0);
        lua_setfield(co, -2, "ttfb_ms");
        lua_pushnumber(co, r->t_end - r->t_start);
        lua_setfield(co, -2, "total_ms");
        if (r->stream && r->status == 200 && r->shape != SHAPE_WHOLE)
            push_stream(co, r); /* (a server that ignored stream:true: the body, as plain) */
        if (req_out_of_quota(r)) {
            lua_pushboolean(co, 1);
            lua_setfield(co, -2, "out_of_quota");
        }
        n = 1;
    }
    req_free(r);
    return n;
}

/* ---- sleep, wake, exit ---- */

typedef struct {
    uv_timer_t timer; /* timer.data points at this struct (freed on close) */
    oe_task *task;
} sleeper;

static void on_sleep_close(uv_handle_t *h)
{
    free(h->data);
}

static void on_sleep(uv_timer_t *tm)
{
    sleeper *s = tm->data;
    s->task->cleanup = NULL;
    s->task->cdata = NULL;
    sched_ready(s->task, NULL);
    uv_close((uv_handle_t *)tm, on_sleep_close);
}

/* The sleep's cleanup (sched_wake): the timer goes. */
static void sleep_cleanup(oe_task *t)
{
    sleeper *s = t->cdata;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_sleep_close);
}

static int push_true(lua_State *co, oe_task *t)
{
    lua_pushboolean(co, 1);
    return 1;
}

/* core.sleep(ms)  (yields) -> nothing, or true when woken early by
 * core.wake() */
static int l_sleep(lua_State *L)
{
    lua_Number ms = luaL_checknumber(L, 1);
    oe_task *t = yielding_task(L, "sleep()");
    if (!(ms <= 1e12)) /* NaN, inf, or beyond any run */
        return luaL_error(L, "sleep(ms): %s is not a finite number of ms", lua_tostring(L, 1));
    sleeper *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->task = t;
    s->timer.data = s;
    uv_timer_init(uv_default_loop(), &s->timer);
    uv_timer_start(&s->timer, on_sleep, ms > 0 ? (uint64_t)ms : 0, 0);
    t->cleanup = sleep_cleanup;
    t->cdata = s;
    sched_park(t, PARK_SLEEP);
    return lua_yield(L, 0);
}

/* core.wake(task) -> true if the task was sleeping (it resumes now, its
 * sleep() returning true), else false */
static int l_wake(lua_State *L)
{
    oe_task *t = luaL_checkudata(L, 1, "ollaeval.task");
    lua_pushboolean(L, t->park == PARK_SLEEP && sched_wake(t, push_true));
    return 1;
}

/* core.exit([status])  (yields for good): ends the run with status (true
 * or none: 0, false: 1): no more Lua runs, the engine shuts down in order
 * and the Lua state is closed. Outside a task, or where a yield cannot
 * cross a C call, it exits the process at once (as os.exit). */
static int l_exit(lua_State *L)
{
    int status = lua_isnoneornil(L, 1) ? 0
                 : lua_isboolean(L, 1) ? !lua_toboolean(L, 1)
                 : (int)luaL_checkinteger(L, 1);
    oe_task *t = sched_current(L);
    if (!t || !lua_isyieldable(L)) {
        fflush(NULL);
        exit(status);
    }
    sched_exit(t, status);
    return lua_yield(L, 0);
}

/* ---- tasks ---- */

/* core.now() -> milliseconds since start (monotonic, fractional) */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, oe_now() - T0);
    return 1;
}

/* core.spawn(fn, ...) -> task (starts on the scheduler's next turn) */
static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    sched_spawn(L, lua_gettop(L) - 1);
    return 1;
}

/* core.wait(task) -> ok, results...  (yields while the task runs) */
static int l_wait(lua_State *L)
{
    oe_task *target = luaL_checkudata(L, 1, "ollaeval.task");
    oe_task *self = yielding_task(L, "wait()");
    if (target == self)
        return luaL_error(L, "wait(): a task cannot wait for itself");
    lua_settop(L, 1);
    if (target->state == TASK_DONE)
        return sched_push_task_result(L, target, 1);
    sched_wait(self, target); /* resumed by sched_push_wait_result */
    return lua_yield(L, 0);
}

/* core.task_failed(): counts a task failure the script reported itself
 * (an item's error in map without on_error); the exit status becomes 1. */
static int l_task_failed(lua_State *L)
{
    sched_count_failure();
    return 0;
}

static int task_tostring(lua_State *L)
{
    oe_task *t = luaL_checkudata(L, 1, "ollaeval.task");
    static const char *names[] = {"ready", "running", "parked", "done"};
    lua_pushfstring(L, "task %d (%s)", t->id, names[t->state]);
    return 1;
}

/* ---- windows and counters ---- */

/* core.window(url [, size]) -> limit, inflight, queued, max_inflight, done,
 * overloads, cuts, mode, n503, n429 of the window of the URL's endpoint (its
 * scheme://host:port); size (as -c) sets it first: a whole number N for a
 * fixed window of N (not adaptive), or "auto" / "auto:N" for the
 * controller. In auto mode limit is the controller's window now;
 * overloads counts the 503/429 replies, cuts the overload episodes (once
 * per round trip); mode is "auto" or "fixed". */
static int l_window(lua_State *L)
{
    oe_window *w = req_window(luaL_checkstring(L, 1));
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, 2);
        req_window_set_limit(w, n > INT_MAX ? INT_MAX : n < 1 ? 1 : (int)n);
    } else if (!lua_isnoneornil(L, 2)) {
        int mode, n;
        if (autowin_parse(luaL_checkstring(L, 2), &mode, &n) != 0)
            return luaL_error(L, "core.window: '%s' is not auto, auto:N or N", lua_tostring(L, 2));
        req_window_set_mode(w, mode, n);
    }
    lua_pushinteger(L, w->limit);
    lua_pushinteger(L, w->inflight);
    lua_pushinteger(L, w->queued);
    lua_pushinteger(L, w->max_inflight);
    lua_pushinteger(L, w->done);
    lua_pushinteger(L, w->overloads);
    lua_pushinteger(L, w->ncuts);
    lua_pushstring(L, w->mode == AUTOWIN_AUTO ? "auto" : "fixed");
    lua_pushinteger(L, w->n503); /* overloads by status */
    lua_pushinteger(L, w->n429);
    return 10;
}

/* core.window_auto(url) -> true when the window of the URL's endpoint is
 * driven by the controller (auto mode); what core.window's mode says,
 * for every chat{} call */
static int l_window_auto(lua_State *L)
{
    lua_pushboolean(L, req_window(luaL_checkstring(L, 1))->mode == AUTOWIN_AUTO);
    return 1;
}

/* core.window_adapt(url, max): the endpoint's window is fixed-mode and
 * adapts to the replies, from a slow start up to max (req.h, oe_window). */
static int l_window_adapt(lua_State *L)
{
    oe_window *w = req_window(luaL_checkstring(L, 1));
    lua_Integer max = luaL_checkinteger(L, 2);
    req_window_adapt(w, max > INT_MAX ? INT_MAX : max < 1 ? 1 : (int)max);
    return 0;
}

/* core.window_log() -> text, dropped: the JSON lines of every window change
 * since the last call (each names its endpoint), and how many lines were
 * dropped because nobody took them in time. */
static int l_window_log(lua_State *L)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Integer dropped = 0;
    for (oe_window *w = req_windows(); w; w = w->next) {
        if (w->log.len)
            luaL_addlstring(&b, w->log.data, w->log.len);
        w->log.len = 0;
        dropped += w->log_dropped;
        w->log_dropped = 0;
    }
    luaL_pushresult(&b);
    lua_pushinteger(L, dropped);
    return 2;
}

/* core.window_summary(url) -> JSON text of what the controller found
 * ({"slots":4,...,"text":"the server ran 4 at once; ..."}), or nil for a
 * fixed window. */
static int l_window_summary(lua_State *L)
{
    oe_window *w = req_window(luaL_checkstring(L, 1));
    if (w->mode != AUTOWIN_AUTO) {
        lua_pushnil(L);
        return 1;
    }
    char buf[1024];
    int n = req_window_summary_json(w, buf, (int)sizeof buf);
    lua_pushlstring(L, buf, n > 0 && n < (int)sizeof buf ? (size_t)n : 0);
    return 1;
}

/* core.stats() -> {tasks=, inflight=, queued=} */
static int l_stats(lua_State *L)
{
    int inflight, queued;
    req_totals(&inflight, &queued);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, sched_live());
    lua_setfield(L, -2, "tasks");
    lua_pushinteger(L, inflight);
    lua_setfield(L, -2, "inflight");
    lua_pushinteger(L, queued);
    lua_setfield(L, -2, "queued");
    return 1;
}

/* core.cancel_all(): ends every queued and in-flight request as "cancelled". */
static int l_cancel_all(lua_State *L)
{
    req_cancel_all();
    return 0;
}

/* ---- the command line ---- */

/* [-0, +1] The command line as the prelude reads it: {options=, args=,
 * script=, help=, usage=, argv=, version=}. Option values were checked by
 * main.c. */
void lapi_push_cmdline(lua_State *L, const oe_cmdline *c)
{
    lua_createtable(L, 0, 7);
    lua_newtable(L);
    for (int i = 0; i < c->nopts; i++) {
        const oe_optval *o = &c->opts[i];
        switch (o->type) {
        case OPT_INT: lua_pushinteger(L, strtoll(o->value, NULL, 10)); break;
        case OPT_NUM: lua_pushnumber(L, strtod(o->value, NULL)); break;
        case OPT_STR: lua_pushstring(L, o->value); break;
        case OPT_OPT:
            if (o->value)
                lua_pushstring(L, o->value);
            else
                lua_pushboolean(L, 1);
            break;
        case OPT_LIST:
            if (lua_getfield(L, -1, o->name) != LUA_TTABLE) {
                lua_pop(L, 1);
                lua_newtable(L);
            }
            lua_pushstring(L, o->value);
            lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
            break;
        default: lua_pushboolean(L, 1);
        }
        lua_setfield(L, -2, o->name);
    }
    lua_setfield(L, -2, "options");
    lua_createtable(L, c->nargs, 0);
    for (int i = 0; i < c->nargs; i++) {
        lua_pushstring(L, c->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "args");
    lua_createtable(L, c->argc, 0); /* the command line as given, for records */
    for (int i = 0; i < c->argc; i++) {
        lua_pushstring(L, c->argv[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "argv");
    lua_pushstring(L, c->script);
    lua_setfield(L, -2, "script");
    lua_pushboolean(L, c->help);
    lua_setfield(L, -2, "help");
    lua_pushstring(L, c->usage ? c->usage : "");
    lua_setfield(L, -2, "usage");
    lua_pushstring(L, OE_VERSION);
    lua_setfield(L, -2, "version");
}

static const luaL_Reg core_funcs[] = {
    {"request",        l_request},
    {"request_next",   l_request_next},
    {"request_cancel", l_request_cancel},
    {"sleep",          l_sleep},
    {"wake",           l_wake},
    {"exit",           l_exit},
    {"now",            l_now},
    {"spawn",          l_spawn},
    {"wait",           l_wait},
    {"task_failed",    l_task_failed},
    {"window",         l_window},
    {"window_adapt",   l_window_adapt},
    {"window_auto",    l_window_auto},
    {"window_log",     l_window_log},
    {"window_summary", l_window_summary},
    {"stats",          l_stats},
    {"cancel_all",     l_cancel_all},
    {NULL, NULL},
};

int luaopen_core(lua_State *L)
{
    T0 = oe_now();
    luaL_newmetatable(L, "ollaeval.task");
    lua_pushcfunction(L, task_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, core_funcs);
    lsys_register(L);
    lcache_register(L);
    jsonstr_register(L);
    sandbox_register(L);
    return 1;
}
