/*
** tensor_new.c: the tensor constructors lunet.tensor (from nested tables),
** zeros, ones, full, randn, rand, and lunet.is_tensor (tensor.c has the
** tensor itself).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lunet.h"

/* read sizes given as arguments first..top, or as one table, into dims */
static int checksizes(lua_State *L, int first, size_t *dims, const char *who) {
  int i, n;
  if (lua_istable(L, first)) {
    n = (int)lua_rawlen(L, first);
    if (n < 1 || n > LN_MAXDIM) ln_error(L, "%s: expected 1 to %d sizes, got %d", who, LN_MAXDIM, n);
    for (i = 0; i < n; i++) {
      lua_Integer v;
      int isnum;
      lua_rawgeti(L, first, i + 1);
      v = lua_tointegerx(L, -1, &isnum);
      lua_pop(L, 1);
      if (!isnum || v < 1) ln_error(L, "%s: size %d must be a positive integer", who, i + 1);
      dims[i] = (size_t)v;
    }
    ln_tensor_numel(L, n, dims, who);
    return n;
  }
  n = lua_gettop(L) - first + 1;
  if (n < 1 || n > LN_MAXDIM) ln_error(L, "%s: expected 1 to %d sizes, got %d", who, LN_MAXDIM, n < 0 ? 0 : n);
  for (i = 0; i < n; i++) {
    int isnum;
    lua_Integer v = lua_tointegerx(L, first + i, &isnum);
    if (!isnum) {
      if (lua_type(L, first + i) == LUA_TNUMBER)
        ln_error(L, "%s: size %d must be an integer, got %g", who, i + 1, (double)lua_tonumber(L, first + i));
      ln_error(L, "%s: size %d must be an integer, got %s", who, i + 1, luaL_typename(L, first + i));
    }
    if (v < 1) ln_error(L, "%s: size %d must be positive, got %lld", who, i + 1, (long long)v);
    if ((unsigned long long)v > LN_MAXNUMEL) ln_error(L, "%s: size %d is too large (%lld)", who, i + 1, (long long)v);
    dims[i] = (size_t)v;
  }
  ln_tensor_numel(L, n, dims, who);
  return n;
}

/* walk a nested table to find its shape */
static int tableshape(lua_State *L, int idx, size_t *dims, const char *who) {
  int nd = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    size_t n = lua_rawlen(L, -1);
    if (nd == LN_MAXDIM) ln_error(L, "%s: more than %d levels of nesting", who, LN_MAXDIM);
    if (n == 0) ln_error(L, "%s: empty table at level %d", who, nd + 1);
    dims[nd++] = n;
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  return nd;
}

/* copy a nested table into data, checking it is rectangular */
static size_t fillfromtable(lua_State *L, int idx, int level, int ndim, const size_t *dims,
                            float *data, size_t pos, const char *who) {
  size_t i, n = lua_rawlen(L, idx);
  if (!lua_istable(L, idx) || n != dims[level])
    ln_error(L, "%s: ragged table: level %d has %zu elements where %zu were expected", who,
             level + 1, lua_istable(L, idx) ? n : 0, dims[level]);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i);
    if (level + 1 < ndim) {
      pos = fillfromtable(L, lua_gettop(L), level + 1, ndim, dims, data, pos, who);
    } else {
      int isnum;
      lua_Number v = lua_tonumberx(L, -1, &isnum);
      if (!isnum) ln_error(L, "%s: element %zu at level %d is %s, not a number", who, i, level + 1, luaL_typename(L, -1));
      data[pos++] = (float)v;
    }
    lua_pop(L, 1);
  }
  return pos;
}

/* lunet.tensor(t): a tensor from nested tables (or a copy of a tensor) */
static int l_tensor(lua_State *L) {
  size_t dims[LN_MAXDIM];
  int nd;
  ln_Tensor *t, *src = ln_totensor(L, 1);
  if (src) {
    t = ln_newtensor_uninit(L, src->ndim, src->dims);
    memcpy(t->data, src->data, src->numel * sizeof(float));
    return 1;
  }
  if (lua_type(L, 1) == LUA_TNUMBER) {
    t = ln_newtensor_uninit(L, 1, (dims[0] = 1, dims));
    t->data[0] = (float)lua_tonumber(L, 1);
    return 1;
  }
  if (!lua_istable(L, 1))
    ln_error(L, "lunet.tensor: argument 1 must be a table of numbers (or a tensor), got %s", ln_typename(L, 1));
  nd = tableshape(L, 1, dims, "lunet.tensor");
  t = ln_newtensor_uninit(L, nd, dims);
  fillfromtable(L, 1, 0, nd, dims, t->data, 0, "lunet.tensor");
  return 1;
}

static int filled(lua_State *L, int first, float v, const char *who) {
  size_t dims[LN_MAXDIM], i;
  int nd = checksizes(L, first, dims, who);
  ln_Tensor *t = ln_newtensor_uninit(L, nd, dims);
  for (i = 0; i < t->numel; i++) t->data[i] = v;
  return 1;
}

static int l_zeros(lua_State *L) { return filled(L, 1, 0.0f, "lunet.zeros"); }
static int l_ones(lua_State *L) { return filled(L, 1, 1.0f, "lunet.ones"); }
static int l_full(lua_State *L) {
  int isnum;
  lua_Number v = lua_tonumberx(L, 1, &isnum);
  if (!isnum) ln_error(L, "lunet.full: argument 1 (value) must be a number, got %s", luaL_typename(L, 1));
  return filled(L, 2, (float)v, "lunet.full");
}

static int l_randn(lua_State *L) {
  size_t dims[LN_MAXDIM], i;
  int nd = checksizes(L, 1, dims, "lunet.randn");
  ln_Rng *r = ln_getrng(L);
  ln_Tensor *t = ln_newtensor_uninit(L, nd, dims);
  for (i = 0; i < t->numel; i++) t->data[i] = (float)ln_rng_normal(r);
  return 1;
}

static int l_rand(lua_State *L) {
  size_t dims[LN_MAXDIM], i;
  int nd = checksizes(L, 1, dims, "lunet.rand");
  ln_Rng *r = ln_getrng(L);
  ln_Tensor *t = ln_newtensor_uninit(L, nd, dims);
  for (i = 0; i < t->numel; i++) {
    float v = (float)ln_rng_uniform(r);
    t->data[i] = v < 1.0f ? v : 0x1.fffffep-1f; /* rounding must not reach 1 */
  }
  return 1;
}

/* lunet.is_tensor(v) */
static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, ln_totensor(L, 1) != NULL);
  return 1;
}

static const luaL_Reg functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"full", l_full},
  {"randn", l_randn}, {"rand", l_rand}, {"is_tensor", l_is_tensor},
  {NULL, NULL}
};

void ln_open_tensor_new(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
}
