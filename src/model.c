/*
** model.c: lunet.Model, the book's Model class: the object, add, set,
** finalize, the layer-by-layer forward and backward (the book's Model.forward
** and .backward, evaluation and predict), and the parameters.  Training steps
** are in model_train.c over the plan that model_plan.c sets up; the epoch
** loop, printing, history and callbacks are Lua (lua/lunet/model.lua).
** Shared names in model.h.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "engine/op.h"
#include "kernels/nn.h"
#include "kernels/loss.h"

Model *ln_model_check(lua_State *L, int idx) {
  return (Model *)luaL_checkudata(L, idx, LN_MODEL);
}

int ln_model_nlayers(lua_State *L, int model) {
  int n;
  lua_getiuservalue(L, model, UV_LAYERS);
  n = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  return n;
}

/* push layer i (1-based) of the model; returns it, or NULL for a Lua layer */
ln_Layer *ln_model_layer(lua_State *L, int model, int i) {
  lua_getiuservalue(L, model, UV_LAYERS);
  lua_rawgeti(L, -1, i);
  lua_remove(L, -2);
  return lua_type(L, -1) == LUA_TUSERDATA ? ln_tolayer(L, -1) : NULL;
}

/* "Dense(128 -> 10)" or "Lua layer Scale" for the layer l at stack index idx */
static void describe(lua_State *L, int idx, const ln_Layer *l, char *buf, size_t n) {
  if (l) l->cls->describe(l, buf, n);
  else ln_lualayer_describe(L, idx, buf, n);
}

/* "Model:train: layer 3 (Dense(128 -> 10))" for layer i, at stack index idx */
const char *ln_model_layerwho(lua_State *L, int idx, char *buf, size_t n, const char *fn, int i, const ln_Layer *l) {
  char d[128];
  describe(L, idx, l, d, sizeof d);
  snprintf(buf, n, "%s: layer %d (%s)", fn, i, d);
  return buf;
}

/* ln_model_layerwho(.., "Model:train: optimizer, trainable", j, l), kept in the model
** for the first WHO_CACHED trainable layers */
const char *ln_model_trainwho(lua_State *L, Model *m, char *buf, size_t n, int j, const ln_Layer *l) {
  if (j < 1 || j > WHO_CACHED) return ln_model_layerwho(L, -1, buf, n, "Model:train: optimizer, trainable", j, l);
  if (m->who_layer[j - 1] != l) {
    ln_model_layerwho(L, -1, m->who[j - 1], sizeof m->who[j - 1], "Model:train: optimizer, trainable", j, l);
    m->who_layer[j - 1] = l;
  }
  return m->who[j - 1];
}
/* lunet.Model() */
static int l_model(lua_State *L) {
  Model *m = (Model *)lua_newuserdatauv(L, sizeof *m, MODEL_NUV);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, LN_MODEL);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_LAYERS);
  return 1;
}

/* model:add(layer).  A layer without parameters already at a position of
** this model is added as a copy with buffers of its own, so each position
** keeps its own inputs and outputs (as two objects would); a layer with
** parameters at a second position raises (API.md, "Sharing objects") */
static int m_add(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  ln_Layer *l = ln_tolayer(L, 2);
  int n, i;
  if (l == NULL && !ln_islualayer(L, 2))
    ln_error(L, "Model:add: argument 1 must be a layer or activation (lunet.Dense, lunet.ReLU, ...) or a Lua "
             "layer (a table with forward and backward methods), got %s", ln_typename(L, 2));
  n = ln_model_nlayers(L, 1);
  lua_settop(L, 2);
  for (i = 1; i <= n; i++) {
    int same;
    ln_model_layer(L, 1, i);
    same = lua_rawequal(L, -1, 2);
    lua_pop(L, 1);
    if (!same) continue;
    if (l == NULL) {
      char d[128];
      ln_lualayer_describe(L, 2, d, sizeof d);
      ln_error(L, "Model:add: layer %d (%s) is the object already at layer %d: a Lua layer keeps its inputs on "
               "itself and can sit at one position only (make another one)", n + 1, d, i);
    }
    if (l->cls->trainable) {
      char d[128];
      l->cls->describe(l, d, sizeof d);
      ln_error(L, "Model:add: layer %d (%s) is the object already at layer %d: a layer with parameters can sit "
               "at one position only (make another lunet.%s)", n + 1, d, i, l->cls->name);
    }
    ln_layer_clone(L, 2);
    lua_replace(L, 2);
    break;
  }
  lua_getiuservalue(L, 1, UV_LAYERS);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, n + 1);
  m->finalized = 0;
  lua_settop(L, 1);
  return 1;
}

