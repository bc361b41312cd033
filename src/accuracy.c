/*
** accuracy.c: the book's accuracies (chapter 17): CategoricalAccuracy
** (optionally binary) and RegressionAccuracy (|prediction - y| below
** precision = std(y) / 250).  Userdata holding an ln_Accuracy and no
** buffers: the comparisons are counted without a temporary
** (kernels/loss.c).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lunet.h"
#include "kernels/loss.h"

#define CATEGORICAL "lunet.CategoricalAccuracy"
#define REGRESSION "lunet.RegressionAccuracy"
#define WHOLEN 96

/* ============================================================ helpers */

ln_Accuracy *ln_toaccuracy(lua_State *L, int idx) {
  ln_Accuracy *a = (ln_Accuracy *)luaL_testudata(L, idx, CATEGORICAL);
  return a ? a : (ln_Accuracy *)luaL_testudata(L, idx, REGRESSION);
}

/* the accuracy's class name, for messages */
static const char *accname(const ln_Accuracy *a) {
  return a->regression ? "RegressionAccuracy" : "CategoricalAccuracy";
}

/* self of a method, raising otherwise; writes "<Class>:<method>" into who */
static ln_Accuracy *checkself(lua_State *L, const char *method, char *who) {
  ln_Accuracy *a = ln_toaccuracy(L, 1);
  if (a == NULL)
    ln_error(L, "accuracy:%s: self must be an accuracy, got %s (call it with ':')", method, ln_typename(L, 1));
  snprintf(who, WHOLEN, "%s:%s", accname(a), method);
  return a;
}

/* the tensor argument at idx, raising with its name otherwise */
static ln_Tensor *argtensor(lua_State *L, int idx, const char *name, const char *who) {
  ln_Tensor *t = ln_totensor(L, idx);
  if (t == NULL) ln_error(L, "%s: %s must be a lunet.Tensor, got %s", who, name, ln_typename(L, idx));
  return t;
}

/* shortest %.Ng of v that reads back to the same double, as Python prints */
static void fmtdouble(char *buf, size_t n, double v) {
  int p;
  for (p = 15; p <= 17; p++) {
    snprintf(buf, n, "%.*g", p, v);
    if (strtod(buf, NULL) == v) return;
  }
}

/* ======================================================= protocol */

void ln_accuracy_init(lua_State *L, int acc, int y, int reinit) {
  ln_Accuracy *a = ln_toaccuracy(L, acc);
  ln_Tensor *t;
  if (a == NULL) ln_error(L, "accuracy:init: expected an accuracy, got %s", ln_typename(L, acc));
  if (!a->regression) return;            /* the book's Accuracy_Categorical.init does nothing */
  t = argtensor(L, y, "y", "RegressionAccuracy:init");
  if (a->initialized && !reinit) return;
  a->precision = ln_std(t->numel, t->data) / 250.0;
  a->initialized = 1;
}

/* rows of a 1-D or 2-D tensor and values per row; 0 rows if more dims */
static size_t rowsof(const ln_Tensor *t) { return t->ndim <= 2 ? t->dims[0] : 0; }

int ln_accuracy_mode(const ln_Accuracy *a) {
  return a->regression ? LN_ACC_REGRESSION : a->binary ? LN_ACC_BINARY : LN_ACC_CATEGORICAL;
}

