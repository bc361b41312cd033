/*
** losses.c: the book's losses (chapters 5, 9, 14, 16, 17) as userdata:
** CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError,
** MeanAbsoluteError and the combined SoftmaxCategoricalCrossentropy.
**
** Every loss is a userdata starting with an ln_Loss, with user values
**   1 per-sample losses (1-D, one per row), 2 dinputs,
**   3 the remembered trainable layers (a Lua table),
**   4 the softmax output (SoftmaxCategoricalCrossentropy only).
** Arguments are checked before any buffer is touched; the numeric loops
** are in kernels/loss.c.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lunet.h"
#include "kernels/loss.h"
#include "engine/op.h"

enum { UV_LOSSES = 1, UV_DINPUTS, UV_LAYERS, UV_OUTPUT, LOSS_NUV = UV_OUTPUT };

/* metatable field holding the class (light userdata) of a loss */
#define LOSSCLASS_KEY "__lossclass"
#define WHOLEN 96

/* A loss class and what the bindings need beyond ln_LossClass: the
** metatable name and the argument check run before buffers are resized.
** cls comes first, so ln_Loss.cls points at the whole LossKind. */
typedef struct LossKind {
  ln_LossClass cls;
  const char *mtname;
  /* raises unless y fits pred (named pname in messages); 1 = sparse labels */
  int (*check)(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, const char *pname, const char *who);
} LossKind;

/* ============================================================ checks */

/* the tensor argument at idx, raising with its name otherwise */
static ln_Tensor *argtensor(lua_State *L, int idx, const char *name, const char *who) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t == NULL) ln_error(L, "%s: %s must be a lunet.Tensor, got %s", who, name, ln_typename(L, idx));
  return t;
}

/* cross-entropy: pred is 2-D (samples x classes); y is one label 1..K per
** row (1-D) or a one-hot matrix of pred's shape; returns 1 for labels */
static int check_cce(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, const char *pname,
                     const char *who) {
  char sp[LN_SHAPELEN], sy[LN_SHAPELEN];
  size_t rows = pred->dims[0], cols, bad;
  if (pred->ndim != 2)
    ln_error(L, "%s: %s must be 2-D (samples x classes), got %s", who, pname, ln_shapestr(pred, sp));
  cols = pred->dims[1];
  if (y->ndim == 1) {
    if (y->dims[0] != rows)
      ln_error(L, "%s: y_true has %zu labels but %s has %zu rows", who, y->dims[0], pname, rows);
    bad = ln_labels_check(rows, y->data, cols);
    if (bad < rows) {
      float v = y->data[bad];
      if (v == floorf(v))
        ln_error(L, "%s: label %g at row %zu is outside 1..%zu", who, (double)v, bad + 1, cols);
      ln_error(L, "%s: label %g at row %zu is not an integer", who, (double)v, bad + 1);
    }
    return 1;
  }
  if (!ln_sameshape(pred, y))
    ln_error(L, "%s: %s is %s but y_true is %s (expected %zu class labels or a one-hot %s matrix)", who,
             pname, ln_shapestr(pred, sp), ln_shapestr(y, sy), rows, sp);
  return 0;
}

/* binary/regression: pred is 1-D (N, read as N x 1) or 2-D; y has the same
** rows and columns (a 1-D y goes with an N x 1 pred and back) */
static int check_targets(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, const char *pname,
                         const char *who) {
  char sp[LN_SHAPELEN], sy[LN_SHAPELEN];
  if (pred->ndim > 2)
    ln_error(L, "%s: %s must be 1-D or 2-D, got %s", who, pname, ln_shapestr(pred, sp));
  if (y->ndim > 2 || y->dims[0] != pred->dims[0] || ln_cols(y) != ln_cols(pred))
    ln_error(L, "%s: %s is %s but y_true is %s", who, pname, ln_shapestr(pred, sp), ln_shapestr(y, sy));
  return 0;
}

/* ==================================================== class functions */

/* CategoricalCrossentropy forward: -log of the clipped correct confidence */
static void cce_forward(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, float *out, const char *who) {
  if (check_cce(L, pred, y, "y_pred", who))
    ln_cce_sparse_forward(pred->dims[0], pred->dims[1], pred->data, y->data, out);
  else
    ln_cce_onehot_forward(pred->dims[0], pred->dims[1], pred->data, y->data, out);
}

