/*
** activations.c: lunet.ReLU, lunet.Sigmoid, lunet.Softmax and lunet.Linear
** (the book's chapters 4, 9, 16-17), registered through the layer protocol
** of layers.c (forward, backward, fields output/dinputs/inputs) plus
** predictions(outputs).  Numbers are computed by src/kernels/nn.c.
*/
#include <stdio.h>
#include <string.h>
#include "lunet.h"
#include "engine/op.h"
#include "kernels/nn.h"

/* ============================================================= helpers */

/* the inputs of a forward pass (kept in LN_UV_INPUTS, as the book's
** self.inputs); *out is the output buffer, resized to the inputs' shape */
static ln_Tensor *begin_forward(lua_State *L, int self, int in_idx, const char *who,
                                ln_Tensor **out) {
  ln_Tensor *in;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  ln_checklayer(L, self, who);
  in = ln_totensor(L, in_idx);
  if (in == NULL)
    ln_error(L, "%s: inputs must be a lunet.Tensor, got %s", who, ln_typename(L, in_idx));
  *out = ln_buffer_like(L, self, LN_UV_OUTPUT, in);
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return in;
}

/* dvalues of a backward pass, checked against the last forward's output
** (returned in *out); dinputs resized to that shape */
static ln_Tensor *begin_backward(lua_State *L, int self, int dv_idx, const char *who,
                                 ln_Tensor **out, ln_Tensor **din) {
  ln_Tensor *dv;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  dv_idx = lua_absindex(L, dv_idx);
  ln_checklayer(L, self, who);
  dv = ln_totensor(L, dv_idx);
  if (dv == NULL)
    ln_error(L, "%s: dvalues must be a lunet.Tensor, got %s", who, ln_typename(L, dv_idx));
  *out = ln_getuv(L, self, LN_UV_OUTPUT);
  if (*out == NULL) ln_error(L, "%s: no forward pass yet (call forward before backward)", who);
  if (!ln_sameshape(dv, *out))
    ln_error(L, "%s: dvalues are %s, expected %s (the last forward's output shape)", who,
             ln_shapestr(dv, sa), ln_shapestr(*out, sb));
  *din = ln_buffer_like(L, self, LN_UV_DINPUTS, dv);
  return dv;
}

/* the class name as the description: "ReLU", "Softmax", ... */
static void describe_name(const ln_Layer *l, char *buf, size_t n) {
  snprintf(buf, n, "%s", l->cls->name);
}

/* predictions that are a copy of the outputs (ReLU, Linear) */
static void pred_copy(const ln_Layer *l, const ln_Tensor *outputs, ln_Tensor *dst) {
  (void)l;
  if (dst->data != outputs->data) memmove(dst->data, outputs->data, outputs->numel * sizeof(float));
}

/* ================================================================ ReLU */

/* ReLU over large tensors (a convolution's output) on the state's threads:
** element-wise, so any split gives the same numbers */
typedef struct ReluJob {
  size_t n;
  const float *in, *dv;
  float *out;
} ReluJob;

static void relu_job(ln_Pool *p, void *arg, int part, int parts) {
  const ReluJob *j = (const ReluJob *)arg;
  size_t per = (j->n / (size_t)parts + 15) / 16 * 16, lo = (size_t)part * per, hi = lo + per;
  (void)p;
  if (lo > j->n) lo = j->n;
  if (hi > j->n || part == parts - 1) hi = j->n;
  if (hi <= lo) return;
  if (j->dv) ln_nn_relu_backward(hi - lo, j->in + lo, j->dv + lo, j->out + lo);
  else ln_nn_relu_forward(hi - lo, j->in + lo, j->out + lo);
}

static void relu_run(lua_State *L, size_t n, const float *in, const float *dv, float *out) {
  ReluJob j;
  j.n = n; j.in = in; j.dv = dv; j.out = out;
  ln_run_parts(L, relu_job, &j, n >= ((size_t)1 << 18) ? 1e9 : 0.0);
}

/* output = max(0, inputs) */
static ln_Tensor *relu_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *out, *in = begin_forward(L, self, in_idx, who, &out);
  (void)training;
  relu_run(L, in->numel, in->data, NULL, out->data);
  return out;
}

/* dinputs = dvalues, zero where the kept inputs are <= 0 */
static ln_Tensor *relu_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *out, *din, *in, *dv;
  char sa[LN_SHAPELEN];
  self = lua_absindex(L, self);
  dv = begin_backward(L, self, dv_idx, who, &out, &din);
  in = ln_getuv(L, self, LN_UV_INPUTS);
  if (in == NULL || !ln_sameshape(in, dv))
    ln_error(L, "%s: the inputs kept by forward have changed shape (now %s); call forward again",
             who, in ? ln_shapestr(in, sa) : "unset");
  relu_run(L, dv->numel, in->data, dv->data, din->data);
  return din;
}

static const ln_LayerClass relu_class = {
  "ReLU", 0, relu_forward, relu_backward, describe_name, pred_copy, 0, LN_KIND_RELU, NULL, NULL, NULL,
  &ln_op_relu, NULL
};

/* ============================================================= Sigmoid */

/* output = 1 / (1 + exp(-inputs)) */
static ln_Tensor *sigmoid_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *out, *in = begin_forward(L, self, in_idx, who, &out);
  (void)training;
  ln_nn_sigmoid_forward(in->numel, in->data, out->data);
  return out;
}