size_t ln_accuracy_check(lua_State *L, int acc, int predictions, int y, const char *who) {
  char sp[LN_SHAPELEN], sy[LN_SHAPELEN];
  ln_Accuracy *a = ln_toaccuracy(L, acc);
  ln_Tensor *p, *t;
  size_t n;
  if (a == NULL) ln_error(L, "%s: expected an accuracy, got %s", who, ln_typename(L, acc));
  p = argtensor(L, predictions, "predictions", who);
  t = argtensor(L, y, "y", who);
  if (a->regression && !a->initialized)
    ln_error(L, "%s: precision is not set: call init(y) first", who);
  if (!a->regression && !a->binary) {
    /* one label per row; y as labels (1-D or N x 1) or one-hot rows */
    n = rowsof(p);
    if (n == 0 || ln_cols(p) != 1)
      ln_error(L, "%s: predictions are %s, expected one class label per row (use the activation's "
               "predictions(outputs))", who, ln_shapestr(p, sp));
    if (rowsof(t) != n)
      ln_error(L, "%s: predictions are %s but y is %s", who, ln_shapestr(p, sp), ln_shapestr(t, sy));
    return n;
  }
  /* element-wise: the same rows and columns (1-D reads as N x 1) */
  if (rowsof(p) == 0 || rowsof(t) != rowsof(p) || ln_cols(t) != ln_cols(p))
    ln_error(L, "%s: predictions are %s but y is %s", who, ln_shapestr(p, sp), ln_shapestr(t, sy));
  if (a->binary) {
    size_t i, cols = ln_cols(t);
    for (i = 0; i < t->numel; i++) /* binary: targets 1..2 matched predictions 0/1 half the time, silently */
      if (t->data[i] != 0.0f && t->data[i] != 1.0f)
        ln_error(L, "%s: y %g at row %zu is not 0 or 1 (binary accuracy compares 0/1 predictions with 0/1 "
                 "targets; for labels 1..2 pass y - 1)", who, (double)t->data[i], i / cols + 1);
  }
  return p->numel;
}

double ln_accuracy_calculate(lua_State *L, int acc, int predictions, int y, const char *who) {
  size_t n = ln_accuracy_check(L, acc, predictions, y, who);
  ln_Accuracy *a = ln_toaccuracy(L, acc);
  const ln_Tensor *p = ln_totensor(L, predictions), *t = ln_totensor(L, y);
  /* the count is of comparisons, so a binary N x k output weighs k per row
  ** and the accumulated value stays a mean (np.mean) */
  return ln_accuracy_add(a, ln_accuracy_count(ln_accuracy_mode(a), rowsof(p), ln_cols(p), ln_cols(t), p->data,
                                              t->data, (float)a->precision), n);
}

double ln_accuracy_add(ln_Accuracy *a, size_t hits, size_t n) {
  a->accumulated_sum += (double)hits;
  a->accumulated_count += (double)n;
  return (double)hits / (double)n;
}

/* =========================================================== methods */

/* acc:init(y, reinit): regression sets precision = std(y) / 250 the first
** time or when reinit is true; categorical does nothing */
static int m_init(lua_State *L) {
  char who[WHOLEN];
  ln_Accuracy *a = checkself(L, "init", who);
  if (!lua_isnoneornil(L, 3) && !lua_isboolean(L, 3))
    ln_error(L, "%s: reinit must be a boolean, got %s", who, ln_typename(L, 3));
  if (a->regression) argtensor(L, 2, "y", who);
  ln_accuracy_init(L, 1, 2, lua_toboolean(L, 3));
  lua_settop(L, 1);
  return 1;
}

/* acc:calculate(predictions, y): mean of the comparisons (accumulated) */
static int m_calculate(lua_State *L) {
  char who[WHOLEN];
  checkself(L, "calculate", who);
  lua_pushnumber(L, ln_accuracy_calculate(L, 1, 2, 3, who));
  return 1;
}

/* acc:calculate_accumulated(): accuracy over everything since new_pass() */
static int m_calculate_accumulated(lua_State *L) {
  char who[WHOLEN];
  ln_Accuracy *a = checkself(L, "calculate_accumulated", who);
  if (a->accumulated_count <= 0)
    ln_error(L, "%s: nothing accumulated since the last new_pass() (call calculate first)", who);
  lua_pushnumber(L, a->accumulated_sum / a->accumulated_count);
  return 1;
}

/* acc:new_pass(): reset the accumulated sums */
static int m_new_pass(lua_State *L) {
  char who[WHOLEN];
  ln_Accuracy *a = checkself(L, "new_pass", who);
  a->accumulated_sum = 0.0;
  a->accumulated_count = 0.0;
  return 0;
}

