/*
** layers_norm.c: lunet.BatchNormalization (API.md "Convolutions"): per
** feature of N x F inputs, per channel of N x C x H x W images; a trained
** scale (its `weights`, 1 x F, ones at first) and shift (`biases`, zeros);
** training normalises with the batch's mean and biased variance and keeps
** running = momentum * running + (1 - momentum) * batch (the unbiased
** variance for running_var, as PyTorch); inference uses the running values.
** A training batch with one value per feature (a last batch of 1) gives the
** shift and leaves the running values as they were (PyTorch raises there).
** The sizes follow the first input (or the model's declared Input), or the
** option `features`.  Kernels: src/kernels/conv.h.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "layers.h"
#include "engine/pool.h"
#include "kernels/conv.h"
#include "engine/ops/conv.h"

enum { UV_XHAT = LN_UV_EXTRA, UV_ISTD, UV_RMEAN, UV_RVAR, UV_STATS };

typedef struct BatchNorm {
  ln_Trainable t;         /* regularizers stay zero */
  double momentum, eps;
  size_t features;        /* 0 until built */
  int affine_fwd;         /* the last forward used the running statistics */
  int64_t batches;        /* training forwards (PyTorch's num_batches_tracked) */
} BatchNorm;

static void bn_describe(const ln_Layer *l, char *buf, size_t n) {
  const BatchNorm *b = (const BatchNorm *)l;
  if (b->features) snprintf(buf, n, "BatchNormalization(%zu)", b->features);
  else snprintf(buf, n, "BatchNormalization");
}

/* features of samples of nd sizes in: the channels of images, the
** columns of a matrix; 0 for other shapes */
static size_t bn_width(int nd, const size_t *in) {
  return nd == 1 || nd == 3 ? in[0] : 0;
}

static int bn_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err, size_t n) {
  const BatchNorm *b = (const BatchNorm *)l;
  size_t f;
  int i;
  if (nd < 0) return 0;
  f = bn_width(nd, in);
  if (f == 0) {
    snprintf(err, n, "expects N x F or N x C x H x W inputs");
    return -1;
  }
  if (b->features && f != b->features) {
    snprintf(err, n, "expects %zu features (channels of images, columns of a matrix)", b->features);
    return -1;
  }
  *ond = nd;
  for (i = 0; i < nd; i++) out[i] = in[i];
  return 1;
}

/* create scale, shift and running statistics for f features */
static void bn_create(lua_State *L, int self, size_t f) {
  BatchNorm *b = (BatchNorm *)lua_touserdata(L, self);
  ln_Tensor *t;
  size_t i;
  t = ln_newmatrix(L, 1, f);
  for (i = 0; i < f; i++) t->data[i] = 1.0f;
  ln_setuv(L, self, LN_UV_WEIGHTS);
  ln_newmatrix(L, 1, f);
  ln_setuv(L, self, LN_UV_BIASES);
  ln_newmatrix(L, 1, f);
  ln_setuv(L, self, UV_RMEAN);
  t = ln_newmatrix(L, 1, f);
  for (i = 0; i < f; i++) t->data[i] = 1.0f;
  ln_setuv(L, self, UV_RVAR);
  b->features = f;
}

static void bn_build(lua_State *L, int self, int nd, const size_t *in, const char *who) {
  BatchNorm *b = (BatchNorm *)lua_touserdata(L, self);
  size_t f = bn_width(nd, in);
  (void)who;
  if (b->features == 0 && f > 0) bn_create(L, lua_absindex(L, self), f);
}

typedef struct BnJob {
  size_t n, ch, inner;
  int train, affine;
  double eps;
  const float *x, *dy, *gamma, *beta, *rmean, *rvar;
  float *y, *xhat, *istd, *mean, *var, *dgamma, *dbeta, *dx;
} BnJob;

static void bn_range(const BnJob *j, int part, int parts, size_t *lo, size_t *hi) {
  size_t per = (j->ch + (size_t)parts - 1) / (size_t)parts;
  *lo = (size_t)part * per;
  *hi = *lo + per;
  if (*lo > j->ch) *lo = j->ch;
  if (*hi > j->ch) *hi = j->ch;
}

static void bn_forward_job(ln_Pool *p, void *arg, int part, int parts) {
  BnJob *j = (BnJob *)arg;
  size_t lo, hi;
  (void)p;
  bn_range(j, part, parts, &lo, &hi);
  if (hi <= lo) return;
  if (j->train)
    ln_bn_train_forward(j->n, j->ch, j->inner, j->x, j->gamma, j->beta, j->eps, lo, hi, j->mean, j->var, j->istd,
                        j->xhat, j->y);
  else
    ln_bn_infer(j->n, j->ch, j->inner, j->x, j->gamma, j->beta, j->rmean, j->rvar, j->eps, lo, hi, j->istd, j->xhat,
                j->y);
}

