/*
 * lapi.c: the Lua-facing C functions, gathered in the `core` table that the
 * prelude (core/prelude.lua) wraps into the documented API. This file is the
 * C/Lua boundary: http.c and sched.c never see a Lua table.
 *
 * Rules: misuse (a wrong argument type, a yielding call outside a task)
 * raises; expected failures (connection, timeout, HTTP errors) return
 * nil, message, kind. Functions marked "yields" park the calling task and
 * return to the scheduler; they are resumed from sched.c, never from a
 * libuv or libcurl callback.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include <lauxlib.h>

#include "oe.h"
#include "sched.h"
#include "stream.h"

static oe_task *current_task(lua_State *L, const char *what)
{
    oe_task *t = sched_current(L);
    if (!t)
        luaL_error(L, "%s must run in a task (the script's main chunk, spawn or map), "
                      "not in a plain coroutine", what);
    return t;
}

static char *dupfield(lua_State *L, int idx, const char *k, const char *def)
{
    lua_getfield(L, idx, k);
    const char *s = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
    char *d = s ? strdup(s) : NULL;
    lua_pop(L, 1);
    return d;
}

static long msfield(lua_State *L, int idx, const char *k, long def)
{
    lua_getfield(L, idx, k);
    long v = def;
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1))
            luaL_error(L, "request field '%s' must be a number of seconds", k);
        v = (long)(lua_tonumber(L, -1) * 1000.0);
    }
    lua_pop(L, 1);
    return v;
}

/* core.request{method=, url=, headers={name=value}, body=, timeout=,
 * connect_timeout=, idle_timeout=, max_body=}  (yields)
 * -> {status=, body=, headers={lowercased=value}, queued_ms=, ttfb_ms=,
 *     total_ms=}  or  nil, message, kind */
static int l_request(lua_State *L)
{
    oe_task *t = current_task(L, "http{}");
    luaL_checktype(L, 1, LUA_TTABLE);
    oe_req *r = req_new();
    r->url = dupfield(L, 1, "url", NULL);
    if (!r->url) {
        req_free(r);
        return luaL_error(L, "http{}: 'url' is required");
    }
    lua_getfield(L, 1, "body");
    if (!lua_isnil(L, -1)) {
        size_t n;
        const char *b = luaL_checklstring(L, -1, &n);
        r->body = malloc(n + 1);
        memcpy(r->body, b, n + 1);
        r->body_len = n;
    }
    lua_pop(L, 1);
    r->method = dupfield(L, 1, "method", r->body ? "POST" : "GET");
    r->timeout_ms = msfield(L, 1, "timeout", 0);
    r->connect_timeout_ms = msfield(L, 1, "connect_timeout", 10000);
    r->idle_timeout_ms = msfield(L, 1, "idle_timeout", 0);
    lua_getfield(L, 1, "max_body");
    if (lua_isinteger(L, -1))
        r->max_body = (size_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    r->headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    lua_getfield(L, 1, "headers");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            const char *h = lua_pushfstring(L, "%s: %s", luaL_checkstring(L, -2),
                                            luaL_checkstring(L, -1));
            r->headers = curl_slist_append(r->headers, h);
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "stream");
    if (!lua_isnil(L, -1)) {
        const char *f = luaL_checkstring(L, -1);
        if (strcmp(f, "ndjson") != 0 && strcmp(f, "sse") != 0) {
            req_free(r);
            return luaL_error(L, "request field 'stream' must be \"ndjson\" or \"sse\"");
        }
        req_start_stream(r, f[0] == 'n' ? STREAM_NDJSON : STREAM_SSE);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "want_headers");
    r->want_headers = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "progress");
    r->want_progress = r->stream && lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (t->active)
        return luaL_error(L, "http{}: this task already has a request in progress");
    r->task = t;
    t->active = r;
    t->state = TASK_PARKED;
    t->park = PARK_REQ;
    sched_submit(r); /* r belongs to sched.c, then http.c, until it resumes us */
    return lua_yield(L, 0);
}

/* core.request_wait()  (yields unless the result is there): the next
 * progress event or the result of the task's streamed request. */
