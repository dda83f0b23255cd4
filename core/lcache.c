/*
 * lcache.c: the request cache's store, a small binding over SQLite
 * (libsqlite3): one table `answers(key TEXT PRIMARY KEY, value TEXT,
 * created INTEGER)`. The key and the policy (what goes into a key, what is
 * stored, what happens on a failure) are Lua's: core/lua/cache.lua.
 *
 *   core.cache_open(path) -> store  or  nil, message
 *   store:get(key)        -> value | nil (absent)  or  nil, message
 *   store:put(key, value) -> true  or  nil, message   (one transaction)
 *   store:close()         (also on garbage collection; idempotent)
 *
 * Lifetimes: cache_open allocates the userdata, which owns the sqlite3
 * handle and its two prepared statements; close() (or __gc) finalises
 * them and closes the handle. Every call is synchronous and short (a
 * local file, WAL mode); a lock held by another process is waited for up
 * to BUSY_MS, then reported as an error the caller decides about.
 */
#include <sqlite3.h>
#include <time.h>

#include <lauxlib.h>

#include "lapi.h"

#define STORE_MT "ollaeval.cache_store"
#define BUSY_MS 2000

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *get, *put;
} store;

static void store_close(store *s)
{
    sqlite3_finalize(s->get); /* NULL is a no-op */
    sqlite3_finalize(s->put);
    sqlite3_close(s->db);
    s->get = s->put = NULL;
    s->db = NULL;
}

/* nil, "PATH: message" from the handle's last error. */
static int fail(lua_State *L, sqlite3 *db, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return 2;
}

static store *check_store(lua_State *L)
{
    store *s = luaL_checkudata(L, 1, STORE_MT);
    if (!s->db)
        luaL_error(L, "cache store: used after close()");
    return s;
}

/* The schema and the statements. Switching a file to WAL and creating the
 * table take locks that SQLite may refuse at once, without calling the busy
 * handler (another process switching the same new file to WAL, or running
 * its recovery): those are retried every 10 ms until BUSY_MS have passed
 * since the open (a lock that is held is waited for by the busy handler). */
static double ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int setup(store *s)
{
    double t0 = ms_now();
    for (;;) {
        /* WAL: readers never block the writer; NORMAL: durable enough for
         * a cache (a crash may lose the last answers, never corrupt) */
        int rc = sqlite3_exec(s->db,
                              "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                              "CREATE TABLE IF NOT EXISTS answers(key TEXT PRIMARY KEY, "
                              "value TEXT NOT NULL, created INTEGER NOT NULL)",
                              NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v2(s->db, "SELECT value FROM answers WHERE key = ?1", -1,
                                    &s->get, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v2(s->db,
                                    "INSERT OR REPLACE INTO answers(key, value, created) "
                                    "VALUES (?1, ?2, strftime('%s','now'))",
                                    -1, &s->put, NULL);
        int busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
        if (rc == SQLITE_OK || !busy || ms_now() - t0 >= BUSY_MS)
            return rc;
        sqlite3_finalize(s->get);
        sqlite3_finalize(s->put);
        s->get = s->put = NULL;
        sqlite3_sleep(10);
    }
}

/* core.cache_open(path) -> store  or  nil, message */
static int l_cache_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    store *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->db = NULL;
    s->get = s->put = NULL;
    luaL_setmetatable(L, STORE_MT);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(s->db, BUSY_MS);
        rc = setup(s);
    }
    if (rc != SQLITE_OK) {
        int n = fail(L, s->db, path);
        store_close(s);
        return n;
    }
    return 1;
}

/* store:get(key) -> value | nil  or  nil, message */
static int l_get(lua_State *L)
{
    store *s = check_store(L);
    size_t n;
    const char *key = luaL_checklstring(L, 2, &n);
    sqlite3_bind_text(s->get, 1, key, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(s->get);
    int nres = 1;
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s->get, 0);
        lua_pushlstring(L, (const char *)v, (size_t)sqlite3_column_bytes(s->get, 0));
    } else if (rc == SQLITE_DONE) {
        lua_pushnil(L);
    } else {
        nres = fail(L, s->db, "cache lookup");
    }
    sqlite3_reset(s->get);
    sqlite3_clear_bindings(s->get);
    return nres;
}

/* store:put(key, value) -> true  or  nil, message. One statement: its own
 * transaction, so a reader sees the answer whole or not at all. */
static int l_put(lua_State *L)
{
    store *s = check_store(L);
    size_t kn, vn;
    const char *key = luaL_checklstring(L, 2, &kn);
    const char *val = luaL_checklstring(L, 3, &vn);
    sqlite3_bind_text(s->put, 1, key, (int)kn, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 2, val, (int)vn, SQLITE_STATIC);
    int rc = sqlite3_step(s->put);
    int nres = 1;
    if (rc == SQLITE_DONE)
        lua_pushboolean(L, 1);
    else
        nres = fail(L, s->db, "cache store");
    sqlite3_reset(s->put);
    sqlite3_clear_bindings(s->put);
    return nres;
}

static int l_close(lua_State *L)
{
    store *s = luaL_checkudata(L, 1, STORE_MT);
    store_close(s);
    return 0;
}

static const luaL_Reg store_methods[] = {
    {"get",   l_get},
    {"put",   l_put},
    {"close", l_close},
    {NULL, NULL},
};

/* [-0, +0] Adds cache_open to the table on top of L (the `core` table). */
void lcache_register(lua_State *L)
{
    if (luaL_newmetatable(L, STORE_MT)) {
        luaL_newlib(L, store_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_cache_open);
    lua_setfield(L, -2, "cache_open");
}
