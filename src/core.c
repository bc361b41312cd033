/* core.c: luaopen_lunet_core, the C module's one entry point. */
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet.h"
#include "engine/pool.h"

/* may OpenBLAS run its own threads?  Only with LUNET_SPLIT=blas: they
** split a product in ways that change its last bits (seen with the
** Haswell kernels on AMD Zen 4: a 1000 x 784 by 784 x 128 forward differs
** between 1 and 2 OpenBLAS threads), and lunet promises results that do not
** depend on the thread count, so its own threads split the work instead */
static int blasthreads(void) {
  const char *env = getenv("LUNET_SPLIT");
  return env != NULL && strcmp(env, "blas") == 0;
}

/* lunet.config(): how this build was made */
static int l_config(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, ln_gemm_backend());
  lua_setfield(L, -2, "blas");
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_THREADS_KEY) != LUA_TNUMBER) {
    lua_pop(L, 1);
    lua_pushinteger(L, (lua_Integer)ln_ncores());
  }
  lua_setfield(L, -2, "threads");
  lua_pushinteger(L, ln_gemm_threads());
  lua_setfield(L, -2, "blas_threads");
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
** batch across n threads (the default: the machine's cores);
** OpenBLAS' thread count only with LUNET_SPLIT=blas (see blasthreads).
** Kept in the registry, not a C global. */
static int l_set_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 1024) ln_error(L, "lunet.set_threads: argument 1 must be in 1..1024, got %lld", (long long)n);
  if (blasthreads()) ln_gemm_set_threads((int)n);
  lua_pushinteger(L, n);
  lua_setfield(L, LUA_REGISTRYINDEX, LN_THREADS_KEY);
  return 0;
}

/* lunet._threads_hold(on): keep the state's workers awake between layer
** calls (as Model:train does between its steps) or park them now; for
** benchmarks that time layers called one by one */
static int l_threads_hold(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  ln_threads_hold(L, lua_toboolean(L, 1));
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

/* the most arguments of each module function (the others count their own:
** lunet.zeros(...), lunet.where, lunet.arange,
** and the constructors that are C closures: activations and losses),
** so that none ignores an argument it does not understand */
static const struct Arity { const char *table, *name; int nargs; } arities[] = {
  {NULL, "tensor", 1}, {NULL, "is_tensor", 1}, {NULL, "dot", 2}, {NULL, "randperm", 1}, {NULL, "eye", 2}, {NULL, "cat", 2},
  {NULL, "maximum", 2}, {NULL, "minimum", 2},
  {NULL, "Dense", 3}, {NULL, "Dropout", 1}, {NULL, "Input", 3},
  {NULL, "Conv2D", 4}, {NULL, "MaxPool2D", 2}, {NULL, "Flatten", 0}, {NULL, "BatchNormalization", 1},
  {NULL, "CategoricalAccuracy", 1}, {NULL, "RegressionAccuracy", 1},
  {NULL, "SGD", 1}, {NULL, "Adagrad", 1}, {NULL, "RMSprop", 1}, {NULL, "Adam", 1},
  {NULL, "Model", 0}, {NULL, "register_layer", 2}, {NULL, "seed", 1}, {NULL, "set_threads", 1}, {NULL, "_threads_hold", 1}, {NULL, "now", 0}, {NULL, "config", 0},
  {"data", "idx", 1}, {"data", "image_folder", 2}, {"data", "export_image_folder", 5}, {"data", "shuffle", 2}, {"data", "csv", 2},
  {"image", "load", 2}, {"image", "save", 2}, {"image", "resize", 4},
  {"safetensors", "save", 3}, {"safetensors", "load", 1},
  {NULL, NULL, 0}
};

static void limitargs(lua_State *L) {
  const struct Arity *a;
  char who[96];
  for (a = arities; a->name; a++) {
    if (a->table) lua_getfield(L, -1, a->table);
    snprintf(who, sizeof who, "lunet.%s%s%s", a->table ? a->table : "", a->table ? "." : "", a->name);
    ln_limitargs(L, a->name, a->nargs, who);
    if (a->table) lua_pop(L, 1);
  }
}

int luaopen_lunet_core(lua_State *L);

int luaopen_lunet_core(lua_State *L) {
  luaL_checkversion(L);
  if (!blasthreads()) ln_gemm_set_threads(1);
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
  ln_open_json(L);
  ln_open_lualayer(L);
  lua_pushcfunction(L, l_config);
  lua_setfield(L, -2, "config");
  lua_pushcfunction(L, l_set_threads);
  lua_setfield(L, -2, "set_threads");
  lua_pushcfunction(L, l_threads_hold);
  lua_setfield(L, -2, "_threads_hold");
  lua_pushcfunction(L, l_now);
  lua_setfield(L, -2, "now");
  lua_pushcfunction(L, l_isatty);
  lua_setfield(L, -2, "_isatty");
  lua_pushstring(L, LUNET_VERSION);
  lua_setfield(L, -2, "version");
  limitargs(L);
  return 1;
}
