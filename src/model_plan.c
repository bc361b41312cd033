/*
** model_plan.c: the Model's shapes (ln_model_walkshapes: finalize's checks,
** the summary's output shapes) and its training plan (src/engine/plan.h) set
** up over its layers' buffers.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "engine/op.h"
#include "kernels/nn.h"
#include "kernels/loss.h"

/* ============================================ split training step
** The plan (src/engine/plan.h, which explains the split) is set up here over
** the layers' buffers and run by the engine on the state's pool. */

/* Walk the sample shapes through the layers (layer classes' outshape):
** from an Input declaring one, or from a Dense's output; unknown after a
** Lua layer or a layer that needs its input's shape.  Layers whose sizes
** follow their input (BatchNormalization) are built when it is known.  A
** mismatch raises "Model:finalize: layer 3 (Dense(4 -> 3)) expects 4
** inputs but layer 1 (Dense(2 -> 8)) gives 8".  When shapes is a stack
** index, shapes[i] = the sample shape of layer i's output, or false. */
void ln_model_walkshapes(lua_State *L, int model, int shapes, const char *who) {
  int n = ln_model_nlayers(L, model), i, j, nd = -1, prev_i = 0;
  size_t shape[LN_MAXDIM];
  char d1[128], d2[128], err[200], sb[LN_SHAPELEN];
  for (i = 1; i <= n; i++) {
    ln_Layer *l = ln_model_layer(L, model, i);
    int ond = -1, r = 0;
    size_t out[LN_MAXDIM];
    if (l == NULL) nd = -1; /* a Lua layer: sizes after it are unknown */
    else {
      if (l->cls->build && nd >= 0) l->cls->build(L, -1, nd, shape, who);
      if (l->cls->outshape) r = l->cls->outshape(l, nd, shape, &ond, out, err, sizeof err);
      else r = nd >= 0 ? 2 : 0; /* keeps the shape */
      if (r < 0) {
        ln_Layer *p;
        l->cls->describe(l, d1, sizeof d1);
        p = ln_model_layer(L, model, prev_i);
        if (p) p->cls->describe(p, d2, sizeof d2);
        else ln_lualayer_describe(L, -1, d2, sizeof d2);
        lua_pop(L, 1);
        ln_error(L, "%s: layer %d (%s) %s but layer %d (%s) gives %s", who, i, d1, err, prev_i, d2,
                 ln_sampleshape(nd, shape, sb));
      }
      if (r == 0) nd = -1;
      else if (r == 1) {
        nd = ond;
        for (j = 0; j < nd; j++) shape[j] = out[j];
      }
      if (r == 1) prev_i = i;
    }
    lua_pop(L, 1);
    if (shapes) {
      if (nd < 0) lua_pushboolean(L, 0);
      else {
        lua_createtable(L, nd, 0);
        for (j = 0; j < nd; j++) {
          lua_pushinteger(L, (lua_Integer)shape[j]);
          lua_rawseti(L, -2, j + 1);
        }
      }
      lua_rawseti(L, shapes, i);
    }
  }
}

/* the worker pool the plan runs on: the state's (threads.c), shared with
** the layers that split their own work */
ln_Pool *ln_model_pool(lua_State *L) {
  return ln_state_pool(L);
}

/* the plan's op of a built-in layer (the combined softmax/cross-entropy
** for the last layer with the combined loss), or NULL when its kind does
** not train in plans */
static const ln_OpDef *planop(const ln_Layer *l, int last_combined) {
  const ln_OpDef *op = l->cls->op;
  if (op == NULL || op->backward == NULL) return NULL;
  return last_combined ? &ln_op_softmax_cce : op;
}

/* node n's output shape from its input shape (n->ind, n->ishape; ind 0:
** flat rows of n->in values) by layer l's outshape: sets out, ond, oshape;
** 0 when the layer does not take such inputs */
static int nodeshape(const ln_Layer *l, ln_Node *n) {
  int nd = n->ind ? n->ind : 1, ond = nd, r, k;
  size_t in[3], out[LN_MAXDIM];
  char err[8];
  if (n->ind) memcpy(in, n->ishape, sizeof in);
  else in[0] = n->in;
  r = l->cls->outshape ? l->cls->outshape(l, nd, in, &ond, out, err, sizeof err) : 2;
  if (r == 2 || (r == 1 && ond == nd && memcmp(out, in, (size_t)nd * sizeof *out) == 0)) {
    n->out = n->in;
    n->ond = n->ind;
    memcpy(n->oshape, n->ishape, sizeof n->oshape);
    return 1;
  }
  if (r != 1 || (ond != 1 && ond != 3)) return 0;
  n->out = 1;
  for (k = 0; k < ond; k++) n->out *= out[k];
  n->ond = ond == 3 ? 3 : 0;
  if (ond == 3) memcpy(n->oshape, out, sizeof n->oshape);
  return 1;
}

