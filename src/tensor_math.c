/*
** tensor_math.c: lunet.Tensor's element-wise arithmetic, comparisons and
** functions, with NumPy's broadcasting, their in-place `_` variants, where
** and masked_fill_, and the reductions (whole tensor, or over one dimension
** keeping it with size 1, Torch7's convention).  The loops are the kernels'
** (src/kernels/ops.c); this file works out shapes and strides and names
** the shapes in every error.
*/
#include <math.h>
#include <string.h>
#include "lunet.h"

/* ========================================================= broadcasting */

/* an operand seen in the 4-D index space of a result: its data and its
** element strides there (0 along a dimension it stretches) */
typedef struct Operand {
  const float *data;
  size_t st[4];
} Operand;

/* dims of t right-aligned in 4 (leading 1s) */
static void pad4(const ln_Tensor *t, size_t d[4]) {
  int i, off = 4 - t->ndim;
  for (i = 0; i < 4; i++) d[i] = i < off ? 1 : t->dims[i - off];
}

/* is one of a, b an N x 1 column and the other a 1-D tensor of N > 1? NumPy
** makes N x N of them, which is never what the book's code means */
static int column_vs_vector(const ln_Tensor *a, const ln_Tensor *b) {
  const ln_Tensor *c = a->ndim == 2 ? a : b, *v = a->ndim == 2 ? b : a;
  return c->ndim == 2 && v->ndim == 1 && c->dims[1] == 1 && c->dims[0] == v->dims[0] && v->dims[0] > 1;
}

/* the broadcast shape of the n tensors ts (NumPy's rules: sizes compared
** from the last dimension, a 1 stretches) into *out (ndim and dims), and
** each one's strides in ops; raises naming the shapes */
static void broadcast(lua_State *L, int n, const ln_Tensor *const *ts, ln_Tensor *out, Operand *ops,
                      const char *who) {
  size_t d[3][4], r[4];
  int i, k, nd = 0;
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN];
  for (i = 0; i < n; i++) {
    pad4(ts[i], d[i]);
    if (ts[i]->ndim > nd) nd = ts[i]->ndim;
  }
  for (i = 0; i < n; i++)
    for (k = i + 1; k < n; k++)
      if (column_vs_vector(ts[i], ts[k]))
        ln_error(L, "%s: shapes %s and %s: an N x 1 column against a 1-D tensor of N would make N x N; "
                 "squeeze(2) the column first (o:argmax(2):squeeze(2):eq(y))", who, ln_shapestr(ts[i], s1),
                 ln_shapestr(ts[k], s2));
  for (k = 3; k >= 0; k--) { /* from the last dimension, as NumPy compares */
    r[k] = 1;
    for (i = 0; i < n; i++) {
      if (d[i][k] == r[k] || d[i][k] == 1) continue;
      if (r[k] != 1) {
        int j;
        for (j = 0; j < i; j++) if (d[j][k] != 1) break;
        if (k == 3)
          ln_error(L, "%s: shapes %s and %s do not broadcast (last dimensions %zu and %zu; sizes must be equal "
                   "or 1, compared from the last)", who, ln_shapestr(ts[j], s1), ln_shapestr(ts[i], s2), d[j][k],
                   d[i][k]);
        ln_error(L, "%s: shapes %s and %s do not broadcast (sizes %zu and %zu, dimension %d from the end; sizes "
                 "must be equal or 1, compared from the last)", who, ln_shapestr(ts[j], s1), ln_shapestr(ts[i], s2),
                 d[j][k], d[i][k], 4 - k);
      }
      r[k] = d[i][k];
    }
  }
  memset(out, 0, sizeof *out);
  out->ndim = nd;
  for (k = 0; k < nd; k++) out->dims[k] = r[4 - nd + k];
  out->numel = r[0] * r[1] * r[2] * r[3];
  for (i = 0; i < n; i++) {
    size_t s = 1;
    ops[i].data = ts[i]->data;
    for (k = 3; k >= 0; k--) {
      ops[i].st[k] = d[i][k] == 1 ? 0 : s;
      s *= d[i][k];
    }
  }
}