static void bn_backward_job(ln_Pool *p, void *arg, int part, int parts) {
  BnJob *j = (BnJob *)arg;
  size_t lo, hi;
  (void)p;
  bn_range(j, part, parts, &lo, &hi);
  if (hi <= lo) return;
  if (j->affine)
    ln_bn_backward_affine(j->n, j->ch, j->inner, j->dy, j->xhat, j->gamma, j->istd, lo, hi, j->dgamma, j->dbeta,
                          j->dx);
  else
    ln_bn_backward(j->n, j->ch, j->inner, j->dy, j->xhat, j->gamma, j->istd, lo, hi, j->dgamma, j->dbeta, j->dx);
}

/* the job's sizes for inputs in, or an error naming the layer and shapes */
static void bn_check(lua_State *L, int self, BatchNorm *b, const ln_Tensor *in, BnJob *j, const char *who) {
  char err[200], desc[64], sa[LN_SHAPELEN];
  size_t o[3];
  int ond;
  if ((in->ndim != 2 && in->ndim != 4) || bn_outshape(&b->t.base, in->ndim - 1, in->dims + 1, &ond, o, err,
                                                      sizeof err) < 0) {
    bn_describe(&b->t.base, desc, sizeof desc);
    if (in->ndim != 2 && in->ndim != 4)
      ln_error(L, "%s: inputs are %s, expected N x F or N x C x H x W (%s)", who, ln_shapestr(in, sa), desc);
    ln_error(L, "%s: inputs are %s: %s (%s)", who, ln_shapestr(in, sa), err, desc);
  }
  if (b->features == 0) bn_create(L, self, in->dims[1]);
  j->n = in->dims[0];
  j->ch = in->dims[1];
  j->inner = in->ndim == 4 ? in->dims[2] * in->dims[3] : 1;
}