/* CategoricalCrossentropy backward: -y_true / dvalues / samples */
static void cce_backward(lua_State *L, const ln_Tensor *dv, const ln_Tensor *y, ln_Tensor *d, const char *who) {
  if (check_cce(L, dv, y, "dvalues", who))
    ln_cce_sparse_backward(dv->dims[0], dv->dims[1], dv->data, y->data, dv->dims[0], d->data);
  else
    ln_cce_onehot_backward(dv->dims[0], dv->dims[1], dv->data, y->data, dv->dims[0], d->data);
}

/* combined softmax + CCE backward: (dvalues - onehot) / samples */
static void softmax_cce_backward(lua_State *L, const ln_Tensor *dv, const ln_Tensor *y, ln_Tensor *d,
                                 const char *who) {
  if (check_cce(L, dv, y, "dvalues", who))
    ln_softmax_cce_grad_sparse(dv->dims[0], dv->dims[1], dv->data, y->data, dv->dims[0], d->data);
  else
    ln_softmax_cce_grad_onehot(dv->dims[0], dv->dims[1], dv->data, y->data, dv->dims[0], d->data);
}

/* the element-wise losses share their checks; only the kernels differ */
#define TARGET_LOSS(pre, fwd, bwd)                                                                       \
  static void pre##_forward(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, float *out,         \
                            const char *who) {                                                           \
    check_targets(L, pred, y, "y_pred", who);                                                           \
    fwd(pred->dims[0], ln_cols(pred), pred->data, y->data, out);                                        \
  }                                                                                                      \
  static void pre##_backward(lua_State *L, const ln_Tensor *dv, const ln_Tensor *y, ln_Tensor *d,        \
                             const char *who) {                                                          \
    check_targets(L, dv, y, "dvalues", who);                                                            \
    bwd(dv->dims[0], ln_cols(dv), dv->data, y->data, dv->dims[0], d->data);                             \
  }

/* binary cross-entropy's targets must be probabilities: labels 1..2 (the
** natural port of spiral_data(100, 2)) gave 0.693 and no error */
static void check_probabilities(lua_State *L, const ln_Tensor *y, const char *who) {
  size_t i, cols = ln_cols(y);
  for (i = 0; i < y->numel; i++) {
    float v = y->data[i];
    if (!(v >= 0.0f && v <= 1.0f))
      ln_error(L, "%s: y_true %g at row %zu is outside [0, 1] (binary cross-entropy takes 0/1 targets or "
               "probabilities; for labels 1..2 pass y - 1)", who, (double)v, i / cols + 1);
  }
}

/* BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError (kernels/loss.c) */
static void bce_forward(lua_State *L, const ln_Tensor *pred, const ln_Tensor *y, float *out, const char *who) {
  check_targets(L, pred, y, "y_pred", who);
  check_probabilities(L, y, who);
  ln_bce_forward(pred->dims[0], ln_cols(pred), pred->data, y->data, out);
}
static void bce_backward(lua_State *L, const ln_Tensor *dv, const ln_Tensor *y, ln_Tensor *d, const char *who) {
  check_targets(L, dv, y, "dvalues", who);
  check_probabilities(L, y, who);
  ln_bce_backward(dv->dims[0], ln_cols(dv), dv->data, y->data, dv->dims[0], d->data);
}
TARGET_LOSS(mse, ln_mse_forward, ln_mse_backward)
TARGET_LOSS(mae, ln_mae_forward, ln_mae_backward)

static const LossKind CCE = {
  {"CategoricalCrossentropy", cce_forward, cce_backward, &ln_op_loss_cce}, "lunet.CategoricalCrossentropy", check_cce};
static const LossKind BCE = {
  {"BinaryCrossentropy", bce_forward, bce_backward, &ln_op_loss_bce}, "lunet.BinaryCrossentropy", check_targets};
static const LossKind MSE = {
  {"MeanSquaredError", mse_forward, mse_backward, &ln_op_loss_mse}, "lunet.MeanSquaredError", check_targets};
static const LossKind MAE = {
  {"MeanAbsoluteError", mae_forward, mae_backward, &ln_op_loss_mae}, "lunet.MeanAbsoluteError", check_targets};
/* the combined object: its data loss is CCE of probabilities (what the
** book's inner loss.calculate sees); its backward takes softmax outputs */
static const LossKind SOFTMAX_CCE = {
  {"SoftmaxCategoricalCrossentropy", cce_forward, softmax_cce_backward, NULL},
  "lunet.SoftmaxCategoricalCrossentropy", check_cce};

/* ============================================================ helpers */

