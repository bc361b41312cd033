/* ops.c: element-wise arithmetic and reductions over float arrays. */
#include <math.h>
#include "kernels.h"

#define BINLOOP(expr) for (i = 0; i < n; i++) out[i] = (expr)

void ln_binop(ln_BinOp op, size_t n, const float *a, const float *b, float *out) {
  size_t i;
  switch (op) {
    case LN_ADD: BINLOOP(a[i] + b[i]); break;
    case LN_SUB: BINLOOP(a[i] - b[i]); break;
    case LN_MUL: BINLOOP(a[i] * b[i]); break;
    case LN_DIV: BINLOOP(a[i] / b[i]); break;
  }
}

void ln_binop_scalar(ln_BinOp op, size_t n, const float *a, float s,
                     int scalar_left, float *out) {
  size_t i;
  switch (op) {
    case LN_ADD: BINLOOP(a[i] + s); break;
    case LN_MUL: BINLOOP(a[i] * s); break;
    case LN_SUB:
      if (scalar_left) BINLOOP(s - a[i]); else BINLOOP(a[i] - s);
      break;
    case LN_DIV:
      if (scalar_left) BINLOOP(s / a[i]); else BINLOOP(a[i] / s);
      break;
  }
}

void ln_binop_row(ln_BinOp op, size_t rows, size_t cols, const float *a,
                  const float *row, float *out) {
  size_t r;
  for (r = 0; r < rows; r++)
    ln_binop(op, cols, a + r * cols, row, out + r * cols);
}

void ln_unop(ln_UnOp op, size_t n, const float *a, float *out) {
  size_t i;
  switch (op) {
    case LN_NEG: BINLOOP(-a[i]); break;
    case LN_EXP: BINLOOP(expf(a[i])); break;
    case LN_LOG: BINLOOP(logf(a[i])); break;
    case LN_ABS: BINLOOP(fabsf(a[i])); break;
    case LN_SQRT: BINLOOP(sqrtf(a[i])); break;
  }
}

void ln_clamp(size_t n, const float *a, float lo, float hi, float *out) {
  size_t i;
  for (i = 0; i < n; i++) {
    float v = a[i];
    out[i] = v < lo ? lo : (v > hi ? hi : v);
  }
}

double ln_sum(size_t n, const float *a) {
  double s = 0.0;
  size_t i;
  for (i = 0; i < n; i++) s += a[i];
  return s;
}

double ln_std(size_t n, const float *a) {
  double mean, ss = 0.0;
  size_t i;
  if (n == 0) return 0.0;
  mean = ln_sum(n, a) / (double)n;
  for (i = 0; i < n; i++) {
    double d = a[i] - mean;
    ss += d * d;
  }
  return sqrt(ss / (double)n);
}

float ln_min(size_t n, const float *a) {
  float m = a[0];
  size_t i;
  for (i = 1; i < n; i++) if (a[i] < m || m != m) m = a[i];
  return m;
}

float ln_max(size_t n, const float *a) {
  float m = a[0];
  size_t i;
  for (i = 1; i < n; i++) if (a[i] > m || m != m) m = a[i];
  return m;
}

size_t ln_argmax(size_t n, const float *a) {
  size_t i, best = 0;
  for (i = 1; i < n; i++) if (a[i] > a[best]) best = i;
  return best;
}

void ln_argmax_labels(size_t rows, size_t cols, const float *a, float *out) {
  size_t r;
  for (r = 0; r < rows; r++) out[r] = (float)(ln_argmax(cols, a + r * cols) + 1);
}

void ln_softmax_rows(size_t rows, size_t cols, const float *in, float *out) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    const float *x = in + r * cols;
    float *y = out + r * cols;
    float m = x[0], s = 0.0f;
    for (c = 1; c < cols; c++) if (x[c] > m) m = x[c];
    for (c = 0; c < cols; c++) { y[c] = expf(x[c] - m); s += y[c]; }
    for (c = 0; c < cols; c++) y[c] /= s;
  }
}
