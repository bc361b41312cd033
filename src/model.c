/*
** model.c: lunet.Model, the book's Model class.  The object, its checks and
** every step (forward, loss, accuracy, backward, optimizer) are C; the epoch
** loop, printing, history and callbacks are Lua (lua/lunet/model.lua), which
** calls one C function per step, so a step allocates nothing.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet.h"
#include "kernels/nn.h"
#include "kernels/loss.h"
#include "engine/plan.h"

#define LN_MODEL "lunet.Model"

/* user values of a Model */
enum {
  UV_LAYERS = 1,  /* list of layers, in order */
  UV_LOSS,        /* loss object */
  UV_OPT,         /* optimizer */
  UV_ACC,         /* accuracy */
  UV_COMBINED,    /* SoftmaxCategoricalCrossentropy when it applies */
  UV_TRAINABLE,   /* list of trainable layers (after finalize) */
  UV_BX,          /* batch inputs buffer */
  UV_BY,          /* batch targets buffer */
  UV_PRED,        /* predictions buffer */
  UV_PERM,        /* permutation buffer (userdata of size_t) */
  UV_OUT,         /* predict() result while it is being filled */
  UV_POOL,        /* worker thread of the split training step (Pool) */
  UV_P0,          /* the split step's first partial sum of the first Dense (see plan_forward) */
  MODEL_NUV = UV_P0
};

#define WHO_CACHED 32 /* trainable layers whose optimizer message the model keeps */
/* most rows of a data set (tensors hold at most 2^40 elements): keeps the
** internal entry points' sizes far from overflow */
#define MAXROWS ((lua_Integer)1 << 40)

typedef struct Model {
  int finalized;
  size_t perm_n;  /* entries in the UV_PERM buffer */
  /* the last step's batch, not yet copied into UV_BX (the first layer's
  ** inputs): rows first.. of X (or of the permutation), see setpending */
  int pending, pending_perm;
  size_t pending_first, pending_count;
  /* "Model:train: optimizer, trainable: layer j (...)" of the fused step's
  ** updates, made once per layer instead of every step (see trainwho) */
  const ln_Layer *who_layer[WHO_CACHED];
  char who[WHO_CACHED][256];
} Model;

static Model *checkmodel(lua_State *L, int idx) {
  return (Model *)luaL_checkudata(L, idx, LN_MODEL);
}

static int nlayers(lua_State *L, int model) {
  int n;
  lua_getiuservalue(L, model, UV_LAYERS);
  n = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  return n;
}

