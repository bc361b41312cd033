/*
** tensor_shape.c: lunet.Tensor's shape functions and the constructors of
** sequences.  squeeze, unsqueeze and narrow along dimension 1 are views (the
** data stays where it is, as with reshape and rows); transpose, permute,
** narrow along other dimensions and cat copy, so every tensor stays
** contiguous.  randperm draws from the seeded generator.
*/
#include <math.h>
#include <string.h>
#include "lunet.h"


/* the tensor at 1 (self) */
static ln_Tensor *self(lua_State *L, const char *who) {
  ln_Tensor *t = ln_totensor(L, 1);
  if (t == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  return t;
}

/* an integer argument in lo..hi naming `what` */
static lua_Integer intarg(lua_State *L, int idx, lua_Integer lo, lua_Integer hi, const char *what, const char *who) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum || lua_type(L, idx) != LUA_TNUMBER || v < lo || v > hi)
    ln_error(L, "%s: %s must be an integer in %lld..%lld, got %s", who, what, (long long)lo, (long long)hi,
             lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : ln_typename(L, idx));
  return v;
}

/* t:squeeze(dim): without dim every size-1 dimension goes (a tensor of one
** element stays 1-D); with dim, that one, which must have size 1.  A view */
static int m_squeeze(lua_State *L) {
  const char *who = "Tensor:squeeze";
  ln_Tensor *t = self(L, who);
  size_t dims[LN_MAXDIM];
  int i, n = 0;
  char sb[LN_SHAPELEN];
  if (lua_isnoneornil(L, 2)) {
    for (i = 0; i < t->ndim; i++) if (t->dims[i] != 1) dims[n++] = t->dims[i];
    if (n == 0) dims[n++] = 1;
  } else {
    int d = (int)intarg(L, 2, 1, t->ndim, "dim", who);
    if (t->dims[d - 1] != 1)
      ln_error(L, "%s: dimension %d of %s has size %zu, not 1", who, d, ln_shapestr(t, sb), t->dims[d - 1]);
    for (i = 0; i < t->ndim; i++) if (i != d - 1) dims[n++] = t->dims[i];
    if (n == 0) dims[n++] = 1; /* a 1-D tensor of one element stays 1-D */
  }
  ln_pushview(L, 1, t->data, t->cap, n, dims);
  return 1;
}

/* t:unsqueeze(dim): a size-1 dimension inserted at dim (1..dim()+1).  A view */
static int m_unsqueeze(lua_State *L) {
  const char *who = "Tensor:unsqueeze";
  ln_Tensor *t = self(L, who);
  size_t dims[LN_MAXDIM];
  int i, n = 0, d;
  char sb[LN_SHAPELEN];
  if (t->ndim == LN_MAXDIM) ln_error(L, "%s: %s has %d dimensions already, the most a tensor has", who,
                                     ln_shapestr(t, sb), LN_MAXDIM);
  d = (int)intarg(L, 2, 1, t->ndim + 1, "dim", who);
  for (i = 0; i <= t->ndim; i++) {
    if (i == d - 1) dims[n++] = 1;
    if (i < t->ndim) dims[n++] = t->dims[i];
  }
  ln_pushview(L, 1, t->data, t->cap, n, dims);
  return 1;
}

/* t:narrow(dim, first, length): positions first..first+length-1 along dim;
** a view along dimension 1 (like rows), a copy along the others */
static int m_narrow(lua_State *L) {
  const char *who = "Tensor:narrow";
  ln_Tensor *t = self(L, who), *o;
  size_t dims[LN_MAXDIM], outer = 1, inner = 1, n, first, len, k;
  int d, i;
  char sb[LN_SHAPELEN];
  d = (int)intarg(L, 2, 1, t->ndim, "dim", who);
  n = t->dims[d - 1];
  first = (size_t)intarg(L, 3, 1, (lua_Integer)n, "first", who);
  len = (size_t)intarg(L, 4, 1, (lua_Integer)n, "length", who);
  if (len > n - first + 1)
    ln_error(L, "%s: %zu positions from %zu pass the end of dimension %d (size %zu) of %s", who, len, first, d, n,
             ln_shapestr(t, sb));
  memcpy(dims, t->dims, sizeof dims);
  dims[d - 1] = len;
  for (i = 0; i < d - 1; i++) outer *= t->dims[i];
  for (i = d; i < t->ndim; i++) inner *= t->dims[i];
  if (d == 1) {
    float *p = t->data + (first - 1) * inner;
    ln_pushview(L, 1, p, t->cap - (size_t)(p - t->data), t->ndim, dims);
    return 1;
  }
  o = ln_newtensor_uninit(L, t->ndim, dims);
  for (k = 0; k < outer; k++)
    memcpy(o->data + k * len * inner, t->data + (k * n + first - 1) * inner, len * inner * sizeof(float));
  return 1;
}

