/*
** layers.c: the layer protocol (ln_newlayerclass, ln_tolayer,
** ln_checklayer) shared by every layer and activation, and the layers
** lunet.Dense and lunet.Dropout (the book's chapters 3, 14-15); the others
** are in layers_input.c (Input, Flatten), layers_conv.c, layers_pool.c and
** layers_norm.c.  Numbers are computed by the kernels in src/kernels/nn.c.
**
** A layer is a full userdata (an ln_Layer-headed struct) with LN_LAYER_NUV
** user values holding its tensors (LN_UV_OUTPUT, LN_UV_DINPUTS, ...).  Its
** metatable "lunet.<Name>" carries the field __lunet_layer (a light userdata
** of its ln_LayerClass), which is how ln_tolayer recognises it.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "layers.h"
#include "kernels/nn.h"

#define LAYER_FLAG "__lunet_layer"

/* ============================================================ protocol */

ln_Layer *ln_tolayer(lua_State *L, int idx) {
  ln_Layer *l = NULL;
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) { /* mt */
    if (lua_getfield(L, -1, LAYER_FLAG) == LUA_TLIGHTUSERDATA) {     /* mt, cls */
      l = (ln_Layer *)lua_touserdata(L, idx);
      if (l->cls != (const ln_LayerClass *)lua_touserdata(L, -1)) l = NULL;
    }
    lua_pop(L, 2);
  }
  return l;
}

ln_Layer *ln_checklayer(lua_State *L, int idx, const char *who) {
  ln_Layer *l = ln_tolayer(L, idx);
  if (l == NULL)
    ln_error(L, "%s: expected a layer or activation, got %s", who, ln_typename(L, idx));
  return l;
}

/* "<Name>:<method>" into buf */
static const char *methodname(const ln_Layer *l, const char *method, char *buf, size_t n) {
  snprintf(buf, n, "%s:%s", l->cls->name, method);
  return buf;
}

/* layer:forward(inputs, training): training nil means true */
static int m_forward(lua_State *L) {
  char who[64];
  ln_Layer *l = ln_checklayer(L, 1, "forward");
  int training = 1;
  methodname(l, "forward", who, sizeof who);
  if (!lua_isnoneornil(L, 3)) {
    if (!lua_isboolean(L, 3))
      ln_error(L, "%s: argument 2 (training) must be a boolean or nil, got %s", who, ln_typename(L, 3));
    training = lua_toboolean(L, 3);
  }
  if (ln_totensor(L, 2) == NULL)
    ln_error(L, "%s: argument 1 (inputs) must be a lunet.Tensor, got %s", who, ln_typename(L, 2));
  lua_settop(L, 2);
  l->cls->forward(L, 1, 2, training, who);
  lua_getiuservalue(L, 1, LN_UV_OUTPUT);
  return 1;
}

/* layer:backward(dvalues) */
static int m_backward(lua_State *L) {
  char who[64];
  ln_Layer *l = ln_checklayer(L, 1, "backward");
  methodname(l, "backward", who, sizeof who);
  if (ln_totensor(L, 2) == NULL)
    ln_error(L, "%s: argument 1 (dvalues) must be a lunet.Tensor, got %s", who, ln_typename(L, 2));
  lua_settop(L, 2);
  l->cls->backward(L, 1, 2, who);
  lua_getiuservalue(L, 1, LN_UV_DINPUTS);
  return 1;
}

/* tostring(layer): the class's description */
static int mm_tostring(lua_State *L) {
  char buf[128];
  ln_Layer *l = ln_checklayer(L, 1, "tostring");
  l->cls->describe(l, buf, sizeof buf);
  lua_pushstring(L, buf);
  return 1;
}