/* the 4-D index space of a result shape */
static void space(const ln_Tensor *shape, size_t dims[4]) { pad4(shape, dims); }

/* b, or a copy of it (pushed) when it shares memory with a without being
** a itself: an in-place write would change b half-way */
static const ln_Tensor *unaliased(lua_State *L, const ln_Tensor *a, const ln_Tensor *b) {
  ln_Tensor *c;
  if (!ln_overlaps(a, b) || (a->data == b->data && a->numel == b->numel)) return b;
  c = ln_newtensor_uninit(L, b->ndim, b->dims);
  memcpy(c->data, b->data, b->numel * sizeof(float));
  return c;
}

/* ============================================================ binary ops */

/* a op b for the values at 1 and 2 (tensors or numbers, at least one a
** tensor); pushes the result (a new tensor), or writes into the tensor at 1
** when inplace (the result must keep its shape) */
static int binary(lua_State *L, ln_BinOp op, int inplace, const char *who) {
  ln_Tensor *a = ln_totensor(L, 1), *b = ln_totensor(L, 2), *o;
  char sa[LN_SHAPELEN], so[LN_SHAPELEN];
  if (inplace && a == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  if (a && b) {
    const ln_Tensor *ts[2];
    ln_Tensor shape;
    Operand ops[2];
    size_t dims[4];
    ts[0] = a;
    ts[1] = b;
    if (ln_sameshape(a, b)) { /* the common case: one flat loop */
      const float *bd = inplace ? unaliased(L, a, b)->data : b->data;
      o = inplace ? a : ln_newtensor_uninit(L, a->ndim, a->dims);
      ln_binop(op, a->numel, a->data, bd, o->data);
      if (inplace) lua_settop(L, 1);
      return 1;
    }
    broadcast(L, 2, ts, &shape, ops, who);
    space(&shape, dims);
    if (inplace) {
      if (!ln_sameshape(&shape, a))
        ln_error(L, "%s: the result would be %s, not the tensor's own %s (use the operator or function, "
                 "which makes a new tensor)", who, ln_shapestr(&shape, so), ln_shapestr(a, sa));
      ops[1].data = unaliased(L, a, b)->data;
      ln_binop_bcast(op, dims, a->data, ops[0].st, ops[1].data, ops[1].st, a->data);
      lua_settop(L, 1);
      return 1;
    }
    o = ln_newtensor_uninit(L, shape.ndim, shape.dims);
    ln_binop_bcast(op, dims, a->data, ops[0].st, b->data, ops[1].st, o->data);
    return 1;
  }
  if (a && lua_type(L, 2) == LUA_TNUMBER) {
    o = inplace ? a : ln_newtensor_uninit(L, a->ndim, a->dims);
    ln_binop_scalar(op, a->numel, a->data, (float)lua_tonumber(L, 2), 0, o->data);
    if (inplace) lua_settop(L, 1);
    return 1;
  }
  if (b && lua_type(L, 1) == LUA_TNUMBER) {
    o = ln_newtensor_uninit(L, b->ndim, b->dims);
    ln_binop_scalar(op, b->numel, b->data, (float)lua_tonumber(L, 1), 1, o->data);
    return 1;
  }
  if (a && strchr(who, ':')) /* a method: t:eq(x) */
    return ln_error(L, "%s: argument 1 must be a number or tensor, got %s", who, ln_typename(L, 2)), 0;
  return ln_error(L, "%s: cannot combine %s with %s (numbers and tensors only)", who, ln_typename(L, 1),
                  ln_typename(L, 2)), 0;
}

#define BINARY(fn, op, inplace, who) static int fn(lua_State *L) { return binary(L, op, inplace, who); }
BINARY(mm_add, LN_ADD, 0, "Tensor +")
BINARY(mm_sub, LN_SUB, 0, "Tensor -")
BINARY(mm_mul, LN_MUL, 0, "Tensor *")
BINARY(mm_div, LN_DIV, 0, "Tensor /")
BINARY(mm_pow, LN_POW, 0, "Tensor ^")
BINARY(m_add_, LN_ADD, 1, "Tensor:add_")
BINARY(m_sub_, LN_SUB, 1, "Tensor:sub_")
BINARY(m_mul_, LN_MUL, 1, "Tensor:mul_")
BINARY(m_div_, LN_DIV, 1, "Tensor:div_")
BINARY(m_pow, LN_POW, 0, "Tensor:pow")
BINARY(m_pow_, LN_POW, 1, "Tensor:pow_")
BINARY(m_eq, LN_EQ, 0, "Tensor:eq")
BINARY(m_ne, LN_NE, 0, "Tensor:ne")
BINARY(m_gt, LN_GT, 0, "Tensor:gt")
BINARY(m_ge, LN_GE, 0, "Tensor:ge")
BINARY(m_lt, LN_LT, 0, "Tensor:lt")
BINARY(m_le, LN_LE, 0, "Tensor:le")
BINARY(m_eq_, LN_EQ, 1, "Tensor:eq_")
BINARY(m_ne_, LN_NE, 1, "Tensor:ne_")
BINARY(m_gt_, LN_GT, 1, "Tensor:gt_")
BINARY(m_ge_, LN_GE, 1, "Tensor:ge_")
BINARY(m_lt_, LN_LT, 1, "Tensor:lt_")
BINARY(m_le_, LN_LE, 1, "Tensor:le_")
BINARY(m_maximum, LN_MAXIMUM, 0, "Tensor:maximum")
BINARY(m_minimum, LN_MINIMUM, 0, "Tensor:minimum")
BINARY(m_maximum_, LN_MAXIMUM, 1, "Tensor:maximum_")
BINARY(m_minimum_, LN_MINIMUM, 1, "Tensor:minimum_")
BINARY(l_maximum, LN_MAXIMUM, 0, "lunet.maximum")
BINARY(l_minimum, LN_MINIMUM, 0, "lunet.minimum")

/* ============================================================= unary ops */

/* f(t) for the tensor at 1: a new tensor, or t itself when inplace */
static int unary(lua_State *L, ln_UnOp op, int inplace, const char *who) {
  ln_Tensor *a = ln_totensor(L, 1), *o;
  if (a == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  o = inplace ? a : ln_newtensor_uninit(L, a->ndim, a->dims);
  ln_unop(op, a->numel, a->data, o->data);
  return 1;
}

#define UNARY(fn, op, inplace, who) static int fn(lua_State *L) { return unary(L, op, inplace, who); }
UNARY(m_exp, LN_EXP, 0, "Tensor:exp")
UNARY(m_log, LN_LOG, 0, "Tensor:log")
UNARY(m_abs, LN_ABS, 0, "Tensor:abs")
UNARY(m_sqrt, LN_SQRT, 0, "Tensor:sqrt")
UNARY(m_tanh, LN_TANH, 0, "Tensor:tanh")
UNARY(m_sign, LN_SIGN, 0, "Tensor:sign")
UNARY(m_neg, LN_NEG, 0, "Tensor:neg")
UNARY(m_exp_, LN_EXP, 1, "Tensor:exp_")
UNARY(m_log_, LN_LOG, 1, "Tensor:log_")
UNARY(m_abs_, LN_ABS, 1, "Tensor:abs_")
UNARY(m_sqrt_, LN_SQRT, 1, "Tensor:sqrt_")
UNARY(m_tanh_, LN_TANH, 1, "Tensor:tanh_")
UNARY(m_sign_, LN_SIGN, 1, "Tensor:sign_")
UNARY(m_neg_, LN_NEG, 1, "Tensor:neg_")

static int mm_unm(lua_State *L) {
  lua_settop(L, 1); /* Lua passes the operand twice */
  return unary(L, LN_NEG, 0, "Tensor unary -");
}

/* t:clamp(lo, hi) / t:clamp_(lo, hi): nil leaves that side open */
static int clamp(lua_State *L, int inplace, const char *who) {
  ln_Tensor *a = ln_totensor(L, 1), *o;
  float lo, hi;
  int k;
  if (a == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  for (k = 2; k <= 3; k++)
    if (!lua_isnoneornil(L, k) && lua_type(L, k) != LUA_TNUMBER)
      ln_error(L, "%s: argument %d (%s) must be a number or nil, got %s", who, k - 1, k == 2 ? "lo" : "hi",
               ln_typename(L, k));
  lo = (float)luaL_optnumber(L, 2, -HUGE_VAL);
  hi = (float)luaL_optnumber(L, 3, HUGE_VAL);
  if (lo > hi) ln_error(L, "%s: lower bound %g is above upper bound %g", who, (double)lo, (double)hi);
  o = inplace ? a : ln_newtensor_uninit(L, a->ndim, a->dims);
  ln_clamp(a->numel, a->data, lo, hi, o->data);
  if (inplace) lua_settop(L, 1);
  return 1;
}
static int m_clamp(lua_State *L) { return clamp(L, 0, "Tensor:clamp"); }
static int m_clamp_(lua_State *L) { return clamp(L, 1, "Tensor:clamp_"); }

/* a number or tensor argument as a tensor: numbers become a 1-element
** tensor (pushed), which broadcasts like a scalar */
static const ln_Tensor *astensor(lua_State *L, int idx, const char *what, const char *who) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t) return t;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    size_t one = 1;
    t = ln_newtensor_uninit(L, 1, &one);
    t->data[0] = (float)lua_tonumber(L, idx);
    return t;
  }
  ln_error(L, "%s: %s must be a tensor or number, got %s", who, what, ln_typename(L, idx));
}

