/*
** optimizers.c: lunet.SGD, lunet.Adagrad, lunet.RMSprop and lunet.Adam, the
** book's optimizers (chapter 10).  One ln_Optimizer struct serves all four,
** each with its own metatable "lunet.<Name>".
**
** Per-layer state (momentums, caches) lives on the optimizer, as in Torch's
** optim.adam: user value 1 is a table with weak keys mapping each layer
** userdata to { weight_momentums=, weight_cache=, bias_momentums=,
** bias_cache= } (only the tensors the optimizer uses), created zero-filled
** with the parameters' shapes on the layer's first update.  state(layer)
** returns a copy of it and set_state(layer, t) copies one in, so a Model can
** save and restore training exactly.  A layer written in Lua keeps lists of
** state per parameter instead (optimizers_lua.c).
**
** The per-step scalars (decayed learning rate, Adam's bias corrections) are
** computed here in double; the element loops are the float kernels of
** kernels/optim.c.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet.h"
#include "kernels/optim.h"
#include "optimizers.h"

/* class names by kind, and their metatable names */
const char *const ln_opt_name[] = { "SGD", "Adagrad", "RMSprop", "Adam" };
static const char *const optmeta[] = { "lunet.SGD", "lunet.Adagrad", "lunet.RMSprop", "lunet.Adam" };

static const char *const stkey[ST_N] = {
  "weight_momentums", "weight_cache", "bias_momentums", "bias_cache"
};

/* ============================================================ helpers */

ln_Optimizer *ln_tooptimizer(lua_State *L, int idx) {
  int k;
  for (k = 0; k < 4; k++) {
    void *p = luaL_testudata(L, idx, optmeta[k]);
    if (p) return (ln_Optimizer *)p;
  }
  return NULL;
}

/* the optimizer at idx (any kind), raising a clear error otherwise */
static ln_Optimizer *checkopt(lua_State *L, int idx, const char *method) {
  ln_Optimizer *o = ln_tooptimizer(L, idx);
  if (o == NULL)
    ln_error(L, "optimizer:%s: self must be an optimizer (use ':'), got %s", method, ln_typename(L, idx));
  return o;
}

/* "Adam:update_params" into buf */
static const char *whostr(const ln_Optimizer *o, const char *method, char *buf, size_t n) {
  snprintf(buf, n, "%s:%s", ln_opt_name[o->kind], method);
  return buf;
}