/* a Dense layer's parameter tensor `uv` (weights or biases) is set from the
** tensor at src (values copied, shape checked) */
static void setparam(lua_State *L, int self, int uv, int src, const char *what, const char *who) {
  ln_Layer *l = ln_tolayer(L, self);
  ln_Tensor *dst = ln_getuv(L, self, uv), *t = ln_totensor(L, src);
  char desc[128], sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  l->cls->describe(l, desc, sizeof desc);
  if (t == NULL)
    ln_error(L, "%s: %s must be a lunet.Tensor, got %s", who, what, ln_typename(L, src));
  if (dst == NULL)
    ln_error(L, "%s: %s has no %s yet (its sizes come from its first input; give BatchNormalization the "
             "option features)", who, desc, what);
  /* biases may also be given as a 1-D tensor of n_neurons values */
  if (!ln_sameshape(t, dst) &&
      !(uv == LN_UV_BIASES && t->ndim == 1 && t->numel == dst->numel))
    ln_error(L, "%s: %s are %s, expected %s (%s)", who, what, ln_shapestr(t, sa),
             ln_shapestr(dst, sb), desc);
  if (t->data != dst->data) memmove(dst->data, t->data, dst->numel * sizeof(float));
}

/* layer.x = v: a trainable layer's weights and biases (copied in, shape
** checked); every other assignment raises */
static int mm_newindex(lua_State *L) {
  char who[64];
  ln_Layer *l = ln_checklayer(L, 1, "__newindex");
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  snprintf(who, sizeof who, "%s", l->cls->name);
  if (l->cls->trainable && k && strcmp(k, "weights") == 0)
    setparam(L, 1, LN_UV_WEIGHTS, 3, "weights", who);
  else if (l->cls->trainable && k && strcmp(k, "biases") == 0)
    setparam(L, 1, LN_UV_BIASES, 3, "biases", who);
  else if (k)
    ln_error(L, "%s: cannot assign field '%s'%s", who, k,
             l->cls->trainable ? " (only weights and biases can be set)" : "");
  else
    ln_error(L, "%s: cannot assign a %s key", who, luaL_typename(L, 2));
  return 0;
}

static const ln_LayerClass dropout_class; /* for the `rate` field */

/* push a number field; returns 1 */
static int pushnum(lua_State *L, double v) {
  lua_pushnumber(L, (lua_Number)v);
  return 1;
}

