/*
** model_step.c: one training step of lunet.Model for every network (the
** only step driver): the model's layers as plans on the engine's threads
** (segments: runs of layers whose ops train in plans, src/model_plan.c),
** the layers the plans do not take (Lua layers, Input, Flatten) one by one
** on the calling thread between them, then the loss, the accuracy, the
** backward in reverse and the optimizer's updates.
**
** The plans are set up by a batch size's first step and run again by the
** next steps of the same call of model:_steps (ln_Steps), as long as no
** Lua layer runs between them (Lua code could resize the buffers the plans
** point into) and each segment's input and output gradient are the buffers
** it was set up on (checked every step; a segment is set up again
** otherwise).  A step that sets up computes what a replayed step computes,
** so both give the same numbers (spec/engine_spec.lua).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "engine/op.h"
#include "kernels/loss.h"

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
    const ln_Layer *l;
    lua_rawgeti(L, -1, i);
    l = ln_tolayer(L, -1);
    if (l && l->cls->trainable) {
      const ln_Trainable *d = (const ln_Trainable *)l;
      any = d->weight_regularizer_l1 > 0 || d->weight_regularizer_l2 > 0 || d->bias_regularizer_l1 > 0 ||
            d->bias_regularizer_l2 > 0;
    } else if (l == NULL) any = 1; /* a Lua layer: ask regularization_loss */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return any;
}

/* the loss as the last node of plan pl, whose last layer is the model's
** (its output on the stack top; the batch's targets at by): checks the
** targets as the loss's calculate would and sizes its buffers; with add,
** appends the node.  Returns 1 and sets *losses (where the plan writes each
** row's loss), or 0 when the loss has no op (the combined object: its
** Softmax is the plan's) */
static int addloss(lua_State *L, ln_Plan *pl, int by, size_t first, const size_t *perm, float **losses, int add) {
  int out = lua_gettop(L), sparse;
  float *din;
  const ln_OpDef *op;
  ln_FLayer *f;
  lua_getiuservalue(L, 1, UV_LOSS);
  ln_model_checklabels(L, out + 1, out, by, first, perm, "Model:train: loss");
  op = ln_loss_planop(L, out + 1, out, by, "Model:train: loss", &sparse, losses, &din);
  lua_settop(L, out);
  if (op == NULL) return 0;
  pl->y = ln_totensor(L, by)->data;
  pl->sparse = sparse;
  if (!add) return 1;
  f = &pl->l[pl->n++];
  memset(f, 0, sizeof *f);
  f->node.op = op;
  f->node.in = ln_cols(ln_totensor(L, out));
  f->node.out = 1;
  f->in = pl->l[pl->n - 2].out;
  f->out = *losses;
  return 1;
}

/* the predictions of plan pl, whose last layer is the model's (its output
** on the stack top; the targets at by), and with an accuracy ready to
** count, its hits on the plan's threads (tally, one per part): returns 1
** then, 0 when the calling thread counts them (an uninitialised regression
** accuracy raises there) */
static int addaccuracy(lua_State *L, ln_Plan *pl, int by, ln_Tally *tally, int parts) {
  int out = lua_gettop(L), n = ln_model_nlayers(L, 1);
  const ln_Tensor *o = ln_totensor(L, out), *y = ln_totensor(L, by);
  const ln_Accuracy *a;
  ln_Layer *last = ln_model_layer(L, 1, n);
  size_t rows = o->dims[0];
  int i;
  lua_pop(L, 1);
  if (last->cls->pred_argmax) pl->pred = ln_buffer(L, 1, UV_PRED, 1, &rows)->data;
  else pl->pred = ln_buffer_like(L, 1, UV_PRED, o)->data;
  pl->tally = tally;
  for (i = 0; i < parts; i++) tally[i].hits = 0, tally[i].bad = 0;
  lua_getiuservalue(L, 1, UV_ACC);
  a = ln_toaccuracy(L, -1);
  lua_pop(L, 1);
  if (a == NULL || (a->regression && !a->initialized)) return 0;
  pl->acc = ln_accuracy_mode(a);
  pl->precision = (float)a->precision;
  pl->y = y->data;
  pl->ycols = ln_cols(y);
  return 1;
}