/* dinputs = dvalues * (1 - output) * output */
static ln_Tensor *sigmoid_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *out, *din, *dv = begin_backward(L, self, dv_idx, who, &out, &din);
  ln_nn_sigmoid_backward(dv->numel, out->data, dv->data, din->data);
  return din;
}

/* 1 where output > 0.5, else 0 */
static void sigmoid_pred(const ln_Layer *l, const ln_Tensor *outputs, ln_Tensor *dst) {
  (void)l;
  ln_nn_threshold(outputs->numel, outputs->data, dst->data);
}

static const ln_LayerClass sigmoid_class = {
  "Sigmoid", 0, sigmoid_forward, sigmoid_backward, describe_name, sigmoid_pred, 0, LN_KIND_SIGMOID, NULL, NULL, NULL,
  &ln_op_sigmoid, NULL
};

/* ============================================================= Softmax */

/* raise unless t is 2-D (rows of class scores) */
static void check2d(lua_State *L, const ln_Tensor *t, const char *what, const char *who) {
  char sa[LN_SHAPELEN];
  if (t->ndim != 2)
    ln_error(L, "%s: %s are %s, expected a 2-D tensor (one row of class scores per sample)",
             who, what, ln_shapestr(t, sa));
}

/* output = exp(x - max) / sum per row */
static ln_Tensor *softmax_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *out, *in = ln_totensor(L, in_idx);
  (void)training;
  if (in) check2d(L, in, "inputs", who);
  in = begin_forward(L, self, in_idx, who, &out);
  ln_softmax_rows(in->dims[0], in->dims[1], in->data, out->data);
  return out;
}

/* dinputs per row = output * (dvalues - dot(dvalues, output)) */
static ln_Tensor *softmax_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *out, *din, *dv = begin_backward(L, self, dv_idx, who, &out, &din);
  ln_nn_softmax_backward(dv->dims[0], dv->dims[1], out->data, dv->data, din->data);
  return din;
}

/* class labels 1..K: the argmax of each row */
static void softmax_pred(const ln_Layer *l, const ln_Tensor *outputs, ln_Tensor *dst) {
  (void)l;
  ln_argmax_labels(outputs->dims[0], ln_cols(outputs), outputs->data, dst->data);
}

static const ln_LayerClass softmax_class = {
  "Softmax", 0, softmax_forward, softmax_backward, describe_name, softmax_pred, 1, LN_KIND_SOFTMAX, NULL, NULL, NULL,
  &ln_op_softmax, NULL
};

/* ============================================================== Linear */

/* output = inputs (copied into the layer's own buffer) */
static ln_Tensor *linear_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Tensor *out, *in = begin_forward(L, self, in_idx, who, &out);
  (void)training;
  if (out->data != in->data) memmove(out->data, in->data, in->numel * sizeof(float));
  return out;
}

/* dinputs = a copy of dvalues */
static ln_Tensor *linear_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *out, *din, *dv = begin_backward(L, self, dv_idx, who, &out, &din);
  if (din->data != dv->data) memmove(din->data, dv->data, dv->numel * sizeof(float));
  return din;
}

static const ln_LayerClass linear_class = {
  "Linear", 0, linear_forward, linear_backward, describe_name, pred_copy, 0, LN_KIND_LINEAR, NULL, NULL, NULL,
  &ln_op_linear, NULL
};

/* ========================================================= predictions */

/* activation:predictions(outputs): a new tensor of predictions */
static int m_predictions(lua_State *L) {
  char who[64];
  ln_Layer *l = ln_checklayer(L, 1, "predictions");
  ln_Tensor *t, *dst;
  snprintf(who, sizeof who, "%s:predictions", l->cls->name);
  if (l->cls->predictions == NULL) ln_error(L, "%s: this layer makes no predictions", who);
  t = ln_totensor(L, 2);
  if (t == NULL)
    ln_error(L, "%s: argument 1 (outputs) must be a lunet.Tensor, got %s", who, ln_typename(L, 2));
  if (l->cls->pred_argmax) {
    check2d(L, t, "outputs", who);
    dst = ln_newvector(L, t->dims[0]);
  } else {
    dst = ln_newtensor_uninit(L, t->ndim, t->dims);
  }
  l->cls->predictions(l, t, dst);
  return 1;
}

/* ================================================================ open */

/* lunet.ReLU(), lunet.Sigmoid(), ...: the class is upvalue 1 */
static int l_new(lua_State *L) {
  const ln_LayerClass *cls = (const ln_LayerClass *)lua_touserdata(L, lua_upvalueindex(1));
  ln_Layer *l;
  char name[64];
  if (lua_gettop(L) > 0) ln_error(L, "lunet.%s: takes no arguments, got %d", cls->name, lua_gettop(L));
  l = (ln_Layer *)lua_newuserdatauv(L, sizeof *l, LN_LAYER_NUV);
  memset(l, 0, sizeof *l);
  l->cls = cls;
  snprintf(name, sizeof name, "lunet.%s", cls->name);
  luaL_setmetatable(L, name);
  return 1;
}

void ln_open_activations(lua_State *L) {
  static const ln_Method methods[] = { {"predictions", m_predictions, 1}, {NULL, NULL, 0} };
  static const ln_LayerClass *const classes[] = {
    &relu_class, &sigmoid_class, &softmax_class, &linear_class, NULL
  };
  int i;
  for (i = 0; classes[i]; i++) {
    ln_newlayerclass(L, classes[i], methods);
    lua_pushlightuserdata(L, (void *)(uintptr_t)classes[i]);
    lua_pushcclosure(L, l_new, 1);
    lua_setfield(L, -2, classes[i]->name);
  }
}
