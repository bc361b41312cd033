/* ops.c: element-wise arithmetic and reductions over float arrays. */
#include <math.h>
#include "kernels.h"

#define BINLOOP(expr) for (i = 0; i < n; i++) out[i] = (expr)

/* NaN when either is NaN, unlike fmaxf (NumPy's maximum) */
static float maxnan(float x, float y) { return x != x || y != y ? x + y : (x > y ? x : y); }
static float minnan(float x, float y) { return x != x || y != y ? x + y : (x < y ? x : y); }

void ln_binop(ln_BinOp op, size_t n, const float *a, const float *b, float *out) {
  size_t i;
  switch (op) {
    case LN_ADD: BINLOOP(a[i] + b[i]); break;
    case LN_SUB: BINLOOP(a[i] - b[i]); break;
    case LN_MUL: BINLOOP(a[i] * b[i]); break;
    case LN_DIV: BINLOOP(a[i] / b[i]); break;
    case LN_POW: BINLOOP(powf(a[i], b[i])); break;
    case LN_MAXIMUM: BINLOOP(maxnan(a[i], b[i])); break;
    case LN_MINIMUM: BINLOOP(minnan(a[i], b[i])); break;
    case LN_EQ: BINLOOP(a[i] == b[i] ? 1.0f : 0.0f); break;
    case LN_NE: BINLOOP(a[i] != b[i] ? 1.0f : 0.0f); break;
    case LN_GT: BINLOOP(a[i] > b[i] ? 1.0f : 0.0f); break;
    case LN_GE: BINLOOP(a[i] >= b[i] ? 1.0f : 0.0f); break;
    case LN_LT: BINLOOP(a[i] < b[i] ? 1.0f : 0.0f); break;
    case LN_LE: BINLOOP(a[i] <= b[i] ? 1.0f : 0.0f); break;
    default: break;
  }
}

void ln_binop_scalar(ln_BinOp op, size_t n, const float *a, float s,
                     int scalar_left, float *out) {
  size_t i;
  if (scalar_left) { /* s op a[i]: the commutative ones and the mirrored comparisons */
    switch (op) {
      case LN_SUB: BINLOOP(s - a[i]); return;
      case LN_DIV: BINLOOP(s / a[i]); return;
      case LN_POW: BINLOOP(powf(s, a[i])); return;
      case LN_GT: op = LN_LT; break;
      case LN_GE: op = LN_LE; break;
      case LN_LT: op = LN_GT; break;
      case LN_LE: op = LN_GE; break;
      default: break;
    }
  }
  switch (op) {
    case LN_ADD: BINLOOP(a[i] + s); break;
    case LN_SUB: BINLOOP(a[i] - s); break;
    case LN_MUL: BINLOOP(a[i] * s); break;
    case LN_DIV: BINLOOP(a[i] / s); break;
    case LN_POW: BINLOOP(powf(a[i], s)); break;
    case LN_MAXIMUM: BINLOOP(maxnan(a[i], s)); break;
    case LN_MINIMUM: BINLOOP(minnan(a[i], s)); break;
    case LN_EQ: BINLOOP(a[i] == s ? 1.0f : 0.0f); break;
    case LN_NE: BINLOOP(a[i] != s ? 1.0f : 0.0f); break;
    case LN_GT: BINLOOP(a[i] > s ? 1.0f : 0.0f); break;
    case LN_GE: BINLOOP(a[i] >= s ? 1.0f : 0.0f); break;
    case LN_LT: BINLOOP(a[i] < s ? 1.0f : 0.0f); break;
    case LN_LE: BINLOOP(a[i] <= s ? 1.0f : 0.0f); break;
    default: break;
  }
}

void ln_binop_row(ln_BinOp op, size_t rows, size_t cols, const float *a,
                  const float *row, float *out) {
  size_t r;
  for (r = 0; r < rows; r++)
    ln_binop(op, cols, a + r * cols, row, out + r * cols);
}

void ln_binop_bcast(ln_BinOp op, const size_t dims[4], const float *a, const size_t sa[4], const float *b,
                    const size_t sb[4], float *out) {
  size_t i0, i1, i2, n = dims[3];
  for (i0 = 0; i0 < dims[0]; i0++)
    for (i1 = 0; i1 < dims[1]; i1++)
      for (i2 = 0; i2 < dims[2]; i2++) {
        const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        if (sa[3] && sb[3]) ln_binop(op, n, pa, pb, out);
        else if (sa[3]) ln_binop_scalar(op, n, pa, *pb, 0, out);
        else if (sb[3]) ln_binop_scalar(op, n, pb, *pa, 1, out);
        else { /* both stretch along the last dimension: one value, repeated */
          size_t i;
          float v;
          ln_binop(op, 1, pa, pb, &v);
          for (i = 0; i < n; i++) out[i] = v;
        }
        out += n;
      }
}

