/*
** threads.c: the threads lunet uses in a Lua state (lunet.set_threads) and
** the pool the layers that split their own work run on (Conv2D, MaxPool2D,
** BatchNormalization, layer by layer).  The pool lives in the registry and
** is parked after each run, so no thread spins between a host's calls;
** Model:train holds it awake between its steps (ln_threads_hold) and parks
** it when it returns, as it does its own pool.
*/
#include <stdlib.h>
#include <string.h>
#include "lunet.h"
#include "engine/pool.h"

#define POOL_KEY "lunet.layerpool"
#define RUN_MIN_WORK 2e5 /* multiply-adds below which one thread does it */

int ln_threads(lua_State *L) {
  const char *env = getenv("LUNET_SPLIT");
  lua_Integer threads = ln_ncores();
  if (env && (strcmp(env, "0") == 0 || strcmp(env, "blas") == 0)) return 1;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_THREADS_KEY) == LUA_TNUMBER) threads = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return threads < 1 ? 1 : threads > LN_MAXTHREADS ? LN_MAXTHREADS : (int)threads;
}

static int pool_gc(lua_State *L) {
  ln_Pool *p = (ln_Pool *)luaL_checkudata(L, 1, "lunet.LayerPool");
  ln_pool_stop(p);
  return 0;
}

ln_Pool *ln_state_pool(lua_State *L) {
  ln_Pool *p;
  int n = ln_threads(L);
  if (n < 2) return NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, POOL_KEY) == LUA_TUSERDATA) {
    p = (ln_Pool *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (p->started && ln_pool_parts(p) == n) return p;
    ln_pool_stop(p);
    return ln_pool_start(p, n) == 0 ? p : NULL;
  }
  lua_pop(L, 1);
  p = (ln_Pool *)lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  if (luaL_newmetatable(L, "lunet.LayerPool")) {
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, POOL_KEY);
  return ln_pool_start(p, n) == 0 ? p : NULL;
}

#define HOLD_KEY "lunet.layerpool.hold"

void ln_run_parts(lua_State *L, ln_Job job, void *arg, double work) {
  ln_Pool *p = work >= RUN_MIN_WORK ? ln_state_pool(L) : NULL;
  int hold;
  if (p == NULL) {
    job(NULL, arg, 0, 1);
    return;
  }
  ln_pool_run(p, job, arg);
  hold = lua_getfield(L, LUA_REGISTRYINDEX, HOLD_KEY) == LUA_TBOOLEAN;
  lua_pop(L, 1);
  if (!hold) ln_pool_park(p);
}

void ln_threads_hold(lua_State *L, int hold) {
  if (hold) lua_pushboolean(L, 1);
  else lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, HOLD_KEY);
  if (!hold && lua_getfield(L, LUA_REGISTRYINDEX, POOL_KEY) == LUA_TUSERDATA)
    ln_pool_park((ln_Pool *)lua_touserdata(L, -1));
  if (!hold) lua_pop(L, 1);
}