static int l_request_wait(lua_State *L)
{
    oe_task *t = current_task(L, "request_wait()");
    if (!t->active)
        return luaL_error(L, "request_wait(): no request in progress");
    if (t->active->finished)
        return lapi_push_response(L, t);
    if (t->active->stream && (t->active->stream->new_content.len || t->active->stream->new_thinking.len))
        return lapi_push_progress(L, t);
    t->state = TASK_PARKED;
    t->park = PARK_REQ;
    return lua_yield(L, 0);
}

/* core.request_cancel(): ends the task's request now; request_wait() then
 * returns nil, "...cancelled", "cancelled". */
static int l_request_cancel(lua_State *L)
{
    oe_task *t = current_task(L, "request_cancel()");
    if (t->active)
        sched_req_cancel(t->active);
    return 0;
}

/* Resume values for a task whose streamed request has new text:
 * "progress", new_content, new_thinking. The request goes on. */
int lapi_push_progress(lua_State *co, oe_task *t)
{
    oe_stream *s = t->active->stream;
    lua_pushliteral(co, "progress");
    lua_pushlstring(co, s->new_content.data ? s->new_content.data : "", s->new_content.len);
    lua_pushlstring(co, s->new_thinking.data ? s->new_thinking.data : "", s->new_thinking.len);
    s->new_content.len = s->new_thinking.len = 0;
    return 3;
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
    lua_pushinteger(L, s->prompt_tokens);
    lua_setfield(L, -2, "prompt_tokens");
    lua_pushinteger(L, s->completion_tokens);
    lua_setfield(L, -2, "completion_tokens");
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
int lapi_push_response(lua_State *co, oe_task *t)
{
    oe_req *r = t->active;
    t->active = NULL;
    int n;
    if (r->err == OE_OK && r->stream && r->status == 200 && r->stream->failed) {
        lua_pushnil(co);
        lua_pushfstring(co, "%s: %s", r->url, r->stream->error);
        lua_pushstring(co, r->stream->failed == 1 ? "server" : "protocol");
        n = 3;
    } else if (r->err != OE_OK) {
        lua_pushnil(co);
        lua_pushstring(co, r->errmsg[0] ? r->errmsg : oe_errkind_name(r->err));
        lua_pushstring(co, oe_errkind_name(r->err));
        n = 3;
    } else {
        lua_createtable(co, 0, 7);
        lua_pushinteger(co, r->status);
        lua_setfield(co, -2, "status");
        lua_pushlstring(co, r->resp_body.data ? r->resp_body.data : "", r->resp_body.len);
        lua_setfield(co, -2, "body");
        if (r->want_headers) {
            push_headers(co, &r->resp_headers);
            lua_setfield(co, -2, "headers");
        } else if (r->resp_headers.data) {
            const char *ra = strcasestr(r->resp_headers.data, "\nretry-after:");
            if (ra) {
                lua_pushnumber(co, strtod(ra + 13, NULL));
                lua_setfield(co, -2, "retry_after");
            }
        }
        lua_pushnumber(co, r->t_start - r->t_queued);
        lua_setfield(co, -2, "queued_ms");
        lua_pushnumber(co, r->t_first_byte ? r->t_first_byte - r->t_start : 0);
        lua_setfield(co, -2, "ttfb_ms");
        lua_pushnumber(co, r->t_end - r->t_start);
        lua_setfield(co, -2, "total_ms");
        if (r->stream && r->status == 200)
            push_stream(co, r);
        n = 1;
    }
    req_free(r);
    return n;
}

/* ---- sleep ---- */

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
    sched_ready(s->task, NULL);
    uv_close((uv_handle_t *)tm, on_sleep_close);
}

/* core.sleep(ms)  (yields) */
static int l_sleep(lua_State *L)
{
    oe_task *t = current_task(L, "sleep()");
    lua_Number ms = luaL_checknumber(L, 1);
    sleeper *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->task = t;
    s->timer.data = s;
    uv_timer_init(uv_default_loop(), &s->timer);
    uv_timer_start(&s->timer, on_sleep, ms > 0 ? (uint64_t)ms : 0, 0);
    t->state = TASK_PARKED;
    t->park = PARK_SLEEP;
    return lua_yield(L, 0);
}

/* core.now() -> milliseconds since start (monotonic, fractional) */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, oe_now());
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
    oe_task *self = current_task(L, "wait()");
    if (target == self)
        return luaL_error(L, "wait(): a task cannot wait for itself");
    lua_settop(L, 1);
    if (target->state == TASK_DONE)
        return sched_push_task_result(L, target, 1);
    self->park = PARK_WAIT;
    sched_wait(self, target); /* resumed by sched_push_wait_result */
    return lua_yield(L, 0);
}