/* the shortest of %.15g, %.16g, %.17g that reads back as v (Python's
** repr); "nan", "inf", "-inf" on every platform */
static void fmtnum(double v, char *buf, size_t n) {
  int p;
  if (v != v) { snprintf(buf, n, "nan"); return; }
  if (isinf(v)) { snprintf(buf, n, v > 0 ? "inf" : "-inf"); return; }
  for (p = 15; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* whether slot s is used by this optimizer */
int ln_opt_uses(const ln_Optimizer *o, int s) {
  switch (o->kind) {
    case LN_SGD: return o->momentum != 0 && (s == ST_WM || s == ST_BM);
    case LN_ADAGRAD: case LN_RMSPROP: return s == ST_WC || s == ST_BC;
    case LN_ADAM: return 1;
  }
  return 0;
}

/* "weight_momentums, bias_momentums" (the slots this optimizer keeps) */
static const char *slotlist(const ln_Optimizer *o, char *buf, size_t n) {
  int s;
  buf[0] = '\0';
  for (s = 0; s < ST_N; s++)
    if (ln_opt_uses(o, s)) {
      if (buf[0]) strncat(buf, ", ", n - strlen(buf) - 1);
      strncat(buf, stkey[s], n - strlen(buf) - 1);
    }
  if (!buf[0]) snprintf(buf, n, "nothing");
  return buf;
}

/* The layer at idx and its parameters.  Raises (prefixed by who) unless it
** is a layer with weights and biases; grads also requires dweights/dbiases
** of the parameters' shapes.  pdesc(p) gives "Dense(2 -> 3)" for messages
** (made only then: a training step checks every layer's parameters). */
typedef struct Params {
  ln_Layer *layer;
  ln_Tensor *w, *b, *dw, *db;
  char desc[128];
} Params;

static const char *pdesc(Params *p) {
  p->desc[0] = '\0';
  if (p->layer->cls->describe) p->layer->cls->describe(p->layer, p->desc, sizeof p->desc);
  if (!p->desc[0]) snprintf(p->desc, sizeof p->desc, "%s", p->layer->cls->name);
  return p->desc;
}

static void checkparams(lua_State *L, int idx, int grads, const char *who, Params *p) {
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN];
  p->layer = ln_tolayer(L, idx);
  if (p->layer == NULL)
    ln_error(L, "%s: expected a layer, got %s", who, ln_typename(L, idx));
  p->w = p->b = p->dw = p->db = NULL;
  if (p->layer->cls->trainable) {
    p->w = ln_getuv(L, idx, LN_UV_WEIGHTS);
    p->b = ln_getuv(L, idx, LN_UV_BIASES);
  }
  if (p->w == NULL || p->b == NULL)
    ln_error(L, "%s: layer %s has no parameters to update", who, pdesc(p));
  if (!grads) return;
  p->dw = ln_getuv(L, idx, LN_UV_DWEIGHTS);
  p->db = ln_getuv(L, idx, LN_UV_DBIASES);
  if (p->dw == NULL || p->db == NULL)
    ln_error(L, "%s: layer %s has no gradients yet (call backward first)", who, pdesc(p));
  if (!ln_sameshape(p->dw, p->w))
    ln_error(L, "%s: layer %s: dweights are %s but weights are %s", who, pdesc(p),
             ln_shapestr(p->dw, s1), ln_shapestr(p->w, s2));
  if (!ln_sameshape(p->db, p->b))
    ln_error(L, "%s: layer %s: dbiases are %s but biases are %s", who, pdesc(p),
             ln_shapestr(p->db, s1), ln_shapestr(p->b, s2));
}

/* the parameter tensor that state slot s mirrors */
static const ln_Tensor *slotparam(const Params *p, int s) {
  return (s == ST_WM || s == ST_WC) ? p->w : p->b;
}

/* push a copy of tensor t */
ln_Tensor *ln_opt_pushcopy(lua_State *L, const ln_Tensor *t) {
  size_t d[LN_MAXDIM];
  ln_Tensor *c;
  memcpy(d, t->dims, sizeof d);
  c = ln_newtensor_uninit(L, t->ndim, d);
  memcpy(c->data, t->data, t->numel * sizeof(float));
  return c;
}

/* ================================================== the protocol */

void ln_optimizer_pre(ln_Optimizer *o) {
  if (o->decay != 0)
    o->current_learning_rate = o->learning_rate * (1.0 / (1.0 + o->decay * (double)o->iterations));
}

/* the counter stops at LN_MAX_ITERATIONS (2^53, where a double still holds
** it exactly; years of steps away), so it never overflows and every value
** it takes saves and loads */
void ln_optimizer_post(ln_Optimizer *o) {
  if (o->iterations < LN_MAX_ITERATIONS) o->iterations += 1;
}

void ln_optimizer_refresh(const ln_Optimizer *o, ln_Update u[2]) {
  u[0].lr = u[1].lr = (float)o->current_learning_rate;
  if (o->kind == LN_ADAM) {
    double t = (double)o->iterations + 1.0;
    u[0].c1 = u[1].c1 = (float)(1.0 - pow(o->beta_1, t));
    u[0].c2 = u[1].c2 = (float)(1.0 - pow(o->beta_2, t));
  }
}

/* an update's hyperparameters (the step's values come from ln_optimizer_refresh;
** n, g, w and the state are the caller's to set) */
void ln_opt_initupdate(const ln_Optimizer *o, ln_Update *u) {
  memset(u, 0, sizeof *u);
  u->kind = o->kind;
  u->eps = (float)o->epsilon;
  u->mu = (float)o->momentum;
  u->rho = (float)o->rho;
  u->a1 = (float)(1.0 - (o->kind == LN_RMSPROP ? o->rho : o->beta_1));
  if (o->kind == LN_ADAM) {
    u->b1 = (float)o->beta_1;
    u->b2 = (float)o->beta_2;
    u->a2 = (float)(1.0 - o->beta_2);
  }
  u->plain = o->kind == LN_SGD && o->momentum == 0;
}

void ln_optimizer_prepare(lua_State *L, int opt, int layer, const char *who, ln_Update u[2]) {
  ln_Optimizer *o;
  ln_Tensor *st[ST_N];
  Params p;
  int s, top = lua_gettop(L);
  char s1[LN_SHAPELEN], s2[LN_SHAPELEN];
  opt = lua_absindex(L, opt);
  layer = lua_absindex(L, layer);
  o = ln_tooptimizer(L, opt);
  if (o == NULL) ln_error(L, "%s: expected an optimizer, got %s", who, ln_typename(L, opt));
  checkparams(L, layer, 1, who, &p);
  ln_opt_initupdate(o, &u[0]); /* the weights' update; the biases' differs only in n, g and w */
  u[1] = u[0];
  ln_optimizer_refresh(o, u);
  u[0].n = p.w->numel;
  u[0].g = p.dw->data;
  u[0].w = p.w->data;
  u[1].n = p.b->numel;
  u[1].g = p.db->data;
  u[1].w = p.b->data;
  if (u[0].plain) return; /* the book keeps no state for SGD without momentum */
  /* find or create this layer's state table, then its tensors */
  lua_getiuservalue(L, opt, 1);                      /* states */
  lua_pushvalue(L, layer);
  if (lua_rawget(L, -2) != LUA_TTABLE) {             /* states, st|nil */
    lua_pop(L, 1);
    lua_createtable(L, 0, ST_N);                     /* states, st */
    lua_pushvalue(L, layer);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);                               /* states[layer] = st */
  }
  for (s = 0; s < ST_N; s++) {
    st[s] = NULL;
    if (!ln_opt_uses(o, s)) continue;
    lua_getfield(L, -1, stkey[s]);                   /* states, st, t|nil */
    st[s] = ln_totensor(L, -1);
    lua_pop(L, 1);
    if (st[s] == NULL) {
      size_t d[LN_MAXDIM];
      const ln_Tensor *like = slotparam(&p, s);
      memcpy(d, like->dims, sizeof d);
      st[s] = ln_newtensor(L, like->ndim, d);        /* states, st, zeros */
      lua_setfield(L, -2, stkey[s]);
    } else if (!ln_sameshape(st[s], slotparam(&p, s))) {
      ln_error(L, "%s: layer %s: %s state is %s but the parameters are %s", who, pdesc(&p),
               stkey[s], ln_shapestr(st[s], s1), ln_shapestr(slotparam(&p, s), s2));
    }
  }
  lua_settop(L, top); /* the state table keeps the tensors alive */
  u[0].s1 = st[ST_WM] ? st[ST_WM]->data : st[ST_WC]->data;
  u[0].s2 = st[ST_WM] && st[ST_WC] ? st[ST_WC]->data : NULL;
  u[1].s1 = st[ST_BM] ? st[ST_BM]->data : st[ST_BC]->data;
  u[1].s2 = st[ST_BM] && st[ST_BC] ? st[ST_BC]->data : NULL;
}