/* a copy of t with its dimensions in the order perm (0-based: output
** dimension i is t's dimension perm[i]) */
static void permuted(lua_State *L, const ln_Tensor *t, const int *perm) {
  size_t dims[LN_MAXDIM] = { 1, 1, 1, 1 }, st[LN_MAXDIM] = { 0, 0, 0, 0 }, ost[4] = { 0, 0, 0, 0 }, od[4] = { 1, 1, 1, 1 }, s = 1, i0, i1, i2, i3;
  int i, nd = t->ndim, off = 4 - nd;
  ln_Tensor *o;
  float *p;
  for (i = nd - 1; i >= 0; i--) { st[i] = s; s *= t->dims[i]; }
  for (i = 0; i < nd; i++) {
    dims[i] = t->dims[perm[i]];
    od[off + i] = dims[i];
    ost[off + i] = st[perm[i]];
  }
  o = ln_newtensor_uninit(L, nd, dims);
  p = o->data;
  for (i0 = 0; i0 < od[0]; i0++)
    for (i1 = 0; i1 < od[1]; i1++)
      for (i2 = 0; i2 < od[2]; i2++) {
        const float *q = t->data + i0 * ost[0] + i1 * ost[1] + i2 * ost[2];
        for (i3 = 0; i3 < od[3]; i3++) *p++ = q[i3 * ost[3]];
      }
}

/* t:transpose(d1, d2): a copy with dimensions d1 and d2 swapped */
static int m_transpose(lua_State *L) {
  const char *who = "Tensor:transpose";
  ln_Tensor *t = self(L, who);
  int perm[LN_MAXDIM], i, a, b;
  a = (int)intarg(L, 2, 1, t->ndim, "d1", who);
  b = (int)intarg(L, 3, 1, t->ndim, "d2", who);
  for (i = 0; i < t->ndim; i++) perm[i] = i;
  perm[a - 1] = b - 1;
  perm[b - 1] = a - 1;
  permuted(L, t, perm);
  return 1;
}

/* t:permute(...): a copy whose dimension i is t's dimension arg i (each of
** 1..dim() once) */
static int m_permute(lua_State *L) {
  const char *who = "Tensor:permute";
  ln_Tensor *t = self(L, who);
  int perm[LN_MAXDIM], seen[LN_MAXDIM] = { 0, 0, 0, 0 }, i;
  if (lua_gettop(L) - 1 != t->ndim)
    ln_error(L, "%s: expected %d dimension numbers (one per dimension), got %d", who, t->ndim, lua_gettop(L) - 1);
  for (i = 0; i < t->ndim; i++) {
    int d = (int)intarg(L, i + 2, 1, t->ndim, "each dimension number", who);
    if (seen[d - 1]) ln_error(L, "%s: dimension %d appears twice", who, d);
    seen[d - 1] = 1;
    perm[i] = d - 1;
  }
  permuted(L, t, perm);
  return 1;
}

/* lunet.cat(list, dim): the tensors of list joined along dim (default 1);
** their other sizes must agree */
static int l_cat(lua_State *L) {
  const char *who = "lunet.cat";
  size_t n, i, dims[LN_MAXDIM], outer = 1, total = 0, off = 0, k;
  int d = 1, nd, j;
  ln_Tensor *first, *o;
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN];
  if (!lua_istable(L, 1)) ln_error(L, "%s: argument 1 must be a list of tensors, got %s", who, ln_typename(L, 1));
  n = lua_rawlen(L, 1);
  if (n == 0) ln_error(L, "%s: the list is empty", who);
  lua_rawgeti(L, 1, 1);
  first = ln_totensor(L, -1);
  lua_pop(L, 1);
  if (first == NULL) ln_error(L, "%s: entry 1 must be a tensor", who);
  nd = first->ndim;
  if (!lua_isnoneornil(L, 2)) d = (int)intarg(L, 2, 1, nd, "dim", who);
  for (i = 1; i <= n; i++) {
    ln_Tensor *t;
    lua_rawgeti(L, 1, (lua_Integer)i);
    t = ln_totensor(L, -1);
    if (t == NULL) ln_error(L, "%s: entry %zu must be a tensor, got %s", who, i, ln_typename(L, -1));
    lua_pop(L, 1);
    if (t->ndim != nd) ln_error(L, "%s: entry %zu is %s but entry 1 is %s (same number of dimensions needed)", who,
                                i, ln_shapestr(t, s1), ln_shapestr(first, s2));
    for (j = 0; j < nd; j++)
      if (j != d - 1 && t->dims[j] != first->dims[j])
        ln_error(L, "%s: entry %zu is %s but entry 1 is %s (sizes must agree except along dim %d)", who, i,
                 ln_shapestr(t, s1), ln_shapestr(first, s2), d);
    if (t->dims[d - 1] > LN_MAXNUMEL - total) ln_error(L, "%s: the result is too large", who);
    total += t->dims[d - 1];
  }
  memcpy(dims, first->dims, sizeof dims);
  dims[d - 1] = total;
  for (j = 0; j < d - 1; j++) outer *= first->dims[j];
  o = ln_newtensor_uninit(L, nd, dims); /* raises when too large */
  for (i = 1; i <= n; i++) {
    ln_Tensor *t;
    size_t run;
    lua_rawgeti(L, 1, (lua_Integer)i);
    t = ln_totensor(L, -1);
    lua_pop(L, 1);
    run = t->numel / outer; /* this entry's part of one outer slice */
    for (k = 0; k < outer; k++)
      memcpy(o->data + k * (o->numel / outer) + off, t->data + k * run, run * sizeof(float));
    off += run;
  }
  return 1;
}

