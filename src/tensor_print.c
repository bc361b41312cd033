/*
** tensor_print.c: tostring(t), Torch-style: one format for the whole tensor
** chosen from its values, right-aligned columns, big tensors abbreviated,
** 3-D and 4-D tensors as 2-D slices, then "[lunet.Tensor of size AxB]".
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "lunet.h"

typedef struct Fmt { const char *f; int width; double scale; } Fmt;

/* one value with format f into buf; NaN prints as "nan" (glibc may say "-nan") */
static int fmtnum(char *buf, size_t n, const char *f, double v) {
  if (v != v) return snprintf(buf, n, "nan");
  return snprintf(buf, n, f, v);
}

/* choose one format for all shown values, as Torch7 does.  The width is
** that of the widest of the extremes (largest, smallest, -0, nan, +-inf):
** formatted width only grows with the magnitude and the sign, so one pass of
** comparisons suffices (no snprintf per element: printing 47M values used to
** take seconds). */
static Fmt choosefmt(const ln_Tensor *t) {
  Fmt f;
  size_t i, k, nextreme = 0;
  int allint = 1, nan = 0, pinf = 0, ninf = 0, negzero = 0, anyfinite = 0;
  double maxabs = 0.0, minabs = HUGE_VAL, lo = HUGE_VAL, hi = -HUGE_VAL, extremes[6];
  char buf[64];
  for (i = 0; i < t->numel; i++) {
    double v = t->data[i], a = fabs(v);
    if (v != v) { nan = 1; continue; }
    if (!isfinite(v)) { if (v > 0) pinf = 1; else ninf = 1; continue; }
    anyfinite = 1;
    if (v != floor(v)) allint = 0;
    if (a > maxabs) maxabs = a;
    if (a != 0 && a < minabs) minabs = a;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v == 0 && signbit(v)) negzero = 1;
  }
  f.scale = 1.0;
  if (allint && maxabs < 1e9) f.f = "%.0f";
  else if (maxabs < 1e5 && (minabs >= 1e-4 || minabs == HUGE_VAL)) f.f = "%.4f";
  else f.f = "%.4e";
  if (anyfinite) { extremes[nextreme++] = lo; extremes[nextreme++] = hi; }
  if (negzero) extremes[nextreme++] = -0.0;
  if (nan) extremes[nextreme++] = NAN;
  if (pinf) extremes[nextreme++] = HUGE_VAL;
  if (ninf) extremes[nextreme++] = -HUGE_VAL;
  f.width = 1;
  for (k = 0; k < nextreme; k++) {
    int w = fmtnum(buf, sizeof buf, f.f, extremes[k]);
    if (w > f.width) f.width = w;
  }
  return f;
}

#define EDGE 3
#define SUMMARIZE_AT 1000

static void addval(luaL_Buffer *b, const Fmt *f, float v) {
  char buf[80];
  char num[64];
  fmtnum(num, sizeof num, f->f, (double)v);
  snprintf(buf, sizeof buf, " %*s", f->width, num);
  luaL_addstring(b, buf);
}

/* print a matrix (rows x cols) at data, abbreviated when summarize */
static void addmatrix(luaL_Buffer *b, const Fmt *f, const float *data, size_t rows, size_t cols, int summarize) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    if (summarize && rows > 2 * EDGE && r == EDGE) {
      luaL_addstring(b, " ...\n");
      r = rows - EDGE;
    }
    for (c = 0; c < cols; c++) {
      if (summarize && cols > 2 * EDGE && c == EDGE) {
        luaL_addstring(b, " ...");
        c = cols - EDGE;
      }
      addval(b, f, data[r * cols + c]);
    }
    luaL_addchar(b, '\n');
  }
}

int ln_tensor_tostring(lua_State *L) {
  ln_Tensor *t = ln_checktensor(L, 1);
  luaL_Buffer b;
  Fmt f = choosefmt(t);
  int summarize = t->numel > SUMMARIZE_AT;
  char sb[LN_SHAPELEN];
  luaL_buffinit(L, &b);
  if (t->ndim == 1) addmatrix(&b, &f, t->data, t->dims[0], 1, summarize);
  else if (t->ndim == 2) addmatrix(&b, &f, t->data, t->dims[0], t->dims[1], summarize);
  else {
    size_t rows = t->dims[t->ndim - 2], cols = t->dims[t->ndim - 1], slice = rows * cols;
    size_t nslices = t->numel / slice, s;
    for (s = 0; s < nslices; s++) {
      char hdr[128];
      if (summarize && nslices > 2 * EDGE && s == EDGE) {
        luaL_addstring(&b, "...\n\n");
        s = nslices - EDGE;
      }
      if (t->ndim == 3) snprintf(hdr, sizeof hdr, "(%zu,.,.) = \n", s + 1);
      else snprintf(hdr, sizeof hdr, "(%zu,%zu,.,.) = \n", s / t->dims[1] + 1, s % t->dims[1] + 1);
      luaL_addstring(&b, hdr);
      addmatrix(&b, &f, t->data + s * slice, rows, cols, summarize);
      luaL_addchar(&b, '\n');
    }
  }
  luaL_addstring(&b, "[lunet.Tensor of size ");
  luaL_addstring(&b, ln_shapestr(t, sb));
  luaL_addstring(&b, "]");
  luaL_pushresult(&b);
  return 1;
}