/* finite values, and >= 0 for a cache (sums of squares), or raise */
void ln_opt_checkstate(lua_State *L, const ln_Tensor *t, int cache, const char *who, const char *what) {
  size_t i;
  for (i = 0; i < t->numel; i++)
    if (!isfinite(t->data[i]) || (cache && t->data[i] < 0))
      ln_error(L, "%s: %s[%zu] is %g: %s", who, what, i + 1, (double)t->data[i],
               cache ? "a cache holds sums of squares, finite and >= 0" : "momentums must be finite");
}

void ln_optimizer_update(lua_State *L, int opt, int layer, const char *who) {
  ln_Update u[2];
  if (ln_tolayer(L, layer) == NULL && ln_islualayer(L, layer)) {
    const ln_Optimizer *o = ln_tooptimizer(L, opt);
    if (o == NULL) ln_error(L, "%s: expected an optimizer, got %s", who, ln_typename(L, opt));
    ln_opt_lua_update(L, o, lua_absindex(L, opt), lua_absindex(L, layer), who);
    return;
  }
  ln_optimizer_prepare(L, opt, layer, who, u);
  ln_update_run(&u[0], 0, u[0].n);
  ln_update_run(&u[1], 0, u[1].n);
}

/* ============================================================ methods */

/* opt:pre_update_params(): decay the learning rate */
static int m_pre(lua_State *L) {
  ln_optimizer_pre(checkopt(L, 1, "pre_update_params"));
  return 0;
}