/* fields of every layer (self at 1, key at 2): output, dinputs, inputs;
** Dense adds its parameters, gradients, sizes and regularizers; Dropout
** its rate.  Unknown keys give nil. */
static int getfield(lua_State *L) {
  static const char *const uvnames[] = {
    "output", "dinputs", "inputs", "weights", "biases", "dweights", "dbiases", NULL
  };
  ln_Layer *l = ln_tolayer(L, 1);
  const char *k;
  int i;
  if (l == NULL || lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tostring(L, 2);
  for (i = 0; uvnames[i]; i++) {
    if (strcmp(k, uvnames[i]) == 0) {
      if (i + 1 >= LN_UV_WEIGHTS && !l->cls->trainable) return 0;
      lua_getiuservalue(L, 1, i + 1);
      return 1;
    }
  }
  if (l->cls->trainable) {
    const ln_Trainable *d = (const ln_Trainable *)l;
    if (l->cls->kind == LN_KIND_DENSE) {
      const ln_Dense *dn = (const ln_Dense *)l;
      if (strcmp(k, "n_inputs") == 0) { lua_pushinteger(L, (lua_Integer)dn->n_inputs); return 1; }
      if (strcmp(k, "n_neurons") == 0) { lua_pushinteger(L, (lua_Integer)dn->n_neurons); return 1; }
    }
    if (strcmp(k, "weight_regularizer_l1") == 0) return pushnum(L, d->weight_regularizer_l1);
    if (strcmp(k, "weight_regularizer_l2") == 0) return pushnum(L, d->weight_regularizer_l2);
    if (strcmp(k, "bias_regularizer_l1") == 0) return pushnum(L, d->bias_regularizer_l1);
    if (strcmp(k, "bias_regularizer_l2") == 0) return pushnum(L, d->bias_regularizer_l2);
  }
  if (l->cls == &dropout_class && strcmp(k, "rate") == 0)
    return pushnum(L, ((const ln_Dropout *)l)->rate);
  if (l->cls->field) return l->cls->field(L, l, k);
  return 0;
}

/* layer:parameters() -> params, grads: the lists of the layer's parameter
** tensors and of their gradients, in the same order (Dense: weights, biases
** and dweights, dbiases; empty lists for a layer without parameters).  The
** tensors are the layer's own; gradients not computed yet are zeros of the
** parameters' shapes (issue 14: what an optimizer over a flat list of
** parameters takes, and what a Lua layer lists in self.params/self.grads) */
static int m_parameters(lua_State *L) {
  ln_Layer *l = ln_checklayer(L, 1, "parameters");
  lua_newtable(L); /* 2: params */
  lua_newtable(L); /* 3: grads */
  if (l->cls->trainable && ln_getuv(L, 1, LN_UV_WEIGHTS) == NULL) {
    char desc[128];
    l->cls->describe(l, desc, sizeof desc);
    ln_error(L, "%s:parameters: %s has no parameters yet (its sizes come from its first input)", l->cls->name, desc);
  }
  if (l->cls->trainable) {
    static const int p[2] = { LN_UV_WEIGHTS, LN_UV_BIASES }, g[2] = { LN_UV_DWEIGHTS, LN_UV_DBIASES };
    int k;
    for (k = 0; k < 2; k++) {
      ln_Tensor *w = ln_getuv(L, 1, p[k]), *d = ln_getuv(L, 1, g[k]);
      if (d == NULL || !ln_sameshape(d, w)) { /* none yet: zeros of the parameter's shape */
        d = ln_buffer(L, 1, g[k], w->ndim, w->dims);
        memset(d->data, 0, d->numel * sizeof(float));
      }
      lua_getiuservalue(L, 1, p[k]);
      lua_rawseti(L, 2, k + 1);
      lua_getiuservalue(L, 1, g[k]);
      lua_rawseti(L, 3, k + 1);
    }
  }
  return 2;
}

/* Register cls: metatable "lunet.<name>" flagged as a layer, with the
** methods forward, backward and those given (may be NULL), __tostring and
** __newindex.  Leaves the stack as it found it. */
void ln_newlayerclass(lua_State *L, const ln_LayerClass *cls, const ln_Method *methods) {
  static const ln_Method common[] = {
    {"forward", m_forward, 2}, {"backward", m_backward, 1}, {"parameters", m_parameters, 0}, {NULL, NULL, 0}
  };
  static const luaL_Reg meta[] = {
    {"__tostring", mm_tostring}, {"__newindex", mm_newindex}, {NULL, NULL}
  };
  char name[64];
  snprintf(name, sizeof name, "lunet.%s", cls->name);
  ln_newclass(L, name, common, meta, getfield);  /* mt */
  ln_addmethods(L, name, methods);
  lua_pushlightuserdata(L, (void *)(uintptr_t)cls);
  lua_setfield(L, -2, LAYER_FLAG);               /* mt.__lunet_layer = cls */
  lua_pop(L, 1);
}

ln_Layer *ln_newlayer(lua_State *L, const ln_LayerClass *cls, size_t sz) {
  char name[64];
  ln_Layer *l = (ln_Layer *)lua_newuserdatauv(L, sz, LN_LAYER_NUV);
  memset(l, 0, sz);
  l->cls = cls;
  snprintf(name, sizeof name, "lunet.%s", cls->name);
  luaL_setmetatable(L, name);
  return l;
}

/* push a copy of the layer at idx with its settings (the struct) and none
** of its buffers: a layer without parameters at a second position of a
** model gets its own (API.md, "Sharing objects") */
ln_Layer *ln_layer_clone(lua_State *L, int idx) {
  const ln_Layer *src = ln_checklayer(L, idx, "clone");
  size_t sz = lua_rawlen(L, idx);
  ln_Layer *l = ln_newlayer(L, src->cls, sz);
  memcpy(l, src, sz);
  return l;
}

ln_Tensor *ln_argtensor(lua_State *L, int idx, const char *what, const char *who) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t == NULL) ln_error(L, "%s: %s must be a lunet.Tensor, got %s", who, what, ln_typename(L, idx));
  return t;
}