/* model:set{ loss = ..., optimizer = ..., accuracy = ... } */
static int m_set(lua_State *L) {
  static const char *const keys[] = {"loss", "optimizer", "accuracy", NULL};
  Model *m = ln_model_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  ln_checkoptions(L, 2, "Model:set", keys);
  if (lua_getfield(L, 2, "loss") != LUA_TNIL) {
    ln_Loss *loss = ln_toloss(L, -1);
    if (loss == NULL || loss->cls->op == NULL) /* (NULL: the combined object) */
      ln_error(L, "Model:set: loss must be a loss object (lunet.CategoricalCrossentropy, ...), got %s",
               ln_typename(L, -1));
    lua_setiuservalue(L, 1, UV_LOSS);
  } else lua_pop(L, 1);
  if (lua_getfield(L, 2, "optimizer") != LUA_TNIL) {
    if (ln_tooptimizer(L, -1) == NULL)
      ln_error(L, "Model:set: optimizer must be an optimizer (lunet.Adam, lunet.SGD, ...), got %s",
               ln_typename(L, -1));
    lua_setiuservalue(L, 1, UV_OPT);
  } else lua_pop(L, 1);
  if (lua_getfield(L, 2, "accuracy") != LUA_TNIL) {
    if (ln_toaccuracy(L, -1) == NULL)
      ln_error(L, "Model:set: accuracy must be an accuracy object (lunet.CategoricalAccuracy, ...), got %s",
               ln_typename(L, -1));
    lua_setiuservalue(L, 1, UV_ACC);
  } else lua_pop(L, 1);
  m->finalized = 0;
  lua_settop(L, 1);
  return 1;
}

/* model:_shapes(): the sample shape of each layer's output ({ 32, 26, 26 }),
** false where unknown before the first batch (for the summary) */
static int m_shapes(lua_State *L) {
  ln_model_check(L, 1);
  lua_settop(L, 1);
  lua_newtable(L);
  ln_model_walkshapes(L, 1, 2, "Model:summary");
  return 1;
}

/* model:finalize(): check the chain of sizes, find trainable layers, pick
** the combined softmax/cross-entropy path when the last layer is Softmax
** and the loss is categorical cross-entropy */
static int m_finalize(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  int n = ln_model_nlayers(L, 1), i, ntrain = 0;
  ln_Loss *loss;
  ln_Layer *last;
  if (n == 0) ln_error(L, "Model:finalize: the model has no layers (use model:add)");
  lua_settop(L, 1);
  ln_model_walkshapes(L, 1, 0, "Model:finalize");
  ln_model_rng(L, m); /* the first finalize seeds the model's generator from the state's */
  lua_getiuservalue(L, 1, UV_LOSS);
  loss = ln_toloss(L, -1);
  lua_pop(L, 1);
  lua_newtable(L); /* trainable */
  for (i = 1; i <= n; i++) {
    ln_Layer *l = ln_model_layer(L, 1, i);
    if (l == NULL) { /* a Lua layer: trainable when it lists parameters */
      int np = ln_lualayer_params(L, -1, 0, "Model:finalize");
      lua_pop(L, 1);
      if (np > 0) lua_rawseti(L, -2, ++ntrain);
      else lua_pop(L, 1);
      continue;
    }
    if (l->cls->trainable) lua_rawseti(L, -2, ++ntrain);
    else lua_pop(L, 1);
  }
  lua_setiuservalue(L, 1, UV_TRAINABLE);
  if (loss) { /* the loss remembers the trainable layers (user value 3), as in the book */
    lua_getiuservalue(L, 1, UV_LOSS);
    lua_getiuservalue(L, 1, UV_TRAINABLE);
    lua_setiuservalue(L, -2, 3);
    lua_pop(L, 1);
  }
  last = ln_model_layer(L, 1, n);
  lua_pop(L, 1);
  if (loss && last && last->cls->kind == LN_KIND_SOFTMAX && loss->cls->op == &ln_op_loss_cce)
    ln_new_softmax_cce(L);
  else
    lua_pushnil(L);
  lua_setiuservalue(L, 1, UV_COMBINED);
  m->finalized = 1;
  lua_settop(L, 1);
  return 1;
}