/* opt:update_params(layer): one step on the layer's weights and biases */
static int m_update(lua_State *L) {
  char who[64];
  ln_Optimizer *o = checkopt(L, 1, "update_params");
  ln_optimizer_update(L, 1, 2, whostr(o, "update_params", who, sizeof who));
  return 0;
}

/* opt:post_update_params(): count the step */
static int m_post(lua_State *L) {
  ln_optimizer_post(checkopt(L, 1, "post_update_params"));
  return 0;
}

/* opt:state(layer): a copy of the layer's state table, or nil */
static int m_state(lua_State *L) {
  char who[64];
  Params p;
  int s;
  ln_Optimizer *o = checkopt(L, 1, "state");
  if (ln_tolayer(L, 2) == NULL && ln_islualayer(L, 2)) return ln_opt_lua_state(L, o);
  checkparams(L, 2, 0, whostr(o, "state", who, sizeof who), &p);
  lua_getiuservalue(L, 1, 1);                        /* states */
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TTABLE) {             /* states, st|nil */
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, ST_N);                       /* states, st, copy */
  for (s = 0; s < ST_N; s++) {
    ln_Tensor *t;
    if (!ln_opt_uses(o, s)) continue;
    lua_getfield(L, -2, stkey[s]);                   /* states, st, copy, t */
    t = ln_totensor(L, -1);
    lua_pop(L, 1);
    if (t == NULL) continue;
    ln_opt_pushcopy(L, t);
    lua_setfield(L, -2, stkey[s]);
  }
  return 1;
}