/* lunet.randperm(n): 1..n in an order drawn from the seeded generator */
static int l_randperm(lua_State *L) {
  const char *who = "lunet.randperm";
  size_t n, i, *perm;
  ln_Tensor *o;
  n = (size_t)intarg(L, 1, 1, (lua_Integer)LN_MAXNUMEL, "n", who);
  o = ln_newvector(L, n);
  perm = (size_t *)lua_newuserdatauv(L, n * sizeof(size_t), 0);
  ln_rng_permutation(ln_getrng(L), n, perm);
  for (i = 0; i < n; i++) o->data[i] = (float)(perm[i] + 1);
  lua_pop(L, 1);
  return 1;
}

/* lunet.arange(first, last, step): first, first + step, ... up to last
** included, as Lua's numeric for; arange(n) is 1..n */
static int l_arange(lua_State *L) {
  const char *who = "lunet.arange";
  double first, last, step, count;
  size_t n, i;
  ln_Tensor *o;
  int k;
  if (lua_gettop(L) < 1 || lua_gettop(L) > 3)
    ln_error(L, "%s: expected (n) or (first, last, step), got %d arguments", who, lua_gettop(L));
  for (k = 1; k <= lua_gettop(L); k++)
    if (lua_type(L, k) != LUA_TNUMBER && !(k == 3 && lua_isnil(L, k)))
      ln_error(L, "%s: argument %d must be a number, got %s", who, k, ln_typename(L, k));
  if (lua_gettop(L) == 1) { first = 1; last = lua_tonumber(L, 1); }
  else { first = lua_tonumber(L, 1); last = lua_tonumber(L, 2); }
  step = lua_isnoneornil(L, 3) ? 1 : lua_tonumber(L, 3);
  if (step == 0 || step != step || first != first || last != last || isinf(first) || isinf(last) || isinf(step))
    ln_error(L, "%s: first, last and step must be finite and step not 0 (got %g, %g, %g)", who, first, last, step);
  count = floor((last - first) / step);
  if (count < 0) ln_error(L, "%s: %g..%g with step %g holds nothing", who, first, last, step);
  if (count + 1 > (double)LN_MAXNUMEL) ln_error(L, "%s: %g..%g with step %g is too long", who, first, last, step);
  n = (size_t)count + 1;
  o = ln_newvector(L, n);
  for (i = 0; i < n; i++) o->data[i] = (float)(first + (double)i * step);
  return 1;
}

/* lunet.eye(n, m): the n x m identity (m defaults to n) */
static int l_eye(lua_State *L) {
  const char *who = "lunet.eye";
  size_t n, m, i;
  ln_Tensor *o;
  n = (size_t)intarg(L, 1, 1, 1 << 20, "n", who);
  m = lua_isnoneornil(L, 2) ? n : (size_t)intarg(L, 2, 1, 1 << 20, "m", who);
  o = ln_newmatrix(L, n, m);
  for (i = 0; i < n && i < m; i++) o->data[i * m + i] = 1.0f;
  return 1;
}

static const ln_Method methods[] = {
  {"squeeze", m_squeeze, 1}, {"unsqueeze", m_unsqueeze, 1}, {"narrow", m_narrow, 3},
  {"transpose", m_transpose, 2}, {"permute", m_permute, -1}, /* permute counts its own */
  {NULL, NULL, 0}
};

static const luaL_Reg functions[] = {
  {"cat", l_cat}, {"randperm", l_randperm}, {"arange", l_arange}, {"eye", l_eye},
  {NULL, NULL}
};

void ln_open_tensor_shape(lua_State *L) {
  ln_addmethods(L, LN_TENSOR, methods);
  luaL_setfuncs(L, functions, 0);
}