/* fields: precision (regression, nil before init), binary (categorical),
** accumulated_sum, accumulated_count */
static int getfield(lua_State *L) {
  ln_Accuracy *a = ln_toaccuracy(L, 1);
  const char *k;
  if (a == NULL || lua_type(L, 2) != LUA_TSTRING) return 0;
  k = lua_tostring(L, 2);
  if (strcmp(k, "precision") == 0) {
    if (!a->regression || !a->initialized) return 0;
    lua_pushnumber(L, a->precision);
  } else if (strcmp(k, "binary") == 0) {
    if (a->regression) return 0;
    lua_pushboolean(L, a->binary);
  } else if (strcmp(k, "accumulated_sum") == 0) {
    lua_pushinteger(L, (lua_Integer)a->accumulated_sum);
  } else if (strcmp(k, "accumulated_count") == 0) {
    lua_pushinteger(L, (lua_Integer)a->accumulated_count);
  } else {
    return 0;
  }
  return 1;
}

/* "CategoricalAccuracy(binary=false)", "RegressionAccuracy(precision=0.004)" */
static int mm_tostring(lua_State *L) {
  ln_Accuracy *a = ln_toaccuracy(L, 1);
  char buf[64];
  if (a == NULL) return 0;
  if (!a->regression) {
    lua_pushstring(L, a->binary ? "CategoricalAccuracy(binary=true)" : "CategoricalAccuracy(binary=false)");
  } else if (!a->initialized) {
    lua_pushstring(L, "RegressionAccuracy(precision=nil)");
  } else {
    fmtdouble(buf, sizeof buf, a->precision);
    lua_pushfstring(L, "RegressionAccuracy(precision=%s)", buf);
  }
  return 1;
}

static const ln_Method methods[] = {
  {"init", m_init, 2}, {"calculate", m_calculate, 2},
  {"calculate_accumulated", m_calculate_accumulated, 0}, {"new_pass", m_new_pass, 0},
  {NULL, NULL, 0}
};

/* acc.precision = p (regression, p finite >= 0; 0 from constant targets):
** restores a saved model's precision without the data it came from; other
** assignments raise */
static int mm_newindex(lua_State *L) {
  ln_Accuracy *a = ln_toaccuracy(L, 1);
  const char *k = lua_tostring(L, 2);
  const char *name = a && a->regression ? "RegressionAccuracy" : "CategoricalAccuracy";
  if (a && a->regression && k && strcmp(k, "precision") == 0) {
    int isnum;
    lua_Number p = lua_tonumberx(L, 3, &isnum);
    if (!isnum || !(p >= 0) || p == HUGE_VAL)
      ln_error(L, "RegressionAccuracy: precision must be a finite number >= 0, got %s",
               isnum ? lua_tostring(L, 3) : luaL_typename(L, 3));
    a->precision = p;
    a->initialized = 1;
    return 0;
  }
  ln_error(L, "%s: cannot set field '%s'", name, k ? k : luaL_typename(L, 2));
  return 0;
}

static const luaL_Reg metamethods[] = {
  {"__tostring", mm_tostring},
  {"__newindex", mm_newindex},
  {NULL, NULL}
};

/* push a new accuracy with metatable mt */
static ln_Accuracy *newaccuracy(lua_State *L, const char *mt, int regression) {
  ln_Accuracy *a = (ln_Accuracy *)lua_newuserdatauv(L, sizeof *a, 0);
  memset(a, 0, sizeof *a);
  a->regression = regression;
  luaL_setmetatable(L, mt);
  return a;
}

/* lunet.CategoricalAccuracy{ binary = false } */
static int l_categorical(lua_State *L) {
  static const char *const opts[] = {"binary", NULL};
  const char *who = "lunet.CategoricalAccuracy";
  int binary;
  ln_checkoptions(L, 1, who, opts);
  binary = ln_optboolean(L, 1, "binary", 0, who);
  newaccuracy(L, CATEGORICAL, 0)->binary = binary;
  return 1;
}

/* lunet.RegressionAccuracy() */
static int l_regression(lua_State *L) {
  static const char *const none[] = {NULL};
  ln_checkoptions(L, 1, "lunet.RegressionAccuracy", none);
  newaccuracy(L, REGRESSION, 1);
  return 1;
}

void ln_open_accuracy(lua_State *L) {
  ln_newclass(L, CATEGORICAL, methods, metamethods, getfield);
  lua_pop(L, 1);
  ln_newclass(L, REGRESSION, methods, metamethods, getfield);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_categorical);
  lua_setfield(L, -2, "CategoricalAccuracy");
  lua_pushcfunction(L, l_regression);
  lua_setfield(L, -2, "RegressionAccuracy");
}