/* the model's plans: MAXSEG segments and the update job (user value
** UV_PLANS, made on first use) */
static ln_Plan *getplans(lua_State *L) {
  ln_Plan *p;
  if (lua_getiuservalue(L, 1, UV_PLANS) == LUA_TUSERDATA) {
    p = (ln_Plan *)lua_touserdata(L, -1);
    lua_pop(L, 1);
    return p;
  }
  lua_pop(L, 1);
  p = (ln_Plan *)lua_newuserdatauv(L, (MAXSEG + 1) * sizeof *p, 0);
  memset(p, 0, (MAXSEG + 1) * sizeof *p);
  lua_setiuservalue(L, 1, UV_PLANS);
  return p;
}

/* does the model hold a layer written in Lua? */
static int haslua(lua_State *L) {
  int i, n = ln_model_nlayers(L, 1), any = 0;
  for (i = 1; i <= n && !any; i++) {
    any = ln_model_layer(L, 1, i) == NULL;
    lua_pop(L, 1);
  }
  return any;
}

void ln_model_steps_begin(lua_State *L, ln_Steps *S) {
  memset(S, 0, sizeof *S);
  S->reg_any = anyreg(L);
  S->nolua = !haslua(L);
}

/* the forward of segment s (layers i..b) on the stack top, set up anew
** unless the step replays it on the same input; leaves layer b's output on
** the top.  Returns the plan */
static ln_Plan *segment_forward(lua_State *L, ln_Steps *S, int s, int i, int b, size_t work,
                                const ln_Tensor *X, const size_t *perm, size_t first, size_t count, int replay) {
  ln_Plan *pl = &getplans(L)[s];
  if (!replay || pl->l[0].in != ln_totensor(L, -1)->data || pl->rows != count) {
    if (replay) b = ln_model_segment(L, i, ln_totensor(L, -1), &work); /* (the same layers: for work) */
    if (i == 1) S->segpool[s] = ln_model_plan_begin(L, pl, X, perm, count, work);
    else S->segpool[s] = count >= 2 && work * count >= SPLIT_WORK ? ln_model_pool(L) : NULL;
    ln_model_forward_setup(L, pl, lua_gettop(L), i, b);
    lua_replace(L, -2);
    S->setup[s] = 1;   /* its backward is set up again too */
  } else { /* the layer's output, as forward_setup leaves it */
    ln_model_layer(L, 1, b);
    lua_getiuservalue(L, -1, LN_UV_OUTPUT);
    lua_replace(L, -3);
    lua_pop(L, 1);
    S->setup[s] = 0;
  }
  pl->first = first;
  pl->mode = PLAN_FORWARD;
  return pl;
}

