/*
** model_train.c: the training and evaluation steps of lunet.Model
** (model:_steps, _eval_step, _shuffle, _sync_inputs, _park), which
** lua/lunet/model.lua's epoch loop calls: the plan on the engine's threads
** where the layers allow, the layers one by one on the calling thread
** elsewhere.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "engine/op.h"
#include "kernels/nn.h"
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
    lua_rawgeti(L, -1, i);
    const ln_Layer *l = ln_tolayer(L, -1);
    if (l && l->cls->trainable) {
      const ln_Trainable *d = (const ln_Trainable *)l;
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
  Model *m = ln_model_check(L, 1);
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
  ln_rng_permutation(ln_model_rng(L, m), (size_t)n, p);
  return 0;
}

/* the loss as the last node of plan pl, whose last layer is the model's
** (its output on the stack top; the batch's targets at by): checks the
** targets as the loss's calculate would and sizes its buffers; returns 1
** and sets *losses (where the plan writes each row's loss), or 0 when the
** loss has no op (the combined object: its Softmax is the plan's) */
static int addloss(lua_State *L, ln_Plan *pl, int by, size_t first, const size_t *perm, float **losses) {
  int out = lua_gettop(L), sparse;
  float *din;
  const ln_OpDef *op;
  ln_FLayer *f;
  lua_getiuservalue(L, 1, UV_LOSS);
  ln_model_checklabels(L, out + 1, out, by, first, perm, "Model:train: loss");
  op = ln_loss_planop(L, out + 1, out, by, "Model:train: loss", &sparse, losses, &din);
  lua_settop(L, out);
  if (op == NULL) return 0;
  f = &pl->l[pl->n++];
  memset(f, 0, sizeof *f);
  f->node.op = op;
  f->node.in = ln_cols(ln_totensor(L, out));
  f->node.out = 1;
  f->in = pl->l[pl->n - 2].out;
  f->out = *losses;
  pl->y = ln_totensor(L, by)->data;
  pl->sparse = sparse;
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
  lua_getiuservalue(L, 1, UV_ACC);
  a = ln_toaccuracy(L, -1);
  lua_pop(L, 1);
  if (a == NULL || (a->regression && !a->initialized)) return 0;
  pl->acc = ln_accuracy_mode(a);
  pl->precision = (float)a->precision;
  pl->y = y->data;
  pl->ycols = ln_cols(y);
  pl->tally = tally;
  for (i = 0; i < parts; i++) tally[i].hits = 0;
  return 1;
}

/* the model's plans for step_any: MAXSEG segments and the update job
** (user value UV_PLANS, made on first use; about 12 KB each) */
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