/* push layer i (1-based) of the model; returns it, or NULL for a Lua layer */
static ln_Layer *pushlayer(lua_State *L, int model, int i) {
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
static const char *layerwho(lua_State *L, int idx, char *buf, size_t n, const char *fn, int i, const ln_Layer *l) {
  char d[128];
  describe(L, idx, l, d, sizeof d);
  snprintf(buf, n, "%s: layer %d (%s)", fn, i, d);
  return buf;
}

/* layerwho(.., "Model:train: optimizer, trainable", j, l), kept in the model
** for the first WHO_CACHED trainable layers */
static const char *trainwho(lua_State *L, Model *m, char *buf, size_t n, int j, const ln_Layer *l) {
  if (j < 1 || j > WHO_CACHED) return layerwho(L, -1, buf, n, "Model:train: optimizer, trainable", j, l);
  if (m->who_layer[j - 1] != l) {
    layerwho(L, -1, m->who[j - 1], sizeof m->who[j - 1], "Model:train: optimizer, trainable", j, l);
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
  Model *m = checkmodel(L, 1);
  ln_Layer *l = ln_tolayer(L, 2);
  int n, i;
  if (l == NULL && !ln_islualayer(L, 2))
    ln_error(L, "Model:add: argument 1 must be a layer or activation (lunet.Dense, lunet.ReLU, ...) or a Lua "
             "layer (a table with forward and backward methods), got %s", ln_typename(L, 2));
  n = nlayers(L, 1);
  lua_settop(L, 2);
  for (i = 1; i <= n; i++) {
    int same;
    pushlayer(L, 1, i);
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
  Model *m = checkmodel(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  ln_checkoptions(L, 2, "Model:set", keys);
  if (lua_getfield(L, 2, "loss") != LUA_TNIL) {
    ln_Loss *loss = ln_toloss(L, -1);
    if (loss == NULL || strcmp(loss->cls->name, "SoftmaxCategoricalCrossentropy") == 0)
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

/* model:finalize(): check the chain of sizes, find trainable layers, pick
** the combined softmax/cross-entropy path when the last layer is Softmax
** and the loss is categorical cross-entropy */
static int m_finalize(lua_State *L) {
  Model *m = checkmodel(L, 1);
  int n = nlayers(L, 1), i, ntrain = 0, prev_i = 0;
  size_t prev_out = 0;
  ln_Loss *loss;
  ln_Layer *last;
  char d1[128], d2[128];
  if (n == 0) ln_error(L, "Model:finalize: the model has no layers (use model:add)");
  lua_getiuservalue(L, 1, UV_LOSS);
  loss = ln_toloss(L, -1);
  lua_pop(L, 1);
  lua_newtable(L); /* trainable */
  for (i = 1; i <= n; i++) {
    ln_Layer *l = pushlayer(L, 1, i);
    if (l == NULL) { /* a Lua layer: trainable when it lists parameters; sizes after it are unknown */
      int np = ln_lualayer_params(L, -1, 0, "Model:finalize");
      lua_pop(L, 1);
      prev_i = 0;
      if (np > 0) lua_rawseti(L, -2, ++ntrain);
      else lua_pop(L, 1);
      continue;
    }
    if (l->cls->kind == LN_KIND_DENSE) {
      ln_Dense *dn = (ln_Dense *)l;
      if (prev_i && dn->n_inputs != prev_out) {
        ln_Layer *p;
        l->cls->describe(l, d1, sizeof d1);
        p = pushlayer(L, 1, prev_i);
        p->cls->describe(p, d2, sizeof d2);
        ln_error(L, "Model:finalize: layer %d (%s) expects %zu inputs but layer %d (%s) gives %zu", i, d1,
                 dn->n_inputs, prev_i, d2, prev_out);
      }
      prev_i = i;
      prev_out = dn->n_neurons;
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
  last = pushlayer(L, 1, n);
  lua_pop(L, 1);
  if (loss && last && last->cls->kind == LN_KIND_SOFTMAX && strcmp(loss->cls->name, "CategoricalCrossentropy") == 0)
    ln_new_softmax_cce(L);
  else
    lua_pushnil(L);
  lua_setiuservalue(L, 1, UV_COMBINED);
  m->finalized = 1;
  lua_settop(L, 1);
  return 1;
}

/* raise unless the model is ready for `what` (train needs all three) */
static void checkready(lua_State *L, Model *m, const char *who, int needtrain) {
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
static void forward_range(lua_State *L, int first, int last, int training, const char *fn) {
  int i;
  char who[256];
  for (i = first; i <= last; i++) {
    int top = lua_gettop(L);
    ln_Layer *l = pushlayer(L, 1, i);
    layerwho(L, top + 1, who, sizeof who, fn, i, l);
    if (l == NULL) { /* in, layer, out */
      ln_lualayer_forward(L, top + 1, top, training, who);
      lua_replace(L, top);
      lua_settop(L, top);
      continue;
    }
    l->cls->forward(L, top + 1, top, training, who);
    lua_settop(L, top + 1);
    lua_getiuservalue(L, top + 1, LN_UV_OUTPUT); /* in, layer, out */
    lua_replace(L, top);
    lua_settop(L, top);
  }
}

/* forward through all layers from the tensor at in_idx; leaves the output
** on the stack top */
static void forward_all(lua_State *L, int in_idx, int training, const char *fn) {
  lua_pushvalue(L, in_idx);
  forward_range(L, 1, nlayers(L, 1), training, fn);
}

/* backward from the tensor on the stack top through layers hi..lo, which
** is replaced by layer lo's dinputs */
static void backward_range(lua_State *L, int hi, int lo, const char *fn) {
  int i;
  char who[256];
  for (i = hi; i >= lo; i--) {
    int top = lua_gettop(L);
    ln_Layer *l = pushlayer(L, 1, i);
    layerwho(L, top + 1, who, sizeof who, fn, i, l);
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
  Model *m = checkmodel(L, 1);
  ln_checktensor(L, 2);
  if (!m->finalized) ln_error(L, "Model:forward: call model:finalize() first");
  lua_settop(L, 3);
  forward_all(L, 2, lua_toboolean(L, 3), "Model:forward");
  return 1;
}

/* model:backward(output, y): the book's Model.backward */
static int m_backward(lua_State *L) {
  Model *m = checkmodel(L, 1);
  int n = nlayers(L, 1);
  ln_checktensor(L, 2);
  ln_checktensor(L, 3);
  checkready(L, m, "Model:backward", 1);
  lua_settop(L, 3);
  if (lua_getiuservalue(L, 1, UV_COMBINED) != LUA_TNIL) {
    ln_softmax_cce_backward(L, 4, 2, 3, "Model:backward: softmax/cross-entropy");
    lua_getiuservalue(L, 4, LN_UV_DINPUTS);
    backward_range(L, n - 1, 1, "Model:backward");
  } else {
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_LOSS);
    ln_loss_backward(L, 4, 2, 3, "Model:backward: loss");
    lua_getiuservalue(L, 4, 2);
    backward_range(L, n, 1, "Model:backward");
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
static int gather(lua_State *L, int uv, const ln_Tensor *src, size_t first, size_t count, const size_t *perm,
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
static void checkxy(lua_State *L, const ln_Tensor *X, const ln_Tensor *Y, const char *who) {
  char sx[LN_SHAPELEN], sy[LN_SHAPELEN];
  if (X->dims[0] != Y->dims[0])
    ln_error(L, "%s: X has %zu samples (shape %s) but y has %zu (shape %s)", who, X->dims[0], ln_shapestr(X, sx),
             Y->dims[0], ln_shapestr(Y, sy));
}

/* predictions of the output at out_idx into the model's buffer; pushes it */
static int predictions(lua_State *L, int out_idx) {
  int n = nlayers(L, 1);
  ln_Layer *last = pushlayer(L, 1, n);
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
static void checklabels(lua_State *L, int loss, int out, int by, size_t first, const size_t *perm, const char *who) {
  const ln_Loss *l = ln_toloss(L, loss);
  const ln_Tensor *o = ln_totensor(L, out), *y = ln_totensor(L, by);
  size_t n, bad, row;
  float v;
  if (l && y && strcmp(l->cls->name, "BinaryCrossentropy") == 0) { /* targets in [0, 1] */
    size_t i, cols = ln_cols(y);
    for (i = 0; i < y->numel; i++)
      if (!(y->data[i] >= 0.0f && y->data[i] <= 1.0f)) {
        row = (perm ? perm[first + i / cols] : first + i / cols) + 1;
        ln_error(L, "%s: y %g at row %zu of y is outside [0, 1] (binary cross-entropy takes 0/1 targets or "
                 "probabilities; for labels 1..2 pass y - 1)", who, (double)y->data[i], row);
      }
    return;
  }
  if (l == NULL || strcmp(l->cls->name, "CategoricalCrossentropy") != 0 || o == NULL || y == NULL || o->ndim != 2 ||
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

/* sum of the book's regularization losses of the trainable layers */
static double regloss(lua_State *L) {
  double r = 0.0;
  int i, n;
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  n = (int)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    r += ln_regularization_loss(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return r;
}

/* does a trainable layer have a positive regularization factor? (else
** regloss is 0: the book adds a term only when its factor is positive) */
static int anyreg(lua_State *L) {
  int i, n, any = 0;
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  n = (int)lua_rawlen(L, -1);
  for (i = 1; i <= n && !any; i++) {
    lua_rawgeti(L, -1, i);
    if (ln_isclass(L, -1, "lunet.Dense")) {
      const ln_Dense *d = (const ln_Dense *)lua_touserdata(L, -1);
      any = d->weight_regularizer_l1 > 0 || d->weight_regularizer_l2 > 0 || d->bias_regularizer_l1 > 0 ||
            d->bias_regularizer_l2 > 0;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return any;
}

/* model:_shuffle(n): draw a new permutation of n rows for the next epoch */
static int m_shuffle(lua_State *L) {
  Model *m = checkmodel(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  size_t *p;
  if (n < 1 || n > MAXROWS)
    ln_error(L, "Model:_shuffle: argument 1 (rows) must be in 1..%lld, got %lld", (long long)MAXROWS, (long long)n);
  if (lua_getiuservalue(L, 1, UV_PERM) != LUA_TUSERDATA || m->perm_n != (size_t)n) {
    lua_pop(L, 1);
    lua_newuserdatauv(L, (size_t)n * sizeof(size_t), 0);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_PERM);
    m->perm_n = (size_t)n;
  }
  p = (size_t *)lua_touserdata(L, -1);
  ln_rng_permutation(ln_getrng(L), (size_t)n, p);
  return 0;
}

/* ============================================ split training step
** The plan (src/engine/plan.h, which explains the split) is set up here over
** the layers' buffers and run by the engine; the pool's worker thread is
** kept by the model (user value UV_POOL) and stopped by its __gc. */

#define SPLIT_WORK 200000 /* multiply-adds per step below which one thread runs */
#define SPLIT_UPDATE 32768 /* parameters below which one thread updates them */

typedef ln_FLayer FLayer;
typedef ln_Plan Plan;
typedef ln_Pool Pool;

#define plan_run ln_plan_run

/* __gc of the pool: stop and join the worker */
static int pool_gc(lua_State *L) {
  ln_pool_stop((Pool *)lua_touserdata(L, 1));
  return 0;
}

/* the threads this Lua state's training splits batches across:
** lunet.set_threads' value (default: the machine's cores), 1 with
** LUNET_SPLIT=0 or blas */
static int splitthreads(lua_State *L) {
  const char *env = getenv("LUNET_SPLIT");
  lua_Integer threads = ln_ncores();
  if (env && (strcmp(env, "0") == 0 || strcmp(env, "blas") == 0)) return 1;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LN_THREADS_KEY) == LUA_TNUMBER) threads = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return threads < 1 ? 1 : threads > LN_MAXTHREADS ? LN_MAXTHREADS : (int)threads;
}

/* the model's worker pool with splitthreads' parts, created on first use
** and restarted when the thread count changed; NULL for one thread or when
** no thread could start */
static Pool *getpool(lua_State *L) {
  Pool *p;
  int n = splitthreads(L);
  if (n < 2) return NULL;
  if (lua_getiuservalue(L, 1, UV_POOL) == LUA_TUSERDATA) {
    p = (Pool *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (p->started && ln_pool_parts(p) == n) return p;
    ln_pool_stop(p);
    return ln_pool_start(p, n) == 0 ? p : NULL;
  }
  lua_pop(L, 1);
  p = (Pool *)lua_newuserdatauv(L, sizeof *p, 0);
  memset(p, 0, sizeof *p);
  if (luaL_newmetatable(L, "lunet.ModelPool")) {
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_setiuservalue(L, 1, UV_POOL);
  if (ln_pool_start(p, n) != 0) return NULL;
  return p;
}

/* the plan's kind of a built-in layer (F_SOFTMAX only for the last layer
** with the combined loss), or -1 */
static int plankind(const ln_Layer *l, int last_combined) {
  switch (l->cls->kind) {
    case LN_KIND_DENSE: return F_DENSE;
    case LN_KIND_RELU: return F_RELU;
    case LN_KIND_SIGMOID: return F_SIGMOID;
    case LN_KIND_LINEAR: return F_LINEAR;
    case LN_KIND_DROPOUT: return F_DROPOUT;
    case LN_KIND_SOFTMAX: return last_combined ? F_SOFTMAX : -1;
    default: return -1;
  }
}

/* number of leading layers the plan can take: Dense, ReLU, Sigmoid, Linear,
** Dropout (and a last Softmax with the combined loss), starting with a Dense
** whose input width matches X; *work = the Dense layers' multiply-adds per
** sample */
static int fastprefix(lua_State *L, const ln_Tensor *bx, size_t *work) {
  int n = nlayers(L, 1), i, k = 0, combined, kind;
  size_t w = 0;
  *work = 0;
  lua_getiuservalue(L, 1, UV_COMBINED);
  combined = !lua_isnil(L, -1);
  lua_pop(L, 1);
  for (i = 1; i <= n && i <= MAXFAST; i++) {
    ln_Layer *l = pushlayer(L, 1, i);
    lua_pop(L, 1);
    if (l == NULL) break; /* a Lua layer runs on the calling thread */
    kind = plankind(l, i == n && combined);
    if (kind < 0 || (i == 1 && kind != F_DENSE)) break;
    if (kind == F_DENSE) {
      if (i == 1 && (bx->ndim != 2 || bx->dims[1] != ((ln_Dense *)l)->n_inputs)) return 0;
      w += ((ln_Dense *)l)->n_inputs * ((ln_Dense *)l)->n_neurons;
    } /* a last Softmax with the combined loss: its forward, predictions and
      ** gradient also run on the plan's threads */
    k = i;
  }
  /* Dense sizes must chain (finalize checked Dense-to-Dense already) */
  *work = w;
  return k;
}

/* set up the forward pass of layers 1..k as a plan on the batch at bx (run
** by plan_run); the layers keep inputs and outputs exactly as their own
** forward would.  Leaves layer k's output on the stack */
static void forward_setup(lua_State *L, Plan *pl, int bx, int k) {
  int i;
  size_t rows = ln_totensor(L, bx)->dims[0], cols = ln_totensor(L, bx)->dims[1];
  lua_pushvalue(L, bx); /* current input */
  pl->n = k;
  pl->rows = rows;
  pl->mode = PLAN_FORWARD;
  pl->losses = NULL;
  pl->ysrc = NULL;
  for (i = 1; i <= k; i++) {
    FLayer *f = &pl->l[i - 1];
    ln_Layer *l = pushlayer(L, 1, i);
    int li = lua_gettop(L);
    ln_Tensor *in = ln_totensor(L, li - 1), *out;
    f->kind = plankind(l, 1); /* fastprefix took a Softmax only as the last layer with the combined loss */
    f->n_in = cols;
    f->n_out = f->kind == F_DENSE ? ((ln_Dense *)l)->n_neurons : cols;
    out = ln_buffer2(L, li, LN_UV_OUTPUT, rows, f->n_out);
    f->in = in->data;
    f->out = out->data;
    if (f->kind == F_SOFTMAX) pl->pred = ln_buffer(L, 1, UV_PRED, 1, &rows)->data;
    if (f->kind == F_DROPOUT) {
      f->rate = ((ln_Dropout *)l)->rate;
      f->mask = ln_buffer2(L, li, LN_UV_EXTRA, rows, f->n_out)->data;
    }
    if (f->kind == F_DENSE) {
      f->w = ln_getuv(L, li, LN_UV_WEIGHTS)->data;
      f->b = ln_getuv(L, li, LN_UV_BIASES)->data;
      f->h = ln_nn_dense_split(f->n_in);
      f->part = f->h ? ln_buffer2(L, li, LN_UV_EXTRA, rows, f->n_out)->data : NULL;
      if (f->h && i == 1) f->p0 = ln_buffer2(L, 1, UV_P0, rows, f->n_out)->data;
    }
    lua_pushvalue(L, li - 1);
    ln_setuv(L, li, LN_UV_INPUTS);
    lua_getiuservalue(L, li, LN_UV_OUTPUT);
    lua_replace(L, li - 1);
    lua_settop(L, li - 1);
    cols = f->n_out;
  }
  pl->direct = pl->src != NULL && ln_gemm_rows_ok(pl->l[0].n_out);
}

/* set up the backward of layers k..1 (run by plan_run) from the tensor on
** the stack top (the gradient of layer k's output), after forward_setup;
** fused: with the optimizer's updates (after ln_optimizer_pre) */
static void backward_setup(lua_State *L, Model *m, Plan *pl, int opt, int fused) {
  int i, j = 0;
  float *top = ln_totensor(L, -1)->data;
  const float *dv = top;
  size_t rows = pl->rows;
  char who[256];
  pl->mode = PLAN_BACKWARD;
  pl->fused = fused;
  for (i = pl->n; i >= 1; i--) {
    FLayer *f = &pl->l[i - 1];
    int li;
    pushlayer(L, 1, i);
    li = lua_gettop(L);
    f->dv = dv;
    if (f->kind == F_SOFTMAX) {
      f->din = top; /* the combined object's dinputs (the last layer's: dv is top), filled by the plan */
    } else if (f->kind == F_DENSE) {
      ln_Dense *d = (ln_Dense *)lua_touserdata(L, li);
      f->dw = ln_buffer2(L, li, LN_UV_DWEIGHTS, f->n_in, f->n_out)->data;
      f->db = ln_buffer2(L, li, LN_UV_DBIASES, 1, f->n_out)->data;
      f->din = i == 1 ? NULL : ln_buffer2(L, li, LN_UV_DINPUTS, rows, f->n_in)->data;
      f->wl1 = (float)d->weight_regularizer_l1;
      f->wl2 = (float)d->weight_regularizer_l2;
      f->bl1 = (float)d->bias_regularizer_l1;
      f->bl2 = (float)d->bias_regularizer_l2;
    } else {
      f->din = ln_buffer2(L, li, LN_UV_DINPUTS, rows, f->n_in)->data;
    }
    dv = f->din;
    lua_pop(L, 1);
  }
  if (fused) /* the updates, prepared in the trainable layers' order */
    for (i = 1; i <= pl->n; i++) {
      FLayer *f = &pl->l[i - 1];
      ln_Layer *l;
      ln_Update *u = &pl->up[2 * j];
      if (f->kind != F_DENSE) continue;
      j++;
      l = pushlayer(L, 1, i);
      ln_optimizer_prepare(L, opt, lua_gettop(L), trainwho(L, m, who, sizeof who, j, l), u);
      f->up = u;
      lua_pop(L, 1);
    }
}

/* a training plan on count rows of X (of perm): its source, and the pool
** that splits it (NULL: one thread, for steps too small to gain) */
static Pool *plan_begin(lua_State *L, Plan *pl, const ln_Tensor *X, const size_t *perm, size_t count,
                        size_t work) {
  pl->src = X->data;
  pl->perm = perm;
  return count >= 2 && work * count >= SPLIT_WORK ? getpool(L) : NULL;
}

/* after a forward plan on rows first.. (of perm): when the plan read X in
** place, the copy of the batch in the first layer's inputs is left to
** m_sync_inputs */
static void setpending(Model *m, const Plan *pl, const size_t *perm, size_t first, size_t count) {
  m->pending = pl->direct;
  m->pending_perm = perm != NULL;
  m->pending_first = first;
  m->pending_count = count;
}

/* one training step on rows first..first+count-1 (0-based) of X and y (the
** model and both at stack 1..3, checked), or those positions of perm;
** res = data_loss, reg_loss, accuracy.  Any model */
static void step_any(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, size_t first, size_t count,
                     const size_t *perm, double res[3]) {
  int n, bx, by, out, i, ntrain, k, oi, fused = 0, softmax_in_plan = 0;
  size_t nparams = 0, work = 0;
  Pool *pool = NULL;
  Plan plan;
  double data_loss, reg, acc;
  ln_Optimizer *opt;
  char who[256];
  lua_settop(L, 3);
  m->pending = 0;
  k = fastprefix(L, X, &work);
  bx = gather(L, UV_BX, X, first, count, perm, k == 0);
  by = gather(L, UV_BY, Y, first, count, perm, 1);
  n = nlayers(L, 1);
  if (k > 0) {
    pool = plan_begin(L, &plan, X, perm, count, work);
    plan.first = first;
    forward_setup(L, &plan, bx, k);
    ln_plan_masks(&plan, ln_getrng(L));
    plan_run(pool, &plan);
    setpending(m, &plan, perm, first, count);
    softmax_in_plan = plan.l[k - 1].kind == F_SOFTMAX;
    forward_range(L, k + 1, n, 1, "Model:train");
  } else forward_all(L, bx, 1, "Model:train");
  out = lua_gettop(L);
  lua_getiuservalue(L, 1, UV_LOSS);
  checklabels(L, lua_gettop(L), out, by, first, perm, "Model:train: loss");
  data_loss = ln_loss_calculate(L, lua_gettop(L), out, by, "Model:train: loss");
  lua_pop(L, 1);
  reg = regloss(L);
  if (softmax_in_plan) lua_getiuservalue(L, 1, UV_PRED); /* made by the plan */
  else predictions(L, out);
  lua_getiuservalue(L, 1, UV_ACC);
  acc = ln_accuracy_calculate(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:train: accuracy");
  lua_settop(L, out);
  /* backward */
  if (lua_getiuservalue(L, 1, UV_COMBINED) != LUA_TNIL) {
    if (softmax_in_plan) { /* checked and sized here, computed by the backward plan */
      plan.y = ln_totensor(L, by)->data;
      ln_softmax_cce_begin(L, out + 1, out, by, "Model:train: softmax/cross-entropy", &plan.sparse);
    } else ln_softmax_cce_backward(L, out + 1, out, by, "Model:train: softmax/cross-entropy");
    lua_getiuservalue(L, out + 1, LN_UV_DINPUTS);
    backward_range(L, n - 1, k + 1, "Model:train");
  } else {
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_LOSS);
    ln_loss_backward(L, out + 1, out, by, "Model:train: loss");
    lua_getiuservalue(L, out + 1, 2);
    backward_range(L, n, k + 1, "Model:train");
  }
  /* the optimizer's updates run inside the backward plan (fused) when every
  ** trainable layer is in it, else after it */
  lua_getiuservalue(L, 1, UV_OPT);
  oi = lua_gettop(L);
  opt = ln_tooptimizer(L, oi);
  ln_optimizer_pre(opt);
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  ntrain = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  if (k > 0) {
    int j, dense = 0;
    for (j = 0; j < k; j++) dense += plan.l[j].kind == F_DENSE;
    fused = dense == ntrain;
    lua_pushvalue(L, oi - 1); /* the gradient of layer k's output */
    backward_setup(L, m, &plan, oi, fused);
    plan_run(pool, &plan);
  }
  lua_settop(L, out);
  lua_getiuservalue(L, 1, UV_OPT);
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  plan.mode = PLAN_UPDATE;
  plan.nup = 0;
  for (i = 1; i <= ntrain && !fused; i++) {
    ln_Layer *l;
    lua_rawgeti(L, -1, i);
    l = ln_tolayer(L, -1);
    layerwho(L, -1, who, sizeof who, "Model:train: optimizer, trainable", i, l);
    if (l != NULL && ntrain <= MAXFAST) { /* prepared now, run below on the pool */
      ln_optimizer_prepare(L, out + 1, lua_gettop(L), who, &plan.up[plan.nup]);
      nparams += plan.up[plan.nup].n + plan.up[plan.nup + 1].n;
      plan.nup += 2;
    } else ln_optimizer_update(L, out + 1, lua_gettop(L), who);
    lua_pop(L, 1);
  }
  if (plan.nup > 0)
    plan_run(nparams >= SPLIT_UPDATE ? (pool ? pool : getpool(L)) : NULL, &plan);
  ln_optimizer_post(opt);
  res[0] = data_loss;
  res[1] = reg;
  res[2] = acc;
}

/* the plan's layer count (all of them) when the whole model is one plan
** ending in a Softmax with the combined loss (the book's classifier), else
** 0; *work as fastprefix gives it */
static int book_classifier(lua_State *L, const ln_Tensor *X, size_t *work) {
  int n = nlayers(L, 1), k = fastprefix(L, X, work), last;
  ln_Layer *l;
  if (k < 2 || k != n) return 0;
  l = pushlayer(L, 1, n);
  last = l && l->cls->kind == LN_KIND_SOFTMAX;
  lua_pop(L, 1);
  return last ? k : 0;
}

/* steps step0 .. step0 + nsteps - 1 of the book's classifier (see m_steps):
** the plan is set up for the first step of each batch size and only run by
** the others (nothing else runs on this Lua state in between).  Returns the
** steps done; res as step_any's for the last */
static lua_Integer steps_book(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, int k, size_t work,
                              size_t step0, size_t nsteps, size_t bs, const size_t *perm, int check, double res[3]) {
  Plan plan;
  Pool *pool = NULL;
  ln_Optimizer *opt = NULL;
  ln_Tensor *byt = NULL;
  size_t cur = 0, s, n = X->dims[0];
  ln_Tally tally[LN_MAXTHREADS];
  int t, parts = 1;
  ln_Loss *lossp = NULL;
  ln_Accuracy *accp = NULL;
  int bx, by = 0, out = 0, lossi = 0, acci = 0, predi = 0, base = 0, ready = 0, j, reg_any = anyreg(L);
  for (s = 0; s < nsteps; s++) {
    size_t first = (step0 + s) * bs, count = n - first < bs ? n - first : bs;
    double data_loss, reg, acc;
    if (count != cur) { /* the plan's buffers for this batch size */
      lua_settop(L, 3);
      bx = gather(L, UV_BX, X, first, count, perm, 0);
      by = gather(L, UV_BY, Y, first, count, perm, 0);
      byt = ln_totensor(L, by);
      pool = plan_begin(L, &plan, X, perm, count, work);
      forward_setup(L, &plan, bx, k);
      out = lua_gettop(L);
      lua_getiuservalue(L, 1, UV_LOSS);
      lossi = lua_gettop(L);
      lua_getiuservalue(L, 1, UV_ACC);
      acci = lua_gettop(L);
      lua_getiuservalue(L, 1, UV_PRED); /* made by forward_setup, filled by the plan */
      predi = lua_gettop(L);
      base = predi;
      cur = count;
      ready = 0;
      plan.ysrc = Y->data; /* the plan's threads gather the targets */
      plan.y = plan.ydst = byt->data;
      plan.ycols = ln_cols(Y);
    }
    m->pending = 0;
    plan.first = first;
    plan.mode = PLAN_FORWARD;
    ln_plan_masks(&plan, ln_getrng(L));
    parts = ln_pool_parts(pool);
    for (t = 0; t < parts; t++) tally[t].hits = 0, tally[t].bad = 0;
    plan_run(pool, &plan);
    setpending(m, &plan, perm, first, count);
    for (t = 0; t < parts && !tally[t].bad; t++) {}
    if (plan.losses && t == parts) { /* computed by the plan's threads */
      size_t hits = 0;
      for (t = 0; t < parts; t++) hits += tally[t].hits;
      data_loss = ln_loss_add(lossp, plan.losses, count);
      acc = ln_accuracy_add(accp, hits, count);
    } else {
      checklabels(L, lossi, out, by, first, perm, "Model:train: loss");
      data_loss = ln_loss_calculate(L, lossi, out, by, "Model:train: loss"); /* checks y */
      acc = ln_accuracy_calculate(L, acci, predi, by, "Model:train: accuracy");
    }
    reg = reg_any ? regloss(L) : 0.0;
    if (!ready) { /* the backward and its updates (these need y checked and the step's learning rate) */
      lua_settop(L, base);
      lua_getiuservalue(L, 1, UV_COMBINED);
      ln_softmax_cce_begin(L, lua_gettop(L), out, by, "Model:train: softmax/cross-entropy", &plan.sparse);
      { /* from the next step on, the plan computes the losses and hits (the checks are done) */
        accp = ln_toaccuracy(L, acci);
        lossp = ln_toloss(L, lossi);
        plan.losses = accp && !accp->regression && !accp->binary ? ln_loss_samples(L, lossi, count) : NULL;
        plan.tally = tally;
      }
      lua_getiuservalue(L, 1, UV_OPT);
      opt = ln_tooptimizer(L, -1);
      ln_optimizer_pre(opt);
      lua_getiuservalue(L, -2, LN_UV_DINPUTS);
      backward_setup(L, m, &plan, lua_gettop(L) - 1, 1);
      base = lua_gettop(L);
      ready = 1;
    } else {
      ln_optimizer_pre(opt);
      for (j = 0; j < plan.n; j++) /* the updates are plan.up[0, 2, ..], one pair per Dense */
        if (plan.l[j].kind == F_DENSE) ln_optimizer_refresh(opt, &plan.up[plan.l[j].up - plan.up]);
    }
    plan.mode = PLAN_BACKWARD;
    plan_run(pool, &plan);
    ln_optimizer_post(opt);
    lua_settop(L, base);
    res[0] = data_loss;
    res[1] = reg;
    res[2] = acc;
    if (check && !isfinite(data_loss + reg)) return (lua_Integer)s + 1;
  }
  return (lua_Integer)nsteps;
}

/* model:_steps(X, y, step, nsteps, batch_size, shuffled, check_finite)
** -> done, data_loss, reg_loss, accuracy (of the last step done): training
** steps step .. step + nsteps - 1 (0-based) of an epoch, batch b on rows
** b * batch_size + 1 .. of X and y (the positions of the epoch's
** permutation when shuffled); with check_finite it stops after a step whose
** loss is not finite */
static int m_steps(lua_State *L) {
  Model *m = checkmodel(L, 1);
  ln_Tensor *X = ln_checktensor(L, 2), *Y = ln_checktensor(L, 3);
  lua_Integer step0 = luaL_checkinteger(L, 4), nsteps = luaL_checkinteger(L, 5), bs = luaL_checkinteger(L, 6);
  int shuffled = lua_toboolean(L, 7), check = lua_toboolean(L, 8), k;
  const size_t *perm = NULL;
  size_t work, n;
  double res[3] = { 0.0, 0.0, 0.0 };
  lua_Integer done = 0, s;
  checkready(L, m, "Model:train", 2);
  checkxy(L, X, Y, "Model:train");
  n = X->dims[0];
  if (n == 0 || bs < 1 || step0 < 0 || nsteps < 1 || (size_t)step0 > (n - 1) / (size_t)bs ||
      (size_t)(nsteps - 1) > (n - 1) / (size_t)bs - (size_t)step0)
    ln_error(L, "Model:train: %lld steps from step %lld of batches of %lld outside the %zu samples",
             (long long)nsteps, (long long)step0, (long long)bs, n);
  if (shuffled) {
    lua_getiuservalue(L, 1, UV_PERM);
    perm = (const size_t *)lua_touserdata(L, -1);
    lua_pop(L, 1); /* still referenced by the model */
    if (perm == NULL || m->perm_n != n) ln_error(L, "Model:train: no permutation for %zu rows", n);
  }
  lua_settop(L, 3);
  if ((k = book_classifier(L, X, &work)) > 0)
    done = steps_book(L, m, X, Y, k, work, (size_t)step0, (size_t)nsteps, (size_t)bs, perm, check, res);
  else
    for (s = step0; s < step0 + nsteps; s++) {
      size_t first = (size_t)s * (size_t)bs;
      step_any(L, m, X, Y, first, n - first < (size_t)bs ? n - first : (size_t)bs, perm, res);
      done++;
      if (check && !isfinite(res[0] + res[1])) break;
    }
  lua_pushinteger(L, done);
  lua_pushnumber(L, res[0]);
  lua_pushnumber(L, res[1]);
  lua_pushnumber(L, res[2]);
  return 4;
}

/* model:_sync_inputs(X): the training steps on X (m_steps) read the batch's
** rows in place where they can; this copies the last one into the first
** layer's inputs, as the layer's own forward would have kept it.  Model:train
** calls it after each epoch's steps and when a step fails, before anyone
** can see the layer (callbacks, evaluate, the caller) */
static int m_sync_inputs(lua_State *L) {
  Model *m = checkmodel(L, 1);
  ln_Tensor *X = ln_checktensor(L, 2);
  const size_t *perm = NULL;
  if (!m->pending) return 0;
  m->pending = 0;
  if (m->pending_perm) {
    lua_getiuservalue(L, 1, UV_PERM);
    perm = (const size_t *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (perm == NULL || m->perm_n != X->dims[0]) ln_error(L, "Model:train: no permutation for %zu rows", X->dims[0]);
  }
  if (m->pending_first + m->pending_count > X->dims[0])
    ln_error(L, "Model:train: batch rows %zu..%zu outside 1..%zu", m->pending_first + 1,
             m->pending_first + m->pending_count, X->dims[0]);
  gather(L, UV_BX, X, m->pending_first, m->pending_count, perm, 1);
  return 0;
}

/* model:_park(): the worker sleeps now rather than spinning for the next
** job (Model:train calls it when it returns: a program that trains a little
** every frame would otherwise pay up to IDLE_NS of spinning per call) */
static int m_park(lua_State *L) {
  checkmodel(L, 1);
  if (lua_getiuservalue(L, 1, UV_POOL) == LUA_TUSERDATA) {
    ln_pool_park((Pool *)lua_touserdata(L, -1));
  }
  return 0;
}

/* model:_eval_step(X, y, first, count) -> data_loss, acc (inference mode) */
static int m_eval_step(lua_State *L) {
  Model *m = checkmodel(L, 1);
  ln_Tensor *X = ln_checktensor(L, 2), *Y = ln_checktensor(L, 3);
  lua_Integer first = luaL_checkinteger(L, 4), count = luaL_checkinteger(L, 5);
  int bx, by, out;
  double data_loss, acc;
  checkready(L, m, "Model:evaluate", 1);
  checkxy(L, X, Y, "Model:evaluate");
  if (first < 1 || count < 1 || (size_t)count > X->dims[0] || (size_t)(first - 1) > X->dims[0] - (size_t)count)
    ln_error(L, "Model:evaluate: %lld rows from row %lld outside 1..%zu", (long long)count, (long long)first,
             X->dims[0]);
  lua_settop(L, 3);
  bx = gather(L, UV_BX, X, (size_t)first - 1, (size_t)count, NULL, 1);
  by = gather(L, UV_BY, Y, (size_t)first - 1, (size_t)count, NULL, 1);
  forward_all(L, bx, 0, "Model:evaluate");
  out = lua_gettop(L);
  lua_getiuservalue(L, 1, UV_LOSS);
  checklabels(L, lua_gettop(L), out, by, (size_t)first - 1, NULL, "Model:evaluate: loss");
  data_loss = ln_loss_calculate(L, lua_gettop(L), out, by, "Model:evaluate: loss");
  lua_pop(L, 1);
  predictions(L, out);
  lua_getiuservalue(L, 1, UV_ACC);
  acc = ln_accuracy_calculate(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:evaluate: accuracy");
  lua_pushnumber(L, data_loss);
  lua_pushnumber(L, acc);
  return 2;
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
  Model *m = checkmodel(L, 1);
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
    int bx = gather(L, UV_BX, X, first, count, NULL, 1);
    ln_Tensor *out;
    forward_all(L, bx, 0, "Model:predict");
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
  Model *m = checkmodel(L, 1);
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
  Model *m = checkmodel(L, 1);
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
  Model *m = checkmodel(L, 1);
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
    int n = nlayers(L, 1);
    if (n == 0) return 0;
    pushlayer(L, 1, n);
    return 1;
  }
  if (uv == 0) return 0;
  if (uv == UV_LAYERS) { /* a copy: the model's own list is not edited from outside */
    int i, n = nlayers(L, 1);
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) { pushlayer(L, 1, i); lua_rawseti(L, -2, i); }
    return 1;
  }
  lua_getiuservalue(L, 1, uv);
  return 1;
}

static const ln_Method methods[] = {
  {"add", m_add, 1}, {"set", m_set, 1}, {"finalize", m_finalize, 0},
  {"forward", m_forward, 2}, {"backward", m_backward, 2}, {"predict", m_predict, 2},
  {"get_parameters", m_get_parameters, 0}, {"set_parameters", m_set_parameters, 1},
  {"_steps", m_steps, 7}, {"_eval_step", m_eval_step, 4}, {"_shuffle", m_shuffle, 1}, {"_sync_inputs", m_sync_inputs, 1}, {"_park", m_park, 0},
  {NULL, NULL, 0}
};

void ln_open_model(lua_State *L) {
  ln_newclass(L, LN_MODEL, methods, NULL, getfield);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_model);
  lua_setfield(L, -2, "Model");
}
