/* core.c: luaopen_lunet_core, the C module's one entry point. */
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include "lunet.h"

/* lunet.config(): how this build was made */
static int l_config(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, ln_gemm_backend());
  lua_setfield(L, -2, "blas");
  lua_pushinteger(L, ln_gemm_threads());
  lua_setfield(L, -2, "threads");
  lua_pushstring(L, LUNET_VERSION);
  lua_setfield(L, -2, "version");
#ifdef LUNET_CFLAGS
  lua_pushstring(L, LUNET_CFLAGS);
#else
  lua_pushstring(L, "unknown");
#endif
  lua_setfield(L, -2, "cflags");
  return 1;
}

/* lunet.set_threads(n): threads lunet may use in this Lua state: n = 1
** keeps training on the calling thread; n >= 2 lets Model:train split each
** batch across two threads (the default on machines with 2 or more cores)
** and sets OpenBLAS' thread count.  Kept in the registry, not a C global. */
static int l_set_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 1024) ln_error(L, "lunet.set_threads: argument 1 must be in 1..1024, got %lld", (long long)n);
  ln_gemm_set_threads((int)n);
  lua_pushinteger(L, n);
  lua_setfield(L, LUA_REGISTRYINDEX, LN_THREADS_KEY);
  return 0;
}

/* lunet.now(): monotonic wall-clock seconds (CLOCK_MONOTONIC), for timing a
** script's phases: differences are elapsed seconds whatever the threads do */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

/* lunet._isatty(): is standard output a terminal? (progress bars) */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty(fileno(stdout)));
  return 1;
}

int luaopen_lunet_core(lua_State *L);

int luaopen_lunet_core(lua_State *L) {
  luaL_checkversion(L);
  lua_newtable(L);
  ln_open_rng(L);
  ln_open_tensor(L);
  ln_open_tensor_math(L);
  ln_open_tensor_shape(L);
  ln_open_layers(L);
  ln_open_activations(L);
  ln_open_losses(L);
  ln_open_accuracy(L);
  ln_open_optimizers(L);
  ln_open_model(L);
  ln_open_data(L);
  ln_open_data_csv(L);
  ln_open_safetensors(L);
  lua_pushcfunction(L, l_config);
  lua_setfield(L, -2, "config");
  lua_pushcfunction(L, l_set_threads);
  lua_setfield(L, -2, "set_threads");
  lua_pushcfunction(L, l_now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, l_isatty);
  lua_setfield(L, -2, "_isatty");
  lua_pushstring(L, LUNET_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