ln_Loss *ln_toloss(lua_State *L, int idx) {
  void *cls;
  if (lua_type(L, idx) != LUA_TUSERDATA || !lua_getmetatable(L, idx)) return NULL;
  lua_pushliteral(L, LOSSCLASS_KEY);
  lua_rawget(L, -2);                    /* mt, cls */
  cls = lua_touserdata(L, -1);
  lua_pop(L, 2);
  return cls ? (ln_Loss *)lua_touserdata(L, idx) : NULL;
}

/* self of a method, raising otherwise; writes "<Class>:<method>" into who */
static ln_Loss *checkself(lua_State *L, const char *method, char *who) {
  ln_Loss *l = ln_toloss(L, 1);
  if (l == NULL)
    ln_error(L, "loss:%s: self must be a loss, got %s (call it with ':')", method, ln_typename(L, 1));
  snprintf(who, WHOLEN, "%s:%s", l->cls->name, method);
  return l;
}

/* user value uv of obj resized to dims; when an argument tensor (a or b) is
** that very buffer, a fresh one replaces it so the argument stays intact */
static ln_Tensor *outbuffer(lua_State *L, int obj, int uv, int ndim, const size_t *dims, const ln_Tensor *a,
                            const ln_Tensor *b) {
  ln_Tensor *cur = ln_getuv(L, obj, uv);
  if (cur != NULL && (cur == a || cur == b)) {
    lua_pushnil(L);
    ln_setuv(L, obj, uv);
  }
  return ln_buffer(L, obj, uv, ndim, dims);
}

/* per-sample losses of pred vs y into user value 1 of the loss at self */
static ln_Tensor *sample_losses(lua_State *L, int self, ln_Loss *loss, int pred, int y, const char *who) {
  ln_Tensor *p = argtensor(L, pred, "y_pred", who), *t = argtensor(L, y, "y_true", who), *out;
  ((const LossKind *)loss->cls)->check(L, p, t, "y_pred", who);
  out = outbuffer(L, self, UV_LOSSES, 1, p->dims, p, t);
  loss->cls->forward(L, p, t, out->data, who);
  return out;
}

double ln_loss_calculate(lua_State *L, int loss, int pred, int y, const char *who) {
  ln_Loss *l;
  ln_Tensor *out;
  double s;
  loss = lua_absindex(L, loss);
  pred = lua_absindex(L, pred);
  y = lua_absindex(L, y);
  l = ln_toloss(L, loss);
  if (l == NULL) ln_error(L, "%s: expected a loss, got %s", who, ln_typename(L, loss));
  out = sample_losses(L, loss, l, pred, y, who);
  s = ln_sum(out->numel, out->data);
  l->accumulated_sum += s;
  l->accumulated_count += (double)out->numel;
  return s / (double)out->numel;
}

float *ln_loss_samples(lua_State *L, int loss, size_t n) {
  const ln_Loss *l = ln_toloss(L, loss);
  ln_Tensor *t;
  if (l == NULL || (l->cls != &CCE.cls && l->cls != &SOFTMAX_CCE.cls)) return NULL;
  t = ln_getuv(L, loss, UV_LOSSES);
  return t != NULL && t->ndim == 1 && t->numel == n ? t->data : NULL;
}

double ln_loss_add(ln_Loss *l, const float *losses, size_t n) {
  double s = ln_sum(n, losses);
  l->accumulated_sum += s;
  l->accumulated_count += (double)n;
  return s / (double)n;
}

const ln_OpDef *ln_loss_planop(lua_State *L, int loss, int pred, int y, const char *who, int *sparse, float **losses,
                               float **dinputs) {
  const LossKind *k;
  ln_Loss *l;
  ln_Tensor *p, *t;
  loss = lua_absindex(L, loss);
  l = ln_toloss(L, loss);
  if (l == NULL) ln_error(L, "%s: expected a loss, got %s", who, ln_typename(L, loss));
  k = (const LossKind *)l->cls;
  if (k->cls.op == NULL) return NULL;
  p = argtensor(L, pred, "y_pred", who);
  t = argtensor(L, y, "y_true", who);
  *sparse = k->check(L, p, t, "y_pred", who);
  if (k == &BCE) check_probabilities(L, t, who);
  *losses = outbuffer(L, loss, UV_LOSSES, 1, p->dims, p, t)->data;
  *dinputs = outbuffer(L, loss, UV_DINPUTS, p->ndim, p->dims, p, t)->data;
  return k->cls.op;
}