static ln_Tensor *bn_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  BatchNorm *b;
  ln_Tensor *in, *out, *rm, *rv;
  BnJob j;
  char sa[LN_SHAPELEN];
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  b = (BatchNorm *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  memset(&j, 0, sizeof j);
  bn_check(L, self, b, in, &j, who);
  (void)sa;
  out = ln_freshbuffer(L, self, LN_UV_OUTPUT, in->ndim, in->dims, in, NULL);
  j.train = training;
  j.eps = b->eps;
  j.x = in->data;
  j.y = out->data;
  j.gamma = ln_getuv(L, self, LN_UV_WEIGHTS)->data;
  j.beta = ln_getuv(L, self, LN_UV_BIASES)->data;
  rm = ln_getuv(L, self, UV_RMEAN);
  rv = ln_getuv(L, self, UV_RVAR);
  j.rmean = rm->data;
  j.rvar = rv->data;
  j.xhat = ln_buffer_like(L, self, UV_XHAT, in)->data;
  j.istd = ln_buffer2(L, self, UV_ISTD, 1, j.ch)->data;
  j.mean = ln_buffer2(L, self, UV_STATS, 2, j.ch)->data;
  j.var = j.mean + j.ch;
  ln_run_parts(L, bn_forward_job, &j, 4.0 * (double)in->numel);
  if (training && ln_bn_running(0, j.ch, j.n * j.inner, b->momentum, j.mean, j.var, rm->data, rv->data))
    b->batches++;
  b->affine_fwd = !training;
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

static ln_Tensor *bn_backward(lua_State *L, int self, int dv_idx, const char *who) {
  BatchNorm *b;
  ln_Tensor *in, *dv, *din, *xhat, *dg, *db;
  BnJob j;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  dv_idx = lua_absindex(L, dv_idx);
  b = (BatchNorm *)ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  in = ln_keptinputs(L, self, who);
  xhat = ln_getuv(L, self, UV_XHAT);
  if (xhat == NULL || !ln_sameshape(in, xhat))
    ln_error(L, "%s: the inputs kept by forward have changed shape (now %s); call forward again", who,
             ln_shapestr(in, sa));
  if (!ln_sameshape(dv, xhat))
    ln_error(L, "%s: dvalues are %s, expected %s (the last forward's output shape)", who, ln_shapestr(dv, sa),
             ln_shapestr(xhat, sb));
  memset(&j, 0, sizeof j);
  bn_check(L, self, b, in, &j, who);
  din = ln_freshbuffer(L, self, LN_UV_DINPUTS, in->ndim, in->dims, dv, in);
  dg = ln_buffer2(L, self, LN_UV_DWEIGHTS, 1, j.ch);
  db = ln_buffer2(L, self, LN_UV_DBIASES, 1, j.ch);
  j.affine = b->affine_fwd;
  j.dy = dv->data;
  j.xhat = xhat->data;
  j.gamma = ln_getuv(L, self, LN_UV_WEIGHTS)->data;
  j.istd = ln_getuv(L, self, UV_ISTD)->data;
  j.dgamma = dg->data;
  j.dbeta = db->data;
  j.dx = din->data;
  ln_run_parts(L, bn_backward_job, &j, 4.0 * (double)in->numel);
  return din;
}

static int bn_field(lua_State *L, const ln_Layer *l, const char *k) {
  const BatchNorm *b = (const BatchNorm *)l;
  if (strcmp(k, "momentum") == 0) { lua_pushnumber(L, b->momentum); return 1; }
  if (strcmp(k, "epsilon") == 0) { lua_pushnumber(L, b->eps); return 1; }
  if (strcmp(k, "num_batches_tracked") == 0) { lua_pushinteger(L, (lua_Integer)b->batches); return 1; }
  if (strcmp(k, "features") == 0) {
    if (b->features == 0) return 0;
    lua_pushinteger(L, (lua_Integer)b->features);
    return 1;
  }
  if (strcmp(k, "running_mean") == 0) { lua_getiuservalue(L, 1, UV_RMEAN); return 1; }
  if (strcmp(k, "running_var") == 0) { lua_getiuservalue(L, 1, UV_RVAR); return 1; }
  return 0;
}

/* the layer trains as a plan's node n (engine/ops/conv.c): its settings,
** and the count of training batches the node advances */
static void bn_node(ln_Layer *l, ln_Node *n) {
  BatchNorm *b = (BatchNorm *)l;
  n->setting[0] = b->eps;
  n->setting[1] = (double)b->features;
  n->setting[2] = n->ind == 3 ? (double)(n->ishape[1] * n->ishape[2]) : 1.0;
  n->setting[3] = b->momentum;
  n->counter = &b->batches;
  b->affine_fwd = 0; /* a training forward (as the class's own with training true) */
}

static const ln_LayerClass bn_class = {
  "BatchNormalization", 1, bn_forward, bn_backward, bn_describe, NULL, 0, LN_KIND_BATCHNORM, bn_outshape, bn_field,
  bn_build, &ln_op_batchnorm, bn_node
};

/* bn:set_running(mean, var[, num_batches_tracked]): the running statistics
** (copied in, shapes checked; the layer must have its sizes) */
static int bn_set_running(lua_State *L) {
  const char *who = "BatchNormalization:set_running";
  BatchNorm *b = (BatchNorm *)ln_checklayer(L, 1, who);
  ln_Tensor *m = ln_argtensor(L, 2, "argument 1 (mean)", who), *v = ln_argtensor(L, 3, "argument 2 (var)", who);
  ln_Tensor *rm, *rv;
  char sa[LN_SHAPELEN];
  if (b->features == 0)
    ln_error(L, "%s: the layer has no sizes yet (give it the option features, or run a forward first)", who);
  if (m->numel != b->features || v->numel != b->features)
    ln_error(L, "%s: mean is %s and var %s, expected %zu values each", who, ln_shapestr(m, sa),
             ln_shapestr(v, sa + LN_SHAPELEN / 2), b->features);
  if (!lua_isnoneornil(L, 4)) {
    lua_Integer c = luaL_checkinteger(L, 4);
    if (c < 0) ln_error(L, "%s: argument 3 (num_batches_tracked) must be >= 0, got %lld", who, (long long)c);
    b->batches = (int64_t)c;
  }
  rm = ln_getuv(L, 1, UV_RMEAN);
  rv = ln_getuv(L, 1, UV_RVAR);
  memmove(rm->data, m->data, b->features * sizeof(float));
  memmove(rv->data, v->data, b->features * sizeof(float));
  return 0;
}

/* lunet.BatchNormalization{ momentum = 0.9, epsilon = 1e-5, features = nil } */
static int l_batchnorm(lua_State *L) {
  static const char *const opts[] = { "momentum", "epsilon", "features", NULL };
  const char *who = "lunet.BatchNormalization";
  BatchNorm *b;
  double mo, eps;
  lua_Integer f;
  ln_checkoptions(L, 1, who, opts);
  mo = ln_optnumber(L, 1, "momentum", 0.9, who);
  eps = ln_optnumber(L, 1, "epsilon", 1e-5, who);
  f = ln_optinteger(L, 1, "features", 0, who);
  if (!(mo >= 0.0 && mo <= 1.0)) ln_error(L, "%s: option 'momentum' must be in [0, 1], got %g", who, mo);
  if (!(eps > 0.0) || !isfinite(eps)) ln_error(L, "%s: option 'epsilon' must be a finite number > 0, got %g", who, eps);
  if (f < 0 || (unsigned long long)f > LN_MAXNUMEL)
    ln_error(L, "%s: option 'features' must be a positive integer, got %lld", who, (long long)f);
  lua_settop(L, 0);
  b = (BatchNorm *)ln_newlayer(L, &bn_class, sizeof *b);
  b->momentum = mo;
  b->eps = eps;
  if (f > 0) bn_create(L, 1, (size_t)f);
  return 1;
}

void ln_open_layers_norm(lua_State *L) {
  static const ln_Method methods[] = { {"set_running", bn_set_running, 3}, {NULL, NULL, 0} };
  ln_newlayerclass(L, &bn_class, methods);
  lua_pushcfunction(L, l_batchnorm);
  lua_setfield(L, -2, "BatchNormalization");
}
