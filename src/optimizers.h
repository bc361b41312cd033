/*
** optimizers.h: what optimizers.c (the optimizer objects, Dense layers'
** updates and state) and optimizers_lua.c (Lua layers' params and state)
** share; private to them.
*/
#ifndef LUNET_OPTIMIZERS_H
#define LUNET_OPTIMIZERS_H

#include "lunet.h"
#include "kernels/optim.h"

/* state slots of a Dense layer (a Lua layer keeps lists for ST_WM and ST_WC) */
enum { ST_WM, ST_WC, ST_BM, ST_BC, ST_N };

extern const char *const ln_opt_name[];   /* "SGD", ... by kind */
/* whether slot s is used by this optimizer */
int ln_opt_uses(const ln_Optimizer *o, int s);
/* an update's hyperparameters and plain flag (n, g, w, state and step values unset) */
void ln_opt_initupdate(const ln_Optimizer *o, ln_Update *u);
/* push a copy of tensor t */
ln_Tensor *ln_opt_pushcopy(lua_State *L, const ln_Tensor *t);
/* raise unless t holds finite values (and >= 0 when a cache) */
void ln_opt_checkstate(lua_State *L, const ln_Tensor *t, int cache, const char *who, const char *what);

/* optimizers_lua.c: update_params, state and set_state of a Lua layer
** (self at 1, the layer at 2, the state table at 3) */
void ln_opt_lua_update(lua_State *L, const ln_Optimizer *o, int opt, int layer, const char *who);
int ln_opt_lua_state(lua_State *L, const ln_Optimizer *o);
int ln_opt_lua_set_state(lua_State *L, const ln_Optimizer *o, const char *who);

#endif