/* opt:set_state(layer, t): copy the tensors of t in as the layer's state
** (nil clears it); every slot the optimizer keeps must be present with the
** parameter's shape, and nothing else.  Checks all before changing any. */
static int m_set_state(lua_State *L) {
  char who[64], s1[LN_SHAPELEN], s2[LN_SHAPELEN], list[128];
  Params p;
  int s, any = 0;
  ln_Optimizer *o = checkopt(L, 1, "set_state");
  whostr(o, "set_state", who, sizeof who);
  if (ln_tolayer(L, 2) == NULL && ln_islualayer(L, 2)) {
    lua_settop(L, 3);
    if (!lua_isnil(L, 3) && !lua_istable(L, 3))
      ln_error(L, "%s: argument 2 must be a table of tensor lists, got %s", who, ln_typename(L, 3));
    if (!lua_isnil(L, 3)) return ln_opt_lua_set_state(L, o, who);
  } else checkparams(L, 2, 0, who, &p);
  if (lua_isnoneornil(L, 3)) {
    lua_getiuservalue(L, 1, 1);                      /* states */
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    return 0;
  }
  if (!lua_istable(L, 3))
    ln_error(L, "%s: argument 2 must be a table of tensors, got %s", who, ln_typename(L, 3));
  lua_pushnil(L);
  while (lua_next(L, 3)) {                           /* key, value */
    int ok = 0;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING)
      for (s = 0; s < ST_N; s++)
        if (ln_opt_uses(o, s) && strcmp(lua_tostring(L, -1), stkey[s]) == 0) ok = 1;
    if (!ok) {
      const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1);
      ln_error(L, "%s: unexpected key '%s' (this %s keeps: %s)", who, k, ln_opt_name[o->kind],
               slotlist(o, list, sizeof list));
    }
  }
  for (s = 0; s < ST_N; s++) {
    ln_Tensor *t;
    if (!ln_opt_uses(o, s)) continue;
    any = 1;
    lua_getfield(L, 3, stkey[s]);
    t = ln_totensor(L, -1);
    if (t == NULL)
      ln_error(L, "%s: %s must be a tensor, got %s", who, stkey[s], ln_typename(L, -1));
    if (!ln_sameshape(t, slotparam(&p, s)))
      ln_error(L, "%s: %s is %s but layer %s has %s of %s", who, stkey[s], ln_shapestr(t, s1),
               pdesc(&p), (s == ST_WM || s == ST_WC) ? "weights" : "biases",
               ln_shapestr(slotparam(&p, s), s2));
    ln_opt_checkstate(L, t, s == ST_WC || s == ST_BC, who, stkey[s]); /* values a step can start from */
    lua_pop(L, 1);
  }
  if (!any) return 0; /* SGD without momentum keeps nothing */
  lua_getiuservalue(L, 1, 1);                        /* states */
  lua_pushvalue(L, 2);
  lua_createtable(L, 0, ST_N);                       /* states, layer, st */
  for (s = 0; s < ST_N; s++) {
    if (!ln_opt_uses(o, s)) continue;
    lua_getfield(L, 3, stkey[s]);
    ln_opt_pushcopy(L, ln_totensor(L, -1));                 /* states, layer, st, t, copy */
    lua_setfield(L, -3, stkey[s]);
    lua_pop(L, 1);
  }
  lua_rawset(L, -3);                                 /* states[layer] = st */
  return 0;
}

/* ======================================================== metamethods */

/* __tostring: "Adam(learning_rate=0.001, decay=0, epsilon=1e-07, ...)" */
static int mm_tostring(lua_State *L) {
  ln_Optimizer *o = checkopt(L, 1, "__tostring");
  char lr[32], dc[32], a[32], b[32], c[32], buf[256];
  fmtnum(o->learning_rate, lr, sizeof lr);
  fmtnum(o->decay, dc, sizeof dc);
  switch (o->kind) {
    case LN_SGD:
      fmtnum(o->momentum, a, sizeof a);
      snprintf(buf, sizeof buf, "SGD(learning_rate=%s, decay=%s, momentum=%s)", lr, dc, a);
      break;
    case LN_ADAGRAD:
      fmtnum(o->epsilon, a, sizeof a);
      snprintf(buf, sizeof buf, "Adagrad(learning_rate=%s, decay=%s, epsilon=%s)", lr, dc, a);
      break;
    case LN_RMSPROP:
      fmtnum(o->epsilon, a, sizeof a);
      fmtnum(o->rho, b, sizeof b);
      snprintf(buf, sizeof buf, "RMSprop(learning_rate=%s, decay=%s, epsilon=%s, rho=%s)", lr, dc, a, b);
      break;
    default:
      fmtnum(o->epsilon, a, sizeof a);
      fmtnum(o->beta_1, b, sizeof b);
      fmtnum(o->beta_2, c, sizeof c);
      snprintf(buf, sizeof buf, "Adam(learning_rate=%s, decay=%s, epsilon=%s, beta_1=%s, beta_2=%s)",
               lr, dc, a, b, c);
      break;
  }
  lua_pushstring(L, buf);
  return 1;
}

