/* loss.c: kernels of the losses and accuracies (see loss.h). */
/* GCC's -O2 vectorises only loops whose trip count fits the vector width;
** these flat loops need -O3's vectoriser, and sqrtf needs no-math-errno to
** vectorise (values are unchanged: no fast-math, sums keep their order) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include "loss.h"
#include "kernels.h"

/* the book's np.clip(v, 1e-7, 1 - 1e-7) of one float32 value */
static float clip(float v) {
  return v < LN_CLIP_LO ? LN_CLIP_LO : (v > LN_CLIP_HI ? LN_CLIP_HI : v);
}

/* first index (first maximum) of the largest value of a row */
static size_t argmax(size_t cols, const float *p) {
  size_t c, best = 0;
  for (c = 1; c < cols; c++) if (p[c] > p[best]) best = c;
  return best;
}

size_t ln_labels_check(size_t n, const float *labels, size_t k) {
  size_t i;
  for (i = 0; i < n; i++) {
    float v = labels[i];
    /* also rejects NaN: every comparison with it is false */
    if (!(v >= 1.0f && (double)v <= (double)k && v == floorf(v))) return i;
  }
  return n;
}

/* ============================================ categorical cross-entropy */

void ln_cce_sparse_forward(size_t rows, size_t cols, const float *pred,
                           const float *labels, float *out) {
  size_t r;
  for (r = 0; r < rows; r++) {
    size_t c = (size_t)labels[r] - 1;
    out[r] = -logf(clip(pred[r * cols + c]));
  }
}

void ln_cce_onehot_forward(size_t rows, size_t cols, const float *pred,
                           const float *y, float *out) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    const float *p = pred + r * cols, *t = y + r * cols;
    double s = 0.0;
    for (c = 0; c < cols; c++) s += (double)(clip(p[c]) * t[c]);
    /* an all-zero target row has no correct class: -log(0) = inf, as NumPy */
    out[r] = s == 0.0 ? (float)INFINITY : -logf((float)s);
  }
}

void ln_cce_sparse_backward(size_t rows, size_t cols, const float *dvalues,
                            const float *labels, size_t samples, float *dinputs) {
  size_t r, c;
  float n = (float)samples;
  for (r = 0; r < rows; r++) {
    size_t k = (size_t)labels[r] - 1;
    for (c = 0; c < cols; c++) {
      float t = c == k ? 1.0f : 0.0f;
      dinputs[r * cols + c] = -t / dvalues[r * cols + c] / n;
    }
  }
}

void ln_cce_onehot_backward(size_t rows, size_t cols, const float *dvalues,
                            const float *y, size_t samples, float *dinputs) {
  size_t i, total = rows * cols;
  float n = (float)samples;
  for (i = 0; i < total; i++) dinputs[i] = -y[i] / dvalues[i] / n;
}

/* dinputs = dvalues / rows with 1 taken off column k of row r first */
static void softmax_cce_row(size_t cols, const float *dv, size_t k, float n, float *d) {
  size_t c;
  for (c = 0; c < cols; c++) {
    float v = dv[c];
    if (c == k) v -= 1.0f;
    d[c] = v / n;
  }
}

void ln_softmax_cce_grad_sparse(size_t rows, size_t cols, const float *dvalues,
                                const float *labels, size_t samples, float *dinputs) {
  size_t r;
  for (r = 0; r < rows; r++)
    softmax_cce_row(cols, dvalues + r * cols, (size_t)labels[r] - 1, (float)samples, dinputs + r * cols);
}

void ln_softmax_cce_grad_onehot(size_t rows, size_t cols, const float *dvalues,
                                const float *y, size_t samples, float *dinputs) {
  size_t r;
  for (r = 0; r < rows; r++)
    softmax_cce_row(cols, dvalues + r * cols, argmax(cols, y + r * cols), (float)samples, dinputs + r * cols);
}

/* ================================================= binary cross-entropy */

void ln_bce_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    const float *p = pred + r * cols, *t = y + r * cols;
    double s = 0.0;
    for (c = 0; c < cols; c++) {
      float q = clip(p[c]);
      s += (double)(-(t[c] * logf(q) + (1.0f - t[c]) * logf(1.0f - q)));
    }
    out[r] = (float)(s / (double)cols);
  }
}

void ln_bce_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs) {
  size_t i, total = rows * cols;
  float n = (float)samples, k = (float)cols;
  for (i = 0; i < total; i++) {
    float q = clip(dvalues[i]), t = y[i];
    dinputs[i] = -(t / q - (1.0f - t) / (1.0f - q)) / k / n;
  }
}