/* lunet.where(mask, a, b): a where mask is not 0, else b, broadcast
** together (a and b may be numbers) */
static int l_where(lua_State *L) {
  const char *who = "lunet.where";
  const ln_Tensor *ts[3];
  ln_Tensor shape, *o;
  Operand ops[3];
  size_t dims[4];
  if (lua_gettop(L) != 3) ln_error(L, "%s: expected (mask, a, b), got %d arguments", who, lua_gettop(L));
  if (ln_totensor(L, 1) == NULL) ln_error(L, "%s: mask must be a tensor, got %s", who, ln_typename(L, 1));
  ts[0] = ln_totensor(L, 1);
  ts[1] = astensor(L, 2, "a", who);
  ts[2] = astensor(L, 3, "b", who);
  broadcast(L, 3, ts, &shape, ops, who);
  space(&shape, dims);
  o = ln_newtensor_uninit(L, shape.ndim, shape.dims);
  ln_where_bcast(dims, ops[0].data, ops[0].st, ops[1].data, ops[1].st, ops[2].data, ops[2].st, o->data);
  return 1;
}

/* t:masked_fill_(mask, v): v where mask is not 0 (mask broadcasts to t) */
static int m_masked_fill_(lua_State *L) {
  const char *who = "Tensor:masked_fill_";
  ln_Tensor *t = ln_totensor(L, 1), *m = ln_totensor(L, 2), shape;
  const ln_Tensor *ts[2];
  Operand ops[2];
  size_t dims[4], zero[4] = { 0, 0, 0, 0 };
  float v;
  char st[LN_SHAPELEN], sm[LN_SHAPELEN];
  if (t == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  if (m == NULL) ln_error(L, "%s: argument 1 (mask) must be a tensor, got %s", who, ln_typename(L, 2));
  if (lua_type(L, 3) != LUA_TNUMBER) ln_error(L, "%s: argument 2 (value) must be a number, got %s", who,
                                              ln_typename(L, 3));
  ts[0] = t;
  ts[1] = m;
  broadcast(L, 2, ts, &shape, ops, who);
  if (!ln_sameshape(&shape, t))
    ln_error(L, "%s: mask %s does not broadcast to the tensor's %s", who, ln_shapestr(m, sm), ln_shapestr(t, st));
  v = (float)lua_tonumber(L, 3);
  space(&shape, dims);
  ln_where_bcast(dims, unaliased(L, t, m)->data, ops[1].st, &v, zero, t->data, ops[0].st, t->data);
  lua_settop(L, 1);
  return 1;
}

/* ============================================================ reductions */

/* the dim argument at idx: nil (whole tensor, returns 0) or 1..ndim */
static int optdim(lua_State *L, const ln_Tensor *t, int idx, const char *who) {
  int isnum;
  lua_Integer d;
  if (lua_gettop(L) > idx) ln_error(L, "%s: takes at most one argument (dim), got %d", who, lua_gettop(L) - 1);
  if (lua_isnoneornil(L, idx)) return 0;
  d = lua_tointegerx(L, idx, &isnum);
  if (!isnum || lua_type(L, idx) != LUA_TNUMBER || d < 1 || d > t->ndim)
    ln_error(L, "%s: dim must be an integer in 1..%d (the tensor has %d dimensions), got %s", who, t->ndim,
             t->ndim, lua_type(L, idx) == LUA_TNUMBER ? lua_tostring(L, idx) : ln_typename(L, idx));
  return (int)d;
}

enum { R_SUM, R_MEAN, R_STD, R_MIN, R_MAX, R_ARGMIN, R_ARGMAX };

/* the reduction over dimension d (1-based) of t, keeping it with size 1 */
static void reduce_dim(lua_State *L, const ln_Tensor *t, int d, int kind) {
  size_t dims[LN_MAXDIM], outer = 1, inner = 1, n = t->dims[d - 1];
  int i;
  ln_Tensor *o;
  double *acc = NULL;
  for (i = 0; i < d - 1; i++) outer *= t->dims[i];
  for (i = d; i < t->ndim; i++) inner *= t->dims[i];
  memcpy(dims, t->dims, sizeof dims);
  dims[d - 1] = 1;
  if (kind <= R_STD) acc = (double *)lua_newuserdatauv(L, 2 * inner * sizeof(double), 0);
  o = ln_newtensor_uninit(L, t->ndim, dims);
  switch (kind) {
    case R_SUM: case R_MEAN: ln_reduce_sum(outer, n, inner, t->data, kind == R_MEAN, acc, o->data); break;
    case R_STD: ln_reduce_std(outer, n, inner, t->data, acc, o->data); break;
    case R_MIN: case R_MAX: ln_reduce_minmax(outer, n, inner, t->data, kind == R_MAX, o->data); break;
    default: ln_reduce_argminmax(outer, n, inner, t->data, kind == R_ARGMAX, o->data); break;
  }
}

static int reduce(lua_State *L, int kind, const char *who) {
  ln_Tensor *t = ln_totensor(L, 1);
  int d;
  if (t == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  d = optdim(L, t, 2, who);
  if (d > 0) {
    reduce_dim(L, t, d, kind);
    return 1;
  }
  switch (kind) {
    case R_SUM: lua_pushnumber(L, ln_sum(t->numel, t->data)); break;
    case R_MEAN: lua_pushnumber(L, ln_sum(t->numel, t->data) / (double)t->numel); break;
    case R_STD: lua_pushnumber(L, ln_std(t->numel, t->data)); break;
    case R_MIN: lua_pushnumber(L, ln_min(t->numel, t->data)); break;
    default: lua_pushnumber(L, ln_max(t->numel, t->data)); break;
  }
  return 1;
}

static int m_sum(lua_State *L) { return reduce(L, R_SUM, "Tensor:sum"); }
static int m_mean(lua_State *L) { return reduce(L, R_MEAN, "Tensor:mean"); }
static int m_std(lua_State *L) { return reduce(L, R_STD, "Tensor:std"); }
static int m_min(lua_State *L) { return reduce(L, R_MIN, "Tensor:min"); }
static int m_max(lua_State *L) { return reduce(L, R_MAX, "Tensor:max"); }

/* t:argmax(dim) / t:argmin(dim); without dim: per row of a 2-D tensor (a
** 1-D tensor of 1-based columns), the position in a 1-D tensor (a number) */
static int argext(lua_State *L, int max, const char *who) {
  ln_Tensor *t = ln_totensor(L, 1), *o;
  char sa[LN_SHAPELEN];
  int d;
  if (t == NULL) ln_error(L, "%s: expected a tensor before ':', got %s", who, ln_typename(L, 1));
  d = optdim(L, t, 2, who);
  if (d > 0) {
    reduce_dim(L, t, d, max ? R_ARGMAX : R_ARGMIN);
    return 1;
  }
  if (t->ndim == 1) {
    float pos;
    ln_reduce_argminmax(1, t->numel, 1, t->data, max, &pos);
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
  }
  if (t->ndim != 2)
    ln_error(L, "%s: without dim, expected a 1-D or 2-D tensor, got shape %s (pass dim)", who, ln_shapestr(t, sa));
  o = ln_newvector(L, t->dims[0]);
  ln_reduce_argminmax(t->dims[0], t->dims[1], 1, t->data, max, o->data);
  return 1;
}
static int m_argmax(lua_State *L) { return argext(L, 1, "Tensor:argmax"); }
static int m_argmin(lua_State *L) { return argext(L, 0, "Tensor:argmin"); }

/* ============================================================ registration */

static const ln_Method methods[] = {
  {"add_", m_add_, 1}, {"sub_", m_sub_, 1}, {"mul_", m_mul_, 1}, {"div_", m_div_, 1},
  {"pow", m_pow, 1}, {"pow_", m_pow_, 1},
  {"eq", m_eq, 1}, {"ne", m_ne, 1}, {"gt", m_gt, 1}, {"ge", m_ge, 1}, {"lt", m_lt, 1}, {"le", m_le, 1},
  {"eq_", m_eq_, 1}, {"ne_", m_ne_, 1}, {"gt_", m_gt_, 1}, {"ge_", m_ge_, 1}, {"lt_", m_lt_, 1}, {"le_", m_le_, 1},
  {"maximum", m_maximum, 1}, {"minimum", m_minimum, 1}, {"maximum_", m_maximum_, 1}, {"minimum_", m_minimum_, 1},
  {"exp", m_exp, 0}, {"log", m_log, 0}, {"abs", m_abs, 0}, {"sqrt", m_sqrt, 0}, {"tanh", m_tanh, 0}, {"sign", m_sign, 0},
  {"neg", m_neg, 0},
  {"exp_", m_exp_, 0}, {"log_", m_log_, 0}, {"abs_", m_abs_, 0}, {"sqrt_", m_sqrt_, 0}, {"tanh_", m_tanh_, 0},
  {"sign_", m_sign_, 0}, {"neg_", m_neg_, 0},
  {"clamp", m_clamp, 2}, {"clamp_", m_clamp_, 2}, {"masked_fill_", m_masked_fill_, 2},
  {"sum", m_sum, -1}, {"mean", m_mean, -1}, {"std", m_std, -1}, {"min", m_min, -1}, {"max", m_max, -1},
  {"argmax", m_argmax, -1}, {"argmin", m_argmin, -1},
  {NULL, NULL, 0}
};

static const luaL_Reg metamethods[] = {
  {"__add", mm_add}, {"__sub", mm_sub}, {"__mul", mm_mul}, {"__div", mm_div}, {"__pow", mm_pow},
  {"__unm", mm_unm},
  {NULL, NULL}
};

static const luaL_Reg functions[] = {
  {"where", l_where}, {"maximum", l_maximum}, {"minimum", l_minimum},
  {NULL, NULL}
};

/* adds to the Tensor class (ln_open_tensor ran first) and to lunet */
void ln_open_tensor_math(lua_State *L) {
  luaL_getmetatable(L, LN_TENSOR);
  luaL_setfuncs(L, metamethods, 0);
  lua_pop(L, 1);
  ln_addmethods(L, LN_TENSOR, methods);
  luaL_setfuncs(L, functions, 0);
}