/* raise unless the model is ready for `what` (train needs all three) */
void ln_model_checkready(lua_State *L, Model *m, const char *who, int needtrain) {
  if (!m->finalized) ln_error(L, "%s: call model:finalize() first (after add and set)", who);
  if (lua_getiuservalue(L, 1, UV_LOSS) == LUA_TNIL && needtrain)
    ln_error(L, "%s: no loss set (model:set{ loss = ... })", who);
  lua_pop(L, 1);
  if (needtrain > 1 && lua_getiuservalue(L, 1, UV_OPT) == LUA_TNIL)
    ln_error(L, "%s: no optimizer set (model:set{ optimizer = ... })", who);
  if (needtrain > 1) lua_pop(L, 1);
  if (needtrain && lua_getiuservalue(L, 1, UV_ACC) == LUA_TNIL)
    ln_error(L, "%s: no accuracy set (model:set{ accuracy = ... })", who);
  if (needtrain) lua_pop(L, 1);
}

/* forward through layers first..last from the tensor on the stack top,
** which is replaced by the last layer's output */
void ln_model_forward_range(lua_State *L, int first, int last, int training, const char *fn) {
  int i;
  char who[256];
  for (i = first; i <= last; i++) {
    int top = lua_gettop(L);
    ln_Layer *l = ln_model_layer(L, 1, i);
    ln_model_layerwho(L, top + 1, who, sizeof who, fn, i, l);
    if (l == NULL) { /* in, layer, out */
      ln_lualayer_forward(L, top + 1, top, training, who);
      lua_replace(L, top);
      lua_settop(L, top);
      continue;
    }
    if (l->cls->kind == LN_KIND_DROPOUT) /* masks from the model's own generator */
      ln_dropout_forward(L, top + 1, top, training, training ? ln_model_rng(L, (Model *)lua_touserdata(L, 1)) : NULL,
                         who);
    else l->cls->forward(L, top + 1, top, training, who);
    lua_settop(L, top + 1);
    lua_getiuservalue(L, top + 1, LN_UV_OUTPUT); /* in, layer, out */
    lua_replace(L, top);
    lua_settop(L, top);
  }
}

/* forward through all layers from the tensor at in_idx; leaves the output
** on the stack top */
void ln_model_forward_all(lua_State *L, int in_idx, int training, const char *fn) {
  lua_pushvalue(L, in_idx);
  ln_model_forward_range(L, 1, ln_model_nlayers(L, 1), training, fn);
}

/* backward from the tensor on the stack top through layers hi..lo, which
** is replaced by layer lo's dinputs */
void ln_model_backward_range(lua_State *L, int hi, int lo, const char *fn) {
  int i;
  char who[256];
  for (i = hi; i >= lo; i--) {
    int top = lua_gettop(L);
    ln_Layer *l = ln_model_layer(L, 1, i);
    ln_model_layerwho(L, top + 1, who, sizeof who, fn, i, l);
    if (l == NULL) ln_lualayer_backward(L, top + 1, top, who); /* dv, layer, dinputs */
    else {
      l->cls->backward(L, top + 1, top, who);
      lua_getiuservalue(L, top + 1, LN_UV_DINPUTS);
    }
    lua_replace(L, top);
    lua_settop(L, top);
  }
}

/* model:forward(X, training): the book's Model.forward; returns the output */
static int m_forward(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  ln_checktensor(L, 2);
  if (!m->finalized) ln_error(L, "Model:forward: call model:finalize() first");
  lua_settop(L, 3);
  ln_model_forward_all(L, 2, lua_toboolean(L, 3), "Model:forward");
  return 1;
}

/* model:backward(output, y): the book's Model.backward */
static int m_backward(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  int n = ln_model_nlayers(L, 1);
  ln_checktensor(L, 2);
  ln_checktensor(L, 3);
  ln_model_checkready(L, m, "Model:backward", 1);
  lua_settop(L, 3);
  if (lua_getiuservalue(L, 1, UV_COMBINED) != LUA_TNIL) {
    ln_softmax_cce_backward(L, 4, 2, 3, "Model:backward: softmax/cross-entropy");
    lua_getiuservalue(L, 4, LN_UV_DINPUTS);
    ln_model_backward_range(L, n - 1, 1, "Model:backward");
  } else {
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_LOSS);
    ln_loss_backward(L, 4, 2, 3, "Model:backward: loss");
    lua_getiuservalue(L, 4, 2);
    ln_model_backward_range(L, n, 1, "Model:backward");
  }
  return 0;
}