/* field reads (after the methods): the hyperparameters that apply */
static int getfield(lua_State *L) {
  ln_Optimizer *o = checkopt(L, 1, "__index");
  int sgd = o->kind == LN_SGD, rms = o->kind == LN_RMSPROP, adam = o->kind == LN_ADAM;
  const char *k;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tostring(L, 2);
  if (strcmp(k, "iterations") == 0) lua_pushinteger(L, o->iterations);
  else if (strcmp(k, "current_learning_rate") == 0) lua_pushnumber(L, o->current_learning_rate);
  else if (strcmp(k, "learning_rate") == 0) lua_pushnumber(L, o->learning_rate);
  else if (strcmp(k, "decay") == 0) lua_pushnumber(L, o->decay);
  else if (!sgd && strcmp(k, "epsilon") == 0) lua_pushnumber(L, o->epsilon);
  else if (sgd && strcmp(k, "momentum") == 0) lua_pushnumber(L, o->momentum);
  else if (rms && strcmp(k, "rho") == 0) lua_pushnumber(L, o->rho);
  else if (adam && strcmp(k, "beta_1") == 0) lua_pushnumber(L, o->beta_1);
  else if (adam && strcmp(k, "beta_2") == 0) lua_pushnumber(L, o->beta_2);
  else return 0;
  return 1;
}

/* __newindex: iterations, learning_rate and current_learning_rate only */
static int mm_newindex(lua_State *L) {
  ln_Optimizer *o = checkopt(L, 1, "__newindex");
  const char *name = ln_opt_name[o->kind];
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (k && strcmp(k, "iterations") == 0) {
    int isnum;
    lua_Integer v = lua_tointegerx(L, 3, &isnum);
    if (!isnum || v < 0 || v > LN_MAX_ITERATIONS)
      ln_error(L, "%s: iterations must be an integer in 0..2^53, got %s", name,
               isnum ? lua_tostring(L, 3) : lua_type(L, 3) == LUA_TNUMBER ? "a non-integer number"
                                                                         : luaL_typename(L, 3));
    o->iterations = v;
  } else if (k && (strcmp(k, "learning_rate") == 0 || strcmp(k, "current_learning_rate") == 0)) {
    lua_Number v;
    char vs[32];
    if (lua_type(L, 3) != LUA_TNUMBER)
      ln_error(L, "%s: %s must be a number, got %s", name, k, luaL_typename(L, 3));
    v = lua_tonumber(L, 3);
    fmtnum(v, vs, sizeof vs);
    if (!(v >= 0) || !isfinite(v))
      ln_error(L, "%s: %s must be a finite number >= 0, got %s", name, k, vs);
    if (k[0] == 'l') o->learning_rate = v; else o->current_learning_rate = v;
  } else {
    ln_error(L, "%s: cannot assign field '%s' (only iterations, learning_rate and "
             "current_learning_rate can be set)", name, k ? k : luaL_typename(L, 2));
  }
  return 0;
}

/* ======================================================= constructors */

/* option `key` of the table at 1, a number checked against [lo, hi) or
** [lo, hi] (closed_hi), or > lo (open_lo) */
static double hyper(lua_State *L, const char *who, const char *key, double def,
                    double lo, double hi, int open_lo, int closed_hi) {
  double v = ln_optnumber(L, 1, key, def, who);
  int ok = isfinite(v) && (open_lo ? v > lo : v >= lo) && (closed_hi ? v <= hi : v < hi);
  if (!ok) {
    char lo_s[32], hi_s[32], v_s[32];
    fmtnum(lo, lo_s, sizeof lo_s);
    fmtnum(hi, hi_s, sizeof hi_s);
    fmtnum(v, v_s, sizeof v_s);
    if (isinf(hi))
      ln_error(L, "%s: %s must be a finite number %s %s, got %s", who, key, open_lo ? ">" : ">=", lo_s, v_s);
    ln_error(L, "%s: %s must be in %s%s, %s%s, got %s", who, key, open_lo ? "(" : "[", lo_s, hi_s,
             closed_hi ? "]" : ")", v_s);
  }
  return v;
}