/* buffer uv of obj resized to rows x cols, never sharing memory with
** a or b (may be NULL): a fresh tensor replaces it if it would, since gemm
** needs distinct arrays (e.g. for dense:forward(dense.output)) */
ln_Tensor *ln_freshbuffer(lua_State *L, int obj, int uv, int ndim, const size_t *dims, const ln_Tensor *a,
                          const ln_Tensor *b) {
  ln_Tensor *t = ln_getuv(L, obj, uv);
  if (t && ((a && ln_overlaps(t, a)) || (b && ln_overlaps(t, b)))) {
    lua_pushnil(L);
    ln_setuv(L, obj, uv);
  }
  return ln_buffer(L, obj, uv, ndim, dims);
}

/* the same for a rows x cols matrix */
static ln_Tensor *freshbuffer(lua_State *L, int obj, int uv, size_t rows, size_t cols,
                              const ln_Tensor *a, const ln_Tensor *b) {
  size_t d[2];
  d[0] = rows;
  d[1] = cols;
  return ln_freshbuffer(L, obj, uv, 2, d, a, b);
}

ln_Tensor *ln_keptinputs(lua_State *L, int self, const char *who) {
  ln_Tensor *in = ln_getuv(L, self, LN_UV_INPUTS);
  if (in == NULL) ln_error(L, "%s: no forward pass yet (call forward before backward)", who);
  return in;
}

/* =============================================================== Dense */

/* "Dense(784 -> 128)" */
static void dense_describe(const ln_Layer *l, char *buf, size_t n) {
  const ln_Dense *d = (const ln_Dense *)l;
  snprintf(buf, n, "Dense(%zu -> %zu)", d->n_inputs, d->n_neurons);
}

/* output = inputs @ weights + biases; keeps inputs */
static ln_Tensor *dense_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  ln_Dense *d;
  ln_Tensor *in, *out, *w, *b;
  float *scratch;
  char desc[64], sb[LN_SHAPELEN];
  (void)training;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  d = (ln_Dense *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  if (in->ndim != 2 || in->dims[1] != d->n_inputs) {
    dense_describe(&d->t.base, desc, sizeof desc);
    if (in->ndim != 2)
      ln_error(L, "%s: inputs are %s, expected a 2-D tensor with %zu columns (%s)", who,
               ln_shapestr(in, sb), d->n_inputs, desc);
    ln_error(L, "%s: inputs are %s, expected %zu columns (%s)", who, ln_shapestr(in, sb),
             d->n_inputs, desc);
  }
  w = ln_getuv(L, self, LN_UV_WEIGHTS);
  b = ln_getuv(L, self, LN_UV_BIASES);
  out = freshbuffer(L, self, LN_UV_OUTPUT, in->dims[0], d->n_neurons, in, NULL);
  scratch = ln_nn_dense_split(d->n_inputs) ? ln_buffer2(L, self, LN_UV_EXTRA, in->dims[0], d->n_neurons)->data
                                             : NULL;
  ln_nn_dense_forward(in->dims[0], d->n_inputs, d->n_neurons, in->data, w->data, b->data, scratch, out->data);
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

/* dweights, dbiases (with the regularizers' gradients) and dinputs */
static ln_Tensor *dense_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Dense *d;
  ln_Tensor *in, *dv, *w, *dw, *db, *din;
  char sa[LN_SHAPELEN];
  size_t rows;
  self = lua_absindex(L, self);
  dv_idx = lua_absindex(L, dv_idx);
  d = (ln_Dense *)ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  in = ln_keptinputs(L, self, who);
  if (in->ndim != 2 || in->dims[1] != d->n_inputs)
    ln_error(L, "%s: the inputs kept by forward have changed shape (now %s); call forward again",
             who, ln_shapestr(in, sa));
  rows = in->dims[0];
  if (dv->ndim != 2 || dv->dims[0] != rows || dv->dims[1] != d->n_neurons)
    ln_error(L, "%s: dvalues are %s, expected %zux%zu (the last forward's output shape)", who,
             ln_shapestr(dv, sa), rows, d->n_neurons);
  w = ln_getuv(L, self, LN_UV_WEIGHTS);
  dw = freshbuffer(L, self, LN_UV_DWEIGHTS, d->n_inputs, d->n_neurons, dv, in);
  db = freshbuffer(L, self, LN_UV_DBIASES, 1, d->n_neurons, dv, NULL);
  din = freshbuffer(L, self, LN_UV_DINPUTS, rows, d->n_inputs, dv, w);
  ln_nn_dense_backward(rows, d->n_inputs, d->n_neurons, in->data, w->data, dv->data,
                       dw->data, db->data, din->data);
  ln_layer_reg_grad(L, self);
  return din;
}

