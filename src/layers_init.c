/*
** layers_init.c: what the layers with weights share: the initializers of
** their weights (the `init` option, API.md "Convolutions") and their L1/L2
** regularizers; and the sample-shape text of shape errors.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "layers.h"
#include "kernels/nn.h"

static const char *const initnames[] = {
  "book", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform", NULL
};

const char *ln_initname(ln_Init init) {
  return initnames[init];
}

ln_Init ln_optinit(lua_State *L, int idx, ln_Init def, const char *who) {
  int i;
  const char *s;
  if (lua_isnoneornil(L, idx)) return def;
  if (lua_getfield(L, idx, "init") == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    ln_error(L, "%s: option 'init' must be a string (\"he_normal\", ...), got %s", who, ln_typename(L, -1));
  s = lua_tostring(L, -1);
  for (i = 0; initnames[i]; i++) {
    if (strcmp(s, initnames[i]) == 0) {
      lua_pop(L, 1);
      return (ln_Init)i;
    }
  }
  ln_error(L, "%s: option 'init' must be one of \"book\", \"he_normal\", \"he_uniform\", \"glorot_normal\", "
           "\"glorot_uniform\", got \"%s\"", who, s);
  return def;
}

/* weights drawn from the state's generator: "book" 0.01 * N(0, 1) (the
** book's Dense); he N(0, 2 / fan_in) or U(+-sqrt(6 / fan_in)); glorot
** N(0, 2 / (fan_in + fan_out)) or U(+-sqrt(6 / (fan_in + fan_out))) */
void ln_initweights(lua_State *L, ln_Init init, size_t fan_in, size_t fan_out, size_t n, float *w) {
  ln_Rng *r = ln_getrng(L);
  double fan = init == LN_INIT_GLOROT_NORMAL || init == LN_INIT_GLOROT_UNIFORM ? (double)fan_in + (double)fan_out
                                                                               : (double)fan_in;
  size_t i;
  if (init == LN_INIT_BOOK) {
    for (i = 0; i < n; i++) w[i] = 0.01f * (float)ln_rng_normal(r);
  } else if (init == LN_INIT_HE_NORMAL || init == LN_INIT_GLOROT_NORMAL) {
    double sd = sqrt(2.0 / fan);
    for (i = 0; i < n; i++) w[i] = (float)(sd * ln_rng_normal(r));
  } else {
    double a = sqrt(6.0 / fan);
    for (i = 0; i < n; i++) w[i] = (float)(a * (2.0 * ln_rng_uniform(r) - 1.0));
  }
}

/* a regularizer option: finite and >= 0 */
static double checkreg(lua_State *L, int idx, const char *key, const char *who) {
  double v = ln_optnumber(L, idx, key, 0.0, who);
  if (!(v >= 0.0) || !isfinite(v))
    ln_error(L, "%s: option '%s' must be a finite number >= 0, got %g", who, key, v);
  return v;
}

void ln_checkregs(lua_State *L, int idx, ln_Trainable *t, const char *who) {
  memset(t, 0, sizeof *t);
  t->weight_regularizer_l1 = checkreg(L, idx, "weight_regularizer_l1", who);
  t->weight_regularizer_l2 = checkreg(L, idx, "weight_regularizer_l2", who);
  t->bias_regularizer_l1 = checkreg(L, idx, "bias_regularizer_l1", who);
  t->bias_regularizer_l2 = checkreg(L, idx, "bias_regularizer_l2", who);
}

void ln_layer_reg_grad(lua_State *L, int self) {
  const ln_Trainable *t = (const ln_Trainable *)ln_tolayer(L, self);
  ln_Tensor *w = ln_getuv(L, self, LN_UV_WEIGHTS), *b = ln_getuv(L, self, LN_UV_BIASES);
  ln_Tensor *dw = ln_getuv(L, self, LN_UV_DWEIGHTS), *db = ln_getuv(L, self, LN_UV_DBIASES);
  ln_nn_reg_grad(w->numel, w->data, (float)t->weight_regularizer_l1, (float)t->weight_regularizer_l2, dw->data);
  ln_nn_reg_grad(b->numel, b->data, (float)t->bias_regularizer_l1, (float)t->bias_regularizer_l2, db->data);
}

const char *ln_sampleshape(int nd, const size_t *d, char *buf) {
  int i, at = 0;
  buf[0] = 0;
  if (nd <= 0) return strcpy(buf, "scalars");
  for (i = 0; i < nd && at < LN_SHAPELEN - 24; i++)
    at += snprintf(buf + at, (size_t)(LN_SHAPELEN - at), i ? "x%zu" : "%zu", d[i]);
  return buf;
}

int ln_pushpair(lua_State *L, size_t a, size_t b) {
  lua_createtable(L, 2, 0);
  lua_pushinteger(L, (lua_Integer)a);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, (lua_Integer)b);
  lua_rawseti(L, -2, 2);
  return 1;
}

/* a size or a { h, w } pair at idx (a number argument, or an option when
** key is not NULL: absent gives def, def); zero allowed when allow0 */
void ln_checkpair(lua_State *L, int idx, const char *key, const char *what, size_t def, int allow0,
                      size_t *a, size_t *b, const char *who) {
  int t, i;
  size_t v[2];
  idx = lua_absindex(L, idx);
  if (key) lua_getfield(L, idx, key);
  else lua_pushvalue(L, idx);
  t = lua_type(L, -1);
  if (t == LUA_TNIL && key) {
    *a = *b = def;
    lua_pop(L, 1);
    return;
  }
  for (i = 0; i < 2; i++) {
    lua_Integer x;
    int isnum;
    if (t == LUA_TTABLE) {
      if (lua_rawlen(L, -1) != 2) ln_error(L, "%s: %s must be a number or a { h, w } pair", who, what);
      lua_rawgeti(L, -1, i + 1);
    } else lua_pushvalue(L, -1);
    x = lua_tointegerx(L, -1, &isnum);
    if (!isnum || x < (allow0 ? 0 : 1) || (unsigned long long)x > LN_MAXNUMEL)
      ln_error(L, "%s: %s must be %s integer or a { h, w } pair of them, got %s", who, what,
               allow0 ? "a non-negative" : "a positive", lua_type(L, -1) == LUA_TNUMBER ? "a bad number"
               : ln_typename(L, -1));
    v[i] = (size_t)x;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  *a = v[0];
  *b = v[1];
}