/* one training step on rows first..first+count-1 (0-based) of X and y (the
** model and both at stack 1..3, checked), or those positions of perm;
** res = data_loss, reg_loss, accuracy.  Any model: each run of layers the
** plan takes (a segment: from a Dense through Dense, ReLU, Sigmoid, Linear,
** Dropout, a last Softmax with the combined loss) runs on the engine's
** threads, the others (Lua layers, Input, Softmax with a plain loss) one by
** one on the calling thread between them */
static void step_any(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, size_t first, size_t count,
                     const size_t *perm, double res[3]) {
  int n, bx, by, out, i, s, ntrain, k, oi, nseg = 0, fused = 0, softmax_in_plan = 0, skip = 0, start, lossnode = 0;
  int accplan = 0;
  ln_Tally tally[LN_MAXTHREADS];
  int sega[MAXSEG], segb[MAXSEG];
  size_t nparams = 0, work = 0;
  ln_Pool *pool = NULL, *segpool[MAXSEG];
  ln_Plan *plans = getplans(L), *up = &plans[MAXSEG];
  double data_loss, reg, acc;
  ln_Optimizer *opt;
  float *losses = NULL;
  char who[256];
  lua_settop(L, 3);
  m->pending = 0;
  k = ln_model_fastprefix(L, X, &work);
  bx = ln_model_gather(L, UV_BX, X, first, count, perm, k == 0);
  by = ln_model_gather(L, UV_BY, Y, first, count, perm, 1);
  n = ln_model_nlayers(L, 1);
  /* forward: the current tensor stays on the stack top */
  lua_pushvalue(L, bx);
  for (i = 1; i <= n;) {
    /* the first segment is the prefix found above (work is still its) */
    int b = i == 1 ? k : nseg < MAXSEG ? ln_model_segment(L, i, ln_totensor(L, -1), &work) : 0;
    ln_Plan *pl = &plans[nseg];
    if (b == 0) {
      ln_model_forward_range(L, i, i, 1, "Model:train");
      i++;
      continue;
    }
    if (i == 1) {
      segpool[nseg] = ln_model_plan_begin(L, pl, X, perm, count, work);
      pl->first = first;
    } else segpool[nseg] = count >= 2 && work * count >= SPLIT_WORK ? ln_model_pool(L) : NULL;
    ln_model_forward_setup(L, pl, lua_gettop(L), i, b);
    lua_replace(L, -2);
    if (b == n && pl->l[b - i].node.op != &ln_op_softmax_cce) /* the loss on the plan's threads too */
      lossnode = addloss(L, pl, by, first, perm, &losses);
    if (b == n) /* and the predictions, and the accuracy's count */
      accplan = addaccuracy(L, pl, by, tally, ln_pool_parts(segpool[nseg]));
    ln_plan_masks(pl, ln_model_rng(L, m));
    ln_plan_run(segpool[nseg], pl);
    if (i == 1) ln_model_setpending(m, pl, perm, first, count);
    softmax_in_plan = b == n && pl->l[b - i].node.op == &ln_op_softmax_cce;
    sega[nseg] = i;
    segb[nseg++] = b;
    i = b + 1;
  }
  pool = nseg > 0 ? segpool[0] : NULL;
  out = lua_gettop(L);
  lua_getiuservalue(L, 1, UV_LOSS);
  if (lossnode) /* each row's loss computed by the plan (the targets checked by addloss) */
    data_loss = ln_loss_add(ln_toloss(L, -1), losses, count);
  else {
    ln_model_checklabels(L, lua_gettop(L), out, by, first, perm, "Model:train: loss");
    data_loss = ln_loss_calculate(L, lua_gettop(L), out, by, "Model:train: loss");
  }
  lua_pop(L, 1);
  reg = regloss(L);
  if (softmax_in_plan || accplan) lua_getiuservalue(L, 1, UV_PRED); /* made by the plan */
  else ln_model_predictions(L, out);
  lua_getiuservalue(L, 1, UV_ACC);
  if (accplan) { /* counted by the plan's threads: calculate's checks, then its bookkeeping */
    size_t hits = 0, cmp = ln_accuracy_check(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:train: accuracy");
    for (i = 0; i < ln_pool_parts(segpool[nseg - 1]); i++) hits += tally[i].hits;
    acc = ln_accuracy_add(ln_toaccuracy(L, -1), hits, cmp);
  } else
    acc = ln_accuracy_calculate(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:train: accuracy");
  lua_settop(L, out);
  /* the gradient of the loss (out + 1: the loss or combined object) */
  start = n;
  if (lua_getiuservalue(L, 1, UV_COMBINED) != LUA_TNIL) {
    if (softmax_in_plan) { /* checked and sized here, computed by the backward plan */
      plans[nseg - 1].y = ln_totensor(L, by)->data;
      ln_softmax_cce_begin(L, out + 1, out, by, "Model:train: softmax/cross-entropy", &plans[nseg - 1].sparse);
    } else {
      ln_softmax_cce_backward(L, out + 1, out, by, "Model:train: softmax/cross-entropy");
      start = n - 1;
    }
    lua_getiuservalue(L, out + 1, LN_UV_DINPUTS);
  } else {
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_LOSS);
    if (!lossnode) ln_loss_backward(L, out + 1, out, by, "Model:train: loss"); /* (else in the plan) */
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
  /* leading Input layers need no gradient (nor does the first layer's input) */
  for (skip = 0; skip < n; skip++) {
    ln_Layer *l = ln_model_layer(L, 1, skip + 1);
    lua_pop(L, 1);
    if (l == NULL || l->cls->kind != LN_KIND_INPUT) break;
  }
  lua_pushvalue(L, oi - 1); /* the gradient, kept on the stack top */
  for (i = start, s = nseg - 1; i > skip;) {
    if (s >= 0 && segb[s] == i) {
      int din = sega[s] > skip + 1;
      ln_model_backward_setup(L, m, &plans[s], oi, fused, din);
      ln_plan_run(segpool[s], &plans[s]);
      if (din) {
        ln_model_layer(L, 1, sega[s]);
        lua_getiuservalue(L, -1, LN_UV_DINPUTS);
        lua_replace(L, -3);
        lua_pop(L, 1);
      }
      i = sega[s--] - 1;
    } else {
      ln_Layer *l = ln_model_layer(L, 1, i);
      lua_pop(L, 1);
      if (l && i == skip + 1) l->skip_dinputs = 1; /* nobody reads the first layer's dinputs */
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

/* the plan's layer count (all of them) when the whole model is one plan
** ending in a Softmax with the combined loss (the book's classifier), else
** 0; *work as fastprefix gives it */
static int book_classifier(lua_State *L, const ln_Tensor *X, size_t *work) {
  int n = ln_model_nlayers(L, 1), k = ln_model_fastprefix(L, X, work), last;
  ln_Layer *l;
  if (k < 2 || k != n) return 0;
  l = ln_model_layer(L, 1, n);
  last = l && l->cls->kind == LN_KIND_SOFTMAX;
  lua_pop(L, 1);
  if (lua_getiuservalue(L, 1, UV_COMBINED) == LUA_TNIL) last = 0; /* a Softmax with a plain loss */
  lua_pop(L, 1);
  return last ? k : 0;
}

/* steps step0 .. step0 + nsteps - 1 of the book's classifier (see m_steps):
** the plan is set up for the first step of each batch size and only run by
** the others (nothing else runs on this Lua state in between).  Returns the
** steps done; res as step_any's for the last */
static lua_Integer steps_book(lua_State *L, Model *m, const ln_Tensor *X, const ln_Tensor *Y, int k, size_t work,
                              size_t step0, size_t nsteps, size_t bs, const size_t *perm, int check, double res[3]) {
  ln_Plan plan;
  ln_Pool *pool = NULL;
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
      bx = ln_model_gather(L, UV_BX, X, first, count, perm, 0);
      by = ln_model_gather(L, UV_BY, Y, first, count, perm, 0);
      byt = ln_totensor(L, by);
      pool = ln_model_plan_begin(L, &plan, X, perm, count, work);
      ln_model_forward_setup(L, &plan, bx, 1, k);
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
    ln_plan_masks(&plan, ln_model_rng(L, m));
    parts = ln_pool_parts(pool);
    for (t = 0; t < parts; t++) tally[t].hits = 0, tally[t].bad = 0;
    ln_plan_run(pool, &plan);
    ln_model_setpending(m, &plan, perm, first, count);
    for (t = 0; t < parts && !tally[t].bad; t++) {}
    if (plan.losses && t == parts) { /* computed by the plan's threads */
      size_t hits = 0;
      for (t = 0; t < parts; t++) hits += tally[t].hits;
      data_loss = ln_loss_add(lossp, plan.losses, count);
      acc = ln_accuracy_add(accp, hits, count);
    } else {
      ln_model_checklabels(L, lossi, out, by, first, perm, "Model:train: loss");
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
        plan.acc = plan.losses ? LN_ACC_CATEGORICAL : LN_ACC_NONE; /* the hits too */
        plan.tally = tally;
      }
      lua_getiuservalue(L, 1, UV_OPT);
      opt = ln_tooptimizer(L, -1);
      ln_optimizer_pre(opt);
      lua_getiuservalue(L, -2, LN_UV_DINPUTS);
      ln_model_backward_setup(L, m, &plan, lua_gettop(L) - 1, 1, 0);
      base = lua_gettop(L);
      ready = 1;
    } else {
      ln_optimizer_pre(opt);
      for (j = 0; j < plan.n; j++) /* the updates are plan.up[0, 2, ..], one pair per trained node */
        if (plan.l[j].up) ln_optimizer_refresh(opt, &plan.up[plan.l[j].up - plan.up]);
    }
    plan.mode = PLAN_BACKWARD;
    ln_plan_run(pool, &plan);
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
  Model *m = ln_model_check(L, 1);
  ln_Tensor *X = ln_checktensor(L, 2), *Y = ln_checktensor(L, 3);
  lua_Integer step0 = luaL_checkinteger(L, 4), nsteps = luaL_checkinteger(L, 5), bs = luaL_checkinteger(L, 6);
  int shuffled = lua_toboolean(L, 7), check = lua_toboolean(L, 8), k;
  const size_t *perm = NULL;
  size_t work, n;
  double res[3] = { 0.0, 0.0, 0.0 };
  ln_threads_hold(L, 1); /* until _park: the steps' layer jobs come microseconds apart */
  lua_Integer done = 0, s;
  ln_model_checkready(L, m, "Model:train", 2);
  ln_model_checkxy(L, X, Y, "Model:train");
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
  Model *m = ln_model_check(L, 1);
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
  ln_model_gather(L, UV_BX, X, m->pending_first, m->pending_count, perm, 1);
  return 0;
}

ln_Rng *ln_model_rng(lua_State *L, Model *m) {
  if (!m->has_rng) {
    ln_rng_seed(&m->rng, ln_rng_next(ln_getrng(L)));
    m->has_rng = 1;
  }
  return &m->rng;
}

/* model:seed(n): reseed the model's own generator (its dropout masks and
** shuffles); returns the model */
static int m_seed(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  int isint;
  lua_Integer n = lua_tointegerx(L, 2, &isint);
  if (!isint) ln_error(L, "Model:seed: argument 1 (n) must be an integer, got %s", ln_typename(L, 2));
  ln_rng_seed(&m->rng, (uint64_t)n);
  m->has_rng = 1;
  lua_settop(L, 1);
  return 1;
}

/* model:_rng_state() / model:_set_rng_state(t): the model's generator as a
** table (ln_rng_push), for Model:save and Model.load */
static int m_rng_state(lua_State *L) {
  ln_rng_push(L, ln_model_rng(L, ln_model_check(L, 1)));
  return 1;
}

static int m_set_rng_state(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  ln_rng_read(L, 2, &m->rng, "Model.load: generator");
  m->has_rng = 1;
  return 0;
}

/* model:_park(): the worker sleeps now rather than spinning for the next
** job (Model:train calls it when it returns: a program that trains a little
** every frame would otherwise pay up to IDLE_NS of spinning per call) */
static int m_park(lua_State *L) {
  ln_model_check(L, 1);
  ln_threads_hold(L, 0); /* the state's pool, which the plan and the layers share */
  return 0;
}

/* model:_eval_step(X, y, first, count) -> data_loss, acc (inference mode) */
static int m_eval_step(lua_State *L) {
  Model *m = ln_model_check(L, 1);
  ln_Tensor *X = ln_checktensor(L, 2), *Y = ln_checktensor(L, 3);
  lua_Integer first = luaL_checkinteger(L, 4), count = luaL_checkinteger(L, 5);
  int bx, by, out;
  double data_loss, acc;
  ln_model_checkready(L, m, "Model:evaluate", 1);
  ln_model_checkxy(L, X, Y, "Model:evaluate");
  if (first < 1 || count < 1 || (size_t)count > X->dims[0] || (size_t)(first - 1) > X->dims[0] - (size_t)count)
    ln_error(L, "Model:evaluate: %lld rows from row %lld outside 1..%zu", (long long)count, (long long)first,
             X->dims[0]);
  lua_settop(L, 3);
  bx = ln_model_gather(L, UV_BX, X, (size_t)first - 1, (size_t)count, NULL, 1);
  by = ln_model_gather(L, UV_BY, Y, (size_t)first - 1, (size_t)count, NULL, 1);
  ln_model_forward_all(L, bx, 0, "Model:evaluate");
  out = lua_gettop(L);
  lua_getiuservalue(L, 1, UV_LOSS);
  ln_model_checklabels(L, lua_gettop(L), out, by, (size_t)first - 1, NULL, "Model:evaluate: loss");
  data_loss = ln_loss_calculate(L, lua_gettop(L), out, by, "Model:evaluate: loss");
  lua_pop(L, 1);
  ln_model_predictions(L, out);
  lua_getiuservalue(L, 1, UV_ACC);
  acc = ln_accuracy_calculate(L, lua_gettop(L), lua_gettop(L) - 1, by, "Model:evaluate: accuracy");
  lua_pushnumber(L, data_loss);
  lua_pushnumber(L, acc);
  return 2;
}

/* the training entry points model.lua calls (model.c adds them to the class) */
const ln_Method ln_model_train_methods[] = {
  {"_steps", m_steps, 7}, {"_eval_step", m_eval_step, 4}, {"_shuffle", m_shuffle, 1},
  {"_sync_inputs", m_sync_inputs, 1}, {"_park", m_park, 0},
  {"seed", m_seed, 1}, {"_rng_state", m_rng_state, 0}, {"_set_rng_state", m_set_rng_state, 1},
  {NULL, NULL, 0}
};