/* core.window(url [, limit]) -> limit, inflight, queued, max_inflight, done */
static int l_window(lua_State *L)
{
    oe_pool *p = sched_pool(luaL_checkstring(L, 1), 1);
    if (!lua_isnoneornil(L, 2))
        sched_pool_set_limit(p, (int)luaL_checkinteger(L, 2));
    lua_pushinteger(L, p->limit);
    lua_pushinteger(L, p->inflight);
    lua_pushinteger(L, p->queued);
    lua_pushinteger(L, p->max_inflight);
    lua_pushinteger(L, p->done);
    return 5;
}

/* core.stats() -> {tasks=, inflight=, queued=} */
static int l_stats(lua_State *L)
{
    int queued = 0;
    for (oe_pool *p = sched_pools(); p; p = p->next)
        queued += p->queued;
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, sched_live());
    lua_setfield(L, -2, "tasks");
    lua_pushinteger(L, http_inflight());
    lua_setfield(L, -2, "inflight");
    lua_pushinteger(L, queued);
    lua_setfield(L, -2, "queued");
    return 1;
}

static void push_hex(lua_State *L, const unsigned char *d, unsigned n)
{
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    lua_pushlstring(L, hex, 2 * n);
}

/* core.sha256(string) -> hex */
static int l_sha256(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_Digest(s, n, d, &dn, EVP_sha256(), NULL);
    push_hex(L, d, dn);
    return 1;
}

/* core.sha256_file(path) -> hex  or  nil, message */
static int l_sha256_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    FILE *f = fopen(path, "rb");
    if (!f)
        return luaL_fileresult(L, 0, path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    int bad = ferror(f);
    fclose(f);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_DigestFinal_ex(ctx, d, &dn);
    EVP_MD_CTX_free(ctx);
    if (bad)
        return luaL_fileresult(L, 0, path);
    push_hex(L, d, dn);
    return 1;
}

/* core.interrupted() -> number of SIGINT/SIGTERM received */
static int l_interrupted(lua_State *L)
{
    lua_pushinteger(L, oe.interrupted);
    return 1;
}

/* core.cancel_all(): ends every queued and in-flight request as "cancelled". */
static int l_cancel_all(lua_State *L)
{
    sched_cancel_all();
    http_cancel_all();
    return 0;
}

/* core.task_failed(): counts a task failure the script reported itself
 * (an item's error in map without on_error); the exit status becomes 1. */
static int l_task_failed(lua_State *L)
{
    oe.task_failures++;
    return 0;
}

/* core.isatty(fd) -> boolean */
static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

/* core.fsync(file) : flush a Lua file and fsync it */
static int l_fsync(lua_State *L)
{
    luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (!s->f)
        return luaL_error(L, "fsync: file is closed");
    if (fflush(s->f) != 0 || fsync(fileno(s->f)) != 0)
        return luaL_fileresult(L, 0, NULL);
    lua_pushboolean(L, 1);
    return 1;
}

static int task_tostring(lua_State *L)
{
    oe_task *t = luaL_checkudata(L, 1, "ollaeval.task");
    static const char *names[] = {"ready", "running", "parked", "done"};
    lua_pushfstring(L, "task %d (%s)", t->id, names[t->state]);
    return 1;
}

static const luaL_Reg core_funcs[] = {
    {"request",     l_request},
    {"request_wait", l_request_wait},
    {"request_cancel", l_request_cancel},
    {"sleep",       l_sleep},
    {"now",         l_now},
    {"spawn",       l_spawn},
    {"wait",        l_wait},
    {"window",      l_window},
    {"stats",       l_stats},
    {"sha256",      l_sha256},
    {"sha256_file", l_sha256_file},
    {"interrupted", l_interrupted},
    {"cancel_all",  l_cancel_all},
    {"isatty",      l_isatty},
    {"task_failed", l_task_failed},
    {"fsync",       l_fsync},
    {NULL, NULL},
};

int luaopen_core(lua_State *L)
{
    luaL_newmetatable(L, "ollaeval.task");
    lua_pushcfunction(L, task_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    luaL_newlib(L, core_funcs);
    return 1;
}