/* layer:get_parameters() -> weights, biases (the layer's own tensors) */
static int dense_get_parameters(lua_State *L) {
  ln_Layer *l = ln_checklayer(L, 1, "Dense:get_parameters");
  if (!l->cls->trainable) ln_error(L, "Dense:get_parameters: expected a Dense layer, got %s", ln_typename(L, 1));
  lua_getiuservalue(L, 1, LN_UV_WEIGHTS);
  lua_getiuservalue(L, 1, LN_UV_BIASES);
  return 2;
}

/* layer:set_parameters(weights, biases): values copied in, shapes checked */
static int dense_set_parameters(lua_State *L) {
  const char *who = "Dense:set_parameters";
  ln_Layer *l = ln_checklayer(L, 1, who);
  ln_Tensor *w, *b;
  char desc[64], sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  if (!l->cls->trainable) ln_error(L, "%s: expected a Dense layer, got %s", who, ln_typename(L, 1));
  /* check both before copying either, so an error leaves the layer as it was */
  w = ln_argtensor(L, 2, "argument 1 (weights)", who);
  b = ln_argtensor(L, 3, "argument 2 (biases)", who);
  l->cls->describe(l, desc, sizeof desc);
  if (!ln_sameshape(w, ln_getuv(L, 1, LN_UV_WEIGHTS)))
    ln_error(L, "%s: weights are %s, expected %s (%s)", who, ln_shapestr(w, sa),
             ln_shapestr(ln_getuv(L, 1, LN_UV_WEIGHTS), sb), desc);
  (void)b;
  setparam(L, 1, LN_UV_BIASES, 3, "biases", who);
  setparam(L, 1, LN_UV_WEIGHTS, 2, "weights", who);
  return 0;
}

static int dense_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err, size_t n);
static int dense_field(lua_State *L, const ln_Layer *l, const char *k) {
  if (strcmp(k, "init") == 0) {
    lua_pushstring(L, ln_initname((ln_Init)((const ln_Dense *)l)->init));
    return 1;
  }
  return 0;
}

static const ln_LayerClass dense_class = {
  "Dense", 1, dense_forward, dense_backward, dense_describe, NULL, 0, LN_KIND_DENSE, dense_outshape, dense_field, NULL,
  &ln_op_dense, NULL
};

/* glibc prints "-nan" */
const char *ln_numstr(double v, char *buf, size_t n) {
  if (v != v) snprintf(buf, n, "nan");
  else snprintf(buf, n, "%g", v);
  return buf;
}