/* the checks of a backward pass and its dinputs buffer, sized to dvalues
** (*dv and *t get the argument tensors); returns the loss kind's check
** result (1 = sparse labels) */
static int backward_begin(lua_State *L, int loss, const ln_Loss *l, int dvalues, int y, const char *who,
                          ln_Tensor **dv, ln_Tensor **t, ln_Tensor **d) {
  int sparse;
  *dv = argtensor(L, dvalues, "dvalues", who);
  *t = argtensor(L, y, "y_true", who);
  sparse = ((const LossKind *)l->cls)->check(L, *dv, *t, "dvalues", who);
  *d = outbuffer(L, loss, UV_DINPUTS, (*dv)->ndim, (*dv)->dims, *dv, *t);
  return sparse;
}

ln_Tensor *ln_loss_backward(lua_State *L, int loss, int dvalues, int y, const char *who) {
  ln_Loss *l;
  ln_Tensor *dv, *t, *d;
  loss = lua_absindex(L, loss);
  l = ln_toloss(L, loss);
  if (l == NULL) ln_error(L, "%s: expected a loss, got %s", who, ln_typename(L, loss));
  backward_begin(L, loss, l, dvalues, y, who, &dv, &t, &d);
  l->cls->backward(L, dv, t, d, who);
  return d;
}

/* the combined object at obj, raising otherwise */
static ln_Loss *checkcombined(lua_State *L, int obj, const char *who) {
  ln_Loss *l = ln_toloss(L, obj);
  if (l == NULL || l->cls != &SOFTMAX_CCE.cls)
    ln_error(L, "%s: expected a lunet.SoftmaxCategoricalCrossentropy, got %s", who, ln_typename(L, obj));
  return l;
}

ln_Tensor *ln_softmax_cce_backward(lua_State *L, int obj, int dvalues, int y, const char *who) {
  checkcombined(L, obj, who);
  return ln_loss_backward(L, obj, dvalues, y, who);
}

ln_Tensor *ln_softmax_cce_begin(lua_State *L, int obj, int dvalues, int y, const char *who, int *sparse) {
  ln_Tensor *dv, *t, *d;
  obj = lua_absindex(L, obj);
  *sparse = backward_begin(L, obj, checkcombined(L, obj, who), dvalues, y, who, &dv, &t, &d);
  return d;
}

double ln_regularization_loss(lua_State *L, int layer) {
  const ln_Trainable *d;
  const ln_Layer *l;
  const ln_Tensor *w, *b;
  double r = 0.0;
  layer = lua_absindex(L, layer);
  l = ln_tolayer(L, layer);
  if (l == NULL || !l->cls->trainable) return 0.0;
  d = (const ln_Trainable *)l;
  w = ln_getuv(L, layer, LN_UV_WEIGHTS);
  b = ln_getuv(L, layer, LN_UV_BIASES);
  /* the book adds each term only when its factor is positive */
  if (w && d->weight_regularizer_l1 > 0) r += d->weight_regularizer_l1 * ln_sum_abs(w->numel, w->data);
  if (w && d->weight_regularizer_l2 > 0) r += d->weight_regularizer_l2 * ln_sum_sq(w->numel, w->data);
  if (b && d->bias_regularizer_l1 > 0) r += d->bias_regularizer_l1 * ln_sum_abs(b->numel, b->data);
  if (b && d->bias_regularizer_l2 > 0) r += d->bias_regularizer_l2 * ln_sum_sq(b->numel, b->data);
  return r;
}

/* raises unless the value at idx is a layer or activation */
static void checklayerarg(lua_State *L, int idx, const char *what, const char *who) {
  idx = lua_absindex(L, idx);
  if (ln_tolayer(L, idx) == NULL)
    ln_error(L, "%s: %s must be a layer, got %s", who, what, ln_typename(L, idx));
}

/* sum of the regularization losses of the remembered layers */
static double remembered_regularization(lua_State *L, int self) {
  double r = 0.0;
  lua_Integer i, n;
  if (lua_getiuservalue(L, self, UV_LAYERS) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0.0;
  }
  n = (lua_Integer)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);             /* layers, layer */
    r += ln_regularization_loss(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return r;
}

/* push a new loss of class kind */
static ln_Loss *newloss(lua_State *L, const LossKind *kind) {
  ln_Loss *l = (ln_Loss *)lua_newuserdatauv(L, sizeof *l, LOSS_NUV);
  l->cls = &kind->cls;
  l->accumulated_sum = 0.0;
  l->accumulated_count = 0.0;
  luaL_setmetatable(L, kind->mtname);
  return l;
}