/* rows first.. (0-based) of src, or rows perm[first..], into dst (count rows) */
static void copyrows(ln_Tensor *dst, const ln_Tensor *src, size_t first, size_t count, const size_t *perm) {
  size_t stride = ln_cols(src);
  if (perm) ln_batchrows(dst->data, src->data, stride, stride, perm, first, 0, count);
  else memcpy(dst->data, src->data + first * stride, count * stride * sizeof(float));
}

/* copy `count` rows of src starting at row first (0-based), or the rows
** perm[first..] when perm is given, into the buffer uv of the model (only
** sized when copy is 0: the plan copies the rows on its threads, or reads
** them in place and leaves the copy to m_sync_inputs).
** Unshuffled batches are copied too, not viewed: a view would keep the
** caller's whole data set alive after training (through the layers'
** `inputs`), and the copy costs about 4% of a step. */
int ln_model_gather(lua_State *L, int uv, const ln_Tensor *src, size_t first, size_t count, const size_t *perm,
                  int copy) {
  size_t dims[LN_MAXDIM];
  ln_Tensor *b;
  memcpy(dims, src->dims, sizeof dims);
  dims[0] = count;
  b = ln_buffer(L, 1, uv, src->ndim, dims);
  if (copy) copyrows(b, src, first, count, perm);
  lua_getiuservalue(L, 1, uv);
  return lua_gettop(L);
}

/* check X and y agree and the range is inside them */
void ln_model_checkxy(lua_State *L, const ln_Tensor *X, const ln_Tensor *Y, const char *who) {
  char sx[LN_SHAPELEN], sy[LN_SHAPELEN];
  if (X->dims[0] != Y->dims[0])
    ln_error(L, "%s: X has %zu samples (shape %s) but y has %zu (shape %s)", who, X->dims[0], ln_shapestr(X, sx),
             Y->dims[0], ln_shapestr(Y, sy));
}

/* predictions of the output at out_idx into the model's buffer; pushes it */
int ln_model_predictions(lua_State *L, int out_idx) {
  int n = ln_model_nlayers(L, 1);
  ln_Layer *last = ln_model_layer(L, 1, n);
  ln_Tensor *out = ln_totensor(L, out_idx), *dst;
  lua_pop(L, 1);
  if (last == NULL || last->cls->predictions == NULL) { /* not an activation: identity */
    dst = ln_buffer_like(L, 1, UV_PRED, out);
    memcpy(dst->data, out->data, out->numel * sizeof(float));
  } else {
    if (last->cls->pred_argmax) { size_t r = out->dims[0]; dst = ln_buffer(L, 1, UV_PRED, 1, &r); }
    else dst = ln_buffer_like(L, 1, UV_PRED, out);
    last->cls->predictions(last, out, dst);
  }
  lua_getiuservalue(L, 1, UV_PRED);
  return lua_gettop(L);
}

/* before a cross-entropy's calculate on a batch: raise naming the row of y
** (not of the batch) when a label of the batch at by (1-D) is not in 1..K,
** K the output's columns, or a binary target is outside [0, 1]; the batch
** holds rows first.. of y, or perm[first..].  The loss's own check would
** name the batch's row */
void ln_model_checklabels(lua_State *L, int loss, int out, int by, size_t first, const size_t *perm, const char *who) {
  const ln_Loss *l = ln_toloss(L, loss);
  const ln_Tensor *o = ln_totensor(L, out), *y = ln_totensor(L, by);
  size_t n, bad, row;
  float v;
  if (l && y && l->cls->op == &ln_op_loss_bce) { /* targets in [0, 1] */
    size_t i, cols = ln_cols(y);
    for (i = 0; i < y->numel; i++)
      if (!(y->data[i] >= 0.0f && y->data[i] <= 1.0f)) {
        row = (perm ? perm[first + i / cols] : first + i / cols) + 1;
        ln_error(L, "%s: y %g at row %zu of y is outside [0, 1] (binary cross-entropy takes 0/1 targets or "
                 "probabilities; for labels 1..2 pass y - 1)", who, (double)y->data[i], row);
      }
    return;
  }
  if (l == NULL || l->cls->op != &ln_op_loss_cce || o == NULL || y == NULL || o->ndim != 2 ||
      y->ndim != 1 || y->dims[0] != o->dims[0])
    return; /* the loss raises about shapes itself */
  n = y->dims[0];
  bad = ln_labels_check(n, y->data, o->dims[1]);
  if (bad >= n) return;
  v = y->data[bad];
  row = (perm ? perm[first + bad] : first + bad) + 1;
  if (v == floorf(v)) ln_error(L, "%s: label %g at row %zu of y is outside 1..%zu", who, (double)v, row, o->dims[1]);
  ln_error(L, "%s: label %g at row %zu of y is not an integer", who, (double)v, row);
}

