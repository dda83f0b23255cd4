/* sandbox.h: the Lua heap cap, per-callback CPU budgets, the watchdog and
 * the signal flag (see sandbox.c); core/lua/sandbox.lua is the Lua half. */
#ifndef SANDBOX_H
#define SANDBOX_H

#include "oe.h"

lua_State *sandbox_newstate(void);   /* lua_newstate with the capped allocator */
size_t sandbox_heap(void);
void sandbox_register(lua_State *L); /* adds core.sbx_* to the table on top */
/* around each lua_resume of a task (sched.c): the task's budget follows it */
void sandbox_enter(lua_State *co, void *budget);
void *sandbox_leave(void);
/* signals (loop.c): sandbox_signal() is async-signal-safe */
int sandbox_signal(void);
void sandbox_signal_seen(void);
int sandbox_signals(void);

#endif