void ln_new_softmax_cce(lua_State *L) {
  newloss(L, &SOFTMAX_CCE);
}

/* =========================================================== methods */

/* loss:forward(y_pred, y_true): per-sample losses (also field `output`) */
static int m_forward(lua_State *L) {
  char who[WHOLEN];
  ln_Loss *l = checkself(L, "forward", who);
  sample_losses(L, 1, l, 2, 3, who);
  lua_getiuservalue(L, 1, UV_LOSSES);
  return 1;
}

/* loss:backward(dvalues, y_true): gradient (also field `dinputs`) */
static int m_backward(lua_State *L) {
  char who[WHOLEN];
  checkself(L, "backward", who);
  ln_loss_backward(L, 1, 2, 3, who);
  lua_getiuservalue(L, 1, UV_DINPUTS);
  return 1;
}

static const char *const calc_options[] = {"include_regularization", NULL};

/* loss:calculate(output, y, { include_regularization = false }):
** the mean data loss (accumulated), and the regularization loss if asked */
static int m_calculate(lua_State *L) {
  char who[WHOLEN];
  int reg;
  double data;
  checkself(L, "calculate", who);
  ln_checkoptions(L, 4, who, calc_options);
  reg = ln_optboolean(L, 4, "include_regularization", 0, who);
  data = ln_loss_calculate(L, 1, 2, 3, who);
  lua_pushnumber(L, data);
  if (!reg) return 1;
  lua_pushnumber(L, remembered_regularization(L, 1));
  return 2;
}

/* loss:calculate_accumulated{ include_regularization = false } */
static int m_calculate_accumulated(lua_State *L) {
  char who[WHOLEN];
  ln_Loss *l = checkself(L, "calculate_accumulated", who);
  int reg;
  ln_checkoptions(L, 2, who, calc_options);
  reg = ln_optboolean(L, 2, "include_regularization", 0, who);
  if (l->accumulated_count <= 0)
    ln_error(L, "%s: no samples accumulated since the last new_pass() (call calculate first)", who);
  lua_pushnumber(L, l->accumulated_sum / l->accumulated_count);
  if (!reg) return 1;
  lua_pushnumber(L, remembered_regularization(L, 1));
  return 2;
}

/* loss:new_pass(): reset the accumulated sums */
static int m_new_pass(lua_State *L) {
  char who[WHOLEN];
  ln_Loss *l = checkself(L, "new_pass", who);
  l->accumulated_sum = 0.0;
  l->accumulated_count = 0.0;
  return 0;
}

/* loss:regularization_loss(layer): the book's L1/L2 penalty of a layer (0
** without weights); with no layer, the sum over the remembered layers */
static int m_regularization_loss(lua_State *L) {
  char who[WHOLEN];
  checkself(L, "regularization_loss", who);
  if (lua_isnoneornil(L, 2)) {
    lua_pushnumber(L, remembered_regularization(L, 1));
    return 1;
  }
  checklayerarg(L, 2, "layer", who);
  lua_pushnumber(L, ln_regularization_loss(L, 2));
  return 1;
}

/* loss:remember_trainable_layers(list): keeps a copy of the list */
static int m_remember_trainable_layers(lua_State *L) {
  char who[WHOLEN];
  lua_Integer i, n;
  checkself(L, "remember_trainable_layers", who);
  if (!lua_istable(L, 2))
    ln_error(L, "%s: argument 1 must be a list of layers, got %s", who, ln_typename(L, 2));
  n = (lua_Integer)lua_rawlen(L, 2);
  lua_createtable(L, (int)n, 0);       /* copy */
  for (i = 1; i <= n; i++) {
    char what[48];
    lua_rawgeti(L, 2, i);
    snprintf(what, sizeof what, "element %lld", (long long)i);
    checklayerarg(L, -1, what, who);
    lua_rawseti(L, -2, i);
  }
  ln_setuv(L, 1, UV_LAYERS);
  return 0;
}

