/*
 * lsys.c: the `core` functions that reach the system rather than the
 * engine: sha256 of a string or a file (libcrypto), fsync of a Lua file,
 * isatty, and the count of SIGINT/SIGTERM (loop.c). lsys_register() adds
 * them to the `core` table lapi.c builds.
 */
#include <stdio.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <lauxlib.h>

#include "lapi.h"
#include "loop.h"

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

static const luaL_Reg lsys_funcs[] = {
    {"sha256",      l_sha256},
    {"sha256_file", l_sha256_file},
    {"interrupted", l_interrupted},
    {"isatty",      l_isatty},
    {"fsync",       l_fsync},
    {NULL, NULL},
};

/* [-0, +0] Adds the functions above to the table on top of L. */
void lsys_register(lua_State *L)
{
    luaL_setfuncs(L, lsys_funcs, 0);
}