/* the tensor X at idx, or an error naming who and X's type (luaL's
** "bad argument #2 to '?'" does not name the method under pcall) */
static ln_Tensor *checkx(lua_State *L, int idx, const char *who) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t == NULL) ln_error(L, "%s: argument 1 (X) must be a lunet.Tensor, got %s", who, ln_typename(L, idx));
  return t;
}

/* model:predict(X, { batch_size = nil }) -> output tensor, in batches */
static int m_predict(lua_State *L) {
  static const char *const keys[] = {"batch_size", NULL};
  Model *m = ln_model_check(L, 1);
  ln_Tensor *X = checkx(L, 2, "Model:predict"), *res = NULL;
  lua_Integer bs;
  size_t N = X->dims[0], first, cols = 0;
  ln_checkoptions(L, 3, "Model:predict", keys);
  bs = ln_optinteger(L, 3, "batch_size", (lua_Integer)N, "Model:predict");
  if (bs < 1) ln_error(L, "Model:predict: batch_size must be positive, got %lld", (long long)bs);
  if (!m->finalized) ln_error(L, "Model:predict: call model:finalize() first");
  lua_settop(L, 2);
  lua_pushnil(L);
  lua_setiuservalue(L, 1, UV_OUT);
  for (first = 0; first < N; first += (size_t)bs) {
    size_t count = N - first < (size_t)bs ? N - first : (size_t)bs;
    int bx = ln_model_gather(L, UV_BX, X, first, count, NULL, 1);
    ln_Tensor *out;
    ln_model_forward_all(L, bx, 0, "Model:predict");
    out = ln_totensor(L, -1);
    if (res == NULL) {
      size_t dims[LN_MAXDIM];
      memcpy(dims, out->dims, sizeof dims);
      dims[0] = N;
      cols = ln_cols(out);
      res = ln_newtensor_uninit(L, out->ndim, dims);
      lua_setiuservalue(L, 1, UV_OUT);
    }
    memcpy(res->data + first * cols, out->data, count * cols * sizeof(float));
    lua_settop(L, 2);
  }
  lua_getiuservalue(L, 1, UV_OUT);
  lua_pushnil(L);
  lua_setiuservalue(L, 1, UV_OUT);
  return 1;
}

/* push a new list of the parameter tensors of the trainable layer at idx
** (Dense: weights, biases; a Lua layer: its params); returns its length */
static int pushparams(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (ln_tolayer(L, idx) == NULL) {
    int i, n = ln_lualayer_params(L, idx, 0, "Model:get_parameters");
    lua_createtable(L, n, 0);  /* params, copy */
    for (i = 1; i <= n; i++) { lua_rawgeti(L, -2, i); lua_rawseti(L, -2, i); }
    lua_remove(L, -2);
    return n;
  }
  lua_createtable(L, 2, 0);
  lua_getiuservalue(L, idx, LN_UV_WEIGHTS);
  lua_rawseti(L, -2, 1);
  lua_getiuservalue(L, idx, LN_UV_BIASES);
  lua_rawseti(L, -2, 2);
  return 2;
}

/* model:get_parameters(): per trainable layer, the list of its parameter
** tensors (Dense: { weights, biases }) */
static int m_get_parameters(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  int i, n;
  if (!m->finalized) ln_error(L, "Model:get_parameters: call model:finalize() first");
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  n = (int)lua_rawlen(L, -1);
  lua_createtable(L, n, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -2, i);
    pushparams(L, -1);
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  return 1;
}

