/* loop.h: the uv loop, signals, the main task's run and the ordered
 * shutdown (see loop.c). */
#ifndef LOOP_H
#define LOOP_H

#include "oe.h"

int loop_init(lua_State *L, int mode, int n, long connect_timeout_ms, size_t max_body,
              double backoff_ms);
int loop_run(lua_State *L, int nargs);
void loop_shutdown(void);
int loop_interrupted(void);

#endif
