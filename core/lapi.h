/* lapi.h: the `core` table, the C functions Lua calls (lapi.c, lsys.c, lcache.c, jsonstr.c). */
#ifndef LAPI_H
#define LAPI_H

#include "oe.h"

int luaopen_core(lua_State *L);
void lapi_push_cmdline(lua_State *L, const oe_cmdline *c);
void lsys_register(lua_State *L);
void lcache_register(lua_State *L);
void jsonstr_register(lua_State *L);

#endif
