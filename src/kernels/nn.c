/*
** nn.c: kernels of the dense layer, the activations and dropout
** (declared and documented in nn.h).  Plain C99; the bindings in
** src/layers.c and src/activations.c check shapes before calling these.
*/
/* GCC's -O2 vectorises only loops whose trip count fits the vector width;
** these flat loops need -O3's vectoriser, and sqrtf needs no-math-errno to
** vectorise (values are unchanged: no fast-math, sums keep their order) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-math-errno", "vect-cost-model=dynamic")
#endif
#include <math.h>
#include <string.h>
#include "nn.h"

/* columns per block of the double accumulators in ln_nn_colsum */
#define COLBLOCK 256

/* ============================================================= dense */

size_t ln_nn_dense_split(size_t n_in) {
  return n_in >= LN_DENSE_SPLIT ? n_in / 2 : 0;
}

LN_CLONES
void ln_nn_dense_combine(size_t rows, size_t n_out, const float *p0, const float *p1, const float *b,
                         float *out) { /* no restrict: out may be p0 */
  size_t i, j;
  for (i = 0; i < rows; i++)
    for (j = 0; j < n_out; j++) out[i * n_out + j] = (p0[i * n_out + j] + p1[i * n_out + j]) + b[j];
}

/* C = A B + beta C with A's rows at A + idx[i] * lda, or A + i * lda (a
** row at a time where ln_gemm_rows cannot: the callers check first) */
static void mm_rows(size_t M, size_t N, size_t K, const float *A, size_t lda, const size_t *idx,
                    const float *B, float beta, float *C) {
  size_t i;
  if (idx == NULL) ln_gemm(0, 0, M, N, K, 1.0f, A, lda, B, N, beta, C, N);
  else if (!ln_gemm_rows(0, M, N, K, 1.0f, A, lda, idx, B, N, beta, C, N))
    for (i = 0; i < M; i++) ln_gemm(0, 0, 1, N, K, 1.0f, A + idx[i] * lda, lda, B, N, beta, C + i * N, N);
}

/* out = in @ w + b: rows of out start as b, then gemm adds the product; or
** the two halves of the sum and their combination (see nn.h) */
void ln_nn_dense_forward_rows(size_t rows, size_t n_in, size_t n_out, const float *in, size_t ld,
                              const size_t *idx, const float *w, const float *b, float *scratch, float *out) {
  size_t i, h = ln_nn_dense_split(n_in);
  if (h > 0) { /* P0 in out, P1 in scratch */
    mm_rows(rows, n_out, h, in, ld, idx, w, 0.0f, out);
    mm_rows(rows, n_out, n_in - h, in + h, ld, idx, w + h * n_out, 0.0f, scratch);
    ln_nn_dense_combine(rows, n_out, out, scratch, b, out);
    return;
  }
  for (i = 0; i < rows; i++) memcpy(out + i * n_out, b, n_out * sizeof(float));
  mm_rows(rows, n_out, n_in, in, ld, idx, w, 1.0f, out);
}

void ln_nn_dense_forward(size_t rows, size_t n_in, size_t n_out,
                         const float *in, const float *w, const float *b,
                         float *scratch, float *out) {
  ln_nn_dense_forward_rows(rows, n_in, n_out, in, n_in, NULL, w, b, scratch, out);
}

/* dw = in^T dv, db = colsum(dv), din = dv w^T */
void ln_nn_dense_backward(size_t rows, size_t n_in, size_t n_out,
                          const float *in, const float *w, const float *dv,
                          float *dw, float *db, float *din) {
  ln_gemm(1, 0, n_in, n_out, rows, 1.0f, in, n_in, dv, n_out, 0.0f, dw, n_out);
  ln_nn_colsum(rows, n_out, dv, db);
  ln_gemm(0, 1, rows, n_in, n_out, 1.0f, dv, n_out, w, n_out, 0.0f, din, n_in);
}