/* SoftmaxCategoricalCrossentropy:forward(inputs, y_true): softmax into
** `output`, then the mean CCE loss (accumulated like calculate) */
static int m_softmax_cce_forward(lua_State *L) {
  char who[WHOLEN];
  ln_Loss *l = checkself(L, "forward", who);
  ln_Tensor *x, *y, *out;
  double loss;
  if (l->cls != &SOFTMAX_CCE.cls) ln_error(L, "%s: not a SoftmaxCategoricalCrossentropy", who);
  x = argtensor(L, 2, "inputs", who);
  y = argtensor(L, 3, "y_true", who);
  check_cce(L, x, y, "inputs", who);
  out = outbuffer(L, 1, UV_OUTPUT, 2, x->dims, x, y);
  ln_softmax_rows(x->dims[0], x->dims[1], x->data, out->data);
  lua_getiuservalue(L, 1, UV_OUTPUT);  /* self, inputs, y, output */
  loss = ln_loss_calculate(L, 1, lua_gettop(L), 3, who);
  lua_pushnumber(L, loss);
  return 1;
}

/* field getter: output, dinputs, accumulated_sum, accumulated_count,
** trainable_layers */
static int getfield(lua_State *L) {
  ln_Loss *l = ln_toloss(L, 1);
  const char *k = lua_tostring(L, 2);
  if (l == NULL || k == NULL || lua_type(L, 2) != LUA_TSTRING) return 0;
  if (strcmp(k, "output") == 0)
    lua_getiuservalue(L, 1, l->cls == &SOFTMAX_CCE.cls ? UV_OUTPUT : UV_LOSSES);
  else if (strcmp(k, "dinputs") == 0) lua_getiuservalue(L, 1, UV_DINPUTS);
  else if (strcmp(k, "trainable_layers") == 0) lua_getiuservalue(L, 1, UV_LAYERS);
  else if (strcmp(k, "accumulated_sum") == 0) lua_pushnumber(L, l->accumulated_sum);
  else if (strcmp(k, "accumulated_count") == 0) lua_pushinteger(L, (lua_Integer)l->accumulated_count);
  else return 0;
  return 1;
}

/* "CategoricalCrossentropy()" */
static int mm_tostring(lua_State *L) {
  ln_Loss *l = ln_toloss(L, 1);
  lua_pushfstring(L, "%s()", l ? l->cls->name : "?");
  return 1;
}

static const ln_Method loss_methods[] = {
  {"forward", m_forward, 2}, {"backward", m_backward, 2}, {"calculate", m_calculate, 3},
  {"calculate_accumulated", m_calculate_accumulated, 1}, {"new_pass", m_new_pass, 0},
  {"regularization_loss", m_regularization_loss, 1},
  {"remember_trainable_layers", m_remember_trainable_layers, 1},
  {NULL, NULL, 0}
};

static const ln_Method softmax_cce_methods[] = {
  {"forward", m_softmax_cce_forward, 2}, {"backward", m_backward, 2},
  {"calculate_accumulated", m_calculate_accumulated, 1}, {"new_pass", m_new_pass, 0},
  {"regularization_loss", m_regularization_loss, 1},
  {"remember_trainable_layers", m_remember_trainable_layers, 1},
  {NULL, NULL, 0}
};

static const luaL_Reg metamethods[] = {
  {"__tostring", mm_tostring},
  {NULL, NULL}
};

/* lunet.<Loss>(): constructor; upvalue 1 is the LossKind */
static int l_newloss(lua_State *L) {
  const LossKind *kind = (const LossKind *)lua_touserdata(L, lua_upvalueindex(1));
  static const char *const none[] = {NULL};
  char who[WHOLEN];
  snprintf(who, sizeof who, "lunet.%s", kind->cls.name);
  if (lua_gettop(L) > 1) ln_error(L, "%s: takes at most 1 argument, got %d", who, lua_gettop(L));
  ln_checkoptions(L, 1, who, none);
  newloss(L, kind);
  return 1;
}

/* register one class and its constructor in the module table (on top) */
static void openloss(lua_State *L, const LossKind *kind, const ln_Method *methods) {
  ln_newclass(L, kind->mtname, methods, metamethods, getfield); /* mod, mt */
  lua_pushliteral(L, LOSSCLASS_KEY);
  lua_pushlightuserdata(L, (void *)(uintptr_t)kind);
  lua_rawset(L, -3);
  lua_pop(L, 1);                                                /* mod */
  lua_pushlightuserdata(L, (void *)(uintptr_t)kind);
  lua_pushcclosure(L, l_newloss, 1);
  lua_setfield(L, -2, kind->cls.name);
}

void ln_open_losses(lua_State *L) {
  openloss(L, &CCE, loss_methods);
  openloss(L, &BCE, loss_methods);
  openloss(L, &MSE, loss_methods);
  openloss(L, &MAE, loss_methods);
  openloss(L, &SOFTMAX_CCE, softmax_cce_methods);
}