void ln_where_bcast(const size_t dims[4], const float *mask, const size_t sm[4], const float *a, const size_t sa[4],
                    const float *b, const size_t sb[4], float *out) {
  size_t i0, i1, i2, i3;
  for (i0 = 0; i0 < dims[0]; i0++)
    for (i1 = 0; i1 < dims[1]; i1++)
      for (i2 = 0; i2 < dims[2]; i2++) {
        const float *pm = mask + i0 * sm[0] + i1 * sm[1] + i2 * sm[2];
        const float *pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        const float *pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        for (i3 = 0; i3 < dims[3]; i3++) out[i3] = pm[i3 * sm[3]] != 0.0f ? pa[i3 * sa[3]] : pb[i3 * sb[3]];
        out += dims[3];
      }
}

void ln_unop(ln_UnOp op, size_t n, const float *a, float *out) {
  size_t i;
  switch (op) {
    case LN_NEG: BINLOOP(-a[i]); break;
    case LN_EXP: BINLOOP(expf(a[i])); break;
    case LN_LOG: BINLOOP(logf(a[i])); break;
    case LN_ABS: BINLOOP(fabsf(a[i])); break;
    case LN_SQRT: BINLOOP(sqrtf(a[i])); break;
    case LN_TANH: BINLOOP(tanhf(a[i])); break;
    case LN_SIGN: BINLOOP(a[i] > 0.0f ? 1.0f : a[i] < 0.0f ? -1.0f : a[i]); break; /* 0, -0 and NaN as they are */
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

/* ========================================================= reductions
** over the middle dimension of outer x n x inner */

void ln_reduce_sum(size_t outer, size_t n, size_t inner, const float *a, int mean, double *acc, float *out) {
  size_t o, k, j;
  for (o = 0; o < outer; o++) {
    const float *p = a + o * n * inner;
    for (j = 0; j < inner; j++) acc[j] = 0.0;
    for (k = 0; k < n; k++, p += inner)
      for (j = 0; j < inner; j++) acc[j] += p[j];
    for (j = 0; j < inner; j++) out[o * inner + j] = (float)(mean ? acc[j] / (double)n : acc[j]);
  }
}

void ln_reduce_std(size_t outer, size_t n, size_t inner, const float *a, double *acc, float *out) {
  size_t o, k, j;
  double *m = acc, *ss = acc + inner;
  for (o = 0; o < outer; o++) {
    const float *base = a + o * n * inner, *p = base;
    for (j = 0; j < inner; j++) m[j] = ss[j] = 0.0;
    for (k = 0; k < n; k++, p += inner)
      for (j = 0; j < inner; j++) m[j] += p[j];
    for (j = 0; j < inner; j++) m[j] /= (double)n;
    for (k = 0, p = base; k < n; k++, p += inner)
      for (j = 0; j < inner; j++) {
        double d = p[j] - m[j];
        ss[j] += d * d;
      }
    for (j = 0; j < inner; j++) out[o * inner + j] = (float)sqrt(ss[j] / (double)n);
  }
}

void ln_reduce_minmax(size_t outer, size_t n, size_t inner, const float *a, int max, float *out) {
  size_t o, k, j;
  for (o = 0; o < outer; o++) {
    const float *p = a + o * n * inner;
    float *r = out + o * inner;
    for (j = 0; j < inner; j++) r[j] = p[j];
    for (k = 1, p += inner; k < n; k++, p += inner)
      for (j = 0; j < inner; j++) {
        float v = p[j];
        if ((max ? v > r[j] : v < r[j]) || r[j] != r[j]) r[j] = v;
      }
  }
}

void ln_reduce_argminmax(size_t outer, size_t n, size_t inner, const float *a, int max, float *out) {
  size_t o, k, j;
  for (o = 0; o < outer; o++)
    for (j = 0; j < inner; j++) {
      const float *p = a + o * n * inner + j;
      size_t best = 0;
      float bv = p[0];
      for (k = 1; k < n; k++) {
        float v = p[k * inner];
        if ((max ? v > bv : v < bv) || (bv != bv && v == v)) { best = k; bv = v; }
      }
      out[o * inner + j] = (float)(best + 1);
    }
}
