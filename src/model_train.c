/*
** model_train.c: the entry points lua/lunet/model.lua's epoch loop calls
** (model:_steps, which runs model_step.c's steps, _eval_step, _shuffle,
** _sync_inputs, _park) and the model's own generator.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

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
  int shuffled = lua_toboolean(L, 7), check = lua_toboolean(L, 8);
  const size_t *perm = NULL;
  size_t n;
  double res[3] = { 0.0, 0.0, 0.0 };
  lua_Integer done = 0, s;
  ln_Steps steps;
  ln_threads_hold(L, 1); /* until _park: the steps' layer jobs come microseconds apart */
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
  ln_model_steps_begin(L, &steps);
  for (s = step0; s < step0 + nsteps; s++) {
    size_t first = (size_t)s * (size_t)bs;
    ln_model_step(L, m, X, Y, first, n - first < (size_t)bs ? n - first : (size_t)bs, perm, res, &steps);
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