/* model:set_parameters(p): p as get_parameters returns; values copied in,
** after every tensor was checked (a bad table changes nothing) */
static int m_set_parameters(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  int i, n, np, pass;
  char sa[LN_SHAPELEN], sb[LN_SHAPELEN];
  if (!m->finalized) ln_error(L, "Model:set_parameters: call model:finalize() first");
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  n = (int)lua_rawlen(L, -1);
  np = (int)lua_rawlen(L, 2);
  if (np != n) ln_error(L, "Model:set_parameters: got %d parameter sets for %d trainable layers", np, n);
  for (pass = 0; pass < 2; pass++)
    for (i = 1; i <= n; i++) {
      int k, count;
      lua_rawgeti(L, 3, i);
      count = pushparams(L, -1);                      /* layer, dst */
      if (lua_rawgeti(L, 2, i) != LUA_TTABLE)         /* layer, dst, src */
        ln_error(L, "Model:set_parameters: entry %d must be a list of %d tensors (as get_parameters gives)", i, count);
      if ((int)lua_rawlen(L, -1) != count)
        ln_error(L, "Model:set_parameters: entry %d has %d tensors, the layer has %d", i, (int)lua_rawlen(L, -1),
                 count);
      for (k = 1; k <= count; k++) {
        ln_Tensor *src, *dst;
        int dense = ln_tolayer(L, -3) != NULL;
        char what[32];
        if (dense) snprintf(what, sizeof what, "%s are", k == 1 ? "weights" : "biases");
        else snprintf(what, sizeof what, "params[%d] is", k);
        lua_rawgeti(L, -1, k);
        lua_rawgeti(L, -3, k);
        src = ln_totensor(L, -2);
        dst = ln_totensor(L, -1);
        if (pass == 1) memmove(dst->data, src->data, dst->numel * sizeof(float));
        else if (src == NULL)
          ln_error(L, "Model:set_parameters: entry %d: %s %s, must be a tensor", i, what, ln_typename(L, -2));
        else if (!ln_sameshape(src, dst))
          ln_error(L, "Model:set_parameters: entry %d: %s %s, the layer has %s", i, what, ln_shapestr(src, sa),
                   ln_shapestr(dst, sb));
        lua_pop(L, 2);
      }
      lua_pop(L, 3);
    }
  return 0;
}

/* model.layers, .loss, .optimizer, .accuracy, .trainable_layers,
** .output_layer_activation, .finalized */
static int getfield(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  const char *k = lua_tostring(L, 2);
  int uv = 0;
  if (k == NULL) return 0;
  if (strcmp(k, "layers") == 0) uv = UV_LAYERS;
  else if (strcmp(k, "loss") == 0) uv = UV_LOSS;
  else if (strcmp(k, "optimizer") == 0) uv = UV_OPT;
  else if (strcmp(k, "accuracy") == 0) uv = UV_ACC;
  else if (strcmp(k, "trainable_layers") == 0) uv = UV_TRAINABLE;
  else if (strcmp(k, "finalized") == 0) { lua_pushboolean(L, m->finalized); return 1; }
  else if (strcmp(k, "output_layer_activation") == 0) {
    int n = ln_model_nlayers(L, 1);
    if (n == 0) return 0;
    ln_model_layer(L, 1, n);
    return 1;
  }
  if (uv == 0) return 0;
  if (uv == UV_LAYERS) { /* a copy: the model's own list is not edited from outside */
    int i, n = ln_model_nlayers(L, 1);
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) { ln_model_layer(L, 1, i); lua_rawseti(L, -2, i); }
    return 1;
  }
  lua_getiuservalue(L, 1, uv);
  return 1;
}

static const ln_Method methods[] = {
  {"add", m_add, 1}, {"set", m_set, 1}, {"finalize", m_finalize, 0}, {"_shapes", m_shapes, 0},
  {"forward", m_forward, 2}, {"backward", m_backward, 2}, {"predict", m_predict, 2},
  {"get_parameters", m_get_parameters, 0}, {"set_parameters", m_set_parameters, 1},
  {NULL, NULL, 0}
};

void ln_open_model(lua_State *L) {
  ln_newclass(L, LN_MODEL, methods, NULL, getfield);
  lua_pop(L, 1);
  ln_addmethods(L, LN_MODEL, ln_model_train_methods);
  lua_pushcfunction(L, l_model);
  lua_setfield(L, -2, "Model");
}