/* the input shape of a node from a batch tensor t (rows first) */
static int nodeinput(ln_Node *n, const ln_Tensor *t) {
  int k;
  memset(n, 0, sizeof *n);
  if (t->ndim != 2 && t->ndim != 4) return 0;
  n->in = t->numel / (t->dims[0] ? t->dims[0] : 1);
  n->ind = t->ndim == 4 ? 3 : 0;
  for (k = 0; k < n->ind; k++) n->ishape[k] = t->dims[k + 1];
  return t->dims[0] > 0;
}

/* the next node's input: node n's output */
static void nodenext(ln_Node *next, const ln_Node *n) {
  memset(next, 0, sizeof *next);
  next->in = n->out;
  next->ind = n->ond;
  memcpy(next->ishape, n->oshape, sizeof next->ishape);
}

/* the last layer of a plan segment starting at layer first: layers whose
** op trains in plans (a last Softmax with the combined loss too), starting
** with one that has parameters (a run of parameterless layers costs less
** than a job on the threads) and takes in's rows; 0 when none starts there;
** *work = the multiply-adds per sample of the parameters' products (at
** least: it decides whether the step is worth the threads) */
int ln_model_segment(lua_State *L, int first, const ln_Tensor *in, size_t *work) {
  int n = ln_model_nlayers(L, 1), i, k = 0, combined;
  size_t w = 0;
  ln_Node nd, next;
  *work = 0;
  if (!nodeinput(&nd, in)) return 0;
  lua_getiuservalue(L, 1, UV_COMBINED);
  combined = !lua_isnil(L, -1);
  lua_pop(L, 1);
  for (i = first; i <= n && i < first + MAXFAST; i++) {
    ln_Layer *l = ln_model_layer(L, 1, i);
    const ln_OpDef *op;
    /* a layer whose parameters are not made yet (batch norm before its first input) makes them itself */
    int unbuilt = l && l->cls->trainable && ln_getuv(L, -1, LN_UV_WEIGHTS) == NULL;
    lua_pop(L, 1);
    if (l == NULL || unbuilt) break; /* a Lua layer runs on the calling thread */
    op = planop(l, i == n && combined);
    if (op == NULL || (i == first && op->update == NULL)) break;
    if (!nodeshape(l, &nd)) { /* finalize checked the sizes that chain; not the batch's */
      if (i == first) return 0;
      break;
    }
    if (op->update) w += nd.in * nd.out;
    nodenext(&next, &nd);
    nd = next;
    k = i;
  }
  *work = w;
  return k;
}

/* set up the forward pass of layers first..last (a segment) as a plan on
** the tensor at bx (the batch when first is 1; run by plan_run): each
** layer's engine node over its own buffers, which keep inputs and outputs
** exactly as its own forward would.  Leaves layer last's output on the
** stack */
void ln_model_forward_setup(lua_State *L, ln_Plan *pl, int bx, int first, int last) {
  int i, n = ln_model_nlayers(L, 1), combined, k, threads = ln_threads(L);
  size_t rows = ln_totensor(L, bx)->dims[0], dims[LN_MAXDIM];
  ln_Node cur;
  nodeinput(&cur, ln_totensor(L, bx));
  lua_getiuservalue(L, 1, UV_COMBINED);
  combined = !lua_isnil(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, bx); /* current input */
  pl->n = last - first + 1;
  pl->at = first;
  if (first > 1) pl->src = NULL, pl->perm = NULL;
  pl->rows = rows;
  pl->mode = PLAN_FORWARD;
  pl->losses = NULL;
  pl->whole = 0;
  pl->pred = NULL;
  pl->acc = LN_ACC_NONE;
  for (i = first; i <= last; i++) {
    ln_FLayer *f = &pl->l[i - first];
    ln_Node *nd = &f->node;
    ln_Layer *l = ln_model_layer(L, 1, i);
    int li = lua_gettop(L);
    ln_Tensor *in = ln_totensor(L, li - 1), *out;
    memset(f, 0, sizeof *f);
    *nd = cur;
    nd->op = planop(l, i == n && combined); /* as ln_model_segment chose */
    nodeshape(l, nd);
    if (l->cls->node) l->cls->node(l, nd);
    dims[0] = rows;
    if (nd->ond) memcpy(dims + 1, nd->oshape, 3 * sizeof *dims);
    else dims[1] = nd->out;
    out = ln_buffer(L, li, LN_UV_OUTPUT, nd->ond ? 4 : 2, dims);
    f->in = in->data;
    f->out = out->data;
    if (nd->op == &ln_op_softmax_cce) pl->pred = ln_buffer(L, 1, UV_PRED, 1, &rows)->data;
    if (nd->op->draws) f->mask = ln_buffer2(L, li, LN_UV_EXTRA, rows, nd->out)->data;
    for (k = 0; nd->op->buffers && k < LN_OP_MAXBUFS; k++) {
      int bnd = nd->op->buffers(nd, rows, threads, k, dims);
      if (bnd > 0) f->buf[k] = ln_buffer(L, li, LN_UV_EXTRA + k, bnd, dims)->data;
    }
    pl->whole |= nd->op->whole;
    if (l->cls->trainable) {
      nd->param[0] = ln_getuv(L, li, LN_UV_WEIGHTS)->data;
      nd->param[1] = ln_getuv(L, li, LN_UV_BIASES)->data;
      for (k = 2; k < nd->op->nparams; k++) { /* the others by their names (batch norm's running statistics) */
        lua_getfield(L, li, nd->op->params[k]);
        nd->param[k] = ln_totensor(L, -1)->data;
        lua_pop(L, 1);
      }
    }
    f->h = nd->op->split ? nd->op->split(nd) : 0;
    f->part = f->h ? ln_buffer2(L, li, LN_UV_EXTRA, rows, nd->out)->data : NULL;
    /* the two-thread split of the sum: the model's first layer only */
    f->p0 = f->h && i == 1 ? ln_buffer2(L, 1, UV_P0, rows, nd->out)->data : NULL;
    lua_pushvalue(L, li - 1);
    ln_setuv(L, li, LN_UV_INPUTS);
    lua_getiuservalue(L, li, LN_UV_OUTPUT);
    lua_replace(L, li - 1);
    lua_settop(L, li - 1);
    nodenext(&cur, nd);
  }
  pl->direct = pl->src != NULL && pl->l[0].node.op->direct && ln_gemm_rows_ok(pl->l[0].node.out);
}