void ln_model_step(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, size_t first, size_t count,
                   const size_t *perm, double res[3], ln_Steps *S) {
  int n, bx, by, out, i, s, ntrain, oi, nseg = 0, fused = 0, softmax_in_plan = 0, start, accplan = 0;
  int replay = S->nolua && S->count == count && S->nseg > 0, lossi, parts = 1, bad = 0;
  size_t nparams = 0, work = 0;
  ln_Pool *pool;
  ln_Plan *plans = getplans(L), *up = &plans[MAXSEG], *last = NULL;
  double data_loss, reg, acc;
  ln_Optimizer *opt;
  ln_Tally tally[LN_MAXTHREADS];
  char who[256];
  lua_settop(L, 3);
  m->pending = 0;
  n = ln_model_nlayers(L, 1);
  if (!replay) {
    S->count = count;
    S->nseg = 0;
    S->k = ln_model_fastprefix(L, X, &S->work);
    S->combined_ready = 0;
    for (S->skip = 0; S->skip < n; S->skip++) { /* leading Input layers need no gradient */
      ln_Layer *l = ln_model_layer(L, 1, S->skip + 1);
      lua_pop(L, 1);
      if (l == NULL || l->cls->kind != LN_KIND_INPUT) break;
    }
  }
  bx = ln_model_gather(L, UV_BX, X, first, count, perm, S->k == 0);
  by = ln_model_gather(L, UV_BY, Y, first, count, perm, 1);
  lua_getiuservalue(L, 1, UV_LOSS);
  lossi = lua_gettop(L);
  /* forward: the current tensor stays on the stack top */
  lua_pushvalue(L, bx);
  for (i = 1; i <= n;) {
    int b;
    ln_Plan *pl;
    if (replay) b = nseg < S->nseg && S->sega[nseg] == i ? S->segb[nseg] : 0;
    else if (i == 1) b = S->k, work = S->work;
    else b = nseg < MAXSEG ? ln_model_segment(L, i, ln_totensor(L, -1), &work) : 0;
    if (b == 0) {
      ln_model_forward_range(L, i, i, 1, "Model:train");
      i++;
      continue;
    }
    pl = segment_forward(L, S, nseg, i, b, work, X, perm, first, count, replay);
    parts = ln_pool_parts(S->segpool[nseg]);
    if (b == n) { /* the loss, the predictions and the accuracy on the plan's threads too */
      last = pl;
      softmax_in_plan = pl->l[b - i].node.op == &ln_op_softmax_cce;
      if (!softmax_in_plan) S->lossnode = addloss(L, pl, by, first, perm, &S->losses, S->setup[nseg]);
      accplan = addaccuracy(L, pl, by, tally, parts);
      pl->losses = NULL;
      if (softmax_in_plan && S->combined_ready) { /* each row's loss (labels checked by the threads) */
        pl->y = ln_totensor(L, by)->data;
        pl->losses = ln_loss_samples(L, lossi, count);
      }
    }
    ln_plan_masks(pl, ln_model_rng(L, m));
    ln_plan_run(S->segpool[nseg], pl);
    if (i == 1) ln_model_setpending(m, pl, perm, first, count);
    S->sega[nseg] = i;
    S->segb[nseg++] = b;
    i = b + 1;
  }
  S->nseg = nseg;
  pool = nseg > 0 ? S->segpool[0] : NULL;
  out = lua_gettop(L);
  if (last && last->losses)
    for (s = 0; s < parts; s++) bad |= tally[s].bad;
  if (S->lossnode) /* each row's loss computed by the plan (the targets checked by addloss) */
    data_loss = ln_loss_add(ln_toloss(L, lossi), S->losses, count);
  else if (last && last->losses && !bad)
    data_loss = ln_loss_add(ln_toloss(L, lossi), last->losses, count);
  else {
    ln_model_checklabels(L, lossi, out, by, first, perm, "Model:train: loss");
    data_loss = ln_loss_calculate(L, lossi, out, by, "Model:train: loss");
  }
  reg = S->reg_any ? regloss(L) : 0.0;
  if (softmax_in_plan || accplan) lua_getiuservalue(L, 1, UV_PRED); /* made by the plan */
  else ln_model_predictions(L, out);
  lua_getiuservalue(L, 1, UV_ACC);
  if (accplan) { /* counted by the plan's threads: calculate's checks, then its bookkeeping */
    size_t hits = 0, cmp = ln_accuracy_check(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:train: accuracy");
    for (s = 0; s < parts; s++) hits += tally[s].hits;
    acc = ln_accuracy_add(ln_toaccuracy(L, -1), hits, cmp);
  } else
    acc = ln_accuracy_calculate(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:train: accuracy");
  lua_settop(L, out);
  /* the gradient of the loss (out + 1: the loss or combined object) */
  start = n;
  if (lua_getiuservalue(L, 1, UV_COMBINED) != LUA_TNIL) {
    if (softmax_in_plan) { /* checked and sized here, computed by the backward plan */
      last->y = ln_totensor(L, by)->data;
      ln_softmax_cce_begin(L, out + 1, out, by, "Model:train: softmax/cross-entropy", &last->sparse);
      S->combined_ready = 1;
    } else {
      ln_softmax_cce_backward(L, out + 1, out, by, "Model:train: softmax/cross-entropy");
      start = n - 1;
    }
    lua_getiuservalue(L, out + 1, LN_UV_DINPUTS);
  } else {
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_LOSS);
    if (!S->lossnode) ln_loss_backward(L, out + 1, out, by, "Model:train: loss"); /* (else in the plan) */
    lua_getiuservalue(L, out + 1, 2);
  }
  /* the optimizer's updates run inside the backward plan (fused) when one
  ** segment holds every trainable layer, else after the backward */
  lua_getiuservalue(L, 1, UV_OPT);
  oi = lua_gettop(L);
  opt = ln_tooptimizer(L, oi);
  ln_optimizer_pre(opt);
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  ntrain = (int)lua_rawlen(L, -1);
  lua_pop(L, 1);
  if (nseg == 1) {
    int j, trained = 0;
    for (j = 0; j < plans[0].n; j++) trained += plans[0].l[j].node.op->update != NULL;
    fused = trained == ntrain;
  }
  lua_pushvalue(L, oi - 1); /* the gradient, kept on the stack top */
  for (i = start, s = nseg - 1; i > S->skip;) {
    if (s >= 0 && S->segb[s] == i) {
      ln_Plan *pl = &plans[s];
      int din = S->sega[s] > S->skip + 1, j;
      float *top = ln_totensor(L, -1)->data;
      if (S->setup[s] || S->top[s] != top) { /* set up, or its output gradient moved */
        ln_model_backward_setup(L, m, pl, oi, fused, din);
        S->top[s] = top;
      } else {
        pl->mode = PLAN_BACKWARD;
        for (j = 0; fused && j < pl->n; j++) /* this step's learning rate */
          if (pl->l[j].up) ln_optimizer_refresh(opt, &pl->up[pl->l[j].up - pl->up]);
      }
      ln_plan_run(S->segpool[s], pl);
      if (din) {
        ln_model_layer(L, 1, S->sega[s]);
        lua_getiuservalue(L, -1, LN_UV_DINPUTS);
        lua_replace(L, -3);
        lua_pop(L, 1);
      }
      i = S->sega[s--] - 1;
    } else {
      ln_Layer *l = ln_model_layer(L, 1, i);
      lua_pop(L, 1);
      if (l && i == S->skip + 1) l->skip_dinputs = 1; /* nobody reads the first layer's dinputs */
      ln_model_backward_range(L, i, i, "Model:train");
      if (l) l->skip_dinputs = 0;
      i--;
    }
  }
  lua_settop(L, out);
  lua_getiuservalue(L, 1, UV_OPT);
  lua_getiuservalue(L, 1, UV_TRAINABLE);
  up->mode = PLAN_UPDATE;
  up->nup = 0;
  for (i = 1; i <= ntrain && !fused; i++) {
    ln_Layer *l;
    lua_rawgeti(L, -1, i);
    l = ln_tolayer(L, -1);
    ln_model_layerwho(L, -1, who, sizeof who, "Model:train: optimizer, trainable", i, l);
    if (l != NULL && up->nup + 2 <= 2 * MAXFAST) { /* prepared now, run below on the pool */
      ln_optimizer_prepare(L, out + 1, lua_gettop(L), who, &up->up[up->nup]);
      nparams += up->up[up->nup].n + up->up[up->nup + 1].n;
      up->nup += 2;
    } else ln_optimizer_update(L, out + 1, lua_gettop(L), who);
    lua_pop(L, 1);
  }
  if (up->nup > 0)
    ln_plan_run(nparams >= SPLIT_UPDATE ? (pool ? pool : ln_model_pool(L)) : NULL, up);
  ln_optimizer_post(opt);
  res[0] = data_loss;
  res[1] = reg;
  res[2] = acc;
}