/* column sums, a block of columns at a time with double accumulators */
void ln_nn_colsum(size_t rows, size_t cols, const float *a, float *out) {
  ln_nn_colsum_ld(rows, cols, cols, a, out);
}

LN_CLONES
void ln_nn_colsum_ld(size_t rows, size_t cols, size_t ld, const float *a, float *out) {
  double acc[COLBLOCK];
  size_t j0, i, j;
  for (j0 = 0; j0 < cols; j0 += COLBLOCK) {
    size_t nb = cols - j0 < COLBLOCK ? cols - j0 : COLBLOCK;
    for (j = 0; j < nb; j++) acc[j] = 0.0;
    for (i = 0; i < rows; i++) {
      const float *r = a + i * ld + j0;
      for (j = 0; j < nb; j++) acc[j] += r[j];
    }
    for (j = 0; j < nb; j++) out[j0 + j] = (float)acc[j];
  }
}

/* dw += l1 * sign(w) (with sign(0) = 1, as the book) + 2 * l2 * w */
void ln_nn_reg_grad(size_t n, const float *w, float l1, float l2, float *dw) {
  size_t i;
  if (l1 > 0.0f)
    for (i = 0; i < n; i++) dw[i] += w[i] < 0.0f ? -l1 : l1;
  if (l2 > 0.0f) {
    float k = 2.0f * l2;
    for (i = 0; i < n; i++) dw[i] += k * w[i];
  }
}

/* ======================================================= activations */

/* ReLU forward */
LN_CLONES
void ln_nn_relu_forward(size_t n, const float *in, float *out) {
  size_t i;
  for (i = 0; i < n; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i];
}

/* ReLU backward: zero where the input was <= 0.  dv is read on every
** element so the selection is a blend the loop vectorises (a conditional
** read kept it a scalar loop with a mispredicted branch per element) */
LN_CLONES
void ln_nn_relu_backward(size_t n, const float *in, const float *dv, float *din) {
  size_t i;
  for (i = 0; i < n; i++) {
    float d = dv[i];
    din[i] = in[i] <= 0.0f ? 0.0f : d;
  }
}

/* logistic sigmoid forward */
void ln_nn_sigmoid_forward(size_t n, const float *in, float *out) {
  size_t i;
  for (i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
}

/* sigmoid backward from its output */
void ln_nn_sigmoid_backward(size_t n, const float *out, const float *dv, float *din) {
  size_t i;
  for (i = 0; i < n; i++) din[i] = dv[i] * (1.0f - out[i]) * out[i];
}

/* softmax backward: the Jacobian-vector product of each row */
void ln_nn_softmax_backward(size_t rows, size_t cols, const float *out,
                            const float *dv, float *din) {
  size_t i, j;
  for (i = 0; i < rows; i++) {
    const float *o = out + i * cols, *d = dv + i * cols;
    float *g = din + i * cols;
    double dot = 0.0;
    float fdot;
    for (j = 0; j < cols; j++) dot += (double)o[j] * d[j];
    fdot = (float)dot;
    for (j = 0; j < cols; j++) g[j] = o[j] * (d[j] - fdot);
  }
}

/* ======================================================= predictions */

/* 1 where a > 0.5 else 0 (the book's (outputs > 0.5) * 1) */
void ln_nn_threshold(size_t n, const float *a, float *out) {
  size_t i;
  for (i = 0; i < n; i++) out[i] = a[i] > 0.5f ? 1.0f : 0.0f;
}

/* =========================================================== dropout */

/* the book's np.random.binomial(1, 1 - rate, n) / (1 - rate) */
void ln_nn_dropout_mask(ln_Rng *r, size_t n, double rate, float *mask) {
  double keep = 1.0 - rate;
  float scale = (float)(1.0 / keep);
  ln_rng_mask(r, n, keep, scale, mask);
}

/* element-wise product with the mask */
void ln_nn_dropout_apply(size_t n, const float *in, const float *mask, float *out) {
  size_t i;
  for (i = 0; i < n; i++) out[i] = in[i] * mask[i];
}
