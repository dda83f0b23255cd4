/*
 * lsys.c: the `core` functions that reach the system rather than the
 * engine: sha256 of a string or a file (libcrypto), fsync of a Lua file,
 * the UTF-8 check of a string (utf8.c),
 * isatty, the count of SIGINT/SIGTERM (loop.c), and what the run folder
 * needs: an exclusive lock (flock), truncating a file in place, and whether
 * an open file is still linked into a folder. lsys_register() adds them to
 * the `core` table lapi.c builds. A lock handle (userdata "ollaeval.lock")
 * owns its descriptor: unlock(), its collection or the process's end
 * closes it and so releases the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <lauxlib.h>

#include "lapi.h"
#include "loop.h"
#include "utf8.h"

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
    lua_pushinteger(L, loop_interrupted());
    return 1;
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

/* core.linked(file) -> true while the open Lua file still has a name on
 * disk; false once it was removed (its folder deleted, say);
 * nil, message when fstat fails */
static int l_linked(lua_State *L)
{
    luaL_Stream *s = luaL_checkudata(L, 1, LUA_FILEHANDLE);
    if (!s->f)
        return luaL_error(L, "linked: file is closed");
    struct stat st;
    if (fstat(fileno(s->f), &st) != 0)
        return luaL_fileresult(L, 0, NULL);
    lua_pushboolean(L, st.st_nlink > 0);
    return 1;
}

/* core.truncate(path, size) -> true  or  nil, message: cuts the file at
 * path to size bytes and fsyncs it; every step is checked. */
static int l_truncate(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    luaL_argcheck(L, size >= 0, 2, "size must not be negative");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return luaL_fileresult(L, 0, path);
    if (ftruncate(fd, (off_t)size) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return luaL_fileresult(L, 0, path);
    }
    if (close(fd) != 0)
        return luaL_fileresult(L, 0, path);
    lua_pushboolean(L, 1);
    return 1;
}

typedef struct {
    int fd; /* -1 once unlocked */
} lock_handle;

static int lock_release(lua_State *L)
{
    lock_handle *h = luaL_checkudata(L, 1, "ollaeval.lock");
    if (h->fd >= 0) {
        close(h->fd); /* closing the only descriptor drops the flock */
        h->fd = -1;
    }
    return 0;
}

/* core.lock(path) -> handle  or  nil, message, "locked", holder_pid (0:
 * unknown)  or  nil, message, errno (the file cannot be opened or written)
 * An exclusive flock(2) on path (created when missing, mode 0644), never
 * waiting: a lock held by another process is refused at once, naming the
 * pid that process wrote into the file. The holder's pid is written into
 * the file. handle:unlock() releases it; so do the handle's collection and
 * the process's end (the kernel drops the lock with the descriptor). */
static int l_lock(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return luaL_fileresult(L, 0, path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = {0};
        long pid = 0;
        if (e == EWOULDBLOCK) {
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            if (n > 0)
                pid = strtol(buf, NULL, 10);
        }
        close(fd);
        if (e != EWOULDBLOCK) {
            errno = e;
            return luaL_fileresult(L, 0, path);
        }
        lua_pushnil(L);
        if (pid > 0)
            lua_pushfstring(L, "%s is locked by process %d", path, (int)pid);
        else
            lua_pushfstring(L, "%s is locked by another process", path);
        lua_pushliteral(L, "locked");
        lua_pushinteger(L, pid);
        return 4;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int e = errno;
        close(fd);
        errno = e ? e : EIO;
        return luaL_fileresult(L, 0, path);
    }
    lock_handle *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->fd = fd;
    luaL_setmetatable(L, "ollaeval.lock");
    return 1;
}

static const luaL_Reg lsys_funcs[] = {
    {"sha256",      l_sha256},
    {"sha256_file", l_sha256_file},
    {"interrupted", l_interrupted},
    {"isatty",      l_isatty},
    {"fsync",       l_fsync},
    {"linked",      l_linked},
    {"truncate",    l_truncate},
    {"lock",        l_lock},
    {"utf8_valid",  oe_l_utf8_valid},
    {NULL, NULL},
};

/* [-0, +0] Adds the functions above to the table on top of L. */
void lsys_register(lua_State *L)
{
    if (luaL_newmetatable(L, "ollaeval.lock")) {
        static const luaL_Reg methods[] = {{"unlock", lock_release}, {NULL, NULL}};
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, lock_release);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, lock_release);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, lsys_funcs, 0);
}