/* ===================================================== regression losses */

void ln_mse_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    const float *p = pred + r * cols, *t = y + r * cols;
    double s = 0.0;
    for (c = 0; c < cols; c++) {
      float d = t[c] - p[c];
      s += (double)(d * d);
    }
    out[r] = (float)(s / (double)cols);
  }
}

void ln_mse_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs) {
  size_t i, total = rows * cols;
  float n = (float)samples, k = (float)cols;
  for (i = 0; i < total; i++) dinputs[i] = -2.0f * (y[i] - dvalues[i]) / k / n;
}

void ln_mae_forward(size_t rows, size_t cols, const float *pred,
                    const float *y, float *out) {
  size_t r, c;
  for (r = 0; r < rows; r++) {
    const float *p = pred + r * cols, *t = y + r * cols;
    double s = 0.0;
    for (c = 0; c < cols; c++) s += (double)fabsf(t[c] - p[c]);
    out[r] = (float)(s / (double)cols);
  }
}

/* The book prints `np.sign(y_true - dvalues) / outputs`, which drops the
** minus sign of d|y - p|/dp = -sign(y - p); this is the correct gradient
** (the finite-difference check in spec/losses_spec.lua holds it to that). */
void ln_mae_backward(size_t rows, size_t cols, const float *dvalues,
                     const float *y, size_t samples, float *dinputs) {
  size_t i, total = rows * cols;
  float n = (float)samples, k = (float)cols;
  for (i = 0; i < total; i++) {
    float d = y[i] - dvalues[i];
    float s = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : (d == d ? 0.0f : d)); /* np.sign, NaN kept */
    dinputs[i] = -s / k / n;
  }
}

/* ======================================================= regularization */

/* Sums in double over SUMLANES interleaved accumulators (lane j takes the
** elements i = j mod SUMLANES), added pairwise at the end: a fixed order
** that vectorises (the one-accumulator loop cannot be reordered, and cost
** half a millisecond per step for a 784-256-256-10 network's weights) */
#define SUMLANES 8

/* the lanes added pairwise */
static double lanes_total(const double *acc) {
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

LN_CLONES
double ln_sum_abs(size_t n, const float *a) {
  double acc[SUMLANES] = { 0 };
  size_t i, j, m = n - n % SUMLANES;
  for (i = 0; i < m; i += SUMLANES)
    for (j = 0; j < SUMLANES; j++) acc[j] += fabs((double)a[i + j]);
  for (j = 0; i + j < n; j++) acc[j] += fabs((double)a[i + j]);
  return lanes_total(acc);
}

LN_CLONES
double ln_sum_sq(size_t n, const float *a) {
  double acc[SUMLANES] = { 0 };
  size_t i, j, m = n - n % SUMLANES;
  for (i = 0; i < m; i += SUMLANES)
    for (j = 0; j < SUMLANES; j++) acc[j] += (double)a[i + j] * (double)a[i + j];
  for (j = 0; i + j < n; j++) acc[j] += (double)a[i + j] * (double)a[i + j];
  return lanes_total(acc);
}

/* ============================================================= accuracy */

size_t ln_count_equal(size_t n, const float *a, const float *b) {
  size_t i, k = 0;
  for (i = 0; i < n; i++) k += a[i] == b[i];
  return k;
}

size_t ln_count_onehot(size_t rows, size_t cols, const float *pred, const float *y) {
  size_t r, k = 0;
  for (r = 0; r < rows; r++) k += pred[r] == (float)(argmax(cols, y + r * cols) + 1);
  return k;
}

size_t ln_count_within(size_t n, const float *pred, const float *y, float precision) {
  size_t i, k = 0;
  for (i = 0; i < n; i++) k += fabsf(pred[i] - y[i]) < precision;
  return k;
}

size_t ln_accuracy_count(int mode, size_t rows, size_t pcols, size_t ycols, const float *pred, const float *y,
                         float precision) {
  switch (mode) {
    case LN_ACC_CATEGORICAL: return ycols == 1 ? ln_count_equal(rows, pred, y) : ln_count_onehot(rows, ycols, pred, y);
    case LN_ACC_BINARY: return ln_count_equal(rows * pcols, pred, y);
    case LN_ACC_REGRESSION: return ln_count_within(rows * pcols, pred, y, precision);
    default: return 0;
  }
}