size_t ln_checksize(lua_State *L, int idx, const char *what, const char *who) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum) {
    char nb[32];
    if (lua_type(L, idx) == LUA_TNUMBER)
      ln_error(L, "%s: %s must be a positive integer, got %s", who, what,
               ln_numstr((double)lua_tonumber(L, idx), nb, sizeof nb));
    ln_error(L, "%s: %s must be a positive integer, got %s", who, what, ln_typename(L, idx));
  }
  if (v < 1) ln_error(L, "%s: %s must be a positive integer, got %lld", who, what, (long long)v);
  if ((unsigned long long)v > LN_MAXNUMEL)
    ln_error(L, "%s: %s is too large (%lld)", who, what, (long long)v);
  return (size_t)v;
}

/* one sample of a Dense: n_inputs values in, n_neurons out (known even
** when the input is not: nd < 0) */
static int dense_outshape(const ln_Layer *l, int nd, const size_t *in, int *ond, size_t *out, char *err, size_t n) {
  const ln_Dense *d = (const ln_Dense *)l;
  if (nd >= 0 && (nd != 1 || in[0] != d->n_inputs)) {
    snprintf(err, n, nd == 1 ? "expects %zu inputs" : "expects %zu inputs (add lunet.Flatten() before it)",
             d->n_inputs);
    return -1;
  }
  *ond = 1;
  out[0] = d->n_neurons;
  return 1;
}

/* lunet.Dense(n_inputs, n_neurons, { weight_regularizer_l1 = 0, ..., init = "book" }) */
static int l_dense(lua_State *L) {
  static const char *const opts[] = {
    "weight_regularizer_l1", "weight_regularizer_l2", "bias_regularizer_l1",
    "bias_regularizer_l2", "init", NULL
  };
  const char *who = "lunet.Dense";
  size_t nin = ln_checksize(L, 1, "argument 1 (n_inputs)", who);
  size_t nout = ln_checksize(L, 2, "argument 2 (n_neurons)", who);
  ln_Trainable regs;
  ln_Init init;
  ln_Dense *d;
  ln_Tensor *w;
  if (nin > LN_MAXNUMEL / nout)
    ln_error(L, "%s: %zu x %zu weights are too many", who, nin, nout);
  ln_checkoptions(L, 3, who, opts);
  ln_checkregs(L, 3, &regs, who);
  init = ln_optinit(L, 3, LN_INIT_BOOK, who);
  lua_settop(L, 0);
  d = (ln_Dense *)ln_newlayer(L, &dense_class, sizeof *d);        /* d */
  regs.base = d->t.base;
  d->t = regs;
  d->n_inputs = nin;
  d->n_neurons = nout;
  d->init = init;
  w = ln_newmatrix(L, nin, nout);                               /* d, w */
  ln_initweights(L, init, nin, nout, w->numel, w->data);
  ln_setuv(L, 1, LN_UV_WEIGHTS);                                /* d */
  ln_newmatrix(L, 1, nout);                                     /* d, b */
  ln_setuv(L, 1, LN_UV_BIASES);                                 /* d */
  return 1;
}

/* ============================================================= Dropout */

/* "Dropout(0.1)" */
static void dropout_describe(const ln_Layer *l, char *buf, size_t n) {
  snprintf(buf, n, "Dropout(%.15g)", ((const ln_Dropout *)l)->rate);
}