/* push a new optimizer of kind k from the options table at 1 */
static int newopt(lua_State *L, ln_OptKind k) {
  static const char *const opts[4][6] = {
    { "learning_rate", "decay", "momentum", NULL, NULL, NULL },
    { "learning_rate", "decay", "epsilon", NULL, NULL, NULL },
    { "learning_rate", "decay", "epsilon", "rho", NULL, NULL },
    { "learning_rate", "decay", "epsilon", "beta_1", "beta_2", NULL },
  };
  char who[32];
  ln_Optimizer *o, v;
  snprintf(who, sizeof who, "lunet.%s", ln_opt_name[k]);
  if (lua_gettop(L) > 1)
    ln_error(L, "%s: expected one options table, got %d arguments", who, lua_gettop(L));
  ln_checkoptions(L, 1, who, opts[k]);
  memset(&v, 0, sizeof v);
  v.kind = k;
  v.learning_rate = hyper(L, who, "learning_rate", (k == LN_SGD || k == LN_ADAGRAD) ? 1.0 : 0.001,
                          0, HUGE_VAL, 0, 0);
  v.decay = hyper(L, who, "decay", 0, 0, HUGE_VAL, 0, 0);
  if (k == LN_SGD) v.momentum = hyper(L, who, "momentum", 0, 0, 1, 0, 0);
  else v.epsilon = hyper(L, who, "epsilon", 1e-7, 0, HUGE_VAL, 1, 0);
  if (k == LN_RMSPROP) v.rho = hyper(L, who, "rho", 0.9, 0, 1, 0, 0);
  if (k == LN_ADAM) {
    v.beta_1 = hyper(L, who, "beta_1", 0.9, 0, 1, 0, 0);
    v.beta_2 = hyper(L, who, "beta_2", 0.999, 0, 1, 0, 0);
  }
  v.current_learning_rate = v.learning_rate;
  v.iterations = 0;
  o = (ln_Optimizer *)lua_newuserdatauv(L, sizeof *o, 1);  /* opt */
  *o = v;
  luaL_setmetatable(L, optmeta[k]);
  lua_newtable(L);                                          /* opt, states */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);                                  /* weak keys */
  lua_setiuservalue(L, -2, 1);                              /* opt */
  return 1;
}

static int l_sgd(lua_State *L) { return newopt(L, LN_SGD); }
static int l_adagrad(lua_State *L) { return newopt(L, LN_ADAGRAD); }
static int l_rmsprop(lua_State *L) { return newopt(L, LN_RMSPROP); }
static int l_adam(lua_State *L) { return newopt(L, LN_ADAM); }

static const ln_Method methods[] = {
  {"pre_update_params", m_pre, 0},
  {"update_params", m_update, 1},
  {"post_update_params", m_post, 0},
  {"state", m_state, 1},
  {"set_state", m_set_state, 2},
  {NULL, NULL, 0}
};

static const luaL_Reg metamethods[] = {
  { "__tostring", mm_tostring },
  { "__newindex", mm_newindex },
  { NULL, NULL }
};

void ln_open_optimizers(lua_State *L) {
  static const lua_CFunction ctor[4] = { l_sgd, l_adagrad, l_rmsprop, l_adam };
  int k;
  for (k = 0; k < 4; k++) {
    ln_newclass(L, optmeta[k], methods, metamethods, getfield);  /* lunet, mt */
    lua_pop(L, 1);
    lua_pushcfunction(L, ctor[k]);
    lua_setfield(L, -2, ln_opt_name[k]);
  }
}