/* set up the backward of the plan's layers (run by plan_run) from the tensor
** on the stack top (the gradient of its last layer's output), after
** forward_setup; din: the first layer's input gradient too (someone before
** it needs it); fused: with the optimizer's updates (after
** ln_optimizer_pre) */
void ln_model_backward_setup(lua_State *L, Model *m, ln_Plan *pl, int opt, int fused, int din) {
  int i, j = 0;
  float *top = ln_totensor(L, -1)->data;
  const float *dv = top;
  char who[256];
  pl->mode = PLAN_BACKWARD;
  pl->fused = fused;
  for (i = pl->n; i >= 1; i--) {
    ln_FLayer *f = &pl->l[i - 1];
    const ln_Node *nd = &f->node;
    int li;
    ln_Layer *l;
    if (nd->op->loss) { /* the loss node (after the model's last layer): the loss's dinputs, top */
      f->din = top;
      continue;
    }
    l = ln_model_layer(L, 1, pl->at + i - 1);
    li = lua_gettop(L);
    f->dv = dv;
    if (nd->op == &ln_op_softmax_cce) /* the combined object's dinputs (the last layer's: dv is top) */
      f->din = top;
    else if (i == 1 && !din && nd->op->skip_din)
      f->din = NULL;
    else { /* shaped as the layer's inputs */
      const ln_Tensor *in = ln_getuv(L, li, LN_UV_INPUTS);
      f->din = ln_buffer(L, li, LN_UV_DINPUTS, in->ndim, in->dims)->data;
    }
    if (nd->op->update) {
      const ln_Trainable *t = (const ln_Trainable *)l;
      f->dw = ln_buffer_like(L, li, LN_UV_DWEIGHTS, ln_getuv(L, li, LN_UV_WEIGHTS))->data;
      f->db = ln_buffer_like(L, li, LN_UV_DBIASES, ln_getuv(L, li, LN_UV_BIASES))->data;
      f->wl1 = (float)t->weight_regularizer_l1;
      f->wl2 = (float)t->weight_regularizer_l2;
      f->bl1 = (float)t->bias_regularizer_l1;
      f->bl2 = (float)t->bias_regularizer_l2;
    }
    dv = f->din;
    lua_pop(L, 1);
  }
  if (fused) /* the updates, prepared in the trainable layers' order */
    for (i = 1; i <= pl->n; i++) {
      ln_FLayer *f = &pl->l[i - 1];
      ln_Layer *l;
      ln_Update *u = &pl->up[2 * j];
      if (f->node.op->update == NULL) continue;
      j++;
      l = ln_model_layer(L, 1, pl->at + i - 1);
      ln_optimizer_prepare(L, opt, lua_gettop(L), ln_model_trainwho(L, m, who, sizeof who, j, l), u);
      f->up = u;
      lua_pop(L, 1);
    }
}

/* a training plan on count rows of X (of perm): its source, and the pool
** that splits it (NULL: one thread, for steps too small to gain) */
ln_Pool *ln_model_plan_begin(lua_State *L, ln_Plan *pl, const ln_Tensor *X, const size_t *perm, size_t count,
                        size_t work) {
  pl->src = X->data;
  pl->perm = perm;
  return count >= 2 && work * count >= SPLIT_WORK ? ln_model_pool(L) : NULL;
}

/* after a forward plan on rows first.. (of perm): when the plan read X in
** place, the copy of the batch in the first layer's inputs is left to
** m_sync_inputs */
void ln_model_setpending(Model *m, const ln_Plan *pl, const size_t *perm, size_t first, size_t count) {
  m->pending = pl->direct;
  m->pending_perm = perm != NULL;
  m->pending_first = first;
  m->pending_count = count;
}