/* training: output = inputs * mask with a new mask drawn from r; else a
** copy of inputs (and a mask of ones, so backward passes dvalues through) */
ln_Tensor *ln_dropout_forward(lua_State *L, int self, int in_idx, int training, ln_Rng *r, const char *who) {
  ln_Dropout *d;
  ln_Tensor *in, *mask, *out;
  self = lua_absindex(L, self);
  in_idx = lua_absindex(L, in_idx);
  d = (ln_Dropout *)ln_checklayer(L, self, who);
  in = ln_argtensor(L, in_idx, "inputs", who);
  mask = ln_buffer_like(L, self, LN_UV_EXTRA, in);
  out = ln_buffer_like(L, self, LN_UV_OUTPUT, in);
  if (training) {
    ln_nn_dropout_mask(r, mask->numel, d->rate, mask->data);
    ln_nn_dropout_apply(in->numel, in->data, mask->data, out->data);
  } else {
    size_t i;
    for (i = 0; i < mask->numel; i++) mask->data[i] = 1.0f;
    if (out->data != in->data) memmove(out->data, in->data, in->numel * sizeof(float));
  }
  lua_pushvalue(L, in_idx);
  ln_setuv(L, self, LN_UV_INPUTS);
  return out;
}

/* the layer's own forward: masks from the state's generator */
static ln_Tensor *dropout_forward(lua_State *L, int self, int in_idx, int training, const char *who) {
  return ln_dropout_forward(L, self, in_idx, training, training ? ln_getrng(L) : NULL, who);
}

/* dinputs = dvalues * mask */
static ln_Tensor *dropout_backward(lua_State *L, int self, int dv_idx, const char *who) {
  ln_Tensor *dv, *mask, *din;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  self = lua_absindex(L, self);
  ln_checklayer(L, self, who);
  dv = ln_argtensor(L, dv_idx, "dvalues", who);
  mask = ln_getuv(L, self, LN_UV_EXTRA);
  if (mask == NULL) ln_error(L, "%s: no forward pass yet (call forward before backward)", who);
  if (!ln_sameshape(dv, mask))
    ln_error(L, "%s: dvalues are %s, expected %s (the last forward's output shape)", who,
             ln_shapestr(dv, sa), ln_shapestr(mask, sb));
  din = ln_buffer_like(L, self, LN_UV_DINPUTS, dv);
  ln_nn_dropout_apply(dv->numel, dv->data, mask->data, din->data);
  return din;
}

/* its op's setting 0: the fraction dropped */
static void dropout_node(ln_Layer *l, ln_Node *n) {
  n->setting[0] = ((const ln_Dropout *)l)->rate;
}

static const ln_LayerClass dropout_class = {
  "Dropout", 0, dropout_forward, dropout_backward, dropout_describe, NULL, 0, LN_KIND_DROPOUT, NULL, NULL, NULL,
  &ln_op_dropout, dropout_node
};

/* lunet.Dropout(rate): rate = fraction dropped, in [0, 1) */
static int l_dropout(lua_State *L) {
  int isnum;
  lua_Number rate = lua_tonumberx(L, 1, &isnum);
  ln_Dropout *d;
  char nb[32];
  if (!isnum)
    ln_error(L, "lunet.Dropout: argument 1 (rate) must be a number, got %s", ln_typename(L, 1));
  if (!(rate >= 0.0 && rate < 1.0))
    ln_error(L, "lunet.Dropout: argument 1 (rate) must be in [0, 1), got %s",
             ln_numstr((double)rate, nb, sizeof nb));
  d = (ln_Dropout *)ln_newlayer(L, &dropout_class, sizeof *d);
  d->rate = (double)rate;
  return 1;
}

/* ================================================================ open */

void ln_open_layers(lua_State *L) {
  static const ln_Method dense_methods[] = {
    {"get_parameters", dense_get_parameters, 0}, {"set_parameters", dense_set_parameters, 2},
    {NULL, NULL, 0}
  };
  ln_newlayerclass(L, &dense_class, dense_methods);
  ln_newlayerclass(L, &dropout_class, NULL);
  lua_pushcfunction(L, l_dense);
  lua_setfield(L, -2, "Dense");
  lua_pushcfunction(L, l_dropout);
  lua_setfield(L, -2, "Dropout");
  ln_open_layers_input(L);
  ln_open_layers_conv(L);
  ln_open_layers_pool(L);
  ln_open_layers_norm(L);
}
