/*
** optimizers_lua.c: the optimizers on layers written in Lua.  A Lua layer's
** parameters are the tensors of self.params, updated from self.grads (same
** order and shapes).  Its state table holds lists indexed like params:
** momentums[i] (SGD with momentum, Adam) and cache[i] (Adagrad, RMSprop,
** Adam).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "optimizers.h"

static const char *const lslot[2] = { "momentums", "cache" }; /* as ST_WM, ST_WC */
#define LSLOT(k) ((k) == 0 ? ST_WM : ST_WC)

/* push list k of the state table at st, created when absent */
static void statelist(lua_State *L, int st, int k) {
  if (lua_getfield(L, st, lslot[k]) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, st, lslot[k]);
  }
}

/* one step on every parameter of the Lua layer at layer */
void ln_opt_lua_update(lua_State *L, const ln_Optimizer *o, int opt, int layer, const char *who) {
  int top = lua_gettop(L), n, i, k, st = 0;
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN];
  n = ln_lualayer_params(L, layer, 1, who);          /* params, grads */
  if (!(o->kind == LN_SGD && o->momentum == 0)) {    /* the state table */
    lua_getiuservalue(L, opt, 1);                    /* params, grads, states */
    lua_pushvalue(L, layer);
    if (lua_rawget(L, -2) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, layer);
      lua_pushvalue(L, -2);
      lua_rawset(L, -4);
    }
    st = lua_gettop(L);                              /* params, grads, states, st */
  }
  for (i = 1; i <= n; i++) {
    ln_Update u[2];
    ln_Tensor *w, *g, *state[2] = { NULL, NULL };
    int base = lua_gettop(L);
    lua_rawgeti(L, top + 1, i);
    lua_rawgeti(L, top + 2, i);
    w = ln_totensor(L, -2);
    g = ln_totensor(L, -1);
    ln_opt_initupdate(o, &u[0]);
    u[1] = u[0];
    ln_optimizer_refresh(o, u);
    u[0].n = w->numel;
    u[0].g = g->data;
    u[0].w = w->data;
    for (k = 0; k < 2 && st; k++) {
      if (!ln_opt_uses(o, LSLOT(k))) continue;
      statelist(L, st, k);                           /* ..., list */
      lua_rawgeti(L, -1, i);
      state[k] = ln_totensor(L, -1);
      if (state[k] == NULL) {
        size_t d[LN_MAXDIM];
        lua_pop(L, 1);
        memcpy(d, w->dims, sizeof d);
        state[k] = ln_newtensor(L, w->ndim, d);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, i);
      } else if (!ln_sameshape(state[k], w))
        ln_error(L, "%s: %s state %d is %s but params[%d] is %s", who, lslot[k], i, ln_shapestr(state[k], s1), i,
                 ln_shapestr(w, s2));
      lua_pop(L, 2);                                 /* the state table keeps it */
    }
    if (!u[0].plain) {
      u[0].s1 = state[0] ? state[0]->data : state[1]->data;
      u[0].s2 = state[0] && state[1] ? state[1]->data : NULL;
    }
    ln_update_run(&u[0], 0, u[0].n);
    lua_settop(L, base);
  }
  lua_settop(L, top);
}

/* opt:state(lua_layer): { momentums = { copies }, cache = { copies } } or nil */
int ln_opt_lua_state(lua_State *L, const ln_Optimizer *o) {
  int k, i, n;
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TTABLE) {             /* states, st|nil */
    lua_pushnil(L);
    return 1;
  }
  lua_newtable(L);                                   /* states, st, copy */
  for (k = 0; k < 2; k++) {
    if (!ln_opt_uses(o, LSLOT(k)) || lua_getfield(L, -2, lslot[k]) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    n = (int)lua_rawlen(L, -1);                      /* states, st, copy, list */
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      if (ln_totensor(L, -1)) ln_opt_pushcopy(L, ln_totensor(L, -1));
      else lua_pushnil(L);
      lua_rawseti(L, -3, i);
      lua_pop(L, 1);
    }
    lua_setfield(L, -3, lslot[k]);
    lua_pop(L, 1);
  }
  return 1;
}

/* opt:set_state(lua_layer, t): t.momentums / t.cache lists of tensors shaped
** as the layer's params, each list the optimizer keeps and nothing else */
int ln_opt_lua_set_state(lua_State *L, const ln_Optimizer *o, const char *who) {
  int k, i, n, any = 0;
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN], what[64];
  n = ln_lualayer_params(L, 2, 0, who);              /* 4: params */
  lua_pushnil(L);
  while (lua_next(L, 3)) {
    int ok = 0;
    lua_pop(L, 1);
    for (k = 0; k < 2; k++)
      if (lua_type(L, -1) == LUA_TSTRING && ln_opt_uses(o, LSLOT(k)) && strcmp(lua_tostring(L, -1), lslot[k]) == 0) ok = 1;
    if (!ok) ln_error(L, "%s: unexpected key '%s' (a Lua layer's state holds the lists momentums and cache that "
                      "this %s keeps)", who, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                      : luaL_typename(L, -1), ln_opt_name[o->kind]);
  }
  for (k = 0; k < 2; k++) {
    if (!ln_opt_uses(o, LSLOT(k))) continue;
    any = 1;
    if (lua_getfield(L, 3, lslot[k]) != LUA_TTABLE || (int)lua_rawlen(L, -1) != n)
      ln_error(L, "%s: %s must be a list of %d tensors (one per params entry), got %s", who, lslot[k], n,
               ln_typename(L, -1));
    for (i = 1; i <= n; i++) {
      ln_Tensor *t, *p;
      lua_rawgeti(L, -1, i);
      lua_rawgeti(L, 4, i);
      t = ln_totensor(L, -2);
      p = ln_totensor(L, -1);
      snprintf(what, sizeof what, "%s[%d]", lslot[k], i);
      if (t == NULL) ln_error(L, "%s: %s must be a tensor, got %s", who, what, ln_typename(L, -2));
      if (!ln_sameshape(t, p))
        ln_error(L, "%s: %s is %s but params[%d] is %s", who, what, ln_shapestr(t, s1), i, ln_shapestr(p, s2));
      ln_opt_checkstate(L, t, k == 1, who, what);
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  if (!any) return 0;
  lua_getiuservalue(L, 1, 1);                        /* params, states */
  lua_pushvalue(L, 2);
  lua_newtable(L);                                   /* params, states, layer, st */
  for (k = 0; k < 2; k++) {
    if (!ln_opt_uses(o, LSLOT(k))) continue;
    lua_getfield(L, 3, lslot[k]);
    lua_createtable(L, n, 0);                        /* ..., st, src, dst */
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -2, i);
      ln_opt_pushcopy(L, ln_totensor(L, -1));
      lua_rawseti(L, -3, i);
      lua_pop(L, 1);
    }
    lua_setfield(L, -3, lslot[k]);
    lua_pop(L, 1);
  }
  lua_rawset(L, -3);
  return 0;
}

